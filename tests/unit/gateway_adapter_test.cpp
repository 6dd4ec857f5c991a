// The WhatsApp gateway adapters (jobs/providers/gateway): the exact send request per gateway
// (URL, headers, JSON body, per shared/protocols.md), how contacts are normalised or refused,
// the reading of the gateways' answers; and, against the provider simulator over real HTTP,
// that every built send is accepted and its answer read back.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "jobs/providers/gateway.hpp"
#include "src/sim_thread.hpp"
#include "tests/support/http_client.hpp"

namespace recado::jobs::providers {
namespace {

using json = nlohmann::json;
using Headers = std::map<std::string, std::string>;

Headers headers_of(const HttpCall& call) {
  Headers out;
  for (const auto& [name, value] : call.headers) {
    EXPECT_EQ(out.count(name), 0u) << "header sent twice: " << name;
    out[name] = value;
  }
  return out;
}

GatewayEndpoint evolution(std::string base) {
  GatewayEndpoint e;
  e.api = Api::evolution;
  e.base_url = std::move(base);
  e.token = "evo-key";
  e.instance = "clinic1";
  return e;
}

GatewayEndpoint whaticket(std::string base) {
  GatewayEndpoint e;
  e.api = Api::whaticket;
  e.base_url = std::move(base);
  e.token = "wt-token";
  return e;
}

GatewayEndpoint cloudapi(std::string base) {
  GatewayEndpoint e;
  e.api = Api::cloudapi;
  e.base_url = std::move(base);
  e.token = "EAAG-token";
  e.phone_number_id = "106540352242922";
  return e;
}

OutgoingText text_to(std::string to, std::string text = "Sua consulta é amanhã às 14h.") {
  OutgoingText m;
  m.to = std::move(to);
  m.text = std::move(text);
  return m;
}

std::string number_of(const std::variant<std::string, std::string>& r) {
  if (r.index() == 1) {
    ADD_FAILURE() << "refused: " << std::get<1>(r);
    return {};
  }
  return std::get<0>(r);
}

std::string reason_of(const std::variant<std::string, std::string>& r) {
  if (r.index() == 0) {
    ADD_FAILURE() << "accepted as " << std::get<0>(r);
    return {};
  }
  return std::get<1>(r);
}

std::optional<std::string> id_of(const std::variant<std::optional<std::string>, std::string>& r) {
  if (r.index() == 1) {
    ADD_FAILURE() << "expected an answer, got: " << std::get<1>(r);
    return std::nullopt;
  }
  return std::get<0>(r);
}

std::string error_of(const std::variant<std::optional<std::string>, std::string>& r) {
  if (r.index() == 0) {
    ADD_FAILURE() << "expected an error, got id " << std::get<0>(r).value_or("(none)");
    return {};
  }
  return std::get<1>(r);
}

// --- Requests --------------------------------------------------------------------------------

TEST(GatewayAdapter, EvolutionCallShape) {
  const HttpCall call = build_send_call(evolution("https://evo.example.com/"),
                                        text_to("5511987654321@s.whatsapp.net"));
  EXPECT_EQ(call.method, "POST");
  EXPECT_EQ(call.url, "https://evo.example.com/message/sendText/clinic1");
  EXPECT_EQ(headers_of(call),
            (Headers{{"content-type", "application/json"}, {"apikey", "evo-key"}}));
  EXPECT_EQ(json::parse(call.body),
            json({{"number", "5511987654321"}, {"text", "Sua consulta é amanhã às 14h."}}));
}

TEST(GatewayAdapter, EvolutionInstanceIsOnePathSegment) {
  GatewayEndpoint e = evolution("https://evo.example.com");
  e.instance = "Clínica Sol/2";
  EXPECT_EQ(build_send_call(e, text_to("5511987654321")).url,
            "https://evo.example.com/message/sendText/Cl%C3%ADnica%20Sol%2F2");
}

TEST(GatewayAdapter, EvolutionAndWhaticketIgnoreTemplates) {
  OutgoingText m = text_to("5511987654321", "Olá!");
  m.template_name = "lembrete";
  EXPECT_EQ(json::parse(build_send_call(evolution("h"), m).body)["text"], "Olá!");
  EXPECT_EQ(json::parse(build_send_call(whaticket("h"), m).body)["body"], "Olá!");
}

TEST(GatewayAdapter, WhaticketCallShape) {
  const HttpCall call = build_send_call(whaticket("https://api.whaticket.example"),
                                        text_to("+55 (11) 98765-4321", "Oi!"));
  EXPECT_EQ(call.method, "POST");
  EXPECT_EQ(call.url, "https://api.whaticket.example/api/messages/send");
  EXPECT_EQ(headers_of(call),
            (Headers{{"content-type", "application/json"}, {"authorization", "Bearer wt-token"}}));
  EXPECT_EQ(json::parse(call.body), json({{"number", "5511987654321"}, {"body", "Oi!"}}));
}

TEST(GatewayAdapter, CloudApiTextCallShape) {
  const HttpCall call =
      build_send_call(cloudapi("https://graph.facebook.com/"), text_to("+5511987654321", "Oi!"));
  EXPECT_EQ(call.method, "POST");
  EXPECT_EQ(call.url, "https://graph.facebook.com/v21.0/106540352242922/messages");
  EXPECT_EQ(headers_of(call), (Headers{{"content-type", "application/json"},
                                       {"authorization", "Bearer EAAG-token"}}));
  EXPECT_EQ(json::parse(call.body), json({{"messaging_product", "whatsapp"},
                                          {"recipient_type", "individual"},
                                          {"to", "5511987654321"},
                                          {"type", "text"},
                                          {"text", {{"body", "Oi!"}}}}));
}

TEST(GatewayAdapter, CloudApiTemplateCallShape) {
  GatewayEndpoint e = cloudapi("https://graph.facebook.com");
  e.api_version = "20.0";
  OutgoingText m = text_to("5511987654321", "");
  m.template_name = "lembrete_consulta";
  m.template_params = {"Ana", "05/01 às 14h"};
  const HttpCall call = build_send_call(e, m);
  EXPECT_EQ(call.url, "https://graph.facebook.com/v20.0/106540352242922/messages");
  const json expected = {{"messaging_product", "whatsapp"},
                         {"recipient_type", "individual"},
                         {"to", "5511987654321"},
                         {"type", "template"},
                         {"template",
                          {{"name", "lembrete_consulta"},
                           {"language", {{"code", "pt_BR"}}},
                           {"components",
                            {{{"type", "body"},
                              {"parameters",
                               {{{"type", "text"}, {"text", "Ana"}},
                                {{"type", "text"}, {"text", "05/01 às 14h"}}}}}}}}}};
  EXPECT_EQ(json::parse(call.body), expected) << call.body;

  m.template_params.clear();
  m.template_language = "en_US";
  const json plain = json::parse(build_send_call(e, m).body);
  EXPECT_EQ(plain["template"],
            json({{"name", "lembrete_consulta"}, {"language", {{"code", "en_US"}}}}));
}

TEST(GatewayAdapter, BuildRefusesWhatCannotBeSent) {
  EXPECT_THROW(build_send_call(evolution("h"), text_to("120363025@g.us")), std::invalid_argument);
  EXPECT_THROW(build_send_call(evolution("h"), text_to("5511987654321", " ")),
               std::invalid_argument);
  GatewayEndpoint no_instance = evolution("h");
  no_instance.instance.clear();
  EXPECT_THROW(build_send_call(no_instance, text_to("5511987654321")), std::invalid_argument);
  GatewayEndpoint no_phone_id = cloudapi("h");
  no_phone_id.phone_number_id.clear();
  EXPECT_THROW(build_send_call(no_phone_id, text_to("5511987654321")), std::invalid_argument);
  OutgoingText nameless = text_to("5511987654321", "");
  nameless.template_name = "";
  EXPECT_THROW(build_send_call(cloudapi("h"), nameless), std::invalid_argument);
  GatewayEndpoint llm = evolution("h");
  llm.api = Api::openai;
  EXPECT_THROW(build_send_call(llm, text_to("5511987654321")), std::invalid_argument);
}

// --- Recipients ------------------------------------------------------------------------------

TEST(GatewayAdapter, NormalisesContacts) {
  const std::pair<const char*, const char*> cases[] = {
      {"5511987654321", "5511987654321"},
      {"+5511987654321", "5511987654321"},
      {" +55 11 98765-4321 ", "5511987654321"},
      {"+55 (11) 98765-4321", "5511987654321"},
      {"5511987654321@s.whatsapp.net", "5511987654321"},
      {"5511987654321:12@s.whatsapp.net", "5511987654321"},
      {"5511987654321@c.us", "5511987654321"},
      {"+1 415-555-0100", "14155550100"},
      {"35191234", "35191234"},                // 8 digits: the shortest accepted
      {"123456789012345", "123456789012345"},  // 15 digits: the longest
  };
  for (Api api : {Api::evolution, Api::whaticket, Api::cloudapi})
    for (const auto& [contact, want] : cases)
      EXPECT_EQ(number_of(normalise_recipient(api, contact)), want)
          << to_string(api) << " " << contact;
}

TEST(GatewayAdapter, RefusesContactsThatAreNotOnePhoneNumber) {
  const std::pair<const char*, const char*> cases[] = {
      {"120363025246125486@g.us", "group"},
      {"status@broadcast", "broadcast"},
      {"123456789012345@lid", "@lid"},
      {"5511987654321@example.com", "domain"},
      {"", "empty"},
      {"   ", "empty"},
      {"1234567", "7 digits"},
      {"1234567890123456", "16 digits"},
      {"+", "0 digits"},
      {"55 11 9876x4321", "other than digits"},
      {"++5511987654321", "other than digits"},
      {"5511987654321@", "domain"},
  };
  for (Api api : {Api::evolution, Api::whaticket, Api::cloudapi})
    for (const auto& [contact, says] : cases) {
      const std::string reason = reason_of(normalise_recipient(api, contact));
      EXPECT_NE(reason.find(says), std::string::npos)
          << to_string(api) << " '" << contact << "' => " << reason;
    }
  EXPECT_NE(reason_of(normalise_recipient(Api::openai, "5511987654321")).find("not a WhatsApp"),
            std::string::npos);
}

// --- Answers ---------------------------------------------------------------------------------

TEST(GatewayAdapter, ReadsEvolutionAnswer) {
  const std::string body = R"({"key":{"remoteJid":"5511987654321@s.whatsapp.net","fromMe":true,
    "id":"3EB0C431C26A1916E07A"},"pushName":"","status":"PENDING",
    "message":{"conversation":"Oi"},"messageType":"conversation",
    "messageTimestamp":"1767225600","instanceId":"clinic1","source":"unknown"})";
  EXPECT_EQ(id_of(parse_send_answer(Api::evolution, body)), "3EB0C431C26A1916E07A");
}

TEST(GatewayAdapter, ReadsWhaticketAnswers) {
  EXPECT_EQ(id_of(parse_send_answer(Api::whaticket, "")), std::nullopt);
  EXPECT_EQ(id_of(parse_send_answer(Api::whaticket, "\n")), std::nullopt);
  EXPECT_EQ(id_of(parse_send_answer(Api::whaticket, R"({"mensagem":"Mensagem enviada"})")),
            std::nullopt);
  EXPECT_NE(error_of(parse_send_answer(Api::whaticket, R"({"error":"ERR_NO_DEF_WAPP_FOUND"})"))
                .find("ERR_NO_DEF_WAPP_FOUND"),
            std::string::npos);
  EXPECT_NE(
      error_of(parse_send_answer(Api::whaticket, "<html>login</html>")).find("not valid JSON"),
      std::string::npos);
}

TEST(GatewayAdapter, ReadsCloudApiAnswers) {
  const std::string text = R"({"messaging_product":"whatsapp","contacts":[{"input":"+5511987654321",
    "wa_id":"5511987654321"}],"messages":[{"id":"wamid.HBgNNTUxMTk4NzY1NDMyMRUCABEYEjk="}]})";
  EXPECT_EQ(id_of(parse_send_answer(Api::cloudapi, text)),
            "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABEYEjk=");
  const std::string tmpl = R"({"messaging_product":"whatsapp","contacts":[{"input":"5511987654321",
    "wa_id":"5511987654321"}],"messages":[{"id":"wamid.T1","message_status":"accepted"}]})";
  EXPECT_EQ(id_of(parse_send_answer(Api::cloudapi, tmpl)), "wamid.T1");
}

TEST(GatewayAdapter, AnswersWithoutTheirIdAreErrors) {
  struct Case {
    Api api;
    std::string body;
    std::string says;
  };
  const Case cases[] = {
      {Api::evolution, R"({"status":"PENDING"})", "no key.id"},
      {Api::evolution, R"({"key":{"remoteJid":"x","id":""}})", "no key.id"},
      {Api::evolution, R"({"key":{"id":42}})", "no key.id"},
      {Api::evolution, "", "empty"},
      {Api::evolution, R"({"status":400,"error":"Bad Request","response":{"message":["x"]}})",
       "is an error: Bad Request"},
      {Api::cloudapi, R"({"messaging_product":"whatsapp","messages":[]})", "no messages[0].id"},
      {Api::cloudapi, R"({"messaging_product":"whatsapp"})", "no messages[0].id"},
      {Api::cloudapi, R"({"messages":[{}]})", "no messages[0].id"},
      {Api::cloudapi,
       R"({"error":{"message":"(#131056) pair rate limit hit","type":"OAuthException","code":131056}})",
       "is an error: (#131056) pair rate limit hit"},
      {Api::cloudapi, R"({"messages":[{"id":"wamid.X"})", "not valid JSON"},
      {Api::cloudapi, R"(["wamid.X"])", "not a JSON object"},
      {Api::evolution, std::string(100, '{'), "nests deeper"},
  };
  for (const Case& c : cases) {
    const std::string error = error_of(parse_send_answer(c.api, c.body));
    EXPECT_NE(error.find(c.says), std::string::npos) << c.body << "\n=> " << error;
    EXPECT_TRUE(error.starts_with(std::string(to_string(c.api)))) << error;
  }
  EXPECT_NE(error_of(parse_send_answer(Api::calcom, "{}")).find("not a WhatsApp"),
            std::string::npos);
}

TEST(GatewayAdapter, ErrorsQuoteAtMostTwoHundredCharactersOfTheBody) {
  const std::string padding(5000, 'z');
  const std::string body = R"({"messaging_product":"whatsapp","padding":")" + padding + R"("})";
  const std::string error = error_of(parse_send_answer(Api::cloudapi, body));
  EXPECT_NE(error.find(std::string(150, 'z')), std::string::npos) << error;
  EXPECT_EQ(error.find(std::string(200, 'z')), std::string::npos);
  EXPECT_LT(error.size(), 300u);
  const std::string message = R"({"error":")" + padding + R"("})";
  EXPECT_LT(error_of(parse_send_answer(Api::whaticket, message)).size(), 300u);
}

// --- Against the provider simulator ------------------------------------------------------------

class GatewayAdapterSim : public ::testing::Test {
 protected:
  void SetUp() override { sim_ = std::make_unique<SimulatorThread>(); }

  test::HttpResult send(const HttpCall& call) {
    Headers headers;
    for (const auto& [name, value] : call.headers)
      if (name != "content-type") headers[name] = value;  // the test client sets it itself
    return client_.request(call.method, call.url, call.body, headers);
  }

  std::unique_ptr<SimulatorThread> sim_;
  test::HttpClient client_;
};

TEST_F(GatewayAdapterSim, EvolutionSendIsAcceptedAndItsIdRead) {
  const test::HttpResult reply =
      send(build_send_call(evolution(sim_->url("/")), text_to("5511987654321@s.whatsapp.net")));
  ASSERT_EQ(reply.status, 201) << reply.error << reply.body;
  const std::optional<std::string> id = id_of(parse_send_answer(Api::evolution, reply.body));
  ASSERT_TRUE(id.has_value());
  EXPECT_TRUE(id->starts_with("3EB0")) << *id;
  const json body = json::parse(reply.body);
  EXPECT_EQ(body["key"]["remoteJid"], "5511987654321@s.whatsapp.net");
  EXPECT_EQ(body["instanceId"], "clinic1");
  EXPECT_EQ(body["message"]["conversation"], "Sua consulta é amanhã às 14h.");

  // Two sends, two ids.
  const test::HttpResult again =
      send(build_send_call(evolution(sim_->url()), text_to("+55 11 98765-4321")));
  ASSERT_EQ(again.status, 201) << again.body;
  EXPECT_NE(id_of(parse_send_answer(Api::evolution, again.body)), id);
}

TEST_F(GatewayAdapterSim, WhaticketSendIsAccepted) {
  const test::HttpResult reply =
      send(build_send_call(whaticket(sim_->url()), text_to("5511987654321@c.us")));
  ASSERT_EQ(reply.status, 200) << reply.error << reply.body;
  EXPECT_EQ(id_of(parse_send_answer(Api::whaticket, reply.body)), std::nullopt);
}

TEST_F(GatewayAdapterSim, CloudApiTextAndTemplateAreAcceptedAndTheirIdsRead) {
  const test::HttpResult text =
      send(build_send_call(cloudapi(sim_->url()), text_to("+5511987654321")));
  ASSERT_EQ(text.status, 200) << text.error << text.body;
  const std::optional<std::string> text_id = id_of(parse_send_answer(Api::cloudapi, text.body));
  ASSERT_TRUE(text_id.has_value());
  EXPECT_TRUE(text_id->starts_with("wamid.")) << *text_id;
  EXPECT_EQ(json::parse(text.body)["contacts"][0]["wa_id"], "5511987654321");

  OutgoingText m = text_to("5511987654321", "");
  m.template_name = "lembrete_consulta";
  m.template_params = {"Ana"};
  const test::HttpResult tmpl = send(build_send_call(cloudapi(sim_->url("/")), m));
  ASSERT_EQ(tmpl.status, 200) << tmpl.error << tmpl.body;
  const std::optional<std::string> tmpl_id = id_of(parse_send_answer(Api::cloudapi, tmpl.body));
  ASSERT_TRUE(tmpl_id.has_value());
  EXPECT_NE(tmpl_id, text_id);
  EXPECT_EQ(json::parse(tmpl.body)["messages"][0]["message_status"], "accepted");
}

}  // namespace
}  // namespace recado::jobs::providers
