#pragma once
// The ingress: HTTP routes over the HttpServer, jobs in through the Enqueuer.
//   POST /v1/jobs  bearer token; 202 {"id":N} once committed, 200 {"id":N,"duplicate":true}
//                  when a live job already holds the dedup key, 4xx {"error":...} otherwise
//   GET  /healthz  the process is alive
//   GET  /readyz   the database answers and its migrations are current
// Loop thread only.
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "src/config.hpp"
#include "src/db_pool.hpp"
#include "src/enqueuer.hpp"
#include "src/http_server.hpp"

namespace recado {

class Ingress {
 public:
  Ingress(EventLoop& loop, DbPool& pool, const IngressConfig& config,
          std::set<std::string> job_kinds, const Clock& clock);
  // Listens on the configured host and port; returns the port.
  int start();
  // Stops accepting; in-flight requests are answered; then `closed`.
  void shutdown(std::function<void()> closed);

 private:
  void handle(HttpRequest& request, HttpResponder responder);
  void post_job(HttpRequest& request, HttpResponder responder);
  void ready(HttpResponder responder);

  DbPool& pool_;
  IngressConfig config_;
  std::set<std::string> job_kinds_;
  const Clock& clock_;
  Enqueuer enqueuer_;
  HttpServer server_;
};

}  // namespace recado
