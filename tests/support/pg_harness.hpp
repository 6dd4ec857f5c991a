#pragma once
// PostgreSQL for tests. The server is RECADO_TEST_DATABASE_URL's, or a private cluster this
// process starts on first use (initdb into a temp folder, unix socket, fsync off) and stops
// at exit. Each TestDatabase is a fresh, migrated database on that server.
#include <pqxx/pqxx>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace recado::test {

class TestDatabase {
 public:
  TestDatabase();   // creates and migrates
  ~TestDatabase();  // drops (forcing other connections off)
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }
  // Runs one statement and returns the first column of the first row as text ("" if null).
  std::string scalar(const std::string& sql) const;
  long long count(const std::string& sql) const { return std::stoll(scalar(sql)); }

 private:
  std::string name_;
  std::string url_;
  mutable std::unique_ptr<std::mutex> mutex_ = std::make_unique<std::mutex>();
  mutable std::unique_ptr<pqxx::connection> conn_;  // for scalar(), opened on first use
};

// Restarts the private PostgreSQL (fast shutdown: every connection is cut). False when the
// tests use RECADO_TEST_DATABASE_URL's server, which is not ours to restart.
bool restart_server();
// Stops / starts it again, separately (same folder, same socket).
bool stop_server();
bool start_server();

// Calls `done` until it returns true or `timeout` passes; returns its last answer.
bool poll_until(const std::function<bool()>& done,
                std::chrono::milliseconds timeout = std::chrono::seconds{20});

// Listens, on a connection of its own, for the wake-ups the queue sends its workers
// (NOTIFY recado_jobs, the payload a queue name). Listening starts in the constructor.
class WakeupListener {
 public:
  explicit WakeupListener(const std::string& url);
  ~WakeupListener();
  // Whether a wake-up for `queue` arrives within `timeout` (or has arrived).
  bool woken(const std::string& queue, std::chrono::milliseconds timeout = std::chrono::seconds{5});

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace recado::test
