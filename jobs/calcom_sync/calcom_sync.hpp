#pragma once
// calcom_sync: keeps recado's copy of a tenant's Cal.com bookings, and the follow-ups they
// call for, true.
//   - From a webhook (payload {"tenant", "event", "booking_uid", "inbound_id"}, made by the
//     ingress): reads the booking from the stored webhook body, upserts it and (re)plans its
//     follow-ups; a reschedule's old booking is marked rescheduled and its follow-ups
//     cancelled.
//   - Full (payload {"tenant", "mode": "full"}, from the periodic schedule or `recadoctl sync
//     calcom`): pages through GET /v2/bookings (upcoming, from `calcom.sync_window` ago) and
//     applies each booking the same way, since Cal.com does not retry a missed webhook; an
//     accepted upcoming booking Cal.com no longer lists was cancelled meanwhile.
#include "jobs/providers/calcom.hpp"
#include "src/followup_store.hpp"
#include "src/job_kind.hpp"

namespace recado::jobs::calcom_sync {

void run(HandlerContext& ctx, Done done);

// A booking as Cal.com described it, as recado stores it; `source`: webhook, sync, conversation.
followup_store::BookingRow booking_row(const std::string& tenant, const providers::Booking& booking,
                                       std::string source);

// Stores `booking` for `tenant` and plans, moves or cancels its follow-ups, in the caller's
// transaction. (Also how a booking made in conversation will be recorded.)
void apply_booking(pqxx::transaction_base& tx, const TenantConfig& tenant,
                   followup_store::BookingRow booking, Timestamp now);

inline constexpr const char* kQueue = "calcom_sync";

}  // namespace recado::jobs::calcom_sync
