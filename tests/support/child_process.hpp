#pragma once
// A real binary started by a test: its own environment, its output in a file, signals, and
// a bounded wait for its exit. The destructor kills what is still running.
#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace recado::test {

struct ExitStatus {
  int code = -1;    // exit code when it exited
  int signal = 0;   // the signal that killed it, or 0
  bool crashed() const { return signal == 6 || signal == 7 || signal == 8 || signal == 11; }
};

class ChildProcess {
 public:
  ChildProcess(std::vector<std::string> argv, std::map<std::string, std::string> env);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int signum);
  // Waits for the exit; nullopt when it still runs after `timeout`.
  std::optional<ExitStatus> wait(std::chrono::milliseconds timeout);
  bool running();
  // Everything it wrote to stdout and stderr so far.
  std::string output() const;

 private:
  pid_t pid_ = -1;
  std::string log_path_;
  std::optional<ExitStatus> exit_;
};

// Runs a command to completion (bounded) and returns its exit status and output.
struct CommandResult {
  int code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};
CommandResult run_command(std::vector<std::string> argv, std::map<std::string, std::string> env = {},
                          std::chrono::milliseconds timeout = std::chrono::seconds{60});

// A free TCP port on 127.0.0.1 (bound and released).
int free_port();

}  // namespace recado::test
