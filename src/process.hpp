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

}  // namespace recado
