#pragma once
// followup: one planned follow-up firing (followup_store::plan made the job). Payload
// {"tenant", "subject", "rule"}; subject is booking:UID (reminders before an appointment, a
// message after it) or contact:CONTACT (a nudge when the contact went quiet after our reply).
//   - Checks again what may have changed since it was planned: the follow-up still planned
//     and still this job's, the rule still configured, the booking still accepted (a moved
//     booking whose job was not moved snoozes to the new time; a reminder after the start is
//     too late), the contact still quiet and not handed to a human. What no longer holds
//     completes with the reason.
//   - Paused tenant: waits. Outside business hours: snoozes to the next opening.
//   - Text from the rule's template, or written by the LLM when the rule asks (the template,
//     if any, when the LLM cannot answer); queued for whatsapp_send in the transaction that
//     marks the follow-up sent and completes the job.
#include "src/job_kind.hpp"

namespace recado::jobs::followup {

void run(HandlerContext& ctx, Done done);

}  // namespace recado::jobs::followup
