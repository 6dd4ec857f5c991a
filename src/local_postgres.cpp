#include "src/local_postgres.hpp"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <pqxx/pqxx>

#include "src/log.hpp"
#include "src/process.hpp"

namespace recado {

namespace fs = std::filesystem;

LocalPostgres::LocalPostgres(LocalPostgresOptions options) : options_(std::move(options)) {
  data_dir_ = fs::absolute(options_.data_dir).lexically_normal().string();
  if (data_dir_.size() + 20 > 107)
    throw std::runtime_error("PostgreSQL data folder path too long for its unix socket (" +
                             data_dir_ + "); choose a shorter dev.data_dir");
  const std::string bin = options_.bin_dir + "/";
  if (!fs::exists(bin + "postgres"))
    throw std::runtime_error("no PostgreSQL server in " + options_.bin_dir +
                             " (install postgresql-15, or run scripts/bootstrap)");
  const bool as_root = geteuid() == 0;
  if (!fs::exists(data_dir_ + "/PG_VERSION")) {
    fs::create_directories(data_dir_);
    if (as_root) {
      passwd* pw = getpwnam("postgres");
      if (!pw) throw std::runtime_error("running as root needs the 'postgres' user (install postgresql-15)");
      if (chown(data_dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0)
        throw std::runtime_error("cannot hand " + data_dir_ + " to the postgres user");
    }
    chmod(data_dir_.c_str(), 0700);
    std::vector<std::string> initdb = {bin + "initdb", "-D", data_dir_, "-U", "postgres",
                                       "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8",
                                       "--no-instructions"};
    if (!options_.durable) initdb.push_back("--no-sync");
    auto r = run_process(as_postgres(initdb));
    if (r.exit_code != 0)
      throw std::runtime_error("initdb failed in " + data_dir_ + ":\n" + r.output);
    log::info("initialised a PostgreSQL cluster", {{"data_dir", data_dir_}});
  }
  auto status = run_process(as_postgres({bin + "pg_ctl", "-D", data_dir_, "status"}));
  if (status.exit_code != 0) {
    std::string settings = "-c listen_addresses='' -c unix_socket_directories='" + data_dir_ +
                           "' -c max_connections=300";
    if (!options_.durable)
      settings += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off";
    auto r = run_process(as_postgres({bin + "pg_ctl", "-D", data_dir_, "-l",
                                      data_dir_ + "/postgres.log", "-w", "-t", "60", "-o",
                                      settings, "start"}));
    if (r.exit_code != 0) {
      std::string tail;
      if (FILE* f = fopen((data_dir_ + "/postgres.log").c_str(), "r")) {
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0) tail.append(buf, n);
        fclose(f);
        if (tail.size() > 2000) tail = tail.substr(tail.size() - 2000);
      }
      throw std::runtime_error("PostgreSQL did not start in " + data_dir_ + ":\n" + r.output + tail);
    }
    started_here_ = true;
  }
  pqxx::connection admin(url("postgres"));
  pqxx::nontransaction tx(admin);
  if (tx.exec_params("SELECT 1 FROM pg_database WHERE datname = $1", options_.database).empty())
    tx.exec("CREATE DATABASE " + tx.quote_name(options_.database));
}

std::string LocalPostgres::url(const std::string& database) const {
  return "postgresql:///" + (database.empty() ? options_.database : database) + "?host=" +
         data_dir_ + "&user=postgres";
}

LocalPostgres::~LocalPostgres() { stop(); }

void LocalPostgres::stop() {
  if (!started_here_) return;
  run_process(as_postgres({options_.bin_dir + "/pg_ctl", "-D", data_dir_, "-m", "fast", "-w", "stop"}));
  started_here_ = false;
}

std::vector<std::string> LocalPostgres::as_postgres(std::vector<std::string> argv) const {
  if (geteuid() != 0) return argv;
  argv.insert(argv.begin(), {"runuser", "-u", "postgres", "--"});
  return argv;
}

}  // namespace recado
