#include "src/server.hpp"

#include <csignal>
#include <memory>
#include <set>

#include "src/db_pool.hpp"
#include "src/event_loop.hpp"
#include "src/http_client.hpp"
#include "src/http_server.hpp"
#include "src/ingress.hpp"
#include "src/log.hpp"
#include "src/metrics.hpp"
#include "src/process.hpp"
#include "src/periodic.hpp"
#include "src/process_metrics.hpp"
#include "src/queue_stats.hpp"
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
  std::unique_ptr<HttpServer> metrics_server;
  if (roles.worker) {
    http = std::make_unique<CurlHttpClient>(loop, CurlHttpOptions{config.worker.http.ca_file});
    metrics.gauge("recado_provider_calls_in_flight", "Provider calls waiting for an answer",
                  [client = http.get()] { return static_cast<double>(client->in_flight()); });
    worker = std::make_unique<Worker>(loop, *pool, db_url, config.worker, kinds, clock, *http, metrics, config.tenants,
                                      periodic_jobs(config));
    worker->start();
    // Without the ingress (which serves them), a worker shows its metrics on a port of its own.
    if (!roles.ingress && config.worker.metrics_port > 0) {
      metrics_server = std::make_unique<HttpServer>(loop, HttpLimits{}, [&metrics](HttpRequest& req, HttpResponder r) {
        if (req.method == "GET" && req.path == "/metrics") {
          HttpResponse resp;
          resp.content_type = "text/plain; version=0.0.4";
          resp.body = metrics.render();
          return r.send(std::move(resp));
        }
        if (req.method == "GET" && req.path == "/healthz") return r.send(HttpResponse::json(200, R"({"status":"ok"})"));
        r.send(HttpResponse::error(404, "a worker serves GET /metrics and GET /healthz"));
      });
      metrics_server->listen(config.worker.metrics_host, config.worker.metrics_port);
    }
  }
  // What any process serving /metrics shows of the whole queue and of itself.
  register_process_metrics(metrics);
  std::unique_ptr<QueueStats> queue_stats;
  if (roles.ingress || metrics_server) {
    queue_stats = std::make_unique<QueueStats>(loop, *pool, metrics, config.worker.lease);
    queue_stats->start();
  }

  bool stopping = false;
  SignalWatcher signals(loop, {SIGINT, SIGTERM}, [&](int signum) {
    if (stopping) {
      log::warn("second signal: exiting now");
      std::_Exit(1);
    }
    stopping = true;
    if (queue_stats) queue_stats->stop();
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
  metrics_server.reset();
  queue_stats.reset();
  worker.reset();
  http.reset();
  ingress.reset();
  return 0;
}

}  // namespace recado
