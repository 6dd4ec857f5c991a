#include "src/config.hpp"

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "src/duration.hpp"

namespace recado {

namespace {

std::string env_name(const std::string& path) {
  std::string name = "RECADO_";
  for (char c : path) name += (c == '.' || c == '-') ? '_' : static_cast<char>(std::toupper(c));
  return name;
}

std::string where(const std::string& file, const YAML::Mark& mark) {
  return fmt::format("{}:{}:{}", file.empty() ? "<config>" : file, mark.line + 1, mark.column + 1);
}

// Converts one scalar; returns an error text (empty when it converted).
std::string convert(const std::string& text, std::string& out) {
  out = text;
  return {};
}
std::string convert(const std::string& text, int& out) {
  int v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size()) return "expected an integer, got '" + text + "'";
  out = v;
  return {};
}
std::string convert(const std::string& text, long long& out) {
  long long v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size()) return "expected an integer, got '" + text + "'";
  out = v;
  return {};
}
std::string convert(const std::string& text, std::size_t& out) {
  unsigned long long v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size()) return "expected a byte count, got '" + text + "'";
  out = static_cast<std::size_t>(v);
  return {};
}
std::string convert(const std::string& text, bool& out) {
  if (text == "true" || text == "yes" || text == "on" || text == "1") { out = true; return {}; }
  if (text == "false" || text == "no" || text == "off" || text == "0") { out = false; return {}; }
  return "expected true or false, got '" + text + "'";
}
std::string convert(const std::string& text, double& out) {
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size()) return "expected a number, got '" + text + "'";
  out = v;
  return {};
}
std::string convert(const std::string& text, Duration& out) {
  auto d = parse_duration(text);
  if (!d) return "expected a duration such as 250ms, 30s, 5m, 2h, got '" + text + "'";
  out = *d;
  return {};
}

// One YAML mapping being read: each key read is marked; finish() rejects the rest.
// While config_key_paths runs: every key path the parser asks about.
thread_local std::set<std::string>* g_key_paths = nullptr;

class Section {
 public:
  // `key_mark`: where the key naming this mapping is, for errors about the whole of it.
  Section(YAML::Node node, std::string path, const std::string& file, std::optional<YAML::Mark> key_mark = {})
      : node_(std::move(node)), path_(std::move(path)), file_(file), key_mark_(key_mark) {
    if (node_ && !node_.IsNull() && !node_.IsMap())
      throw ConfigError(where(file_, node_.Mark()) + ": '" + path_ + "' must be a mapping");
    // YAML forbids a key twice, but the parser keeps both and lookups see only the first.
    if (node_ && node_.IsMap()) {
      std::set<std::string> keys;
      for (auto it = node_.begin(); it != node_.end(); ++it)
        if (!keys.insert(it->first.as<std::string>()).second)
          throw ConfigError(where(file_, it->first.Mark()) + ": '" + child_path(it->first.as<std::string>()) +
                            "' is given twice");
    }
  }

  template <typename T>
  void field(const std::string& key, T& out, std::function<std::string(const T&)> check = {}) {
    take(key);
    const std::string full = child_path(key);
    if (const char* env = std::getenv(env_name(full).c_str())) {
      if (auto err = convert(env, out); !err.empty())
        throw ConfigError("environment " + env_name(full) + ": " + err);
      if (check)
        if (auto err = check(out); !err.empty())
          throw ConfigError("environment " + env_name(full) + ": " + err);
      return;
    }
    if (!node_ || !node_.IsMap()) return;
    YAML::Node value = node_[key];
    if (!value) return;
    if (!value.IsScalar())
      throw ConfigError(where(file_, value.Mark()) + ": '" + full + "' must be a single value");
    if (auto err = convert(value.Scalar(), out); !err.empty())
      throw ConfigError(where(file_, value.Mark()) + ": '" + full + "': " + err);
    if (check)
      if (auto err = check(out); !err.empty())
        throw ConfigError(where(file_, value.Mark()) + ": '" + full + "': " + err);
  }

  // `key` holds the secret inline; `key_file` names a file holding it.
  void secret(const std::string& key, Secret& out) {
    std::string inline_value, file_path;
    field(key, inline_value);
    field(key + "_file", file_path);
    if (!inline_value.empty()) {
      const char* env = std::getenv(env_name(child_path(key)).c_str());
      out = {inline_value, env ? "env " + env_name(child_path(key)) : "config"};
    } else if (!file_path.empty()) {
      std::ifstream in(file_path);
      if (!in) throw ConfigError("'" + child_path(key + "_file") + "': cannot read " + file_path);
      std::string value((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.pop_back();
      out = {value, "file " + file_path};
    }
  }

  // A list of single values: `key: [a, b]` (or a block list) in the file, "a,b" in the
  // environment (items trimmed, empty ones dropped: "" is the empty list). Given, it replaces
  // the default; `key:` with nothing is the empty list.
  template <typename T>
  void list(const std::string& key, std::vector<T>& out, std::function<std::string(const T&)> check = {}) {
    take(key);
    const std::string full = child_path(key);
    if (const char* env = std::getenv(env_name(full).c_str())) {
      std::vector<T> items;
      const std::string all = env;
      for (std::size_t start = 0; start <= all.size();) {
        const std::size_t comma = std::min(all.find(',', start), all.size());
        std::string text = all.substr(start, comma - start);
        start = comma + 1;
        while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
        text.erase(0, std::min(text.size(), text.find_first_not_of(" \t")));
        if (text.empty()) continue;
        T v{};
        std::string err = convert(text, v);
        if (err.empty() && check) err = check(v);
        if (!err.empty()) throw ConfigError("environment " + env_name(full) + ": item " + std::to_string(items.size() + 1) + ": " + err);
        items.push_back(std::move(v));
      }
      out = std::move(items);
      return;
    }
    if (!node_ || !node_.IsMap()) return;
    YAML::Node value = node_[key];
    if (!value) return;
    if (value.IsNull()) {
      out.clear();
      return;
    }
    if (!value.IsSequence())
      throw ConfigError(where(file_, value.Mark()) + ": '" + full + "' must be a list ([a, b])");
    std::vector<T> items;
    for (std::size_t i = 0; i < value.size(); ++i) {
      const YAML::Node item = value[i];
      const std::string at = where(file_, item.Mark()) + ": '" + full + "[" + std::to_string(i) + "]'";
      if (!item.IsScalar()) throw ConfigError(at + " must be a single value");
      T v{};
      std::string err = convert(item.Scalar(), v);
      if (err.empty() && check) err = check(v);
      if (!err.empty()) throw ConfigError(at + ": " + err);
      items.push_back(std::move(v));
    }
    out = std::move(items);
  }

  // A list of mappings, each named by its `name` key (`- name: reminder_24h`). Each comes
  // back as the Section `key.<name>`, so RECADO_<KEY>_<NAME>_<FIELD> overrides its fields
  // (the environment cannot add an item). A missing, malformed or repeated name is an error
  // naming the item.
  std::vector<std::pair<std::string, Section>> named_items(const std::string& key, const std::regex& pattern,
                                                           const std::string& pattern_text) {
    take(key);
    std::vector<std::pair<std::string, Section>> out;
    if (!node_ || !node_.IsMap() || !node_[key] || node_[key].IsNull()) return out;
    YAML::Node list = node_[key];
    if (!list.IsSequence())
      throw ConfigError(where(file_, list.Mark()) + ": '" + child_path(key) + "' must be a list (- name: ...)");
    for (std::size_t i = 0; i < list.size(); ++i) {
      const YAML::Node item = list[i];
      const std::string at = where(file_, item.Mark()) + ": '" + child_path(key) + "[" + std::to_string(i) + "]'";
      if (!item.IsMap()) throw ConfigError(at + " must be a mapping (name: ..., ...)");
      const YAML::Node name_node = item["name"];
      if (!name_node || !name_node.IsScalar() || name_node.Scalar().empty())
        throw ConfigError(at + ": name is required");
      const std::string name = name_node.Scalar();
      if (!std::regex_match(name, pattern))
        throw ConfigError(where(file_, name_node.Mark()) + ": '" + child_path(key) + "[" + std::to_string(i) +
                          "].name': '" + name + "' is not a name (" + pattern_text + ")");
      for (const auto& [seen, section] : out)
        if (seen == name)
          throw ConfigError(where(file_, name_node.Mark()) + ": '" + child_path(key) + "." + name +
                            "' is given twice (names must be unique)");
      Section section(item, child_path(key) + "." + name, file_, item.Mark());
      section.skip("name");
      out.emplace_back(name, std::move(section));
    }
    return out;
  }

  // The node under `key` as it is (null when absent), taking `key` as read.
  YAML::Node raw(const std::string& key) {
    take(key);
    return node_ && node_.IsMap() && node_[key] ? node_[key] : YAML::Node();
  }
  // The environment's value for `key`, or nullptr.
  const char* env_value(const std::string& key) const { return std::getenv(env_name(child_path(key)).c_str()); }
  std::string env_var(const std::string& key) const { return env_name(child_path(key)); }
  std::string path_of(const std::string& key) const { return child_path(key); }
  const std::string& file() const { return file_; }

  Section child(const std::string& key) {
    take(key);
    return Section(node_ && node_.IsMap() ? node_[key] : YAML::Node(), child_path(key), file_);
  }

  // The keys of a mapping whose keys are names (queues), each a Section.
  std::vector<std::pair<std::string, Section>> entries(const std::string& key) {
    take(key);
    std::vector<std::pair<std::string, Section>> out;
    if (!node_ || !node_.IsMap() || !node_[key]) return out;
    YAML::Node map = node_[key];
    if (!map.IsMap())
      throw ConfigError(where(file_, map.Mark()) + ": '" + child_path(key) + "' must be a mapping");
    for (auto it = map.begin(); it != map.end(); ++it) {
      const std::string name = it->first.as<std::string>();
      for (const auto& [seen, section] : out)
        if (seen == name)
          throw ConfigError(where(file_, it->first.Mark()) + ": '" + child_path(key) + "." + name + "' is given twice");
      out.emplace_back(name, Section(it->second, child_path(key) + "." + name, file_, it->first.Mark()));
    }
    return out;
  }

  bool present(const std::string& key) const { return node_ && node_.IsMap() && node_[key]; }
  // Whether the environment sets `key` of this mapping.
  bool in_environment(const std::string& key) const {
    return std::getenv(env_name(child_path(key)).c_str()) != nullptr;
  }
  // Whether the file gives `key` an empty value (`sun:`), which field() refuses.
  bool empty_value(const std::string& key) const { return present(key) && node_[key].IsNull(); }
  // Takes `key` as read without reading it.
  void skip(const std::string& key) { seen_.insert(key); }
  // Takes `key` as read, and tells the recorder (config_key_paths) its path.
  void take(const std::string& key) {
    seen_.insert(key);
    if (g_key_paths) g_key_paths->insert(child_path(key));
  }

  // "file:line:column: 'path'" for errors about this mapping as a whole.
  std::string location() const {
    const std::string at = key_mark_ ? where(file_, *key_mark_)
                           : node_   ? where(file_, node_.Mark())
                                     : (file_.empty() ? "<config>" : file_);
    return at + ": '" + path_ + "'";
  }

  void finish() const {
    if (!node_ || !node_.IsMap()) return;
    for (auto it = node_.begin(); it != node_.end(); ++it) {
      const std::string key = it->first.as<std::string>();
      if (!seen_.count(key))
        throw ConfigError(where(file_, it->first.Mark()) + ": unknown key '" + child_path(key) + "'");
    }
  }

 private:
  std::string child_path(const std::string& key) const {
    return path_.empty() ? key : path_ + "." + key;
  }
  YAML::Node node_;
  std::string path_;
  const std::string& file_;
  std::optional<YAML::Mark> key_mark_;
  std::set<std::string> seen_;
};

auto positive = [](const int& v) { return v > 0 ? std::string{} : "must be greater than 0"; };
auto positive_duration = [](const Duration& d) {
  return d.count() > 0 ? std::string{} : "must be longer than 0";
};
auto one_of(std::vector<std::string> allowed) {
  return std::function<std::string(const std::string&)>([allowed](const std::string& v) {
    if (std::find(allowed.begin(), allowed.end(), v) != allowed.end()) return std::string{};
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    return "must be one of " + list + ", got '" + v + "'";
  });
}

WebhookConfig read_webhook(Provider provider, Section& s) {
  WebhookConfig w;
  w.provider = provider;
  auto token = [&] {
    s.secret("token", w.token);
    s.field<std::string>("token_header", w.token_header, [](const std::string& h) {
      if (h.empty()) return std::string("must name a header");
      for (char ch : h)
        if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_')
          return "is not a header name: '" + h + "'";
      return std::string{};
    });
    std::transform(w.token_header.begin(), w.token_header.end(), w.token_header.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  };
  std::string missing;
  switch (provider) {
    case Provider::evolution:
      token();
      s.secret("jwt_secret", w.jwt_secret);
      if (w.token.empty() && w.jwt_secret.empty()) missing = "needs a token or a jwt_secret";
      break;
    case Provider::whaticket:
      token();
      if (w.token.empty()) missing = "needs a token";
      break;
    case Provider::cloudapi:
      s.secret("secret", w.secret);
      s.secret("verify_token", w.verify_token);
      if (w.secret.empty()) missing = "needs the app's secret (secret) to check X-Hub-Signature-256";
      break;
    case Provider::calcom:
      s.secret("secret", w.secret);
      s.field("allow_unsigned", w.allow_unsigned);
      if (w.secret.empty() && !w.allow_unsigned)
        missing = "needs the webhook secret (secret), or allow_unsigned: true";
      break;
    case Provider::chatwoot:
      s.secret("secret", w.secret);
      token();
      if (w.secret.empty() && w.token.empty()) missing = "needs a secret (signed webhooks) or a token";
      break;
  }
  s.finish();
  if (!missing.empty()) throw ConfigError(s.location() + " " + missing);
  return w;
}

auto non_negative = [](const int& v) { return v >= 0 ? std::string{} : "must be 0 (no limit) or more"; };
auto positive_size = [](const std::size_t& v) { return v > 0 ? std::string{} : "must be greater than 0"; };

// business_hours: absent, always open; present, open only on the days it lists.
BusinessHours read_business_hours(Section& t) {
  BusinessHours hours;
  const bool in_file = t.present("business_hours");
  Section b = t.child("business_hours");
  bool in_env = b.in_environment("time_zone");
  for (std::string_view day : kWeekdayKeys) in_env = in_env || b.in_environment(std::string(day));
  if (!in_file && !in_env) return hours;

  hours.always_open = false;
  b.field<std::string>("time_zone", hours.time_zone, [](const std::string& zone) {
    return is_known_time_zone(zone)
               ? std::string{}
               : "unknown time zone '" + zone + "' (an IANA name such as America/Sao_Paulo or Europe/Lisbon)";
  });
  for (std::size_t i = 0; i < kWeekdayKeys.size(); ++i) {
    const std::string day(kWeekdayKeys[i]);
    if (b.empty_value(day) && !b.in_environment(day)) {  // `sun:` with nothing: closed
      b.skip(day);
      continue;
    }
    std::string text = "closed";
    b.field<std::string>(day, text, [](const std::string& v) {
      std::string error;
      return parse_day_hours(v, error) ? std::string{} : error;
    });
    std::string unused;
    hours.days[i] = *parse_day_hours(text, unused);
  }
  b.finish();
  if (hours.never_opens())
    throw ConfigError(b.location() +
                      " opens on no day; list the open days (mon: \"08:00-18:00\"), or leave business_hours "
                      "out to be always open");
  return hours;
}

SendLimits read_send_limits(Section& t) {
  SendLimits limits;
  auto within_history = [](const Duration& d) {
    return d <= kSendHistory ? std::string{} : "must be at most " + format_duration(kSendHistory) +
                                                   " (sends are kept only that long)";
  };
  Section s = t.child("send_limits");
  s.field<Duration>("min_spacing", limits.min_spacing, within_history);
  s.field<int>("per_hour", limits.per_hour, non_negative);
  s.field<int>("per_day", limits.per_day, non_negative);
  s.field<Duration>("per_recipient_spacing", limits.per_recipient_spacing, within_history);
  s.finish();
  return limits;
}

LlmConfig read_llm(Section& t) {
  LlmConfig llm;
  if (!t.present("llm")) return llm;
  Section s = t.child("llm");
  s.field<std::string>("provider", llm.provider, one_of({"openai", "anthropic", "gemini"}));
  s.field("base_url", llm.base_url);
  s.secret("api_key", llm.api_key);
  s.field("model", llm.model);
  s.field<int>("max_output_tokens", llm.max_output_tokens, positive);
  s.field<int>("history_messages", llm.history_messages, positive);
  s.field<int>("history_bytes", llm.history_bytes, positive);
  s.field("system_prompt", llm.system_prompt);
  std::string prompt_file;
  s.field("system_prompt_file", prompt_file);
  s.field("language", llm.language);
  s.field("fallback_message", llm.fallback_message);
  s.field<int>("max_tool_rounds", llm.max_tool_rounds, positive);
  s.field<Duration>("tool_time_limit", llm.tool_time_limit, positive_duration);
  s.field<Duration>("reply_cache_ttl", llm.reply_cache_ttl);
  {
    Section b = s.child("budget");
    auto whole = [](const long long& n) { return n >= 0 ? std::string{} : std::string("must be 0 (no limit) or more"); };
    auto amount = [](const double& n) { return n >= 0 ? std::string{} : std::string("must be 0 (no limit) or more"); };
    b.field<long long>("daily_tokens", llm.budget.daily_tokens, whole);
    b.field<long long>("monthly_tokens", llm.budget.monthly_tokens, whole);
    b.field<double>("daily_cost", llm.budget.daily_cost, amount);
    b.field<double>("monthly_cost", llm.budget.monthly_cost, amount);
    b.field<double>("soft_limit", llm.budget.soft_limit, [](const double& r) {
      return r > 0 && r <= 1 ? std::string{} : std::string("must be a share of the limit, above 0 and at most 1");
    });
    b.finish();
  }
  if (llm.provider.empty()) throw ConfigError(s.location() + ": provider is required (openai, anthropic or gemini)");
  if (llm.model.empty()) throw ConfigError(s.location() + ": model is required");
  if (llm.api_key.empty()) throw ConfigError(s.location() + ": api_key (or api_key_file) is required");
  if (!prompt_file.empty()) {
    if (!llm.system_prompt.empty())
      throw ConfigError(s.location() + ": give system_prompt or system_prompt_file, not both");
    std::ifstream in(prompt_file);
    if (!in) throw ConfigError(s.location() + ": system_prompt_file " + prompt_file + " cannot be read");
    llm.system_prompt.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (llm.base_url.empty())
    llm.base_url = llm.provider == "anthropic" ? "https://api.anthropic.com"
                   : llm.provider == "gemini"  ? "https://generativelanguage.googleapis.com"
                                               : "https://api.openai.com";
  s.finish();
  return llm;
}

GatewayConfig read_gateway(Section& t) {
  GatewayConfig g;
  if (!t.present("gateway")) return g;
  Section s = t.child("gateway");
  s.field<std::string>("provider", g.provider, one_of({"evolution", "whaticket", "cloudapi"}));
  s.field("base_url", g.base_url);
  s.secret("token", g.token);
  s.field("instance", g.instance);
  s.field("phone_number_id", g.phone_number_id);
  s.field("api_version", g.api_version);
  s.field("template_name", g.template_name);
  s.field("template_language", g.template_language);
  if (g.provider.empty()) throw ConfigError(s.location() + ": provider is required (evolution, whaticket or cloudapi)");
  if (g.token.empty()) throw ConfigError(s.location() + ": token (or token_file) is required");
  if (g.provider == "evolution" && g.instance.empty())
    throw ConfigError(s.location() + ": instance is required for evolution");
  if (g.provider == "cloudapi" && g.phone_number_id.empty())
    throw ConfigError(s.location() + ": phone_number_id is required for cloudapi");
  if (g.base_url.empty()) {
    if (g.provider != "cloudapi") throw ConfigError(s.location() + ": base_url is required for " + g.provider);
    g.base_url = "https://graph.facebook.com";
  }
  s.finish();
  return g;
}

// The names of follow-up rules and periodic jobs.
const std::regex& item_name_pattern() {
  static const std::regex kItemName("[a-z0-9_-]{1,64}");
  return kItemName;
}
const char* const kItemNameText = "1 to 64 of a-z, 0-9, '-' and '_'";

std::function<std::string(const std::string&)> cron_check(const std::string& time_zone) {
  return [time_zone](const std::string& expr) {
    auto parsed = parse_cron(expr, time_zone);
    if (auto* error = std::get_if<std::string>(&parsed))
      return "not a cron schedule ('" + expr + "'): " + *error;
    return std::string{};
  };
}

// calcom: read even when absent, so that the environment alone can configure it.
CalcomConfig read_calcom(Section& t, const std::string& time_zone) {
  CalcomConfig c;
  const bool in_file = t.present("calcom");
  Section s = t.child("calcom");
  s.field<std::string>("base_url", c.base_url, [](const std::string& url) {
    return url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0
               ? std::string{}
               : "must be an http:// or https:// URL, got '" + url + "'";
  });
  s.secret("api_key", c.api_key);
  s.list<long long>("event_type_ids", c.event_type_ids, [](const long long& id) {
    return id > 0 ? std::string{} : "an event type id is a whole number greater than 0";
  });
  auto sync_check = cron_check(time_zone);
  s.field<std::string>("sync", c.sync, [&](const std::string& v) {
    if (v.empty() || v == "off") return std::string{};
    const std::string error = sync_check(v);
    return error.empty() ? error : error + " (\"off\" disables the sync)";
  });
  s.field<Duration>("sync_window", c.sync_window, positive_duration);
  s.list<std::string>("booking_keywords", c.booking_keywords, [](const std::string& w) {
    return w.empty() ? std::string("a keyword may not be empty") : std::string{};
  });
  s.field<std::string>("attendee_email_domain", c.attendee_email_domain, [](const std::string& d) {
    return !d.empty() && d.find_first_of("@ /") == std::string::npos ? std::string{}
                                                                      : "must be a domain name, got '" + d + "'";
  });
  for (auto [key, text] : {std::pair<const char*, std::string*>{"booked_text", &c.booked_text},
                           {"cancelled_text", &c.cancelled_text},
                           {"rescheduled_text", &c.rescheduled_text}})
    s.field<std::string>(key, *text, [](const std::string& t) {
      const auto unknown = unknown_followup_placeholders(t);
      return unknown.empty() ? std::string{} : "unknown placeholder {" + unknown.front() + "}";
    });
  s.finish();
  if (in_file && c.api_key.empty()) throw ConfigError(s.location() + ": api_key (or api_key_file) is required");
  if (!c.sync.empty() && c.sync != "off") c.sync_schedule = std::get<CronSchedule>(parse_cron(c.sync, time_zone));
  return c;
}

std::vector<FollowupRule> read_followups(Section& t) {
  std::vector<FollowupRule> rules;
  for (auto& [name, s] : t.named_items("followups", item_name_pattern(), kItemNameText)) {
    FollowupRule r;
    r.name = name;
    std::string when;
    s.field<std::string>("when", when, one_of({"before_start", "after_end", "quiet"}));
    if (when.empty()) throw ConfigError(s.location() + ": when is required (before_start, after_end or quiet)");
    r.when = *parse_followup_when(when);
    const bool has_offset = s.present("offset") || s.in_environment("offset");
    s.field<Duration>("offset", r.offset, positive_duration);
    if (!has_offset) throw ConfigError(s.location() + ": offset is required (a duration such as 24h, 2h, 30m)");
    s.field<std::string>("text", r.text, [&](const std::string& text) {
      const auto unknown = unknown_followup_placeholders(text);
      if (unknown.empty()) return std::string{};
      std::string known;
      for (auto p : kFollowupPlaceholders) known += (known.empty() ? "{" : " {") + std::string(p) + "}";
      return "rule '" + r.name + "': unknown placeholder {" + unknown.front() + "} (known: " + known + ")";
    });
    s.field("llm", r.llm);
    s.field("prompt", r.prompt);
    s.finish();
    if (r.llm && r.prompt.empty())
      throw ConfigError(s.location() + ": llm: true needs a prompt (what the LLM is told to write)");
    if (!r.llm && !r.prompt.empty()) throw ConfigError(s.location() + ": prompt is given but llm is not true");
    if (!r.llm && r.text.empty())
      throw ConfigError(s.location() + ": needs a text, or llm: true with a prompt");
    rules.push_back(std::move(r));
  }
  return rules;
}

// A YAML value as JSON: quoted scalars are strings; plain ones are null, true/false, numbers
// when they read as such, strings otherwise.
nlohmann::json yaml_to_json(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Sequence: {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& item : n) a.push_back(yaml_to_json(item));
      return a;
    }
    case YAML::NodeType::Map: {
      nlohmann::json o = nlohmann::json::object();
      for (auto it = n.begin(); it != n.end(); ++it) o[it->first.as<std::string>()] = yaml_to_json(it->second);
      return o;
    }
    case YAML::NodeType::Scalar: {
      const std::string& v = n.Scalar();
      if (n.Tag() == "!") return v;
      if (v == "true" || v == "True" || v == "TRUE") return true;
      if (v == "false" || v == "False" || v == "FALSE") return false;
      if (v == "~" || v == "null" || v == "Null" || v == "NULL") return nullptr;
      const char* end = v.data() + v.size();
      long long i = 0;
      if (auto r = std::from_chars(v.data(), end, i); r.ec == std::errc{} && r.ptr == end) return i;
      double d = 0;
      if (auto r = std::from_chars(v.data(), end, d); r.ec == std::errc{} && r.ptr == end && std::isfinite(d)) return d;
      return v;
    }
    default:
      return nullptr;
  }
}

std::vector<PeriodicConfig> read_periodic(Section& top) {
  std::vector<PeriodicConfig> out;
  for (auto& [name, s] : top.named_items("periodic", item_name_pattern(), kItemNameText)) {
    PeriodicConfig p;
    p.name = name;
    s.field<std::string>("time_zone", p.time_zone, [](const std::string& zone) {
      return is_known_time_zone(zone)
                 ? std::string{}
                 : "unknown time zone '" + zone + "' (an IANA name such as America/Sao_Paulo or UTC)";
    });
    s.field<std::string>("cron", p.cron, cron_check(p.time_zone));
    if (p.cron.empty()) throw ConfigError(s.location() + ": cron is required (such as \"0 9 * * mon-fri\")");
    p.schedule = std::get<CronSchedule>(parse_cron(p.cron, p.time_zone));
    s.field<std::string>("queue", p.queue, [](const std::string& q) {
      return q.empty() ? std::string("must name a queue") : std::string{};
    });
    s.field("kind", p.kind);
    if (p.kind.empty()) throw ConfigError(s.location() + ": kind is required (the job kind to enqueue)");
    if (const char* env = s.env_value("payload")) {
      const auto doc = nlohmann::json::parse(env, nullptr, false);
      if (doc.is_discarded() || !doc.is_object())
        throw ConfigError("environment " + s.env_var("payload") + ": expected a JSON object");
      p.payload = doc.dump();
      s.skip("payload");
    } else if (const YAML::Node payload = s.raw("payload"); payload && !payload.IsNull()) {
      if (!payload.IsMap())
        throw ConfigError(where(s.file(), payload.Mark()) + ": '" + s.path_of("payload") +
                          "' must be a mapping (it becomes the job's JSON payload)");
      p.payload = yaml_to_json(payload).dump();
    }
    s.finish();
    out.push_back(std::move(p));
  }
  return out;
}

TenantConfig read_tenant(const std::string& id, Section& t) {
  static const std::regex kId("[a-z0-9][a-z0-9_-]{0,63}");
  if (!std::regex_match(id, kId))
    throw ConfigError(t.location() + ": a tenant id is 1 to 64 of a-z, 0-9, '-' and '_', starting with a letter or digit");
  TenantConfig tc;
  tc.id = id;
  for (auto& [name, w] : t.entries("webhooks")) {
    auto provider = parse_provider(name);
    if (!provider)
      throw ConfigError(w.location() + ": unknown provider '" + name +
                        "' (evolution, whaticket, cloudapi, calcom, chatwoot)");
    tc.webhooks.push_back(read_webhook(*provider, w));
  }
  t.field<Duration>("debounce", tc.debounce);
  tc.business_hours = read_business_hours(t);
  tc.send_limits = read_send_limits(t);
  tc.llm = read_llm(t);
  tc.gateway = read_gateway(t);
  tc.calcom = read_calcom(t, tc.time_zone());
  tc.followups = read_followups(t);
  {
    Section l = t.child("contact_limits");
    l.field<int>("messages_per_minute", tc.contact_limits.messages_per_minute, non_negative);
    l.field<int>("max_message_chars", tc.contact_limits.max_message_chars, non_negative);
    l.field<int>("replies_per_hour", tc.contact_limits.replies_per_hour, non_negative);
    l.finish();
  }
  t.finish();
  return tc;
}

Config read(const YAML::Node& root, const std::string& file) {
  Config c;
  c.source = file;
  Section top(root, "", file);

  Section db = top.child("database");
  db.field("url", c.database.url);
  db.field<int>("pool_size", c.database.pool_size, positive);
  db.finish();

  Section log = top.child("log");
  log.field<std::string>("format", c.log.format, one_of({"text", "json"}));
  log.field<std::string>("level", c.log.level, one_of({"trace", "debug", "info", "warn", "error"}));
  log.field("redact", c.log.redact);
  log.finish();

  Section in = top.child("ingress");
  in.field("host", c.ingress.host);
  in.field<int>("port", c.ingress.port, [](const int& p) {
    return p >= 0 && p <= 65535 ? std::string{} : "must be a port number (0-65535)";
  });
  in.secret("api_token", c.ingress.api_token);
  in.field("max_body_bytes", c.ingress.max_body_bytes);
  in.field("max_header_bytes", c.ingress.max_header_bytes);
  in.field<int>("max_headers", c.ingress.max_headers, positive);
  in.field<int>("max_connections", c.ingress.max_connections, positive);
  in.field<Duration>("idle_timeout", c.ingress.idle_timeout, positive_duration);
  in.field<int>("group_commit_max_batch", c.ingress.group_commit_max_batch, positive);
  in.field<int>("group_commit_committers", c.ingress.group_commit_committers, positive);
  in.field<Duration>("read_timeout", c.ingress.read_timeout, positive_duration);
  in.field<Duration>("commit_timeout", c.ingress.commit_timeout, positive_duration);
  in.field<Duration>("dedup_window", c.ingress.dedup_window, positive_duration);
  in.finish();
  c.worker.inbound_retention = c.ingress.dedup_window;

  Section w = top.child("worker");
  if (w.present("queues")) {
    c.worker.queues.clear();
    for (auto& [name, q] : w.entries("queues")) {
      QueueConfig qc{name, 10};
      q.field<int>("concurrency", qc.concurrency, positive);
      q.finish();
      c.worker.queues.push_back(qc);
    }
  } else {
    for (auto& qc : c.worker.queues) {
      Section q = w.child("queues").child(qc.name);
      q.field<int>("concurrency", qc.concurrency, positive);
    }
  }
  w.field<int>("claim_batch", c.worker.claim_batch, positive);
  w.field<Duration>("poll_interval", c.worker.poll_interval, positive_duration);
  w.field<Duration>("lease", c.worker.lease, positive_duration);
  w.field<Duration>("rescue_interval", c.worker.rescue_interval, positive_duration);
  w.field("shutdown_timeout", c.worker.shutdown_timeout);
  w.field<Duration>("job_timeout", c.worker.job_timeout, positive_duration);
  w.field<Duration>("backoff_base", c.worker.backoff.base, positive_duration);
  w.field<Duration>("backoff_cap", c.worker.backoff.cap, positive_duration);
  w.field("completed_retention", c.worker.completed_retention);
  w.field("discarded_retention", c.worker.discarded_retention);
  w.field<Duration>("prune_interval", c.worker.prune_interval, positive_duration);
  w.field("metrics_host", c.worker.metrics_host);
  w.field<int>("metrics_port", c.worker.metrics_port, [](const int& p) {
    return p >= 0 && p <= 65535 ? std::string{} : "must be a port from 0 (none) to 65535";
  });

  Section http = w.child("http");
  http.field<Duration>("connect_timeout", c.worker.http.connect_timeout, positive_duration);
  http.field<Duration>("timeout", c.worker.http.timeout, positive_duration);
  http.field<std::size_t>("max_response_bytes", c.worker.http.max_response_bytes, positive_size);
  http.field("ca_file", c.worker.http.ca_file);
  http.finish();

  Section br = w.child("breakers");
  BreakerConfig& b = c.worker.breakers;
  br.field<int>("failures_to_open", b.failures_to_open, positive);
  br.field<double>("failure_rate", b.failure_rate, [](const double& r) {
    return r > 0 && r <= 1 ? std::string{} : "must be a share in (0, 1], such as 0.5";
  });
  br.field<int>("min_calls", b.min_calls, positive);
  br.field<Duration>("window", b.window, positive_duration);
  br.field<Duration>("cool_down", b.cool_down, positive_duration);
  br.field<int>("probes", b.probes, positive);
  br.field<Duration>("refresh", b.refresh, positive_duration);
  br.finish();
  w.finish();

  for (auto& [model, p] : top.entries("llm_prices")) {
    LlmPrice price;
    auto amount = [](const double& n) { return n >= 0 ? std::string{} : std::string("a price is 0 or more"); };
    p.field<double>("input_per_million", price.input_per_million, amount);
    p.field<double>("output_per_million", price.output_per_million, amount);
    p.finish();
    c.llm_prices[model] = price;
  }
  for (auto& [id, t] : top.entries("tenants")) {
    TenantConfig tenant = read_tenant(id, t);
    if (auto it = c.llm_prices.find(tenant.llm.model); tenant.llm.enabled() && it != c.llm_prices.end())
      tenant.llm.price = it->second;
    if (tenant.llm.budget.costs() && !tenant.llm.price)
      throw ConfigError(t.location() + ": llm.budget sets a cost limit but llm_prices has no price for model '" +
                        tenant.llm.model + "'");
    c.tenants.push_back(std::move(tenant));
  }
  c.periodic = read_periodic(top);

  Section dev = top.child("dev");
  dev.field("data_dir", c.dev.data_dir);
  dev.field("postgres_bin", c.dev.postgres_bin);
  dev.field<int>("sim_port", c.dev.sim_port, [](const int& p) {
    return p >= 0 && p <= 65535 ? std::string{} : "must be a port from 0 (none) to 65535";
  });
  dev.finish();

  top.finish();
  return c;
}

YAML::Node load_yaml(const std::string& text, const std::string& name) {
  try {
    YAML::Node root = YAML::Load(text);
    if (root && !root.IsNull() && !root.IsMap())
      throw ConfigError(where(name, root.Mark()) + ": the top level must be a mapping");
    return root;
  } catch (const YAML::Exception& e) {
    throw ConfigError(where(name, e.mark) + ": " + e.msg);
  }
}

}  // namespace

std::string_view to_string(Provider p) {
  switch (p) {
    case Provider::evolution: return "evolution";
    case Provider::whaticket: return "whaticket";
    case Provider::cloudapi: return "cloudapi";
    case Provider::calcom: return "calcom";
    case Provider::chatwoot: return "chatwoot";
  }
  return "?";
}

std::optional<Provider> parse_provider(std::string_view name) {
  for (Provider p : {Provider::evolution, Provider::whaticket, Provider::cloudapi, Provider::calcom, Provider::chatwoot})
    if (to_string(p) == name) return p;
  return std::nullopt;
}

const WebhookConfig* TenantConfig::webhook(Provider p) const {
  for (const auto& w : webhooks)
    if (w.provider == p) return &w;
  return nullptr;
}

std::string_view to_string(FollowupWhen w) {
  switch (w) {
    case FollowupWhen::before_start: return "before_start";
    case FollowupWhen::after_end: return "after_end";
    case FollowupWhen::quiet: return "quiet";
  }
  return "?";
}

std::optional<FollowupWhen> parse_followup_when(std::string_view text) {
  for (FollowupWhen w : {FollowupWhen::before_start, FollowupWhen::after_end, FollowupWhen::quiet})
    if (to_string(w) == text) return w;
  return std::nullopt;
}

std::vector<std::string> unknown_followup_placeholders(std::string_view text) {
  std::vector<std::string> unknown;
  for (std::size_t open = text.find('{'); open != std::string_view::npos; open = text.find('{', open + 1)) {
    std::size_t end = open + 1;
    while (end < text.size() && (std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '_')) ++end;
    if (end == open + 1 || end >= text.size() || text[end] != '}') continue;
    const std::string name(text.substr(open + 1, end - open - 1));
    if (std::find(kFollowupPlaceholders.begin(), kFollowupPlaceholders.end(), name) == kFollowupPlaceholders.end() &&
        std::find(unknown.begin(), unknown.end(), name) == unknown.end())
      unknown.push_back(name);
  }
  return unknown;
}

const FollowupRule* TenantConfig::followup(std::string_view name) const {
  for (const auto& r : followups)
    if (r.name == name) return &r;
  return nullptr;
}

const TenantConfig* Config::tenant(std::string_view id) const {
  for (const auto& t : tenants)
    if (t.id == id) return &t;
  return nullptr;
}

Config parse_config(const std::string& yaml_text, const std::string& name) {
  try {
    return read(load_yaml(yaml_text, name), name);
  } catch (const YAML::Exception& e) {  // a key that is not a plain name, say
    throw ConfigError(where(name, e.mark) + ": " + e.msg);
  }
}

Config load_config(const std::string& path) {
  if (path.empty()) return read(YAML::Node(), "");
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ": cannot open the configuration file");
  std::stringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path);
}

std::set<std::string> config_key_paths(const std::string& path) {
  std::set<std::string> paths;
  g_key_paths = &paths;
  try {
    load_config(path);
  } catch (...) {
    g_key_paths = nullptr;
    throw;
  }
  g_key_paths = nullptr;
  return paths;
}

std::string mask_url(const std::string& url) {
  // postgresql://user:password@host/db and key=value forms
  std::string out = url;
  const auto scheme = out.find("://");
  if (scheme != std::string::npos) {
    const auto at = out.find('@', scheme + 3);
    const auto colon = out.find(':', scheme + 3);
    if (at != std::string::npos && colon != std::string::npos && colon < at)
      out.replace(colon + 1, at - colon - 1, "***");
  }
  // key=value form: password = secret, password='a secret'
  static const std::regex kPassword(R"((password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]+))");
  out = std::regex_replace(out, kPassword, "$1***");
  return out;
}

std::string dump_config(const Config& c) {
  auto masked = [](const Secret& s) {
    return s.empty() ? std::string("\"\"  # not set") : "\"***\"  # from " + s.origin;
  };
  std::string out;
  out += fmt::format("# effective configuration ({})\n", c.source.empty() ? "defaults and environment" : c.source);
  out += fmt::format("database:\n  url: \"{}\"\n  pool_size: {}\n", mask_url(c.database.url), c.database.pool_size);
  out += fmt::format("log:\n  format: {}\n  level: {}\n  redact: {}\n", c.log.format, c.log.level, c.log.redact);
  out += fmt::format(
      "ingress:\n  host: \"{}\"\n  port: {}\n  api_token: {}\n  max_body_bytes: {}\n  max_header_bytes: {}\n"
      "  max_headers: {}\n  max_connections: {}\n  idle_timeout: {}\n  group_commit_max_batch: {}\n"
      "  group_commit_committers: {}\n"
      "  read_timeout: {}\n  commit_timeout: {}\n  dedup_window: {}\n",
      c.ingress.host, c.ingress.port, masked(c.ingress.api_token), c.ingress.max_body_bytes,
      c.ingress.max_header_bytes, c.ingress.max_headers, c.ingress.max_connections,
      format_duration(c.ingress.idle_timeout), c.ingress.group_commit_max_batch, c.ingress.group_commit_committers,
      format_duration(c.ingress.read_timeout), format_duration(c.ingress.commit_timeout),
      format_duration(c.ingress.dedup_window));
  out += "worker:\n  queues:\n";
  for (const auto& q : c.worker.queues) out += fmt::format("    {}:\n      concurrency: {}\n", q.name, q.concurrency);
  const WorkerConfig& w = c.worker;
  out += fmt::format(
      "  claim_batch: {}\n  poll_interval: {}\n  lease: {}\n  rescue_interval: {}\n  shutdown_timeout: {}\n"
      "  job_timeout: {}\n"
      "  backoff_base: {}\n  backoff_cap: {}\n  completed_retention: {}\n  discarded_retention: {}\n"
      "  prune_interval: {}\n  metrics_host: \"{}\"\n  metrics_port: {}\n",
      w.claim_batch, format_duration(w.poll_interval), format_duration(w.lease),
      format_duration(w.rescue_interval), format_duration(w.shutdown_timeout),
      format_duration(w.job_timeout),
      format_duration(w.backoff.base), format_duration(w.backoff.cap),
      format_duration(w.completed_retention), format_duration(w.discarded_retention),
      format_duration(w.prune_interval), w.metrics_host, w.metrics_port);
  out += fmt::format("  http:\n    connect_timeout: {}\n    timeout: {}\n    max_response_bytes: {}\n    ca_file: \"{}\"\n",
                     format_duration(w.http.connect_timeout), format_duration(w.http.timeout),
                     w.http.max_response_bytes, w.http.ca_file);
  out += fmt::format(
      "  breakers:\n    failures_to_open: {}\n    failure_rate: {}\n    min_calls: {}\n    window: {}\n"
      "    cool_down: {}\n    probes: {}\n    refresh: {}\n",
      w.breakers.failures_to_open, w.breakers.failure_rate, w.breakers.min_calls,
      format_duration(w.breakers.window), format_duration(w.breakers.cool_down), w.breakers.probes,
      format_duration(w.breakers.refresh));
  out += c.tenants.empty() ? "tenants: {}\n" : "tenants:\n";
  for (const auto& t : c.tenants) {
    out += fmt::format("  {}:\n    debounce: {}\n", t.id, format_duration(t.debounce));
    if (!t.business_hours.always_open) {
      out += fmt::format("    business_hours:\n      time_zone: {}\n", t.business_hours.time_zone);
      for (std::size_t i = 0; i < kWeekdayKeys.size(); ++i)
        out += fmt::format("      {}: \"{}\"\n", kWeekdayKeys[i], format_day_hours(t.business_hours.days[i]));
    }
    const SendLimits& sl = t.send_limits;
    out += fmt::format("    send_limits:\n      min_spacing: {}\n      per_hour: {}\n      per_day: {}\n"
                       "      per_recipient_spacing: {}\n",
                       format_duration(sl.min_spacing), sl.per_hour, sl.per_day,
                       format_duration(sl.per_recipient_spacing));
    auto quoted = [](const std::string& v) { return nlohmann::json(v).dump(); };  // a JSON string is YAML too
    if (t.llm.enabled()) {
      const LlmConfig& l = t.llm;
      out += fmt::format(
          "    llm:\n      provider: {}\n      base_url: {}\n      api_key: {}\n      model: {}\n"
          "      max_output_tokens: {}\n      history_messages: {}\n      history_bytes: {}\n      system_prompt: {}\n"
          "      language: {}\n      fallback_message: {}\n",
          l.provider, quoted(l.base_url), masked(l.api_key), quoted(l.model), l.max_output_tokens, l.history_messages,
          l.history_bytes, quoted(l.system_prompt), quoted(l.language), quoted(l.fallback_message));
      out += fmt::format(
          "      max_tool_rounds: {}\n      tool_time_limit: {}\n      reply_cache_ttl: {}\n"
          "      budget:\n        daily_tokens: {}\n        monthly_tokens: {}\n        daily_cost: {}\n"
          "        monthly_cost: {}\n        soft_limit: {}\n",
          l.max_tool_rounds, format_duration(l.tool_time_limit), format_duration(l.reply_cache_ttl),
          l.budget.daily_tokens, l.budget.monthly_tokens, l.budget.daily_cost, l.budget.monthly_cost,
          l.budget.soft_limit);
    }
    out += fmt::format("    contact_limits:\n      messages_per_minute: {}\n      max_message_chars: {}\n"
                       "      replies_per_hour: {}\n",
                       t.contact_limits.messages_per_minute, t.contact_limits.max_message_chars,
                       t.contact_limits.replies_per_hour);
    if (t.gateway.enabled()) {
      const GatewayConfig& g = t.gateway;
      out += fmt::format(
          "    gateway:\n      provider: {}\n      base_url: {}\n      token: {}\n      instance: {}\n"
          "      phone_number_id: {}\n      api_version: {}\n      template_name: {}\n      template_language: {}\n",
          g.provider, quoted(g.base_url), masked(g.token), quoted(g.instance), quoted(g.phone_number_id),
          quoted(g.api_version), quoted(g.template_name), quoted(g.template_language));
    }
    if (t.calcom.enabled()) {
      const CalcomConfig& cc = t.calcom;
      std::string ids, keywords;
      for (long long id : cc.event_type_ids) ids += (ids.empty() ? "" : ", ") + std::to_string(id);
      for (const auto& k : cc.booking_keywords) keywords += (keywords.empty() ? "" : ", ") + quoted(k);
      out += fmt::format(
          "    calcom:\n      base_url: {}\n      api_key: {}\n      event_type_ids: [{}]\n      sync: {}\n"
          "      sync_window: {}\n      booking_keywords: [{}]\n      attendee_email_domain: {}\n"
          "      booked_text: {}\n      cancelled_text: {}\n      rescheduled_text: {}\n",
          quoted(cc.base_url), masked(cc.api_key), ids, quoted(cc.sync), format_duration(cc.sync_window), keywords,
          quoted(cc.attendee_email_domain), quoted(cc.booked_text), quoted(cc.cancelled_text),
          quoted(cc.rescheduled_text));
    }
    if (!t.followups.empty()) out += "    followups:\n";
    for (const auto& r : t.followups) {
      out += fmt::format("      - name: {}\n        when: {}\n        offset: {}\n", r.name, to_string(r.when),
                         format_duration(r.offset));
      if (!r.text.empty()) out += fmt::format("        text: {}\n", quoted(r.text));
      if (r.llm) out += fmt::format("        llm: true\n        prompt: {}\n", quoted(r.prompt));
    }
    out += t.webhooks.empty() ? "    webhooks: {}\n" : "    webhooks:\n";
    for (const auto& w : t.webhooks) {
      out += fmt::format("      {}:\n", to_string(w.provider));
      auto secret = [&](const char* key, const Secret& s) {
        if (!s.empty()) out += fmt::format("        {}: {}\n", key, masked(s));
      };
      secret("token", w.token);
      if (!w.token.empty())
        out += fmt::format("        token_header: {}\n", w.token_header);
      secret("secret", w.secret);
      secret("jwt_secret", w.jwt_secret);
      secret("verify_token", w.verify_token);
      if (w.allow_unsigned) out += "        allow_unsigned: true\n";
    }
  }
  out += c.llm_prices.empty() ? "llm_prices: {}\n" : "llm_prices:\n";
  for (const auto& [model, p] : c.llm_prices)
    out += fmt::format("  {}:\n    input_per_million: {}\n    output_per_million: {}\n", nlohmann::json(model).dump(),
                       p.input_per_million, p.output_per_million);
  out += c.periodic.empty() ? "periodic: []\n" : "periodic:\n";
  for (const auto& p : c.periodic)
    out += fmt::format("  - name: {}\n    cron: {}\n    time_zone: {}\n    queue: {}\n    kind: {}\n    payload: {}\n",
                       p.name, nlohmann::json(p.cron).dump(), p.time_zone, nlohmann::json(p.queue).dump(),
                       nlohmann::json(p.kind).dump(), p.payload);
  out += fmt::format("dev:\n  data_dir: \"{}\"\n  postgres_bin: \"{}\"\n  sim_port: {}\n", c.dev.data_dir,
                     c.dev.postgres_bin, c.dev.sim_port);
  return out;
}

}  // namespace recado
