#pragma once
// The webhook endpoints, per tenant and provider:
//   POST /webhooks/{tenant}/{provider}[/{token}]
//     authenticate (webhook_auth), decode (webhook_decode), store each event once and start
//     its jobs (inbound_store, group-committed), and answer only after the commit:
//     200 {"accepted":N,"duplicates":M} or {"ignored":reason}; 401/403 bad credentials;
//     404 unknown tenant or provider; 400/413/422 bad body; 503 database down or slow.
//   GET /webhooks/{tenant}/cloudapi?hub.mode=subscribe&hub.challenge=N&hub.verify_token=T
//     Meta's verification handshake: 200 with N as text when T matches, else 403.
// Every answer is counted in the metrics by tenant, provider and status. Loop thread only.
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "src/config.hpp"
#include "src/db_pool.hpp"
#include "src/group_commit.hpp"
#include "src/http_server.hpp"
#include "src/inbound_store.hpp"
#include "src/metrics.hpp"

namespace recado {

class Webhooks {
 public:
  Webhooks(EventLoop& loop, DbPool& pool, const IngressConfig& config, std::vector<TenantConfig> tenants,
           const Clock& clock, Metrics& metrics);

  // A request whose path starts with /webhooks/.
  void handle(HttpRequest& request, HttpResponder responder);
  // Replaces the tenants (credentials, debounce) for the requests handled from now on
  // (SIGHUP reload). Requests waiting for their commit keep what they were checked with:
  // nothing past handle() holds a pointer into the tenants.
  void set_tenants(std::vector<TenantConfig> tenants);

 private:
  void verify_handshake(const HttpRequest& request, const TenantConfig& tenant, HttpResponder& responder);
  void answer(HttpResponder& responder, const std::string& tenant, const std::string& provider,
              HttpResponse response);

  std::vector<TenantConfig> tenants_;
  const Clock& clock_;
  Metrics& metrics_;
  std::map<std::tuple<std::string, std::string, int>, Counter*> answered_;  // by tenant, provider, status
  struct EventCounters {
    Counter* stored = nullptr;
    Counter* duplicates = nullptr;
  };
  std::map<std::pair<std::string, std::string>, EventCounters> events_;  // by tenant, provider
  GroupCommit<InboundWrite, InboundWritten> commit_;
};

}  // namespace recado
