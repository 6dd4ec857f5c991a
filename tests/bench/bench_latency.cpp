#include "tests/bench/bench.hpp"
namespace recado::bench {
int latency(const Options&) { return 1; }
}
