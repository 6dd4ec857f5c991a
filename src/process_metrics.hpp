#pragma once
// The standard process series every Prometheus client library exports: CPU time, resident
// memory, open and allowed file descriptors, and the start time; read from /proc at scrape.
#include "src/metrics.hpp"

namespace recado {

void register_process_metrics(Metrics& metrics);

}  // namespace recado
