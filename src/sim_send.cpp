#include "src/sim_send.hpp"

#include <ostream>

#include "src/event_loop.hpp"
#include "src/http_client.hpp"

namespace recado {

using json = nlohmann::json;

namespace {

std::string without_trailing_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// The provider's message id inside the webhook body the simulator built, or "".
std::string message_id_of(const std::string& provider, const std::string& body) {
  const json b = json::parse(body, nullptr, false);
  if (b.is_discarded()) return "";
  const json::json_pointer where(provider == "evolution" ? "/data/key/id"
                                 : provider == "whaticket"
                                     ? "/key/id"
                                     : "/entry/0/changes/0/value/messages/0/id");
  if (!b.contains(where) || !b[where].is_string()) return "";
  return b[where].get<std::string>();
}

}  // namespace

SimSendOrder make_sim_send_order(const Config& config, const SimSendOptions& o) {
  if (o.tenant.empty()) throw ConfigError("--tenant is required");
  const TenantConfig* tenant = config.tenant(o.tenant);
  if (!tenant) {
    std::string known;
    for (const TenantConfig& t : config.tenants) known += (known.empty() ? "" : ", ") + t.id;
    throw ConfigError(
        "no tenant '" + o.tenant + "' in the configuration" +
        (config.source.empty() ? std::string(" (none given: pass -c FILE)") : " " + config.source) +
        (known.empty() ? "" : "; tenants: " + known));
  }
  std::string provider = o.provider;
  if (provider.empty())
    provider =
        tenant->gateway.enabled() && tenant->webhook(*parse_provider(tenant->gateway.provider))
            ? tenant->gateway.provider
            : "evolution";
  if (provider != "evolution" && provider != "cloudapi" && provider != "whaticket")
    throw ConfigError("--provider must be evolution, cloudapi or whaticket (a patient's message)");
  const WebhookConfig* hook = tenant->webhook(*parse_provider(provider));
  if (!hook)
    throw ConfigError("tenant '" + o.tenant + "' takes no " + provider + " webhooks (tenants." +
                      o.tenant + ".webhooks." + provider + " in the configuration)");
  if (o.from.empty()) throw ConfigError("--from is required (the patient's phone number)");
  if (o.text.empty()) throw ConfigError("the message text is required");

  SimSendOrder out;
  out.provider = provider;
  out.sim_url = without_trailing_slash(
      o.sim_url.empty() ? "http://127.0.0.1:" + std::to_string(config.dev.sim_port) : o.sim_url);
  std::string to = o.to;
  if (to.empty()) {
    const std::string host = config.ingress.host == "0.0.0.0" || config.ingress.host.empty()
                                 ? "127.0.0.1"
                                 : config.ingress.host;
    to = "http://" + host + ":" + std::to_string(config.ingress.port);
  }
  to = without_trailing_slash(to);
  out.webhook_url = to.find("/webhooks/") != std::string::npos
                        ? to
                        : to + "/webhooks/" + o.tenant + "/" + provider;

  json message = {{"from", o.from}, {"text", o.text}};
  if (!o.name.empty()) message["name"] = o.name;
  // The business side as the tenant's gateway knows it, so the webhook looks like its own.
  if (provider == "evolution" && tenant->gateway.provider == "evolution" &&
      !tenant->gateway.instance.empty())
    message["instance"] = tenant->gateway.instance;
  if (provider == "cloudapi" && tenant->gateway.provider == "cloudapi" &&
      !tenant->gateway.phone_number_id.empty())
    message["phone_number_id"] = tenant->gateway.phone_number_id;

  json order = {{"url", out.webhook_url}, {"provider", provider}, {"message", std::move(message)}};
  const std::string token = !o.token.empty() ? o.token : hook->token.value;
  const std::string secret = !o.secret.empty() ? o.secret : hook->secret.value;
  if (!token.empty()) {
    order["token"] = token;
    order["token_header"] = hook->token_header;
  } else if (provider == "evolution" && !hook->jwt_secret.empty()) {
    order["jwt_secret"] = hook->jwt_secret.value;  // Evolution signs with a JWT instead
  }
  if (!secret.empty()) order["secret"] = secret;
  out.order = std::move(order);
  return out;
}

int send_sim_order(const SimSendOrder& order, std::ostream& out, std::ostream& err) {
  HttpReply reply;
  {
    EventLoop loop;
    CurlHttpClient client(loop);
    HttpCall call;
    call.method = "POST";
    call.url = order.sim_url + "/_sim/webhooks";
    call.headers = {{"Content-Type", "application/json"}};
    call.body = order.order.dump();
    call.connect_timeout = std::chrono::seconds{5};
    call.timeout = std::chrono::seconds{30};  // the simulator waits up to 10 s for the ingress
    client.send(std::move(call), [&](HttpReply r) {
      reply = std::move(r);
      loop.stop();
    });
    loop.run();
  }
  if (!reply.responded()) {
    err << "recado sim send: the simulator at " << order.sim_url << " did not answer ("
        << to_string(reply.failure) << ": " << reply.failure_text
        << "); is `recado dev` or `recado sim` running? (--sim URL)\n";
    return 1;
  }
  const json answer = json::parse(reply.body, nullptr, false);
  if (reply.status != 200 || answer.is_discarded() || !answer.contains("statuses")) {
    const std::string why =
        !answer.is_discarded() && answer.contains("error") && answer["error"].is_string()
            ? answer["error"].get<std::string>()
            : reply.body.substr(0, 300);
    err << "recado sim send: the simulator refused the order (" << reply.status << "): " << why
        << "\n";
    return 1;
  }
  const std::string body = answer.value(json::json_pointer("/request/body"), std::string());
  const json& message = order.order["message"];
  const std::string id = message_id_of(order.provider, body);
  out << "sent     " << order.provider << " message" << (id.empty() ? "" : " " + id) << " from "
      << message["from"].get<std::string>()
      << (message.contains("name") ? " (" + message["name"].get<std::string>() + ")"
                                   : std::string())
      << "\n"
      << "to       " << order.webhook_url << "\n"
      << "text     " << message["text"].get<std::string>() << "\n";
  const int status = answer["statuses"].empty() ? 0 : answer["statuses"][0].get<int>();
  const std::string ingress_body = answer["bodies"].empty() || !answer["bodies"][0].is_string()
                                       ? ""
                                       : answer["bodies"][0].get<std::string>();
  if (status == 0) {
    const std::string why = answer["errors"].empty() || !answer["errors"][0].is_string()
                                ? ""
                                : answer["errors"][0].get<std::string>();
    out << "ingress  no answer\n";
    err << "recado sim send: the ingress at " << order.webhook_url << " did not answer (" << why
        << "); is `recado dev` or `recado ingress` running? (--to URL)\n";
    return 1;
  }
  out << "ingress  " << status << " " << ingress_body << "\n";
  if (status < 200 || status > 299) {
    err << "recado sim send: the ingress refused the webhook with " << status << "\n";
    return 1;
  }
  return 0;
}

}  // namespace recado
