#include "src/process_metrics.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "src/clock.hpp"

namespace recado {

namespace {

// User plus system CPU seconds (fields 14 and 15 of /proc/self/stat, in clock ticks).
double cpu_seconds() {
  std::ifstream in("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = stat.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i)
    if (i >= 14) ticks += std::stod(field);
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double resident_bytes() {
  std::ifstream in("/proc/self/statm");
  long size = 0, resident = 0;
  in >> size >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

double open_fds() {
  std::error_code ec;
  double n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec))
    ++n;
  return n;
}

double max_fds() {
  rlimit r{};
  return getrlimit(RLIMIT_NOFILE, &r) == 0 ? static_cast<double>(r.rlim_cur) : 0;
}

}  // namespace

void register_process_metrics(Metrics& metrics) {
  const double started = static_cast<double>(epoch_micros(system_now())) / 1e6;
  metrics.counter_reading("process_cpu_seconds_total", "Total user and system CPU time spent in seconds", cpu_seconds);
  metrics.gauge("process_resident_memory_bytes", "Resident memory size in bytes", resident_bytes);
  metrics.gauge("process_open_fds", "Number of open file descriptors", open_fds);
  metrics.gauge("process_max_fds", "Maximum number of open file descriptors", max_fds);
  metrics.gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds",
                [started] { return started; });
}

}  // namespace recado
