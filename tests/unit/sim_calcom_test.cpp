// The simulated Cal.com over real HTTP: a taken slot gets Cal.com's own error, slots leave
// and come back with bookings, cancellations and reschedules, POST
// /v2/bookings/{uid}/reschedule, and GET /v2/slots answering in the asked time zone.
#include "src/sim_calcom.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "src/sim.hpp"
#include "src/sim_thread.hpp"
#include "src/time_format.hpp"
#include "tests/support/sim_client.hpp"

namespace recado {
namespace {

using json = nlohmann::json;
using Headers = std::map<std::string, std::string>;
using Reply = test::RawReply;

const Headers kCalcom = {{"Authorization", "Bearer cal_live_x"}, {"cal-api-version", "2024-08-13"}};

class SimCalcom : public ::testing::Test {
 protected:
  void SetUp() override {
    SimulatorOptions options;
    options.clock = &clock_;
    sim_ = std::make_unique<SimulatorThread>(options);
  }

  Reply call(const std::string& method, const std::string& path, const std::string& body = "") {
    return test::raw_call(sim_->port(), method, path, body, kCalcom);
  }
  Reply book(const std::string& start, const std::string& name = "Ana") {
    const json body = {{"start", start},
                       {"eventTypeId", 7},
                       {"lengthInMinutes", 30},
                       {"attendee",
                        {{"name", name},
                         {"email", name + "@example.com"},
                         {"timeZone", "America/Sao_Paulo"},
                         {"phoneNumber", "+5511987654321"}}}};
    return call("POST", "/v2/bookings", body.dump());
  }
  std::string booked_uid(const std::string& start) {
    const Reply r = book(start);
    EXPECT_EQ(r.status, 201) << r.raw;
    return r.status == 201 ? r.body["data"]["uid"].get<std::string>() : "";
  }
  Reply reschedule(const std::string& uid, const json& body) {
    return call("POST", "/v2/bookings/" + uid + "/reschedule", body.dump());
  }
  // The starts GET /v2/slots lists for Monday 2026-01-05 (UTC), in `zone` if given.
  std::vector<std::string> monday_slots(const std::string& zone = "") {
    std::string path = "/v2/slots?eventTypeId=7&start=2026-01-05&end=2026-01-05";
    if (!zone.empty()) path += "&timeZone=" + zone;
    const Reply r = call("GET", path);
    EXPECT_EQ(r.status, 200) << r.raw;
    std::vector<std::string> starts;
    for (const auto& [date, list] : r.body["data"].items())
      for (const json& s : list) starts.push_back(s["start"]);
    return starts;
  }
  bool offered(const std::string& utc_start) {
    const auto want = parse_rfc3339(utc_start);
    for (const std::string& s : monday_slots("America/Sao_Paulo"))
      if (parse_rfc3339(s) == want) return true;
    return false;
  }

  FakeClock clock_{*parse_rfc3339("2026-01-01T00:00:00Z")};  // a Thursday
  std::unique_ptr<SimulatorThread> sim_;
};

TEST_F(SimCalcom, ATakenSlotGetsCalcomsError) {
  ASSERT_EQ(book("2026-01-05T13:00:00Z").status, 201);
  EXPECT_FALSE(offered("2026-01-05T13:00:00Z"));
  const Reply again = book("2026-01-05T13:00:00.000Z", "Bia");
  EXPECT_EQ(again.status, 400);
  EXPECT_EQ(again.body["status"], "error");
  EXPECT_EQ(again.body["error"]["code"], "BadRequestException");
  EXPECT_EQ(again.body["error"]["message"], kSlotTakenMessage);
  // The same instant written with an offset is the same slot.
  EXPECT_EQ(book("2026-01-05T10:00:00-03:00", "Caio").body["error"]["message"], kSlotTakenMessage);
  EXPECT_EQ(call("GET", "/v2/bookings").body["data"].size(), 1u);
}

TEST_F(SimCalcom, SlotsComeBackWhenCancelled) {
  const std::string uid = booked_uid("2026-01-05T14:00:00Z");
  EXPECT_EQ(monday_slots().size(), 15u);
  EXPECT_FALSE(offered("2026-01-05T14:00:00Z"));
  ASSERT_EQ(call("POST", "/v2/bookings/" + uid + "/cancel", "{}").status, 200);
  EXPECT_TRUE(offered("2026-01-05T14:00:00Z"));
  EXPECT_EQ(book("2026-01-05T14:00:00Z", "Bia").status, 201);  // free again
}

TEST_F(SimCalcom, RescheduleMovesTheBookingToANewOne) {
  const std::string old_uid = booked_uid("2026-01-05T13:00:00Z");
  const Reply moved = reschedule(
      old_uid, {{"start", "2026-01-05T15:30:00Z"}, {"reschedulingReason", "imprevisto"}});
  ASSERT_EQ(moved.status, 201) << moved.raw;
  EXPECT_EQ(moved.body["status"], "success");
  const json& data = moved.body["data"];
  const std::string new_uid = data["uid"];
  EXPECT_NE(new_uid, old_uid);
  EXPECT_EQ(data["rescheduledFromUid"], old_uid);
  EXPECT_EQ(data["reschedulingReason"], "imprevisto");
  EXPECT_EQ(data["status"], "accepted");
  EXPECT_EQ(data["start"], "2026-01-05T15:30:00.000Z");
  EXPECT_EQ(data["end"], "2026-01-05T16:00:00.000Z");
  EXPECT_EQ(data["eventTypeId"], 7);
  EXPECT_EQ(data["attendees"][0]["name"], "Ana");
  EXPECT_EQ(data["attendees"][0]["phoneNumber"], "+5511987654321");

  // The old one is cancelled and says where it went.
  const Reply cancelled = call("GET", "/v2/bookings?status=cancelled");
  ASSERT_EQ(cancelled.body["data"].size(), 1u) << cancelled.raw;
  const json& old = cancelled.body["data"][0];
  EXPECT_EQ(old["uid"], old_uid);
  EXPECT_EQ(old["status"], "cancelled");
  EXPECT_EQ(old["rescheduled"], true);
  EXPECT_EQ(old["rescheduledToUid"], new_uid);
  const Reply upcoming = call("GET", "/v2/bookings?status=upcoming");
  ASSERT_EQ(upcoming.body["data"].size(), 1u);
  EXPECT_EQ(upcoming.body["data"][0]["uid"], new_uid);

  // The old start is free again, the new one taken.
  EXPECT_TRUE(offered("2026-01-05T13:00:00Z"));
  EXPECT_FALSE(offered("2026-01-05T15:30:00Z"));

  // The old booking cannot move again; the answer names the booking it became.
  const Reply twice = reschedule(old_uid, {{"start", "2026-01-05T16:00:00Z"}});
  EXPECT_EQ(twice.status, 400);
  EXPECT_NE(twice.body["error"]["message"].get<std::string>().find(new_uid), std::string::npos)
      << twice.raw;
}

TEST_F(SimCalcom, RescheduleRefusals) {
  const std::string uid = booked_uid("2026-01-05T13:00:00Z");
  ASSERT_EQ(book("2026-01-05T15:00:00Z", "Bia").status, 201);

  const Reply taken = reschedule(uid, {{"start", "2026-01-05T15:00:00Z"}});
  EXPECT_EQ(taken.status, 400);
  EXPECT_EQ(taken.body["error"]["code"], "BadRequestException");
  EXPECT_EQ(taken.body["error"]["message"], kSlotTakenMessage);
  EXPECT_EQ(reschedule(uid, {{"start", "2026-01-05T13:15:00Z"}}).status, 400);  // off the grid
  EXPECT_EQ(reschedule(uid, {{"start", "2026-01-03T13:00:00Z"}}).status, 400);  // Saturday
  EXPECT_EQ(reschedule(uid, {{"start", "2025-12-29T13:00:00Z"}}).status, 400);  // the past
  const Reply no_start = reschedule(uid, {{"reschedulingReason", "x"}});
  EXPECT_EQ(no_start.status, 400);
  EXPECT_NE(no_start.body["error"]["message"].get<std::string>().find("start"), std::string::npos);
  EXPECT_EQ(reschedule(uid, {{"start", "2026-01-05T16:00:00Z"}, {"reschedulingReason", 3}}).status,
            400);
  const Reply unknown = reschedule("nope", {{"start", "2026-01-05T16:00:00Z"}});
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.body["error"]["code"], "NOT_FOUND");
  // Nothing moved.
  EXPECT_EQ(call("GET", "/v2/bookings?status=upcoming").body["data"].size(), 2u);
  EXPECT_TRUE(call("GET", "/v2/bookings?status=cancelled").body["data"].empty());

  // A cancelled booking cannot be rescheduled.
  ASSERT_EQ(call("POST", "/v2/bookings/" + uid + "/cancel", "{}").status, 200);
  const Reply gone = reschedule(uid, {{"start", "2026-01-05T16:00:00Z"}});
  EXPECT_EQ(gone.status, 400);
  EXPECT_NE(gone.body["error"]["message"].get<std::string>().find("cancelled"), std::string::npos);
  EXPECT_EQ(call("GET", "/v2/bookings/" + uid + "/reschedule").status, 405);
}

TEST_F(SimCalcom, RescheduleToItsOwnStartIsAllowed) {
  const std::string uid = booked_uid("2026-01-05T13:00:00Z");
  const Reply same = reschedule(uid, {{"start", "2026-01-05T13:00:00Z"}});
  ASSERT_EQ(same.status, 201) << same.raw;
  EXPECT_EQ(same.body["data"]["rescheduledFromUid"], uid);
  EXPECT_FALSE(offered("2026-01-05T13:00:00Z"));
}

TEST_F(SimCalcom, SlotsAnswerInTheAskedTimeZone) {
  // São Paulo (-03:00, no daylight saving since 2019): 09:00 UTC is 06:00 there.
  const Reply sp =
      call("GET",
           "/v2/slots?eventTypeId=7&start=2026-01-05&end=2026-01-06&timeZone=America%2FSao_Paulo");
  ASSERT_EQ(sp.status, 200) << sp.raw;
  ASSERT_EQ(sp.body["data"].size(), 2u);
  const json& monday = sp.body["data"]["2026-01-05"];
  ASSERT_EQ(monday.size(), 16u);
  EXPECT_EQ(monday[0]["start"], "2026-01-05T06:00:00.000-03:00");
  EXPECT_EQ(monday[15]["start"], "2026-01-05T13:30:00.000-03:00");
  EXPECT_EQ(parse_rfc3339(monday[0]["start"].get<std::string>()),
            parse_rfc3339("2026-01-05T09:00:00Z"));

  // Tokyo (+09:00): the last four UTC slots of the day fall on the next date there.
  const Reply tokyo =
      call("GET", "/v2/slots?eventTypeId=7&start=2026-01-05&end=2026-01-05&timeZone=Asia/Tokyo");
  ASSERT_EQ(tokyo.status, 200) << tokyo.raw;
  ASSERT_EQ(tokyo.body["data"]["2026-01-05"].size(), 12u) << tokyo.raw;
  ASSERT_EQ(tokyo.body["data"]["2026-01-06"].size(), 4u) << tokyo.raw;
  EXPECT_EQ(tokyo.body["data"]["2026-01-05"][0]["start"], "2026-01-05T18:00:00.000+09:00");
  EXPECT_EQ(tokyo.body["data"]["2026-01-06"][0]["start"], "2026-01-06T00:00:00.000+09:00");

  // Half-hour offsets, and daylight saving (New York is -04:00 in July, -05:00 in January).
  EXPECT_EQ(monday_slots("Asia/Kolkata").front(), "2026-01-05T14:30:00.000+05:30");
  EXPECT_EQ(monday_slots("America/New_York").front(), "2026-01-05T04:00:00.000-05:00");
  const Reply july = call(
      "GET", "/v2/slots?eventTypeId=7&start=2026-07-06&end=2026-07-06&timeZone=America/New_York");
  EXPECT_EQ(july.body["data"]["2026-07-06"][0]["start"], "2026-07-06T05:00:00.000-04:00");
  EXPECT_EQ(monday_slots("UTC").front(), "2026-01-05T09:00:00.000+00:00");

  // Without timeZone, UTC as before.
  EXPECT_EQ(monday_slots().front(), "2026-01-05T09:00:00.000Z");
  const Reply bad =
      call("GET", "/v2/slots?eventTypeId=7&start=2026-01-05&end=2026-01-05&timeZone=Mars/Base");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body["error"]["message"].get<std::string>().find("timeZone"), std::string::npos);
}

TEST_F(SimCalcom, ZonedSlotsFollowBookings) {
  const std::string uid = booked_uid("2026-01-05T12:00:00Z");  // 09:00 in São Paulo
  std::vector<std::string> starts = monday_slots("America/Sao_Paulo");
  EXPECT_EQ(starts.size(), 15u);
  EXPECT_EQ(std::count(starts.begin(), starts.end(), "2026-01-05T09:00:00.000-03:00"), 0);
  ASSERT_EQ(reschedule(uid, {{"start", "2026-01-05T12:30:00Z"}}).status, 201);
  starts = monday_slots("America/Sao_Paulo");
  EXPECT_EQ(std::count(starts.begin(), starts.end(), "2026-01-05T09:00:00.000-03:00"), 1);
  EXPECT_EQ(std::count(starts.begin(), starts.end(), "2026-01-05T09:30:00.000-03:00"), 0);
}

}  // namespace
}  // namespace recado
