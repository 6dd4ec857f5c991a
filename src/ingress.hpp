#pragma once
// The ingress: HTTP routes over the HttpServer.
//   POST /v1/jobs       bearer token; 202 {"id":N} once committed, 200 {"id":N,"duplicate":true}
//                       when a live job already holds the dedup key, 4xx {"error":...} otherwise
//   *    /webhooks/...  the providers' webhooks (webhooks.hpp)
//   GET  /healthz       the process is alive
//   GET  /readyz        the database answers and its migrations are current
//   GET  /metrics       Prometheus text
// Loop thread only.
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "src/config.hpp"
#include "src/db_pool.hpp"
#include "src/enqueuer.hpp"
#include "src/http_server.hpp"
#include "src/metrics.hpp"
#include "src/webhooks.hpp"

namespace recado {

class Ingress {
 public:
  Ingress(EventLoop& loop, DbPool& pool, const IngressConfig& config, std::vector<TenantConfig> tenants,
          std::set<std::string> job_kinds, const Clock& clock, Metrics& metrics);
  // Listens on the configured host and port; returns the port.
  int start();
  // Stops accepting; in-flight requests are answered; then `closed`.
  void shutdown(std::function<void()> closed);
  // What a SIGHUP reload may change without dropping a request: the tenants' webhook
  // credentials and debounce, and the bearer token of POST /v1/jobs. Requests already
  // checked go on as they were; those handled from now on see the new values.
  void set_tenants(std::vector<TenantConfig> tenants);
  void set_api_token(Secret token);

 private:
  void handle(HttpRequest& request, HttpResponder responder);
  void post_job(HttpRequest& request, HttpResponder responder);
  void ready(HttpResponder responder);
  void answer(HttpResponder& responder, const char* route, HttpResponse response);

  DbPool& pool_;
  IngressConfig config_;
  std::set<std::string> job_kinds_;
  const Clock& clock_;
  Metrics& metrics_;
  std::map<std::pair<std::string_view, int>, Counter*> answered_;  // by route and status
  Enqueuer enqueuer_;
  Webhooks webhooks_;
  HttpServer server_;
};

}  // namespace recado
