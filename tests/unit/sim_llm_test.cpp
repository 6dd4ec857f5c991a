// The simulated LLMs: prompts read from each API's body, and the deterministic answer rule
// (same model and messages → same text; the last user message quoted; the hash; tokens).
#include "src/sim_llm.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace recado {
namespace {

using json = nlohmann::json;

LlmPrompt openai(const std::string& body) {
  auto p = parse_openai_prompt(body);
  if (auto* reason = std::get_if<std::string>(&p)) {
    ADD_FAILURE() << "refused: " << *reason;
    return {};
  }
  return std::get<LlmPrompt>(p);
}

TEST(SimLlm, SamePromptSameAnswerAndTheHashCoversEveryMessage) {
  const std::string body =
      R"({"model":"gpt-4o-mini","messages":[{"role":"system","content":"Você é a secretária."},{"role":"user","content":"Quero marcar uma consulta"}]})";
  const LlmAnswer a = simulated_answer(openai(body));
  const LlmAnswer b = simulated_answer(openai(body));
  EXPECT_EQ(a.text, b.text);
  EXPECT_EQ(a.hash.size(), 8u);
  EXPECT_NE(a.text.find("Quero marcar uma consulta"), std::string::npos) << a.text;
  EXPECT_NE(a.text.find("[sim " + a.hash + "]"), std::string::npos) << a.text;

  // Another model, another system prompt: another hash, the same quote.
  const LlmAnswer other_model = simulated_answer(openai(
      R"({"model":"gpt-4o","messages":[{"role":"system","content":"Você é a secretária."},{"role":"user","content":"Quero marcar uma consulta"}]})"));
  const LlmAnswer other_system = simulated_answer(openai(
      R"({"model":"gpt-4o-mini","messages":[{"role":"system","content":"Outra clínica."},{"role":"user","content":"Quero marcar uma consulta"}]})"));
  EXPECT_NE(other_model.hash, a.hash);
  EXPECT_NE(other_system.hash, a.hash);
  EXPECT_NE(other_system.text.find("Quero marcar uma consulta"), std::string::npos);
}

TEST(SimLlm, QuotesTheLastUserMessageShortened) {
  const LlmAnswer a = simulated_answer(openai(
      R"({"model":"m","messages":[{"role":"user","content":"primeira"},{"role":"assistant","content":"ok"},{"role":"user","content":"segunda\nlinha"}]})"));
  EXPECT_NE(a.text.find("\"segunda linha\""), std::string::npos) << a.text;
  EXPECT_EQ(a.text.find("primeira"), std::string::npos);

  const std::string long_text(200, 'x');
  const LlmAnswer cut = simulated_answer(
      openai(R"({"model":"m","messages":[{"role":"user","content":")" + long_text + R"("}]})"));
  EXPECT_NE(cut.text.find(std::string(80, 'x') + "…"), std::string::npos) << cut.text;
  EXPECT_EQ(cut.text.find(std::string(81, 'x')), std::string::npos);
}

TEST(SimLlm, TokensAreBytesOverFour) {
  EXPECT_EQ(simulated_tokens(""), 1);
  EXPECT_EQ(simulated_tokens("abcd"), 1);
  EXPECT_EQ(simulated_tokens("abcde"), 2);
  const LlmPrompt p = openai(
      R"({"model":"m","messages":[{"role":"user","content":"12345678"},{"role":"user","content":"1234"}]})");
  const LlmAnswer a = simulated_answer(p);
  EXPECT_EQ(a.prompt_tokens, 3);  // 12 bytes
  EXPECT_EQ(a.completion_tokens, simulated_tokens(a.text));
  EXPECT_FALSE(a.cut);
}

TEST(SimLlm, OutputCapCutsTheReply) {
  const LlmPrompt p = openai(
      R"({"model":"m","max_completion_tokens":5,"messages":[{"role":"user","content":"olá"}]})");
  ASSERT_EQ(p.max_tokens, 5);
  const LlmAnswer a = simulated_answer(p);
  EXPECT_TRUE(a.cut);
  EXPECT_LE(a.text.size(), 20u);
  EXPECT_LE(a.completion_tokens, 5);
  // Still valid UTF-8 inside a JSON body.
  const json body = json::parse(openai_completion_body(p, a, "chatcmpl-x", 1));
  EXPECT_EQ(body["choices"][0]["finish_reason"], "length");
}

TEST(SimLlm, ReadsEachApisShape) {
  auto anthropic = parse_anthropic_prompt(
      R"({"model":"claude-3-5-haiku-latest","max_tokens":300,"system":[{"type":"text","text":"Seja breve."}],"messages":[{"role":"user","content":[{"type":"text","text":"Oi"}]}]})");
  ASSERT_TRUE(std::holds_alternative<LlmPrompt>(anthropic));
  const LlmPrompt& a = std::get<LlmPrompt>(anthropic);
  ASSERT_EQ(a.messages.size(), 2u);
  EXPECT_EQ(a.messages[0], (std::pair<std::string, std::string>{"system", "Seja breve."}));
  EXPECT_EQ(a.messages[1].second, "Oi");
  EXPECT_EQ(a.max_tokens, 300);

  auto gemini = parse_gemini_prompt(
      R"({"systemInstruction":{"parts":[{"text":"Seja breve."}]},"contents":[{"role":"user","parts":[{"text":"Oi"}]}],"generationConfig":{"maxOutputTokens":64}})",
      "gemini-2.0-flash");
  ASSERT_TRUE(std::holds_alternative<LlmPrompt>(gemini));
  const LlmPrompt& g = std::get<LlmPrompt>(gemini);
  EXPECT_EQ(g.model, "gemini-2.0-flash");
  EXPECT_EQ(g.messages, a.messages);
  EXPECT_EQ(g.max_tokens, 64);
}

TEST(SimLlm, RefusesBadBodiesWithAReason) {
  auto reason = [](const std::variant<LlmPrompt, std::string>& r) {
    return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : std::string{};
  };
  EXPECT_NE(reason(parse_openai_prompt("not json")).find("JSON"), std::string::npos);
  EXPECT_NE(
      reason(parse_openai_prompt(R"({"messages":[{"role":"user","content":"x"}]})")).find("model"),
      std::string::npos);
  EXPECT_NE(reason(parse_openai_prompt(R"({"model":"m","messages":[]})")).find("messages"),
            std::string::npos);
  EXPECT_NE(
      reason(parse_openai_prompt(R"({"model":"m","messages":[{"content":"x"}]})")).find("role"),
      std::string::npos);
  EXPECT_NE(
      reason(parse_anthropic_prompt(R"({"model":"m","messages":[{"role":"user","content":"x"}]})"))
          .find("max_tokens"),
      std::string::npos);
  EXPECT_NE(reason(parse_gemini_prompt(R"({"contents":[{"role":"user"}]})", "g")).find("parts"),
            std::string::npos);
  EXPECT_NE(
      reason(parse_openai_prompt(std::string(100, '[') + std::string(100, ']'))).find("nests"),
      std::string::npos);
}

TEST(SimLlm, SuccessBodiesHaveEachApisShape) {
  const LlmPrompt p = openai(R"({"model":"m","messages":[{"role":"user","content":"Oi"}]})");
  const LlmAnswer a = simulated_answer(p);
  const json o = json::parse(openai_completion_body(p, a, "chatcmpl-1", 1767225600));
  EXPECT_EQ(o["object"], "chat.completion");
  EXPECT_EQ(o["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(o["choices"][0]["message"]["content"], a.text);
  EXPECT_EQ(o["usage"]["total_tokens"], a.prompt_tokens + a.completion_tokens);
  const json m = json::parse(anthropic_message_body(p, a, "msg_1"));
  EXPECT_EQ(m["type"], "message");
  EXPECT_EQ(m["content"][0]["text"], a.text);
  EXPECT_EQ(m["stop_reason"], "end_turn");
  EXPECT_EQ(m["usage"]["output_tokens"], a.completion_tokens);
  const json g = json::parse(gemini_response_body(p, a, "r1"));
  EXPECT_EQ(g["candidates"][0]["content"]["parts"][0]["text"], a.text);
  EXPECT_EQ(g["candidates"][0]["finishReason"], "STOP");
  EXPECT_EQ(g["usageMetadata"]["promptTokenCount"], a.prompt_tokens);
}

}  // namespace
}  // namespace recado
