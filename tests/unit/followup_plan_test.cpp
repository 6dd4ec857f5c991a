// Follow-up planning (which rules a booking calls for, and when) and message templates.
#include "jobs/followup/plan.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace recado::jobs::followup {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

// 2026-01-05 (a Monday) at hh:mm UTC.
Timestamp monday_utc(int hh, int mm = 0) {
  return Timestamp{std::chrono::sys_days{std::chrono::year{2026} / 1 / 5}.time_since_epoch()} + hours{hh} +
         minutes{mm};
}

FollowupRule rule(std::string name, FollowupWhen when, Duration offset) {
  FollowupRule r;
  r.name = std::move(name);
  r.when = when;
  r.offset = offset;
  r.text = "x";
  return r;
}

const std::vector<FollowupRule> kRules = {
    rule("reminder_24h", FollowupWhen::before_start, hours{24}),
    rule("reminder_2h", FollowupWhen::before_start, hours{2}),
    rule("thanks", FollowupWhen::after_end, hours{1}),
    rule("nudge", FollowupWhen::quiet, hours{4}),
};

// --- planning ------------------------------------------------------------------------------

TEST(FollowupPlan, BeforeStartAndAfterEndMath) {
  const BookingTimes booking{monday_utc(10), monday_utc(10, 30), "accepted"};
  const auto planned = plan_booking_followups(booking, kRules, monday_utc(10) - hours{48});
  EXPECT_EQ(planned, (std::vector<Planned>{{"reminder_24h", monday_utc(10) - hours{24}},
                                           {"reminder_2h", monday_utc(8)},
                                           {"thanks", monday_utc(11, 30)}}));
}

TEST(FollowupPlan, QuietRulesAreNeverBookingDriven) {
  const BookingTimes booking{monday_utc(10), monday_utc(11), "accepted"};
  const std::vector<FollowupRule> only_quiet = {rule("nudge", FollowupWhen::quiet, hours{4})};
  EXPECT_TRUE(plan_booking_followups(booking, only_quiet, monday_utc(0)).empty());
  for (const Planned& p : plan_booking_followups(booking, kRules, monday_utc(0))) EXPECT_NE(p.rule, "nudge");
}

TEST(FollowupPlan, RulesWhoseTimeHasPassedAreDropped) {
  const BookingTimes booking{monday_utc(10), monday_utc(10, 30), "accepted"};
  // Booked three hours ahead: the 24-hour reminder is already late; the 2-hour one is not.
  auto planned = plan_booking_followups(booking, kRules, monday_utc(7));
  EXPECT_EQ(planned, (std::vector<Planned>{{"reminder_2h", monday_utc(8)}, {"thanks", monday_utc(11, 30)}}));
  // Exactly at a due time: that one is past (due must be strictly after now).
  planned = plan_booking_followups(booking, kRules, monday_utc(8));
  EXPECT_EQ(planned, (std::vector<Planned>{{"thanks", monday_utc(11, 30)}}));
  // After the thanks is due: nothing.
  EXPECT_TRUE(plan_booking_followups(booking, kRules, monday_utc(11, 30)).empty());
  EXPECT_TRUE(plan_booking_followups(booking, kRules, monday_utc(20)).empty());
}

TEST(FollowupPlan, CancelledOrRejectedBookingsGetNone) {
  for (const char* status : {"cancelled", "CANCELLED", "canceled", "rejected", "Rejected"}) {
    const BookingTimes booking{monday_utc(10), monday_utc(11), status};
    EXPECT_TRUE(plan_booking_followups(booking, kRules, monday_utc(0) - hours{48}).empty()) << status;
  }
  // Any other status is planned: accepted, pending, and statuses this code does not know.
  for (const char* status : {"accepted", "ACCEPTED", "pending", "awaiting_host", ""}) {
    const BookingTimes booking{monday_utc(10), monday_utc(11), status};
    EXPECT_EQ(plan_booking_followups(booking, kRules, monday_utc(0) - hours{48}).size(), 3u) << status;
  }
}

TEST(FollowupPlan, NoRulesPlanNothing) {
  const BookingTimes booking{monday_utc(10), monday_utc(11), "accepted"};
  EXPECT_TRUE(plan_booking_followups(booking, {}, monday_utc(0)).empty());
}

// --- templates -------------------------------------------------------------------------------

TemplateValues values(std::string language, std::string zone = "America/Sao_Paulo") {
  TemplateValues v;
  v.name = "Maria";
  v.title = "Consulta";
  v.tenant = "Clínica Sorriso";
  v.start = monday_utc(13);  // 10:00 in São Paulo (UTC-3, no daylight saving since 2019)
  v.time_zone = std::move(zone);
  v.language = std::move(language);
  return v;
}

constexpr const char* kAll = "{name}|{date}|{time}|{weekday}|{title}|{tenant}";

TEST(FollowupTemplate, Portuguese) {
  EXPECT_EQ(render_template(kAll, values("pt-BR")), "Maria|05/01/2026|10:00|segunda-feira|Consulta|Clínica Sorriso");
  EXPECT_EQ(render_template("{weekday}", values("pt_PT")), "segunda-feira");
  EXPECT_EQ(render_template("{weekday}", values("PT")), "segunda-feira");
}

TEST(FollowupTemplate, Spanish) {
  EXPECT_EQ(render_template(kAll, values("es")), "Maria|05/01/2026|10:00|lunes|Consulta|Clínica Sorriso");
  TemplateValues wednesday = values("es-MX");
  wednesday.start += hours{48};
  EXPECT_EQ(render_template("{weekday} {date}", wednesday), "miércoles 07/01/2026");
}

TEST(FollowupTemplate, EnglishIsTheDefault) {
  for (const char* language : {"en", "en-US", "", "fr"})
    EXPECT_EQ(render_template(kAll, values(language)), "Maria|2026-01-05|10:00|Monday|Consulta|Clínica Sorriso")
        << language;
}

TEST(FollowupTemplate, DateAndWeekdayAreTheLocalOnes) {
  // 01:30 UTC on Monday is still Sunday evening in São Paulo.
  TemplateValues v = values("pt-BR");
  v.start = monday_utc(1, 30);
  EXPECT_EQ(render_template("{weekday} {date} {time}", v), "domingo 04/01/2026 22:30");
  v.time_zone = "UTC";
  EXPECT_EQ(render_template("{weekday} {date} {time}", v), "segunda-feira 05/01/2026 01:30");
}

TEST(FollowupTemplate, DaylightSavingZone) {
  // Europe/Lisbon: WET (UTC+0) in winter, WEST (UTC+1) from 2026-03-29 01:00 UTC.
  const auto day = [](int m, int d) {
    return Timestamp{std::chrono::sys_days{std::chrono::year{2026} / m / d}.time_since_epoch()};
  };
  TemplateValues v = values("pt-PT", "Europe/Lisbon");
  v.start = day(3, 28) + hours{9};  // Saturday, before the change
  EXPECT_EQ(render_template("{weekday} {date} {time}", v), "sábado 28/03/2026 09:00");
  v.start = day(3, 29) + hours{9};  // Sunday, after it
  EXPECT_EQ(render_template("{weekday} {date} {time}", v), "domingo 29/03/2026 10:00");
  v.start = day(3, 29) + minutes{59};  // one minute before it
  EXPECT_EQ(render_template("{time}", v), "00:59");
  v.start = day(3, 29) + hours{1};  // the change: 01:00 becomes 02:00
  EXPECT_EQ(render_template("{time}", v), "02:00");
  // New York in summer (EDT, UTC-4), in English.
  TemplateValues ny = values("en", "America/New_York");
  ny.start = day(7, 3) + hours{14} + minutes{5};
  EXPECT_EQ(render_template("{weekday} {date} {time}", ny), "Friday 2026-07-03 10:05");
}

// Unknown placeholders are rejected when the configuration is read (config_test); if one
// reaches render_template anyway, it is copied as is, like any other text in braces.
TEST(FollowupTemplate, AnythingElseInBracesIsCopiedAsIs) {
  const TemplateValues v = values("pt-BR");
  EXPECT_EQ(render_template("Oi {nome}, {name}!", v), "Oi {nome}, Maria!");
  EXPECT_EQ(render_template("{} { name } {name", v), "{} { name } {name");
  EXPECT_EQ(render_template("{{name}}", v), "{Maria}");
  EXPECT_EQ(render_template("", v), "");
  EXPECT_EQ(render_template("sem nada", v), "sem nada");
  EXPECT_EQ(render_template("{name}{name}", v), "MariaMaria");
  // Values are not themselves templates.
  TemplateValues tricky = v;
  tricky.name = "{title}";
  EXPECT_EQ(render_template("{name}", tricky), "{title}");
}

TEST(FollowupTemplate, AnUnknownZoneShowsUtc) {
  TemplateValues v = values("en", "Mars/Olympus");
  EXPECT_EQ(render_template("{date} {time}", v), "2026-01-05 13:00");
}

}  // namespace
}  // namespace recado::jobs::followup
