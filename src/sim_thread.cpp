#include "src/sim_thread.hpp"

#include <future>
#include <memory>

namespace recado {

SimulatorThread::SimulatorThread(SimulatorOptions options, std::string host, int port)
    : host_(std::move(host)) {
  // Shared with the thread: this constructor may return (and its locals die) while
  // set_value is still finishing over there.
  auto ready = std::make_shared<std::promise<int>>();
  auto bound = ready->get_future();
  thread_ = std::thread([this, options = std::move(options), port, ready]() mutable {
    EventLoop loop;
    std::unique_ptr<Simulator> sim;
    try {
      sim = std::make_unique<Simulator>(loop, std::move(options));
      const int p = sim->listen(host_, port);
      loop_ = &loop;
      sim_ = sim.get();
      ready->set_value(p);
    } catch (...) {
      ready->set_exception(std::current_exception());
      return;
    }
    loop.run();
    sim.reset();
  });
  try {
    port_ = bound.get();
  } catch (...) {
    thread_.join();
    throw;
  }
}

SimulatorThread::~SimulatorThread() {
  stop();
}

void SimulatorThread::stop() {
  if (!thread_.joinable()) return;
  EventLoop* loop = loop_;
  Simulator* sim = sim_;
  loop->post([loop, sim] { sim->close([loop] { loop->stop(); }); });
  thread_.join();
}

std::string SimulatorThread::url(std::string_view path) const {
  return "http://" + host_ + ":" + std::to_string(port_) + std::string(path);
}

void SimulatorThread::run(const std::function<void(Simulator&)>& task) {
  std::promise<void> done;
  auto finished = done.get_future();
  Simulator* sim = sim_;
  loop_->post([&] {
    try {
      task(*sim);
      done.set_value();
    } catch (...) {
      done.set_exception(std::current_exception());
    }
  });
  finished.get();
}

}  // namespace recado
