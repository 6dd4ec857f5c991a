#pragma once
// The simulator's fault injection: fault specs (parsed from JSON, with reasons that name the
// field), and the book of faults set per endpoint that decides, request by request, what
// goes wrong. Randomness comes from a seeded generator per endpoint, so a run repeats.
// Pure: no I/O; not thread-safe (the simulator uses it on its loop thread).
#include <array>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <variant>

#include "src/clock.hpp"
#include "src/sim_endpoints.hpp"

namespace recado {

enum class FaultKind {
  none,
  status,
  rate_limit,
  quota,
  overloaded,
  cloudapi_code,
  hang,
  reset,
  truncate
};

std::string_view to_string(FaultKind k);
std::optional<FaultKind> parse_fault_kind(std::string_view name);

// A delay before answering, drawn uniformly from [min_ms, max_ms].
struct SimLatency {
  int64_t min_ms = 0;
  int64_t max_ms = 0;
  bool any() const { return max_ms > 0; }
};

// What PUT /_sim/faults/{endpoint} takes (see the README, "Provider simulator").
struct FaultSpec {
  FaultKind fault = FaultKind::none;
  double rate = 1.0;                      // share of requests hit
  std::optional<int64_t> count;           // hit only this many more requests, then the spec clears
  int status = 500;                       // fault "status"
  std::string retry_after;                // Retry-After header: seconds or an HTTP date; "" none
  std::optional<int64_t> retry_after_ms;  // retry-after-ms header (OpenAI)
  std::string retry_delay;                // Gemini RetryInfo.retryDelay ("5s"); "" the default
  int64_t code = 0;                       // fault "cloudapi_code": the Graph API error code
  SimLatency latency;                     // applies to every request of the endpoint
};

// Parses one spec for `endpoint`. On failure, the reason names the field ("rate must be a
// number from 0 to 1"), prefixed with `where` when given ("faults.openai.rate ...").
std::variant<FaultSpec, std::string> parse_fault_spec(const nlohmann::json& spec,
                                                      SimEndpoint endpoint,
                                                      std::string_view where = "");
// {"openai": spec, ...}: start-time faults and PUT /_sim/faults.
using FaultMap = std::map<SimEndpoint, FaultSpec>;
std::variant<FaultMap, std::string> parse_fault_map(const nlohmann::json& map,
                                                    std::string_view where = "faults");
// The spec as JSON, in the form parse_fault_spec takes (defaults spelled out).
nlohmann::json to_json(const FaultSpec& spec);

// What one request gets.
struct FaultDecision {
  FaultKind fault = FaultKind::none;  // none: answer normally
  Duration latency{0};                // wait this long first
  FaultSpec spec;                     // the spec that decided (for the fault's details)
};

class FaultBook {
 public:
  explicit FaultBook(uint64_t seed) : seed_(seed) {}

  // Sets (replaces) `endpoint`'s spec; its random sequence restarts from the seed, so the
  // same PUT against the same traffic hits the same requests.
  void set(SimEndpoint endpoint, FaultSpec spec);
  // Whether there was a spec to clear.
  bool clear(SimEndpoint endpoint);
  // How many specs were cleared.
  int clear_all();
  // Decides for the next request to `endpoint`; counts it against the spec's `count`.
  FaultDecision decide(SimEndpoint endpoint);
  // {"openai": spec + "remaining" when counted, ...}
  nlohmann::json describe() const;
  const std::optional<FaultSpec>& spec(SimEndpoint endpoint) const {
    return slots_[index(endpoint)].spec;
  }

 private:
  static size_t index(SimEndpoint e) { return static_cast<size_t>(e); }
  struct Slot {
    std::optional<FaultSpec> spec;
    std::mt19937_64 rng;
  };
  uint64_t seed_;
  std::array<Slot, kSimEndpoints.size()> slots_;
};

}  // namespace recado
