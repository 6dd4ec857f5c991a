// recado_bench: the performance targets of the queue, each measured next to a reference
// taken in the same run on the same database (this machine's disk speed drifts).
//   recado_bench queue     drain 100,000 no-op jobs with `recado worker` vs the same claim
//                          and completion SQL issued back to back with no work in between;
//                          with --peers, also vs graphile-worker on the same database (needs
//                          node and npm; installed into a scratch folder under /tmp)
//   recado_bench enqueue   POST /v1/jobs at 64 connections (wrk) vs pgbench doing one INSERT
//                          per transaction at 64 clients into an equivalent table
//   recado_bench latency   enqueue-to-handler-start for 1,000 jobs 10 ms apart on idle
//                          workers, next to PostgreSQL's own INSERT+NOTIFY round trip
//   recado_bench ingest    Cloud API and Evolution webhooks (signed, 5,000 conversations) at
//                          64 connections (wrk) vs nginx answering 202 to the same requests;
//                          every acknowledged webhook committed exactly once
//   recado_bench outbound  1,000 jobs each making one call to the simulator, which answers
//                          after 1 s, on one worker: throughput vs in-flight ÷ latency, and
//                          the worker's peak RSS
// Each ends with one line per target:
//   bench <name>: <value> <unit>; <ratio>x <reference>; target <goal>: PASS|MISS
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "tests/bench/bench.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: recado_bench queue|enqueue|latency|ingest|outbound [--jobs N] [--seconds N] [--peers]\n";
    return 2;
  }
  recado::bench::Options options;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--jobs" && i + 1 < argc) {
      options.jobs = std::stoi(argv[++i]);
    } else if (arg == "--seconds" && i + 1 < argc) {
      options.seconds = std::stoi(argv[++i]);
    } else if (arg == "--peers") {
      options.peers = true;
    } else {
      std::cerr << "recado_bench: unknown argument '" << arg << "'\n";
      return 2;
    }
  }
  try {
    const std::string name = argv[1];
    if (options.peers && name != "queue") {
      std::cerr << "recado_bench: --peers is only for the queue benchmark\n";
      return 2;
    }
    if (name == "queue") return recado::bench::queue(options);
    if (name == "enqueue") return recado::bench::enqueue(options);
    if (name == "latency") return recado::bench::latency(options);
    if (name == "ingest") return recado::bench::ingest(options);
    if (name == "outbound") return recado::bench::outbound(options);
    std::cerr << "recado_bench: unknown benchmark '" << name << "' (queue, enqueue, latency, ingest, outbound)\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "recado_bench: " << e.what() << "\n";
    return 1;
  }
}
