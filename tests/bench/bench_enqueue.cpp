#include "tests/bench/bench.hpp"
namespace recado::bench {
int enqueue(const Options&) { return 1; }
}
