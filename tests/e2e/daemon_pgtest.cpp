// The real binaries as an operator runs them: recado ingress, recado worker (several),
// recado migrate, recado config check and recado dev, on free ports against a real
// PostgreSQL, stopped with signals.
#include <gtest/gtest.h>

#include "src/migrations.hpp"

#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/child_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/pg_harness.hpp"

namespace recado {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using test::ChildProcess;
using test::HttpClient;
using test::TestDatabase;

const std::string kTestConfig = std::string(RECADO_SOURCE_DIR) + "/config/test.yaml";
const std::map<std::string, std::string> kAuth = {{"Authorization", "Bearer test-token"}};

class DaemonTest : public ::testing::Test {
 protected:
  std::map<std::string, std::string> env(int port = 0) {
    return {{"RECADO_DATABASE_URL", db.url()}, {"RECADO_INGRESS_PORT", std::to_string(port)}};
  }
  std::unique_ptr<ChildProcess> start(const std::string& role, int port = 0,
                                      std::map<std::string, std::string> extra = {}) {
    auto e = env(port);
    for (auto& [k, v] : extra) e[k] = v;
    return std::make_unique<ChildProcess>(std::vector<std::string>{RECADO_BIN, "-c", kTestConfig, role}, e);
  }
  // Waits until GET /readyz answers 200.
  bool ready(int port) {
    HttpClient http;
    return test::poll_until([&] { return http.get("http://127.0.0.1:" + std::to_string(port) + "/readyz").status == 200; });
  }
  // Sends TERM and expects a clean exit 0.
  void stop(ChildProcess& p) {
    p.signal(SIGTERM);
    auto status = p.wait(20s);
    ASSERT_TRUE(status) << "did not exit after SIGTERM\n" << p.output();
    EXPECT_FALSE(status->crashed()) << p.output();
    EXPECT_EQ(status->code, 0) << p.output();
  }
  long long count(const std::string& where) {
    return db.count("SELECT count(*) FROM recado.jobs_finished WHERE " + where);
  }
  void enqueue_sql(const std::string& kind, const std::string& payload, int n) {
    db.scalar("INSERT INTO recado.jobs (queue, kind, payload) SELECT 'default', '" + kind + "', '" + payload +
              "' FROM generate_series(1, " + std::to_string(n) + ")");
  }

  TestDatabase db;
};

TEST_F(DaemonTest, ThousandJobsOverHttpCompleteExactlyOnce) {
  const int port = test::free_port();
  auto ingress = start("ingress", port);
  auto worker_a = start("worker");
  auto worker_b = start("worker");
  ASSERT_TRUE(ready(port)) << ingress->output();

  constexpr int kClients = 8, kEach = 125;
  std::atomic<int> accepted{0};
  std::vector<std::thread> clients;
  std::mutex mutex;
  std::set<int64_t> ids;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      HttpClient http;
      for (int i = 0; i < kEach; ++i) {
        auto r = http.post("http://127.0.0.1:" + std::to_string(port) + "/v1/jobs",
                           R"({"kind":"noop","payload":{"client":)" + std::to_string(c) + "}}", kAuth);
        if (r.status != 202) continue;
        ++accepted;
        std::lock_guard lock(mutex);
        ids.insert(json::parse(r.body)["id"].get<int64_t>());
      }
    });
  }
  for (auto& t : clients) t.join();
  ASSERT_EQ(accepted, 1000);
  ASSERT_EQ(ids.size(), 1000u);
  ASSERT_TRUE(test::poll_until([&] { return count("state = 'completed'") == 1000; }, 60s))
      << count("true") << " finished\n" << worker_a->output();
  EXPECT_EQ(count("attempt <> 1"), 0);  // each ran once: never retried, never rescued
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs"), 0);
  EXPECT_EQ(db.count("SELECT count(DISTINCT id) FROM recado.jobs_finished"), 1000);
  stop(*ingress);
  stop(*worker_a);
  stop(*worker_b);
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.workers"), 0);
}

TEST_F(DaemonTest, IngressAndWorkerRideOutADatabaseRestart) {
  const int port = test::free_port();
  auto ingress = start("ingress", port);
  auto worker = start("worker");
  ASSERT_TRUE(ready(port)) << ingress->output();
  HttpClient http;
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/v1/jobs";
  // Posts until accepted, as a provider's retries would; a 503 while the database is away
  // is the right answer, a 2xx without a commit never is.
  auto post_until_accepted = [&](int n) {
    for (int i = 0; i < n; ++i)
      ASSERT_TRUE(test::poll_until([&] { return http.post(url, R"({"kind":"noop"})", kAuth).status == 202; }))
          << ingress->output();
  };
  post_until_accepted(5);
  ASSERT_TRUE(test::poll_until([&] { return count("state = 'completed'") == 5; })) << worker->output();

  if (!test::restart_server()) GTEST_SKIP() << "RECADO_TEST_DATABASE_URL's server is not ours to restart";
  post_until_accepted(5);
  ASSERT_TRUE(test::poll_until([&] { return count("state = 'completed'") == 10; }, 60s)) << worker->output();
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs"), 0);
  EXPECT_TRUE(ingress->running());
  EXPECT_TRUE(worker->running());
  stop(*ingress);
  stop(*worker);
}

TEST_F(DaemonTest, JobsOfAKilledWorkerAreRescued) {
  enqueue_sql("sleep", R"({"ms": 60000})", 3);
  auto victim = start("worker");
  ASSERT_TRUE(test::poll_until([&] { return db.count("SELECT count(*) FROM recado.jobs WHERE state = 'running'") == 3; }))
      << victim->output();
  victim->signal(SIGKILL);
  ASSERT_TRUE(victim->wait(10s));
  // The jobs still say running, leased to a worker that is gone. Make them short so the
  // rescuer's second attempt finishes quickly.
  db.scalar(R"(UPDATE recado.jobs SET payload = '{"ms": 10}')");
  auto rescuer = start("worker");
  ASSERT_TRUE(test::poll_until([&] { return count("state = 'completed'") == 3; }, 30s)) << rescuer->output();
  EXPECT_EQ(count("attempt = 2"), 3);
  EXPECT_NE(rescuer->output().find("rescued"), std::string::npos);
  stop(*rescuer);
}

TEST_F(DaemonTest, SigtermDrainsRunningJobsAndExitsZero) {
  enqueue_sql("sleep", R"({"ms": 400})", 4);
  auto worker = start("worker", 0, {{"RECADO_LOG_LEVEL", "debug"}});
  // Started by the worker, not only claimed in the database: a TERM that comes while a claim's
  // answer is on its way back hands those jobs back instead (they were never running here).
  auto started = [&] {
    const std::string out = worker->output();
    size_t n = 0;
    for (size_t at = out.find("job started"); at != std::string::npos; at = out.find("job started", at + 1)) ++n;
    return n;
  };
  ASSERT_TRUE(test::poll_until([&] { return started() == 4; })) << worker->output();
  stop(*worker);
  EXPECT_EQ(count("state = 'completed'"), 4);
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs"), 0);
}

TEST_F(DaemonTest, SigtermHandsBackWhatOutlivesTheDeadline) {
  enqueue_sql("sleep", R"({"ms": 600000})", 2);
  auto worker = start("worker", 0, {{"RECADO_WORKER_SHUTDOWN_TIMEOUT", "300ms"}});
  ASSERT_TRUE(test::poll_until([&] { return db.count("SELECT count(*) FROM recado.jobs WHERE state = 'running'") == 2; }))
      << worker->output();
  stop(*worker);
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs WHERE state = 'available' AND attempt = 0"), 2);
}

TEST_F(DaemonTest, SigtermWithTheDatabaseDownStillExits) {
  enqueue_sql("sleep", R"({"ms": 200})", 3);
  auto worker = start("worker", 0, {{"RECADO_WORKER_SHUTDOWN_TIMEOUT", "500ms"}});
  ASSERT_TRUE(test::poll_until([&] { return db.count("SELECT count(*) FROM recado.jobs WHERE state = 'running'") == 3; }))
      << worker->output();
  if (!test::stop_server()) GTEST_SKIP() << "RECADO_TEST_DATABASE_URL's server is not ours to stop";
  worker->signal(SIGTERM);
  // Results it cannot write are given up after a second shutdown timeout; it must not spin.
  auto status = worker->wait(20s);
  ASSERT_TRUE(test::start_server());
  ASSERT_TRUE(status) << "no exit with the database down\n" << worker->output();
  EXPECT_FALSE(status->crashed());
  EXPECT_EQ(status->code, 0);
  const std::string out = worker->output();
  EXPECT_LT(std::count(out.begin(), out.end(), '\n'), 200) << "log flood";
}

TEST_F(DaemonTest, WorkerRefusesAnUnmigratedDatabase) {
  db.scalar("DROP SCHEMA recado CASCADE");
  auto r = test::run_command({RECADO_BIN, "-c", kTestConfig, "worker"}, env());
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("recado migrate"), std::string::npos) << r.err;
}

TEST_F(DaemonTest, ConcurrentMigrationsAreSafe) {
  db.scalar("DROP SCHEMA recado CASCADE");
  auto a = start("migrate");
  auto b = start("migrate");
  auto sa = a->wait(30s), sb = b->wait(30s);
  ASSERT_TRUE(sa && sb);
  EXPECT_EQ(sa->code, 0) << a->output();
  EXPECT_EQ(sb->code, 0) << b->output();
  auto status = test::run_command({RECADO_BIN, "-c", kTestConfig, "migrate", "--status"}, env());
  EXPECT_EQ(status.code, 0);
  for (const Migration& m : migrations())
    EXPECT_NE(status.out.find(std::to_string(m.version) + "  applied"), std::string::npos) << status.out;
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.schema_migrations"), latest_migration_version());
}

TEST_F(DaemonTest, ConfigCheckNamesFileLineAndColumn) {
  auto good = test::run_command({RECADO_BIN, "config", "check", kTestConfig});
  EXPECT_EQ(good.code, 0) << good.err;
  EXPECT_NE(good.out.find("api_token: \"***\""), std::string::npos) << good.out;
  EXPECT_EQ(good.out.find("test-token"), std::string::npos) << "secret printed";

  const std::string bad = "/tmp/recado-bad-" + std::to_string(getpid()) + ".yaml";
  FILE* f = fopen(bad.c_str(), "w");
  fputs("worker:\n  lease: 30s\n  concurency: 4\n", f);
  fclose(f);
  auto r = test::run_command({RECADO_BIN, "config", "check", bad});
  std::filesystem::remove(bad);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(bad + ":3:3: unknown key 'worker.concurency'"), std::string::npos) << r.err;
}

TEST_F(DaemonTest, DevStartsItsOwnPostgresAndKeepsDataAcrossRestarts) {
  char tmpl[] = "/tmp/recado-dev-XXXXXX";
  ASSERT_TRUE(mkdtemp(tmpl));
  chmod(tmpl, 0755);
  const std::string dir = tmpl;
  const int port = test::free_port();
  const int sim_port = test::free_port();
  std::map<std::string, std::string> dev_env = {{"RECADO_DEV_DATA_DIR", dir + "/pg"},
                                                {"RECADO_INGRESS_PORT", std::to_string(port)},
                                                {"RECADO_DEV_SIM_PORT", std::to_string(sim_port)},
                                                {"RECADO_DATABASE_URL", ""}};
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  int64_t id = 0;
  {
    ChildProcess dev({RECADO_BIN, "-c", kTestConfig, "dev"}, dev_env);
    ASSERT_TRUE(ready(port)) << dev.output();
    HttpClient http;
    auto r = http.post(url + "/v1/jobs", R"({"kind":"noop"})", kAuth);
    ASSERT_EQ(r.status, 202) << r.body;
    id = json::parse(r.body)["id"].get<int64_t>();
    const std::string pg_url = "postgresql:///recado?host=" + dir + "/pg&user=postgres";
    ASSERT_TRUE(test::poll_until([&] {
      auto s = test::run_command({RECADOCTL_BIN, "--database-url", pg_url, "--json", "jobs", "show", std::to_string(id)});
      return s.code == 0 && json::parse(s.out)["state"] == "completed";
    }));
    EXPECT_NE(dev.output().find("recado dev is running"), std::string::npos);
    // The provider simulator runs beside it.
    const std::string sim_url = "http://127.0.0.1:" + std::to_string(sim_port);
    EXPECT_NE(dev.output().find("simulator  " + sim_url), std::string::npos) << dev.output();
    EXPECT_EQ(http.get(sim_url + "/_sim/healthz").status, 200);
    EXPECT_EQ(http.post(sim_url + "/v1/chat/completions", R"({"model":"m","messages":[{"role":"user","content":"Oi"}]})",
                        {{"Authorization", "Bearer dev"}}).status, 200);
    dev.signal(SIGINT);
    auto status = dev.wait(30s);
    ASSERT_TRUE(status) << dev.output();
    EXPECT_EQ(status->code, 0) << dev.output();
  }
  {
    ChildProcess dev({RECADO_BIN, "-c", kTestConfig, "dev"}, dev_env);
    ASSERT_TRUE(ready(port)) << dev.output();
    auto s = test::run_command({RECADOCTL_BIN, "--database-url", "postgresql:///recado?host=" + dir + "/pg&user=postgres",
                                "--json", "jobs", "show", std::to_string(id)});
    EXPECT_EQ(s.code, 0) << s.err;
    dev.signal(SIGINT);
    auto status = dev.wait(30s);
    ASSERT_TRUE(status);
    EXPECT_EQ(status->code, 0) << dev.output();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace recado
