#pragma once
// Tells the service manager how the daemon is doing, over $NOTIFY_SOCKET (sd_notify(3),
// libsystemd): READY=1 once it serves, RELOADING=1 then READY=1 around a SIGHUP reload,
// STOPPING=1 when a stop signal arrives, a STATUS= line for `systemctl status`, and
// WATCHDOG=1 pings while the event loop turns.
//
// The pings come from a timer on the loop, at half of WATCHDOG_USEC, so a loop stuck in a
// callback misses them and systemd (WatchdogSec=) restarts the process. Without
// NOTIFY_SOCKET (not started by systemd, or not Type=notify) every call is a no-op, and
// without WATCHDOG_USEC for this process (sd_watchdog_enabled) there are no pings.
//
// Loop thread only. A failure to send is logged once and otherwise ignored: the daemon
// works the same whether or not anyone listens.
#include <optional>
#include <string>
#include <string_view>

#include "src/clock.hpp"
#include "src/event_loop.hpp"

namespace recado {

class SdNotifier {
 public:
  explicit SdNotifier(EventLoop& loop);
  SdNotifier(const SdNotifier&) = delete;
  SdNotifier& operator=(const SdNotifier&) = delete;

  // Whether NOTIFY_SOCKET was set when this was made.
  bool enabled() const { return enabled_; }
  // How often the watchdog wants a ping (WATCHDOG_USEC), when it is on for this process.
  std::optional<Duration> watchdog_timeout() const { return watchdog_timeout_; }

  // READY=1 with a status line; starts the watchdog pings (the first one now).
  void ready(std::string_view status);
  // RELOADING=1 (with MONOTONIC_USEC, as Type=notify-reload asks) before a reload; say
  // ready() again once it is applied, even when it failed and the old configuration stays.
  void reloading(std::string_view status);
  // STOPPING=1 with a status line. The pings go on while the loop drains: a shutdown that
  // hangs is then TimeoutStopSec's to end.
  void stopping(std::string_view status);
  // STATUS=<text> alone.
  void status(std::string_view text);
  // Stops the pings (before the loop ends).
  void stop_watchdog();

 private:
  void send(const std::string& state);
  void ping();

  bool enabled_ = false;
  bool send_failed_ = false;
  std::optional<Duration> watchdog_timeout_;
  Timer watchdog_timer_;
};

}  // namespace recado
