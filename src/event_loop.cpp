#include "src/event_loop.hpp"

#include <stdexcept>

namespace recado {

EventLoop::EventLoop() : async_(new uv_async_t) {
  if (uv_loop_init(&loop_) != 0) throw std::runtime_error("uv_loop_init failed");
  uv_async_init(&loop_, async_, &EventLoop::on_async);
  async_->data = this;
}

EventLoop::~EventLoop() {
  close_and_delete(async_);
  // Let pending close callbacks run, then close the loop.
  uv_run(&loop_, UV_RUN_NOWAIT);
  while (uv_loop_close(&loop_) == UV_EBUSY) {
    uv_walk(&loop_, [](uv_handle_t* h, void*) {
      if (!uv_is_closing(h)) uv_close(h, nullptr);
    }, nullptr);
    uv_run(&loop_, UV_RUN_NOWAIT);
  }
}

void EventLoop::run() { uv_run(&loop_, UV_RUN_DEFAULT); }

void EventLoop::stop() { uv_stop(&loop_); }

void EventLoop::post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(task));
  }
  uv_async_send(async_);
}

void EventLoop::on_async(uv_async_t* handle) { static_cast<EventLoop*>(handle->data)->drain(); }

void EventLoop::drain() {
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard lock(mutex_);
    batch.swap(tasks_);
  }
  for (auto& task : batch) task();
}

struct Timer::State {
  uv_timer_t handle;
  std::function<void()> callback;
};

Timer::Timer(EventLoop& loop) : state_(new State) {
  uv_timer_init(loop.raw(), &state_->handle);
  state_->handle.data = state_;
}

Timer::~Timer() {
  uv_timer_stop(&state_->handle);
  state_->callback = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&state_->handle),
           [](uv_handle_t* h) { delete static_cast<State*>(h->data); });
}

void Timer::start(Duration after, std::function<void()> callback, Duration repeat) {
  state_->callback = std::move(callback);
  auto ms = [](Duration d) {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
  };
  uv_timer_start(&state_->handle, [](uv_timer_t* h) {
    auto* s = static_cast<State*>(h->data);
    // Copy: the callback may restart or destroy this timer.
    auto cb = s->callback;
    if (cb) cb();
  }, ms(after), ms(repeat));
}

void Timer::stop() { uv_timer_stop(&state_->handle); }
bool Timer::active() const {
  return uv_is_active(reinterpret_cast<const uv_handle_t*>(&state_->handle)) != 0;
}

struct SignalWatcher::State {
  uv_signal_t handle;
  std::function<void(int)> callback;
};

SignalWatcher::SignalWatcher(EventLoop& loop, std::vector<int> signals,
                             std::function<void(int)> callback) {
  for (int signum : signals) {
    auto* s = new State{{}, callback};
    uv_signal_init(loop.raw(), &s->handle);
    s->handle.data = s;
    uv_signal_start(&s->handle, [](uv_signal_t* h, int signum) {
      static_cast<State*>(h->data)->callback(signum);
    }, signum);
    // A signal watcher alone must not keep the loop alive.
    uv_unref(reinterpret_cast<uv_handle_t*>(&s->handle));
    states_.push_back(s);
  }
}

SignalWatcher::~SignalWatcher() {
  for (State* s : states_) {
    uv_signal_stop(&s->handle);
    uv_close(reinterpret_cast<uv_handle_t*>(&s->handle),
             [](uv_handle_t* h) { delete static_cast<State*>(h->data); });
  }
}

}  // namespace recado
