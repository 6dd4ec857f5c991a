// The body of POST /v1/jobs: what is accepted, and that every refusal names its field.
#include "src/job_request.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>

#include "src/time_format.hpp"

namespace recado {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

const Timestamp kNow = from_epoch_micros(1'795'600'800LL * 1'000'000);  // 2026-11-25T10:00:00Z
const std::set<std::string> kKinds{"noop", "llm_reply", "whatsapp_send"};

::testing::AssertionResult contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos)
    return ::testing::AssertionSuccess() << "'" << text << "' contains '" << part << "'";
  return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

// The job a body parses into; a test failure if it is refused.
NewJob accepted(const std::string& body, const std::set<std::string>& kinds = kKinds) {
  auto result = parse_job_request(body, kinds, kNow);
  if (auto* error = std::get_if<JobRequestError>(&result)) {
    ADD_FAILURE() << "refused " << body << ": " << error->reason;
    return {};
  }
  return std::get<NewJob>(result);
}

// Why a body is refused; a test failure if it is accepted.
std::string refused(const std::string& body, const std::set<std::string>& kinds = kKinds) {
  auto result = parse_job_request(body, kinds, kNow);
  if (auto* error = std::get_if<JobRequestError>(&result)) return error->reason;
  ADD_FAILURE() << "accepted " << body;
  return {};
}

TEST(JobRequest, OnlyKindIsRequired) {
  const NewJob job = accepted(R"({"kind": "noop"})");
  EXPECT_EQ(job.kind, "noop");
  EXPECT_EQ(job.queue, "default");
  EXPECT_EQ(job.payload_json, "{}");
  EXPECT_EQ(job.priority, 0);
  EXPECT_EQ(job.run_at, std::nullopt);
  EXPECT_EQ(job.dedup_key, std::nullopt);
  EXPECT_EQ(job.sequence_key, std::nullopt);
  EXPECT_EQ(job.max_attempts, 0);  // the store's default
}

TEST(JobRequest, EveryField) {
  const NewJob job = accepted(R"({
    "queue": "whatsapp", "kind": "whatsapp_send", "payload": {"to": "+5511987654321"},
    "priority": -5, "run_at": "2026-11-25T07:00:00-03:00", "dedup_key": "msg-42",
    "sequence_key": "chat-7", "max_attempts": 3})");
  EXPECT_EQ(job.queue, "whatsapp");
  EXPECT_EQ(job.kind, "whatsapp_send");
  EXPECT_EQ(nlohmann::json::parse(job.payload_json), nlohmann::json({{"to", "+5511987654321"}}));
  EXPECT_EQ(job.priority, -5);
  EXPECT_EQ(job.run_at, kNow);
  EXPECT_EQ(job.dedup_key, "msg-42");
  EXPECT_EQ(job.sequence_key, "chat-7");
  EXPECT_EQ(job.max_attempts, 3);
}

TEST(JobRequest, PayloadKeepsNestedValues) {
  const NewJob job = accepted(
      R"({"kind": "noop", "payload": {"a": [1, 2, {"b": null}], "text": "olá \"x\"", "n": 1.5}})");
  const auto payload = nlohmann::json::parse(job.payload_json);
  EXPECT_EQ(payload["a"][2]["b"], nullptr);
  EXPECT_EQ(payload["text"], "olá \"x\"");
  EXPECT_EQ(payload["n"], 1.5);
}

TEST(JobRequest, RunInCountsFromNow) {
  EXPECT_EQ(accepted(R"({"kind": "noop", "run_in": "5m"})").run_at, kNow + minutes{5});
  EXPECT_EQ(accepted(R"({"kind": "noop", "run_in": "90"})").run_at, kNow + seconds{90});
  EXPECT_EQ(accepted(R"({"kind": "noop", "run_in": "0s"})").run_at, kNow);
}

TEST(JobRequest, RunAtAndRunInTogetherAreRefused) {
  const std::string reason =
      refused(R"({"kind": "noop", "run_in": "5m", "run_at": "2026-11-25T10:00:00Z"})");
  EXPECT_TRUE(contains(reason, "'run_at'"));
  EXPECT_TRUE(contains(reason, "'run_in'"));
}

TEST(JobRequest, MissingKindIsRefused) {
  EXPECT_TRUE(contains(refused(R"({})"), "'kind'"));
  EXPECT_TRUE(contains(refused(R"({"queue": "default", "payload": {}})"), "'kind'"));
}

TEST(JobRequest, UnknownKindIsRefused) {
  const std::string reason = refused(R"({"kind": "send_fax"})");
  EXPECT_EQ(reason.rfind("unknown kind", 0), 0u) << reason;
  EXPECT_TRUE(contains(reason, "send_fax"));
  // With no list of kinds, any well-formed kind is accepted.
  EXPECT_EQ(accepted(R"({"kind": "send_fax"})", {}).kind, "send_fax");
}

TEST(JobRequest, UnknownFieldIsRefusedByName) {
  EXPECT_TRUE(contains(refused(R"({"kind": "noop", "prority": 1})"), "'prority'"));
  EXPECT_TRUE(contains(refused(R"({"kind": "noop", "Kind": "noop"})"), "'Kind'"));
}

TEST(JobRequest, WrongTypesAreRefusedNamingTheField) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"kind": 5})", "'kind'"},
      {R"({"kind": null})", "'kind'"},
      {R"({"kind": "noop", "queue": ["a"]})", "'queue'"},
      {R"({"kind": "noop", "payload": [1, 2]})", "'payload'"},
      {R"({"kind": "noop", "payload": "{}"})", "'payload'"},
      {R"({"kind": "noop", "payload": null})", "'payload'"},
      {R"({"kind": "noop", "priority": "1"})", "'priority'"},
      {R"({"kind": "noop", "priority": 1.5})", "'priority'"},
      {R"({"kind": "noop", "max_attempts": true})", "'max_attempts'"},
      {R"({"kind": "noop", "max_attempts": 2.0})", "'max_attempts'"},
      {R"({"kind": "noop", "run_at": 1795600800})", "'run_at'"},
      {R"({"kind": "noop", "run_in": 300})", "'run_in'"},
      {R"({"kind": "noop", "dedup_key": 42})", "'dedup_key'"},
      {R"({"kind": "noop", "sequence_key": {}})", "'sequence_key'"},
  };
  for (const auto& [body, field] : cases) EXPECT_TRUE(contains(refused(body), field)) << body;
}

TEST(JobRequest, PriorityRange) {
  EXPECT_EQ(accepted(R"({"kind": "noop", "priority": -32768})").priority, -32768);
  EXPECT_EQ(accepted(R"({"kind": "noop", "priority": 32767})").priority, 32767);
  EXPECT_TRUE(contains(refused(R"({"kind": "noop", "priority": -32769})"), "'priority'"));
  EXPECT_TRUE(contains(refused(R"({"kind": "noop", "priority": 32768})"), "'priority'"));
}

TEST(JobRequest, PriorityBeyondInt64IsRefusedNotWrapped) {
  // 2^64 - 1 parses as an unsigned JSON integer; it is far outside -32768..32767 and must
  // not come out as priority -1.
  EXPECT_TRUE(
      contains(refused(R"({"kind": "noop", "priority": 18446744073709551615})"), "'priority'"));
  EXPECT_TRUE(
      contains(refused(R"({"kind": "noop", "priority": 18446744073709518848})"), "'priority'"));
}

TEST(JobRequest, MaxAttemptsRange) {
  EXPECT_EQ(accepted(R"({"kind": "noop", "max_attempts": 1})").max_attempts, 1);
  EXPECT_EQ(accepted(R"({"kind": "noop", "max_attempts": 1000})").max_attempts, 1000);
  for (const char* value : {"0", "-1", "1001", "18446744073709551615"}) {
    const std::string body = std::string(R"({"kind": "noop", "max_attempts": )") + value + "}";
    EXPECT_TRUE(contains(refused(body), "'max_attempts'")) << body;
  }
}

TEST(JobRequest, QueueAndKindNames) {
  const std::string longest(128, 'q');
  EXPECT_EQ(accepted(R"({"kind": "noop", "queue": "llm.reply-2_b"})").queue, "llm.reply-2_b");
  EXPECT_EQ(accepted(R"({"kind": "noop", "queue": ")" + longest + R"("})").queue, longest);
  for (const std::string& bad : {std::string(""), std::string("a b"), std::string("a/b"),
                                 std::string("fila-ação"), std::string("x;drop"), longest + "q"}) {
    EXPECT_TRUE(contains(refused(R"({"kind": "noop", "queue": ")" + bad + R"("})"), "'queue'"))
        << bad;
    EXPECT_TRUE(contains(refused(R"({"kind": ")" + bad + R"("})", {}), "'kind'")) << bad;
  }
}

TEST(JobRequest, KeyLengths) {
  const std::string longest(512, 'k');
  EXPECT_EQ(accepted(R"({"kind": "noop", "dedup_key": ")" + longest + R"("})").dedup_key, longest);
  EXPECT_EQ(accepted(R"({"kind": "noop", "sequence_key": "chat 7/ação"})").sequence_key,
            "chat 7/ação");
  EXPECT_TRUE(
      contains(refused(R"({"kind": "noop", "dedup_key": ")" + longest + R"(k"})"), "'dedup_key'"));
  EXPECT_TRUE(contains(refused(R"({"kind": "noop", "dedup_key": ""})"), "'dedup_key'"));
  EXPECT_TRUE(contains(refused(R"({"kind": "noop", "sequence_key": ""})"), "'sequence_key'"));
}

TEST(JobRequest, BadTimesAreRefusedNamingTheField) {
  for (const char* run_at :
       {"tomorrow", "2026-11-25", "2026-11-25T10:00:00", "2026-13-01T00:00:00Z"}) {
    const std::string body = std::string(R"({"kind": "noop", "run_at": ")") + run_at + "\"}";
    EXPECT_TRUE(contains(refused(body), "'run_at'")) << body;
  }
  for (const char* run_in : {"soon", "-5m", "5 minutes", ""}) {
    const std::string body = std::string(R"({"kind": "noop", "run_in": ")") + run_in + "\"}";
    EXPECT_TRUE(contains(refused(body), "'run_in'")) << body;
  }
}

TEST(JobRequest, LongRunInNeverLandsBeforeNow) {
  // A delay the parser accepts must come out as a time after now, not wrap around into the
  // past (which would run the job at once).
  for (const char* run_in : {"36500d", "100000d", "106751991d"}) {
    const std::string body = std::string(R"({"kind": "noop", "run_in": ")") + run_in + "\"}";
    auto result = parse_job_request(body, kKinds, kNow);
    if (auto* job = std::get_if<NewJob>(&result)) {
      ASSERT_TRUE(job->run_at.has_value());
      EXPECT_GT(*job->run_at, kNow) << run_in << " came out as " << format_rfc3339(*job->run_at);
    }
  }
}

TEST(JobRequest, InvalidJsonIsRefused) {
  for (const char* body : {"", "{", R"({"kind": "noop"} x)", "kind=noop", R"({'kind': 'noop'})",
                           R"({"kind": "noop",})"}) {
    EXPECT_TRUE(contains(refused(body), "JSON")) << body;
  }
}

TEST(JobRequest, BodyMustBeAnObject) {
  for (const char* body : {"[]", R"(["noop"])", R"("noop")", "null", "42"}) {
    EXPECT_TRUE(contains(refused(body), "object")) << body;
  }
}

TEST(JobRequest, HostileJsonIsRefusedNotThrown) {
  EXPECT_FALSE(refused(R"({"kind":"noop","payload":{"n":1e400}})").empty());
  EXPECT_FALSE(refused(R"({"kind":"noop","payload":)" + std::string(5000, '[') + "}").empty());
}

}  // namespace
}  // namespace recado
