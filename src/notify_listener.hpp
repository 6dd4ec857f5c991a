#pragma once
// LISTENs for job wake-ups on its own connection and thread, and tells the loop which
// queues got work. Many notifications between two loop turns arrive as one call.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "src/event_loop.hpp"

namespace recado {

class NotifyListener {
 public:
  // `on_wake(queues)` runs on the loop thread. An empty set means "look at every queue": it
  // comes each time the listener (re)connects, since work may have arrived while it was away.
  NotifyListener(EventLoop& loop, std::string url, std::string channel,
                 std::function<void(std::set<std::string>)> on_wake);
  ~NotifyListener();  // stops and joins the thread
  NotifyListener(const NotifyListener&) = delete;
  NotifyListener& operator=(const NotifyListener&) = delete;

  void stop();

 private:
  void thread_main();

  EventLoop& loop_;
  std::string url_;
  std::string channel_;
  std::function<void(std::set<std::string>)> on_wake_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable stop_cv_;
  int stop_pipe_[2] = {-1, -1};
  std::thread thread_;
};

}  // namespace recado
