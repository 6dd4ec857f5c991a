#pragma once
// Runs the daemon's roles in this process on one event loop until SIGINT or SIGTERM, then
// shuts down in order: the ingress stops taking requests and answers those in flight, the
// worker drains, the database threads stop. Returns the process exit code.
//
// SIGHUP re-reads `config.source` (then the environment, as at start-up) and applies, without
// dropping a request or a job, what can change: log.level, ingress.api_token and the tenants
// (webhook credentials, debounce, LLM, gateway, Cal.com, business hours, send limits,
// follow-up rules) in the ingress and the worker; jobs already running finish with the
// tenants they started with. What changed is logged by name, never by value. Keys that
// need a restart (database, ports, queues, pool size, worker and ingress tuning, periodic
// schedules) are logged as such and left as they were. A file that does not load is logged
// and the running configuration stays.
//
// Under systemd (Type=notify; sd_notify.hpp) it says READY=1 once the loop turns,
// RELOADING=1 then READY=1 around a reload, STOPPING=1 on a stop signal, and pings the
// watchdog from the loop.
#include <functional>
#include <string>

#include "src/config.hpp"
#include "src/job_kind.hpp"

namespace recado {

struct Roles {
  bool ingress = false;
  bool worker = false;
};

// `on_listening(port)` runs once the ingress listens (for `recado dev`'s banner).
int serve(const Config& config, Roles roles, const std::string& db_url, const JobKindTable& kinds,
          std::function<void(int)> on_listening = {});

}  // namespace recado
