#include "tests/support/pg_harness.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "src/local_postgres.hpp"
#include "src/migrations.hpp"

namespace recado::test {

namespace {

// Replaces the database name in a libpq URL.
std::string with_database(const std::string& url, const std::string& db) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return url + " dbname=" + db;  // key=value form
  const auto slash = url.find('/', scheme + 3);
  const auto query = url.find('?', scheme + 3);
  const std::string head = url.substr(0, slash == std::string::npos ? query : slash);
  const std::string tail = query == std::string::npos ? "" : url.substr(query);
  return head + "/" + db + tail;
}

class Server {
 public:
  static Server& get() {
    static Server server;
    return server;
  }
  // A private cluster is thrown away whole at exit: its databases need no dropping (and
  // DROP DATABASE forces a checkpoint on PostgreSQL 15, a third of a second per test).
  bool throwaway() const { return local_ != nullptr; }
  bool stop_cluster() {
    std::lock_guard lock(mutex_);
    if (!local_) return false;
    local_->stop();
    return true;
  }
  bool start_cluster() {
    std::lock_guard lock(mutex_);
    if (!local_) return false;
    local_ = std::make_unique<LocalPostgres>(options_);
    return true;
  }
  std::string url(const std::string& db) {
    std::lock_guard lock(mutex_);
    if (base_url_.empty()) start();
    return with_database(base_url_, db);
  }
  ~Server() {
    if (local_) {
      local_->stop();
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

 private:
  void start() {
    if (const char* env = std::getenv("RECADO_TEST_DATABASE_URL"); env && *env) {
      base_url_ = env;
      return;
    }
    char tmpl[] = "/tmp/recado-test-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    chmod(dir_.c_str(), 0755);
    options_ = LocalPostgresOptions{dir_ + "/pg", "/usr/lib/postgresql/15/bin", false, "postgres"};
    local_ = std::make_unique<LocalPostgres>(options_);
    base_url_ = local_->url("postgres");
  }
  std::mutex mutex_;
  std::string base_url_;
  std::string dir_;
  LocalPostgresOptions options_;
  std::unique_ptr<LocalPostgres> local_;
};

std::atomic<int> g_counter{0};

}  // namespace

TestDatabase::TestDatabase() {
  name_ = "recado_t_" + std::to_string(getpid()) + "_" + std::to_string(g_counter++);
  {
    pqxx::connection admin(Server::get().url("postgres"));
    pqxx::nontransaction tx(admin);
    tx.exec("DROP DATABASE IF EXISTS " + name_);
    tx.exec("CREATE DATABASE " + name_);
  }
  url_ = Server::get().url(name_);
  pqxx::connection conn(url_);
  migrate(conn);
}

TestDatabase::~TestDatabase() {
  conn_.reset();
  if (Server::get().throwaway()) return;
  try {
    pqxx::connection admin(Server::get().url("postgres"));
    pqxx::nontransaction tx(admin);
    tx.exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (...) {
  }
}

std::string TestDatabase::scalar(const std::string& sql) const {
  std::lock_guard lock(*mutex_);
  for (int attempt = 0;; ++attempt) {
    try {
      if (!conn_ || !conn_->is_open()) conn_ = std::make_unique<pqxx::connection>(url_);
      pqxx::nontransaction tx(*conn_);
      auto r = tx.exec(sql);
      if (r.empty() || r[0][0].is_null()) return "";
      return r[0][0].as<std::string>();
    } catch (const pqxx::broken_connection&) {
      conn_.reset();  // the server restarted under us: once more on a new connection
      if (attempt > 0) throw;
    }
  }
}

bool stop_server() { return Server::get().stop_cluster(); }
bool start_server() { return Server::get().start_cluster(); }
bool restart_server() { return stop_server() && start_server(); }

bool poll_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
}

struct WakeupListener::State {
  struct Receiver : pqxx::notification_receiver {
    std::set<std::string> got;
    explicit Receiver(pqxx::connection_base& c) : pqxx::notification_receiver(c, "recado_jobs") {}
    void operator()(const std::string& payload, int) override { got.insert(payload); }
  };
  explicit State(const std::string& url) : conn(url), receiver(conn) { conn.get_notifs(); }
  pqxx::connection conn;
  Receiver receiver;
};

WakeupListener::WakeupListener(const std::string& url) : state_(std::make_unique<State>(url)) {}
WakeupListener::~WakeupListener() = default;

bool WakeupListener::woken(const std::string& queue, std::chrono::milliseconds timeout) {
  return poll_until([&] {
    state_->conn.get_notifs();
    return state_->receiver.got.count(queue) > 0;
  }, timeout);
}

}  // namespace recado::test
