#include "src/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>

namespace recado::log {

namespace {
std::atomic<bool> g_json{false};
std::atomic<bool> g_redact{true};

spdlog::level::level_enum to_spdlog(Level l) {
  switch (l) {
    case Level::trace: return spdlog::level::trace;
    case Level::debug: return spdlog::level::debug;
    case Level::info: return spdlog::level::info;
    case Level::warn: return spdlog::level::warn;
    case Level::error: return spdlog::level::err;
  }
  return spdlog::level::info;
}
}  // namespace

void setup(std::string_view format, std::string_view level, bool redact) {
  g_json = (format == "json");
  g_redact = redact;
  auto logger = std::make_shared<spdlog::logger>(
      "recado", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  if (g_json) {
    // The message is already a JSON object body; the pattern adds time and level.
    logger->set_pattern("{\"ts\":\"%Y-%m-%dT%H:%M:%S.%fZ\",\"level\":\"%l\",%v}", spdlog::pattern_time_type::utc);
  } else {
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
  }
  logger->set_level(spdlog::level::from_str(std::string(level)));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

bool redacting() { return g_redact; }

void set_level(std::string_view level) {
  spdlog::default_logger_raw()->set_level(spdlog::level::from_str(std::string(level)));
}

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += fmt::format("\\u{:04x}", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

bool enabled(Level level) { return spdlog::default_logger_raw()->should_log(to_spdlog(level)); }

void write(Level level, std::string_view message, const Fields& fields) {
  auto logger = spdlog::default_logger_raw();
  if (!logger->should_log(to_spdlog(level))) return;
  std::string line;
  if (g_json) {
    line = "\"msg\":\"" + json_escape(message) + "\"";
    for (const auto& [k, v] : fields) line += ",\"" + json_escape(k) + "\":\"" + json_escape(v) + "\"";
  } else {
    // One event, one line: control characters in the message are escaped too.
    line = message.find_first_of("\r\n") == std::string_view::npos ? std::string(message) : json_escape(message);
    for (const auto& [k, v] : fields) {
      line += ' ';
      line += k;
      line += '=';
      const bool quote = v.empty() || v.find_first_of(" \"=\r\n\t") != std::string::npos;
      line += quote ? "\"" + json_escape(v) + "\"" : v;
    }
  }
  logger->log(to_spdlog(level), line);
}

Fields job_fields(const Job& job, Fields extra) {
  Fields f{{"job_id", std::to_string(job.id)},
           {"queue", job.queue},
           {"kind", job.kind},
           {"attempt", std::to_string(job.attempt)}};
  for (auto& e : extra) f.push_back(std::move(e));
  return f;
}

std::string redact_phone(std::string_view phone) {
  if (!g_redact) return std::string(phone);
  std::string out(phone);
  const std::size_t keep_tail = 2, keep_head = phone.size() > 6 ? 3 : 0;
  for (std::size_t i = keep_head; i + keep_tail < out.size(); ++i) out[i] = '*';
  return out;
}

std::string redact_text(std::string_view text) {
  if (!g_redact) return std::string(text);
  return "<text " + std::to_string(text.size()) + " bytes>";
}

}  // namespace recado::log
