#include "src/sd_notify.hpp"

#include <systemd/sd-daemon.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "src/log.hpp"

namespace recado {

namespace {

// One line: a newline would start another assignment.
std::string status_line(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c == '\n' || c == '\r') c = ' ';
  return out;
}

uint64_t monotonic_usec() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

}  // namespace

SdNotifier::SdNotifier(EventLoop& loop) : watchdog_timer_(loop) {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  enabled_ = socket != nullptr && socket[0] != '\0';
  uint64_t usec = 0;
  // > 0 only when WATCHDOG_USEC is set and WATCHDOG_PID (if set) is this process.
  if (enabled_ && sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
    watchdog_timeout_ = std::chrono::microseconds{usec};
}

void SdNotifier::send(const std::string& state) {
  if (!enabled_) return;
  const int rc = sd_notify(0, state.c_str());
  if (rc < 0 && !send_failed_) {
    send_failed_ = true;  // once: a ping every few seconds must not flood the log
    log::warn("cannot notify the service manager", {{"error", std::strerror(-rc)}});
  }
}

void SdNotifier::ready(std::string_view status) {
  send("READY=1\nSTATUS=" + status_line(status));
  if (!watchdog_timeout_ || watchdog_timer_.active()) return;
  // Half the timeout, as sd_watchdog_enabled(3) advises: one late turn is no restart.
  const Duration every = std::max<Duration>(*watchdog_timeout_ / 2, std::chrono::milliseconds{1});
  ping();
  watchdog_timer_.start(every, [this] { ping(); }, every);
  log::info("watchdog on", {{"timeout_ms", std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                             *watchdog_timeout_).count())}});
}

void SdNotifier::reloading(std::string_view status) {
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic_usec()) + "\nSTATUS=" + status_line(status));
}

void SdNotifier::stopping(std::string_view status) { send("STOPPING=1\nSTATUS=" + status_line(status)); }

void SdNotifier::status(std::string_view text) { send("STATUS=" + status_line(text)); }

void SdNotifier::stop_watchdog() { watchdog_timer_.stop(); }

void SdNotifier::ping() { send("WATCHDOG=1"); }

}  // namespace recado
