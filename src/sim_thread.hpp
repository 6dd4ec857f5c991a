#pragma once
// A Simulator on a thread of its own, with its own event loop: for tests, benchmarks and
// anything else that wants the providers simulated beside blocking code. Listens on
// 127.0.0.1 on a free port (or the one given).
#include <functional>
#include <string>
#include <string_view>
#include <thread>

#include "src/event_loop.hpp"
#include "src/sim.hpp"

namespace recado {

class SimulatorThread {
 public:
  // Starts the thread and waits until the simulator listens; throws if it cannot.
  explicit SimulatorThread(SimulatorOptions options = {}, std::string host = "127.0.0.1",
                           int port = 0);
  ~SimulatorThread();  // stop()
  SimulatorThread(const SimulatorThread&) = delete;
  SimulatorThread& operator=(const SimulatorThread&) = delete;

  // Closes the simulator (Simulator::close), stops the loop and joins; idempotent.
  void stop();
  int port() const { return port_; }
  // "http://127.0.0.1:PORT" + path
  std::string url(std::string_view path = "") const;
  // Runs `task` with the simulator on its loop thread and waits for it to return.
  void run(const std::function<void(Simulator&)>& task);

 private:
  std::thread thread_;
  EventLoop* loop_ = nullptr;
  Simulator* sim_ = nullptr;
  std::string host_;
  int port_ = 0;
};

}  // namespace recado
