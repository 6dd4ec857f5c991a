#include "src/webhooks.hpp"

#include "src/log.hpp"
#include "src/secure_compare.hpp"
#include "src/webhook_auth.hpp"
#include "src/webhook_decode.hpp"

namespace recado {

namespace {

constexpr const char* kUnknown = "(unknown)";  // label for names not in the configuration

// The committers' store. They may outlive the Webhooks, so they share the insert mode.
auto store_inbound() {
  return [mode = std::make_shared<inbound_store::InsertMode>()](
             pqxx::connection& conn, const std::vector<InboundWrite>& writes,
             std::set<std::string>& wake) -> std::vector<std::optional<InboundWritten>> {
    auto written = inbound_store::store(conn, writes, wake, *mode);
    return {written.begin(), written.end()};
  };
}

// The value of `key` in an undecoded query string, percent-decoded; "" when absent.
std::string query_value(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) != key) continue;
    std::string out;
    std::string_view v = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    for (size_t i = 0; i < v.size(); ++i) {
      if (v[i] == '+') {
        out += ' ';
      } else if (v[i] == '%' && i + 2 < v.size() && std::isxdigit(static_cast<unsigned char>(v[i + 1])) &&
                 std::isxdigit(static_cast<unsigned char>(v[i + 2]))) {
        out += static_cast<char>(std::stoi(std::string(v.substr(i + 1, 2)), nullptr, 16));
        i += 2;
      } else {
        out += v[i];
      }
    }
    return out;
  }
  return {};
}

}  // namespace

Webhooks::Webhooks(EventLoop& loop, DbPool& pool, const IngressConfig& config, std::vector<TenantConfig> tenants,
                   const Clock& clock, Metrics& metrics)
    : tenants_(std::move(tenants)),
      clock_(clock),
      metrics_(metrics),
      commit_(loop, pool,
              {config.group_commit_max_batch, config.group_commit_committers, config.commit_timeout,
               &metrics.histogram("recado_webhook_commit_batch_size", "Webhooks committed per transaction",
                                  size_buckets()),
               &metrics.histogram("recado_webhook_commit_seconds", "Time to commit a batch of webhooks",
                                  latency_buckets())},
              store_inbound()) {}

void Webhooks::set_tenants(std::vector<TenantConfig> tenants) { tenants_ = std::move(tenants); }

void Webhooks::answer(HttpResponder& res, const std::string& tenant, const std::string& provider,
                      HttpResponse response) {
  Counter*& counter = answered_[{tenant, provider, response.status}];
  if (!counter)
    counter = &metrics_.counter("recado_webhook_requests_total", "Webhook requests answered, by tenant, provider and status",
                                {{"tenant", tenant}, {"provider", provider}, {"status", std::to_string(response.status)}});
  counter->add();
  res.send(std::move(response));
}

void Webhooks::handle(HttpRequest& req, HttpResponder res) {
  // /webhooks/{tenant}/{provider}[/{token}]
  std::string_view rest = std::string_view(req.path).substr(std::string_view("/webhooks/").size());
  std::vector<std::string_view> parts;
  while (!rest.empty() && parts.size() < 4) {
    const auto slash = rest.find('/');
    parts.push_back(rest.substr(0, slash));
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  }
  if (parts.size() < 2 || parts.size() > 3 || !rest.empty())
    return answer(res, kUnknown, kUnknown,
                  HttpResponse::error(404, "webhook paths are /webhooks/{tenant}/{provider}[/{token}]"));
  const TenantConfig* tenant = nullptr;
  for (const auto& t : tenants_)
    if (t.id == parts[0]) tenant = &t;
  const auto provider = parse_provider(parts[1]);
  const std::string provider_label = provider ? std::string(to_string(*provider)) : kUnknown;
  if (!tenant) return answer(res, kUnknown, provider_label, HttpResponse::error(404, "unknown tenant"));
  if (!provider)
    return answer(res, tenant->id, kUnknown,
                  HttpResponse::error(404, "unknown provider (evolution, whaticket, cloudapi, calcom, chatwoot)"));
  const WebhookConfig* hook = tenant->webhook(*provider);
  if (!hook)
    return answer(res, tenant->id, provider_label,
                  HttpResponse::error(404, "this tenant takes no " + provider_label + " webhooks"));

  if (req.method == "GET" && *provider == Provider::cloudapi) return verify_handshake(req, *tenant, res);
  if (req.method != "POST") return answer(res, tenant->id, provider_label, HttpResponse::error(405, "use POST"));

  const std::string_view path_token = parts.size() == 3 ? parts[2] : std::string_view{};
  if (auto failure = check_webhook_auth(*hook, req, path_token, clock_.now())) {
    metrics_
        .counter("recado_webhook_auth_failures_total", "Webhooks refused for their credentials",
                 {{"tenant", tenant->id}, {"provider", provider_label}})
        .add();
    log::warn("webhook refused",
              {{"tenant", tenant->id}, {"provider", provider_label}, {"remote", req.remote}, {"reason", failure->reason}});
    return answer(res, tenant->id, provider_label, HttpResponse::error(failure->status, failure->reason));
  }

  auto decoded = decode_webhook(*provider, req.body);
  if (auto* err = std::get_if<WebhookError>(&decoded)) {
    log::warn("webhook refused", {{"tenant", tenant->id}, {"provider", provider_label}, {"reason", err->reason}});
    return answer(res, tenant->id, provider_label, HttpResponse::error(err->status, err->reason));
  }
  auto& webhook = std::get<DecodedWebhook>(decoded);
  if (webhook.events.empty()) {
    if (log::enabled(log::Level::debug))
      log::debug("webhook ignored", {{"tenant", tenant->id}, {"provider", provider_label}, {"reason", webhook.ignored}});
    return answer(res, tenant->id, provider_label,
                  HttpResponse::json(200, "{\"ignored\":\"" + log::json_escape(webhook.ignored) + "\"}"));
  }

  InboundWrite write{tenant->id, *provider, tenant->debounce,
                     std::make_shared<const std::string>(std::move(req.body)), std::move(webhook.events)};
  commit_.submit(std::move(write), [this, res, tenant = tenant->id, provider_label](DbResult<InboundWritten> r) mutable {
    if (!r.ok()) {
      log::error("webhook not stored", {{"tenant", tenant}, {"provider", provider_label}, {"error", r.error.message}});
      HttpResponse busy = HttpResponse::error(503, "the webhook could not be stored; send it again");
      busy.headers.emplace_back("Retry-After", "5");
      return answer(res, tenant, provider_label, std::move(busy));
    }
    EventCounters& counters = events_[{tenant, provider_label}];
    if (!counters.stored) {
      counters.stored = &metrics_.counter("recado_webhook_events_total", "Webhook events stored",
                                          {{"tenant", tenant}, {"provider", provider_label}});
      counters.duplicates = &metrics_.counter("recado_webhook_duplicates_total", "Webhook events already stored (replays)",
                                              {{"tenant", tenant}, {"provider", provider_label}});
    }
    if (r.value->duplicates) counters.duplicates->add(r.value->duplicates);
    if (r.value->stored) counters.stored->add(r.value->stored);
    answer(res, tenant, provider_label,
           HttpResponse::json(200, "{\"accepted\":" + std::to_string(r.value->stored) +
                                       ",\"duplicates\":" + std::to_string(r.value->duplicates) + "}"));
  });
}

void Webhooks::verify_handshake(const HttpRequest& req, const TenantConfig& tenant, HttpResponder& res) {
  const WebhookConfig& hook = *tenant.webhook(Provider::cloudapi);
  const std::string mode = query_value(req.query, "hub.mode");
  const std::string challenge = query_value(req.query, "hub.challenge");
  const std::string token = query_value(req.query, "hub.verify_token");
  if (hook.verify_token.empty())
    return answer(res, tenant.id, "cloudapi", HttpResponse::error(403, "no verify_token is configured"));
  if (mode != "subscribe" || !secure_equals(token, hook.verify_token.value)) {
    log::warn("webhook verification refused", {{"tenant", tenant.id}, {"provider", "cloudapi"}});
    return answer(res, tenant.id, "cloudapi", HttpResponse::error(403, "verification refused"));
  }
  // The challenge is echoed as text: keep it to what Meta sends, nothing a browser would run.
  bool plain = !challenge.empty() && challenge.size() <= 256;
  for (char c : challenge) plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
  if (!plain) return answer(res, tenant.id, "cloudapi", HttpResponse::error(400, "hub.challenge must be a plain token"));
  HttpResponse ok;
  ok.status = 200;
  ok.content_type = "text/plain";
  ok.body = challenge;
  answer(res, tenant.id, "cloudapi", std::move(ok));
}

}  // namespace recado
