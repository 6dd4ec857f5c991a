// Start latency: idle workers, 1,000 jobs POSTed to `recado ingress` 10 ms apart, each timed
// from just before its enqueue call to the start of its handler in a real Worker (this
// process, so both ends read one clock). The reference, measured in the same run, is
// PostgreSQL's own floor for a wake-up: INSERT + NOTIFY committed on one connection and
// received by a LISTEN on another.
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <thread>

#include "src/worker.hpp"
#include "tests/bench/bench.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/pg_harness.hpp"

namespace recado::bench {

namespace {

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

// INSERT + NOTIFY in one committed transaction, until the LISTENer has it; milliseconds.
std::vector<double> notify_round_trips(const std::string& url, int samples) {
  pqxx::connection sender(url), listener(url);
  {
    pqxx::nontransaction tx(sender);
    tx.exec("CREATE TABLE IF NOT EXISTS bench_wakeups (id bigserial PRIMARY KEY, at timestamptz DEFAULT now())");
  }
  struct Receiver : pqxx::notification_receiver {
    int got = 0;
    explicit Receiver(pqxx::connection_base& c) : pqxx::notification_receiver(c, "bench_wakeup") {}
    void operator()(const std::string&, int) override { ++got; }
  } receiver(listener);
  listener.get_notifs();
  std::vector<double> out;
  for (int i = 0; i < samples; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    pqxx::work tx(sender);
    tx.exec("INSERT INTO bench_wakeups DEFAULT VALUES");
    tx.exec("NOTIFY bench_wakeup");
    tx.commit();
    while (receiver.got <= i) listener.await_notification(1, 0);
    out.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    std::this_thread::sleep_for(std::chrono::milliseconds{5});  // pacing, as for the jobs
  }
  return out;
}

}  // namespace

int latency(const Options& options) {
  const int n = options.jobs ? options.jobs : 1000;
  BenchDatabase db;
  const std::string tmp = "/tmp/recado-bench-latency-" + std::to_string(getpid());
  const int port = test::free_port();
  {
    std::ofstream(tmp + ".yaml") << "database:\n  pool_size: 4\nlog:\n  level: warn\n"
                                    "ingress:\n  host: 127.0.0.1\n  port: " << port
                                 << "\n  api_token: bench-token\n";
  }
  test::ChildProcess ingress({RECADO_BIN, "-c", tmp + ".yaml", "ingress"}, {{"RECADO_DATABASE_URL", db.url()}});
  test::HttpClient http;
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  if (!test::poll_until([&] { return http.get(base + "/readyz").status == 200; }))
    throw std::runtime_error("recado ingress did not become ready:\n" + ingress.output());

  // The worker: a real Worker whose "noop" handler stamps its start time.
  std::vector<std::atomic<int64_t>> started(n);
  for (auto& s : started) s = 0;
  JobKindTable kinds = {{"noop", [&](HandlerContext& ctx, Done done) {
                           const int64_t now = epoch_micros(ctx.clock().now());
                           const auto payload = nlohmann::json::parse(ctx.job().payload_json);
                           started[payload["seq"].get<int>()] = now;
                           done(Outcome::complete());
                         }}};
  WorkerConfig config;
  config.queues = {{"default", 100}};
  config.poll_interval = std::chrono::seconds{1};
  EventLoop* worker_loop = nullptr;
  Worker* worker = nullptr;
  std::atomic<bool> worker_ready{false};
  std::thread worker_thread([&] {
    EventLoop loop;
    SystemClock clock;
    DbPool pool(loop, db.url(), 4);
    CurlHttpClient http(loop);
    Metrics metrics;
    Worker w(loop, pool, db.url(), config, kinds, clock, http, metrics);
    w.start();
    worker_loop = &loop;
    worker = &w;
    worker_ready = true;
    loop.run();
  });
  pqxx::connection conn(db.url());
  test::poll_until([&] {
    pqxx::nontransaction tx(conn);
    return worker_ready && tx.exec("SELECT count(*) FROM recado.workers")[0][0].as<int>() == 1;
  });

  std::cout << fmt::format("latency: {} jobs 10 ms apart to idle workers, POST /v1/jobs -> handler start\n", n);
  std::vector<int64_t> enqueued(n);
  auto next = std::chrono::steady_clock::now();
  int refused = 0;
  for (int i = 0; i < n; ++i) {
    std::this_thread::sleep_until(next);
    next += std::chrono::milliseconds{10};
    enqueued[i] = epoch_micros(system_now());
    auto r = http.post(base + "/v1/jobs", R"({"kind":"noop","payload":{"seq":)" + std::to_string(i) + "}}",
                       {{"Authorization", "Bearer bench-token"}});
    if (r.status != 202) ++refused;
  }
  const bool all = test::poll_until([&] {
    return std::all_of(started.begin(), started.end(), [](const auto& s) { return s.load() != 0; });
  }, std::chrono::seconds{30});
  worker_loop->post([&] { worker->shutdown([&] { worker_loop->stop(); }); });
  worker_thread.join();
  ingress.signal(SIGTERM);
  ingress.wait(std::chrono::seconds{30});
  std::remove((tmp + ".yaml").c_str());
  if (refused || !all) throw std::runtime_error(fmt::format("{} refused, all started: {}", refused, all));

  std::vector<double> ms;
  for (int i = 0; i < n; ++i) ms.push_back(static_cast<double>(started[i] - enqueued[i]) / 1000.0);
  const double p50 = percentile(ms, 0.50), p99 = percentile(ms, 0.99);
  std::cout << fmt::format("  recado: p50 {:.2f} ms, p90 {:.2f} ms, p99 {:.2f} ms, max {:.2f} ms\n", p50,
                           percentile(ms, 0.90), p99, *std::max_element(ms.begin(), ms.end()));
  auto ref = notify_round_trips(db.url(), 300);
  const double ref50 = percentile(ref, 0.50), ref99 = percentile(ref, 0.99);
  std::cout << fmt::format("  reference INSERT+NOTIFY -> LISTEN: p50 {:.2f} ms, p99 {:.2f} ms\n", ref50, ref99);
  summary("latency", p50, "ms p50", p50 / ref50, "pg-insert-notify-p50", "<= 2 ms", p50 <= 2.0);
  summary("latency", p99, "ms p99", p99 / ref99, "pg-insert-notify-p99", "<= 10 ms", p99 <= 10.0);
  return 0;
}

}  // namespace recado::bench
