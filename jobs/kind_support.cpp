#include "jobs/kind_support.hpp"

#include <stdexcept>

namespace recado::jobs {

nlohmann::json payload_of(const HandlerContext& ctx) {
  auto doc = nlohmann::json::parse(ctx.job().payload_json, nullptr, false);
  return doc.is_object() ? doc : nlohmann::json::object();
}

namespace {

Api api_named(const std::string& name, std::string_view what) {
  const auto api = parse_api(name);
  if (!api) throw std::invalid_argument(std::string(what) + " provider '" + name + "' is not known");
  return *api;
}

}  // namespace

providers::GatewayEndpoint gateway_endpoint(const GatewayConfig& gateway) {
  providers::GatewayEndpoint e;
  e.api = api_named(gateway.provider, "gateway");
  e.base_url = gateway.base_url;
  e.token = gateway.token.value;
  e.instance = gateway.instance;
  e.phone_number_id = gateway.phone_number_id;
  e.api_version = gateway.api_version;
  return e;
}

providers::LlmEndpoint llm_endpoint(const LlmConfig& llm) {
  providers::LlmEndpoint e;
  e.api = api_named(llm.provider, "llm");
  e.base_url = llm.base_url;
  e.api_key = llm.api_key.value;
  e.model = llm.model;
  e.max_output_tokens = llm.max_output_tokens;
  return e;
}

providers::CalcomEndpoint calcom_endpoint(const CalcomConfig& calcom) {
  providers::CalcomEndpoint e;
  e.base_url = calcom.base_url;
  e.api_key = calcom.api_key.value;
  return e;
}

std::string breaker_name(Api api, const std::string& tenant) {
  return std::string(to_string(api)) + ":" + tenant;
}

std::string sender_of(const TenantConfig& tenant) {
  const GatewayConfig& g = tenant.gateway;
  if (g.provider == "evolution") return "evolution:" + g.instance;
  if (g.provider == "cloudapi") return "cloudapi:" + g.phone_number_id;
  return g.provider + ":" + tenant.id;
}

}  // namespace recado::jobs
