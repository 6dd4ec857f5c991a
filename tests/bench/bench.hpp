#pragma once
#include <memory>
#include <string>

#include "src/local_postgres.hpp"

namespace recado::bench {

struct Options {
  int jobs = 0;        // 0: the benchmark's default
  int seconds = 0;     // 0: the benchmark's default
  bool peers = false;  // queue: also graphile-worker on the same database (tests/bench/peers.hpp)
};

int queue(const Options& options);
int enqueue(const Options& options);
int latency(const Options& options);
int ingest(const Options& options);
int outbound(const Options& options);

// A durable PostgreSQL (fsync and synchronous_commit on) in a temp folder, or
// RECADO_BENCH_DATABASE_URL's server; a fresh migrated database.
class BenchDatabase {
 public:
  BenchDatabase();
  ~BenchDatabase();
  const std::string& url() const { return url_; }
  const std::string& socket_dir() const { return socket_dir_; }
  // Writes `megabytes` of WAL and checkpoints, so that a run reuses WAL segments as a server
  // that has been running does, instead of creating and zero-filling a 16 MB segment every
  // second under load (a stall of every commit meanwhile). Only on the private cluster; a
  // server of RECADO_BENCH_DATABASE_URL is as warm as it is. Returns what it did.
  std::string warm_wal(int megabytes);

 private:
  std::string dir_;
  std::unique_ptr<LocalPostgres> pg_;
  std::string url_;
  std::string socket_dir_;
};

// A fresh folder under /tmp named after `name`, removed with everything in it.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The summary line.
void summary(const std::string& name, double value, const std::string& unit, double ratio,
             const std::string& reference, const std::string& goal, bool pass);

}  // namespace recado::bench
