// Enqueue throughput: one job per HTTP request to `recado ingress` (wrk, 64 connections,
// every 202 committed) against pgbench doing one INSERT per transaction at 64 clients into a
// table shaped like recado.jobs. Group commit is what should put recado ahead.
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <pqxx/pqxx>
#include <regex>

#include "tests/bench/bench.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/pg_harness.hpp"

namespace recado::bench {

namespace {

double first_number_after(const std::string& text, const std::string& pattern) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex(pattern + R"(\s*([0-9.]+))")))
    throw std::runtime_error("cannot find '" + pattern + "' in:\n" + text);
  return std::stod(m[1]);
}

}  // namespace

int enqueue(const Options& options) {
  const int seconds = options.seconds ? options.seconds : 10;
  const std::string tmp = "/tmp/recado-bench-enqueue-" + std::to_string(getpid());
  BenchDatabase db;
  pqxx::connection conn(db.url());
  {
    pqxx::nontransaction tx(conn);
    tx.exec("CREATE SCHEMA bench");
    tx.exec("CREATE TABLE bench.jobs (LIKE recado.jobs INCLUDING ALL)");
  }
  std::cout << fmt::format("enqueue: {} s at 64 connections each\n", seconds);

  // Reference: pgbench, one INSERT per transaction.
  {
    std::ofstream(tmp + ".sql") << "INSERT INTO bench.jobs (queue, kind, payload) "
                                   "VALUES ('default', 'noop', '{\"from\":\"bench\"}');\n";
  }
  std::vector<std::string> pgbench = {"/usr/lib/postgresql/15/bin/pgbench", "-n", "-c", "64", "-j", "2",
                                      "-T", std::to_string(seconds), "-f", tmp + ".sql"};
  if (!db.socket_dir().empty()) {
    for (const std::string& a : {std::string("-h"), db.socket_dir(), std::string("-U"), std::string("postgres"),
                                 std::string("recado_bench")})
      pgbench.push_back(a);
  } else {
    pgbench.push_back(db.url());
  }
  auto ref = test::run_command(pgbench, {}, std::chrono::seconds{seconds + 60});
  if (ref.code != 0) throw std::runtime_error("pgbench failed:\n" + ref.out + ref.err);
  const double reference_tps = first_number_after(ref.out, "tps =");
  std::cout << fmt::format("  pgbench, one INSERT per transaction: {:.0f} tx/s\n", reference_tps);

  // recado ingress under wrk.
  const int port = test::free_port();
  {
    std::ofstream(tmp + ".yaml") << "database:\n  pool_size: 4\nlog:\n  level: warn\n"
                                    "ingress:\n  host: 127.0.0.1\n  port: " << port
                                 << "\n  api_token: bench-token\n";
    std::ofstream(tmp + ".lua") << "wrk.method = \"POST\"\n"
                                   "wrk.body = '{\"kind\":\"noop\",\"payload\":{\"from\":\"bench\"}}'\n"
                                   "wrk.headers[\"Content-Type\"] = \"application/json\"\n"
                                   "wrk.headers[\"Authorization\"] = \"Bearer bench-token\"\n";
  }
  test::ChildProcess ingress({RECADO_BIN, "-c", tmp + ".yaml", "ingress"}, {{"RECADO_DATABASE_URL", db.url()}});
  test::HttpClient http;
  if (!test::poll_until([&] { return http.get("http://127.0.0.1:" + std::to_string(port) + "/readyz").status == 200; }))
    throw std::runtime_error("recado ingress did not become ready:\n" + ingress.output());
  auto wrk = test::run_command({"/usr/bin/wrk", "-t2", "-c64", "-d" + std::to_string(seconds) + "s", "-s", tmp + ".lua",
                                "http://127.0.0.1:" + std::to_string(port) + "/v1/jobs"},
                               {}, std::chrono::seconds{seconds + 60});
  if (wrk.code != 0) throw std::runtime_error("wrk failed:\n" + wrk.out + wrk.err);
  std::smatch m;
  const std::string out = wrk.out;
  if (!std::regex_search(out, m, std::regex(R"(([0-9]+) requests in ([0-9.]+)(m?s))")))
    throw std::runtime_error("cannot read wrk's output:\n" + out);
  const long requests = std::stol(m[1]);
  long non2xx = 0;
  if (std::regex_search(out, m, std::regex(R"(Non-2xx or 3xx responses: ([0-9]+))"))) non2xx = std::stol(m[1]);
  const double rps = first_number_after(out, "Requests/sec:");
  ingress.signal(SIGTERM);
  ingress.wait(std::chrono::seconds{30});
  const long accepted = requests - non2xx;
  pqxx::nontransaction tx(conn);
  const long rows = tx.exec("SELECT count(*) FROM recado.jobs")[0][0].as<long>();
  const long transactions = tx.exec("SELECT count(DISTINCT xmin::text) FROM recado.jobs")[0][0].as<long>();
  std::cout << fmt::format("  recado ingress: {:.0f} requests/s, {} answered 202, {} not 2xx, {} rows in {} transactions\n",
                           rps, accepted, non2xx, rows, transactions);
  for (const char* ext : {".sql", ".yaml", ".lua"}) std::remove((tmp + ext).c_str());
  if (non2xx != 0 || rows < accepted)
    throw std::runtime_error(fmt::format("lost or refused jobs: {} accepted, {} rows, {} errors", accepted, rows, non2xx));
  const double ratio = rps / reference_tps;
  summary("enqueue", rps, "jobs/s", ratio, "pgbench-insert-per-tx", ">= 2x", ratio >= 2.0);
  return 0;
}

}  // namespace recado::bench
