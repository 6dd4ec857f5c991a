#include "src/ctl_common.hpp"

#include <fmt/format.h>

#include <cmath>
#include <iostream>

#include "src/conversation_store.hpp"
#include "src/duration.hpp"
#include "src/table.hpp"
#include "src/time_format.hpp"

namespace recado::ctl {

pqxx::connection& Session::db() {
  if (!conn_) conn_ = std::make_unique<pqxx::connection>(url_);
  return *conn_;
}

void Session::print(const json& value, const std::vector<std::string>& columns) const {
  if (as_json_) {
    std::cout << value.dump(2) << "\n";
  } else {
    print_rows(std::cout, value.is_array() ? value : json::array({value}), columns);
  }
}

std::string cell(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::string s;
    for (const auto& e : v) s += (s.empty() ? "" : ",") + cell(e);
    return s;
  }
  return v.dump();
}

void print_rows(std::ostream& out, const json& rows, const std::vector<std::string>& columns) {
  std::vector<std::vector<std::string>> cells;
  for (const auto& row : rows) {
    std::vector<std::string> line;
    for (const auto& c : columns) line.push_back(cell(row.value(c, json())));
    cells.push_back(std::move(line));
  }
  print_table(out, columns, cells);
}

json breaker_json(const Breaker& b) {
  auto time = [](const std::optional<Timestamp>& t) {
    return t ? json(format_rfc3339(*t)) : json();
  };
  return {{"name", b.name},
          {"state", to_string(b.state)},
          {"forced", b.forced},
          {"failures_in_a_row", b.run_failures},
          {"window_calls", b.window_calls},
          {"window_failures", b.window_failures},
          {"opened_at", time(b.opened_at)},
          {"probe_at", time(b.probe_at)},
          {"probes", b.probes},
          {"last_error", b.last_error.empty() ? json() : json(b.last_error)},
          {"transitions", b.transitions},
          {"updated_at", format_rfc3339(b.updated_at)}};
}

json pauses_json(pqxx::connection& conn) {
  json all = json::array();
  for (const auto& p : conversation_store::pauses(conn))
    all.push_back(
        {{"scope", p.scope}, {"paused_at", format_rfc3339(p.paused_at)}, {"reason", p.reason}});
  return all;
}

CLI::Validator duration_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        return parse_duration(text) ? ""
                                    : "not a duration such as 30s, 5m, 2h or 7d: '" + text + "'";
      },
      "DURATION");
}

Duration duration_option(const std::string& option, const std::string& text) {
  auto d = parse_duration(text);
  if (!d)
    throw CLI::ValidationError(option, "not a duration such as 30s, 5m, 2h or 7d: '" + text + "'");
  return *d;
}

std::string human_seconds(double s) {
  if (!std::isfinite(s) || s < 0) s = 0;
  if (s < 10) return fmt::format("{:.1f}s", s);
  if (s < 60) return fmt::format("{:.0f}s", std::floor(s));
  const auto whole = static_cast<int64_t>(s);
  if (whole < 3600) return fmt::format("{}m{:02}s", whole / 60, whole % 60);
  if (whole < 86400) return fmt::format("{}h{:02}m", whole / 3600, whole % 3600 / 60);
  return fmt::format("{}d{:02}h", whole / 86400, whole % 86400 / 3600);
}

}  // namespace recado::ctl
