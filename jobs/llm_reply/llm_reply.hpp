#pragma once
// llm_reply: answers a conversation's new messages with one LLM reply. Payload {"tenant",
// "provider", "conversation"}; the ingress makes one per conversation and burst (debounced,
// sequence key per conversation, so one runs at a time per conversation).
//   - Reads the conversation (message_store::load_reply_state) and completes with the reason
//     recorded on the job when the tenant is paused, a human has the conversation, or a newer
//     reply already answered every message.
//   - Contact limits: a contact over replies_per_hour, or flooding past messages_per_minute
//     with a reply already sent this minute, waits (the job snoozes) and is then answered once
//     for everything; messages longer than max_message_chars are cut for the prompt.
//   - The reply cache (llm.reply_cache_ttl): a question whose normalised text was answered
//     under the same prompt is answered again from the cache, without an LLM call.
//   - Spend: past the tenant's hard budget no LLM call is made; the fallback message goes
//     (once per conversation until a real reply) and the job completes.
//   - Prompt: the tenant's system prompt, what the bot knows (the contact's name, upcoming
//     appointments, the current time in the tenant's zone) and the newest messages within
//     the tenant's count and byte budget. With Cal.com, the model gets the booking tools
//     (tools.hpp) and the loop between model and tools runs at most llm.max_tool_rounds
//     rounds and llm.tool_time_limit; the last call offers no tools, so it must answer.
//   - A booking made, cancelled or moved ends the loop: the contact gets the confirmation in
//     the tenant's language and zone (tools::confirmation) instead of more model text.
//   - Success: stores the reply, enqueues its whatsapp_send, marks the messages answered and
//     (re)plans the tenant's quiet-contact nudges, all in the transaction that completes the
//     job; the job keeps the model, tokens, tool calls and latency.
//   - The LLM unavailable (its breaker open, a permanent error, or the last attempt failing):
//     the tenant's fallback message goes, once until a real reply follows; with the breaker
//     open the job then waits for it and answers properly.
#include <string>
#include <string_view>
#include <utility>

#include "src/job_kind.hpp"

namespace recado::jobs::llm_reply {

void run(HandlerContext& ctx, Done done);

// What a question is cached under: lower case (ASCII), runs of white space as one space,
// no white space or ?!. at either end.
std::string normalise_question(std::string_view text);

// `text` cut to at most `max_chars` UTF-8 characters (never inside one), and how many it had.
std::pair<std::string, size_t> cut_text(std::string_view text, size_t max_chars);

}  // namespace recado::jobs::llm_reply
