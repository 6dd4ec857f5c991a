#pragma once
// A private PostgreSQL in a folder: what `recado dev` and the test harness run. It listens
// only on a unix socket inside its data folder and trusts local connections. PostgreSQL
// refuses to run as root, so as root its programs run as the `postgres` user.
#include <stdexcept>
#include <string>
#include <vector>

namespace recado {

struct LocalPostgresOptions {
  std::string data_dir;  // created when missing
  std::string bin_dir = "/usr/lib/postgresql/15/bin";
  bool durable = true;  // false: fsync off, for throwaway test clusters
  std::string database = "recado";  // created when missing
};

class LocalPostgres {
 public:
  // Initialises the cluster when the folder is new, starts it unless it already runs, and
  // creates the database. Throws std::runtime_error with PostgreSQL's own words on failure.
  explicit LocalPostgres(LocalPostgresOptions options);
  ~LocalPostgres();  // stop()
  LocalPostgres(const LocalPostgres&) = delete;
  LocalPostgres& operator=(const LocalPostgres&) = delete;

  // A libpq URL for `database` (default: the options' database).
  std::string url(const std::string& database = "") const;
  const std::string& data_dir() const { return data_dir_; }
  bool started_here() const { return started_here_; }
  // Stops the server (fast shutdown). Does nothing if it was already running before us.
  void stop();

 private:
  std::vector<std::string> as_postgres(std::vector<std::string> argv) const;

  LocalPostgresOptions options_;
  std::string data_dir_;  // absolute
  bool started_here_ = false;
};

}  // namespace recado
