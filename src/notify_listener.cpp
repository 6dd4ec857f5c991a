#include "src/notify_listener.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <pqxx/pqxx>

#include "src/db_error.hpp"
#include "src/log.hpp"

namespace recado {

namespace {

class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& conn, const std::string& channel, std::set<std::string>& sink)
      : pqxx::notification_receiver(conn, channel), sink_(sink) {}
  void operator()(const std::string& payload, int) override { sink_.insert(payload); }

 private:
  std::set<std::string>& sink_;
};

}  // namespace

NotifyListener::NotifyListener(EventLoop& loop, std::string url, std::string channel,
                               std::function<void(std::set<std::string>)> on_wake)
    : loop_(loop), url_(std::move(url)), channel_(std::move(channel)), on_wake_(std::move(on_wake)) {
  if (pipe(stop_pipe_) != 0) throw std::runtime_error("pipe failed");
  thread_ = std::thread([this] { thread_main(); });
}

NotifyListener::~NotifyListener() {
  stop();
  close(stop_pipe_[0]);
  close(stop_pipe_[1]);
}

void NotifyListener::stop() {
  bool first;
  {
    // Under the mutex, so the reconnect wait cannot miss it.
    std::lock_guard lock(mutex_);
    first = !stopping_.exchange(true);
  }
  if (first) {
    const char byte = 1;
    (void)!write(stop_pipe_[1], &byte, 1);
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void NotifyListener::thread_main() {
  auto retry_delay = std::chrono::milliseconds{100};
  while (!stopping_) {
    try {
      pqxx::connection conn(url_);
      std::set<std::string> woken;
      Receiver receiver(conn, channel_, woken);
      conn.get_notifs();  // issues the LISTEN
      retry_delay = std::chrono::milliseconds{100};
      // Anything enqueued while we were not listening: wake every queue.
      loop_.post([this] { on_wake_({}); });
      while (!stopping_) {
        // Wait on the connection's socket and on the stop pipe at once.
        pollfd fds[2] = {{conn.sock(), POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
        if (poll(fds, 2, -1) < 0 && errno != EINTR) throw std::runtime_error("poll failed");
        if (fds[1].revents) break;
        conn.get_notifs();
        if (!woken.empty()) {
          loop_.post([this, queues = std::move(woken)] { on_wake_(queues); });
          woken.clear();
        }
      }
    } catch (...) {
      const DbError e = translate_db_exception(std::current_exception());
      if (stopping_) return;
      log::warn("notification listener lost its connection; polling covers the gap",
                {{"error", e.message}, {"retry_in_ms", std::to_string(retry_delay.count())}});
      std::unique_lock lock(mutex_);
      stop_cv_.wait_for(lock, retry_delay, [this] { return stopping_.load(); });
      retry_delay = std::min(retry_delay * 2, std::chrono::milliseconds{5000});
    }
  }
}

}  // namespace recado
