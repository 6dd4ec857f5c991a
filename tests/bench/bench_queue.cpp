// Queue throughput: recado worker against the database's own ceiling for the same SQL; with
// --peers, also against graphile-worker on the same database (tests/bench/peers.cpp).
#include <fmt/format.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <pqxx/pqxx>
#include <thread>

#include "src/job_store.hpp"
#include "tests/bench/bench.hpp"
#include "tests/bench/peers.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/pg_harness.hpp"

namespace recado::bench {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Fresh queue of `n` no-op jobs, committed in one transaction.
void fill(pqxx::connection& conn, int n) {
  pqxx::nontransaction tx(conn);
  tx.exec("TRUNCATE recado.jobs, recado.jobs_finished");
  tx.exec("INSERT INTO recado.jobs (queue, kind) SELECT 'default', 'noop' FROM generate_series(1, " +
          std::to_string(n) + ")");
  tx.exec("VACUUM ANALYZE recado.jobs");
  tx.exec("NOTIFY recado_jobs, 'default'");
}

bool drained(pqxx::connection& conn) {
  pqxx::nontransaction tx(conn);
  return !tx.exec("SELECT EXISTS (SELECT 1 FROM recado.jobs)")[0][0].as<bool>();
}

// Two ways to finish a job: keep it in jobs_finished for recadoctl (the default,
// completed_retention 24h), or delete it at once (completed_retention 0s), which is what
// graphile-worker always does.
struct Mode {
  const char* name;
  bool keep_completed;
};
constexpr Mode kKeepHistory{"completed jobs kept (completed_retention 24h)", true};
constexpr Mode kNoHistory{"completed jobs deleted (completed_retention 0s)", false};

// `threads` connections, each claiming 100 and completing them, back to back.
double reference(const std::string& url, int n, int threads, const Mode& mode) {
  pqxx::connection conn(url);
  fill(conn, n);
  std::atomic<int> done{0};
  const auto start = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      pqxx::connection c(url);
      const std::string me = "reference-" + std::to_string(t);
      for (;;) {
        auto jobs = job_store::claim(c, "default", 100, me, std::chrono::seconds{30});
        if (jobs.empty()) break;
        std::vector<JobFinish> verdicts;
        verdicts.reserve(jobs.size());
        for (const Job& j : jobs) verdicts.push_back({j.id, j.attempt, JobFinish::Action::complete, {}, {}});
        done += job_store::finish(c, verdicts, me, mode.keep_completed).completed;
      }
    });
  }
  for (auto& t : pool) t.join();
  const double secs = seconds_since(start);
  if (done != n) throw std::runtime_error(fmt::format("reference completed {} of {} jobs", done.load(), n));
  return n / secs;
}

double worker_run(const std::string& url, int n, const Mode& mode) {
  const std::string config_path = "/tmp/recado-bench-worker-" + std::to_string(getpid()) + ".yaml";
  {
    std::ofstream out(config_path);
    out << "database:\n  pool_size: 4\nlog:\n  level: warn\n"
           "worker:\n  queues:\n    default:\n      concurrency: 1000\n  claim_batch: 100\n"
        << "  completed_retention: " << (mode.keep_completed ? "24h" : "0s") << "\n";
  }
  pqxx::connection conn(url);
  {
    pqxx::nontransaction tx(conn);
    tx.exec("TRUNCATE recado.jobs, recado.jobs_finished, recado.workers");
  }
  test::ChildProcess worker({RECADO_BIN, "-c", config_path, "worker"}, {{"RECADO_DATABASE_URL", url}});
  if (!test::poll_until([&] {
        pqxx::nontransaction tx(conn);
        return tx.exec("SELECT count(*) FROM recado.workers")[0][0].as<int>() == 1;
      }))
    throw std::runtime_error("recado worker did not register:\n" + worker.output());
  fill(conn, n);
  const auto start = Clock::now();
  if (!test::poll_until([&] { return drained(conn); }, std::chrono::minutes{5}))
    throw std::runtime_error("recado worker did not drain the queue:\n" + worker.output());
  const double secs = seconds_since(start);
  worker.signal(SIGTERM);
  auto status = worker.wait(std::chrono::seconds{30});
  std::remove(config_path.c_str());
  if (!status || status->code != 0) throw std::runtime_error("recado worker did not exit cleanly:\n" + worker.output());
  pqxx::nontransaction tx(conn);
  const int completed = tx.exec("SELECT count(*) FROM recado.jobs_finished WHERE state = 'completed'")[0][0].as<int>();
  const int other = tx.exec("SELECT count(*) FROM recado.jobs_finished WHERE state <> 'completed'")[0][0].as<int>();
  if (other != 0 || completed != (mode.keep_completed ? n : 0))
    throw std::runtime_error(fmt::format("worker completed {} of {} jobs, {} not completed", completed, n, other));
  return n / secs;
}

}  // namespace

int queue(const Options& options) {
  const int n = options.jobs ? options.jobs : 100000;
  BenchDatabase db;
  std::cout << fmt::format("queue: {} no-op jobs, claim batches of 100, worker concurrency 1000\n", n);
  struct Result {
    double ceiling = 0;
    int ceiling_threads = 0;
    double worker = 0;
  };
  auto measure = [&](const Mode& mode) {
    Result r;
    std::cout << "  " << mode.name << ":\n";
    for (int threads : {1, 2, 4}) {
      const double rate = reference(db.url(), n, threads, mode);
      std::cout << fmt::format("    reference SQL, {} connection(s): {:.0f} jobs/s\n", threads, rate);
      if (rate > r.ceiling) {
        r.ceiling = rate;
        r.ceiling_threads = threads;
      }
    }
    for (int run = 0; run < 2; ++run) {
      const double rate = worker_run(db.url(), n, mode);
      std::cout << fmt::format("    recado worker, run {}: {:.0f} jobs/s\n", run + 1, rate);
      r.worker = std::max(r.worker, rate);
    }
    std::cout << fmt::format("    {:.2f}x the ceiling (the best reference, {} connection(s))\n",
                             r.worker / r.ceiling, r.ceiling_threads);
    return r;
  };
  const Result kept = measure(kKeepHistory);
  const Result deleted = measure(kNoHistory);
  const double ratio = kept.worker / kept.ceiling;
  summary("queue", kept.worker, "jobs/s", ratio, "db-ceiling", ">= 0.8x", ratio >= 0.8);
  // graphile-worker deletes completed jobs: compare it with recado doing the same.
  if (options.peers) return graphile_peer(db, n, deleted.worker);
  return 0;
}

}  // namespace recado::bench
