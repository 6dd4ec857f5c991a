#pragma once
// llm_reply: answers a conversation's new messages with one LLM reply. Payload {"tenant",
// "provider", "conversation"}; the ingress makes one per conversation and burst (debounced,
// sequence key per conversation, so one runs at a time per conversation).
//   - Reads the conversation (message_store::load_reply_state) and completes with the reason
//     recorded on the job when the tenant is paused, a human has the conversation, or a newer
//     reply already answered every message.
//   - Prompt: the tenant's system prompt, what the bot knows (the contact's name, the upcoming
//     appointment, free slots from Cal.com when a new message asks to book, the current time
//     in the tenant's zone) and the newest messages within the tenant's count and byte budget.
//   - Success: stores the reply, enqueues its whatsapp_send, marks the messages answered and
//     (re)plans the tenant's quiet-contact nudges, all in the transaction that completes the
//     job; the job keeps the model, tokens and latency.
//   - The LLM unavailable (its breaker open, a permanent error, or the last attempt failing):
//     the tenant's fallback message goes, once until a real reply follows; with the breaker open the
//     job then waits for it and answers properly.
#include "src/job_kind.hpp"

namespace recado::jobs::llm_reply {

void run(HandlerContext& ctx, Done done);

}  // namespace recado::jobs::llm_reply
