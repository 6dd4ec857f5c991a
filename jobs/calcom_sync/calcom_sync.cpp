#include "jobs/calcom_sync/calcom_sync.hpp"

#include <memory>

#include <fmt/format.h>

#include "jobs/followup/plan.hpp"
#include "jobs/kind_support.hpp"
#include "src/job_sql.hpp"
#include "src/log.hpp"

namespace recado::jobs::calcom_sync {

namespace {

using json = nlohmann::json;
using followup_store::BookingRow;

constexpr int kPageSize = 100;


void from_webhook(HandlerContext& ctx, Done done, const TenantConfig& tenant, int64_t inbound_id) {
  auto found = std::make_shared<std::optional<std::string>>();
  ctx.query(
      [found, inbound_id](pqxx::connection& c) {
        pqxx::read_transaction tx(c);
        const auto r = job_sql::exec(tx, "recado_inbound_raw", "SELECT raw FROM recado.inbound WHERE id = $1", inbound_id);
        if (!r.empty() && !r[0][0].is_null()) *found = r[0][0].as<std::string>();
      },
      [&ctx, done, &tenant, found, inbound_id] {
        if (!*found)
          return ctx.complete_with([](pqxx::work&) {}, json{{"skipped", fmt::format("webhook {} is gone (pruned)", inbound_id)}}.dump());
        providers::Booking booking;
        try {
          booking = providers::parse_booking_webhook(**found);
        } catch (const std::exception& e) {
          // Events about no booking's times (BOOKING_NO_SHOW_UPDATED, ...): nothing to plan.
          return ctx.complete_with([](pqxx::work&) {}, json{{"skipped", e.what()}}.dump());
        }
        const Timestamp now = ctx.clock().now();
        ctx.complete_with([&tenant, row = booking_row(tenant.id, booking, "webhook"), now](pqxx::work& tx) {
          apply_booking(tx, tenant, row, now);
        }, json{{"booking", booking.uid}, {"status", booking.status}}.dump());
      });
}

struct Sync {
  HandlerContext& ctx;
  Done done;
  const TenantConfig& tenant;
  Timestamp from;
  int pages = 0;
  std::vector<std::string> seen;
};

void finish_sync(const std::shared_ptr<Sync>& s) {
  const Timestamp now = s->ctx.clock().now();
  s->ctx.complete_with(
      [s, now](pqxx::work& tx) {
        // Upcoming and accepted here, but no longer listed: cancelled while a webhook was lost.
        for (const std::string& uid : followup_store::accepted_bookings_missing(tx, s->tenant.id, now,
                                                                               now + std::chrono::hours{24 * 3660}, s->seen)) {
          followup_store::set_booking_status(tx, s->tenant.id, uid, "cancelled");
          followup_store::cancel(tx, s->tenant.id, "booking:" + uid, {}, "Cal.com no longer lists the booking");
        }
      },
      json{{"pages", s->pages}, {"bookings", s->seen.size()}}.dump());
}

void next_page(const std::shared_ptr<Sync>& s) {
  ProviderCall call;
  call.api = Api::calcom;
  call.breaker = breaker_name(Api::calcom, s->tenant.id);
  std::vector<int64_t> types(s->tenant.calcom.event_type_ids.begin(), s->tenant.calcom.event_type_ids.end());
  call.http = providers::build_bookings_page_call(calcom_endpoint(s->tenant.calcom), s->from, kPageSize,
                                                  s->pages * kPageSize, types);
  s->ctx.call(std::move(call), [s](CallResult r) {
    const Timestamp now = s->ctx.clock().now();
    if (!r.ok()) return s->done(r.outcome(now));
    const providers::BookingsPage page = providers::parse_bookings_page(r.reply.body, kPageSize);  // throws: a retry
    ++s->pages;
    std::vector<BookingRow> rows;
    for (const auto& b : page.bookings) {
      rows.push_back(booking_row(s->tenant.id, b, "sync"));
      s->seen.push_back(b.uid);
    }
    s->ctx.query(
        [s, rows = std::move(rows), now](pqxx::connection& c) {
          pqxx::work tx(c);
          for (const BookingRow& row : rows) apply_booking(tx, s->tenant, row, now);
          tx.commit();
        },
        [s, more = page.more] {
          if (more) return next_page(s);
          finish_sync(s);
        });
  });
}

}  // namespace

BookingRow booking_row(const std::string& tenant, const providers::Booking& b, std::string source) {
  BookingRow r;
  r.tenant = tenant;
  r.uid = b.uid;
  r.calcom_id = b.id;
  r.status = b.status.empty() ? "accepted" : b.status;
  r.start = b.start;
  r.end = b.end;
  r.title = b.title;
  r.attendee_name = b.attendee_name;
  r.attendee_email = b.attendee_email;
  r.attendee_phone = b.attendee_phone;
  r.attendee_time_zone = b.attendee_time_zone;
  r.event_type_id = b.event_type_id;
  r.rescheduled_from = b.rescheduled_from;
  r.source = std::move(source);
  return r;
}

void apply_booking(pqxx::transaction_base& tx, const TenantConfig& tenant, BookingRow booking, Timestamp now) {
  const std::string status = followup_store::upsert_booking(tx, booking);
  const std::string subject = "booking:" + booking.uid;
  if (!booking.rescheduled_from.empty()) {
    followup_store::set_booking_status(tx, tenant.id, booking.rescheduled_from, "rescheduled");
    followup_store::cancel(tx, tenant.id, "booking:" + booking.rescheduled_from, {},
                           "rescheduled as " + booking.uid);
  }
  if (status != "accepted") {
    followup_store::cancel(tx, tenant.id, subject, {}, "booking " + status);
    return;
  }
  std::vector<std::string> keep;
  for (const auto& p : followup::plan_booking_followups({booking.start, booking.end, status}, tenant.followups, now)) {
    followup_store::plan(tx, tenant.id, subject, p.rule, p.due,
                         json{{"tenant", tenant.id}, {"subject", subject}, {"rule", p.rule}}.dump(), false);
    keep.push_back(p.rule);
  }
  // A rule whose time has passed since the booking moved earlier no longer applies.
  followup_store::cancel(tx, tenant.id, subject, keep, "no longer due");
}

void run(HandlerContext& ctx, Done done) {
  const json payload = payload_of(ctx);
  const std::string tenant_id = payload.value("tenant", std::string());
  const TenantConfig* tenant = ctx.tenant(tenant_id);
  if (!tenant) return done(Outcome::discard("payload.tenant '" + tenant_id + "' names no configured tenant"));
  if (payload.value("mode", std::string()) == "full") {
    if (!tenant->calcom.enabled()) return done(Outcome::discard("tenant " + tenant_id + " has no calcom.api_key"));
    const Timestamp now = ctx.clock().now();
    auto s = std::make_shared<Sync>(Sync{ctx, std::move(done), *tenant, now - tenant->calcom.sync_window, 0, {}});
    return next_page(s);
  }
  const int64_t inbound_id = payload.value("inbound_id", int64_t{0});
  if (inbound_id <= 0) return done(Outcome::discard("payload needs mode \"full\" or an inbound_id"));
  from_webhook(ctx, std::move(done), *tenant, inbound_id);
}

}  // namespace recado::jobs::calcom_sync
