// recadoctl status (one screen: queues with counts, throughput and timings, workers, breakers,
// pauses, the oldest stuck job) and watch (the same, redrawn in place like top).
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <iostream>
#include <sstream>

#include "src/breaker_store.hpp"
#include "src/ctl_common.hpp"
#include "src/duration.hpp"
#include "src/queue_admin.hpp"
#include "src/table.hpp"

namespace recado::ctl {

namespace {

// The status document: queue_admin::status plus the breakers that are not closed and the
// pauses (docs/recadoctl.md has the schema).
json status_json(Session& s, Duration window) {
  json st = queue_admin::status(s.db(), window, s.config().worker.lease);
  json breakers = json::array();
  for (const Breaker& b : breaker_store::load_all(s.db()))
    if (b.state != BreakerState::closed || b.forced) breakers.push_back(breaker_json(b));
  st["breakers"] = std::move(breakers);
  st["pauses"] = pauses_json(s.db());
  return st;
}

std::string seconds_cell(const json& v) {
  return v.is_number() ? human_seconds(v.get<double>()) : "-";
}

// The status document for people, as lines.
std::vector<std::string> render_status(const json& st) {
  std::ostringstream out;
  const std::string window =
      format_duration(Duration{static_cast<int64_t>(st["window_s"].get<double>() * 1e6)});
  out << "recado status at " << st["generated_at"].get<std::string>()
      << "; throughput and timings over the last " << window << "\n\n";

  std::vector<std::vector<std::string>> rows;
  for (const auto& q : st["queues"]) {
    rows.push_back(
        {q["queue"].get<std::string>(), q["paused"].get<bool>() ? "paused" : "-",
         cell(q["available"]), cell(q["scheduled"]), cell(q["running"]), cell(q["retryable"]),
         q["available"].get<int64_t>() > 0 || q["oldest_available_age_s"].get<double>() > 0
             ? seconds_cell(q["oldest_available_age_s"])
             : "-",
         cell(q["completed_window"]), cell(q["discarded_window"]), cell(q["throughput_per_min"]),
         seconds_cell(q["wait_p95_s"]), seconds_cell(q["run_p95_s"])});
  }
  if (rows.empty()) {
    out << "queues    none yet: no job was ever enqueued\n";
  } else {
    print_table(out,
                {"queue", "paused", "available", "scheduled", "running", "retryable", "oldest_wait",
                 "done_" + window, "discarded_" + window, "per_min", "wait_p95", "run_p95"},
                rows);
  }
  out << "\n";

  const json& workers = st["workers"];
  out << "workers   " << st["workers_live"].get<int>() << " live";
  if (workers.size() != st["workers_live"].get<size_t>())
    out << " (" << workers.size() << " registered)";
  out << "\n";
  if (!workers.empty()) {
    rows.clear();
    for (const auto& w : workers)
      rows.push_back({"  " + w["id"].get<std::string>(), cell(w["queues"]), cell(w["running"]),
                      human_seconds(w["heartbeat_age_s"].get<double>()),
                      w["live"].get<bool>() ? "live" : "gone"});
    print_table(out, {"  id", "queues", "running", "heartbeat", "live"}, rows);
  }

  const json& breakers = st["breakers"];
  if (breakers.empty()) {
    out << "breakers  all closed\n";
  } else {
    out << "breakers  " << breakers.size() << " not closed\n";
    rows.clear();
    for (const auto& b : breakers)
      rows.push_back({"  " + b["name"].get<std::string>(),
                      cell(b["state"]) + (b["forced"].get<bool>() ? " (forced)" : ""),
                      cell(b["probe_at"]), cell(b["last_error"])});
    print_table(out, {"  name", "state", "probe_at", "last_error"}, rows);
  }

  std::string paused;
  for (const auto& p : st["pauses"]) {
    const std::string scope = p["scope"].get<std::string>();
    paused += (paused.empty() ? "" : ", ") +
              (scope == "*" ? std::string("every tenant") : "tenant " + scope);
    if (!p["reason"].get<std::string>().empty())
      paused += " (" + p["reason"].get<std::string>() + ")";
  }
  for (const auto& q : st["paused_queues"])
    paused += (paused.empty() ? "" : ", ") + ("queue " + q.get<std::string>());
  out << "paused    " << (paused.empty() ? "nothing" : paused) << "\n";

  const json& stuck = st["stuck"];
  if (const json& r = stuck["running"]; !r.is_null()) {
    out << fmt::format(
        "stuck     job {} ({} in {}) running for {} on {}{}", r["id"].get<int64_t>(),
        cell(r["kind"]), cell(r["queue"]), seconds_cell(r["running_s"]), cell(r["worker"]),
        r["lease_expired"].get<bool>() ? ", its lease expired (the worker is gone?)" : "");
    if (stuck["running_count"].get<int64_t>() > 1)
      out << fmt::format("; {} such jobs", stuck["running_count"].get<int64_t>());
    out << "\n";
  } else {
    out << "stuck     no job running longer than its lease\n";
  }
  if (const json& w = stuck["waiting"]; !w.is_null()) {
    out << fmt::format("waiting   oldest due: job {} ({} in {}{}), {} since due\n",
                       w["id"].get<int64_t>(), cell(w["kind"]), cell(w["queue"]),
                       w["queue_paused"].get<bool>() ? ", paused" : "",
                       seconds_cell(w["waiting_s"]));
  } else {
    out << "waiting   no job is due\n";
  }

  std::vector<std::string> lines;
  std::istringstream in(out.str());
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// --- watch ----------------------------------------------------------------------------------

int g_signal_pipe[2] = {-1, -1};

extern "C" void on_watch_signal(int sig) {
  const int saved = errno;
  const char c = static_cast<char>(sig);
  [[maybe_unused]] auto n = write(g_signal_pipe[1], &c, 1);
  errno = saved;
}

void write_all(const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    const ssize_t n = write(STDOUT_FILENO, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

// Catches the signals watch answers, through a pipe its loop polls; restores them after.
class SignalPipe {
 public:
  static constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGWINCH, SIGTSTP, SIGCONT};

  SignalPipe() {
    if (pipe(g_signal_pipe) != 0) throw std::runtime_error("pipe failed");
    for (int fd : g_signal_pipe) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    struct sigaction sa {};
    sa.sa_handler = on_watch_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < std::size(kSignals); ++i) sigaction(kSignals[i], &sa, &saved_[i]);
  }
  ~SignalPipe() {
    for (size_t i = 0; i < std::size(kSignals); ++i) sigaction(kSignals[i], &saved_[i], nullptr);
    close(g_signal_pipe[0]);
    close(g_signal_pipe[1]);
  }
  int fd() const { return g_signal_pipe[0]; }
  int take() {  // the next signal caught, or 0
    char c = 0;
    return read(g_signal_pipe[0], &c, 1) == 1 ? static_cast<int>(static_cast<unsigned char>(c)) : 0;
  }

 private:
  struct sigaction saved_[std::size(kSignals)]{};
};

// The terminal as watch wants it while it runs: keys read one at a time without echo, the
// alternate screen (what was on the terminal comes back at exit), no cursor. Restored by
// the destructor, and around a suspension (Ctrl-Z).
class Screen {
 public:
  Screen() { enter(); }
  ~Screen() { leave(); }
  void enter() {
    if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_) == 0) {
      termios raw = saved_;
      raw.c_lflag &= ~(ICANON | ECHO);  // ISIG stays: Ctrl-C is SIGINT
      raw.c_cc[VMIN] = 0;
      raw.c_cc[VTIME] = 0;
      have_termios_ = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
    }
    write_all("\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J");
    active_ = true;
  }
  void leave() {
    if (!active_) return;
    write_all("\x1b[?25h\x1b[?1049l");
    if (have_termios_) tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
    have_termios_ = active_ = false;
  }
  static std::pair<int, int> size() {  // columns, rows
    winsize ws{};
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0)
      return {ws.ws_col, ws.ws_row};
    return {80, 24};
  }

 private:
  termios saved_{};
  bool have_termios_ = false;
  bool active_ = false;
};

// The first `width` columns of a line (UTF-8 code points, as print_table counts them).
std::string clip(const std::string& line, int width) {
  int n = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    if ((static_cast<unsigned char>(line[i]) & 0xC0) != 0x80 && n++ == width)
      return line.substr(0, i);
  }
  return line;
}

std::string utc_clock() {
  const time_t t = time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:02}:{:02}:{:02} UTC", tm.tm_hour, tm.tm_min, tm.tm_sec);
}

// One frame: home, each line cleared to its end, the rest of the screen cleared.
std::string frame(const std::vector<std::string>& body, const std::string& header) {
  const auto [cols, rows] = Screen::size();
  std::vector<std::string> lines = {header, ""};
  lines.insert(lines.end(), body.begin(), body.end());
  if (static_cast<int>(lines.size()) > rows) {
    const size_t hidden = lines.size() - static_cast<size_t>(rows) + 1;
    lines.resize(static_cast<size_t>(rows) - 1);
    lines.push_back(fmt::format("... {} more line(s): enlarge the window", hidden));
  }
  std::string out = "\x1b[H";
  for (size_t i = 0; i < lines.size(); ++i) {
    out += clip(lines[i], cols) + "\x1b[K";
    if (i + 1 < lines.size()) out += "\r\n";
  }
  return out + "\x1b[J";
}

// watch --json: one status document per line, every interval, until SIGINT or SIGTERM.
int watch_stream(Session& s, Duration interval, Duration window) {
  SignalPipe signals;
  for (;;) {
    try {
      std::cout << status_json(s, window).dump() << std::endl;
    } catch (const pqxx::failure& e) {
      std::cerr << "recadoctl: database error (retrying): " << e.what()
                << (std::string(e.what()).ends_with("\n") ? "" : "\n");
      s.reconnect();
    }
    pollfd p{signals.fd(), POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(interval.count() / 1000)) > 0) {
      for (int sig; (sig = signals.take()) != 0;)
        if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) return kOk;
    }
  }
}

int watch_screen(Session& s, Duration interval, Duration window) {
  auto body = render_status(status_json(s, window));  // fails before the screen changes: exit 3
  SignalPipe signals;
  Screen screen;
  const bool keys = isatty(STDIN_FILENO);
  const std::string every = format_duration(interval);
  for (bool fetch = false;; fetch = true) {
    if (fetch) {
      try {
        body = render_status(status_json(s, window));
      } catch (const pqxx::failure& e) {
        std::string what = e.what();
        while (!what.empty() && what.back() == '\n') what.pop_back();
        body = {"database unreachable or failing (retrying every " + every + "):", what};
        s.reconnect();
      }
    }
    write_all(frame(
        body, "recadoctl watch  every " + every + "  " + utc_clock() + "  q quits, r refreshes"));
    const auto deadline = std::chrono::steady_clock::now() + interval;
    bool refresh = false;
    while (!refresh) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd fds[2] = {{signals.fd(), POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
      if (poll(fds, keys ? 2 : 1, static_cast<int>(left.count())) <= 0) continue;
      for (int sig; (sig = signals.take()) != 0;) {
        if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) return kOk;
        if (sig == SIGWINCH) refresh = true;
        if (sig == SIGTSTP) {  // Ctrl-Z: give the terminal back, stop, take it again on fg
          screen.leave();
          signal(SIGTSTP, SIG_DFL);
          raise(SIGTSTP);
          struct sigaction sa {};
          sa.sa_handler = on_watch_signal;
          sigemptyset(&sa.sa_mask);
          sigaction(SIGTSTP, &sa, nullptr);
          screen.enter();
          refresh = true;
        }
      }
      if (keys && (fds[1].revents & (POLLHUP | POLLERR)) && !(fds[1].revents & POLLIN))
        return kOk;  // hung up
      if (keys && (fds[1].revents & POLLIN)) {
        char buf[64];
        const ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
        if (n == 0) return kOk;  // the terminal went away
        for (ssize_t i = 0; i < n; ++i) {
          if (buf[i] == 'q' || buf[i] == 'Q') return kOk;
          if (buf[i] == 'r' || buf[i] == 'R' || buf[i] == ' ') refresh = true;
        }
      }
    }
  }
}

}  // namespace

void add_status_commands(Cli& cli) {
  struct Options {
    std::string window = "5m", interval = "2s";
    bool once = false;
  };
  auto o = std::make_shared<Options>();
  auto window_of = [o] {
    const Duration w = duration_option("--window", o->window);
    if (w.count() <= 0) throw CLI::ValidationError("--window", "must be more than 0");
    return w;
  };

  auto* status = cli.app.add_subcommand(
      "status", "one screen: queues, throughput, timings, workers, breakers, pauses, stuck jobs");
  status->add_option("--window", o->window, "how far back throughput and timings look (default 5m)")
      ->check(duration_validator());
  status->footer(R"(
Per queue: jobs by state; OLDEST_WAIT, how long the oldest due job has waited; DONE and
DISCARDED, jobs finished in the window, and PER_MIN their rate; WAIT_P95, the 95th percentile
of how long a due job waited for a worker (attempted_at - run_at), and RUN_P95, of how long
its handler ran (finished_at - attempted_at), over the jobs finished in the window.
Then the workers (live: a heartbeat within worker.lease), breakers not closed, pauses, the
oldest job running longer than worker.lease (or past its lease), and the oldest due job.
--json: {generated_at, window_s, queues: [{queue, paused, available, scheduled, running,
  retryable, oldest_available_age_s, completed_window, discarded_window, cancelled_window,
  throughput_per_min, wait_mean_s, wait_p95_s, run_mean_s, run_p95_s}], paused_queues,
  workers: [{id, host, pid, queues, started_at, heartbeat_at, heartbeat_age_s, running, live}],
  workers_live, breakers: [as `breakers`], pauses: [as `pause`],
  stuck: {running: {id, queue, kind, worker, running_s, lease_expired, lease_until} | null,
          running_count, waiting: {id, queue, kind, state, waiting_s, queue_paused} | null}})");
  cli.on(status, [window_of](Session& s) {
    const json st = status_json(s, window_of());
    if (s.as_json()) {
      std::cout << st.dump(2) << "\n";
    } else {
      for (const auto& line : render_status(st)) std::cout << line << "\n";
    }
    return 0;
  });

  auto* watch = cli.app.add_subcommand(
      "watch", "`status`, redrawn in place every --interval until q or Ctrl-C (like top)");
  watch
      ->add_option("--interval", o->interval, "time between refreshes (default 2s, at least 100ms)")
      ->check(duration_validator());
  watch->add_option("--window", o->window, "how far back throughput and timings look (default 5m)")
      ->check(duration_validator());
  watch->add_flag("--once", o->once, "print the status once and exit (what `status` does)");
  watch->footer(R"(
Keys: q quits, r or space refreshes now; Ctrl-C quits too, Ctrl-Z suspends. The terminal is
restored on exit. Needs a terminal on stdout (else exit 2), unless --once, or --json: one
status document per line, every interval, until SIGINT or SIGTERM.
While the database does not answer, the screen says so and keeps trying.)");
  cli.on(watch, [o, window_of](Session& s) -> int {
    const Duration interval = duration_option("--interval", o->interval);
    if (interval < std::chrono::milliseconds{100})
      throw CLI::ValidationError("--interval", "must be at least 100ms");
    const Duration window = window_of();
    if (o->once) {
      const json st = status_json(s, window);
      if (s.as_json()) {
        std::cout << st.dump(2) << "\n";
      } else {
        for (const auto& line : render_status(st)) std::cout << line << "\n";
      }
      return kOk;
    }
    if (s.as_json()) return watch_stream(s, interval, window);
    if (!isatty(STDOUT_FILENO))
      throw CLI::ValidationError(
          "watch",
          "it redraws a terminal and stdout is not one: use `recadoctl status`, "
          "`recadoctl watch --once`, or `recadoctl watch --json` for a stream");
    return watch_screen(s, interval, window);
  });
}

}  // namespace recado::ctl
