#pragma once
// `recado sim send`: a simulated patient writes to a tenant. Asks a running simulator to
// deliver one signed inbound-message webhook to the ingress (its POST /_sim/webhooks), with
// the tenant's own webhook credentials from the configuration, and reports the ingress's
// answer. Runs on the calling thread (a private event loop for the one HTTP call); for the
// command line, not for the runtime.
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>

#include "src/config.hpp"

namespace recado {

struct SimSendOptions {
  std::string sim_url;  // "": http://127.0.0.1:<dev.sim_port>
  std::string tenant;   // required: a tenant of the configuration
  // evolution | cloudapi | whaticket; "": the tenant's gateway's, else evolution
  std::string provider;
  std::string from;  // the patient's phone number
  std::string name;  // their profile name; "": the simulator's default
  std::string to;    // the ingress: a base URL (…/webhooks/T/P is added) or a full webhook URL;
                     // "": http://<ingress.host>:<ingress.port>
  std::string text;
  std::string token;   // overrides the tenant's webhook token (Evolution, Whaticket)
  std::string secret;  // overrides the tenant's webhook secret (Cloud API)
};

// What to ask the simulator: the webhook's target and the order's JSON.
struct SimSendOrder {
  std::string sim_url;      // the simulator's base URL, without a trailing slash
  std::string webhook_url;  // where the simulator posts the webhook
  std::string provider;
  nlohmann::json order;  // the body of POST /_sim/webhooks
};

// Reads the options against the configuration. Throws ConfigError naming what is wrong (no
// such tenant, a provider it takes no webhooks from, no phone number, no text). Pure.
SimSendOrder make_sim_send_order(const Config& config, const SimSendOptions& options);

// Posts the order to the simulator and waits (bounded) for the ingress's answer; prints what
// was sent and what the ingress answered on `out`, failures on `err`. Returns 0 when the
// ingress answered 2xx, 1 otherwise (the simulator unreachable or refusing the order, the
// ingress unreachable or refusing the webhook).
int send_sim_order(const SimSendOrder& order, std::ostream& out, std::ostream& err);

}  // namespace recado
