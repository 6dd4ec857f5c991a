#pragma once
// The provider endpoints the simulator (`recado sim`) serves, by the names its fault and
// recorder APIs use, and which request path belongs to which. Pure; safe from any thread.
#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace recado {

enum class SimEndpoint {
  openai,
  anthropic,
  gemini,
  evolution,
  whaticket,
  cloudapi,
  calcom_bookings,
  calcom_slots
};

inline constexpr std::array<SimEndpoint, 8> kSimEndpoints = {
    SimEndpoint::openai,          SimEndpoint::anthropic,   SimEndpoint::gemini,
    SimEndpoint::evolution,       SimEndpoint::whaticket,   SimEndpoint::cloudapi,
    SimEndpoint::calcom_bookings, SimEndpoint::calcom_slots};

std::string_view to_string(SimEndpoint e);
std::optional<SimEndpoint> parse_sim_endpoint(std::string_view name);
// "openai|anthropic|...": for error messages.
std::string sim_endpoint_names();
bool is_llm(SimEndpoint e);
bool is_calcom(SimEndpoint e);

// Which endpoint a path belongs to (the method is checked by the endpoint itself).
struct SimRoute {
  SimEndpoint endpoint = SimEndpoint::openai;
  // The variable part of the path: the Gemini model, the Evolution instance, the Cloud API
  // phone number id, the Cal.com booking uid (for .../cancel and .../reschedule); "" when
  // none.
  std::string param;
  bool cancel = false;      // POST /v2/bookings/{uid}/cancel
  bool reschedule = false;  // POST /v2/bookings/{uid}/reschedule
};

// Routes:
//   POST /v1/chat/completions, /v1beta/openai/chat/completions   openai
//   POST /v1/messages                                           anthropic
//   POST /v1beta/models/{model}:generateContent                 gemini
//   POST /message/sendText/{instance}                           evolution
//   POST /api/messages/send                                     whaticket
//   POST /v{N}/{phone_number_id}/messages                       cloudapi (N: digits and dots)
//   GET|POST /v2/bookings, POST /v2/bookings/{uid}/cancel,      calcom_bookings
//   POST /v2/bookings/{uid}/reschedule
//   GET /v2/slots                                               calcom_slots
std::optional<SimRoute> route_sim_path(std::string_view path);

// The first value of `name` in a query string ("a=1&b=x%3Ay"), percent-decoded ('+' is a
// space); nullopt when absent or badly encoded.
std::optional<std::string> sim_query_param(std::string_view query, std::string_view name);

}  // namespace recado
