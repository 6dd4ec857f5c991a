#pragma once
// What the secretary's job kinds share: reading a job's payload, a tenant's provider
// endpoints from its configuration, and the circuit breaker each provider call goes through.
#include <nlohmann/json.hpp>

#include <string>

#include "jobs/providers/calcom.hpp"
#include "jobs/providers/gateway.hpp"
#include "jobs/providers/llm.hpp"
#include "src/job_kind.hpp"

namespace recado::jobs {

// The job's payload as a JSON object (an empty one when it is not an object).
nlohmann::json payload_of(const HandlerContext& ctx);

// A tenant's endpoints. Throw std::invalid_argument when the provider name is not one the
// adapter serves (the configuration check refuses those first).
providers::GatewayEndpoint gateway_endpoint(const GatewayConfig& gateway);
providers::LlmEndpoint llm_endpoint(const LlmConfig& llm);
providers::CalcomEndpoint calcom_endpoint(const CalcomConfig& calcom);

// The circuit breaker of `api` for `tenant`'s credential: "openai:clinic1".
std::string breaker_name(Api api, const std::string& tenant);

// The tenant's WhatsApp number as send limits know it: one per gateway account.
std::string sender_of(const TenantConfig& tenant);

}  // namespace recado::jobs
