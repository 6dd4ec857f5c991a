// graphile-worker on the same database as recado's queue benchmark, in the same run.
//
// npm installs graphile-worker 0.18 into a scratch folder under /tmp (never into the
// repository); a small runner written there inserts the no-op jobs with
// graphile_worker.add_jobs() and times one graphile-worker runner draining them, at a few
// concurrencies, with the settings its documentation gives for throughput: batched completion
// and failure (completeJobBatchDelay = failJobBatchDelay = 0), the local queue
// (localQueue.size = concurrency + 1), prepared statements, a pool of max(10, concurrency + 2).
// Its jobs live in their own schema, graphile_worker, dropped before and after.
#include "tests/bench/peers.hpp"

#include <fmt/format.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <pqxx/pqxx>
#include <regex>
#include <sstream>

#include "tests/support/child_process.hpp"

namespace recado::bench {

namespace {

// The runner: node runner.mjs <database url> <jobs> <concurrency> <timeout seconds>.
// Prints "info <text>" lines and, last, "rate <jobs/s>".
//
// Timing: the jobs are all inserted (and the table vacuumed and analysed, as recado's fill
// does) before the runner exists; the clock starts just before run() and stops when
// graphile_worker._private_jobs (where 0.16+ keeps jobs; completed jobs are deleted from it)
// is empty, polled every 5 ms from a separate connection as recado's drain is. So
// graphile-worker's start-up (pool, migration check, LISTEN) is inside its time — it is
// printed, and is small against the drain. recado's worker is instead started idle and timed
// from the commit of the jobs.
constexpr const char* kRunner = R"js(import { EventEmitter } from "node:events";
import { readFileSync } from "node:fs";
import { Logger, makeWorkerUtils, run } from "graphile-worker";

const [url, nArg, concurrencyArg, timeoutArg] = process.argv.slice(2);
const n = Number(nArg);
const concurrency = Number(concurrencyArg);
setTimeout(() => {
  console.error(`graphile runner: timed out after ${timeoutArg} s`);
  process.exit(3);
}, Number(timeoutArg) * 1000).unref();

const pkg = JSON.parse(readFileSync(new URL("./node_modules/graphile-worker/package.json", import.meta.url)));
console.log(`info graphile-worker ${pkg.version} on node ${process.version}` +
            (pkg.engines?.node ? ` (it declares node ${pkg.engines.node})` : ""));

// Warnings and errors only: no log line per job, as in production.
const logger = new Logger(() => (level, message) => {
  if (level === "error" || level === "warning") console.error(`graphile ${level}: ${message}`);
});
const preset = {
  worker: {
    connectionString: url,
    schema: "graphile_worker",
    concurrentJobs: concurrency,
    maxPoolSize: Math.max(10, concurrency + 2),
    preparedStatements: true,
    completeJobBatchDelay: 0,
    failJobBatchDelay: 0,
    localQueue: { size: concurrency + 1 },
  },
};

const utils = await makeWorkerUtils({ preset, logger });
const sql = (text, values) => utils.withPgClient((client) => client.query(text, values));
await utils.migrate();
await sql("TRUNCATE graphile_worker._private_jobs");
const insertStart = performance.now();
for (let left = n; left > 0; left -= 10000) {
  await sql(`SELECT count(*) FROM graphile_worker.add_jobs(ARRAY(
               SELECT ('noop', NULL, NULL, NULL, NULL, NULL, NULL, NULL)::graphile_worker.job_spec
               FROM generate_series(1, $1::int)))`, [Math.min(left, 10000)]);
}
await sql("VACUUM ANALYZE graphile_worker._private_jobs");
const insertSecs = (performance.now() - insertStart) / 1000;
const queued = Number((await sql("SELECT count(*) AS c FROM graphile_worker._private_jobs")).rows[0].c);
if (queued !== n) throw new Error(`queued ${queued} of ${n} jobs`);

const events = new EventEmitter();
let succeeded = 0;
let failed = 0;
events.on("job:success", () => succeeded++);
events.on("job:failed", () => failed++);
const start = performance.now();
const runner = await run({ preset, logger, events, noHandleSignals: true, taskList: { noop: async () => {} } });
const startupMs = performance.now() - start;
for (;;) {
  const { rows } = await sql("SELECT EXISTS (SELECT 1 FROM graphile_worker._private_jobs) AS e");
  if (!rows[0].e) break;
  if (failed) throw new Error(`${failed} jobs failed`);
  await new Promise((resolve) => setTimeout(resolve, 5));
}
const secs = (performance.now() - start) / 1000;
await runner.stop();
await utils.release();
if (succeeded !== n || failed) throw new Error(`ran ${succeeded} of ${n} jobs, ${failed} failed`);
console.log(`info concurrency ${concurrency}: ${n} jobs queued in ${insertSecs.toFixed(1)} s; ` +
            `runner started in ${startupMs.toFixed(0)} ms, drained in ${secs.toFixed(2)} s`);
console.log(`rate ${(n / secs).toFixed(1)}`);
)js";

// `name`'s full path on PATH, if any.
std::optional<std::string> on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) continue;
    const std::string candidate = dir + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}


void drop_schema(const std::string& url) {
  pqxx::connection conn(url);
  pqxx::nontransaction tx(conn);
  tx.exec("SET client_min_messages = warning");
  tx.exec("DROP SCHEMA IF EXISTS graphile_worker CASCADE");
}

}  // namespace

int graphile_peer(const BenchDatabase& db, int n, double recado_rate) {
  const auto node = on_path("node");
  const auto npm = on_path("npm");
  if (!node || !npm) {
    std::cerr << "bench queue --peers: " << (node ? "npm" : "node")
              << " is not on PATH; install Node.js (with npm) to compare with graphile-worker\n";
    return 1;
  }
  ScratchDir scratch("graphile");
  std::ofstream(scratch.path() + "/package.json") << "{\"name\": \"recado-bench-graphile\", \"private\": true}\n";
  std::ofstream(scratch.path() + "/runner.mjs") << kRunner;
  auto install = test::run_command({"/usr/bin/env", "-C", scratch.path(), *npm, "install", "--no-save", "--no-audit",
                                    "--no-fund", "--no-package-lock", "--loglevel=error", "graphile-worker@0.18"},
                                   {}, std::chrono::minutes{5});
  if (install.code != 0) {
    std::cerr << "bench queue --peers: npm could not install graphile-worker@0.18 (exit " << install.code << "):\n"
              << install.out << install.err;
    return 1;
  }

  drop_schema(db.url());
  const int timeout_s = 120 + n / 1000;  // down to ~500 jobs/s for the drain, plus set-up
  std::cout << fmt::format("graphile-worker: the same {} no-op jobs; batched completion, local queue of "
                           "concurrency + 1, prepared statements\n", n)
            << std::flush;
  double best = 0;
  int best_concurrency = 0;
  bool said_version = false;
  for (int concurrency : {25, 50, 100}) {
    auto r = test::run_command({"/usr/bin/env", "-C", scratch.path(), *node, "runner.mjs", db.url(), std::to_string(n),
                                std::to_string(concurrency), std::to_string(timeout_s)},
                               {{"NO_LOG_SUCCESS", "1"}}, std::chrono::seconds{timeout_s + 30});
    std::smatch m;
    const std::string out = r.out;
    if (r.code != 0 || !std::regex_search(out, m, std::regex(R"((?:^|\n)rate ([0-9.]+))"))) {
      std::cerr << fmt::format("bench queue --peers: the graphile-worker runner failed at concurrency {} "
                               "(exit {}):\n{}{}", concurrency, r.code, r.out, r.err);
      drop_schema(db.url());
      return 1;
    }
    const double rate = std::stod(m[1]);
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("info graphile-worker ", 0) == 0 && !said_version) {
        std::cout << "  " << line.substr(5) << "\n";
        said_version = true;
      }
    }
    std::string detail;
    if (std::regex_search(out, m, std::regex(R"(info concurrency [0-9]+: ([^\n]*))"))) detail = m[1];
    std::cout << fmt::format("  graphile-worker, concurrency {}: {:.0f} jobs/s ({})\n", concurrency, rate, detail)
              << std::flush;
    if (rate > best) {
      best = rate;
      best_concurrency = concurrency;
    }
  }
  drop_schema(db.url());
  std::cout << fmt::format("  graphile-worker: the best (concurrency {})\n", best_concurrency);
  const double ratio = recado_rate / best;
  summary("queue", recado_rate, "jobs/s", ratio, "graphile-worker", ">= 2x", ratio >= 2.0);
  return 0;
}

}  // namespace recado::bench
