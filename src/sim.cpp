#include "src/sim.hpp"

#include <cstdio>
#include <random>
#include <stdexcept>

#include "src/log.hpp"
#include "src/sim_endpoints.hpp"
#include "src/sim_providers.hpp"
#include "src/sim_webhooks.hpp"

namespace recado {

using json = nlohmann::json;

namespace {

constexpr std::string_view kControlPrefix = "/_sim/";
constexpr Duration kSweepEvery = std::chrono::milliseconds{200};

int64_t unix_ms(Timestamp t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::string make_nonce() {
  std::random_device rd;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%06x", static_cast<unsigned>(rd() & 0xFFFFFF));
  return buf;
}

HttpResponse ok(json body) {
  return HttpResponse::json(200, sim_dump(body));
}

std::optional<uint64_t> whole(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

}  // namespace

// What a provider request gets, once its latency (if any) has passed.
struct Simulator::Action {
  enum class Type { answer, truncate, reset, hang };
  Type type = Type::answer;
  HttpResponse response;  // answer, truncate
};

struct Simulator::Delayed {
  explicit Delayed(EventLoop& loop) : timer(loop) {}
  Timer timer;
  HttpResponder responder{{}, 0};
  Action action;
};

// One POST /_sim/webhooks: the webhook, its copies' results, and who waits for them.
struct Simulator::WebhookJob {
  WebhookOrder order;
  BuiltWebhook webhook;
  HttpResponder responder{{}, 0};
  std::vector<int> statuses;
  std::vector<std::string> bodies;
  std::vector<std::string> errors;
  int started = 0;
  int finished = 0;
};

Simulator::Simulator(EventLoop& loop, SimulatorOptions options)
    : loop_(loop),
      options_(std::move(options)),
      clock_(options_.clock ? *options_.clock : system_clock_),
      nonce_(make_nonce()),
      recorder_(options_.max_recorded),
      faults_(options_.seed),
      sweep_(loop) {
  HttpLimits limits;
  limits.max_connections = options_.max_connections;
  limits.max_body_bytes = 4 << 20;
  limits.max_headers = 100;
  limits.idle_timeout = std::chrono::seconds{60};
  server_ = std::make_unique<HttpServer>(
      loop_, limits,
      [this](HttpRequest& r, HttpResponder responder) { handle(r, std::move(responder)); });
  for (const auto& [endpoint, spec] : options_.faults) faults_.set(endpoint, spec);
}

Simulator::~Simulator() {
  alive_.reset();       // webhook callbacks that still come do nothing
  own_client_.reset();  // cancels its calls
  for (auto& [seq, responder] : hung_) responder.abort();
  hung_.clear();
  delayed_.clear();
  server_.reset();
}

int Simulator::listen(const std::string& host, int port) {
  const int bound = server_->listen(host, port);
  log::info(
      "provider simulator listening",
      {{"host", host}, {"port", std::to_string(bound)}, {"seed", std::to_string(options_.seed)}});
  return bound;
}

void Simulator::close(std::function<void()> closed) {
  closing_ = true;
  sweep_.stop();
  for (auto& [seq, responder] : hung_) responder.abort();
  hung_.clear();
  auto delayed = std::move(delayed_);
  delayed_.clear();
  for (auto& [seq, d] : delayed) perform(seq, d->responder, std::move(d->action));
  server_->close(std::move(closed));
}

void Simulator::handle(HttpRequest& request, HttpResponder responder) {
  if (std::string_view(request.path).starts_with(kControlPrefix)) {
    handle_control(request, std::move(responder));
  } else {
    handle_provider(request, std::move(responder));
  }
}

// --- Provider endpoints ------------------------------------------------------------------------

void Simulator::handle_provider(HttpRequest& request, HttpResponder responder) {
  const auto route = route_sim_path(request.path);
  const Timestamp now = clock_.now();
  SimRecord record;
  record.at_ms = unix_ms(now);
  record.endpoint = route ? std::string(to_string(route->endpoint)) : "unknown";
  record.method = request.method;
  record.path = request.path;
  record.query = request.query;
  record.headers = request.headers;
  record.body = request.body;
  const uint64_t seq = recorder_.add(std::move(record));
  if (!route) {
    const std::string reason = "no simulated endpoint at " + request.method + " " + request.path;
    recorder_.set_status(seq, 404);
    responder.send(HttpResponse::error(404, reason));
    return;
  }
  const FaultDecision decision = faults_.decide(route->endpoint);
  Action action;
  switch (decision.fault) {
    case FaultKind::none:
      action.response = provider_answer(*route, request, seq);
      break;
    case FaultKind::truncate:
      action.type = Action::Type::truncate;
      action.response = provider_answer(*route, request, seq);
      break;
    case FaultKind::reset:
      action.type = Action::Type::reset;
      break;
    case FaultKind::hang:
      action.type = Action::Type::hang;
      break;
    default:
      action.response = sim_fault_reply(route->endpoint, decision.spec);
      break;
  }
  if (decision.fault != FaultKind::none) recorder_.set_fault(seq, to_string(decision.fault));
  if (log::enabled(log::Level::debug))
    log::debug(
        "simulated request",
        {{"seq", std::to_string(seq)},
         {"endpoint", std::string(to_string(route->endpoint))},
         {"fault", std::string(to_string(decision.fault))},
         {"latency_ms",
          std::to_string(
              std::chrono::duration_cast<std::chrono::milliseconds>(decision.latency).count())}});
  if (decision.latency > Duration{0} && action.type != Action::Type::hang && !closing_) {
    auto delayed = std::make_unique<Delayed>(loop_);
    delayed->responder = std::move(responder);
    delayed->action = std::move(action);
    Delayed* raw = delayed.get();
    delayed_.emplace(seq, std::move(delayed));
    // libuv's timers count whole milliseconds from the loop's cached time, so they may fire
    // up to 1 ms early: one more keeps the promise of "not sooner than latency_ms".
    raw->timer.start(decision.latency + std::chrono::milliseconds{1}, [this, seq] {
      auto it = delayed_.find(seq);
      if (it == delayed_.end()) return;
      std::unique_ptr<Delayed> d = std::move(it->second);
      delayed_.erase(it);
      perform(seq, d->responder, std::move(d->action));
      // `d` (and its timer) go here, after the callback's work is done.
    });
    return;
  }
  perform(seq, std::move(responder), std::move(action));
}

HttpResponse Simulator::provider_answer(const SimRoute& route, const HttpRequest& request,
                                        uint64_t seq) {
  const SimEndpoint e = route.endpoint;
  const bool get_ok = is_calcom(e) && !route.cancel && !route.reschedule;
  const bool post_ok = e != SimEndpoint::calcom_slots;
  if (!((request.method == "GET" && get_ok) || (request.method == "POST" && post_ok))) {
    HttpResponse r = sim_error(e, 405, "Method " + request.method + " is not allowed here");
    r.headers.emplace_back("Allow", get_ok && post_ok ? "GET, POST" : get_ok ? "GET" : "POST");
    return r;
  }
  if (auto refused = sim_check_credentials(e, request)) return *refused;
  const SimContext ctx{seq, nonce_, clock_.now()};
  switch (e) {
    case SimEndpoint::openai:
      return sim_openai_reply(request, ctx, &llm_script_);
    case SimEndpoint::anthropic:
      return sim_anthropic_reply(request, ctx, &llm_script_);
    case SimEndpoint::gemini:
      return sim_gemini_reply(request, route.param, ctx, &llm_script_);
    case SimEndpoint::evolution:
      return sim_evolution_reply(request, route.param, ctx);
    case SimEndpoint::whaticket:
      return sim_whaticket_reply(request, ctx);
    case SimEndpoint::cloudapi:
      return sim_cloudapi_reply(request, route.param, ctx);
    case SimEndpoint::calcom_bookings:
      if (route.cancel) return calcom_.cancel_booking(request, route.param, ctx);
      if (route.reschedule) return calcom_.reschedule_booking(request, route.param, ctx);
      return request.method == "GET" ? calcom_.list_bookings(request, ctx)
                                     : calcom_.create_booking(request, ctx);
    case SimEndpoint::calcom_slots:
      return calcom_.slots(request);
  }
  return HttpResponse::error(500, "unrouted endpoint");
}

void Simulator::perform(uint64_t seq, HttpResponder responder, Action action) {
  switch (action.type) {
    case Action::Type::answer:
      recorder_.set_status(seq, action.response.status);
      responder.send(std::move(action.response));
      break;
    case Action::Type::truncate: {
      recorder_.set_status(seq, action.response.status);
      // At least one byte short, even of an empty body (whose announced length grows by one).
      if (action.response.body.empty()) action.response.body = " ";
      const size_t keep = action.response.body.size() / 2;
      responder.send_truncated(std::move(action.response), keep);
      break;
    }
    case Action::Type::reset:
      responder.abort();
      break;
    case Action::Type::hang:
      hold(seq, std::move(responder));
      break;
  }
}

void Simulator::hold(uint64_t seq, HttpResponder responder) {
  if (closing_) {
    responder.abort();
    return;
  }
  hung_.emplace(seq, std::move(responder));
  if (!sweep_.active())
    sweep_.start(
        kSweepEvery, [this] { sweep_hung(); }, kSweepEvery);
}

void Simulator::sweep_hung() {
  for (auto it = hung_.begin(); it != hung_.end();) {
    if (it->second.waiting()) {
      ++it;
    } else {
      it->second.abort();  // the client went: free its connection
      it = hung_.erase(it);
    }
  }
  if (hung_.empty()) sweep_.stop();
}

// --- Control API ------------------------------------------------------------------------------

void Simulator::handle_control(HttpRequest& request, HttpResponder responder) {
  const std::string_view path = std::string_view(request.path).substr(kControlPrefix.size());
  const std::string& method = request.method;
  auto send = [&](HttpResponse r) { responder.send(std::move(r)); };
  auto not_allowed = [&](std::string_view allow) {
    HttpResponse r = HttpResponse::error(405, "use " + std::string(allow) + " on " + request.path);
    r.headers.emplace_back("Allow", std::string(allow));
    send(std::move(r));
  };
  if (path == "healthz") {
    if (method != "GET") return not_allowed("GET");
    return send(ok({{"status", "ok"},
                    {"connections", connection_count()},
                    {"hung", hung_.size()},
                    {"delayed", delayed_.size()},
                    {"recorded", recorder_.size()}}));
  }
  if (path == "requests") {
    if (method == "GET") return send(get_requests(request));
    if (method == "DELETE") {
      recorder_.clear();
      return send(ok({{"cleared", true}, {"last_seq", recorder_.last_seq()}}));
    }
    return not_allowed("GET, DELETE");
  }
  if (path == "faults") {
    if (method == "GET") return send(ok({{"faults", faults_.describe()}, {"seed", options_.seed}}));
    if (method == "PUT") return send(put_faults(request, ""));
    if (method == "DELETE") return send(delete_faults(""));
    return not_allowed("GET, PUT, DELETE");
  }
  if (path.starts_with("faults/")) {
    const std::string endpoint(path.substr(7));
    if (method == "PUT") return send(put_faults(request, endpoint));
    if (method == "DELETE") return send(delete_faults(endpoint));
    if (method == "GET") {
      auto e = parse_sim_endpoint(endpoint);
      if (!e)
        return send(HttpResponse::error(
            404, "unknown endpoint '" + endpoint + "' (known: " + sim_endpoint_names() + ")"));
      const auto& spec = faults_.spec(*e);
      json described = faults_.describe();
      return send(
          ok({{"endpoint", endpoint}, {"fault", spec ? described[endpoint] : json(nullptr)}}));
    }
    return not_allowed("GET, PUT, DELETE");
  }
  if (path == "webhooks") {
    if (method != "POST") return not_allowed("POST");
    return post_webhooks(request, std::move(responder));
  }
  if (path == "bookings") {
    if (method != "DELETE") return not_allowed("DELETE");
    const size_t n = calcom_.bookings().size();
    calcom_.clear();
    return send(ok({{"cleared", n}}));
  }
  if (path == "llm/script") {
    if (method == "POST") return send(post_llm_script(request));
    if (method == "GET")
      return send(ok({{"turns", llm_script_.describe()}, {"remaining", llm_script_.size()}}));
    if (method == "DELETE") return send(ok({{"cleared", llm_script_.clear()}}));
    return not_allowed("GET, POST, DELETE");
  }
  send(HttpResponse::error(404, "no control endpoint at " + request.path +
                                    " (see /_sim/healthz, /_sim/requests, /_sim/faults, "
                                    "/_sim/webhooks, /_sim/bookings, /_sim/llm/script)"));
}

HttpResponse Simulator::get_requests(const HttpRequest& request) {
  std::optional<std::string> endpoint = sim_query_param(request.query, "endpoint");
  if (endpoint && *endpoint != "unknown" && !parse_sim_endpoint(*endpoint))
    return HttpResponse::error(400, "endpoint must be one of " + sim_endpoint_names() + "|unknown");
  uint64_t since = 0;
  if (auto s = sim_query_param(request.query, "since")) {
    auto n = whole(*s);
    if (!n) return HttpResponse::error(400, "since must be a whole number (a seq)");
    since = *n;
  }
  size_t limit = SIZE_MAX;
  if (auto s = sim_query_param(request.query, "limit")) {
    auto n = whole(*s);
    if (!n || *n == 0) return HttpResponse::error(400, "limit must be a whole number, 1 or more");
    limit = static_cast<size_t>(*n);
  }
  return ok(recorder_.query(endpoint ? std::optional<std::string_view>(*endpoint) : std::nullopt,
                            since, limit));
}

HttpResponse Simulator::put_faults(const HttpRequest& request, const std::string& endpoint) {
  auto parsed = parse_sim_body(request.body);
  if (auto* reason = std::get_if<std::string>(&parsed)) return HttpResponse::error(400, *reason);
  const json& doc = std::get<json>(parsed);
  if (endpoint.empty()) {
    // The whole table, as --faults takes it: replaces every spec.
    auto map = parse_fault_map(doc, "body");
    if (auto* reason = std::get_if<std::string>(&map)) return HttpResponse::error(400, *reason);
    faults_.clear_all();
    for (const auto& [e, spec] : std::get<FaultMap>(map)) {
      faults_.set(e, spec);
      log::info("fault set", {{"endpoint", std::string(to_string(e))},
                              {"fault", std::string(to_string(spec.fault))}});
    }
    return ok({{"faults", faults_.describe()}});
  }
  auto e = parse_sim_endpoint(endpoint);
  if (!e)
    return HttpResponse::error(
        404, "unknown endpoint '" + endpoint + "' (known: " + sim_endpoint_names() + ")");
  auto spec = parse_fault_spec(doc, *e);
  if (auto* reason = std::get_if<std::string>(&spec)) return HttpResponse::error(400, *reason);
  faults_.set(*e, std::get<FaultSpec>(spec));
  log::info("fault set", {{"endpoint", endpoint},
                          {"fault", std::string(to_string(std::get<FaultSpec>(spec).fault))}});
  return ok({{"endpoint", endpoint}, {"fault", to_json(std::get<FaultSpec>(spec))}});
}

HttpResponse Simulator::delete_faults(const std::string& endpoint) {
  if (endpoint.empty()) return ok({{"cleared", faults_.clear_all()}});
  auto e = parse_sim_endpoint(endpoint);
  if (!e)
    return HttpResponse::error(
        404, "unknown endpoint '" + endpoint + "' (known: " + sim_endpoint_names() + ")");
  return ok({{"endpoint", endpoint}, {"cleared", faults_.clear(*e)}});
}

HttpResponse Simulator::post_llm_script(const HttpRequest& request) {
  auto parsed = parse_sim_body(request.body);
  if (auto* reason = std::get_if<std::string>(&parsed)) return HttpResponse::error(400, *reason);
  auto turns = parse_llm_script(std::get<json>(parsed));
  if (auto* reason = std::get_if<std::string>(&turns)) return HttpResponse::error(400, *reason);
  const size_t n = std::get<std::vector<LlmScriptTurn>>(turns).size();
  if (!llm_script_.append(std::move(std::get<std::vector<LlmScriptTurn>>(turns))))
    return HttpResponse::error(400, "the script would hold more than " +
                                        std::to_string(LlmScript::kMaxTurns) + " turns (" +
                                        std::to_string(llm_script_.size()) + " queued)");
  log::info("llm script appended",
            {{"turns", std::to_string(n)}, {"remaining", std::to_string(llm_script_.size())}});
  return ok({{"appended", n}, {"remaining", llm_script_.size()}});
}

// --- Webhooks ---------------------------------------------------------------------------------

HttpClient* Simulator::http_client() {
  if (options_.http_client) return options_.http_client;
  if (!own_client_) own_client_ = std::make_unique<CurlHttpClient>(loop_);
  return own_client_.get();
}

void Simulator::post_webhooks(const HttpRequest& request, HttpResponder responder) {
  if (closing_) return responder.send(HttpResponse::error(503, "the simulator is closing"));
  auto parsed = parse_sim_body(request.body);
  if (auto* reason = std::get_if<std::string>(&parsed))
    return responder.send(HttpResponse::error(400, *reason));
  char serial[24];
  std::snprintf(serial, sizeof serial, "%08llx",
                static_cast<unsigned long long>(++webhook_orders_));
  auto order = parse_webhook_order(std::get<json>(parsed), nonce_ + serial);
  if (auto* reason = std::get_if<std::string>(&order))
    return responder.send(HttpResponse::error(400, *reason));
  try {
    http_client();  // made here, so a failure to make it is answered rather than thrown later
  } catch (const std::exception& e) {
    return responder.send(
        HttpResponse::error(503, std::string("no HTTP client to send webhooks: ") + e.what()));
  }
  auto job = std::make_shared<WebhookJob>();
  job->order = std::move(std::get<WebhookOrder>(order));
  job->webhook = build_webhook(job->order, clock_.now());
  job->responder = std::move(responder);
  const int n = job->order.repeat;
  job->statuses.assign(n, 0);
  job->bodies.assign(n, {});
  job->errors.assign(n, {});
  log::info("sending webhooks", {{"provider", std::string(to_string(job->order.provider))},
                                 {"repeat", std::to_string(n)},
                                 {"concurrent", job->order.concurrent ? "true" : "false"}});
  if (job->order.concurrent) {
    for (int i = 0; i < n; ++i) send_next_webhook(job);
  } else {
    send_next_webhook(job);
  }
}

void Simulator::send_next_webhook(const std::shared_ptr<WebhookJob>& job) {
  const int index = job->started++;
  HttpCall call;
  call.method = "POST";
  call.url = job->order.url;
  call.headers = job->webhook.headers;
  call.body = job->webhook.body;
  call.timeout = job->order.timeout;
  call.connect_timeout = std::min<Duration>(call.connect_timeout, job->order.timeout);
  call.max_response_bytes = 1 << 20;
  std::weak_ptr<int> alive = alive_;
  http_client()->send(std::move(call), [this, alive, job, index](HttpReply reply) {
    if (alive.expired()) return;
    job->statuses[index] = reply.responded() ? reply.status : 0;
    job->bodies[index] = std::move(reply.body);
    if (!reply.responded())
      job->errors[index] = std::string(to_string(reply.failure)) + ": " + reply.failure_text;
    ++job->finished;
    if (job->finished == job->order.repeat) return finish_webhooks(job);
    if (!job->order.concurrent) send_next_webhook(job);
  });
}

void Simulator::finish_webhooks(const std::shared_ptr<WebhookJob>& job) {
  json headers = json::object();
  for (const auto& [name, value] : job->webhook.headers) headers[name] = value;
  int answered = 0;
  for (int s : job->statuses) answered += s != 0 ? 1 : 0;
  job->responder.send(ok(
      {{"sent", job->order.repeat},
       {"answered", answered},
       {"statuses", job->statuses},
       {"bodies", job->bodies},
       {"errors", job->errors},
       {"request",
        {{"url", job->order.url}, {"headers", std::move(headers)}, {"body", job->webhook.body}}}}));
}

}  // namespace recado
