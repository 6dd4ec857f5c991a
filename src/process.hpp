#pragma once
// Runs a program and waits for it (no shell: arguments are passed as they are).
#include <string>
#include <vector>

namespace recado {

struct ProcessResult {
  int exit_code = -1;  // -1: could not start, 128+N: killed by signal N
  std::string output;  // stdout and stderr, interleaved
};

ProcessResult run_process(const std::vector<std::string>& argv);

// Raises this process's soft limit of open files to its hard limit: every connection and
// every provider call in flight holds a descriptor, and 1024 is a shell's habit, not a
// server's. Returns the soft limit now in force (-1 if it cannot be read).
long raise_open_file_limit();

}  // namespace recado
