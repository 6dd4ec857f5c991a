#pragma once
// What recadoctl's command groups share (ctl.cpp builds the command line and runs the chosen
// command; ctl_jobs.cpp, ctl_status.cpp and ctl_completion.cpp each add a group): the session
// a command runs in, how values are printed, and the exit codes. Single-threaded; recadoctl only.
#include <CLI/CLI.hpp>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>
#include <vector>

#include "src/breaker.hpp"
#include "src/clock.hpp"
#include "src/config.hpp"

namespace recado::ctl {

using json = nlohmann::json;

// The exit codes scripts rely on (docs/recadoctl.md).
enum ExitCode : int {
  kOk = 0,
  kFailed = 1,       // refused, not found, or a check that failed (migrate --check)
  kUsage = 2,        // bad usage or configuration, or a confirmation declined or impossible
  kUnreachable = 3,  // the database could not be reached or failed
};

// A command that will not go ahead without a confirmation it did not get (exit 2).
class NotConfirmed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Where a command runs: the configuration, the database (connected on first use, so commands
// that need none, like `completion`, never touch it) and the output mode.
class Session {
 public:
  Session(Config config, std::string config_path, std::string url, bool as_json)
      : config_(std::move(config)),
        config_path_(std::move(config_path)),
        url_(std::move(url)),
        as_json_(as_json) {}

  const Config& config() const { return config_; }
  const std::string& config_path() const { return config_path_; }
  bool as_json() const { return as_json_; }
  pqxx::connection& db();
  // Drops the connection; the next db() connects again (watch, after the database failed).
  void reconnect() { conn_.reset(); }

  // --json: the value, indented; else a table of `columns` (one row for an object).
  void print(const json& value, const std::vector<std::string>& columns) const;

 private:
  Config config_;
  std::string config_path_;
  std::string url_;
  bool as_json_;
  std::unique_ptr<pqxx::connection> conn_;
};

// What a command does once the command line is parsed. Returns the exit code.
using Action = std::function<int(Session&)>;

// The command line being built: CLI11's app, what each (sub)command runs, and the fixed
// values of options (for completion, so the completion script never drifts from the parser).
struct Cli {
  CLI::App app{
      "recadoctl: see and steer recado's queues, jobs, workers, breakers and conversations"};
  struct Command {
    Action action;
    bool needs_database = true;
  };
  std::map<const CLI::App*, Command> commands;
  std::map<const CLI::Option*, std::vector<std::string>> choices;

  // `sub` runs `action` when it is the deepest command given.
  void on(CLI::App* sub, Action action, bool needs_database = true) {
    commands[sub] = {std::move(action), needs_database};
  }
  // Restricts `option` to `values`, remembered for completion.
  CLI::Option* choice(CLI::Option* option, const std::vector<std::string>& values) {
    choices[option] = values;
    return option->check(CLI::IsMember(values));
  }
};

// Command groups, each adding its commands to `cli`.
void add_jobs_commands(Cli& cli);       // jobs list|show|retry|cancel|delete, dead
void add_status_commands(Cli& cli);     // status, watch
void add_completion_command(Cli& cli);  // completion bash|zsh

// A table cell for a JSON value: "-" for null, arrays joined by commas.
std::string cell(const json& v);
void print_rows(std::ostream& out, const json& rows, const std::vector<std::string>& columns);
json breaker_json(const Breaker& b);
json pauses_json(pqxx::connection& conn);
// A duration option ("30s", "5m", "2h", "7d"): the check at parse time, and its value (throws
// CLI::ValidationError naming `option`).
CLI::Validator duration_validator();
Duration duration_option(const std::string& option, const std::string& text);
// Seconds for people: 0.4s, 42s, 3m12s, 2h05m, 3d04h.
std::string human_seconds(double seconds);

}  // namespace recado::ctl
