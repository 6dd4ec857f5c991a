#include "src/webhook_decode.hpp"

#include <charconv>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "src/json_limits.hpp"
#include "src/time_format.hpp"

namespace recado {

namespace {

using json = nlohmann::json;

// A payload that does not have the shape its provider promises; becomes a 422.
struct ShapeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Reads one JSON object and names the path of whatever is missing or mistyped.
class Obj {
 public:
  Obj(const json& j, std::string path) : j_(j), path_(std::move(path)) {
    if (!j_.is_object()) throw ShapeError(where() + " must be an object");
  }

  const json* find(std::string_view key) const {
    auto it = j_.find(key);
    return it == j_.end() || it->is_null() ? nullptr : &*it;
  }
  std::string str(std::string_view key) const {
    const json* v = find(key);
    if (!v) throw ShapeError(at(key) + " is missing");
    return as_string(*v, key, false);
  }
  std::string opt_str(std::string_view key) const {
    const json* v = find(key);
    return v ? as_string(*v, key, false) : std::string{};
  }
  // An identifier: a string, or a whole number (Chatwoot's ids are numbers).
  std::string id(std::string_view key) const {
    const json* v = find(key);
    if (!v) throw ShapeError(at(key) + " is missing");
    return as_string(*v, key, true);
  }
  std::string opt_id(std::string_view key) const {
    const json* v = find(key);
    return v ? as_string(*v, key, true) : std::string{};
  }
  bool opt_bool(std::string_view key) const {
    const json* v = find(key);
    if (!v) return false;
    if (!v->is_boolean()) throw ShapeError(at(key) + " must be true or false");
    return v->get<bool>();
  }
  Obj obj(std::string_view key) const {
    const json* v = find(key);
    if (!v) throw ShapeError(at(key) + " is missing");
    return Obj(*v, at(key));
  }
  std::optional<Obj> opt_obj(std::string_view key) const {
    const json* v = find(key);
    if (!v) return std::nullopt;
    return Obj(*v, at(key));
  }
  // The array at `key` (empty when absent).
  const json& arr(std::string_view key) const {
    static const json kEmpty = json::array();
    const json* v = find(key);
    if (!v) return kEmpty;
    if (!v->is_array()) throw ShapeError(at(key) + " must be an array");
    return *v;
  }
  // Unix seconds given as a number or a string of digits.
  std::optional<Timestamp> opt_unix(std::string_view key) const {
    const json* v = find(key);
    if (!v) return std::nullopt;
    int64_t seconds = -1;
    if (v->is_number_unsigned()) {
      seconds = v->get<uint64_t>() > (uint64_t{1} << 36) ? -1 : static_cast<int64_t>(v->get<uint64_t>());
    } else if (v->is_number_integer()) {
      seconds = v->get<int64_t>();
    } else if (v->is_string()) {
      const auto& s = v->get_ref<const std::string&>();
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), seconds);
      if (ec != std::errc{} || end != s.data() + s.size()) seconds = -1;
    }
    if (seconds < 0 || seconds > (int64_t{1} << 36)) throw ShapeError(at(key) + " must be unix seconds");
    return Timestamp{std::chrono::seconds{seconds}};
  }
  std::optional<Timestamp> opt_time(std::string_view key) const {
    const std::string s = opt_str(key);
    if (s.empty()) return std::nullopt;
    auto t = parse_rfc3339(s);
    if (!t) throw ShapeError(at(key) + " must be an RFC 3339 time");
    return t;
  }
  const json& raw() const { return j_; }
  std::string at(std::string_view key) const { return path_ + "." + std::string(key); }

 private:
  std::string where() const { return path_; }
  std::string as_string(const json& v, std::string_view key, bool number_ok) const {
    if (v.is_string()) return v.get<std::string>();
    if (number_ok && (v.is_number_integer() || v.is_number_unsigned())) return v.dump();
    throw ShapeError(at(key) + (number_ok ? " must be a string or a whole number" : " must be a string"));
  }

  const json& j_;
  std::string path_;
};

std::string chat_of(const std::string& jid) {
  if (jid.ends_with("@g.us")) return "group";
  if (jid.ends_with("@broadcast") || jid.ends_with("@newsletter")) return "broadcast";
  return "direct";
}

std::string phone_of(const std::string& jid) {
  const auto at = jid.find('@');
  if (at == std::string::npos) return jid;
  if (jid.compare(at, std::string::npos, "@s.whatsapp.net") != 0 && jid.compare(at, std::string::npos, "@c.us") != 0)
    return {};
  auto colon = jid.find(':');  // device suffix: 5511...:12@s.whatsapp.net
  return jid.substr(0, std::min(at, colon));
}

// The kind and text of a Baileys `message` object (Evolution and Whaticket).
void read_baileys_content(const Obj& message, InboundEvent& e, int depth = 0) {
  // Disappearing and view-once messages wrap the content: {"ephemeralMessage":{"message":{...}}}.
  for (const char* wrapper : {"ephemeralMessage", "viewOnceMessage", "viewOnceMessageV2", "viewOnceMessageV2Extension",
                              "documentWithCaptionMessage", "editedMessage"}) {
    if (depth > 3) break;
    if (auto w = message.opt_obj(wrapper))
      if (auto inner = w->opt_obj("message")) return read_baileys_content(*inner, e, depth + 1);
  }
  auto caption = [&](const char* key, const char* kind, const char* text_key = "caption") {
    if (auto m = message.opt_obj(key)) {
      e.kind = kind;
      e.text = m->opt_str(text_key);
      return true;
    }
    return false;
  };
  if (message.find("conversation")) {
    e.kind = "text";
    e.text = message.str("conversation");
  } else if (caption("extendedTextMessage", "text", "text") || caption("imageMessage", "image") ||
             caption("videoMessage", "video") || caption("audioMessage", "audio", "-") ||
             caption("documentMessage", "document") || caption("stickerMessage", "sticker", "-") ||
             caption("locationMessage", "location", "name") || caption("liveLocationMessage", "location", "-") ||
             caption("contactMessage", "contacts", "displayName") ||
             caption("contactsArrayMessage", "contacts", "displayName") ||
             caption("reactionMessage", "reaction", "text") ||
             caption("buttonsResponseMessage", "interactive", "selectedDisplayText") ||
             caption("templateButtonReplyMessage", "interactive", "selectedDisplayText")) {
  } else if (auto list = message.opt_obj("listResponseMessage")) {
    e.kind = "interactive";
    e.text = list->opt_str("title");
  } else {
    e.kind = "other";  // protocol messages (deletes, edits), polls, and what WhatsApp adds next
  }
}

// One Baileys message (Evolution's data, or Whaticket's whole body). `scope` prefixes the
// dedup key (Evolution: the instance).
InboundEvent baileys_message(const Obj& m, const std::string& scope) {
  const Obj key = m.obj("key");
  InboundEvent e;
  e.message_id = key.str("id");
  if (e.message_id.empty()) throw ShapeError(key.at("id") + " is empty");
  e.dedup_key = "msg:" + scope + e.message_id;
  e.conversation = key.str("remoteJid");
  e.from_me = key.opt_bool("fromMe");
  e.chat = chat_of(e.conversation);
  if (e.chat != "direct") {
    e.sender = phone_of(key.opt_str("participantAlt").empty() ? key.opt_str("participant") : key.opt_str("participantAlt"));
  } else {
    // @lid hides the number; newer gateways add it beside.
    for (const char* k : {"remoteJidAlt", "senderPn", "remoteJid"})
      if (e.sender.empty()) e.sender = phone_of(key.opt_str(k));
  }
  e.sender_name = m.opt_str("pushName");
  e.occurred_at = m.opt_unix("messageTimestamp");
  if (auto message = m.opt_obj("message")) {
    read_baileys_content(*message, e);
  } else {
    e.kind = "other";
  }
  return e;
}

DecodedWebhook decode_evolution(const json& doc) {
  const Obj root(doc, "body");
  std::string event = root.str("event");
  for (char& c : event) c = c == '_' ? '.' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::string scope = root.opt_str("instance") + ":";
  DecodedWebhook out;
  if (event == "messages.upsert" || event == "send.message") {
    const json* data = root.find("data");
    if (!data) throw ShapeError("body.data is missing");
    if (data->is_array()) {
      for (size_t i = 0; i < data->size(); ++i)
        out.events.push_back(baileys_message(Obj((*data)[i], "body.data[" + std::to_string(i) + "]"), scope));
    } else {
      out.events.push_back(baileys_message(Obj(*data, "body.data"), scope));
    }
  } else if (event == "messages.update") {
    const Obj d = root.obj("data");
    InboundEvent e;
    e.type = InboundEvent::Type::status;
    e.message_id = d.find("keyId") ? d.str("keyId") : d.obj("key").str("id");
    e.conversation = d.opt_str("remoteJid");
    e.chat = chat_of(e.conversation);
    e.from_me = d.opt_bool("fromMe");
    e.kind = d.str("status");
    for (char& c : e.kind) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    e.dedup_key = "status:" + scope + e.message_id + ":" + e.kind;
    out.events.push_back(std::move(e));
  } else {
    out.ignored = "event " + event + " is not used";
  }
  return out;
}

DecodedWebhook decode_whaticket(const json& doc) {
  DecodedWebhook out;
  out.events.push_back(baileys_message(Obj(doc, "body"), ""));
  return out;
}

void read_cloud_message(const Obj& m, InboundEvent& e) {
  e.kind = m.str("type");
  auto text_of = [&](const char* object, const char* field) {
    if (auto o = m.opt_obj(object)) return o->opt_str(field);
    return std::string{};
  };
  if (e.kind == "text") {
    e.text = m.obj("text").str("body");
  } else if (e.kind == "image" || e.kind == "video" || e.kind == "document") {
    e.text = text_of(e.kind.c_str(), "caption");
  } else if (e.kind == "audio" || e.kind == "sticker") {
  } else if (e.kind == "location") {
    e.text = text_of("location", "name");
  } else if (e.kind == "reaction") {
    e.text = text_of("reaction", "emoji");
  } else if (e.kind == "button") {
    e.kind = "interactive";
    e.text = text_of("button", "text");
  } else if (e.kind == "interactive") {
    const Obj i = m.obj("interactive");
    if (auto b = i.opt_obj("button_reply")) e.text = b->opt_str("title");
    else if (auto l = i.opt_obj("list_reply")) e.text = l->opt_str("title");
  } else if (e.kind != "contacts") {
    e.kind = "other";  // unsupported, system, order, ...
  }
}

DecodedWebhook decode_cloudapi(const json& doc) {
  const Obj root(doc, "body");
  DecodedWebhook out;
  if (root.str("object") != "whatsapp_business_account") {
    out.ignored = "object " + root.str("object") + " is not used";
    return out;
  }
  const json& entries = root.arr("entry");
  for (size_t i = 0; i < entries.size(); ++i) {
    const Obj entry(entries[i], "body.entry[" + std::to_string(i) + "]");
    const json& changes = entry.arr("changes");
    for (size_t j = 0; j < changes.size(); ++j) {
      const Obj change(changes[j], entry.at("changes[" + std::to_string(j) + "]"));
      if (change.str("field") != "messages") continue;
      const Obj value = change.obj("value");
      std::string scope;
      if (auto meta = value.opt_obj("metadata")) scope = meta->opt_str("phone_number_id");
      scope += ":";
      std::vector<std::pair<std::string, std::string>> names;  // wa_id -> profile name
      const json& contacts = value.arr("contacts");
      for (size_t k = 0; k < contacts.size(); ++k) {
        const Obj c(contacts[k], value.at("contacts[" + std::to_string(k) + "]"));
        std::string name;
        if (auto p = c.opt_obj("profile")) name = p->opt_str("name");
        names.emplace_back(c.opt_str("wa_id"), name);
      }
      const json& messages = value.arr("messages");
      for (size_t k = 0; k < messages.size(); ++k) {
        const Obj m(messages[k], value.at("messages[" + std::to_string(k) + "]"));
        InboundEvent e;
        e.message_id = m.str("id");
        e.dedup_key = "msg:" + scope + e.message_id;
        e.sender = m.str("from");
        e.conversation = e.sender;
        for (const auto& [wa_id, name] : names)
          if (wa_id == e.sender) e.sender_name = name;
        e.occurred_at = m.opt_unix("timestamp");
        read_cloud_message(m, e);
        out.events.push_back(std::move(e));
      }
      const json& statuses = value.arr("statuses");
      for (size_t k = 0; k < statuses.size(); ++k) {
        const Obj s(statuses[k], value.at("statuses[" + std::to_string(k) + "]"));
        InboundEvent e;
        e.type = InboundEvent::Type::status;
        e.message_id = s.str("id");
        e.kind = s.str("status");
        e.dedup_key = "status:" + scope + e.message_id + ":" + e.kind;
        e.conversation = s.opt_str("recipient_id");
        e.from_me = true;
        e.occurred_at = s.opt_unix("timestamp");
        if (const json* errors = s.find("errors")) e.detail_json = json{{"errors", *errors}}.dump();
        out.events.push_back(std::move(e));
      }
    }
  }
  if (out.events.empty()) out.ignored = "no messages or statuses in this notification";
  return out;
}

DecodedWebhook decode_calcom(const json& doc) {
  const Obj root(doc, "body");
  const std::string trigger = root.str("triggerEvent");
  DecodedWebhook out;
  if (!trigger.starts_with("BOOKING_") && !trigger.starts_with("MEETING_")) {
    out.ignored = "triggerEvent " + trigger + " is not used";
    return out;
  }
  // MEETING_* bodies are the booking itself; every other event wraps it in `payload`.
  const bool flat = trigger.starts_with("MEETING_");
  const Obj booking = flat ? root : root.obj("payload");
  InboundEvent e;
  e.type = InboundEvent::Type::booking;
  e.kind = trigger;
  std::string uid = booking.opt_str("uid");
  if (uid.empty()) uid = booking.opt_str("bookingUid");  // BOOKING_NO_SHOW_UPDATED
  if (uid.empty()) throw ShapeError(booking.at("uid") + " is missing");
  const std::string reschedule_uid = booking.opt_str("rescheduleUid");
  e.dedup_key = trigger + ":" + uid + (reschedule_uid.empty() ? "" : ":" + reschedule_uid);
  e.message_id = uid;
  e.occurred_at = flat ? std::nullopt : root.opt_time("createdAt");
  json detail = {{"uid", uid}};
  if (const json* id = booking.find(flat ? "id" : "bookingId")) detail["booking_id"] = *id;
  if (!reschedule_uid.empty()) detail["reschedule_uid"] = reschedule_uid;
  for (const char* k : {"startTime", "endTime", "status", "cancellationReason"})
    if (const json* v = booking.find(k); v && v->is_string()) detail[k] = *v;
  e.detail_json = detail.dump();
  out.events.push_back(std::move(e));
  return out;
}

// Chatwoot: the signals that a human took the conversation over (or gave it back).
DecodedWebhook decode_chatwoot(const json& doc) {
  const Obj root(doc, "body");
  const std::string event = root.str("event");
  DecodedWebhook out;
  InboundEvent e;
  e.type = InboundEvent::Type::handoff;
  // The contact's phone number (digits, as WhatsApp ids are), else the inbox's id for them
  // (for API-channel inboxes an id of Chatwoot's own).
  auto contact_of = [&](const Obj& conversation) {
    if (auto meta = conversation.opt_obj("meta"))
      if (auto sender = meta->opt_obj("sender")) {
        std::string phone = sender->opt_str("phone_number");
        if (!phone.empty() && phone[0] == '+') phone.erase(0, 1);
        if (!phone.empty()) return phone;
      }
    if (auto inbox = conversation.opt_obj("contact_inbox")) return inbox->opt_str("source_id");
    return std::string{};
  };
  if (event == "message_created") {
    const std::string type = root.opt_str("message_type");
    std::string sender_type;
    if (auto s = root.opt_obj("sender")) sender_type = s->opt_str("type");
    if (type != "outgoing" || sender_type != "user" || root.opt_bool("private")) {
      out.ignored = "not a message from a human agent";
      return out;
    }
    const Obj conversation = root.obj("conversation");
    e.kind = "agent_message";
    e.message_id = root.id("id");
    e.dedup_key = "msg:" + e.message_id;
    e.conversation = contact_of(conversation);
    e.detail_json = json{{"chatwoot_conversation", conversation.opt_id("id")}}.dump();
  } else if (event == "conversation_status_changed" || event == "conversation_updated") {
    const std::string status = root.opt_str("status");
    bool assigned = false;
    const json& changed = root.arr("changed_attributes");
    for (const json& c : changed)
      if (c.is_object() && c.contains("assignee_id") && c["assignee_id"].is_object() &&
          c["assignee_id"].contains("current_value") && !c["assignee_id"]["current_value"].is_null())
        assigned = true;
    if (event == "conversation_status_changed" && (status == "open" || status == "resolved")) {
      e.kind = status == "open" ? "opened" : "resolved";
    } else if (assigned) {
      e.kind = "assigned";
    } else {
      out.ignored = "no handoff in this change";
      return out;
    }
    const std::string id = root.id("id");
    e.conversation = contact_of(root);
    // Chatwoot does not retry, and repeats of one change carry the same timestamp (a
    // number, with a fraction in current versions).
    std::string when;
    for (const char* k : {"timestamp", "updated_at"})
      if (const json* v = root.find(k); v && (v->is_number() || v->is_string())) when += ":" + v->dump();
    e.dedup_key = "conv:" + id + ":" + e.kind + when;
    e.detail_json = json{{"chatwoot_conversation", id}}.dump();
  } else {
    out.ignored = "event " + event + " is not used";
    return out;
  }
  if (e.conversation.empty()) throw ShapeError("body: no contact (contact_inbox.source_id or meta.sender.phone_number)");
  out.events.push_back(std::move(e));
  return out;
}

}  // namespace

std::variant<DecodedWebhook, WebhookError> decode_webhook(Provider provider, std::string_view body) {
  if (json_depth(body) > kMaxJsonDepth)
    return WebhookError{400, "body nests deeper than " + std::to_string(kMaxJsonDepth) + " levels"};
  json doc;
  try {
    doc = json::parse(body.begin(), body.end());
  } catch (const json::parse_error& e) {
    // Not e.what(): it quotes the body, which may be someone's message.
    const bool utf8 = std::string_view(e.what()).find("UTF-8") != std::string_view::npos;
    return WebhookError{400, "body is not valid JSON (at byte " + std::to_string(e.byte) + ")" +
                                 (utf8 ? ": invalid UTF-8" : "")};
  } catch (const json::exception&) {  // out_of_range: a number too large for a double
    return WebhookError{400, "body is not valid JSON: a number is out of range"};
  }
  if (body.find("u0000") != std::string_view::npos && holds_nul(doc))
    return WebhookError{422, "body holds a NUL character (\\u0000), which cannot be stored"};
  try {
    switch (provider) {
      case Provider::evolution: return decode_evolution(doc);
      case Provider::whaticket: return decode_whaticket(doc);
      case Provider::cloudapi: return decode_cloudapi(doc);
      case Provider::calcom: return decode_calcom(doc);
      case Provider::chatwoot: return decode_chatwoot(doc);
    }
  } catch (const ShapeError& e) {
    return WebhookError{422, e.what()};
  } catch (const json::exception& e) {
    return WebhookError{422, std::string("unexpected shape: ") + e.what()};
  }
  return WebhookError{404, "unknown provider"};
}

}  // namespace recado
