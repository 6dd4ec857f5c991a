// The simulated LLMs and tools: prompts with tools read from each API's body, answers with
// tool calls in each API's format, the script of turns (parsing and its queue), and the
// built-in secretary's rules. Pure functions; sim_control_test runs the script over HTTP.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "src/sim_brain.hpp"
#include "src/sim_llm.hpp"

namespace recado {
namespace {

using json = nlohmann::json;

template <typename Parsed>
LlmPrompt must(const Parsed& parsed) {
  if (auto* reason = std::get_if<std::string>(&parsed)) {
    ADD_FAILURE() << "refused: " << *reason;
    return {};
  }
  return std::get<LlmPrompt>(parsed);
}

std::string refusal(const std::variant<LlmPrompt, std::string>& parsed) {
  return std::holds_alternative<std::string>(parsed) ? std::get<std::string>(parsed) : "";
}

const json kOpenAiTools = json::array(
    {{{"type", "function"},
      {"function",
       {{"name", "find_slots"},
        {"description", "Horários livres"},
        {"parameters", {{"type", "object"}, {"properties", json::object()}}}}}},
     {{"type", "function"}, {"function", {{"name", "book_slot"}, {"parameters", json::object()}}}},
     {{"type", "function"},
      {"function", {{"name", "cancel_booking"}, {"parameters", json::object()}}}},
     {{"type", "function"},
      {"function", {{"name", "reschedule_booking"}, {"parameters", json::object()}}}}});

const std::string kSystem =
    "Você é a secretária da Clínica Sol. Agora: local time 2026-11-26T14:05 (America/Sao_Paulo).";

// An OpenAI request with recado's four tools: the system prompt, then `messages`.
LlmPrompt openai_with_tools(json messages) {
  messages.insert(messages.begin(), json{{"role", "system"}, {"content", kSystem}});
  const json body = {{"model", "gpt-4o-mini"}, {"messages", messages}, {"tools", kOpenAiTools}};
  return must(parse_openai_prompt(body.dump()));
}

json user(const std::string& text) {
  return {{"role", "user"}, {"content", text}};
}
json assistant(const std::string& text) {
  return {{"role", "assistant"}, {"content", text}};
}
// An assistant turn calling `name`, then the tool's `result`.
std::vector<json> exchange(const std::string& name, const json& arguments, const json& result) {
  return {{{"role", "assistant"},
           {"content", nullptr},
           {"tool_calls",
            {{{"id", "call_1"},
              {"type", "function"},
              {"function", {{"name", name}, {"arguments", arguments.dump()}}}}}}},
          {{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", result.dump()}}};
}

json slot(const std::string& start, const std::string& label) {
  return {{"start", start}, {"label", label}};
}

const json kOffer = {{"time_zone", "America/Sao_Paulo"},
                     {"slots",
                      {slot("2026-11-27T09:00", "sexta-feira, 27/11/2026 09:00"),
                       slot("2026-11-27T09:30", "sexta-feira, 27/11/2026 09:30"),
                       slot("2026-11-27T10:00", "sexta-feira, 27/11/2026 10:00")}}};

const std::string kOfferText =
    "Tenho estes horários livres: sexta-feira, 27/11/2026 09:00; sexta-feira, 27/11/2026 09:30; "
    "sexta-feira, 27/11/2026 10:00. Qual prefere?";

// The one tool call of `a` (failing when there is not exactly one).
LlmToolCall only_call(const LlmAnswer& a) {
  EXPECT_EQ(a.tool_calls.size(), 1u) << "text: " << a.text;
  return a.tool_calls.empty() ? LlmToolCall{} : a.tool_calls[0];
}

// --- Reading prompts with tools ---------------------------------------------------------------

TEST(SimTools, ReadsOpenAiToolsCallsAndResults) {
  json messages = {user("quero marcar")};
  for (const json& m : exchange("find_slots", {{"date", "2026-11-27"}}, kOffer))
    messages.push_back(m);
  const LlmPrompt p = openai_with_tools(messages);
  EXPECT_EQ(p.tools, (std::vector<std::string>{"find_slots", "book_slot", "cancel_booking",
                                               "reschedule_booking"}));
  ASSERT_EQ(p.messages.size(), 4u);
  ASSERT_EQ(p.tool_parts.size(), 4u);
  EXPECT_FALSE(p.is_tool_call(1));
  EXPECT_FALSE(p.is_tool_result(1));
  ASSERT_TRUE(p.is_tool_call(2));
  EXPECT_EQ(p.messages[2], (std::pair<std::string, std::string>{"assistant", ""}));
  const LlmToolCall& call = p.parts(2).calls[0];
  EXPECT_EQ(call.id, "call_1");
  EXPECT_EQ(call.name, "find_slots");
  EXPECT_EQ(call.arguments, json({{"date", "2026-11-27"}}));  // parsed from its JSON text
  ASSERT_TRUE(p.is_tool_result(3));
  const LlmToolResult& result = p.parts(3).results[0];
  EXPECT_EQ(result.call_id, "call_1");
  EXPECT_EQ(result.content, kOffer);
  EXPECT_FALSE(result.is_error);
  EXPECT_EQ(p.messages[3].first, "tool");

  // Arguments that are not JSON are kept as text; a result that is not JSON too.
  const json odd = {
      {"model", "m"},
      {"messages",
       {{{"role", "assistant"},
         {"tool_calls",
          {{{"id", "c"},
            {"type", "function"},
            {"function", {{"name", "book_slot"}, {"arguments", "{not json"}}}}}}},
        {{"role", "tool"}, {"tool_call_id", "c"}, {"content", "agenda fora do ar"}}}}};
  const LlmPrompt o = must(parse_openai_prompt(odd.dump()));
  EXPECT_EQ(o.parts(0).calls[0].arguments, json("{not json"));
  EXPECT_EQ(o.parts(1).results[0].content, json("agenda fora do ar"));
  EXPECT_TRUE(o.tools.empty());
}

TEST(SimTools, ReadsAnthropicToolUseAndToolResultBlocks) {
  const json body = {
      {"model", "claude-3-5-haiku-latest"},
      {"max_tokens", 300},
      {"system", kSystem},
      {"tools",
       {{{"name", "find_slots"}, {"input_schema", {{"type", "object"}}}},
        {{"name", "book_slot"}, {"input_schema", {{"type", "object"}}}}}},
      {"messages",
       {{{"role", "user"}, {"content", "quero marcar"}},
        {{"role", "assistant"},
         {"content",
          {{{"type", "text"}, {"text", "Vou ver."}},
           {{"type", "tool_use"},
            {"id", "toolu_9"},
            {"name", "find_slots"},
            {"input", {{"part_of_day", "morning"}}}}}}},
        {{"role", "user"},
         {"content",
          {{{"type", "tool_result"},
            {"tool_use_id", "toolu_9"},
            {"content", {{{"type", "text"}, {"text", kOffer.dump()}}}}},
           {{"type", "tool_result"},
            {"tool_use_id", "toolu_8"},
            {"content", R"({"error":"calendar_unavailable","message":"fora do ar"})"},
            {"is_error", true}}}}}}}};
  const LlmPrompt p = must(parse_anthropic_prompt(body.dump()));
  EXPECT_EQ(p.tools, (std::vector<std::string>{"find_slots", "book_slot"}));
  ASSERT_EQ(p.messages.size(), 4u);  // the system prompt first
  EXPECT_EQ(p.messages[0].first, "system");
  EXPECT_EQ(p.messages[2].second, "Vou ver.");
  ASSERT_TRUE(p.is_tool_call(2));
  EXPECT_EQ(p.parts(2).calls[0].id, "toolu_9");
  EXPECT_EQ(p.parts(2).calls[0].arguments, json({{"part_of_day", "morning"}}));
  ASSERT_TRUE(p.is_tool_result(3));
  ASSERT_EQ(p.parts(3).results.size(), 2u);
  EXPECT_EQ(p.parts(3).results[0].call_id, "toolu_9");
  EXPECT_EQ(p.parts(3).results[0].content, kOffer);
  EXPECT_TRUE(p.parts(3).results[1].is_error);
  EXPECT_EQ(p.parts(3).results[1].content["error"], "calendar_unavailable");
  EXPECT_EQ(p.messages[3], (std::pair<std::string, std::string>{"user", ""}));
}

TEST(SimTools, ReadsGeminiFunctionCallsAndResponses) {
  const json body = {
      {"systemInstruction", {{"parts", {{{"text", kSystem}}}}}},
      {"tools",
       {{{"functionDeclarations",
          {{{"name", "find_slots"}, {"parameters", {{"type", "object"}}}},
           {{"name", "cancel_booking"}}}}},
        {{"googleSearch", json::object()}}}},
      {"contents",
       {{{"role", "user"}, {"parts", {{{"text", "quero marcar"}}}}},
        {{"role", "model"},
         {"parts", {{{"functionCall", {{"name", "find_slots"}, {"args", {{"days", 3}}}}}}}}},
        {{"role", "user"},
         {"parts",
          {{{"functionResponse", {{"name", "find_slots"}, {"response", kOffer}}}},
           {{"functionResponse",
             {{"name", "cancel_booking"},
              {"response", {{"content", R"({"cancelled":true})"}}}}}}}}}}}};
  const LlmPrompt p = must(parse_gemini_prompt(body.dump(), "gemini-2.0-flash"));
  EXPECT_EQ(p.tools, (std::vector<std::string>{"find_slots", "cancel_booking"}));
  ASSERT_EQ(p.messages.size(), 4u);
  ASSERT_TRUE(p.is_tool_call(2));
  EXPECT_EQ(p.messages[2].first, "model");
  EXPECT_EQ(p.parts(2).calls[0].name, "find_slots");
  EXPECT_EQ(p.parts(2).calls[0].id, "");
  EXPECT_EQ(p.parts(2).calls[0].arguments, json({{"days", 3}}));
  ASSERT_TRUE(p.is_tool_result(3));
  EXPECT_EQ(p.parts(3).results[0].name, "find_slots");
  EXPECT_EQ(p.parts(3).results[0].content, kOffer);  // the response object as it is
  // A response that only wraps the result (as JSON text) is unwrapped.
  EXPECT_EQ(p.parts(3).results[1].content, json({{"cancelled", true}}));

  // {"result": ...}, as recado wraps a result that is not an object.
  const LlmPrompt wrapped = must(parse_gemini_prompt(
      R"({"contents":[{"role":"user","parts":[{"functionResponse":{"name":"book_slot",
          "response":{"result":"agenda fora do ar"}}}]}]})",
      "g"));
  EXPECT_EQ(wrapped.parts(0).results[0].content, json("agenda fora do ar"));
}

TEST(SimTools, RefusesMalformedToolPartsNamingTheField) {
  EXPECT_NE(
      refusal(
          parse_openai_prompt(
              R"({"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"description":"d"}}]})"))
          .find("tools[0].function.name"),
      std::string::npos);
  EXPECT_NE(
      refusal(parse_openai_prompt(
                  R"({"model":"m","messages":[{"role":"user","content":"x"}],"tools":{"a":1}})"))
          .find("tools must be an array"),
      std::string::npos);
  EXPECT_NE(
      refusal(
          parse_openai_prompt(
              R"({"model":"m","messages":[{"role":"user","content":"x"},{"role":"tool","content":"{}"}]})"))
          .find("messages[1].tool_call_id"),
      std::string::npos);
  EXPECT_NE(
      refusal(
          parse_openai_prompt(
              R"({"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","function":{"arguments":"{}"}}]}]})"))
          .find("messages[0].tool_calls[0].function.name"),
      std::string::npos);
  EXPECT_NE(
      refusal(
          parse_anthropic_prompt(
              R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","content":"x"}]}]})"))
          .find("messages[0].content[0].tool_use_id"),
      std::string::npos);
  EXPECT_NE(
      refusal(
          parse_anthropic_prompt(
              R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}],"tools":[{"input_schema":{}}]})"))
          .find("tools[0].name"),
      std::string::npos);
  EXPECT_NE(
      refusal(parse_gemini_prompt(
                  R"({"contents":[{"role":"model","parts":[{"functionCall":{"args":{}}}]}]})", "g"))
          .find("contents[0].parts[0].functionCall.name"),
      std::string::npos);
}

TEST(SimTools, ToolPartsLeaveTheDeterministicTextAlone) {
  // The same (role, text) messages answer the same text, tool parts or not; tokens count
  // the tool parts.
  json messages = {user("quero marcar")};
  for (const json& m : exchange("find_slots", json::object(), kOffer)) messages.push_back(m);
  const LlmPrompt with_parts = openai_with_tools(messages);
  LlmPrompt by_hand;
  by_hand.model = with_parts.model;
  by_hand.messages = with_parts.messages;
  EXPECT_EQ(simulated_answer(with_parts).text, simulated_answer(by_hand).text);
  EXPECT_GT(prompt_tokens(with_parts), prompt_tokens(by_hand));
}

// --- Answers with tool calls ------------------------------------------------------------------

LlmAnswer calls_answer(const LlmPrompt& p, std::string text = "") {
  LlmToolCall find;
  find.id = "call_abc_0";
  find.name = "find_slots";
  find.arguments = {{"date", "2026-11-27"}, {"days", 1}};
  LlmToolCall book;  // no id: the body makes one
  book.name = "book_slot";
  book.arguments = {{"start", "2026-11-27T09:00"}};
  return make_answer(p, std::move(text), {find, book});
}

TEST(SimTools, OpenAiAnswerWithToolCalls) {
  const LlmPrompt p = openai_with_tools({user("oi")});
  const LlmAnswer a = calls_answer(p);
  const json body = json::parse(openai_completion_body(p, a, "chatcmpl-1", 1767225600));
  const json& choice = body["choices"][0];
  EXPECT_EQ(choice["finish_reason"], "tool_calls");
  EXPECT_EQ(choice["message"]["role"], "assistant");
  EXPECT_TRUE(choice["message"]["content"].is_null());
  const json& calls = choice["message"]["tool_calls"];
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0]["id"], "call_abc_0");
  EXPECT_EQ(calls[0]["type"], "function");
  EXPECT_EQ(calls[0]["function"]["name"], "find_slots");
  ASSERT_TRUE(calls[0]["function"]["arguments"].is_string());  // JSON text, as OpenAI sends
  EXPECT_EQ(json::parse(calls[0]["function"]["arguments"].get<std::string>()),
            json({{"date", "2026-11-27"}, {"days", 1}}));
  EXPECT_EQ(calls[1]["id"], "call_chatcmpl-1_1");
  EXPECT_EQ(body["usage"]["prompt_tokens"], a.prompt_tokens);
  EXPECT_EQ(body["usage"]["completion_tokens"], a.completion_tokens);
  EXPECT_GT(a.completion_tokens, 1);

  // Text and calls together: the text is the content.
  const json both = json::parse(openai_completion_body(p, calls_answer(p, "Vou ver."), "x", 1));
  EXPECT_EQ(both["choices"][0]["message"]["content"], "Vou ver.");
  EXPECT_EQ(both["choices"][0]["message"]["tool_calls"].size(), 2u);
}

TEST(SimTools, AnthropicAnswerWithToolUse) {
  const LlmPrompt p = openai_with_tools({user("oi")});
  const LlmAnswer a = calls_answer(p);
  const json body = json::parse(anthropic_message_body(p, a, "msg_1"));
  EXPECT_EQ(body["stop_reason"], "tool_use");
  const json& content = body["content"];
  ASSERT_EQ(content.size(), 2u);
  EXPECT_EQ(content[0]["type"], "tool_use");
  EXPECT_EQ(content[0]["id"], "call_abc_0");
  EXPECT_EQ(content[0]["name"], "find_slots");
  EXPECT_EQ(content[0]["input"], json({{"date", "2026-11-27"}, {"days", 1}}));
  EXPECT_EQ(content[1]["id"], "toolu_msg_1_1");
  EXPECT_EQ(body["usage"]["output_tokens"], a.completion_tokens);

  const json both = json::parse(anthropic_message_body(p, calls_answer(p, "Vou ver."), "m"));
  ASSERT_EQ(both["content"].size(), 3u);
  EXPECT_EQ(both["content"][0], json({{"type", "text"}, {"text", "Vou ver."}}));
  EXPECT_EQ(both["content"][1]["type"], "tool_use");
}

TEST(SimTools, GeminiAnswerWithFunctionCalls) {
  const LlmPrompt p = openai_with_tools({user("oi")});
  const LlmAnswer a = calls_answer(p);
  const json body = json::parse(gemini_response_body(p, a, "r1"));
  const json& candidate = body["candidates"][0];
  EXPECT_EQ(candidate["finishReason"], "STOP");
  EXPECT_EQ(candidate["content"]["role"], "model");
  const json& parts = candidate["content"]["parts"];
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0],
            json({{"functionCall",
                   {{"name", "find_slots"}, {"args", {{"date", "2026-11-27"}, {"days", 1}}}}}}));
  EXPECT_EQ(parts[1]["functionCall"]["name"], "book_slot");
  EXPECT_EQ(body["usageMetadata"]["candidatesTokenCount"], a.completion_tokens);
}

TEST(SimTools, ToolCallsAreNeverCutByTheCap) {
  LlmPrompt p = openai_with_tools({user("oi")});
  p.max_tokens = 1;
  const LlmAnswer a = calls_answer(p);
  EXPECT_FALSE(a.cut);
  ASSERT_EQ(a.tool_calls.size(), 2u);
  EXPECT_EQ(json::parse(openai_completion_body(p, a, "x", 1))["choices"][0]["finish_reason"],
            "tool_calls");
  // A text answer still is.
  const LlmAnswer text = make_answer(p, "Uma resposta bem mais longa que quatro bytes.");
  EXPECT_TRUE(text.cut);
  EXPECT_EQ(text.text, "Uma ");
}

// --- The script -------------------------------------------------------------------------------

std::string script_refusal(const json& body) {
  auto parsed = parse_llm_script(body);
  return std::holds_alternative<std::string>(parsed) ? std::get<std::string>(parsed) : "";
}

TEST(SimTools, ScriptTurnsAreReadWithDefaults) {
  auto parsed = parse_llm_script(json::parse(R"({"turns":[
      {"tool_calls":[{"name":"find_slots","arguments":{"date":"2026-11-27"}},{"name":"cancel_booking"}]},
      {"text":"Pronto!"},
      {"text":"","tool_calls":[{"name":"book_slot","arguments":{}}]}]})"));
  ASSERT_TRUE(std::holds_alternative<std::vector<LlmScriptTurn>>(parsed))
      << std::get<std::string>(parsed);
  const auto& turns = std::get<std::vector<LlmScriptTurn>>(parsed);
  ASSERT_EQ(turns.size(), 3u);
  EXPECT_FALSE(turns[0].text.has_value());
  ASSERT_EQ(turns[0].tool_calls.size(), 2u);
  EXPECT_EQ(turns[0].tool_calls[0].arguments, json({{"date", "2026-11-27"}}));
  EXPECT_EQ(turns[0].tool_calls[1].arguments, json::object());
  EXPECT_EQ(turns[1].text, "Pronto!");
  EXPECT_TRUE(turns[1].tool_calls.empty());
  EXPECT_EQ(turns[2].text, "");
  EXPECT_EQ(to_json(turns[0]),
            json::parse(R"({"tool_calls":[{"name":"find_slots","arguments":{"date":"2026-11-27"}},
                                          {"name":"cancel_booking","arguments":{}}]})"));
  EXPECT_EQ(to_json(turns[1]), json({{"text", "Pronto!"}}));
}

TEST(SimTools, ScriptRefusalsNameTheField) {
  struct Case {
    const char* body;
    const char* names;
  };
  const Case cases[] = {
      {R"({})", "turns is required"},
      {R"({"turns":[]})", "turns is required"},
      {R"({"turns":{"text":"x"}})", "turns is required"},
      {R"({"turns":[{"text":"x"}],"extra":1})", "'extra'"},
      {R"({"turns":["x"]})", "turns[0] must be an object"},
      {R"({"turns":[{}]})", "turns[0] needs text or tool_calls"},
      {R"({"turns":[{"text":"a"},{"text":3}]})", "turns[1].text must be a string"},
      {R"({"turns":[{"txt":"a"}]})", "'txt' in turns[0]"},
      {R"({"turns":[{"tool_calls":[]}]})", "turns[0].tool_calls must be a non-empty array"},
      {R"({"turns":[{"tool_calls":[{"arguments":{}}]}]})", "turns[0].tool_calls[0].name"},
      {R"({"turns":[{"tool_calls":[{"name":""}]}]})", "turns[0].tool_calls[0].name"},
      {R"({"turns":[{"tool_calls":[{"name":"a","arguments":"{}"}]}]})",
       "turns[0].tool_calls[0].arguments must be an object"},
      {R"({"turns":[{"tool_calls":[{"name":"a","id":"x"}]}]})", "'id' in turns[0].tool_calls[0]"},
  };
  for (const Case& c : cases) {
    const std::string reason = script_refusal(json::parse(c.body));
    EXPECT_NE(reason.find(c.names), std::string::npos) << c.body << " -> " << reason;
  }
}

TEST(SimTools, ScriptIsAFifoWithABound) {
  LlmScript script;
  EXPECT_FALSE(script.take().has_value());
  LlmScriptTurn a, b, c;
  a.text = "a";
  b.text = "b";
  c.tool_calls.push_back(LlmToolCall{"", "find_slots", json::object()});
  ASSERT_TRUE(script.append({a, b}));
  ASSERT_TRUE(script.append({c}));
  EXPECT_EQ(script.size(), 3u);
  EXPECT_EQ(script.describe(), json::parse(R"([{"text":"a"},{"text":"b"},
      {"tool_calls":[{"name":"find_slots","arguments":{}}]}])"));
  EXPECT_EQ(script.take()->text, "a");
  EXPECT_EQ(script.take()->text, "b");
  EXPECT_EQ(script.size(), 1u);
  EXPECT_EQ(script.clear(), 1u);
  EXPECT_FALSE(script.take().has_value());

  EXPECT_TRUE(script.append(std::vector<LlmScriptTurn>(LlmScript::kMaxTurns, a)));
  EXPECT_FALSE(script.append({b}));  // nothing appended
  EXPECT_EQ(script.size(), LlmScript::kMaxTurns);
}

// --- The secretary ----------------------------------------------------------------------------

TEST(SimBrain, AsksForSlotsFromWhatTheUserSaid) {
  struct Case {
    const char* said;
    json arguments;
  };
  const Case cases[] = {
      {"Quero marcar amanhã de manhã",
       {{"date", "2026-11-27"}, {"days", 1}, {"part_of_day", "morning"}}},
      {"QUERO MARCAR AMANHÃ DE MANHÃ",
       {{"date", "2026-11-27"}, {"days", 1}, {"part_of_day", "morning"}}},
      {"tem horário hoje à noite?",
       {{"date", "2026-11-26"}, {"days", 1}, {"part_of_day", "evening"}}},
      {"Consegue agendar depois de amanhã à tarde?",
       {{"date", "2026-11-28"}, {"days", 1}, {"part_of_day", "afternoon"}}},
      {"Boa tarde! Queria marcar uma consulta", json::object()},  // a greeting, not a time
      {"preciso remarcar minha consulta", json::object()},
      {"quero marcar amanhã", {{"date", "2026-11-27"}, {"days", 1}}},
  };
  for (const Case& c : cases) {
    const LlmAnswer a = secretary_answer(openai_with_tools({user(c.said)}));
    const LlmToolCall call = only_call(a);
    EXPECT_EQ(call.name, "find_slots") << c.said;
    EXPECT_EQ(call.arguments, c.arguments) << c.said;
    EXPECT_EQ(a.text, "") << c.said;
  }
}

TEST(SimBrain, WithoutLocalTimeNoDateIsGuessed) {
  const json body = {{"model", "m"},
                     {"messages", {user("quero marcar amanhã de manhã")}},
                     {"tools", kOpenAiTools}};
  const LlmToolCall call = only_call(secretary_answer(must(parse_openai_prompt(body.dump()))));
  EXPECT_EQ(call.arguments, json({{"part_of_day", "morning"}}));
}

TEST(SimBrain, OffersTheSlotsItFound) {
  json messages = {user("quero marcar amanhã de manhã")};
  for (const json& m : exchange("find_slots", {{"date", "2026-11-27"}}, kOffer))
    messages.push_back(m);
  const LlmAnswer a = secretary_answer(openai_with_tools(messages));
  EXPECT_TRUE(a.tool_calls.empty());
  EXPECT_EQ(a.text, kOfferText);

  // At most six.
  json many = {{"time_zone", "America/Sao_Paulo"}, {"slots", json::array()}};
  for (int h = 9; h < 17; ++h) {
    const std::string hh = (h < 10 ? "0" : "") + std::to_string(h);
    many["slots"].push_back(
        slot("2026-11-27T" + hh + ":00", "sexta-feira, 27/11/2026 " + hh + ":00"));
  }
  messages = {user("quero marcar")};
  for (const json& m : exchange("find_slots", json::object(), many)) messages.push_back(m);
  const std::string text = secretary_answer(openai_with_tools(messages)).text;
  EXPECT_NE(text.find("27/11/2026 14:00. Qual prefere?"), std::string::npos) << text;
  EXPECT_EQ(text.find("15:00"), std::string::npos) << text;

  // None: another day?
  messages = {user("quero marcar hoje")};
  for (const json& m : exchange("find_slots", json::object(),
                                {{"time_zone", "America/Sao_Paulo"}, {"slots", json::array()}}))
    messages.push_back(m);
  EXPECT_EQ(secretary_answer(openai_with_tools(messages)).text,
            "Não encontrei horários livres nesse período. Quer tentar outro dia?");
}

// The conversation after an offer, then `said`.
LlmPrompt after_offer(const std::string& first, const std::string& said) {
  return openai_with_tools({user(first), assistant(kOfferText), user(said)});
}

TEST(SimBrain, BooksTheOfferedSlotTheUserNames) {
  struct Case {
    const char* said;
    const char* start;
  };
  const Case cases[] = {
      {"9h", "2026-11-27T09:00"},
      {"pode ser às 9h30", "2026-11-27T09:30"},
      {"9:30 por favor", "2026-11-27T09:30"},
      {"09:00", "2026-11-27T09:00"},
      {"às 10", "2026-11-27T10:00"},
      {"Prefiro as 10 horas", "2026-11-27T10:00"},
  };
  for (const Case& c : cases) {
    const LlmToolCall call =
        only_call(secretary_answer(after_offer("quero marcar amanhã de manhã", c.said)));
    EXPECT_EQ(call.name, "book_slot") << c.said;
    EXPECT_EQ(call.arguments, json({{"start", c.start}})) << c.said;
  }
  // The intent to move a booking makes it a reschedule.
  const LlmToolCall moved = only_call(secretary_answer(after_offer("preciso remarcar", "9h")));
  EXPECT_EQ(moved.name, "reschedule_booking");
  EXPECT_EQ(moved.arguments, json({{"start", "2026-11-27T09:00"}}));
  // An hour not offered: nothing is booked (and the deterministic answer comes back).
  const LlmPrompt other = after_offer("quero marcar", "às 15h");
  const LlmAnswer a = secretary_answer(other);
  EXPECT_TRUE(a.tool_calls.empty());
  EXPECT_EQ(a.text, simulated_answer(other).text);
  // A date is not a time.
  EXPECT_TRUE(secretary_answer(after_offer("oi", "dia 27/11")).tool_calls.empty());
}

TEST(SimBrain, SpeaksOfWhatTheToolAnswered) {
  auto answer_to = [](const std::string& tool, const json& result) {
    json messages = {user("quero marcar"), assistant(kOfferText), user("9h")};
    for (const json& m : exchange(tool, {{"start", "2026-11-27T09:00"}}, result))
      messages.push_back(m);
    return secretary_answer(openai_with_tools(messages));
  };
  const LlmAnswer taken =
      answer_to("book_slot", {{"error", "slot_taken"},
                              {"message", "O horário foi ocupado."},
                              {"slots",
                               {slot("2026-11-27T09:30", "sexta-feira, 27/11/2026 09:30"),
                                slot("2026-11-27T10:00", "sexta-feira, 27/11/2026 10:00")}}});
  EXPECT_TRUE(taken.tool_calls.empty());
  EXPECT_EQ(taken.text,
            "Que pena, esse horário acabou de ser ocupado. Tenho estes outros: sexta-feira, "
            "27/11/2026 09:30; sexta-feira, 27/11/2026 10:00. Qual prefere?");
  EXPECT_EQ(answer_to("book_slot",
                      {{"error", "calendar_unavailable"}, {"message", "a agenda não respondeu"}})
                .text,
            "Desculpe, não consegui concluir agora: a agenda não respondeu");
  EXPECT_EQ(answer_to("book_slot", {{"booked", true},
                                    {"start", "2026-11-27T09:00"},
                                    {"label", "sexta-feira, 27/11/2026 09:00"}})
                .text,
            "Pronto! Sua consulta está marcada para sexta-feira, 27/11/2026 09:00.");
  EXPECT_EQ(answer_to("cancel_booking", {{"cancelled", true}}).text,
            "Pronto! Sua consulta foi cancelada.");
  EXPECT_EQ(answer_to("reschedule_booking",
                      {{"rescheduled", true}, {"label", "sexta-feira, 27/11/2026 09:00"}})
                .text,
            "Pronto! Sua consulta foi remarcada para sexta-feira, 27/11/2026 09:00.");
}

TEST(SimBrain, Cancels) {
  for (const char* said : {"Quero cancelar minha consulta", "preciso desmarcar", "CANCELA"}) {
    const LlmToolCall call = only_call(secretary_answer(after_offer("quero marcar", said)));
    EXPECT_EQ(call.name, "cancel_booking") << said;
    EXPECT_EQ(call.arguments, json::object()) << said;
  }
}

TEST(SimBrain, CallsOnlyToolsOfferedAndOtherwiseAnswersAsBefore) {
  // Only find_slots offered: "cancelar" cannot cancel, but the consulta is a booking topic.
  const json body = {
      {"model", "m"},
      {"messages", {{{"role", "system"}, {"content", kSystem}}, user("quero cancelar a consulta")}},
      {"tools", json::array({kOpenAiTools[0]})}};
  EXPECT_EQ(only_call(secretary_answer(must(parse_openai_prompt(body.dump())))).name, "find_slots");
  // Small talk: today's deterministic answer.
  const LlmPrompt chat = openai_with_tools({user("Qual o endereço da clínica?")});
  const LlmAnswer a = secretary_answer(chat);
  EXPECT_TRUE(a.tool_calls.empty());
  EXPECT_EQ(a.text, simulated_answer(chat).text);
  EXPECT_NE(a.text.find("[sim "), std::string::npos);
}

TEST(SimBrain, WorksOnAnthropicAndGeminiPrompts) {
  // Anthropic: a tool_result block carries the offer.
  const json anthropic = {
      {"model", "claude"},
      {"max_tokens", 300},
      {"system", kSystem},
      {"tools", {{{"name", "find_slots"}, {"input_schema", {{"type", "object"}}}}}},
      {"messages",
       {{{"role", "user"}, {"content", "quero marcar amanhã"}},
        {{"role", "assistant"},
         {"content",
          {{{"type", "tool_use"},
            {"id", "toolu_1"},
            {"name", "find_slots"},
            {"input", json::object()}}}}},
        {{"role", "user"},
         {"content",
          {{{"type", "tool_result"}, {"tool_use_id", "toolu_1"}, {"content", kOffer.dump()}}}}}}}};
  EXPECT_EQ(secretary_answer(must(parse_anthropic_prompt(anthropic.dump()))).text, kOfferText);

  // Gemini: "9h" after the offer books it.
  const json gemini = {
      {"systemInstruction", {{"parts", {{{"text", kSystem}}}}}},
      {"tools", {{{"functionDeclarations", {{{"name", "find_slots"}}, {{"name", "book_slot"}}}}}}},
      {"contents",
       {{{"role", "user"}, {"parts", {{{"text", "quero marcar amanhã"}}}}},
        {{"role", "model"}, {"parts", {{{"text", kOfferText}}}}},
        {{"role", "user"}, {"parts", {{{"text", "9h"}}}}}}}};
  const LlmToolCall call =
      only_call(secretary_answer(must(parse_gemini_prompt(gemini.dump(), "g"))));
  EXPECT_EQ(call.name, "book_slot");
  EXPECT_EQ(call.arguments, json({{"start", "2026-11-27T09:00"}}));
}

}  // namespace
}  // namespace recado
