// The LLM adapters (jobs/providers/llm): the exact request each API gets (URL, headers, JSON
// body, per shared/protocols.md), the turn merging Anthropic and Gemini need, the reading of
// real-shaped answers and of answers without text; and, against the provider simulator over
// real HTTP, that every built call is accepted and its answer read back.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "jobs/providers/llm.hpp"
#include "src/sim_llm.hpp"
#include "src/sim_thread.hpp"
#include "tests/support/http_client.hpp"

namespace recado::jobs::providers {
namespace {

using json = nlohmann::json;
using Role = ChatMessage::Role;

std::map<std::string, std::string> headers_of(const HttpCall& call) {
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : call.headers) {
    EXPECT_EQ(out.count(name), 0u) << "header sent twice: " << name;
    out[name] = value;
  }
  return out;
}

LlmEndpoint endpoint(Api api, std::string base, std::string model) {
  LlmEndpoint e;
  e.api = api;
  e.base_url = std::move(base);
  e.api_key = "key-123";
  e.model = std::move(model);
  e.max_output_tokens = 300;
  return e;
}

// A burst of user messages, an answer, a follow-up question.
LlmRequest conversation() {
  LlmRequest r;
  r.system_prompt = "Você é a secretária da Clínica Sol.";
  r.messages = {{Role::user, "Oi"},
                {Role::user, "Tem horário amanhã?"},
                {Role::assistant, "Temos às 9h e às 14h."},
                {Role::user, "14h, por favor"}};
  return r;
}

LlmAnswer answer_of(const std::variant<LlmAnswer, std::string>& parsed) {
  if (const auto* error = std::get_if<std::string>(&parsed)) {
    ADD_FAILURE() << "expected an answer, got: " << *error;
    return {};
  }
  return std::get<LlmAnswer>(parsed);
}

std::string error_of(const std::variant<LlmAnswer, std::string>& parsed) {
  if (const auto* a = std::get_if<LlmAnswer>(&parsed)) {
    ADD_FAILURE() << "expected an error, got an answer: " << a->text;
    return {};
  }
  return std::get<std::string>(parsed);
}

// --- Requests ------------------------------------------------------------------------------

TEST(LlmAdapter, OpenAiCallShape) {
  const HttpCall call = build_llm_call(
      endpoint(Api::openai, "https://api.openai.com", "gpt-4o-mini"), conversation());
  EXPECT_EQ(call.method, "POST");
  EXPECT_EQ(call.url, "https://api.openai.com/v1/chat/completions");
  const auto h = headers_of(call);
  EXPECT_EQ(h, (std::map<std::string, std::string>{{"content-type", "application/json"},
                                                   {"authorization", "Bearer key-123"}}));
  const json expected = {{"model", "gpt-4o-mini"},
                         {"messages",
                          {{{"role", "system"}, {"content", "Você é a secretária da Clínica Sol."}},
                           {{"role", "user"}, {"content", "Oi\nTem horário amanhã?"}},
                           {{"role", "assistant"}, {"content", "Temos às 9h e às 14h."}},
                           {{"role", "user"}, {"content", "14h, por favor"}}}},
                         {"max_completion_tokens", 300}};
  EXPECT_EQ(json::parse(call.body), expected) << call.body;
}

TEST(LlmAdapter, OpenAiUrlFromBaseWithSlashOrVersion) {
  auto url = [](std::string base) {
    return build_llm_call(endpoint(Api::openai, std::move(base), "m"), conversation()).url;
  };
  EXPECT_EQ(url("https://api.openai.com/"), "https://api.openai.com/v1/chat/completions");
  EXPECT_EQ(url("http://localhost:11434/v1/"), "http://localhost:11434/v1/chat/completions");
  EXPECT_EQ(url("https://openrouter.ai/api/v1"), "https://openrouter.ai/api/v1/chat/completions");
  EXPECT_EQ(url("https://generativelanguage.googleapis.com/v1beta/openai/"),
            "https://generativelanguage.googleapis.com/v1beta/openai/chat/completions");
  EXPECT_EQ(url("https://proxy.example/llm"), "https://proxy.example/llm/v1/chat/completions");
}

TEST(LlmAdapter, OpenAiWithoutKeyOrSystemPromptSendsNeither) {
  LlmEndpoint e = endpoint(Api::openai, "http://localhost:8080", "local");
  e.api_key.clear();
  e.max_output_tokens = 0;
  e.temperature = 0.3;
  LlmRequest r = conversation();
  r.system_prompt.clear();
  const HttpCall call = build_llm_call(e, r);
  EXPECT_EQ(headers_of(call).count("authorization"), 0u);
  const json body = json::parse(call.body);
  EXPECT_EQ(body["messages"][0]["role"], "user");
  EXPECT_EQ(body["messages"].size(), 3u);
  EXPECT_FALSE(body.contains("max_completion_tokens"));
  EXPECT_FALSE(body.contains("max_tokens"));
  EXPECT_DOUBLE_EQ(body["temperature"].get<double>(), 0.3);
}

TEST(LlmAdapter, AnthropicCallShape) {
  LlmEndpoint e = endpoint(Api::anthropic, "https://api.anthropic.com/", "claude-3-5-haiku-latest");
  e.temperature = 0.5;
  const HttpCall call = build_llm_call(e, conversation());
  EXPECT_EQ(call.method, "POST");
  EXPECT_EQ(call.url, "https://api.anthropic.com/v1/messages");
  EXPECT_EQ(headers_of(call),
            (std::map<std::string, std::string>{{"content-type", "application/json"},
                                                {"x-api-key", "key-123"},
                                                {"anthropic-version", "2023-06-01"}}));
  const json expected = {{"model", "claude-3-5-haiku-latest"},
                         {"max_tokens", 300},
                         {"system", "Você é a secretária da Clínica Sol."},
                         {"messages",
                          {{{"role", "user"}, {"content", "Oi\nTem horário amanhã?"}},
                           {{"role", "assistant"}, {"content", "Temos às 9h e às 14h."}},
                           {{"role", "user"}, {"content", "14h, por favor"}}}},
                         {"temperature", 0.5}};
  EXPECT_EQ(json::parse(call.body), expected) << call.body;
}

TEST(LlmAdapter, AnthropicAlwaysSendsMaxTokensAndNoEmptySystem) {
  LlmEndpoint e = endpoint(Api::anthropic, "https://api.anthropic.com", "claude");
  e.max_output_tokens = 0;
  LlmRequest r = conversation();
  r.system_prompt.clear();
  const json body = json::parse(build_llm_call(e, r).body);
  EXPECT_EQ(body["max_tokens"], 512);
  EXPECT_FALSE(body.contains("system"));
  EXPECT_FALSE(body.contains("temperature"));
}

TEST(LlmAdapter, GeminiCallShape) {
  LlmEndpoint e =
      endpoint(Api::gemini, "https://generativelanguage.googleapis.com", "gemini-2.0-flash");
  e.temperature = 0;
  const HttpCall call = build_llm_call(e, conversation());
  EXPECT_EQ(call.method, "POST");
  EXPECT_EQ(call.url,
            "https://generativelanguage.googleapis.com/v1beta/models/"
            "gemini-2.0-flash:generateContent");
  EXPECT_EQ(headers_of(call),
            (std::map<std::string, std::string>{{"content-type", "application/json"},
                                                {"x-goog-api-key", "key-123"}}));
  const json expected = {
      {"contents",
       {{{"role", "user"}, {"parts", {{{"text", "Oi\nTem horário amanhã?"}}}}},
        {{"role", "model"}, {"parts", {{{"text", "Temos às 9h e às 14h."}}}}},
        {{"role", "user"}, {"parts", {{{"text", "14h, por favor"}}}}}}},
      {"systemInstruction", {{"parts", {{{"text", "Você é a secretária da Clínica Sol."}}}}}},
      {"generationConfig", {{"maxOutputTokens", 300}, {"temperature", 0.0}}}};
  EXPECT_EQ(json::parse(call.body), expected) << call.body;
}

TEST(LlmAdapter, GeminiModelPrefixAndOddCharacters) {
  auto url = [](std::string model) {
    return build_llm_call(endpoint(Api::gemini, "https://g.example/", std::move(model)),
                          conversation())
        .url;
  };
  EXPECT_EQ(url("models/gemini-1.5-pro"),
            "https://g.example/v1beta/models/gemini-1.5-pro:generateContent");
  EXPECT_EQ(url("tuned/x y"), "https://g.example/v1beta/models/tuned%2Fx%20y:generateContent");
}

TEST(LlmAdapter, GeminiWithoutLimitsSendsNoGenerationConfig) {
  LlmEndpoint e = endpoint(Api::gemini, "https://g.example", "gemini-2.0-flash");
  e.max_output_tokens = -1;
  LlmRequest r = conversation();
  r.system_prompt.clear();
  const json body = json::parse(build_llm_call(e, r).body);
  EXPECT_FALSE(body.contains("generationConfig"));
  EXPECT_FALSE(body.contains("systemInstruction"));
}

TEST(LlmAdapter, TurnsAreMergedAndStartWithTheUser) {
  const std::vector<ChatMessage> turns =
      alternating_turns({{Role::assistant, "Lembrete: consulta amanhã às 9h."},
                         {Role::assistant, "Confirma?"},
                         {Role::user, "Sim"},
                         {Role::user, ""},
                         {Role::user, "  "},
                         {Role::assistant, ""},
                         {Role::user, "Obrigada"}});
  ASSERT_EQ(turns.size(), 3u);
  EXPECT_EQ(turns[0].role, Role::user);
  EXPECT_EQ(turns[0].text, kConversationStartText);
  EXPECT_EQ(turns[1].role, Role::assistant);
  EXPECT_EQ(turns[1].text, "Lembrete: consulta amanhã às 9h.\nConfirma?");
  EXPECT_EQ(turns[2].role, Role::user);
  EXPECT_EQ(turns[2].text, "Sim\nObrigada");  // the empty assistant turn between them is gone
}

TEST(LlmAdapter, EveryApiGetsAlternatingRolesStartingWithUser) {
  LlmRequest r;
  r.messages = {{Role::assistant, "Olá! Posso ajudar?"}, {Role::user, "a"}, {Role::user, "b"}};
  const json anthropic = json::parse(build_llm_call(endpoint(Api::anthropic, "h", "m"), r).body);
  ASSERT_EQ(anthropic["messages"].size(), 3u);
  EXPECT_EQ(anthropic["messages"][0]["role"], "user");
  EXPECT_EQ(anthropic["messages"][1]["role"], "assistant");
  EXPECT_EQ(anthropic["messages"][2], json({{"role", "user"}, {"content", "a\nb"}}));
  const json gemini = json::parse(build_llm_call(endpoint(Api::gemini, "h", "m"), r).body);
  ASSERT_EQ(gemini["contents"].size(), 3u);
  EXPECT_EQ(gemini["contents"][0]["role"], "user");
  EXPECT_EQ(gemini["contents"][1]["role"], "model");
  EXPECT_EQ(gemini["contents"][2]["parts"][0]["text"], "a\nb");
}

TEST(LlmAdapter, RefusesNonLlmApisAndEmptyConversations) {
  EXPECT_THROW(build_llm_call(endpoint(Api::evolution, "h", "m"), conversation()),
               std::invalid_argument);
  LlmRequest empty;
  empty.system_prompt = "x";
  empty.messages = {{Role::user, ""}, {Role::assistant, " \n"}};
  EXPECT_THROW(build_llm_call(endpoint(Api::openai, "h", "m"), empty), std::invalid_argument);
  EXPECT_NE(error_of(parse_llm_answer(Api::cloudapi, "{}")).find("not an LLM"), std::string::npos);
}

// --- Answers ---------------------------------------------------------------------------------

TEST(LlmAdapter, ReadsOpenAiAnswer) {
  const std::string body = R"({"id":"chatcmpl-1","object":"chat.completion","created":1767225600,
    "model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant",
    "content":"Claro! Às 14h está reservado.","refusal":null},"logprobs":null,
    "finish_reason":"stop"}],"usage":{"prompt_tokens":42,"completion_tokens":9,"total_tokens":51}})";
  const LlmAnswer a = answer_of(parse_llm_answer(Api::openai, body));
  EXPECT_EQ(a.text, "Claro! Às 14h está reservado.");
  EXPECT_EQ(a.finish_reason, "stop");
  EXPECT_EQ(a.input_tokens, 42);
  EXPECT_EQ(a.output_tokens, 9);
}

TEST(LlmAdapter, ReadsAnthropicAnswerSkippingThinking) {
  const std::string body = R"({"id":"msg_1","type":"message","role":"assistant","model":"claude",
    "content":[{"type":"thinking","thinking":"hmm","signature":"x"},{"type":"text","text":"Bom dia! "},
    {"type":"text","text":"Reservado."}],"stop_reason":"end_turn","stop_sequence":null,
    "usage":{"input_tokens":120,"output_tokens":15}})";
  const LlmAnswer a = answer_of(parse_llm_answer(Api::anthropic, body));
  EXPECT_EQ(a.text, "Bom dia! Reservado.");
  EXPECT_EQ(a.finish_reason, "end_turn");
  EXPECT_EQ(a.input_tokens, 120);
  EXPECT_EQ(a.output_tokens, 15);
}

TEST(LlmAdapter, ReadsGeminiAnswerCountingThoughtTokens) {
  const std::string body = R"({"candidates":[{"content":{"role":"model","parts":[
    {"text":"pensando...","thought":true},{"text":"Olá! "},{"text":"Temos às 14h."}]},
    "finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":30,
    "candidatesTokenCount":8,"thoughtsTokenCount":20,"totalTokenCount":58},
    "modelVersion":"gemini-2.5-flash","responseId":"abc"})";
  const LlmAnswer a = answer_of(parse_llm_answer(Api::gemini, body));
  EXPECT_EQ(a.text, "Olá! Temos às 14h.");
  EXPECT_EQ(a.finish_reason, "STOP");
  EXPECT_EQ(a.input_tokens, 30);
  EXPECT_EQ(a.output_tokens, 28);
}

TEST(LlmAdapter, ReadsTheSimulatorsBodies) {
  LlmPrompt prompt;
  prompt.model = "m";
  prompt.messages = {{"user", "Tem horário amanhã?"}};
  prompt.max_tokens = 5;  // cut: the finish reason says so
  const recado::LlmAnswer sim = simulated_answer(prompt);
  ASSERT_TRUE(sim.cut);
  struct Case {
    Api api;
    std::string body;
    std::string finish;
  };
  for (const Case& c :
       {Case{Api::openai, openai_completion_body(prompt, sim, "id", 1), "length"},
        Case{Api::anthropic, anthropic_message_body(prompt, sim, "id"), "max_tokens"},
        Case{Api::gemini, gemini_response_body(prompt, sim, "id"), "MAX_TOKENS"}}) {
    const LlmAnswer a = answer_of(parse_llm_answer(c.api, c.body));
    EXPECT_EQ(a.text, sim.text) << to_string(c.api);
    EXPECT_EQ(a.finish_reason, c.finish) << to_string(c.api);
    EXPECT_EQ(a.input_tokens, sim.prompt_tokens) << to_string(c.api);
    EXPECT_EQ(a.output_tokens, sim.completion_tokens) << to_string(c.api);
  }
}

TEST(LlmAdapter, AnswersWithoutTextAreErrors) {
  struct Case {
    Api api;
    std::string body;
    std::string says;
  };
  const Case cases[] = {
      {Api::openai, R"({"id":"x","choices":[],"usage":{"prompt_tokens":1}})", "no choices"},
      {Api::openai, R"({"id":"x"})", "no choices"},
      {Api::openai,
       R"({"choices":[{"message":{"role":"assistant","content":null},"finish_reason":"content_filter"}]})",
       "finish_reason content_filter"},
      {Api::openai,
       R"({"choices":[{"message":{"role":"assistant","content":null,"refusal":"I can't help with that."},"finish_reason":"stop"}]})",
       "refusal: I can't help with that."},
      {Api::openai, R"({"choices":[{"message":{"content":"  \n"},"finish_reason":"stop"}]})",
       "no text"},
      {Api::anthropic, R"({"type":"message","content":[],"stop_reason":"refusal"})",
       "stop_reason refusal"},
      {Api::anthropic, R"({"type":"message","stop_reason":"end_turn"})", "no content"},
      {Api::anthropic,
       R"({"type":"message","content":[{"type":"thinking","thinking":"..."}],"stop_reason":"max_tokens"})",
       "stop_reason max_tokens"},
      {Api::gemini,
       R"({"candidates":[{"finishReason":"SAFETY","index":0,"safetyRatings":[{"category":"HARM_CATEGORY_HARASSMENT","probability":"HIGH"}]}],"usageMetadata":{"promptTokenCount":9,"totalTokenCount":9}})",
       "finishReason SAFETY"},
      {Api::gemini,
       R"({"candidates":[{"content":{"role":"model","parts":[]},"finishReason":"RECITATION"}]})",
       "finishReason RECITATION"},
      {Api::gemini,
       R"({"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[]},"usageMetadata":{"promptTokenCount":9}})",
       "blockReason SAFETY"},
      {Api::gemini, R"({"candidates":[]})", "no candidates"},
  };
  for (const Case& c : cases) {
    const std::string error = error_of(parse_llm_answer(c.api, c.body));
    EXPECT_NE(error.find(c.says), std::string::npos) << c.body << "\n=> " << error;
    EXPECT_TRUE(error.starts_with(std::string(to_string(c.api)))) << error;
  }
}

TEST(LlmAdapter, BrokenBodiesAreErrors) {
  for (Api api : {Api::openai, Api::anthropic, Api::gemini}) {
    EXPECT_NE(error_of(parse_llm_answer(api, R"({"choices":[{"message":)")).find("not valid JSON"),
              std::string::npos);
    EXPECT_NE(error_of(parse_llm_answer(api, "")).find("empty"), std::string::npos);
    EXPECT_NE(
        error_of(parse_llm_answer(api, R"([{"error":{"message":"x"}}])")).find("not a JSON object"),
        std::string::npos);
    EXPECT_NE(error_of(parse_llm_answer(api, "<html>502 Bad Gateway</html>")).find("<html>502"),
              std::string::npos);
    EXPECT_NE(error_of(parse_llm_answer(api, std::string(100, '[') + std::string(100, ']')))
                  .find("nests deeper"),
              std::string::npos);
  }
  const std::string error = error_of(parse_llm_answer(
      Api::openai, R"({"error":{"message":"The server had an error","type":"server_error"}})"));
  EXPECT_NE(error.find("is an error: The server had an error"), std::string::npos) << error;
}

TEST(LlmAdapter, ErrorsQuoteAtMostTwoHundredCharactersOfTheBody) {
  const std::string long_text(5000, 'x');
  const std::string malformed = "{\"choices\": \"" + std::string(300, 'y') + long_text;
  const std::string not_json_error = error_of(parse_llm_answer(Api::openai, malformed));
  EXPECT_EQ(not_json_error.find(std::string(201, 'y')), std::string::npos);
  EXPECT_NE(not_json_error.find(std::string(180, 'y')), std::string::npos);
  EXPECT_LT(not_json_error.size(), 300u);

  const std::string refusal = R"({"choices":[{"message":{"content":null,"refusal":")" + long_text +
                              R"("},"finish_reason":"stop"}]})";
  EXPECT_LT(error_of(parse_llm_answer(Api::openai, refusal)).size(), 300u);
  const std::string empty = R"({"candidates":[],"padding":")" + long_text + R"("})";
  EXPECT_LT(error_of(parse_llm_answer(Api::gemini, empty)).size(), 300u);
  // Cut after the 200th character, not inside a multi-byte one.
  std::string accented = std::string(199, 'x');
  for (int i = 0; i < 50; ++i) accented += "é";
  const std::string cut = error_of(parse_llm_answer(Api::anthropic, accented));
  EXPECT_TRUE(cut.ends_with(std::string(199, 'x') + "é…")) << cut;
}

// --- Against the provider simulator ------------------------------------------------------------

class LlmAdapterSim : public ::testing::Test {
 protected:
  void SetUp() override { sim_ = std::make_unique<SimulatorThread>(); }

  // Sends `call` as built (its URL, headers and body) and returns the simulator's answer.
  test::HttpResult send(const HttpCall& call) {
    std::map<std::string, std::string> headers;
    for (const auto& [name, value] : call.headers)
      if (name != "content-type") headers[name] = value;  // the test client sets it itself
    return client_.request(call.method, call.url, call.body, headers);
  }

  std::unique_ptr<SimulatorThread> sim_;
  test::HttpClient client_;
};

// The prompt the simulator should have read from conversation(): merged turns, system first.
LlmPrompt expected_prompt(std::string model, const char* assistant_role, int64_t cap) {
  LlmPrompt p;
  p.model = std::move(model);
  p.messages = {{"system", "Você é a secretária da Clínica Sol."},
                {"user", "Oi\nTem horário amanhã?"},
                {assistant_role, "Temos às 9h e às 14h."},
                {"user", "14h, por favor"}};
  p.max_tokens = cap;
  return p;
}

TEST_F(LlmAdapterSim, EveryApiIsAcceptedAndItsAnswerRead) {
  struct Case {
    Api api;
    std::string base;
    std::string model;
    const char* assistant_role;
    std::string finish;
  };
  const Case cases[] = {
      {Api::openai, sim_->url("/"), "gpt-4o-mini", "assistant", "stop"},
      {Api::openai, sim_->url("/v1beta/openai"), "gemini-2.0-flash", "assistant", "stop"},
      {Api::anthropic, sim_->url(), "claude-3-5-haiku-latest", "assistant", "end_turn"},
      {Api::gemini, sim_->url(), "gemini-2.0-flash", "model", "STOP"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(to_string(c.api)) + " at " + c.base);
    const HttpCall call = build_llm_call(endpoint(c.api, c.base, c.model), conversation());
    const test::HttpResult reply = send(call);
    ASSERT_GE(reply.status, 200) << reply.error << reply.body;
    ASSERT_LT(reply.status, 300) << reply.body;
    const LlmAnswer a = answer_of(parse_llm_answer(c.api, reply.body));
    // The simulator's answer is a function of the prompt it read: this proves it read the
    // model, the system prompt and every merged turn in its role as built.
    const recado::LlmAnswer want =
        simulated_answer(expected_prompt(c.model, c.assistant_role, 300));
    EXPECT_EQ(a.text, want.text);
    EXPECT_EQ(a.finish_reason, c.finish);
    EXPECT_EQ(a.input_tokens, want.prompt_tokens);
    EXPECT_EQ(a.output_tokens, want.completion_tokens);
  }
}

TEST_F(LlmAdapterSim, TheOutputCapReachesEveryApi) {
  for (const auto& [api, finish] :
       {std::pair{Api::openai, "length"}, std::pair{Api::anthropic, "max_tokens"},
        std::pair{Api::gemini, "MAX_TOKENS"}}) {
    LlmEndpoint e = endpoint(api, sim_->url(), "m");
    e.max_output_tokens = 4;
    const test::HttpResult reply = send(build_llm_call(e, conversation()));
    ASSERT_EQ(reply.status, 200) << to_string(api) << " " << reply.body;
    const LlmAnswer a = answer_of(parse_llm_answer(api, reply.body));
    EXPECT_EQ(a.finish_reason, finish) << to_string(api);
    EXPECT_LE(a.text.size(), 16u) << to_string(api);
    EXPECT_LE(a.output_tokens, 4) << to_string(api);
  }
}

}  // namespace
}  // namespace recado::jobs::providers
