#include "jobs/providers/gateway.hpp"

#include <cctype>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "jobs/providers/wire.hpp"
#include "src/json_limits.hpp"

namespace recado::jobs::providers {

using json = nlohmann::json;
using wire::blank;
using wire::dump;
using wire::path_segment;
using wire::quoted;
using wire::without_trailing_slashes;

namespace {

constexpr std::size_t kMinDigits = 8;    // the shortest national numbers with a country code
constexpr std::size_t kMaxDigits = 15;   // E.164

bool is_gateway(Api api) {
  return api == Api::evolution || api == Api::whaticket || api == Api::cloudapi;
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string cloudapi_version(std::string_view version) {
  if (version.empty()) return "v21.0";
  if (version.front() == 'v') return std::string(version);
  return "v" + std::string(version);
}

json cloudapi_body(const std::string& to, const OutgoingText& m) {
  json body = {{"messaging_product", "whatsapp"}, {"recipient_type", "individual"}, {"to", to}};
  if (!m.template_name) {
    body["type"] = "text";
    body["text"] = {{"body", m.text}};
    return body;
  }
  json tmpl = {{"name", *m.template_name}, {"language", {{"code", m.template_language}}}};
  if (!m.template_params.empty()) {
    json parameters = json::array();
    for (const std::string& p : m.template_params)
      parameters.push_back({{"type", "text"}, {"text", p}});
    tmpl["components"] = json::array({{{"type", "body"}, {"parameters", std::move(parameters)}}});
  }
  body["type"] = "template";
  body["template"] = std::move(tmpl);
  return body;
}

std::string failure(Api api, std::string_view what, std::string_view detail = {}) {
  std::string out = std::string(to_string(api)) + " send answer " + std::string(what);
  if (!detail.empty()) out += ": " + quoted(detail);
  return out;
}

const json& member(const json& obj, const char* key) {
  static const json kNull;
  if (!obj.is_object()) return kNull;
  auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

std::string id_at(const json& obj) {
  const json& id = member(obj, "id");
  return id.is_string() ? id.get<std::string>() : std::string{};
}

// An error in a 2xx body: {"error":"..."} or {"error":{"message":...}}.
std::optional<std::string> error_in(const json& doc) {
  const json& error = member(doc, "error");
  if (error.is_null()) return std::nullopt;
  if (error.is_string()) return error.get<std::string>();
  const json& message = member(error, "message");
  return message.is_string() ? message.get<std::string>() : dump(error);
}

}  // namespace

std::variant<std::string, std::string> normalise_recipient(Api api, std::string_view contact) {
  using Result = std::variant<std::string, std::string>;
  auto refuse = [](std::string reason) {
    return Result(std::in_place_index<1>, std::move(reason));
  };
  if (!is_gateway(api)) return refuse(std::string(to_string(api)) + " is not a WhatsApp gateway");
  std::string_view rest = trimmed(contact);
  if (rest.empty()) return refuse("the contact is empty");
  if (const std::size_t at = rest.find('@'); at != std::string_view::npos) {
    const std::string_view domain = rest.substr(at + 1);
    if (domain == "g.us") return refuse("the contact is a group chat (@g.us), not a person");
    if (domain == "broadcast") return refuse("the contact is a broadcast list (@broadcast)");
    if (domain == "lid")
      return refuse("the contact is a @lid identity, which hides the phone number");
    if (domain != "s.whatsapp.net" && domain != "c.us")
      return refuse("the contact's WhatsApp address domain @" + quoted(domain) + " is unknown");
    rest = rest.substr(0, at);
    if (const std::size_t device = rest.find(':'); device != std::string_view::npos)
      rest = rest.substr(0, device);  // "5511...:12@s.whatsapp.net": one of the user's devices
  }
  if (!rest.empty() && rest.front() == '+') rest.remove_prefix(1);
  std::string digits;
  for (char c : rest) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      digits += c;
    } else if (c != ' ' && c != '-' && c != '.' && c != '(' && c != ')') {
      return refuse(
          "the contact holds characters other than digits (a phone number with its "
          "country code is expected)");
    }
  }
  if (digits.size() < kMinDigits || digits.size() > kMaxDigits)
    return refuse("the contact has " + std::to_string(digits.size()) +
                  " digits; a phone number with its country code has 8 to 15");
  return Result(std::in_place_index<0>, std::move(digits));
}

HttpCall build_send_call(const GatewayEndpoint& endpoint, const OutgoingText& message) {
  const std::string who = "build_send_call: ";
  if (!is_gateway(endpoint.api))
    throw std::invalid_argument(who + std::string(to_string(endpoint.api)) +
                                " is not a WhatsApp gateway");
  auto recipient = normalise_recipient(endpoint.api, message.to);
  if (recipient.index() == 1) throw std::invalid_argument(who + std::get<1>(recipient));
  const std::string& to = std::get<0>(recipient);
  const bool use_template = endpoint.api == Api::cloudapi && message.template_name.has_value();
  if (use_template && (message.template_name->empty() || message.template_language.empty()))
    throw std::invalid_argument(who + "a template needs a name and a language");
  if (!use_template && blank(message.text))
    throw std::invalid_argument(who + "the message has no text");

  const std::string_view base = without_trailing_slashes(endpoint.base_url);
  HttpCall call;
  call.method = "POST";
  call.headers.emplace_back("content-type", "application/json");
  switch (endpoint.api) {
    case Api::evolution:
      if (endpoint.instance.empty()) throw std::invalid_argument(who + "no Evolution instance");
      call.url = std::string(base) + "/message/sendText/" + path_segment(endpoint.instance);
      call.headers.emplace_back("apikey", endpoint.token);
      call.body = dump({{"number", to}, {"text", message.text}});
      break;
    case Api::whaticket:
      call.url = std::string(base) + "/api/messages/send";
      call.headers.emplace_back("authorization", "Bearer " + endpoint.token);
      call.body = dump({{"number", to}, {"body", message.text}});
      break;
    default:  // Api::cloudapi
      if (endpoint.phone_number_id.empty())
        throw std::invalid_argument(who + "no Cloud API phone_number_id");
      call.url = std::string(base) + "/" + path_segment(cloudapi_version(endpoint.api_version)) +
                 "/" + path_segment(endpoint.phone_number_id) + "/messages";
      call.headers.emplace_back("authorization", "Bearer " + endpoint.token);
      call.body = dump(cloudapi_body(to, message));
      break;
  }
  return call;
}

std::variant<std::optional<std::string>, std::string> parse_send_answer(Api api,
                                                                        const std::string& body) {
  using Result = std::variant<std::optional<std::string>, std::string>;
  auto fail = [](std::string reason) { return Result(std::in_place_index<1>, std::move(reason)); };
  if (!is_gateway(api)) return fail(std::string(to_string(api)) + " is not a WhatsApp gateway");
  if (blank(body)) {
    if (api == Api::whaticket)
      return Result(std::in_place_index<0>, std::nullopt);  // Whaticket may answer 200 empty
    return fail(failure(api, "is empty"));
  }
  if (json_depth(body) > kMaxJsonDepth)
    return fail(failure(api, "nests deeper than " + std::to_string(kMaxJsonDepth) + " levels"));
  const json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded()) return fail(failure(api, "is not valid JSON", body));
  if (!doc.is_object()) return fail(failure(api, "is not a JSON object", body));
  if (auto error = error_in(doc)) return fail(failure(api, "is an error", *error));
  switch (api) {
    case Api::evolution: {
      std::string id = id_at(member(doc, "key"));
      if (id.empty()) return fail(failure(api, "has no key.id", body));
      return Result(std::in_place_index<0>, std::move(id));
    }
    case Api::whaticket:
      return Result(std::in_place_index<0>, std::nullopt);
    default: {  // Api::cloudapi
      const json& messages = member(doc, "messages");
      std::string id = messages.is_array() && !messages.empty() ? id_at(messages[0]) : "";
      if (id.empty()) return fail(failure(api, "has no messages[0].id", body));
      return Result(std::in_place_index<0>, std::move(id));
    }
  }
}

}  // namespace recado::jobs::providers
