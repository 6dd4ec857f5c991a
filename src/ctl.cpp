// recadoctl: the operator's view of the queues. Tables for people, --json for scripts.
// Exit codes (ctl_common.hpp): 0 done; 1 refused, not found or a check failed; 2 bad usage or
// configuration, or a confirmation declined or impossible; 3 database unreachable or failing.
// This file builds the command line, runs the chosen command, and holds the small commands;
// ctl_jobs.cpp, ctl_status.cpp and ctl_completion.cpp hold the larger groups.
#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <pqxx/pqxx>
#include <set>

#include "src/app.hpp"
#include "src/breaker_store.hpp"
#include "src/config.hpp"
#include "src/conversation_store.hpp"
#include "src/ctl_common.hpp"
#include "src/job_request.hpp"
#include "src/job_store.hpp"
#include "src/llm_store.hpp"
#include "src/migrations.hpp"
#include "src/queue_admin.hpp"
#include "src/time_format.hpp"

namespace recado {

namespace {

using ctl::Cli;
using ctl::Session;
using json = nlohmann::json;

constexpr const char* kFooter = R"(
Examples:
  recadoctl status                     queues, throughput, workers, breakers, pauses: one screen
  recadoctl watch                      the same, redrawn in place every 2s (q or Ctrl-C quits)
  recadoctl jobs list --queue llm_reply --state discarded
  recadoctl dead --since 1h            why jobs were discarded, grouped by queue, kind and error
  recadoctl jobs retry --queue whatsapp_send --state discarded --older-than 10m
  recadoctl conversations show 12      a conversation and its last messages (text hidden)
  recadoctl COMMAND --help             each command's options, with examples

Database: --database-url, else database.url from the configuration (-c, $RECADO_CONFIG) or
$RECADO_DATABASE_URL, else the `recado dev` cluster under ./var/pg.
--json (before or after the command): one JSON value on stdout; schemas in docs/recadoctl.md.
Exit codes: 0 done; 1 refused, not found, or a check failed; 2 bad usage or configuration, or a
confirmation declined or impossible (no terminal and no --yes); 3 database unreachable or failing.
Shell completion: source <(recadoctl completion bash), or recadoctl completion zsh.)";

// Where recadoctl finds the database: --database-url, then the configuration (file and
// RECADO_DATABASE_URL), then a `recado dev` cluster under dev.data_dir.
std::string resolve_url(const std::string& flag, const Config& config) {
  if (!flag.empty()) return flag;
  if (!config.database.url.empty()) return config.database.url;
  const auto dir = std::filesystem::absolute(config.dev.data_dir).lexically_normal().string();
  if (std::filesystem::exists(dir + "/PG_VERSION"))
    return "postgresql:///recado?host=" + dir + "&user=postgres";
  throw ConfigError(
      "no database: pass --database-url, set RECADO_DATABASE_URL, or start `recado dev` here");
}

std::optional<std::string> optional(const std::string& s) {
  return s.empty() ? std::nullopt : std::optional<std::string>(s);
}

// --- queues, queue pause|resume, workers ------------------------------------------------------

void add_queue_commands(Cli& cli) {
  auto* queues =
      cli.app.add_subcommand("queues", "jobs per queue and state, oldest waiting job, paused flag");
  queues->footer(R"(
AVAILABLE jobs are due now, SCHEDULED ones later; COMPLETED, DISCARDED and CANCELLED count the
finished jobs still kept (worker.completed_retention, worker.discarded_retention).
--json: [{queue, paused, available, scheduled, running, retryable, completed, discarded,
          cancelled, oldest_available_age_s}])");
  cli.on(queues, [](Session& s) {
    s.print(queue_admin::queues(s.db()),
            {"queue", "paused", "available", "scheduled", "running", "retryable", "completed",
             "discarded", "cancelled", "oldest_available_age_s"});
    return 0;
  });

  auto* queue = cli.app.add_subcommand("queue", "pause or resume a queue");
  queue->require_subcommand(1);
  auto name = std::make_shared<std::string>();
  for (const bool paused : {true, false}) {
    auto* sub = queue->add_subcommand(
        paused ? "pause" : "resume",
        paused ? "stop workers claiming from a queue" : "let workers claim from a queue again");
    sub->add_option("queue", *name, "queue name")->required();
    sub->footer(
        paused ? "\nRunning jobs finish; nothing new starts until `recadoctl queue resume QUEUE`.\n"
                 "--json: {queue, paused}"
               : "\n--json: {queue, paused}");
    cli.on(sub, [name, paused](Session& s) {
      queue_admin::set_paused(s.db(), *name, paused);
      s.print(json{{"queue", *name}, {"paused", paused}}, {"queue", "paused"});
      return 0;
    });
  }

  auto* workers = cli.app.add_subcommand("workers", "live workers and their heartbeats");
  workers->footer(R"(
A worker beats every lease/3; one whose HEARTBEAT_AGE_S passes worker.lease is gone, and its
jobs come back when their leases expire.
--json: [{id, host, pid, queues, started_at, heartbeat_at, heartbeat_age_s, running}])");
  cli.on(workers, [](Session& s) {
    s.print(queue_admin::workers(s.db()),
            {"id", "queues", "running", "started_at", "heartbeat_at", "heartbeat_age_s"});
    return 0;
  });
}

// --- enqueue ----------------------------------------------------------------------------------

void add_enqueue_command(Cli& cli, const JobKindTable& kinds) {
  struct Options {
    std::string kind, queue = "default", payload = "{}", run_at, run_in, dedup, sequence;
    int priority = 0, max_attempts = 0;
  };
  auto o = std::make_shared<Options>();
  auto* enqueue = cli.app.add_subcommand("enqueue", "add a job");
  enqueue->add_option("kind", o->kind, "job kind")->required();
  enqueue->add_option("--queue", o->queue, "queue (default: default)");
  enqueue->add_option("--payload", o->payload, "JSON object (default {})");
  enqueue->add_option("--run-at", o->run_at, "RFC 3339 time to run at");
  enqueue->add_option("--run-in", o->run_in, "delay such as 30s or 5m");
  enqueue->add_option("--dedup-key", o->dedup, "no second live job with this key");
  enqueue->add_option("--sequence-key", o->sequence,
                      "jobs with this key run one at a time, in order");
  enqueue->add_option("--priority", o->priority, "lower runs first (default 0)");
  enqueue->add_option("--max-attempts", o->max_attempts, "attempts before discarding (default 25)");
  enqueue->footer(R"(
Examples:
  recadoctl enqueue noop
  recadoctl enqueue calcom_sync --queue calcom_sync --payload '{"tenant":"demo","mode":"full"}' --run-in 5m
--json: {id, duplicate}; duplicate is true when a live job already held --dedup-key (its id).)");
  cli.on(enqueue, [o, &kinds](Session& s) {
    json body = {{"kind", o->kind}, {"queue", o->queue}, {"priority", o->priority}};
    body["payload"] = json::parse(o->payload, nullptr, false);
    if (body["payload"].is_discarded()) throw CLI::ValidationError("--payload", "not valid JSON");
    if (!o->run_at.empty()) body["run_at"] = o->run_at;
    if (!o->run_in.empty()) body["run_in"] = o->run_in;
    if (!o->dedup.empty()) body["dedup_key"] = o->dedup;
    if (!o->sequence.empty()) body["sequence_key"] = o->sequence;
    if (o->max_attempts) body["max_attempts"] = o->max_attempts;
    std::set<std::string> names;
    for (const JobKind& k : kinds) names.insert(std::string(k.name));
    auto parsed = parse_job_request(body.dump(), names, system_now());
    if (auto* err = std::get_if<JobRequestError>(&parsed))
      throw CLI::ValidationError("enqueue", err->reason);
    auto r = job_store::enqueue(s.db(), {std::get<NewJob>(parsed)});
    if (!r[0].id)
      throw std::runtime_error(
          "the job was not stored (its dedup key kept changing hands); try again");
    job_store::notify(s.db(), {std::get<NewJob>(parsed).queue});
    s.print(json{{"id", r[0].id}, {"duplicate", !r[0].inserted}}, {"id", "duplicate"});
    return 0;
  });
}

// --- conversations, pause, resume -------------------------------------------------------------

json conversation_json(const conversation_store::Conversation& c) {
  return {{"id", c.id},
          {"tenant", c.tenant},
          {"contact", c.contact},
          {"handed_off", c.handed_off},
          {"handed_off_at", c.handed_off_at ? json(format_rfc3339(*c.handed_off_at)) : json()},
          {"handed_off_by", c.handed_off_by.empty() ? json() : json(c.handed_off_by)},
          {"updated_at", format_rfc3339(c.updated_at)}};
}

// A message body on one table line: line breaks shown as \n.
std::string one_line(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r' || c == '\t') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

void add_conversation_commands(Cli& cli) {
  struct Options {
    std::string tenant;
    bool handed_off = false, show_text = false;
    int limit = 50, messages = 20;
    int64_t id = 0;
  };
  auto o = std::make_shared<Options>();
  auto* conversations = cli.app.add_subcommand(
      "conversations", "conversations; show one, hand one to a human or give it back");
  conversations->require_subcommand(0, 1);
  conversations->add_option("--tenant", o->tenant, "only this tenant's");
  conversations->add_flag("--handed-off", o->handed_off, "only those a human has");
  conversations->add_option("--limit", o->limit, "at most this many (default 50)")
      ->check(CLI::Range(1, 100000));
  conversations->footer(R"(
Without a subcommand: the conversations, most recently changed first.
--json: [{id, tenant, contact, handed_off, handed_off_at, handed_off_by, updated_at}])");
  const std::vector<std::string> columns = {"id",         "tenant",        "contact",
                                            "handed_off", "handed_off_by", "updated_at"};
  cli.on(conversations, [o, columns](Session& s) {
    json all = json::array();
    for (const auto& c :
         conversation_store::list(s.db(), optional(o->tenant), o->handed_off, o->limit))
      all.push_back(conversation_json(c));
    s.print(all, columns);
    return 0;
  });

  auto* show = conversations->add_subcommand(
      "show", "one conversation and its last messages (text hidden unless --show-text)");
  show->add_option("id", o->id, "conversation id (see `recadoctl conversations`)")->required();
  show->add_option("--messages", o->messages, "how many of the newest messages (default 20)")
      ->check(CLI::Range(0, 10000));
  show->add_flag("--show-text", o->show_text,
                 "print what the messages say (hidden by default: it is the patients' text)");
  show->footer(R"(
Messages are listed oldest first, inbound (in) and outbound (out) with their origin (llm_reply,
fallback, followup:RULE) and delivery status. Bodies are hidden, only their length shown,
unless --show-text; phone numbers are shown as stored.
--json: {conversation: {id, tenant, contact, name, handed_off, handed_off_at, handed_off_by,
         last_inbound_at, replied_through, fallback_through, created_at, updated_at},
         messages: [{id, at, direction, origin, kind, status, error, provider, job_id, sent_at,
                     status_at, body (null unless --show-text), body_chars}],
         messages_total, text_shown})");
  cli.on(show, [o](Session& s) {
    auto found = queue_admin::conversation(s.db(), o->id, o->messages, o->show_text);
    if (!found) throw queue_admin::Refused("no conversation with id " + std::to_string(o->id));
    if (s.as_json()) {
      std::cout << found->dump(2) << "\n";
      return 0;
    }
    const json& c = (*found)["conversation"];
    for (const char* k : {"id", "tenant", "contact", "name", "handed_off", "handed_off_by",
                          "handed_off_at", "last_inbound_at", "created_at", "updated_at"})
      std::cout << fmt::format(
          "{:<17}{}\n", k,
          c[k].is_string() && c[k].get<std::string>().empty() ? "-" : ctl::cell(c[k]));
    json rows = json::array();
    for (const auto& m : (*found)["messages"]) {
      json row = m;
      row["body"] = o->show_text
                        ? json(one_line(m.value("body", "")))
                        : json(fmt::format("[hidden, {} chars]", m["body_chars"].get<int64_t>()));
      rows.push_back(row);
    }
    std::cout << fmt::format("{:<17}{} newest of {}, oldest first{}\n", "messages", rows.size(),
                             (*found)["messages_total"].get<int64_t>(),
                             o->show_text ? "" : "; text hidden (--show-text shows it)");
    if (!rows.empty())
      ctl::print_rows(std::cout, rows,
                      {"id", "at", "direction", "origin", "kind", "status", "body"});
    return 0;
  });

  for (const bool take : {true, false}) {
    auto* sub = conversations->add_subcommand(
        take ? "handoff" : "resume",
        take ? "a human takes the conversation: the bot stops answering it"
             : "give the conversation back to the bot");
    sub->add_option("id", o->id, "conversation id (see `recadoctl conversations`)")->required();
    sub->footer(
        "\n--json: {id, tenant, contact, handed_off, handed_off_at, handed_off_by, updated_at}");
    cli.on(sub, [o, take, columns](Session& s) {
      auto c = conversation_store::set_handed_off(s.db(), o->id, take, "recadoctl");
      if (!c) throw queue_admin::Refused("no conversation with id " + std::to_string(o->id));
      s.print(conversation_json(*c), columns);
      return 0;
    });
  }

  struct PauseOptions {
    std::string tenant, reason;
  };
  auto p = std::make_shared<PauseOptions>();
  auto* pause = cli.app.add_subcommand(
      "pause", "emergency stop: nothing is sent for a tenant, or for all of them");
  pause->add_option("--tenant", p->tenant, "only this tenant (default: every tenant)");
  pause->add_option("--reason", p->reason, "why, for the record");
  auto* resume = cli.app.add_subcommand("resume", "lift a pause set by `recadoctl pause`");
  resume->add_option("--tenant", p->tenant,
                     "the tenant paused alone (default: the pause of every tenant)");
  for (auto* sub : {pause, resume}) {
    sub->footer(
        "\nPrints every pause in force afterwards.\n--json: [{scope (a tenant, or * for all), "
        "paused_at, reason}]");
    cli.on(sub, [p, pausing = sub == pause](Session& s) {
      const std::string scope = p->tenant.empty() ? "*" : p->tenant;
      const Config& config = s.config();
      if (!p->tenant.empty() && !config.tenants.empty() && !config.tenant(p->tenant))
        throw queue_admin::Refused("no tenant " + p->tenant + " in the configuration");
      if (pausing) {
        conversation_store::pause(s.db(), scope, p->reason);
      } else if (!conversation_store::resume(s.db(), scope)) {
        throw queue_admin::Refused(
            scope == "*" ? "nothing is paused for every tenant (see `recadoctl pause --help`)"
                         : "tenant " + scope + " is not paused on its own");
      }
      s.print(ctl::pauses_json(s.db()), {"scope", "paused_at", "reason"});
      return 0;
    });
  }
}

// --- usage ------------------------------------------------------------------------------------

void add_usage_command(Cli& cli) {
  struct UsageOptions {
    std::string tenant, since;
  };
  auto o = std::make_shared<UsageOptions>();
  auto* usage = cli.app.add_subcommand("usage", "LLM tokens, cost and calls by tenant and model");
  usage->add_option("--tenant", o->tenant, "only this tenant");
  usage->add_option("--since", o->since,
                    "from this day (YYYY-MM-DD, the tenants' own days) or this long ago (7d, 24h); "
                    "default: the first of this month");
  usage->footer(R"(
Counted from the usage the providers report on every answered call (replies, tool rounds and
follow-ups written by the LLM); cost by llm_prices in the configuration at the time of the call.
Examples:
  recadoctl usage                           this month, every tenant
  recadoctl usage --tenant clinic1 --since 7d
--json: {since, tenant, rows: [{tenant, model, calls, input_tokens, output_tokens, cost,
          first_day, last_day}], total: {calls, input_tokens, output_tokens, cost}})");
  cli.on(usage, [o](Session& s) {
    std::string since = o->since;
    const Timestamp now = system_now();
    if (since.empty()) {
      since = format_local_date(now, "UTC").substr(0, 8) + "01";
    } else if (!parse_local_date(since, "UTC")) {
      since = format_local_date(now - ctl::duration_option("--since", since), "UTC");
    }
    json rows = json::array();
    llm_store::Usage sum;
    for (const auto& r : llm_store::report(s.db(), optional(o->tenant), since)) {
      rows.push_back({{"tenant", r.tenant}, {"model", r.model}, {"calls", r.usage.calls},
                      {"input_tokens", r.usage.input_tokens}, {"output_tokens", r.usage.output_tokens},
                      {"cost", r.usage.cost}, {"first_day", r.first_day}, {"last_day", r.last_day}});
      sum.calls += r.usage.calls;
      sum.input_tokens += r.usage.input_tokens;
      sum.output_tokens += r.usage.output_tokens;
      sum.cost += r.usage.cost;
    }
    const json total = {{"calls", sum.calls}, {"input_tokens", sum.input_tokens},
                        {"output_tokens", sum.output_tokens}, {"cost", sum.cost}};
    if (s.as_json()) {
      std::cout << json{{"since", since}, {"tenant", o->tenant.empty() ? json() : json(o->tenant)},
                        {"rows", rows}, {"total", total}}
                       .dump(2)
                << "\n";
      return 0;
    }
    ctl::print_rows(std::cout, rows,
                    {"tenant", "model", "calls", "input_tokens", "output_tokens", "cost", "first_day", "last_day"});
    std::cout << fmt::format("total since {}: {} call(s), {} input and {} output tokens, cost {:.4f}\n", since,
                             sum.calls, sum.input_tokens, sum.output_tokens, sum.cost);
    return 0;
  });
}

// --- breakers ---------------------------------------------------------------------------------

void add_breaker_commands(Cli& cli) {
  auto name = std::make_shared<std::string>();
  auto* breakers = cli.app.add_subcommand(
      "breakers", "circuit breakers per provider endpoint; open, close or reset one");
  breakers->require_subcommand(0, 1);
  breakers->footer(R"(
A breaker is named PROVIDER:TENANT (openai:clinic1). Open: calls snooze until a probe succeeds
(at PROBE_AT); forced open: until `recadoctl breakers close NAME`.
--json: [{name, state, forced, failures_in_a_row, window_calls, window_failures, opened_at,
          probe_at, probes, last_error, transitions, updated_at}]; open and close print the one
breaker as an object, reset prints {name, action}.)");
  const std::vector<std::string> columns = {
      "name",         "state",           "forced",   "failures_in_a_row",
      "window_calls", "window_failures", "probe_at", "last_error",
      "transitions"};
  cli.on(breakers, [columns](Session& s) {
    json all = json::array();
    for (const Breaker& b : breaker_store::load_all(s.db())) all.push_back(ctl::breaker_json(b));
    s.print(all, columns);
    return 0;
  });
  auto* open =
      breakers->add_subcommand("open", "force a breaker open: its calls snooze until it is closed");
  open->add_option("name", *name, "breaker name, e.g. openai:clinic1")->required();
  cli.on(open, [name, columns](Session& s) {
    breaker_store::force_open(s.db(), *name, system_now());
    s.print(ctl::breaker_json(*breaker_store::load(s.db(), *name)), columns);
    return 0;
  });
  auto* close = breakers->add_subcommand("close", "close a breaker now and clear its counts");
  close->add_option("name", *name, "breaker name")->required();
  cli.on(close, [name, columns](Session& s) {
    if (!breaker_store::force_close(s.db(), *name, system_now()))
      throw queue_admin::Refused("no breaker named " + *name + " (see `recadoctl breakers`)");
    s.print(ctl::breaker_json(*breaker_store::load(s.db(), *name)), columns);
    return 0;
  });
  auto* reset =
      breakers->add_subcommand("reset", "forget a breaker: counts, last error and history");
  reset->add_option("name", *name, "breaker name")->required();
  cli.on(reset, [name](Session& s) {
    if (!breaker_store::reset(s.db(), *name))
      throw queue_admin::Refused("no breaker named " + *name + " (see `recadoctl breakers`)");
    s.print(json{{"name", *name}, {"action", "reset"}}, {"name", "action"});
    return 0;
  });
}

// --- sync calcom ------------------------------------------------------------------------------

void add_sync_commands(Cli& cli) {
  auto tenant = std::make_shared<std::string>();
  auto* sync = cli.app.add_subcommand(
      "sync", "fetch a provider's state now instead of waiting for its schedule");
  sync->require_subcommand(1);
  auto* calcom = sync->add_subcommand(
      "calcom", "a full Cal.com sync of a tenant's bookings (one calcom_sync job)");
  calcom->add_option("--tenant", *tenant, "the tenant")->required();
  calcom->footer(R"(
With a configuration (-c), the tenant must exist and have a Cal.com account. One manual sync
waits per tenant: a second call while it waits or runs enqueues nothing and says so.
--json: {id, tenant, duplicate})");
  cli.on(calcom, [tenant](Session& s) {
    const std::string& t = *tenant;
    if (t.empty()) throw CLI::ValidationError("--tenant", "must not be empty");
    const Config& config = s.config();
    if (!config.tenants.empty() || !s.config_path().empty()) {
      const TenantConfig* tc = config.tenant(t);
      if (!tc)
        throw queue_admin::Refused("no tenant " + t + " in the configuration (" + s.config_path() +
                                   ")");
      if (!tc->calcom.enabled())
        throw queue_admin::Refused("tenant " + t + " has no Cal.com account (tenants." + t +
                                   ".calcom.api_key)");
    } else {
      std::cerr << "recadoctl: no configuration (-c or RECADO_CONFIG): tenant " << t
                << " is not checked; the worker discards the job if it does not know it\n";
    }
    // The scheduled sync's sequence key: a manual and a scheduled sync of a tenant never
    // run at once. The dedup key keeps one manual sync waiting per tenant.
    NewJob j;
    j.queue = j.kind = "calcom_sync";
    j.payload_json = json{{"tenant", t}, {"mode", "full"}}.dump();
    j.dedup_key = "calcom_sync:manual:" + t;
    j.sequence_key = "calcom_sync:" + t;
    auto r = job_store::enqueue(s.db(), {j});
    if (!r[0].id)
      throw std::runtime_error(
          "the job was not stored (its dedup key kept changing hands); try again");
    if (r[0].inserted) job_store::notify(s.db(), {j.queue});
    if (s.as_json()) {
      std::cout << json{{"id", r[0].id}, {"tenant", t}, {"duplicate", !r[0].inserted}}.dump(2)
                << "\n";
    } else if (r[0].inserted) {
      std::cout << "calcom_sync job " << r[0].id << " enqueued for tenant " << t
                << " (see `recadoctl jobs show " << r[0].id << "`)\n";
    } else {
      std::cout << "a Cal.com sync of tenant " << t << " is already waiting or running: job "
                << r[0].id << "; nothing enqueued\n";
    }
    return 0;
  });
}

// --- migrate ----------------------------------------------------------------------------------

// "2026-01-05 10:00:00 UTC" (migration_status) as RFC 3339.
json applied_at_json(const std::string& text) {
  if (text.size() < 19) return json();
  return text.substr(0, 10) + "T" + text.substr(11, 8) + "Z";
}

void add_migrate_command(Cli& cli) {
  auto check = std::make_shared<bool>(false);
  auto* migrate =
      cli.app.add_subcommand("migrate", "apply the database migrations this build carries");
  migrate->add_flag("--check", *check,
                    "apply nothing: exit 1 and list the pending migrations if any");
  migrate->footer(R"(
Migrations run in one transaction under an advisory lock: two processes migrating at once are
safe. `recado migrate` does the same.
--json: {applied, version, latest, migrations: [{version, name, applied_at}]};
with --check: {version, latest, up_to_date, pending: [{version, name}]} (exit 1 when pending).)");
  cli.on(migrate, [check](Session& s) {
    auto& conn = s.db();
    if (*check) {
      json pending = json::array();
      for (const auto& m : migration_status(conn))
        if (m.applied_at.empty()) pending.push_back({{"version", m.version}, {"name", m.name}});
      const int version = applied_migration_version(conn);
      if (s.as_json()) {
        std::cout << json{{"version", version},
                          {"latest", latest_migration_version()},
                          {"up_to_date", pending.empty()},
                          {"pending", pending}}
                         .dump(2)
                  << "\n";
      } else if (pending.empty()) {
        std::cout << "schema is up to date (version " << version << ")\n";
      } else {
        std::cout << pending.size() << " migration(s) pending: the schema is at version " << version
                  << ", this build needs " << latest_migration_version()
                  << " (run `recadoctl migrate`)\n";
        for (const auto& m : pending)
          std::cout << fmt::format("  {:>3}  {}\n", m["version"].get<int>(), ctl::cell(m["name"]));
      }
      return pending.empty() ? 0 : ctl::kFailed;
    }
    const int applied = recado::migrate(conn);
    json all = json::array();
    for (const auto& m : migration_status(conn))
      all.push_back({{"version", m.version},
                     {"name", m.name},
                     {"applied_at", applied_at_json(m.applied_at)}});
    const int version = applied_migration_version(conn);
    if (s.as_json()) {
      std::cout << json{{"applied", applied},
                        {"version", version},
                        {"latest", latest_migration_version()},
                        {"migrations", all}}
                       .dump(2)
                << "\n";
    } else {
      std::cout << (applied ? "applied " + std::to_string(applied) + " migration(s)"
                            : "schema is up to date")
                << ", now at version " << version << "\n";
    }
    return 0;
  });
}

// The deepest command given: `jobs list` for `recadoctl --json jobs list --queue q`.
const CLI::App* chosen(const CLI::App& app) {
  const CLI::App* cur = &app;
  for (auto subs = cur->get_subcommands(); !subs.empty(); subs = cur->get_subcommands())
    cur = subs.front();
  return cur;
}

}  // namespace

int recadoctl_main(int argc, char** argv, const JobKindTable& kinds) {
  Cli cli;
  CLI::App& app = cli.app;
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the command too: `recadoctl queues --json`
  app.set_version_flag("--version", RECADO_VERSION);
  app.footer(kFooter);
  std::string config_path, url_flag;
  if (const char* env = std::getenv("RECADO_CONFIG")) config_path = env;
  bool as_json = false;
  app.add_option("-c,--config", config_path, "YAML configuration file (default: $RECADO_CONFIG)");
  app.add_option("--database-url", url_flag,
                 "PostgreSQL URL (default: database.url from the configuration)");
  app.add_flag("--json", as_json, "print JSON for scripts instead of tables");

  ctl::add_status_commands(cli);
  add_queue_commands(cli);
  ctl::add_jobs_commands(cli);
  add_enqueue_command(cli, kinds);
  add_conversation_commands(cli);
  add_breaker_commands(cli);
  add_usage_command(cli);
  add_sync_commands(cli);
  add_migrate_command(cli);
  ctl::add_completion_command(cli);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? ctl::kOk : ctl::kUsage;
  }
  const auto command = cli.commands.find(chosen(app));
  if (command == cli.commands.end()) {  // a group without an action of its own; parse refuses those
    std::cerr << app.help();
    return ctl::kUsage;
  }

  try {
    if (!command->second.needs_database) {
      Session session(Config{}, config_path, "", as_json);
      return command->second.action(session);
    }
    Config config = load_config(config_path);
    std::string url = resolve_url(url_flag, config);
    Session session(std::move(config), config_path, std::move(url), as_json);
    return command->second.action(session);
  } catch (const queue_admin::Refused& e) {
    std::cerr << "recadoctl: " << e.what() << "\n";
    return ctl::kFailed;
  } catch (const ctl::NotConfirmed& e) {
    std::cerr << "recadoctl: " << e.what() << "\n";
    return ctl::kUsage;
  } catch (const CLI::Error& e) {
    std::cerr << "recadoctl: " << e.what() << "\n";
    return ctl::kUsage;
  } catch (const ConfigError& e) {
    std::cerr << "recadoctl: configuration error: " << e.what() << "\n";
    return ctl::kUsage;
  } catch (const std::invalid_argument& e) {
    std::cerr << "recadoctl: " << e.what() << "\n";
    return ctl::kUsage;
  } catch (const pqxx::undefined_table& e) {
    std::cerr << "recadoctl: database error: " << e.what()
              << (std::string(e.what()).ends_with("\n") ? "" : "\n")
              << "recadoctl: is the schema there? `recadoctl migrate --check` says\n";
    return ctl::kUnreachable;
  } catch (const pqxx::failure& e) {
    std::string what = e.what();
    if (what.empty() || what.back() != '\n') what += '\n';
    std::cerr << "recadoctl: database error: " << what;
    return ctl::kUnreachable;
  } catch (const std::exception& e) {
    std::cerr << "recadoctl: " << e.what() << "\n";
    return ctl::kUnreachable;
  }
}

}  // namespace recado
