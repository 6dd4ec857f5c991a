#include "src/sim_webhooks.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "src/hmac.hpp"
#include "src/time_format.hpp"

namespace recado {

using json = nlohmann::json;

namespace {

int64_t unix_seconds(Timestamp t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

BuiltWebhook with_body(json body) {
  BuiltWebhook w;
  w.body = dump(body);
  w.headers.emplace_back("Content-Type", "application/json");
  return w;
}

void add_token(BuiltWebhook& w, const WebhookCredentials& c) {
  if (!c.token.empty())
    w.headers.emplace_back(c.token_header.empty() ? "x-recado-token" : c.token_header, c.token);
}

// The chat the message is in, and who wrote it there.
std::string chat_jid(const ChatWebhookSpec& s) {
  return s.group.empty() ? s.from + "@s.whatsapp.net" : s.group + "@g.us";
}

// A Baileys message as Evolution's data and Whaticket's body carry it.
json baileys_message(const ChatWebhookSpec& s, Timestamp now) {
  json key = {{"remoteJid", chat_jid(s)}, {"fromMe", s.from_me}, {"id", s.id}};
  if (!s.group.empty()) key["participant"] = s.from + "@s.whatsapp.net";
  return {{"key", std::move(key)},
          {"pushName", s.name},
          {"message", {{"conversation", s.text}}},
          {"messageType", "conversation"},
          {"messageTimestamp", unix_seconds(now)}};
}

json calcom_attendee(const CalcomWebhookSpec& s) {
  json a = {{"name", s.name},
            {"email", s.email},
            {"timeZone", s.time_zone},
            {"language", {{"locale", "pt"}}}};
  if (!s.phone.empty()) a["phoneNumber"] = "+" + s.phone;
  return a;
}

json chatwoot_meta(const ChatwootWebhookSpec& s, bool assigned) {
  json meta = {
      {"sender",
       {{"id", 7}, {"name", "Cliente"}, {"phone_number", "+" + s.phone}, {"type", "contact"}}},
      {"assignee", nullptr},
      {"channel", "Channel::Whatsapp"}};
  if (assigned)
    meta["assignee"] = {{"id", s.assignee_id}, {"name", s.agent_name}, {"type", "user"}};
  return meta;
}

json chatwoot_conversation(const ChatwootWebhookSpec& s, const std::string& status, bool assigned,
                           Timestamp now) {
  return {{"id", s.conversation_id},
          {"inbox_id", 1},
          {"status", status},
          {"meta", chatwoot_meta(s, assigned)},
          {"contact_inbox", {{"source_id", s.phone}, {"inbox_id", 1}}},
          {"timestamp", unix_seconds(now)}};
}

// --- Reading an order ------------------------------------------------------------------------

struct OrderError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

uint64_t fnv1a(std::string_view text) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

// Checks that `j` has only `known` keys.
void only_keys(const json& j, std::initializer_list<std::string_view> known,
               const std::string& where) {
  for (const auto& [key, value] : j.items())
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      std::string list;
      for (std::string_view k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      throw OrderError("unknown field '" + where + key + "' (known: " + list + ")");
    }
}

std::string str(const json& j, const char* key, const std::string& where,
                std::string fallback = {}) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_string()) throw OrderError(where + key + " must be a string");
  return it->get<std::string>();
}

std::string required(const json& j, const char* key, const std::string& where) {
  std::string s = str(j, key, where);
  if (s.empty()) throw OrderError(where + key + " is required (a non-empty string)");
  return s;
}

int64_t whole(const json& j, const char* key, const std::string& where, int64_t fallback,
              int64_t min, int64_t max) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_number_integer() && !it->is_number_unsigned())
    throw OrderError(where + key + " must be a whole number");
  if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(max))
    throw OrderError(where + key + " must be at most " + std::to_string(max));
  const int64_t n = it->get<int64_t>();
  if (n < min || n > max)
    throw OrderError(where + key + " must be from " + std::to_string(min) + " to " +
                     std::to_string(max));
  return n;
}

bool boolean(const json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return false;
  if (!it->is_boolean()) throw OrderError(where + key + " must be true or false");
  return it->get<bool>();
}

std::string digits_of(const std::string& phone, const std::string& field) {
  std::string out;
  for (char c : phone) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      out += c;
    } else if (c != '+' && c != ' ' && c != '-' && c != '(' && c != ')') {
      throw OrderError(field + " must be a phone number (digits)");
    }
  }
  if (out.empty()) throw OrderError(field + " must be a phone number (digits)");
  return out;
}

Timestamp time_field(const json& j, const char* key, const std::string& where) {
  const std::string s = required(j, key, where);
  auto t = parse_rfc3339(s);
  if (!t) throw OrderError(where + key + " must be an RFC 3339 time (e.g. 2026-01-05T13:00:00Z)");
  return *t;
}

ChatWebhookSpec read_chat(const json& m, Provider provider, const std::string& fresh_id) {
  const std::string w = "message.";
  only_keys(m,
            {"from", "name", "text", "id", "from_me", "group", "status", "error_code", "instance",
             "phone_number_id", "business_number"},
            w);
  ChatWebhookSpec s;
  s.from = digits_of(required(m, "from", w), w + "from");
  s.name = str(m, "name", w, "Cliente Sim");
  s.status = str(m, "status", w);
  s.text = str(m, "text", w);
  if (s.status.empty() && !m.contains("text"))
    throw OrderError(w + "text is required (a string) for a message");
  s.from_me = boolean(m, "from_me", w);
  s.group = str(m, "group", w);
  s.error_code = whole(m, "error_code", w, 0, 0, int64_t{1} << 40);
  s.instance = str(m, "instance", w, s.instance);
  s.phone_number_id = str(m, "phone_number_id", w, s.phone_number_id);
  s.business_number = str(m, "business_number", w, s.business_number);
  if (!s.status.empty() && !m.contains("id"))
    throw OrderError(w + "id is required with a status (the id of the message it describes)");
  const std::string default_id =
      provider == Provider::cloudapi ? "wamid.SIM" + upper(fresh_id) : "3EB0" + upper(fresh_id);
  s.id = str(m, "id", w, default_id);
  if (s.id.empty()) throw OrderError(w + "id must not be empty");
  if (provider == Provider::cloudapi) {
    if (s.from_me) throw OrderError(w + "from_me is not something the Cloud API sends");
    if (!s.group.empty()) throw OrderError(w + "group is not something the Cloud API sends");
    if (!s.status.empty() && s.status != "sent" && s.status != "delivered" && s.status != "read" &&
        s.status != "failed")
      throw OrderError(w + "status must be sent, delivered, read or failed for cloudapi");
  }
  if (provider == Provider::whaticket && !s.status.empty())
    throw OrderError(w + "status is not something Whaticket sends (messages only)");
  if (provider == Provider::evolution && !s.status.empty()) {
    static const std::array<std::string_view, 7> kStatuses = {
        "ERROR", "PENDING", "SERVER_ACK", "DELIVERY_ACK", "READ", "PLAYED", "DELETED"};
    if (std::find(kStatuses.begin(), kStatuses.end(), s.status) == kStatuses.end())
      throw OrderError(
          w +
          "status must be one of ERROR, PENDING, SERVER_ACK, DELIVERY_ACK, READ, PLAYED, DELETED");
  }
  return s;
}

CalcomWebhookSpec read_calcom(const json& m, const std::string& fresh_id) {
  const std::string w = "message.";
  only_keys(m,
            {"event", "uid", "booking_id", "start", "end", "title", "name", "email", "phone",
             "time_zone", "reschedule_uid", "cancellation_reason"},
            w);
  CalcomWebhookSpec s;
  s.event = str(m, "event", w, s.event);
  if (s.event.empty() || !std::all_of(s.event.begin(), s.event.end(), [](char c) {
        return std::isupper(static_cast<unsigned char>(c)) || c == '_';
      }))
    throw OrderError(w + "event must be a Cal.com trigger such as BOOKING_CREATED");
  s.uid = str(m, "uid", w, "sim" + fresh_id);
  if (s.uid.empty()) throw OrderError(w + "uid must not be empty");
  s.booking_id = whole(m, "booking_id", w, 1 + static_cast<int64_t>(fnv1a(fresh_id) % 900000), 1,
                       int64_t{1} << 40);
  s.start = time_field(m, "start", w);
  if (m.contains("end")) s.end = time_field(m, "end", w);
  s.title = str(m, "title", w, s.title);
  s.name = str(m, "name", w, s.name);
  s.email = str(m, "email", w, s.email);
  if (m.contains("phone")) s.phone = digits_of(str(m, "phone", w), w + "phone");
  s.time_zone = str(m, "time_zone", w, s.time_zone);
  s.reschedule_uid = str(m, "reschedule_uid", w);
  s.cancellation_reason = str(m, "cancellation_reason", w);
  return s;
}

ChatwootWebhookSpec read_chatwoot(const json& m, const std::string& fresh_id) {
  const std::string w = "message.";
  only_keys(m,
            {"event", "conversation_id", "phone", "from", "status", "assignee_id", "id", "text",
             "agent_name"},
            w);
  ChatwootWebhookSpec s;
  s.event = str(m, "event", w, s.event);
  if (s.event != "conversation_status_changed" && s.event != "conversation_updated" &&
      s.event != "message_created")
    throw OrderError(
        w + "event must be conversation_status_changed, conversation_updated or message_created");
  s.conversation_id = whole(m, "conversation_id", w, s.conversation_id, 1, int64_t{1} << 40);
  const std::string phone = m.contains("phone") ? str(m, "phone", w) : str(m, "from", w);
  if (phone.empty()) throw OrderError(w + "phone is required (the contact's number)");
  s.phone = digits_of(phone, w + "phone");
  s.status = str(m, "status", w, s.status);
  s.assignee_id = whole(m, "assignee_id", w, s.assignee_id, 1, int64_t{1} << 40);
  s.message_id =
      whole(m, "id", w, 1 + static_cast<int64_t>(fnv1a(fresh_id) % 900000000), 1, int64_t{1} << 40);
  s.text = str(m, "text", w);
  s.agent_name = str(m, "agent_name", w, s.agent_name);
  return s;
}

}  // namespace

BuiltWebhook build_evolution_webhook(const ChatWebhookSpec& s, const WebhookCredentials& c,
                                     Timestamp now) {
  json body = {{"instance", s.instance},
               {"destination", ""},
               {"date_time", format_rfc3339(now)},
               {"sender", s.business_number + "@s.whatsapp.net"},
               {"server_url", "http://evolution.sim.local"},
               {"apikey", "sim-instance-key"}};
  if (s.status.empty()) {
    body["event"] = "messages.upsert";
    json data = baileys_message(s, now);
    data["instanceId"] = "sim-" + s.instance;
    data["source"] = "android";
    body["data"] = std::move(data);
  } else {
    body["event"] = "messages.update";
    body["data"] = {{"keyId", s.id},      {"remoteJid", chat_jid(s)},
                    {"fromMe", true},     {"participant", ""},
                    {"status", s.status}, {"instanceId", "sim-" + s.instance}};
  }
  BuiltWebhook w = with_body(std::move(body));
  add_token(w, c);
  if (!c.jwt_secret.empty()) {
    const int64_t iat = unix_seconds(now);
    const std::string claims =
        dump({{"iat", iat}, {"exp", iat + 600}, {"app", "evolution"}, {"action", "webhook"}});
    const std::string signing =
        base64url_encode(R"({"alg":"HS256","typ":"JWT"})") + "." + base64url_encode(claims);
    w.headers.emplace_back(
        "Authorization",
        "Bearer " + signing + "." + base64url_encode(hmac_sha256(c.jwt_secret, signing)));
  }
  return w;
}

BuiltWebhook build_whaticket_webhook(const ChatWebhookSpec& s, const WebhookCredentials& c,
                                     Timestamp now) {
  BuiltWebhook w = with_body(baileys_message(s, now));
  add_token(w, c);
  return w;
}

BuiltWebhook build_cloudapi_webhook(const ChatWebhookSpec& s, const WebhookCredentials& c,
                                    Timestamp now) {
  const std::string stamp = std::to_string(unix_seconds(now));
  json value = {
      {"messaging_product", "whatsapp"},
      {"metadata",
       {{"display_phone_number", s.business_number}, {"phone_number_id", s.phone_number_id}}}};
  if (s.status.empty()) {
    value["contacts"] = json::array({{{"profile", {{"name", s.name}}}, {"wa_id", s.from}}});
    value["messages"] = json::array({{{"from", s.from},
                                      {"id", s.id},
                                      {"timestamp", stamp},
                                      {"type", "text"},
                                      {"text", {{"body", s.text}}}}});
  } else {
    json status = {
        {"id", s.id}, {"status", s.status}, {"timestamp", stamp}, {"recipient_id", s.from}};
    if (s.error_code != 0) {
      const std::string title =
          s.error_code == 131047 ? "Re-engagement message" : "Simulated delivery failure";
      status["errors"] = json::array({{{"code", s.error_code},
                                       {"title", title},
                                       {"message", title},
                                       {"error_data", {{"details", "Simulated by recado sim"}}}}});
    }
    value["statuses"] = json::array({std::move(status)});
  }
  json body = {{"object", "whatsapp_business_account"},
               {"entry", json::array({{{"id", "100000000000000"},
                                       {"changes", json::array({{{"value", std::move(value)},
                                                                 {"field", "messages"}}})}}})}};
  BuiltWebhook w = with_body(std::move(body));
  if (!c.secret.empty())
    w.headers.emplace_back("X-Hub-Signature-256", "sha256=" + hmac_sha256_hex(c.secret, w.body));
  return w;
}

BuiltWebhook build_calcom_webhook(const CalcomWebhookSpec& s, const WebhookCredentials& c,
                                  Timestamp now) {
  const Timestamp end = s.end.value_or(s.start + std::chrono::minutes{30});
  const bool cancelled = s.event == "BOOKING_CANCELLED";
  json booking = {{"title", s.title},
                  {"type", "consulta"},
                  {"description", ""},
                  {"startTime", format_rfc3339(s.start)},
                  {"endTime", format_rfc3339(end)},
                  {"organizer",
                   {{"id", 1},
                    {"name", "Recado Sim"},
                    {"email", "agenda@sim.recado.local"},
                    {"username", "recado-sim"},
                    {"timeZone", "America/Sao_Paulo"},
                    {"language", {{"locale", "pt"}}}}},
                  {"attendees", json::array({calcom_attendee(s)})},
                  {"location", "integrations:daily"},
                  {"uid", s.uid},
                  {"status", cancelled ? "CANCELLED" : "ACCEPTED"},
                  {"metadata", json::object()}};
  json body;
  if (s.event.starts_with("MEETING_")) {
    // MEETING_STARTED / MEETING_ENDED: the booking itself, flat, no createdAt.
    booking["id"] = s.booking_id;
    booking["triggerEvent"] = s.event;
    body = std::move(booking);
  } else {
    booking["bookingId"] = s.booking_id;
    json responses = {{"name", {{"label", "your_name"}, {"value", s.name}}},
                      {"email", {{"label", "email_address"}, {"value", s.email}}}};
    if (!s.phone.empty())
      responses["attendeePhoneNumber"] = {{"label", "phone_number"}, {"value", "+" + s.phone}};
    booking["responses"] = std::move(responses);
    if (!s.reschedule_uid.empty()) booking["rescheduleUid"] = s.reschedule_uid;
    if (cancelled) booking["cancellationReason"] = s.cancellation_reason;
    body = {{"triggerEvent", s.event},
            {"createdAt", format_rfc3339(now)},
            {"payload", std::move(booking)}};
  }
  BuiltWebhook w = with_body(std::move(body));
  w.headers.emplace_back("X-Cal-Signature-256", c.secret.empty()
                                                    ? "no-secret-provided"
                                                    : hmac_sha256_hex(c.secret, w.body));
  return w;
}

BuiltWebhook build_chatwoot_webhook(const ChatwootWebhookSpec& s, const WebhookCredentials& c,
                                    Timestamp now) {
  const json account = {{"id", 1}, {"name", "Recado Sim"}};
  json body;
  if (s.event == "message_created") {
    body = {{"event", "message_created"},
            {"id", s.message_id},
            {"content", s.text},
            {"content_type", "text"},
            {"message_type", "outgoing"},
            {"private", false},
            {"created_at", format_rfc3339(now)},
            {"sender", {{"id", s.assignee_id}, {"name", s.agent_name}, {"type", "user"}}},
            {"conversation", chatwoot_conversation(s, "open", true, now)},
            {"inbox", {{"id", 1}, {"name", "WhatsApp"}}},
            {"account", account}};
  } else {
    const bool assigned = s.event == "conversation_updated";
    body = chatwoot_conversation(s, assigned ? "open" : s.status, assigned, now);
    body["event"] = s.event;
    body["account"] = account;
    body["changed_attributes"] =
        assigned
            ? json::array({{{"assignee_id",
                             {{"previous_value", nullptr}, {"current_value", s.assignee_id}}}}})
            : json::array(
                  {{{"status", {{"previous_value", "pending"}, {"current_value", s.status}}}}});
  }
  BuiltWebhook w = with_body(std::move(body));
  if (!c.secret.empty()) {
    const std::string stamp = std::to_string(unix_seconds(now));
    w.headers.emplace_back("X-Chatwoot-Timestamp", stamp);
    w.headers.emplace_back("X-Chatwoot-Signature",
                           "sha256=" + hmac_sha256_hex(c.secret, stamp + "." + w.body));
  } else {
    add_token(w, c);
  }
  return w;
}

std::variant<WebhookOrder, std::string> parse_webhook_order(const json& j,
                                                            const std::string& fresh_id) {
  try {
    if (!j.is_object()) throw OrderError("the body must be a JSON object");
    only_keys(j,
              {"url", "provider", "token", "token_header", "secret", "jwt_secret", "message",
               "repeat", "concurrent", "timeout_ms"},
              "");
    WebhookOrder o;
    o.url = required(j, "url", "");
    if (!o.url.starts_with("http://") && !o.url.starts_with("https://"))
      throw OrderError("url must start with http:// or https://");
    const std::string provider = required(j, "provider", "");
    auto p = parse_provider(provider);
    if (!p)
      throw OrderError("provider must be one of evolution, whaticket, cloudapi, calcom, chatwoot");
    o.provider = *p;
    o.credentials.token = str(j, "token", "");
    o.credentials.token_header = str(j, "token_header", "", o.credentials.token_header);
    if (o.credentials.token_header.empty()) throw OrderError("token_header must not be empty");
    o.credentials.secret = str(j, "secret", "");
    o.credentials.jwt_secret = str(j, "jwt_secret", "");
    if (!o.credentials.jwt_secret.empty() && o.provider != Provider::evolution)
      throw OrderError("jwt_secret applies only to provider evolution");
    o.repeat = static_cast<int>(whole(j, "repeat", "", 1, 1, 1000));
    o.concurrent = boolean(j, "concurrent", "");
    o.timeout = std::chrono::milliseconds{whole(j, "timeout_ms", "", 10'000, 1, 120'000)};
    auto m = j.find("message");
    if (m == j.end() || !m->is_object())
      throw OrderError("message is required (an object describing what to send)");
    switch (o.provider) {
      case Provider::evolution:
      case Provider::whaticket:
      case Provider::cloudapi:
        o.event = read_chat(*m, o.provider, fresh_id);
        break;
      case Provider::calcom:
        o.event = read_calcom(*m, fresh_id);
        break;
      case Provider::chatwoot:
        o.event = read_chatwoot(*m, fresh_id);
        break;
    }
    return o;
  } catch (const OrderError& e) {
    return std::string(e.what());
  }
}

BuiltWebhook build_webhook(const WebhookOrder& o, Timestamp now) {
  switch (o.provider) {
    case Provider::evolution:
      return build_evolution_webhook(std::get<ChatWebhookSpec>(o.event), o.credentials, now);
    case Provider::whaticket:
      return build_whaticket_webhook(std::get<ChatWebhookSpec>(o.event), o.credentials, now);
    case Provider::cloudapi:
      return build_cloudapi_webhook(std::get<ChatWebhookSpec>(o.event), o.credentials, now);
    case Provider::calcom:
      return build_calcom_webhook(std::get<CalcomWebhookSpec>(o.event), o.credentials, now);
    case Provider::chatwoot:
      return build_chatwoot_webhook(std::get<ChatwootWebhookSpec>(o.event), o.credentials, now);
  }
  return {};
}

}  // namespace recado
