#pragma once
// Peers for `recado_bench queue --peers`: other job queues measured on the same database in
// the same run.
#include <string>

#include "tests/bench/bench.hpp"

namespace recado::bench {

// graphile-worker (installed with npm into a scratch folder under /tmp at run time) draining
// `n` no-op jobs on `db`; prints its rate at a few concurrencies and ends with the summary
// line for recado's `recado_rate` against its best. Returns the exit code: non-zero when node
// or npm is missing or graphile-worker could not be installed or run.
int graphile_peer(const BenchDatabase& db, int n, double recado_rate);

}  // namespace recado::bench
