#pragma once
// Runs the daemon's roles in this process on one event loop until SIGINT or SIGTERM, then
// shuts down in order: the ingress stops taking requests and answers those in flight, the
// worker drains, the database threads stop. Returns the process exit code.
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
