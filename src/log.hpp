#pragma once
// Logging: spdlog underneath, one line per event with structured fields. Text for a
// terminal ("2026-11-25 10:00:00.123 info job completed job_id=42 queue=default"), JSON for
// production ({"ts":...,"level":"info","msg":"job completed","job_id":"42",...}).
// Callers pass values that are safe to log; redact() masks what might not be.
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "src/job.hpp"

namespace recado::log {

enum class Level { trace, debug, info, warn, error };

using Field = std::pair<std::string_view, std::string>;
using Fields = std::vector<Field>;

// Call once at start-up (before other threads log). format: "text" | "json".
void setup(std::string_view format, std::string_view level, bool redact);
bool redacting();
// Changes the level at run time (SIGHUP reload): "trace" | "debug" | "info" | "warn" |
// "error". Any thread; lines being written meanwhile go by either level.
void set_level(std::string_view level);

void write(Level level, std::string_view message, const Fields& fields = {});
// Whether `level` is logged: lets hot paths skip building fields nobody will read.
bool enabled(Level level);
inline void trace(std::string_view m, const Fields& f = {}) { write(Level::trace, m, f); }
inline void debug(std::string_view m, const Fields& f = {}) { write(Level::debug, m, f); }
inline void info(std::string_view m, const Fields& f = {}) { write(Level::info, m, f); }
inline void warn(std::string_view m, const Fields& f = {}) { write(Level::warn, m, f); }
inline void error(std::string_view m, const Fields& f = {}) { write(Level::error, m, f); }

// The fields every job line carries: job id, queue, kind, attempt.
Fields job_fields(const Job& job, Fields extra = {});

// Masks a phone number or message text when redaction is on: keeps the length and the last
// two characters of a number ("+55******21"), nothing of free text ("<text 42 bytes>").
std::string redact_phone(std::string_view phone);
std::string redact_text(std::string_view text);

// JSON string escaping (shared with the JSON formatter; exposed for tests).
std::string json_escape(std::string_view s);

}  // namespace recado::log
