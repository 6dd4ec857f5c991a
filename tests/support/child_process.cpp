#include "tests/support/child_process.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace recado::test {

namespace {

std::atomic<int> g_serial{0};

std::string temp_path(const std::string& suffix) {
  return "/tmp/recado-child-" + std::to_string(getpid()) + "-" + std::to_string(g_serial++) + suffix;
}

pid_t spawn(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
            const std::string& out_path, const std::string& err_path) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    if (!env.count(kv.substr(0, kv.find('=')))) env_strings.push_back(kv);
  }
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp, args;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = err_path == out_path ? out : open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int in = open("/dev/null", O_RDONLY);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  return pid;
}

std::optional<ExitStatus> wait_pid(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      ExitStatus s;
      if (WIFEXITED(status)) s.code = WEXITSTATUS(status);
      if (WIFSIGNALED(status)) s.signal = WTERMSIG(status);
      return s;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

ChildProcess::ChildProcess(std::vector<std::string> argv, std::map<std::string, std::string> env)
    : log_path_(temp_path(".log")) {
  pid_ = spawn(argv, env, log_path_, log_path_);
}

ChildProcess::~ChildProcess() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    wait(std::chrono::seconds{10});
  }
  unlink(log_path_.c_str());
}

void ChildProcess::signal(int signum) { ::kill(pid_, signum); }

std::optional<ExitStatus> ChildProcess::wait(std::chrono::milliseconds timeout) {
  if (!exit_) exit_ = wait_pid(pid_, timeout);
  return exit_;
}

bool ChildProcess::running() { return !wait(std::chrono::milliseconds{0}).has_value(); }

std::string ChildProcess::output() const { return slurp(log_path_); }

CommandResult run_command(std::vector<std::string> argv, std::map<std::string, std::string> env,
                          std::chrono::milliseconds timeout) {
  const std::string out = temp_path(".out"), err = temp_path(".err");
  const pid_t pid = spawn(argv, env, out, err);
  auto status = wait_pid(pid, timeout);
  if (!status) {
    ::kill(pid, SIGKILL);
    status = wait_pid(pid, std::chrono::seconds{10});
  }
  CommandResult r{status ? (status->signal ? 128 + status->signal : status->code) : -1, slurp(out), slurp(err)};
  unlink(out.c_str());
  unlink(err.c_str());
  return r;
}

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace recado::test
