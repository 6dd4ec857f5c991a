#include "src/server.hpp"

#include <csignal>
#include <memory>
#include <set>

#include "src/db_pool.hpp"
#include "src/event_loop.hpp"
#include "src/http_client.hpp"
#include "src/ingress.hpp"
#include "src/log.hpp"
#include "src/metrics.hpp"
#include "src/process.hpp"
#include "src/worker.hpp"

namespace recado {

int serve(const Config& config, Roles roles, const std::string& db_url, const JobKindTable& kinds,
          std::function<void(int)> on_listening) {
  std::signal(SIGPIPE, SIG_IGN);
  raise_open_file_limit();
  SystemClock clock;
  EventLoop loop;
  Metrics metrics;
  auto pool = std::make_unique<DbPool>(loop, db_url, config.database.pool_size);
  std::unique_ptr<Ingress> ingress;
  std::unique_ptr<CurlHttpClient> http;
  std::unique_ptr<Worker> worker;
  if (roles.ingress) {
    std::set<std::string> names;
    for (const JobKind& k : kinds) names.insert(std::string(k.name));
    ingress = std::make_unique<Ingress>(loop, *pool, config.ingress, config.tenants, names, clock, metrics);
    const int port = ingress->start();
    if (on_listening) on_listening(port);
  }
  if (roles.worker) {
    http = std::make_unique<CurlHttpClient>(loop, CurlHttpOptions{config.worker.http.ca_file});
    worker = std::make_unique<Worker>(loop, *pool, db_url, config.worker, kinds, clock, *http, metrics);
    worker->start();
  }

  bool stopping = false;
  SignalWatcher signals(loop, {SIGINT, SIGTERM}, [&](int signum) {
    if (stopping) {
      log::warn("second signal: exiting now");
      std::_Exit(1);
    }
    stopping = true;
    log::info("shutting down", {{"signal", signum == SIGINT ? "SIGINT" : "SIGTERM"}});
    auto stop_worker = [&] {
      if (worker) {
        worker->shutdown([&] { loop.stop(); });
      } else {
        loop.stop();
      }
    };
    if (ingress) {
      ingress->shutdown(stop_worker);
    } else {
      stop_worker();
    }
  });
  loop.run();
  pool.reset();  // joins the database threads first: nothing they run may outlive its owner
  worker.reset();
  http.reset();
  ingress.reset();
  return 0;
}

}  // namespace recado
