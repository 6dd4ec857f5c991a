#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <iostream>
#include <pqxx/pqxx>

#include "src/migrations.hpp"
#include "tests/bench/bench.hpp"

namespace recado::bench {

BenchDatabase::BenchDatabase() {
  if (const char* env = std::getenv("RECADO_BENCH_DATABASE_URL"); env && *env) {
    url_ = env;
  } else {
    char tmpl[] = "/tmp/recado-bench-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    chmod(dir_.c_str(), 0755);
    pg_ = std::make_unique<LocalPostgres>(LocalPostgresOptions{dir_ + "/pg", "/usr/lib/postgresql/15/bin", true, "recado_bench"});
    url_ = pg_->url();
    socket_dir_ = dir_ + "/pg";
  }
  pqxx::connection conn(url_);
  {
    pqxx::nontransaction tx(conn);
    tx.exec("DROP SCHEMA IF EXISTS recado CASCADE");
    tx.exec("DROP SCHEMA IF EXISTS bench CASCADE");
  }
  migrate(conn);
  pqxx::nontransaction tx(conn);
  auto settings = tx.exec("SELECT current_setting('fsync'), current_setting('synchronous_commit')");
  std::cout << "database: PostgreSQL " << tx.exec("SHOW server_version")[0][0].as<std::string>()
            << ", fsync " << settings[0][0].as<std::string>() << ", synchronous_commit "
            << settings[0][1].as<std::string>() << "\n";
}

std::string BenchDatabase::warm_wal(int megabytes) {
  if (!pg_) return "the database's WAL as it is";
  const auto started = std::chrono::steady_clock::now();
  pqxx::connection conn(url_);
  pqxx::nontransaction tx(conn);
  const auto before = tx.exec("SELECT pg_current_wal_lsn()")[0][0].as<std::string>();
  // A row of ~1 kB writes ~1.1 kB of WAL.
  tx.exec("CREATE TABLE public.recado_wal_warmup AS SELECT repeat('w', 1000) AS filler FROM generate_series(1, " +
          std::to_string(megabytes * 950) + ")");
  tx.exec("DROP TABLE public.recado_wal_warmup");
  const auto written = tx.exec("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '" + before + "')")[0][0].as<double>();
  tx.exec("CHECKPOINT");
  const auto ready = tx.exec("SELECT count(*) FROM pg_ls_waldir() WHERE name > pg_walfile_name(pg_current_wal_lsn()) "
                             "AND name ~ '^[0-9A-F]{24}$'")[0][0].as<long>();
  return fmt::format("warmed: {:.0f} MB of WAL written and checkpointed in {:.1f} s, {} segments ({} MB) ready for reuse",
                     written / (1 << 20),
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(), ready,
                     ready * 16);
}

BenchDatabase::~BenchDatabase() {
  if (pg_) {
    pg_->stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

void summary(const std::string& name, double value, const std::string& unit, double ratio,
             const std::string& reference, const std::string& goal, bool pass) {
  std::cout << fmt::format("bench {}: {:.{}f} {}; {:.2f}x {}; target {}: {}\n", name, value,
                           value < 100 ? 2 : 0, unit, ratio, reference, goal, pass ? "PASS" : "MISS")
            << std::flush;
}

ScratchDir::ScratchDir(const std::string& name) {
  std::string tmpl = "/tmp/recado-bench-" + name + "-XXXXXX";
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace recado::bench
