#pragma once
// Built-in job kinds for operators, tests and benchmarks.
//   noop      completes at once.
//   sleep     waits payload.ms milliseconds (on the loop, not blocking), then completes.
//   scripted  does what its payload says, to exercise every outcome:
//             {"outcome": "complete"|"retry"|"snooze"|"discard"|"throw",
//              "reason": "...", "snooze_ms": N, "retry_after_ms": N,
//              "succeed_on_attempt": N}   (retry until attempt N, then complete)
//   http_call makes one provider call through its circuit breaker and ends as the shared
//             classifier says (complete, retry, snooze while the breaker is open, discard):
//             {"api": "openai"|"anthropic"|"gemini"|"evolution"|"whaticket"|"cloudapi"|"calcom",
//              "breaker": "openai:clinic1", "url": "...", "method": "POST",
//              "headers": {"name": "value"}, "body": "text" or a JSON value, "timeout_ms": N,
//              "pace": {"sender": "...", "recipient": "...", "min_spacing_ms": N, "per_hour": N,
//                       "per_day": N, "per_recipient_spacing_ms": N}}
//             With "pace", the call is a WhatsApp send: it takes a send slot first, and a send
//             over a limit snoozes until the earliest allowed time. With "tenant": "clinic1",
//             the call waits for that tenant's business hours, and "pace" takes the tenant's
//             send_limits for what it does not spell out.
//             For operators checking a provider end to end, for tests and for benchmarks.
#include "src/job_kind.hpp"

namespace recado::jobs::builtin {

void noop(HandlerContext& ctx, Done done);
void sleep(HandlerContext& ctx, Done done);
void scripted(HandlerContext& ctx, Done done);
void http_call(HandlerContext& ctx, Done done);

}  // namespace recado::jobs::builtin
