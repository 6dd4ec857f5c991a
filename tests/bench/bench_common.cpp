#include <sys/stat.h>
#include <unistd.h>

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
