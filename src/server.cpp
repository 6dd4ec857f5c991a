#include "src/server.hpp"

#include <csignal>
#include <functional>
#include <memory>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

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
#include "src/sd_notify.hpp"
#include "src/worker.hpp"

namespace recado {

namespace {

// ---- What a SIGHUP reload compares --------------------------------------------------------
// Parts of a configuration are compared as dump_config() text of a Config holding that part
// alone (defaults elsewhere, so two texts differ only where the part does), plus the values
// of the part's secrets, which the dump masks. Neither text is ever logged.

using Pick = std::function<void(const Config& from, Config& to)>;

std::string part_text(const Config& c, const Pick& pick) {
  Config only;
  pick(c, only);
  return dump_config(only);
}

bool part_differs(const Config& a, const Config& b, const Pick& pick) {
  return part_text(a, pick) != part_text(b, pick);
}

void add_secret(std::string& out, const Secret& s) {
  out += s.value;
  out += '\0';
}

// One part of a tenant: what `copy` takes of it, and its secrets.
struct TenantPart {
  const char* name;
  void (*copy)(const TenantConfig& from, TenantConfig& to);
  void (*secrets)(const TenantConfig& t, std::string& out);
};

constexpr TenantPart kTenantParts[] = {
    {"webhooks", [](const TenantConfig& f, TenantConfig& t) { t.webhooks = f.webhooks; },
     [](const TenantConfig& t, std::string& out) {
       for (const WebhookConfig& w : t.webhooks) {
         add_secret(out, w.token);
         add_secret(out, w.secret);
         add_secret(out, w.jwt_secret);
         add_secret(out, w.verify_token);
       }
     }},
    {"debounce", [](const TenantConfig& f, TenantConfig& t) { t.debounce = f.debounce; },
     [](const TenantConfig&, std::string&) {}},
    {"llm", [](const TenantConfig& f, TenantConfig& t) { t.llm = f.llm; },
     [](const TenantConfig& t, std::string& out) { add_secret(out, t.llm.api_key); }},
    {"gateway", [](const TenantConfig& f, TenantConfig& t) { t.gateway = f.gateway; },
     [](const TenantConfig& t, std::string& out) { add_secret(out, t.gateway.token); }},
    {"business_hours", [](const TenantConfig& f, TenantConfig& t) { t.business_hours = f.business_hours; },
     [](const TenantConfig&, std::string&) {}},
    {"send_limits", [](const TenantConfig& f, TenantConfig& t) { t.send_limits = f.send_limits; },
     [](const TenantConfig&, std::string&) {}},
    {"calcom", [](const TenantConfig& f, TenantConfig& t) { t.calcom = f.calcom; },
     [](const TenantConfig& t, std::string& out) { add_secret(out, t.calcom.api_key); }},
    {"followups", [](const TenantConfig& f, TenantConfig& t) { t.followups = f.followups; },
     [](const TenantConfig&, std::string&) {}},
};

std::string tenant_part_text(const TenantConfig& tenant, const TenantPart& part) {
  Config only;
  TenantConfig t;
  t.id = tenant.id;
  part.copy(tenant, t);
  only.tenants.push_back(std::move(t));
  std::string text = dump_config(only);
  part.secrets(tenant, text);
  return text;
}

// "clinic2 (added)", "clinic (webhooks, llm)", "old (removed)": never a value.
std::vector<std::string> tenant_changes(const std::vector<TenantConfig>& before, const std::vector<TenantConfig>& after) {
  auto find = [](const std::vector<TenantConfig>& in, const std::string& id) -> const TenantConfig* {
    for (const TenantConfig& t : in)
      if (t.id == id) return &t;
    return nullptr;
  };
  std::vector<std::string> out;
  for (const TenantConfig& t : after) {
    const TenantConfig* old = find(before, t.id);
    if (!old) {
      out.push_back(t.id + " (added)");
      continue;
    }
    std::vector<std::string> parts;
    for (const TenantPart& p : kTenantParts)
      if (tenant_part_text(*old, p) != tenant_part_text(t, p)) parts.emplace_back(p.name);
    if (!parts.empty()) out.push_back(fmt::format("{} ({})", t.id, fmt::join(parts, ", ")));
  }
  for (const TenantConfig& t : before)
    if (!find(after, t.id)) out.push_back(t.id + " (removed)");
  return out;
}

// The periodic jobs the scheduler was built with: the `periodic` entries and each tenant's
// Cal.com sync schedule (in its time zone).
std::string periodic_text(const Config& c) {
  std::string text = part_text(c, [](const Config& f, Config& t) { t.periodic = f.periodic; });
  for (const TenantConfig& t : c.tenants)
    if (t.calcom.enabled() && t.calcom.sync_schedule)
      text += fmt::format("{}|{}|{}\n", t.id, t.calcom.sync, t.time_zone());
  return text;
}

// The keys of `next` that differ from `started` and only take effect on a restart.
std::vector<std::string> restart_only_changes(const Config& started, const Config& next, Roles roles) {
  std::vector<std::string> out;
  if (started.database.url != next.database.url) out.emplace_back("database.url");
  if (started.database.pool_size != next.database.pool_size) out.emplace_back("database.pool_size");
  if (started.log.format != next.log.format) out.emplace_back("log.format");
  if (started.log.redact != next.log.redact) out.emplace_back("log.redact");
  if (roles.ingress) {
    auto ingress_but_token = [](const Config& f, Config& t) {
      t.ingress = f.ingress;
      t.ingress.api_token = {};
    };
    if (started.ingress.host != next.ingress.host || started.ingress.port != next.ingress.port)
      out.emplace_back("ingress.host/port");
    if (part_differs(started, next, [&](const Config& f, Config& t) {
          ingress_but_token(f, t);
          t.ingress.host = "";
          t.ingress.port = 0;
        }))
      out.emplace_back("ingress (limits, timeouts, group commit)");
  }
  if (roles.worker) {
    if (part_differs(started, next, [](const Config& f, Config& t) { t.worker.queues = f.worker.queues; }))
      out.emplace_back("worker.queues");
    if (part_differs(started, next, [](const Config& f, Config& t) {
          t.worker = f.worker;
          t.worker.queues = {};
        }))
      out.emplace_back("worker (claims, leases, timeouts, backoff, http, breakers, metrics port)");
    if (periodic_text(started) != periodic_text(next))
      out.emplace_back("periodic schedules (periodic, tenants.*.calcom.sync)");
  }
  return out;
}

// SIGHUP: re-reads `started.source` and applies to `live` (what is in force of the reloadable
// parts), the ingress and the worker what can change under running work; logs what changed
// and what waits for a restart. Returns what the status line adds: "" when all is in force.
std::string reload_config(const Config& started, Config& live, Roles roles, Ingress* ingress, Worker* worker) {
  const std::string file = started.source.empty() ? "(environment only)" : started.source;
  Config next;
  try {
    next = load_config(started.source);
  } catch (const std::exception& e) {  // ConfigError, or a file that vanished
    log::error("configuration reload failed; the running configuration stays", {{"file", file}, {"error", e.what()}});
    return std::string("; last reload failed: ") + e.what();
  }
  const std::vector<std::string> pending = restart_only_changes(started, next, roles);
  std::vector<std::string> applied;
  if (next.log.level != live.log.level) {
    log::set_level(next.log.level);
    applied.push_back("log.level " + live.log.level + " -> " + next.log.level);
  }
  if (ingress && next.ingress.api_token.value != live.ingress.api_token.value) {
    ingress->set_api_token(next.ingress.api_token);
    applied.emplace_back("ingress.api_token");
  }
  const std::vector<std::string> tenants = tenant_changes(live.tenants, next.tenants);
  if (!tenants.empty()) {
    if (ingress) ingress->set_tenants(next.tenants);
    if (worker) worker->set_tenants(next.tenants);
    for (const std::string& t : tenants) applied.push_back("tenants." + t);
  }
  live.log.level = next.log.level;
  live.ingress.api_token = next.ingress.api_token;
  live.tenants = std::move(next.tenants);
  if (applied.empty()) {
    log::info("configuration reloaded: nothing to change", {{"file", file}});
  } else {
    log::info("configuration reloaded", {{"file", file}, {"applied", fmt::format("{}", fmt::join(applied, "; "))}});
  }
  if (pending.empty()) return "";
  log::warn("configuration changes that take effect only after a restart",
            {{"file", file}, {"keys", fmt::format("{}", fmt::join(pending, "; "))}});
  return fmt::format("; restart pending for {}", fmt::join(pending, ", "));
}

std::string status_line(Roles roles, int port, const Config& config) {
  std::vector<std::string> parts;
  if (roles.ingress) parts.push_back(fmt::format("ingress on {}:{}", config.ingress.host, port));
  if (roles.worker) parts.push_back(fmt::format("worker, {} queue(s)", config.worker.queues.size()));
  parts.push_back(fmt::format("{} tenant(s)", config.tenants.size()));
  return fmt::format("serving: {}", fmt::join(parts, "; "));
}

}  // namespace

int serve(const Config& config, Roles roles, const std::string& db_url, const JobKindTable& kinds,
          std::function<void(int)> on_listening) {
  std::signal(SIGPIPE, SIG_IGN);
  raise_open_file_limit();
  SystemClock clock;
  EventLoop loop;
  Metrics metrics;
  SdNotifier notifier(loop);
  auto pool = std::make_unique<DbPool>(loop, db_url, config.database.pool_size);
  std::unique_ptr<Ingress> ingress;
  std::unique_ptr<CurlHttpClient> http;
  std::unique_ptr<Worker> worker;
  int port = 0;
  if (roles.ingress) {
    std::set<std::string> names;
    for (const JobKind& k : kinds) names.insert(std::string(k.name));
    ingress = std::make_unique<Ingress>(loop, *pool, config.ingress, config.tenants, names, clock, metrics);
    port = ingress->start();
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
    notifier.stopping("stopping: answering requests in flight, draining running jobs");
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

  // SIGHUP: re-read the file and apply what can change under running work (see server.hpp).
  // `live` is what is in force of the reloadable parts; the rest stays as `config` was.
  Config live = config;
  auto serving = [&] { return status_line(roles, port, live); };
  SignalWatcher reload(loop, {SIGHUP}, [&](int) {
    if (stopping) {
      log::info("SIGHUP while stopping: ignored");
      return;
    }
    notifier.reloading("reloading " + (config.source.empty() ? std::string("(environment only)") : config.source));
    const std::string outcome = reload_config(config, live, roles, ingress.get(), worker.get());
    notifier.ready(serving() + outcome);
  });

  // Ready once the loop turns: the ingress listens and the worker has started claiming.
  loop.post([&] { notifier.ready(serving()); });
  loop.run();
  notifier.stop_watchdog();
  pool.reset();  // joins the database threads first: nothing they run may outlive its owner
  metrics_server.reset();
  queue_stats.reset();
  worker.reset();
  http.reset();
  ingress.reset();
  return 0;
}

}  // namespace recado
