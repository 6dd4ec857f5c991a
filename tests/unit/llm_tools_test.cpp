// Tool calling in the LLM adapters (jobs/providers/llm): the exact request each API gets with
// tools declared and a tool round in the history (rebuilt, or the provider's own turn replayed),
// how alternating_turns leaves tool exchanges alone, and the reading of tool calls from
// real-shaped answers: parallel calls, text beside calls, arguments that are not an object,
// Gemini calls without ids, and Gemini 2.5's thoughtSignature surviving a round trip.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "jobs/providers/llm.hpp"

namespace recado::jobs::providers {
namespace {

using json = nlohmann::json;
using Role = ChatMessage::Role;

LlmEndpoint endpoint(Api api) {
  LlmEndpoint e;
  e.api = api;
  e.base_url = "https://llm.example";
  e.api_key = "key-123";
  e.model = "model-x";
  e.max_output_tokens = 300;
  return e;
}

json body_of(Api api, const LlmRequest& request) {
  return json::parse(build_llm_call(endpoint(api), request).body);
}

LlmAnswer answer_of(Api api, const std::string& body) {
  const auto parsed = parse_llm_answer(api, body);
  if (const auto* error = std::get_if<std::string>(&parsed)) {
    ADD_FAILURE() << "expected an answer, got: " << *error;
    return {};
  }
  return std::get<LlmAnswer>(parsed);
}

std::string error_of(Api api, const std::string& body) {
  const auto parsed = parse_llm_answer(api, body);
  if (std::holds_alternative<LlmAnswer>(parsed)) {
    ADD_FAILURE() << "expected an error, got an answer for " << body;
    return {};
  }
  return std::get<std::string>(parsed);
}

ChatMessage user(std::string text) {
  ChatMessage m;
  m.role = Role::user;
  m.text = std::move(text);
  return m;
}

ChatMessage assistant(std::string text) {
  ChatMessage m;
  m.role = Role::assistant;
  m.text = std::move(text);
  return m;
}

ToolCall call(std::string id, std::string name, json arguments) {
  ToolCall c;
  c.id = std::move(id);
  c.name = std::move(name);
  c.arguments = std::move(arguments);
  return c;
}

ToolResult result(std::string call_id, std::string name, std::string content,
                  bool is_error = false) {
  ToolResult r;
  r.call_id = std::move(call_id);
  r.name = std::move(name);
  r.content = std::move(content);
  r.is_error = is_error;
  return r;
}

std::vector<ToolSpec> secretary_tools() {
  ToolSpec find_slots;
  find_slots.name = "find_slots";
  find_slots.description = "Horários livres de um dia";
  find_slots.parameters = json::parse(R"({"type":"object","properties":{
      "date":{"type":"string","description":"YYYY-MM-DD"}},"required":["date"]})");
  ToolSpec book;
  book.name = "book_slot";
  book.description = "Marca a consulta";
  book.parameters = json::parse(R"({"type":"object","properties":{
      "start":{"type":"string"}},"required":["start"]})");
  ToolSpec handoff;  // no description, no parameters
  handoff.name = "call_human";
  return {find_slots, book, handoff};
}

// The user asks, the model looks up two days at once, the lookups answer (one failed), and
// the model is asked again.
LlmRequest tool_round(std::string first_call_id, std::string second_call_id) {
  LlmRequest r;
  r.system_prompt = "Você é a secretária.";
  r.tools = secretary_tools();
  ChatMessage calls = assistant("");
  calls.tool_calls = {call(first_call_id, "find_slots", {{"date", "2026-01-05"}}),
                      call(second_call_id, "find_slots", {{"date", "2026-01-06"}})};
  ChatMessage results = user("");
  results.tool_results = {
      result(first_call_id, "find_slots", R"({"slots":["09:00","14:00"]})"),
      result(second_call_id, "find_slots", R"({"error":"agenda indisponível"})", true)};
  r.messages = {user("Oi"), user("Tem horário segunda ou terça?"), calls, results};
  return r;
}

// --- Requests: tools and a rebuilt tool round -----------------------------------------------

TEST(LlmTools, OpenAiRequestWithToolsAndAToolRound) {
  const json expected = json::parse(R"({
    "model": "model-x",
    "max_completion_tokens": 300,
    "messages": [
      {"role": "system", "content": "Você é a secretária."},
      {"role": "user", "content": "Oi\nTem horário segunda ou terça?"},
      {"role": "assistant", "content": null, "tool_calls": [
        {"id": "call_a1", "type": "function",
         "function": {"name": "find_slots", "arguments": "{\"date\":\"2026-01-05\"}"}},
        {"id": "call_b2", "type": "function",
         "function": {"name": "find_slots", "arguments": "{\"date\":\"2026-01-06\"}"}}]},
      {"role": "tool", "tool_call_id": "call_a1", "content": "{\"slots\":[\"09:00\",\"14:00\"]}"},
      {"role": "tool", "tool_call_id": "call_b2", "content": "{\"error\":\"agenda indisponível\"}"}
    ],
    "tools": [
      {"type": "function", "function": {"name": "find_slots",
        "description": "Horários livres de um dia",
        "parameters": {"type": "object", "properties": {
          "date": {"type": "string", "description": "YYYY-MM-DD"}}, "required": ["date"]}}},
      {"type": "function", "function": {"name": "book_slot", "description": "Marca a consulta",
        "parameters": {"type": "object", "properties": {"start": {"type": "string"}},
                       "required": ["start"]}}},
      {"type": "function", "function": {"name": "call_human",
        "parameters": {"type": "object", "properties": {}}}}
    ]
  })");
  const HttpCall built = build_llm_call(endpoint(Api::openai), tool_round("call_a1", "call_b2"));
  EXPECT_EQ(built.url, "https://llm.example/v1/chat/completions");
  EXPECT_EQ(json::parse(built.body), expected) << built.body;
  // The arguments string is the compact JSON text of the object.
  EXPECT_NE(built.body.find(R"("arguments":"{\"date\":\"2026-01-05\"}")"), std::string::npos)
      << built.body;
}

TEST(LlmTools, AnthropicRequestWithToolsAndAToolRound) {
  LlmRequest r = tool_round("toolu_01A", "toolu_01B");
  r.messages[2].text = "Vou verificar a agenda.";
  const json expected = json::parse(R"({
    "model": "model-x",
    "max_tokens": 300,
    "system": "Você é a secretária.",
    "messages": [
      {"role": "user", "content": "Oi\nTem horário segunda ou terça?"},
      {"role": "assistant", "content": [
        {"type": "text", "text": "Vou verificar a agenda."},
        {"type": "tool_use", "id": "toolu_01A", "name": "find_slots",
         "input": {"date": "2026-01-05"}},
        {"type": "tool_use", "id": "toolu_01B", "name": "find_slots",
         "input": {"date": "2026-01-06"}}]},
      {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_01A",
         "content": "{\"slots\":[\"09:00\",\"14:00\"]}"},
        {"type": "tool_result", "tool_use_id": "toolu_01B",
         "content": "{\"error\":\"agenda indisponível\"}", "is_error": true}]}
    ],
    "tools": [
      {"name": "find_slots", "description": "Horários livres de um dia",
       "input_schema": {"type": "object", "properties": {
         "date": {"type": "string", "description": "YYYY-MM-DD"}}, "required": ["date"]}},
      {"name": "book_slot", "description": "Marca a consulta",
       "input_schema": {"type": "object", "properties": {"start": {"type": "string"}},
                        "required": ["start"]}},
      {"name": "call_human", "input_schema": {"type": "object", "properties": {}}}
    ]
  })");
  EXPECT_EQ(body_of(Api::anthropic, r), expected);
}

TEST(LlmTools, GeminiRequestWithToolsAndAToolRound) {
  // call_0 is an id recado made up (Gemini sent none): it is not sent back; a provider id is.
  LlmRequest r = tool_round("call_0", "fc_7f3a");
  r.messages[3].tool_results[0].content = R"(["09:00","14:00"])";  // not an object
  r.messages[3].tool_results[1].content = "agenda fora do ar";     // not JSON at all
  const json expected = json::parse(R"({
    "contents": [
      {"role": "user", "parts": [{"text": "Oi\nTem horário segunda ou terça?"}]},
      {"role": "model", "parts": [
        {"functionCall": {"name": "find_slots", "args": {"date": "2026-01-05"}}},
        {"functionCall": {"name": "find_slots", "args": {"date": "2026-01-06"},
                          "id": "fc_7f3a"}}]},
      {"role": "user", "parts": [
        {"functionResponse": {"name": "find_slots",
                              "response": {"result": ["09:00", "14:00"]}}},
        {"functionResponse": {"name": "find_slots", "id": "fc_7f3a",
                              "response": {"result": "agenda fora do ar"}}}]}
    ],
    "systemInstruction": {"parts": [{"text": "Você é a secretária."}]},
    "generationConfig": {"maxOutputTokens": 300},
    "tools": [{"functionDeclarations": [
      {"name": "find_slots", "description": "Horários livres de um dia",
       "parameters": {"type": "object", "properties": {
         "date": {"type": "string", "description": "YYYY-MM-DD"}}, "required": ["date"]}},
      {"name": "book_slot", "description": "Marca a consulta",
       "parameters": {"type": "object", "properties": {"start": {"type": "string"}},
                      "required": ["start"]}},
      {"name": "call_human", "parameters": {"type": "object", "properties": {}}}
    ]}]
  })");
  EXPECT_EQ(body_of(Api::gemini, r), expected);

  // An object result is the response itself.
  r.messages[3].tool_results[0].content = R"({"slots":["09:00"]})";
  EXPECT_EQ(body_of(Api::gemini, r)["contents"][2]["parts"][0]["functionResponse"]["response"],
            json::parse(R"({"slots":["09:00"]})"));
}

TEST(LlmTools, NoToolsNoToolsKey) {
  LlmRequest r;
  r.messages = {user("Oi")};
  for (Api api : {Api::openai, Api::anthropic, Api::gemini})
    EXPECT_FALSE(body_of(api, r).contains("tools")) << to_string(api);
}

TEST(LlmTools, TextAfterToolResultsFollowsThem) {
  LlmRequest r = tool_round("toolu_1", "toolu_2");
  r.messages[3].text = "Prefiro de manhã.";
  const json openai = body_of(Api::openai, r)["messages"];
  ASSERT_EQ(openai.size(), 6u);
  EXPECT_EQ(openai[3]["role"], "tool");
  EXPECT_EQ(openai[4]["role"], "tool");
  EXPECT_EQ(openai[5], json({{"role", "user"}, {"content", "Prefiro de manhã."}}));
  const json anthropic = body_of(Api::anthropic, r)["messages"][2]["content"];
  ASSERT_EQ(anthropic.size(), 3u);
  EXPECT_EQ(anthropic[2], json({{"type", "text"}, {"text", "Prefiro de manhã."}}));
  const json gemini = body_of(Api::gemini, r)["contents"][2]["parts"];
  ASSERT_EQ(gemini.size(), 3u);
  EXPECT_EQ(gemini[2], json({{"text", "Prefiro de manhã."}}));
}

TEST(LlmTools, ArgumentsThatWereNotAnObjectGoBackEmpty) {
  LlmRequest r = tool_round("call_a1", "call_b2");
  r.messages[2].tool_calls[0].arguments = nullptr;
  r.messages[2].tool_calls[0].arguments_error = "the arguments are not valid JSON: {";
  EXPECT_EQ(body_of(Api::openai, r)["messages"][2]["tool_calls"][0]["function"]["arguments"], "{}");
  EXPECT_EQ(body_of(Api::anthropic, r)["messages"][1]["content"][0]["input"], json::object());
  EXPECT_EQ(body_of(Api::gemini, r)["contents"][1]["parts"][0]["functionCall"]["args"],
            json::object());
}

TEST(LlmTools, BadToolNamesAreRefused) {
  LlmRequest r;
  r.messages = {user("Oi")};
  r.tools = secretary_tools();
  r.tools[1].name = "book-slot";
  EXPECT_THROW(build_llm_call(endpoint(Api::openai), r), std::invalid_argument);
  r.tools[1].name = "";
  EXPECT_THROW(build_llm_call(endpoint(Api::anthropic), r), std::invalid_argument);
  r.tools[1].name = "find_slots";  // twice
  EXPECT_THROW(build_llm_call(endpoint(Api::gemini), r), std::invalid_argument);
  r.tools[1].name = "Book_Slot_2";
  EXPECT_NO_THROW(build_llm_call(endpoint(Api::gemini), r));
}

// --- alternating_turns and tool exchanges ---------------------------------------------------

TEST(LlmTools, AlternatingTurnsKeepsToolExchangesAsTheyAre) {
  ChatMessage calls = assistant("");  // no text: kept all the same
  calls.tool_calls = {call("c1", "find_slots", {{"date", "2026-01-05"}})};
  calls.provider_turn = R"({"role":"assistant","content":null})";
  ChatMessage results = user("");
  results.tool_results = {result("c1", "find_slots", "{}")};
  const std::vector<ChatMessage> turns = alternating_turns(
      {assistant("Olá!"), assistant("Posso ajudar?"), user("Horários?"), assistant("Um momento."),
       calls, results, user("E amanhã?"), user("De manhã"), assistant("Vejo já.")});
  ASSERT_EQ(turns.size(), 8u);
  EXPECT_EQ(turns[0].text, kConversationStartText);
  EXPECT_EQ(turns[1].text, "Olá!\nPosso ajudar?");
  EXPECT_EQ(turns[2].text, "Horários?");
  // The assistant's text before the calls is not merged into the tool turn...
  EXPECT_EQ(turns[3].text, "Um momento.");
  EXPECT_FALSE(turns[3].is_tool_exchange());
  // ...the tool turn is untouched...
  EXPECT_EQ(turns[4].role, Role::assistant);
  EXPECT_EQ(turns[4].text, "");
  ASSERT_EQ(turns[4].tool_calls.size(), 1u);
  EXPECT_EQ(turns[4].tool_calls[0].id, "c1");
  EXPECT_EQ(turns[4].provider_turn, calls.provider_turn);
  EXPECT_EQ(turns[5].role, Role::user);
  ASSERT_EQ(turns[5].tool_results.size(), 1u);
  // ...and the user's next words are not merged into the results, but with each other.
  EXPECT_EQ(turns[6].text, "E amanhã?\nDe manhã");
  EXPECT_TRUE(turns[6].tool_results.empty());
  EXPECT_EQ(turns[7].text, "Vejo já.");
}

TEST(LlmTools, AConversationOpeningWithACallStartsWithTheUser) {
  ChatMessage calls = assistant("");
  calls.tool_calls = {call("c1", "call_human", json::object())};
  ChatMessage results = user("");
  results.tool_results = {result("c1", "call_human", R"({"ok":true})")};
  LlmRequest r;
  r.messages = {calls, results};
  const json anthropic = body_of(Api::anthropic, r)["messages"];
  ASSERT_EQ(anthropic.size(), 3u);
  EXPECT_EQ(anthropic[0], json({{"role", "user"}, {"content", kConversationStartText}}));
  EXPECT_EQ(anthropic[1]["content"][0]["type"], "tool_use");
  EXPECT_EQ(anthropic[2]["content"][0]["type"], "tool_result");
}

// --- Answers with tool calls ----------------------------------------------------------------

// gpt-4o-mini asking for two lookups at once.
constexpr const char* kOpenAiParallelCalls = R"({
  "id": "chatcmpl-BxQ1", "object": "chat.completion", "created": 1767225600,
  "model": "gpt-4o-mini-2024-07-18",
  "choices": [{"index": 0, "message": {"role": "assistant", "content": null,
    "tool_calls": [
      {"id": "call_qX8fA1", "type": "function",
       "function": {"name": "find_slots", "arguments": "{\"date\":\"2026-01-05\"}"}},
      {"id": "call_Lm3pZ9", "type": "function",
       "function": {"name": "find_slots", "arguments": "{\"date\": \"2026-01-06\"}"}}],
    "refusal": null, "annotations": []},
    "logprobs": null, "finish_reason": "tool_calls"}],
  "usage": {"prompt_tokens": 210, "completion_tokens": 48, "total_tokens": 258},
  "system_fingerprint": "fp_1"
})";

TEST(LlmTools, ReadsOpenAiParallelCalls) {
  const LlmAnswer a = answer_of(Api::openai, kOpenAiParallelCalls);
  EXPECT_EQ(a.text, "");
  EXPECT_EQ(a.finish_reason, "tool_calls");
  EXPECT_EQ(a.input_tokens, 210);
  EXPECT_EQ(a.output_tokens, 48);
  ASSERT_EQ(a.tool_calls.size(), 2u);
  EXPECT_EQ(a.tool_calls[0].id, "call_qX8fA1");
  EXPECT_EQ(a.tool_calls[0].name, "find_slots");
  EXPECT_EQ(a.tool_calls[0].arguments, json({{"date", "2026-01-05"}}));
  EXPECT_EQ(a.tool_calls[0].arguments_error, "");
  EXPECT_EQ(a.tool_calls[1].id, "call_Lm3pZ9");
  EXPECT_EQ(a.tool_calls[1].arguments, json({{"date", "2026-01-06"}}));
  // The turn is the message object as it came.
  EXPECT_EQ(json::parse(a.provider_turn),
            json::parse(kOpenAiParallelCalls)["choices"][0]["message"]);
}

TEST(LlmTools, BadOpenAiArgumentsAreReportedPerCall) {
  const std::string body = R"({"choices":[{"index":0,"message":{"role":"assistant",
    "content":"Vou ver.","tool_calls":[
      {"id":"call_1","type":"function","function":{"name":"find_slots","arguments":"{\"date\":\"2026-01-05\""}},
      {"id":"call_2","type":"function","function":{"name":"find_slots","arguments":"[\"2026-01-05\"]"}},
      {"id":"call_3","type":"function","function":{"name":"call_human","arguments":""}},
      {"id":"call_4","type":"function","function":{"name":"book_slot","arguments":"{\"start\":\"09:00\"}"}},
      {"id":"call_5","type":"function","function":{"arguments":"{}"}}]},
    "finish_reason":"tool_calls"}],"usage":{"prompt_tokens":5,"completion_tokens":5}})";
  const LlmAnswer a = answer_of(Api::openai, body);
  EXPECT_EQ(a.text, "Vou ver.");
  ASSERT_EQ(a.tool_calls.size(), 5u);
  EXPECT_TRUE(a.tool_calls[0].arguments.is_null());
  EXPECT_EQ(a.tool_calls[0].arguments_error,
            R"(the arguments are not valid JSON: {"date":"2026-01-05")");
  EXPECT_TRUE(a.tool_calls[1].arguments.is_null());
  EXPECT_EQ(a.tool_calls[1].arguments_error,
            R"(the arguments are array, not a JSON object: ["2026-01-05"])");
  EXPECT_EQ(a.tool_calls[2].arguments, json::object());  // no arguments: none
  EXPECT_EQ(a.tool_calls[2].arguments_error, "");
  // One bad call does not spoil the others.
  EXPECT_EQ(a.tool_calls[3].arguments, json({{"start", "09:00"}}));
  EXPECT_EQ(a.tool_calls[3].arguments_error, "");
  EXPECT_EQ(a.tool_calls[4].name, "");
  EXPECT_EQ(a.tool_calls[4].arguments_error, "the call names no tool");
}

// claude-sonnet thinking, saying something, and calling two tools.
constexpr const char* kAnthropicTextAndCalls = R"({
  "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant",
  "model": "claude-sonnet-4-5",
  "content": [
    {"type": "thinking", "thinking": "Preciso ver a agenda.", "signature": "EqQBCgIYAhIM1gbcDa9G"},
    {"type": "text", "text": "Vou verificar a agenda."},
    {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "find_slots",
     "input": {"date": "2026-01-05"}},
    {"type": "tool_use", "id": "toolu_01B", "name": "call_human", "input": {}}
  ],
  "stop_reason": "tool_use", "stop_sequence": null,
  "usage": {"input_tokens": 412, "output_tokens": 77}
})";

TEST(LlmTools, ReadsAnthropicTextBesideToolUse) {
  const LlmAnswer a = answer_of(Api::anthropic, kAnthropicTextAndCalls);
  EXPECT_EQ(a.text, "Vou verificar a agenda.");
  EXPECT_EQ(a.finish_reason, "tool_use");
  EXPECT_EQ(a.input_tokens, 412);
  EXPECT_EQ(a.output_tokens, 77);
  ASSERT_EQ(a.tool_calls.size(), 2u);
  EXPECT_EQ(a.tool_calls[0].id, "toolu_01A09q90qw90lq917835lq9");
  EXPECT_EQ(a.tool_calls[0].name, "find_slots");
  EXPECT_EQ(a.tool_calls[0].arguments, json({{"date", "2026-01-05"}}));
  EXPECT_EQ(a.tool_calls[1].id, "toolu_01B");
  EXPECT_EQ(a.tool_calls[1].arguments, json::object());
  const json doc = json::parse(kAnthropicTextAndCalls);
  EXPECT_EQ(json::parse(a.provider_turn),
            json({{"role", "assistant"}, {"content", doc["content"]}}));
}

TEST(LlmTools, AnthropicToolUseAloneIsAnAnswer) {
  const LlmAnswer a = answer_of(Api::anthropic, R"({"type":"message","role":"assistant",
    "content":[{"type":"tool_use","id":"toolu_1","name":"find_slots","input":"2026-01-05"}],
    "stop_reason":"tool_use","usage":{"input_tokens":1,"output_tokens":1}})");
  EXPECT_EQ(a.text, "");
  ASSERT_EQ(a.tool_calls.size(), 1u);
  EXPECT_TRUE(a.tool_calls[0].arguments.is_null());
  EXPECT_EQ(a.tool_calls[0].arguments_error, "the input is string, not a JSON object");
}

// gemini-2.5-flash thinking and calling two tools; only the first part carries the signature,
// and this model sends no ids.
constexpr const char* kGeminiCallsWithSignature = R"({
  "candidates": [{"content": {"parts": [
      {"functionCall": {"name": "find_slots", "args": {"date": "2026-01-05"}},
       "thoughtSignature": "CiQB0e2Kb7pXr4Jb6YmA0c9H2nq+Yc5e3L1V0bQ=="},
      {"functionCall": {"name": "find_slots", "args": {"date": "2026-01-06"}}}],
    "role": "model"}, "finishReason": "STOP", "index": 0}],
  "usageMetadata": {"promptTokenCount": 150, "candidatesTokenCount": 30,
                    "thoughtsTokenCount": 90, "totalTokenCount": 270},
  "modelVersion": "gemini-2.5-flash", "responseId": "x5RoaaK7"
})";

TEST(LlmTools, ReadsGeminiCallsWithoutIds) {
  const LlmAnswer a = answer_of(Api::gemini, kGeminiCallsWithSignature);
  EXPECT_EQ(a.text, "");
  EXPECT_EQ(a.finish_reason, "STOP");
  EXPECT_EQ(a.input_tokens, 150);
  EXPECT_EQ(a.output_tokens, 120);
  ASSERT_EQ(a.tool_calls.size(), 2u);
  EXPECT_EQ(a.tool_calls[0].id, "call_0");
  EXPECT_EQ(a.tool_calls[0].name, "find_slots");
  EXPECT_EQ(a.tool_calls[0].arguments, json({{"date", "2026-01-05"}}));
  EXPECT_EQ(a.tool_calls[1].id, "call_1");
  EXPECT_EQ(a.tool_calls[1].arguments, json({{"date", "2026-01-06"}}));
  EXPECT_EQ(json::parse(a.provider_turn),
            json::parse(kGeminiCallsWithSignature)["candidates"][0]["content"]);
}

TEST(LlmTools, ReadsGeminiIdsTextAndMissingArgs) {
  const LlmAnswer a = answer_of(Api::gemini, R"({"candidates":[{"content":{"role":"model",
    "parts":[{"text":"pensando","thought":true},{"text":"Um instante."},
             {"functionCall":{"id":"fc_9","name":"call_human"}},
             {"functionCall":{"name":"find_slots","args":[1]}}]},"finishReason":"STOP"}]})");
  EXPECT_EQ(a.text, "Um instante.");
  ASSERT_EQ(a.tool_calls.size(), 2u);
  EXPECT_EQ(a.tool_calls[0].id, "fc_9");
  EXPECT_EQ(a.tool_calls[0].arguments, json::object());
  EXPECT_EQ(a.tool_calls[1].id, "call_1");  // its index among the calls
  EXPECT_TRUE(a.tool_calls[1].arguments.is_null());
  EXPECT_EQ(a.tool_calls[1].arguments_error, "args is array, not a JSON object");
}

TEST(LlmTools, AnswersWithNeitherTextNorCallsAreStillErrors) {
  EXPECT_NE(error_of(Api::openai, R"({"choices":[{"message":{"role":"assistant","content":null,
      "tool_calls":[]},"finish_reason":"stop"}]})")
                .find("has no text (finish_reason stop)"),
            std::string::npos);
  EXPECT_NE(error_of(Api::anthropic, R"({"content":[{"type":"thinking","thinking":"x"}],
      "stop_reason":"end_turn"})")
                .find("has no text (stop_reason end_turn)"),
            std::string::npos);
  EXPECT_NE(error_of(Api::gemini, R"({"candidates":[{"content":{"role":"model",
      "parts":[{"functionCall":"find_slots"}]},"finishReason":"MALFORMED_FUNCTION_CALL"}]})")
                .find("has no text (finishReason MALFORMED_FUNCTION_CALL)"),
            std::string::npos);
}

// --- Round trips: the provider's own turn goes back verbatim ---------------------------------

// The next request after `answer`: its calls, each answered, and the provider's turn.
LlmRequest after(const LlmAnswer& answer) {
  ChatMessage turn = assistant(answer.text);
  turn.tool_calls = answer.tool_calls;
  turn.provider_turn = answer.provider_turn;
  ChatMessage results = user("");
  for (const ToolCall& c : answer.tool_calls)
    results.tool_results.push_back(result(c.id, c.name, R"({"slots":["09:00"]})"));
  LlmRequest r;
  r.tools = secretary_tools();
  r.messages = {user("Tem horário?"), turn, results};
  return r;
}

TEST(LlmTools, GeminiThoughtSignatureSurvivesTheRoundTrip) {
  const LlmAnswer a = answer_of(Api::gemini, kGeminiCallsWithSignature);
  const json contents = body_of(Api::gemini, after(a))["contents"];
  ASSERT_EQ(contents.size(), 3u);
  json want = json::parse(kGeminiCallsWithSignature)["candidates"][0]["content"];
  EXPECT_EQ(contents[1], want);
  EXPECT_EQ(contents[1]["parts"][0]["thoughtSignature"],
            "CiQB0e2Kb7pXr4Jb6YmA0c9H2nq+Yc5e3L1V0bQ==");
  // The answers name their calls; the made-up ids stay home.
  EXPECT_EQ(contents[2], json::parse(R"({"role":"user","parts":[
      {"functionResponse":{"name":"find_slots","response":{"slots":["09:00"]}}},
      {"functionResponse":{"name":"find_slots","response":{"slots":["09:00"]}}}]})"));
}

TEST(LlmTools, AnthropicThinkingGoesBackWithTheCalls) {
  const LlmAnswer a = answer_of(Api::anthropic, kAnthropicTextAndCalls);
  const json messages = body_of(Api::anthropic, after(a))["messages"];
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[1], json({{"role", "assistant"},
                               {"content", json::parse(kAnthropicTextAndCalls)["content"]}}));
  EXPECT_EQ(messages[1]["content"][0]["signature"], "EqQBCgIYAhIM1gbcDa9G");
  EXPECT_EQ(messages[2]["content"].size(), 2u);
  EXPECT_EQ(messages[2]["content"][0]["tool_use_id"], "toolu_01A09q90qw90lq917835lq9");
  EXPECT_EQ(messages[2]["content"][1]["tool_use_id"], "toolu_01B");
  EXPECT_FALSE(messages[2]["content"][0].contains("is_error"));
}

TEST(LlmTools, OpenAiMessageGoesBackAsItCame) {
  const LlmAnswer a = answer_of(Api::openai, kOpenAiParallelCalls);
  const json messages = body_of(Api::openai, after(a))["messages"];
  ASSERT_EQ(messages.size(), 4u);
  EXPECT_EQ(messages[1], json::parse(kOpenAiParallelCalls)["choices"][0]["message"]);
  // The original arguments text (with its space) goes back, not a re-dumped one.
  EXPECT_EQ(messages[1]["tool_calls"][1]["function"]["arguments"], "{\"date\": \"2026-01-06\"}");
  EXPECT_EQ(messages[2], json({{"role", "tool"},
                               {"tool_call_id", "call_qX8fA1"},
                               {"content", R"({"slots":["09:00"]})"}}));
  EXPECT_EQ(messages[3]["tool_call_id"], "call_Lm3pZ9");
}

TEST(LlmTools, ATurnOfTheWrongShapeIsRebuilt) {
  // A Gemini turn stored before the tenant moved to OpenAI, and one that is not JSON.
  LlmAnswer a = answer_of(Api::gemini, kGeminiCallsWithSignature);
  const json rebuilt_calls = json::parse(R"([
      {"id":"call_0","type":"function","function":{"name":"find_slots","arguments":"{\"date\":\"2026-01-05\"}"}},
      {"id":"call_1","type":"function","function":{"name":"find_slots","arguments":"{\"date\":\"2026-01-06\"}"}}])");
  json openai = body_of(Api::openai, after(a))["messages"][1];
  EXPECT_EQ(openai,
            json({{"role", "assistant"}, {"content", nullptr}, {"tool_calls", rebuilt_calls}}));
  // An OpenAI message is not an Anthropic turn either.
  const LlmAnswer o = answer_of(Api::openai, kOpenAiParallelCalls);
  EXPECT_EQ(body_of(Api::anthropic, after(o))["messages"][1]["content"][0],
            json::parse(R"({"type":"tool_use","id":"call_qX8fA1","name":"find_slots",
                            "input":{"date":"2026-01-05"}})"));
  EXPECT_EQ(body_of(Api::gemini, after(o))["contents"][1]["parts"][0],
            json::parse(R"({"functionCall":{"id":"call_qX8fA1","name":"find_slots",
                            "args":{"date":"2026-01-05"}}})"));
  a.provider_turn = "{not json";
  EXPECT_EQ(body_of(Api::gemini, after(a))["contents"][1]["parts"].size(), 2u);
  EXPECT_FALSE(
      body_of(Api::gemini, after(a))["contents"][1]["parts"][0].contains("thoughtSignature"));
}

TEST(LlmTools, AnthropicTakesABareContentArray) {
  LlmAnswer a = answer_of(Api::anthropic, kAnthropicTextAndCalls);
  a.provider_turn = json::parse(kAnthropicTextAndCalls)["content"].dump();
  EXPECT_EQ(
      body_of(Api::anthropic, after(a))["messages"][1],
      json({{"role", "assistant"}, {"content", json::parse(kAnthropicTextAndCalls)["content"]}}));
}

}  // namespace
}  // namespace recado::jobs::providers
