#pragma once
// whatsapp_send: sends one stored outbound message (recado.messages) through the tenant's
// gateway, at most once. Payload {"tenant", "message_id"}.
//   - A message already sent (an earlier run's completion was lost) or given up completes
//     at once; the send is recorded with the gateway's id in the transaction that completes
//     the job, so a completed job is a recorded send.
//   - An attempt that ended without an answer (timeout, reset) marks the message; the retry
//     that follows is logged and counted as a possible duplicate.
//   - Paused tenant: snoozes. Handed-off conversation: the bot's replies are dropped (booking
//     reminders still go). Outside business hours: snoozes to the next opening. Send limits:
//     snoozes until the tenant's number may send.
//   - Cloud API, more than 24 hours since the contact last wrote: the tenant's template (the
//     text as its one parameter), or dropped with that reason.
#include "src/job_kind.hpp"

namespace recado::jobs::whatsapp_send {

void run(HandlerContext& ctx, Done done);

}  // namespace recado::jobs::whatsapp_send
