#include "src/ingress.hpp"

#include "src/job_request.hpp"
#include "src/log.hpp"
#include "src/migrations.hpp"
#include "src/secure_compare.hpp"

namespace recado {

Ingress::Ingress(EventLoop& loop, DbPool& pool, const IngressConfig& config, std::vector<TenantConfig> tenants,
                 std::set<std::string> job_kinds, const Clock& clock, Metrics& metrics)
    : pool_(pool),
      config_(config),
      job_kinds_(std::move(job_kinds)),
      clock_(clock),
      metrics_(metrics),
      enqueuer_(loop, pool,
                {config.group_commit_max_batch, config.group_commit_committers, config.commit_timeout,
                 &metrics.histogram("recado_job_commit_batch_size", "Jobs committed per transaction (POST /v1/jobs)",
                                    size_buckets()),
                 &metrics.histogram("recado_job_commit_seconds", "Time to commit a batch of jobs (POST /v1/jobs)",
                                    latency_buckets())}),
      webhooks_(loop, pool, config, std::move(tenants), clock, metrics),
      server_(loop,
              HttpLimits{config.max_header_bytes, config.max_body_bytes, config.max_headers,
                         config.max_connections, config.idle_timeout, config.read_timeout},
              [this](HttpRequest& req, HttpResponder res) { handle(req, std::move(res)); }) {
  metrics.gauge("recado_http_connections", "Open client connections",
                [this] { return static_cast<double>(server_.connection_count()); });
}

int Ingress::start() {
  const int port = server_.listen(config_.host, config_.port);
  log::info("ingress listening", {{"address", config_.host + ":" + std::to_string(port)}});
  return port;
}

void Ingress::shutdown(std::function<void()> closed) { server_.close(std::move(closed)); }

void Ingress::set_tenants(std::vector<TenantConfig> tenants) { webhooks_.set_tenants(std::move(tenants)); }

void Ingress::set_api_token(Secret token) { config_.api_token = std::move(token); }

void Ingress::answer(HttpResponder& res, const char* route, HttpResponse response) {
  Counter*& counter = answered_[{route, response.status}];
  if (!counter)
    counter = &metrics_.counter("recado_http_requests_total", "Requests answered outside /webhooks, by route and status",
                                {{"route", route}, {"status", std::to_string(response.status)}});
  counter->add();
  res.send(std::move(response));
}

void Ingress::handle(HttpRequest& req, HttpResponder res) {
  if (req.path.starts_with("/webhooks/")) return webhooks_.handle(req, std::move(res));
  if (req.path == "/metrics") {
    if (req.method != "GET") return answer(res, "/metrics", HttpResponse::error(405, "use GET /metrics"));
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = metrics_.render();
    return answer(res, "/metrics", std::move(r));
  }
  if (req.path == "/v1/jobs") {
    if (req.method != "POST") return answer(res, "/v1/jobs", HttpResponse::error(405, "use POST /v1/jobs"));
    return post_job(req, std::move(res));
  }
  if (req.path == "/healthz") {
    if (req.method != "GET") return answer(res, "/healthz", HttpResponse::error(405, "use GET /healthz"));
    return answer(res, "/healthz", HttpResponse::json(200, "{\"status\":\"alive\"}"));
  }
  if (req.path == "/readyz") {
    if (req.method != "GET") return answer(res, "/readyz", HttpResponse::error(405, "use GET /readyz"));
    return ready(std::move(res));
  }
  answer(res, "(other)", HttpResponse::error(404, "no route for " + req.method + " " + req.path));
}

void Ingress::post_job(HttpRequest& req, HttpResponder res) {
  const std::string_view auth = req.header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (config_.api_token.empty()) {
    log::warn("job request refused: ingress.api_token is not configured", {{"remote", req.remote}});
    return answer(res, "/v1/jobs",
                  HttpResponse::error(401, "this ingress has no API token configured (ingress.api_token)"));
  }
  if (auth.substr(0, kBearer.size()) != kBearer ||
      !secure_equals(auth.substr(kBearer.size()), config_.api_token.value)) {
    log::warn("job request refused: bad or missing bearer token", {{"remote", req.remote}});
    return answer(res, "/v1/jobs", HttpResponse::error(401, "missing or wrong bearer token"));
  }
  auto parsed = parse_job_request(req.body, job_kinds_, clock_.now());
  if (auto* err = std::get_if<JobRequestError>(&parsed)) {
    return answer(res, "/v1/jobs",
                  HttpResponse::error(err->reason.rfind("unknown kind", 0) == 0 ? 422 : 400, err->reason));
  }
  enqueuer_.enqueue(std::move(std::get<NewJob>(parsed)), [this, res](DbResult<EnqueueResult> r) mutable {
    if (!r.ok()) {
      log::error("enqueue failed", {{"error", r.error.message}});
      return answer(res, "/v1/jobs", HttpResponse::error(503, "the job could not be stored; try again"));
    }
    if (r.value->inserted) {
      answer(res, "/v1/jobs", HttpResponse::json(202, "{\"id\":" + std::to_string(r.value->id) + "}"));
    } else {
      answer(res, "/v1/jobs",
             HttpResponse::json(200, "{\"id\":" + std::to_string(r.value->id) + ",\"duplicate\":true}"));
    }
  });
}

void Ingress::ready(HttpResponder res) {
  pool_.submit<int>(
      [](pqxx::connection& c) { return applied_migration_version(c); },
      [this, res](DbResult<int> r) mutable {
        if (!r.ok()) return answer(res, "/readyz", HttpResponse::error(503, "database unreachable: " + r.error.message));
        if (*r.value < latest_migration_version())
          return answer(res, "/readyz",
                        HttpResponse::error(503, "database schema at version " + std::to_string(*r.value) +
                                                     ", this build needs " +
                                                     std::to_string(latest_migration_version()) +
                                                     ": run recado migrate"));
        answer(res, "/readyz",
               HttpResponse::json(200, "{\"status\":\"ready\",\"schema_version\":" + std::to_string(*r.value) + "}"));
      });
}

}  // namespace recado
