#include "jobs/registry.hpp"

#include "jobs/builtin/builtin.hpp"
#include "jobs/calcom_sync/calcom_sync.hpp"
#include "jobs/followup/followup.hpp"
#include "jobs/llm_reply/llm_reply.hpp"
#include "jobs/whatsapp_send/whatsapp_send.hpp"

namespace recado::jobs {

const JobKindTable& all_kinds() {
  static const JobKindTable table = {
      {"noop", builtin::noop},
      {"sleep", builtin::sleep},
      {"scripted", builtin::scripted},
      {"http_call", builtin::http_call},
      {"llm_reply", llm_reply::run},
      {"whatsapp_send", whatsapp_send::run},
      {"followup", followup::run},
      {"calcom_sync", calcom_sync::run},
  };
  return table;
}

}  // namespace recado::jobs
