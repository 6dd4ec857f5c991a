// The simulator's fault specs (parse_fault_spec / parse_fault_map: what is accepted, and the
// reasons naming the field when not) and FaultBook's decisions (rate, count, latency) from
// a seeded generator.
#include "src/sim_faults.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

namespace recado {
namespace {

using json = nlohmann::json;

FaultSpec parse_ok(const std::string& text, SimEndpoint e = SimEndpoint::openai) {
  auto r = parse_fault_spec(json::parse(text), e);
  if (auto* reason = std::get_if<std::string>(&r)) {
    ADD_FAILURE() << text << " was refused: " << *reason;
    return {};
  }
  return std::get<FaultSpec>(r);
}

// The reason `text` is refused ("" when it is accepted).
std::string refusal(const std::string& text, SimEndpoint e = SimEndpoint::openai) {
  auto r = parse_fault_spec(json::parse(text), e);
  if (auto* reason = std::get_if<std::string>(&r)) return *reason;
  return "";
}

TEST(SimFaultSpec, DefaultsAndFields) {
  const FaultSpec s = parse_ok(R"({"fault":"rate_limit"})");
  EXPECT_EQ(s.fault, FaultKind::rate_limit);
  EXPECT_EQ(s.rate, 1.0);
  EXPECT_FALSE(s.count.has_value());
  EXPECT_FALSE(s.latency.any());

  const FaultSpec full = parse_ok(
      R"({"fault":"rate_limit","rate":0.25,"count":3,"retry_after":"2","retry_after_ms":1500,"latency_ms":{"min":10,"max":20}})");
  EXPECT_EQ(full.rate, 0.25);
  EXPECT_EQ(full.count, 3);
  EXPECT_EQ(full.retry_after, "2");
  EXPECT_EQ(full.retry_after_ms, 1500);
  EXPECT_EQ(full.latency.min_ms, 10);
  EXPECT_EQ(full.latency.max_ms, 20);

  EXPECT_EQ(parse_ok(R"({"fault":"status","status":503})").status, 503);
  EXPECT_EQ(parse_ok(R"({"fault":"status"})").status, 500);
  EXPECT_EQ(parse_ok(R"({"fault":"cloudapi_code","code":131056})", SimEndpoint::cloudapi).code,
            131056);
  EXPECT_EQ(parse_ok(R"({"latency_ms":250})").latency.max_ms, 250);
  EXPECT_EQ(parse_ok(R"({"latency_ms":250})").fault, FaultKind::none);
  EXPECT_EQ(parse_ok(R"({"fault":"rate_limit","retry_after":"Wed, 21 Oct 2015 07:28:00 GMT"})")
                .retry_after,
            "Wed, 21 Oct 2015 07:28:00 GMT");
  EXPECT_EQ(parse_ok(R"({"fault":"rate_limit","retry_after":7})").retry_after, "7");
  EXPECT_EQ(
      parse_ok(R"({"fault":"rate_limit","retry_delay":"0.5s"})", SimEndpoint::gemini).retry_delay,
      "0.5s");
  for (const char* kind : {"hang", "reset", "truncate", "overloaded", "none"})
    EXPECT_EQ(to_string(parse_ok(std::string(R"({"fault":")") + kind + "\"}").fault), kind);
}

TEST(SimFaultSpec, RefusalsNameTheField) {
  struct Case {
    const char* spec;
    SimEndpoint endpoint;
    const char* names;
  };
  const std::vector<Case> cases = {
      {R"([])", SimEndpoint::openai, "JSON object"},
      {R"({"fault":"explode"})", SimEndpoint::openai, "fault must be one of"},
      {R"({"fault":7})", SimEndpoint::openai, "fault must be one of"},
      {R"({"fault":"status","rate":1.5})", SimEndpoint::openai, "rate"},
      {R"({"fault":"status","rate":"half"})", SimEndpoint::openai, "rate"},
      {R"({"fault":"status","count":0})", SimEndpoint::openai, "count"},
      {R"({"fault":"status","count":2.5})", SimEndpoint::openai, "count"},
      {R"({"fault":"status","status":99})", SimEndpoint::openai, "status"},
      {R"({"fault":"status","status":600})", SimEndpoint::openai, "status"},
      {R"({"fault":"rate_limit","status":503})", SimEndpoint::openai, "status applies only"},
      {R"({"fault":"cloudapi_code"})", SimEndpoint::cloudapi, "code is required"},
      {R"({"fault":"cloudapi_code","code":131056})", SimEndpoint::evolution,
       "only to endpoint cloudapi"},
      {R"({"fault":"quota"})", SimEndpoint::evolution, "quota"},
      {R"({"fault":"rate_limit","retry_after":"soon"})", SimEndpoint::openai, "retry_after"},
      {R"({"fault":"rate_limit","retry_after_ms":-1})", SimEndpoint::openai, "retry_after_ms"},
      {R"({"fault":"hang","retry_after":"2"})", SimEndpoint::openai, "retry_after"},
      {R"({"fault":"rate_limit","retry_delay":"5"})", SimEndpoint::gemini, "retry_delay"},
      {R"({"fault":"rate_limit","retry_delay":"5s"})", SimEndpoint::openai, "retry_delay"},
      {R"({"latency_ms":-5})", SimEndpoint::openai, "latency_ms"},
      {R"({"latency_ms":{"min":50,"max":10}})", SimEndpoint::openai, "latency_ms.min"},
      {R"({"latency_ms":{"min":5}})", SimEndpoint::openai, "latency_ms"},
      {R"({"latency_ms":"slow"})", SimEndpoint::openai, "latency_ms"},
      {R"({"rate":0.5})", SimEndpoint::openai, "rate"},
      {R"({"fault":"status","colour":"red"})", SimEndpoint::openai, "colour"},
  };
  for (const Case& c : cases) {
    const std::string reason = refusal(c.spec, c.endpoint);
    EXPECT_NE(reason.find(c.names), std::string::npos) << c.spec << " -> \"" << reason << "\"";
  }
}

TEST(SimFaultSpec, MapNamesEndpointAndField) {
  auto ok = parse_fault_map(
      json::parse(R"({"openai":{"fault":"rate_limit"},"evolution":{"latency_ms":5}})"));
  ASSERT_TRUE(std::holds_alternative<FaultMap>(ok));
  EXPECT_EQ(std::get<FaultMap>(ok).size(), 2u);
  EXPECT_EQ(std::get<FaultMap>(ok).at(SimEndpoint::openai).fault, FaultKind::rate_limit);

  auto unknown = parse_fault_map(json::parse(R"({"twilio":{"fault":"reset"}})"));
  ASSERT_TRUE(std::holds_alternative<std::string>(unknown));
  EXPECT_NE(std::get<std::string>(unknown).find("twilio"), std::string::npos);

  auto bad = parse_fault_map(json::parse(R"({"anthropic":{"fault":"status","rate":2}})"));
  ASSERT_TRUE(std::holds_alternative<std::string>(bad));
  EXPECT_NE(std::get<std::string>(bad).find("faults.anthropic.rate"), std::string::npos)
      << std::get<std::string>(bad);
}

TEST(SimFaultSpec, ToJsonRoundTrips) {
  const FaultSpec s = parse_ok(
      R"({"fault":"rate_limit","rate":0.5,"count":4,"retry_after":"3","latency_ms":{"min":1,"max":9}})");
  const FaultSpec again = parse_ok(to_json(s).dump());
  EXPECT_EQ(to_json(again), to_json(s));
}

TEST(SimFaultBook, NoSpecMeansNoFault) {
  FaultBook book(1);
  const FaultDecision d = book.decide(SimEndpoint::openai);
  EXPECT_EQ(d.fault, FaultKind::none);
  EXPECT_EQ(d.latency, Duration{0});
}

TEST(SimFaultBook, CountHitsThenClears) {
  FaultBook book(1);
  book.set(SimEndpoint::evolution,
           parse_ok(R"({"fault":"status","status":502,"count":2,"latency_ms":5})"));
  EXPECT_EQ(book.decide(SimEndpoint::evolution).fault, FaultKind::status);
  EXPECT_EQ(book.describe()["evolution"]["remaining"], 1);
  const FaultDecision second = book.decide(SimEndpoint::evolution);
  EXPECT_EQ(second.fault, FaultKind::status);
  EXPECT_EQ(second.spec.status, 502);
  EXPECT_FALSE(book.spec(SimEndpoint::evolution).has_value());
  const FaultDecision third = book.decide(SimEndpoint::evolution);
  EXPECT_EQ(third.fault, FaultKind::none);
  EXPECT_EQ(third.latency, Duration{0});  // the whole spec cleared, latency included
  EXPECT_EQ(book.decide(SimEndpoint::openai).fault, FaultKind::none);  // other endpoints untouched
}

// Which of `n` requests a spec hits, as a string of 0/1.
std::string pattern(uint64_t seed, const std::string& spec, int n) {
  FaultBook book(seed);
  book.set(SimEndpoint::openai, parse_ok(spec));
  std::string out;
  for (int i = 0; i < n; ++i)
    out += book.decide(SimEndpoint::openai).fault == FaultKind::none ? '0' : '1';
  return out;
}

TEST(SimFaultBook, RateHitsAboutThatShareAndRepeatsForASeed) {
  const std::string spec = R"({"fault":"status","rate":0.3})";
  const std::string a = pattern(42, spec, 2000);
  const auto hits = std::count(a.begin(), a.end(), '1');
  EXPECT_GT(hits, 2000 * 0.3 - 100);  // ± 4.9 standard deviations
  EXPECT_LT(hits, 2000 * 0.3 + 100);
  EXPECT_EQ(pattern(42, spec, 2000), a);
  EXPECT_NE(pattern(43, spec, 2000), a);
  EXPECT_EQ(pattern(42, R"({"fault":"status","rate":0})", 100), std::string(100, '0'));
  EXPECT_EQ(pattern(42, R"({"fault":"status","rate":1})", 100), std::string(100, '1'));
}

TEST(SimFaultBook, SettingAgainRestartsTheSequence) {
  FaultBook book(7);
  const FaultSpec spec = parse_ok(R"({"fault":"reset","rate":0.5})");
  book.set(SimEndpoint::openai, spec);
  std::string first, second;
  for (int i = 0; i < 64; ++i)
    first += book.decide(SimEndpoint::openai).fault == FaultKind::none ? '0' : '1';
  // Traffic to another endpoint does not move this one's draws.
  book.set(SimEndpoint::gemini, spec);
  book.set(SimEndpoint::openai, spec);
  for (int i = 0; i < 64; ++i) {
    book.decide(SimEndpoint::gemini);
    second += book.decide(SimEndpoint::openai).fault == FaultKind::none ? '0' : '1';
  }
  EXPECT_EQ(first, second);
}

TEST(SimFaultBook, LatencyRangeStaysInBoundsAndVaries) {
  FaultBook book(3);
  book.set(SimEndpoint::anthropic, parse_ok(R"({"latency_ms":{"min":100,"max":200}})"));
  std::set<int64_t> seen;
  for (int i = 0; i < 200; ++i) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        book.decide(SimEndpoint::anthropic).latency)
                        .count();
    EXPECT_GE(ms, 100);
    EXPECT_LE(ms, 200);
    seen.insert(ms);
  }
  EXPECT_GT(seen.size(), 20u);
  book.set(SimEndpoint::anthropic, parse_ok(R"({"latency_ms":75})"));
  EXPECT_EQ(book.decide(SimEndpoint::anthropic).latency, std::chrono::milliseconds{75});
}

TEST(SimFaultBook, ClearAndDescribe) {
  FaultBook book(1);
  book.set(SimEndpoint::openai, parse_ok(R"({"fault":"hang"})"));
  book.set(SimEndpoint::cloudapi,
           parse_ok(R"({"fault":"cloudapi_code","code":131047})", SimEndpoint::cloudapi));
  const json d = book.describe();
  EXPECT_EQ(d["openai"]["fault"], "hang");
  EXPECT_EQ(d["cloudapi"]["code"], 131047);
  EXPECT_TRUE(book.clear(SimEndpoint::openai));
  EXPECT_FALSE(book.clear(SimEndpoint::openai));
  EXPECT_EQ(book.clear_all(), 1);
  EXPECT_TRUE(book.describe().empty());
}

}  // namespace
}  // namespace recado
