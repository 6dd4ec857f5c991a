// recado_bench outbound: one `recado worker` process makes 1,000 provider calls at once to
// the simulator, which answers each after 1 s. The ideal is in-flight ÷ latency, with the
// latency measured in the same run by a plain blocking client; the worker's peak RSS is read
// from /proc before it stops.
#include <fmt/format.h>
#include <signal.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "src/process.hpp"
#include "src/sim_thread.hpp"
#include "tests/bench/bench.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/pg_harness.hpp"

namespace recado::bench {

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// Peak resident set of a process, in MiB (VmHWM).
double peak_rss_mib(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

const char* kPrompt = R"({"model":"gpt-bench","messages":[{"role":"user","content":"Oi, tem horario amanha?"}]})";

}  // namespace

int outbound(const Options& options) {
  const int n = options.jobs ? options.jobs : 1000;
  const int latency_ms = 1000;
  raise_open_file_limit();  // the simulator in this process holds a connection per call
  BenchDatabase db;
  SimulatorThread sim;
  test::HttpClient http;
  if (http.request("PUT", sim.url("/_sim/faults/openai"), json{{"fault", "none"}, {"latency_ms", latency_ms}}.dump()).status != 200)
    throw std::runtime_error("the simulator refused the latency setting");
  const std::string url = sim.url("/v1/chat/completions");
  const std::map<std::string, std::string> headers = {{"Authorization", "Bearer sk-bench"}, {"Content-Type", "application/json"}};

  // Reference: what one call takes, made by a plain blocking client.
  std::vector<double> singles;
  for (int i = 0; i < 3; ++i) {
    const auto t0 = Clock::now();
    if (http.post(url, kPrompt, headers).status != 200) throw std::runtime_error("the simulator did not answer 200");
    singles.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  std::sort(singles.begin(), singles.end());
  const double latency = singles[1];
  const double ideal = n / latency;
  http.request("DELETE", sim.url("/_sim/requests"));

  ScratchDir tmp("outbound");
  const std::string config = tmp.path() + "/recado.yaml";
  std::ofstream(config) << fmt::format(
      "database:\n  pool_size: 4\nlog:\n  level: warn\n"
      "worker:\n  queues:\n    default:\n      concurrency: {}\n  poll_interval: 1s\n"
      "  http:\n    timeout: 30s\n  breakers:\n    failures_to_open: 100000\n    min_calls: 100000\n",
      n);
  test::ChildProcess worker({RECADO_BIN, "-c", config, "worker"}, {{"RECADO_DATABASE_URL", db.url()}});
  pqxx::connection conn(db.url());
  if (!test::poll_until([&] {
        return pqxx::nontransaction(conn).exec("SELECT count(*) FROM recado.workers")[0][0].as<int>() == 1;
      }))
    throw std::runtime_error("recado worker did not start:\n" + worker.output());
  const double rss_idle = peak_rss_mib(worker.pid());

  const json payload = {{"api", "openai"}, {"breaker", "openai:bench"}, {"url", url},
                        {"headers", {{"authorization", "Bearer sk-bench"}, {"content-type", "application/json"}}},
                        {"body", json::parse(kPrompt)}};
  const auto started = Clock::now();
  const int64_t started_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now().time_since_epoch()).count();
  {
    pqxx::work tx(conn);
    tx.exec_params("INSERT INTO recado.jobs (queue, kind, payload) SELECT 'default', 'http_call', $1::jsonb "
                   "FROM generate_series(1, $2)", payload.dump(), n);
    tx.exec("NOTIFY recado_jobs, 'default'");
    tx.commit();
  }
  long done = 0;
  const auto deadline = started + std::chrono::seconds{60};
  while (Clock::now() < deadline) {
    done = pqxx::nontransaction(conn).exec("SELECT count(*) FROM recado.jobs_finished")[0][0].as<long>();
    if (done >= n) break;
    std::this_thread::sleep_for(std::chrono::milliseconds{2});  // polling the database, bounded
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  const int64_t finished_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now().time_since_epoch()).count();
  const double rss = peak_rss_mib(worker.pid());
  const long completed = pqxx::nontransaction(conn).exec(
      "SELECT count(*) FROM recado.jobs_finished WHERE state = 'completed'")[0][0].as<long>();
  const json received = json::parse(http.get(sim.url("/_sim/requests?endpoint=openai")).body)["requests"];
  int64_t first_ms = INT64_MAX, last_ms = 0;
  for (const auto& r : received) {
    first_ms = std::min(first_ms, r["at_ms"].get<int64_t>());
    last_ms = std::max(last_ms, r["at_ms"].get<int64_t>());
  }
  worker.signal(SIGTERM);
  worker.wait(std::chrono::seconds{20});
  if (done < n || completed != n)
    throw std::runtime_error(fmt::format("{} of {} jobs finished ({} completed) in {:.1f} s:\n{}", done, n, completed,
                                         elapsed, worker.output()));

  // The calls' throughput: from the first call the simulator received to the last job
  // recorded complete. The wake-up and the first claim before it are the latency benchmark's.
  const double window = static_cast<double>(finished_ms - first_ms) / 1000.0;
  const double rate = n / window;
  std::cout << fmt::format(
      "outbound: {} jobs, one call each, the simulator answering after {} ms; one worker, concurrency {}\n"
      "  reference: one call by a blocking client takes {:.3f} s, so the ideal is {} / {:.3f} s = {:.0f} calls/s\n"
      "  recado worker: the first call reached the simulator {} ms after the jobs were committed, the last {} ms "
      "after the first;\n    all {} jobs were complete {:.3f} s after the first call ({:.3f} s after the commit)\n"
      "  worker RSS: {:.1f} MiB idle, {:.1f} MiB peak\n",
      n, latency_ms, n, latency, n, latency, ideal, first_ms - started_ms, last_ms - first_ms, n, window, elapsed,
      rss_idle, rss);
  summary("outbound", rate, "calls/s", rate / ideal, "ideal", ">= 0.9x", rate / ideal >= 0.9);
  summary("outbound-rss", rss, "MiB", rss / 64.0, "64-MiB", "< 64 MiB", rss < 64.0);
  return 0;
}

}  // namespace recado::bench
