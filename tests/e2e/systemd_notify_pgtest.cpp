// recado under a service manager, as systemd runs it (Type=notify, WatchdogSec=): the test
// plays systemd's part with a unix datagram socket in NOTIFY_SOCKET and WATCHDOG_USEC (and
// WATCHDOG_PID) in the environment of the real `recado worker` and `recado ingress`, and
// checks READY=1, the watchdog pings, a SIGHUP reload (RELOADING=1 then READY=1, the new
// log level and tenants in force, a running job not dropped, a broken file ignored) and
// STOPPING=1 with a clean exit on SIGTERM.
#include <gtest/gtest.h>

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/pg_harness.hpp"
#include "tests/support/worker_harness.hpp"

namespace recado {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using test::ChildProcess;
using test::HttpClient;
using test::TestDatabase;

// systemd's end of NOTIFY_SOCKET: a datagram socket in a fresh folder; every message the
// daemon sends is kept, in order.
class NotifySocket {
 public:
  NotifySocket() {
    char folder[] = "/tmp/recado-notify-XXXXXX";
    if (!mkdtemp(folder)) throw std::runtime_error("mkdtemp failed");
    folder_ = folder;
    path_ = folder_ + "/notify";
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error(std::string("bind failed: ") + std::strerror(errno));
  }
  ~NotifySocket() {
    close(fd_);
    std::error_code ec;
    std::filesystem::remove_all(folder_, ec);
  }
  const std::string& path() const { return path_; }
  const std::vector<std::string>& messages() const { return messages_; }

  // Reads until a message from index `from` on satisfies `match`, or `timeout` passes;
  // returns its index, or -1.
  int wait_for(const std::function<bool(const std::string&)>& match, std::size_t from = 0,
               std::chrono::milliseconds timeout = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (std::size_t i = from;; ++i) {
      while (i >= messages_.size()) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 || !receive(left)) return -1;
      }
      if (match(messages_[i])) return static_cast<int>(i);
    }
  }
  int wait_for_line(const std::string& line, std::size_t from = 0, std::chrono::milliseconds timeout = 20s) {
    return wait_for([&](const std::string& m) { return has_line(m, line); }, from, timeout);
  }
  // Takes whatever is waiting, without blocking.
  void drain() {
    while (receive(0ms)) {
    }
  }
  int count(const std::string& line) const {
    int n = 0;
    for (const std::string& m : messages_) n += has_line(m, line) ? 1 : 0;
    return n;
  }

  static bool has_line(const std::string& message, const std::string& line) {
    std::size_t start = 0;
    while (start <= message.size()) {
      const std::size_t end = message.find('\n', start);
      const std::string_view l = std::string_view(message).substr(start, end - start);
      if (l == line || (line.back() == '=' && l.starts_with(line))) return true;
      if (end == std::string::npos) break;
      start = end + 1;
    }
    return false;
  }
  static std::string status_of(const std::string& message) {
    const auto at = message.find("STATUS=");
    if (at == std::string::npos) return "";
    return message.substr(at + 7, message.find('\n', at) - at - 7);
  }

 private:
  bool receive(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    char buf[4096];
    const ssize_t n = recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n <= 0) return false;
    messages_.emplace_back(buf, static_cast<std::size_t>(n));
    return true;
  }

  std::string folder_, path_;
  int fd_ = -1;
  std::vector<std::string> messages_;
};

const std::string kWhaticketToken = "wt-token-2";
std::string whaticket_message(const std::string& id) {
  return R"({"key":{"remoteJid":"5511987654322@s.whatsapp.net","fromMe":false,"id":")" + id +
         R"("},"message":{"conversation":"Bom dia"},"messageTimestamp":1767225600,"pushName":"Carla"})";
}

// The configuration the daemons start with; `reloaded` is what SIGHUP brings: log level
// debug, a second tenant, another API token.
std::string config_text(bool reloaded) {
  std::string text = std::string(R"(log:
  format: json
  level: )") + (reloaded ? "debug" : "info") + R"(
ingress:
  host: 127.0.0.1
  port: 0
  api_token: )" + (reloaded ? "token-after" : "token-before") + R"(
worker:
  queues:
    default:
      concurrency: 10
    llm_reply:
      concurrency: 10
  poll_interval: 100ms
  lease: 5s
  shutdown_timeout: 5s
tenants:
  clinic:
    webhooks:
      whaticket:
        token: wt-token-1
)";
  if (reloaded)
    text += R"(  clinic2:
    debounce: 10s
    webhooks:
      whaticket:
        token: )" + kWhaticketToken + "\n";
  return text;
}

class SystemdNotifyTest : public ::testing::Test {
 protected:
  SystemdNotifyTest() {
    char folder[] = "/tmp/recado-sdcfg-XXXXXX";
    if (!mkdtemp(folder)) throw std::runtime_error("mkdtemp failed");
    folder_ = folder;
    config_path_ = folder_ + "/recado.yaml";
    write_config(config_text(false));
  }
  ~SystemdNotifyTest() override {
    std::error_code ec;
    std::filesystem::remove_all(folder_, ec);
  }

  void write_config(const std::string& text) {
    // Written aside and renamed, as an editor or a config manager would: a SIGHUP never
    // reads half a file.
    const std::string tmp = config_path_ + ".new";
    std::ofstream(tmp) << text;
    std::filesystem::rename(tmp, config_path_);
  }

  std::map<std::string, std::string> env(int port, const std::string& watchdog_usec) {
    std::map<std::string, std::string> e{{"RECADO_DATABASE_URL", db.url()},
                                         {"RECADO_INGRESS_PORT", std::to_string(port)},
                                         {"NOTIFY_SOCKET", notify.path()}};
    if (!watchdog_usec.empty()) e["WATCHDOG_USEC"] = watchdog_usec;
    return e;
  }
  // As systemd starts a service: WATCHDOG_PID is the daemon's own pid, which a shell that
  // execs it knows in advance.
  std::unique_ptr<ChildProcess> start_with_watchdog_pid(const std::string& role, int port, const std::string& usec) {
    return std::make_unique<ChildProcess>(
        std::vector<std::string>{"/bin/sh", "-c", "export WATCHDOG_PID=$$; exec \"$0\" \"$@\"", RECADO_BIN, "-c", config_path_, role},
        env(port, usec));
  }
  std::unique_ptr<ChildProcess> start(const std::string& role, std::map<std::string, std::string> e) {
    return std::make_unique<ChildProcess>(std::vector<std::string>{RECADO_BIN, "-c", config_path_, role}, std::move(e));
  }

  // SIGHUP, then RELOADING=1 and a READY=1 after it; returns READY's message.
  std::string reload(ChildProcess& p) {
    notify.drain();
    const std::size_t from = notify.messages().size();
    p.signal(SIGHUP);
    const int reloading = notify.wait_for_line("RELOADING=1", from);
    EXPECT_GE(reloading, 0) << "no RELOADING=1\n" << p.output();
    if (reloading < 0) return "";
    EXPECT_TRUE(NotifySocket::has_line(notify.messages()[reloading], "MONOTONIC_USEC=")) << notify.messages()[reloading];
    const int ready = notify.wait_for_line("READY=1", reloading + 1);
    EXPECT_GE(ready, 0) << "no READY=1 after the reload\n" << p.output();
    return ready < 0 ? "" : notify.messages()[ready];
  }

  // SIGTERM: STOPPING=1, then exit 0.
  void stop(ChildProcess& p) {
    const std::size_t from = notify.messages().size();
    p.signal(SIGTERM);
    EXPECT_GE(notify.wait_for_line("STOPPING=1", from), 0) << "no STOPPING=1\n" << p.output();
    auto status = p.wait(20s);
    ASSERT_TRUE(status) << "did not exit after SIGTERM\n" << p.output();
    EXPECT_FALSE(status->crashed()) << p.output();
    EXPECT_EQ(status->code, 0) << p.output();
  }

  // Log lines (JSON) with `msg`.
  std::vector<json> log_lines(const ChildProcess& p, const std::string& msg) {
    std::vector<json> out;
    std::istringstream in(p.output());
    for (std::string line; std::getline(in, line);) {
      const json j = json::parse(line, nullptr, false);
      if (!j.is_discarded() && j.is_object() && j.value("msg", "") == msg) out.push_back(j);
    }
    return out;
  }
  bool logged(const ChildProcess& p, const std::string& msg) { return !log_lines(p, msg).empty(); }

  std::string finished(int64_t id, const std::string& column) {
    return db.scalar("SELECT " + column + " FROM recado.jobs_finished WHERE id = " + std::to_string(id));
  }
  int64_t insert_job(const std::string& queue, const std::string& kind, const std::string& payload) {
    return std::stoll(db.scalar("INSERT INTO recado.jobs (queue, kind, payload) VALUES ('" + queue + "', '" + kind +
                                "', '" + payload + "') RETURNING id"));
  }

  TestDatabase db;
  NotifySocket notify;
  std::string folder_, config_path_;
};

TEST_F(SystemdNotifyTest, WorkerIsReadyPingsReloadsWithoutDroppingAJobAndStops) {
  auto worker = start_with_watchdog_pid("worker", 0, "300000");  // 300ms: a ping every 150ms
  const int ready = notify.wait_for_line("READY=1");
  ASSERT_GE(ready, 0) << worker->output();
  EXPECT_NE(NotifySocket::status_of(notify.messages()[ready]).find("worker"), std::string::npos)
      << notify.messages()[ready];
  // The pings, from the loop, several of them.
  const int first = notify.wait_for_line("WATCHDOG=1", ready);
  ASSERT_GE(first, 0) << worker->output();
  ASSERT_GE(notify.wait_for_line("WATCHDOG=1", first + 1), 0);
  ASSERT_GE(notify.wait_for(
                [&](const std::string&) { return notify.count("WATCHDOG=1") >= 4; }, first + 1),
            0);

  // Before the reload: clinic2 is unknown to the worker, and debug lines are off.
  const int64_t unknown = insert_job("llm_reply", "llm_reply", R"({"tenant":"clinic2","conversation":"5511987654322"})");
  ASSERT_TRUE(test::poll_until([&] { return finished(unknown, "state") == "discarded"; })) << worker->output();
  EXPECT_NE(finished(unknown, "errors::text").find("names no configured tenant"), std::string::npos);
  // A job running across the reload.
  const int64_t sleeper = insert_job("default", "sleep", R"({"ms": 1500})");
  ASSERT_TRUE(test::poll_until([&] {
    return db.scalar("SELECT state FROM recado.jobs WHERE id = " + std::to_string(sleeper)) == "running";
  })) << worker->output();
  EXPECT_FALSE(logged(*worker, "job started")) << "debug lines at level info";

  write_config(config_text(true));
  const std::string ready_again = reload(*worker);
  EXPECT_EQ(NotifySocket::status_of(ready_again).find("failed"), std::string::npos) << ready_again;
  ASSERT_TRUE(test::poll_until([&] { return logged(*worker, "configuration reloaded"); })) << worker->output();
  const json applied = log_lines(*worker, "configuration reloaded").back();
  const std::string what = applied.value("applied", "");
  EXPECT_NE(what.find("log.level info -> debug"), std::string::npos) << applied;
  EXPECT_NE(what.find("tenants.clinic2 (added)"), std::string::npos) << applied;
  EXPECT_EQ(what.find("token"), std::string::npos) << "a worker has no API token to apply: " << applied;
  EXPECT_EQ(worker->output().find("wt-token-2"), std::string::npos) << "a secret in the log";

  // The running job was not dropped: it completes, first attempt, no error.
  ASSERT_TRUE(test::poll_until([&] { return finished(sleeper, "state") == "completed"; })) << worker->output();
  EXPECT_EQ(finished(sleeper, "attempt"), "1");
  EXPECT_EQ(finished(sleeper, "errors::text"), "[]");
  // The new tenant is in force: its reply job finds it (no LLM configured: skipped, complete).
  const int64_t known = insert_job("llm_reply", "llm_reply", R"({"tenant":"clinic2","conversation":"5511987654322"})");
  ASSERT_TRUE(test::poll_until([&] { return !finished(known, "state").empty(); })) << worker->output();
  EXPECT_EQ(finished(known, "state"), "completed") << finished(known, "errors::text");
  EXPECT_NE(finished(known, "result::text").find("no LLM"), std::string::npos) << finished(known, "result::text");
  // And the level: debug lines now.
  ASSERT_TRUE(test::poll_until([&] { return logged(*worker, "job started"); })) << worker->output();

  // Still pinging after the reload.
  const std::size_t pings = static_cast<std::size_t>(notify.count("WATCHDOG=1"));
  ASSERT_GE(notify.wait_for([&](const std::string&) { return static_cast<std::size_t>(notify.count("WATCHDOG=1")) > pings; },
                            notify.messages().size()),
            0);
  stop(*worker);
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.workers"), 0);
}

TEST_F(SystemdNotifyTest, IngressTakesANewTenantsWebhooksAfterSighupAndKeepsThemThroughABrokenFile) {
  const int port = test::free_port();
  auto ingress = start("ingress", env(port, "400000"));  // no WATCHDOG_PID: any process may ping
  const int ready = notify.wait_for_line("READY=1");
  ASSERT_GE(ready, 0) << ingress->output();
  EXPECT_NE(NotifySocket::status_of(notify.messages()[ready]).find("ingress on 127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << notify.messages()[ready];
  ASSERT_GE(notify.wait_for_line("WATCHDOG=1", ready), 0) << ingress->output();
  // READY=1 means it serves: no waiting for /readyz.
  HttpClient http;
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  const std::string hook = base + "/webhooks/clinic2/whaticket/" + kWhaticketToken;
  EXPECT_EQ(http.post(hook, whaticket_message("WT-1")).status, 404);
  EXPECT_EQ(http.post(base + "/v1/jobs", R"({"kind":"noop"})", {{"Authorization", "Bearer token-before"}}).status, 202);

  write_config(config_text(true));
  const std::string ready_again = reload(*ingress);
  EXPECT_NE(NotifySocket::status_of(ready_again).find("2 tenant(s)"), std::string::npos) << ready_again;
  auto accepted = http.post(hook, whaticket_message("WT-2"));
  EXPECT_EQ(accepted.status, 200) << accepted.body << "\n" << ingress->output();
  EXPECT_EQ(accepted.body, R"({"accepted":1,"duplicates":0})");
  EXPECT_EQ(db.scalar("SELECT debounce FROM (SELECT run_at - created_at AS debounce FROM recado.jobs WHERE kind = 'llm_reply') j")
                .substr(0, 8),
            "00:00:10")
      << "the new tenant's debounce";
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.inbound WHERE tenant = 'clinic2'"), 1);
  // The API token was rotated with the file.
  EXPECT_EQ(http.post(base + "/v1/jobs", R"({"kind":"noop"})", {{"Authorization", "Bearer token-before"}}).status, 401);
  EXPECT_EQ(http.post(base + "/v1/jobs", R"({"kind":"noop"})", {{"Authorization", "Bearer token-after"}}).status, 202);
  ASSERT_TRUE(test::poll_until([&] { return logged(*ingress, "configuration reloaded"); })) << ingress->output();
  const std::string applied = log_lines(*ingress, "configuration reloaded").back().value("applied", "");
  EXPECT_NE(applied.find("ingress.api_token"), std::string::npos) << applied;
  EXPECT_EQ(ingress->output().find("token-after"), std::string::npos) << "a secret in the log";

  // A key that needs a restart: logged, not applied.
  write_config([] {
    std::string t = config_text(true);
    t.replace(t.find("  api_token:"), 0, "  max_body_bytes: 2048\n");
    return t;
  }());
  reload(*ingress);
  ASSERT_TRUE(test::poll_until([&] { return logged(*ingress, "configuration changes that take effect only after a restart"); }))
      << ingress->output();
  EXPECT_NE(log_lines(*ingress, "configuration changes that take effect only after a restart").back().value("keys", "").find("ingress"),
            std::string::npos);
  const std::string big = R"({"kind":"noop","payload":{"pad":")" + std::string(4096, 'x') + "\"}}";
  EXPECT_EQ(http.post(base + "/v1/jobs", big, {{"Authorization", "Bearer token-after"}}).status, 202)
      << "max_body_bytes changed without a restart";

  // A file that does not load: logged, READY=1 again, the running configuration stays.
  write_config("tenants:\n  clinic2: [not, a, mapping\n");
  const std::string after_failure = reload(*ingress);
  EXPECT_NE(NotifySocket::status_of(after_failure).find("reload failed"), std::string::npos) << after_failure;
  ASSERT_TRUE(test::poll_until([&] { return logged(*ingress, "configuration reload failed; the running configuration stays"); }))
      << ingress->output();
  EXPECT_EQ(http.post(hook, whaticket_message("WT-3")).body, R"({"accepted":1,"duplicates":0})");
  EXPECT_TRUE(ingress->running());
  stop(*ingress);
}

TEST_F(SystemdNotifyTest, NoPingsForAnotherProcessesWatchdogAndNoneWithoutOne) {
  const int64_t job = insert_job("default", "noop", "{}");
  auto e = env(0, "50000");  // a ping every 25ms, were it ours
  e["WATCHDOG_PID"] = "1";
  auto worker = start("worker", e);
  ASSERT_GE(notify.wait_for_line("READY=1"), 0) << worker->output();
  // Many loop turns later (a job claimed, run and recorded) still not one ping.
  ASSERT_TRUE(test::poll_until([&] { return finished(job, "state") == "completed"; })) << worker->output();
  stop(*worker);
  notify.drain();
  EXPECT_EQ(notify.count("WATCHDOG=1"), 0);
  EXPECT_FALSE(logged(*worker, "watchdog on"));
}

// What a reload does under a running job, in process: the job keeps reading the tenant it
// was given (the snapshot it started with stays alive), a job started after the reload sees
// the new tenants. (Under ASan, a dangling TenantConfig* would fail this test.)
TEST(TenantReload, ARunningJobKeepsTheTenantItStartedWith) {
  TestDatabase db;
  test::WorkerHarness h(db.url());
  const TenantConfig* held = nullptr;
  std::string read_after_reload;
  bool started = false, finished = false;
  std::vector<std::string> later;  // what jobs started after the reload see
  const JobKindTable kinds = {
      {"hold_tenant",
       [&](HandlerContext& ctx, Done done) {
         if (started) {  // the second job
           later.push_back(ctx.tenant("clinic") ? "clinic" : "-");
           later.push_back(ctx.tenant("clinic2") ? "clinic2" : "-");
           return done(Outcome::complete());
         }
         started = true;
         held = ctx.tenant("clinic");
         if (!held) return done(Outcome::discard("no tenant clinic"));
         ctx.after(50ms, [&, done] {
           read_after_reload = held->id + " " + std::to_string(held->debounce.count());
           finished = true;
           done(Outcome::complete());
         });
       }}};
  TenantConfig clinic;
  clinic.id = "clinic";
  clinic.debounce = 7s;
  Worker& worker = h.add_worker(test::fast_worker_config(), kinds, {clinic});
  db.scalar("INSERT INTO recado.jobs (queue, kind) VALUES ('default', 'hold_tenant')");
  ASSERT_TRUE(h.run_until([&] { return started; }));
  TenantConfig clinic2;
  clinic2.id = "clinic2";
  worker.set_tenants({clinic2});  // clinic is gone from the worker's tenants
  ASSERT_TRUE(h.run_until([&] { return finished; }));
  EXPECT_EQ(read_after_reload, "clinic " + std::to_string(std::chrono::duration_cast<Duration>(7s).count()));
  db.scalar("INSERT INTO recado.jobs (queue, kind) VALUES ('default', 'hold_tenant')");
  ASSERT_TRUE(h.run_until([&] { return later.size() == 2; }));
  EXPECT_EQ(later, (std::vector<std::string>{"-", "clinic2"}));
  ASSERT_TRUE(h.run_until([&] { return db.count("SELECT count(*) FROM recado.jobs_finished WHERE state = 'completed'") == 2; }));
}

}  // namespace
}  // namespace recado
