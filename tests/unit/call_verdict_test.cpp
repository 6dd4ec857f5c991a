#include "src/call_verdict.hpp"

#include <gtest/gtest.h>

namespace recado {
namespace {

using namespace std::chrono_literals;
using Type = CallVerdict::Type;

const Timestamp kNow{std::chrono::seconds{1767225600}};  // Thu, 01 Jan 2026 00:00:00 GMT

HttpReply reply(int status, std::string body = "", std::vector<std::pair<std::string, std::string>> headers = {}) {
  HttpReply r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

HttpReply failed(HttpReply::Failure f) {
  HttpReply r;
  r.failure = f;
  r.failure_text = "curl says no";
  return r;
}

TEST(CallVerdict, SuccessIsAnyTwoHundred) {
  EXPECT_EQ(classify(Api::openai, reply(200, R"({"choices":[]})"), kNow).type, Type::success);
  EXPECT_EQ(classify(Api::evolution, reply(201, R"({"key":{"id":"X"}})"), kNow).type, Type::success);
  EXPECT_EQ(classify(Api::whaticket, reply(200), kNow).type, Type::success);
}

TEST(CallVerdict, TransportFailuresRetryAndCountAgainstTheBreaker) {
  for (auto f : {HttpReply::Failure::connect, HttpReply::Failure::timeout, HttpReply::Failure::reset,
                 HttpReply::Failure::truncated, HttpReply::Failure::tls}) {
    const CallVerdict v = classify(Api::anthropic, failed(f), kNow);
    EXPECT_EQ(v.type, Type::retry) << to_string(f);
    EXPECT_TRUE(v.breaker_failure) << to_string(f);
    EXPECT_NE(v.reason.find(std::string(to_string(f))), std::string::npos) << v.reason;
  }
  const CallVerdict cancelled = classify(Api::anthropic, failed(HttpReply::Failure::cancelled), kNow);
  EXPECT_EQ(cancelled.type, Type::retry);
  EXPECT_FALSE(cancelled.breaker_failure);
}

TEST(CallVerdict, RetryableStatusesRetryAndPermanentOnesDoNot) {
  for (int s : {408, 409, 429, 500, 502, 503, 504, 529}) {
    EXPECT_EQ(classify(Api::openai, reply(s), kNow).type, Type::retry) << s;
    EXPECT_EQ(classify(Api::openai, reply(s), kNow).breaker_failure, s != 409) << s;
  }
  for (int s : {400, 401, 402, 403, 404, 422}) {
    const CallVerdict v = classify(Api::openai, reply(s), kNow);
    EXPECT_EQ(v.type, Type::permanent) << s;
    EXPECT_FALSE(v.breaker_failure) << s;
  }
}

TEST(CallVerdict, InsufficientQuotaIsPermanentThoughItIs429) {
  const CallVerdict quota = classify(
      Api::openai,
      reply(429, R"({"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}})"),
      kNow);
  EXPECT_EQ(quota.type, Type::permanent);
  EXPECT_NE(quota.reason.find("insufficient_quota"), std::string::npos) << quota.reason;
  const CallVerdict limited = classify(
      Api::openai, reply(429, R"({"error":{"message":"slow down","type":"requests","code":"rate_limit_exceeded"}})"), kNow);
  EXPECT_EQ(limited.type, Type::retry);
  // Gemini's OpenAI-compatible endpoint wraps the error in an array.
  EXPECT_EQ(classify(Api::openai, reply(429, R"([{"error":{"code":"insufficient_quota","message":"no"}}])"), kNow).type,
            Type::permanent);
  EXPECT_EQ(classify(Api::anthropic, reply(402, R"({"type":"error","error":{"type":"billing_error","message":"x"}})"), kNow).type,
            Type::permanent);
  const CallVerdict overloaded =
      classify(Api::anthropic, reply(529, R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"), kNow);
  EXPECT_EQ(overloaded.type, Type::retry);
  EXPECT_TRUE(overloaded.breaker_failure);
  EXPECT_NE(overloaded.reason.find("overloaded_error"), std::string::npos);
}

TEST(CallVerdict, HonoursTheDelayTheProviderAskedFor) {
  EXPECT_EQ(classify(Api::openai, reply(429, "", {{"retry-after-ms", "1500"}, {"retry-after", "9"}}), kNow).retry_after, 1500ms);
  EXPECT_EQ(classify(Api::anthropic, reply(429, "", {{"retry-after", "7"}}), kNow).retry_after, 7s);
  EXPECT_EQ(classify(Api::anthropic, reply(503, "", {{"retry-after", "Thu, 01 Jan 2026 00:00:30 GMT"}}), kNow).retry_after, 30s);
  EXPECT_EQ(classify(Api::anthropic, reply(503, "", {{"retry-after", "Wed, 31 Dec 2025 23:00:00 GMT"}}), kNow).retry_after, 0s);
  EXPECT_EQ(classify(Api::openai, reply(429, "", {{"retry-after", "soon"}}), kNow).retry_after, std::nullopt);
  EXPECT_EQ(classify(Api::openai, reply(429, "", {{"retry-after", "99999999"}}), kNow).retry_after, std::chrono::hours{24});
  const std::string gemini = R"({"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED",
    "details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"5.5s"}]}})";
  const CallVerdict v = classify(Api::gemini, reply(429, gemini), kNow);
  EXPECT_EQ(v.type, Type::retry);
  EXPECT_EQ(v.retry_after, 5500ms);
  EXPECT_EQ(classify(Api::calcom, reply(429, "", {{"x-ratelimit-reset-default", "42"}}), kNow).retry_after, 42s);
  EXPECT_EQ(classify(Api::openai, reply(500), kNow).retry_after, std::nullopt);
}

TEST(CallVerdict, CloudApiIsClassifiedByCodeNotStatus) {
  auto cloud = [](int status, int code) {
    return classify(Api::cloudapi,
                    reply(status, R"({"error":{"message":"m","type":"OAuthException","code":)" + std::to_string(code) + "}}"),
                    kNow);
  };
  EXPECT_EQ(cloud(400, 130429).type, Type::retry);
  EXPECT_EQ(cloud(400, 131056).type, Type::retry);
  EXPECT_FALSE(cloud(400, 131056).breaker_failure);
  EXPECT_EQ(cloud(400, 131047).type, Type::permanent);
  EXPECT_EQ(cloud(400, 131048).type, Type::permanent);
  EXPECT_EQ(cloud(500, 131000).type, Type::retry);
  EXPECT_TRUE(cloud(503, 131016).breaker_failure);
  EXPECT_EQ(cloud(401, 190).type, Type::permanent);
  EXPECT_NE(cloud(400, 131056).reason.find("131056"), std::string::npos);
  EXPECT_EQ(cloud(400, 999999).type, Type::permanent);  // an unknown code: by status
  EXPECT_EQ(cloud(503, 999999).type, Type::retry);
}

TEST(CallVerdict, GatewayErrorsCarryTheirReason) {
  const CallVerdict v = classify(
      Api::evolution,
      reply(400, R"({"status":400,"error":"Bad Request","response":{"message":[{"exists":false,"number":"550011"}]}})"), kNow);
  EXPECT_EQ(v.type, Type::permanent);
  EXPECT_NE(v.reason.find("exists"), std::string::npos) << v.reason;
  EXPECT_EQ(classify(Api::whaticket, reply(404, R"({"error":"ERR_NO_CONTACT"})"), kNow).reason,
            "whaticket answered 404: ERR_NO_CONTACT");
  EXPECT_EQ(classify(Api::calcom, reply(200, R"({"status":"error","error":{"code":"X","message":"bad"}})"), kNow).type,
            Type::permanent);
  // A body that is not JSON is no reason to crash.
  EXPECT_EQ(classify(Api::openai, reply(502, "<html>bad gateway</html>"), kNow).type, Type::retry);
  EXPECT_EQ(classify(Api::openai, reply(429, "{not json"), kNow).type, Type::retry);
}

TEST(CallVerdict, ReadsTheTokensEachLlmReports) {
  auto openai = token_usage(Api::openai, R"({"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":30,"total_tokens":42}})");
  ASSERT_TRUE(openai);
  EXPECT_EQ(openai->input, 12);
  EXPECT_EQ(openai->output, 30);
  auto anthropic = token_usage(Api::anthropic, R"({"content":[],"usage":{"input_tokens":7,"output_tokens":9}})");
  ASSERT_TRUE(anthropic);
  EXPECT_EQ(anthropic->output, 9);
  auto gemini = token_usage(Api::gemini, R"({"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":6}})");
  ASSERT_TRUE(gemini);
  EXPECT_EQ(gemini->input, 5);
  EXPECT_FALSE(token_usage(Api::evolution, R"({"usage":{"prompt_tokens":1}})"));
  EXPECT_FALSE(token_usage(Api::openai, "{broken usage"));
  EXPECT_FALSE(token_usage(Api::openai, R"({"usage":"lots"})"));
}

TEST(CallVerdict, ApiNamesRoundTrip) {
  for (Api api : {Api::openai, Api::anthropic, Api::gemini, Api::evolution, Api::whaticket, Api::cloudapi, Api::calcom})
    EXPECT_EQ(parse_api(to_string(api)), api);
  EXPECT_EQ(parse_api("telegram"), std::nullopt);
}

}  // namespace
}  // namespace recado
