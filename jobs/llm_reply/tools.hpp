#pragma once
// The secretary's tools: what the model may do in a conversation besides talking. One
// internal interface (jobs/providers/llm's ToolSpec / ToolCall / ToolResult) that the
// adapters encode for each LLM API.
//   find_slots          free times in the tenant's calendar (GET /v2/slots), in its time zone
//   book_slot           books one for the contact (POST /v2/bookings, with name and phone)
//   cancel_booking      cancels one of the contact's own upcoming bookings
//   reschedule_booking  moves one of them to another free time
// Every call goes through HandlerContext::call (breaker, rate limits, timeouts). What a tool
// changes is stored at once, as a Cal.com webhook would store it (follow-ups planned, moved or
// cancelled), so the webhook that follows is a no-op and a retried reply knows what was done.
// Results are JSON objects; an error result has "error" (slot_taken, invalid_arguments,
// calendar_unavailable, no_booking, refused) and "message", and slot_taken lists other "slots".
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "jobs/providers/llm.hpp"
#include "src/followup_store.hpp"
#include "src/job_kind.hpp"
#include "src/message_store.hpp"

namespace recado::jobs::llm_reply {

// What a tool changed, for the confirmation the contact gets.
struct BookingChange {
  enum class Kind { booked, cancelled, rescheduled };
  Kind kind = Kind::booked;
  followup_store::BookingRow booking;  // the booking now (cancelled: the one cancelled)
};

// The conversation a tool acts for.
struct ToolScope {
  HandlerContext& ctx;
  const TenantConfig& tenant;
  std::string contact;  // digits
  std::string name;     // as the gateway gave it ("" when unknown)
  std::vector<message_store::UpcomingBooking> bookings;  // the contact's, soonest first
};

// The tools a tenant's model gets: none without Cal.com and an event type.
std::vector<providers::ToolSpec> booking_tools(const TenantConfig& tenant);

using ToolDone = std::function<void(providers::ToolResult, std::optional<BookingChange>)>;

// Runs one call. Never fails the job: what goes wrong is told to the model as an error result.
void run_tool(const std::shared_ptr<ToolScope>& scope, const providers::ToolCall& call, ToolDone done);

// "sexta-feira, 27/11/2026 09:00" in the tenant's zone and language.
std::string slot_label(const TenantConfig& tenant, Timestamp at);

// The message that tells the contact what changed (calcom.booked_text & co., or a default in
// the tenant's language).
std::string confirmation(const TenantConfig& tenant, const BookingChange& change, const std::string& name);

}  // namespace recado::jobs::llm_reply
