// recadoctl on a terminal: the real binary on a pseudo-terminal (openpty), driven by keys as
// an operator would: `watch` redrawing in place until q or Ctrl-C and giving the terminal
// back, riding out a database restart, and the y/N question of a bulk action. Also the JSON
// stream of `watch --json`, which needs no terminal. No sleeps: every wait polls a deadline.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <utmp.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "src/job_store.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/pg_harness.hpp"

extern char** environ;

namespace recado {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using test::TestDatabase;

// recadoctl with a pseudo-terminal as its stdin, stdout and stderr (and controlling
// terminal, so Ctrl-C typed on it is a SIGINT). The test keeps the terminal's other end
// and its own descriptor of the terminal, to read the modes recadoctl leaves behind.
class TerminalProcess {
 public:
  explicit TerminalProcess(std::vector<std::string> args) {
    args.insert(args.begin(), RECADOCTL_BIN);
    winsize size{};
    size.ws_col = 160;
    size.ws_row = 50;
    if (openpty(&master_, &terminal_, nullptr, nullptr, &size) != 0)
      throw std::runtime_error("openpty failed");
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) {
      const std::string kv = *e;
      const std::string key = kv.substr(0, kv.find('='));
      if (key != "RECADO_CONFIG" && key != "RECADO_DATABASE_URL" && key != "TERM")
        env_strings.push_back(kv);
    }
    env_strings.push_back("TERM=xterm");
    std::vector<char*> envp, argv;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      close(master_);
      login_tty(terminal_);  // a session of its own, the terminal as stdin, stdout, stderr
      execve(argv[0], argv.data(), envp.data());
      _exit(127);
    }
    fcntl(master_, F_SETFL, fcntl(master_, F_GETFL) | O_NONBLOCK);
  }

  ~TerminalProcess() {
    if (!status_) {
      kill(pid_, SIGKILL);
      wait_exit(10s);
    }
    close(master_);
    close(terminal_);
  }

  // Types `keys`, as if at the keyboard.
  void type(const std::string& keys) {
    ASSERT_EQ(write(master_, keys.data(), keys.size()), static_cast<ssize_t>(keys.size()));
  }

  // Reads what it writes until `done(all output so far)` holds or `timeout` passes.
  bool read_until(const std::function<bool(const std::string&)>& done,
                  std::chrono::milliseconds timeout = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      drain();
      if (done(output_)) return true;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{master_, POLLIN, 0};
      poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 100)));
    }
  }
  bool saw(const std::string& text, std::chrono::milliseconds timeout = 20s) {
    return read_until([&](const std::string& out) { return out.find(text) != std::string::npos; },
                      timeout);
  }
  // Output since `mark` (an offset into everything read).
  size_t mark() {
    drain();
    return output_.size();
  }
  bool saw_after(size_t mark, const std::string& text, std::chrono::milliseconds timeout = 20s) {
    return read_until(
        [&](const std::string& out) { return out.find(text, mark) != std::string::npos; }, timeout);
  }

  // The exit code (128 + signal when killed), or nullopt if still running after `timeout`.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!status_) {
      drain();
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      pollfd p{master_, POLLIN, 0};
      poll(&p, 1, 10);
    }
    drain();
    return status_;
  }

  const std::string& output() { return drain(), output_; }
  // The terminal's modes now (what recadoctl left them as, once it has exited).
  termios modes() const {
    termios t{};
    tcgetattr(terminal_, &t);
    return t;
  }

 private:
  void drain() {
    char buf[4096];
    for (ssize_t n; (n = read(master_, buf, sizeof buf)) > 0;)
      output_.append(buf, static_cast<size_t>(n));
  }

  int master_ = -1, terminal_ = -1;
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string output_;
};

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

constexpr const char* kEnterScreen = "\x1b[?1049h";
constexpr const char* kLeaveScreen = "\x1b[?25h\x1b[?1049l";  // cursor shown, the old screen back

class RecadoctlTerminalTest : public ::testing::Test {
 protected:
  TestDatabase db;
  pqxx::connection conn{db.url()};

  int64_t enqueue(const std::string& queue) {
    NewJob j;
    j.queue = queue;
    j.kind = "noop";
    return job_store::enqueue(conn, {j}).at(0).id;
  }

  std::vector<std::string> ctl(std::vector<std::string> args) {
    args.insert(args.begin(), {"--database-url", db.url()});
    return args;
  }

  // The terminal is back as a shell wants it: line editing and echo on.
  static void expect_restored(const TerminalProcess& p) {
    const termios t = p.modes();
    EXPECT_TRUE(t.c_lflag & ICANON);
    EXPECT_TRUE(t.c_lflag & ECHO);
  }
};

TEST_F(RecadoctlTerminalTest, WatchRedrawsInPlaceUntilQAndGivesTheTerminalBack) {
  enqueue("mail");
  TerminalProcess watch(ctl({"watch", "--interval", "200ms"}));
  ASSERT_TRUE(watch.saw("mail")) << watch.output();
  EXPECT_EQ(watch.output().find(kEnterScreen), 0u) << "the alternate screen first";
  const termios during = watch.modes();
  EXPECT_FALSE(during.c_lflag & ICANON) << "keys are read one at a time";
  EXPECT_FALSE(during.c_lflag & ECHO);

  // A queue that appears is drawn by a later frame, over the old one (cursor home, no scroll).
  const size_t before = watch.mark();
  enqueue("fresh");
  ASSERT_TRUE(watch.saw_after(before, "fresh")) << watch.output();
  const std::string later = watch.output().substr(before);
  EXPECT_NE(later.find("\x1b[H"), std::string::npos);
  EXPECT_NE(later.find("recadoctl watch  every 200ms"), std::string::npos);
  EXPECT_GE(count_of(watch.output(), "\x1b[H"), 2u);
  EXPECT_EQ(count_of(watch.output(), kEnterScreen), 1u);

  watch.type("q");
  auto code = watch.wait_exit();
  ASSERT_TRUE(code) << "still running after q\n" << watch.output();
  EXPECT_EQ(*code, 0);
  const std::string out = watch.output();
  ASSERT_GE(out.size(), std::string(kLeaveScreen).size());
  EXPECT_NE(out.rfind(kLeaveScreen), std::string::npos);
  EXPECT_GT(out.rfind(kLeaveScreen), out.rfind("fresh"))
      << "the terminal is given back after the last frame";
  expect_restored(watch);
}

TEST_F(RecadoctlTerminalTest, WatchQuitsOnCtrlCAndRefreshesOnR) {
  TerminalProcess watch(ctl({"watch", "--interval", "1h"}));  // only a key redraws
  ASSERT_TRUE(watch.saw("queues    none yet")) << watch.output();
  const size_t before = watch.mark();
  enqueue("mail");
  watch.type("r");
  ASSERT_TRUE(watch.saw_after(before, "mail")) << watch.output();
  watch.type("\x03");  // Ctrl-C: the terminal sends SIGINT
  auto code = watch.wait_exit();
  ASSERT_TRUE(code) << "still running after Ctrl-C\n" << watch.output();
  EXPECT_EQ(*code, 0);
  EXPECT_NE(watch.output().rfind(kLeaveScreen), std::string::npos);
  expect_restored(watch);
}

TEST_F(RecadoctlTerminalTest, WatchSaysTheDatabaseIsGoneAndRecoversWhenItIsBack) {
  enqueue("mail");
  TerminalProcess watch(ctl({"watch", "--interval", "200ms"}));
  ASSERT_TRUE(watch.saw("mail")) << watch.output();
  if (!test::stop_server()) GTEST_SKIP() << "RECADO_TEST_DATABASE_URL's server is not ours to stop";
  const bool said = watch.saw("database unreachable or failing (retrying every 200ms)");
  const size_t after_outage = watch.mark();
  ASSERT_TRUE(test::start_server());
  ASSERT_TRUE(said) << watch.output();
  ASSERT_TRUE(watch.saw_after(after_outage, "recado status at"))
      << watch.output().substr(after_outage);
  watch.type("q");
  auto code = watch.wait_exit();
  ASSERT_TRUE(code) << watch.output();
  EXPECT_EQ(*code, 0);
  expect_restored(watch);
}

TEST_F(RecadoctlTerminalTest, WatchOfAnUnreachableDatabaseExits3BeforeTakingTheScreen) {
  TerminalProcess watch({"--database-url", "postgresql:///nope?host=/nonexistent", "watch"});
  auto code = watch.wait_exit();
  ASSERT_TRUE(code) << watch.output();
  EXPECT_EQ(*code, 3);
  EXPECT_EQ(watch.output().find(kEnterScreen), std::string::npos) << watch.output();
  EXPECT_NE(watch.output().find("recadoctl: database error"), std::string::npos) << watch.output();
}

TEST_F(RecadoctlTerminalTest, BulkActionOnATerminalAsksAndOnlyYesGoesAhead) {
  const int64_t a = enqueue("q");
  const int64_t b = enqueue("q");
  {
    TerminalProcess no(ctl({"jobs", "cancel", "--queue", "q"}));
    ASSERT_TRUE(
        no.saw("this will cancel 2 job(s) (queue=q, "
               "state=available|scheduled|retryable)\r\nProceed? [y/N] "))
        << no.output();
    no.type("n\n");
    auto code = no.wait_exit();
    ASSERT_TRUE(code) << no.output();
    EXPECT_EQ(*code, 2);
    EXPECT_NE(no.output().find("not confirmed: nothing done"), std::string::npos) << no.output();
    EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs WHERE queue = 'q'"), 2);
  }
  {
    TerminalProcess empty(ctl({"jobs", "cancel", "--queue", "q"}));  // Enter alone is no
    ASSERT_TRUE(empty.saw("Proceed? [y/N] ")) << empty.output();
    empty.type("\n");
    auto code = empty.wait_exit();
    ASSERT_TRUE(code) << empty.output();
    EXPECT_EQ(*code, 2);
    EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs WHERE queue = 'q'"), 2);
  }
  TerminalProcess yes(ctl({"jobs", "cancel", "--queue", "q"}));
  ASSERT_TRUE(yes.saw("Proceed? [y/N] ")) << yes.output();
  yes.type("y\n");
  auto code = yes.wait_exit();
  ASSERT_TRUE(code) << yes.output();
  EXPECT_EQ(*code, 0);
  EXPECT_NE(yes.output().find("cancelled 2 job(s) (queue=q, state=available|scheduled|retryable)"),
            std::string::npos)
      << yes.output();
  EXPECT_EQ(
      db.count("SELECT count(*) FROM recado.jobs_finished WHERE state = 'cancelled' AND id IN (" +
               std::to_string(a) + "," + std::to_string(b) + ")"),
      2);
}

TEST_F(RecadoctlTerminalTest, WatchJsonStreamsOneStatusPerLineUntilSigterm) {
  enqueue("mail");
  test::ChildProcess stream(
      {RECADOCTL_BIN, "--database-url", db.url(), "--json", "watch", "--interval", "100ms"},
      {{"RECADO_CONFIG", ""}});
  std::vector<json> docs;
  ASSERT_TRUE(test::poll_until([&] {
    docs.clear();
    std::istringstream in(stream.output());
    for (std::string line; std::getline(in, line);) {
      json doc = json::parse(line, nullptr, false);
      if (!doc.is_discarded()) docs.push_back(doc);
    }
    return docs.size() >= 3;
  })) << stream.output();
  for (const auto& doc : docs) {
    EXPECT_TRUE(doc.contains("stuck")) << doc.dump();
    EXPECT_EQ(doc["queues"][0]["queue"], "mail");
  }
  EXPECT_NE(docs[0]["generated_at"], docs[2]["generated_at"]);
  stream.signal(SIGTERM);
  auto status = stream.wait(20s);
  ASSERT_TRUE(status) << stream.output();
  EXPECT_EQ(status->signal, 0);
  EXPECT_EQ(status->code, 0);
}

}  // namespace
}  // namespace recado
