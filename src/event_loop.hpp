#pragma once
// Thin adapters over libuv: the loop, a cross-thread task queue, timers and signals.
// All of them belong to the loop's thread; only EventLoop::post may be called from others.
#include <uv.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "src/clock.hpp"

namespace recado {

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Runs until stop(): the loop never runs dry on its own, since results from other
  // threads may still arrive.
  void run();
  // Makes run() return after the current iteration. Loop thread only.
  void stop();
  // Runs `task` on the loop thread soon. Safe from any thread; one uv_async wake-up may
  // carry many tasks.
  void post(std::function<void()> task);

  uv_loop_t* raw() { return &loop_; }

 private:
  static void on_async(uv_async_t* handle);
  void drain();

  uv_loop_t loop_;
  uv_async_t* async_;
  std::mutex mutex_;
  std::vector<std::function<void()>> tasks_;
};

// A one-shot or repeating timer. Destroying it cancels it.
class Timer {
 public:
  explicit Timer(EventLoop& loop);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  void start(Duration after, std::function<void()> callback, Duration repeat = Duration{0});
  void stop();
  bool active() const;

 private:
  struct State;
  State* state_;
};

// Calls `callback(signum)` on the loop when one of `signals` arrives.
class SignalWatcher {
 public:
  SignalWatcher(EventLoop& loop, std::vector<int> signals, std::function<void(int)> callback);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  struct State;
  std::vector<State*> states_;
};

// Closes a libuv handle and frees it (with `delete`) once libuv is done with it.
template <typename Handle>
void close_and_delete(Handle* handle) {
  uv_close(reinterpret_cast<uv_handle_t*>(handle),
           [](uv_handle_t* h) { delete reinterpret_cast<Handle*>(h); });
}

}  // namespace recado
