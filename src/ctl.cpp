// recadoctl: the operator's view of the queues. Tables for people, --json for scripts.
// Exit codes: 0 done, 1 refused or not found, 2 bad usage or configuration, 3 database
// unreachable or failing.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <pqxx/pqxx>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <set>

#include "src/app.hpp"
#include "src/breaker_store.hpp"
#include "src/config.hpp"
#include "src/conversation_store.hpp"
#include "src/job_request.hpp"
#include "src/job_store.hpp"
#include "src/local_postgres.hpp"
#include "src/queue_admin.hpp"
#include "src/table.hpp"
#include "src/time_format.hpp"

namespace recado {

namespace {

using json = nlohmann::json;

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

void table(const json& rows, const std::vector<std::string>& columns) {
  std::vector<std::vector<std::string>> cells;
  for (const auto& row : rows) {
    std::vector<std::string> line;
    for (const auto& c : columns) line.push_back(cell(row.value(c, json())));
    cells.push_back(std::move(line));
  }
  print_table(std::cout, columns, cells);
}

// Where recadoctl finds the database: --database-url, then the configuration (file and
// RECADO_DATABASE_URL), then a `recado dev` cluster under dev.data_dir.
std::string resolve_url(const std::string& flag, const Config& config) {
  if (!flag.empty()) return flag;
  if (!config.database.url.empty()) return config.database.url;
  const auto dir = std::filesystem::absolute(config.dev.data_dir).lexically_normal().string();
  if (std::filesystem::exists(dir + "/PG_VERSION"))
    return "postgresql:///recado?host=" + dir + "&user=postgres";
  throw ConfigError("no database: pass --database-url, set RECADO_DATABASE_URL, or start `recado dev` here");
}

json breaker_json(const Breaker& b) {
  auto time = [](const std::optional<Timestamp>& t) { return t ? json(format_rfc3339(*t)) : json(); };
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

json conversation_json(const conversation_store::Conversation& c) {
  return {{"id", c.id},
          {"tenant", c.tenant},
          {"contact", c.contact},
          {"handed_off", c.handed_off},
          {"handed_off_at", c.handed_off_at ? json(format_rfc3339(*c.handed_off_at)) : json()},
          {"handed_off_by", c.handed_off_by.empty() ? json() : json(c.handed_off_by)},
          {"updated_at", format_rfc3339(c.updated_at)}};
}

json pauses_json(pqxx::connection& conn) {
  json all = json::array();
  for (const auto& p : conversation_store::pauses(conn))
    all.push_back({{"scope", p.scope}, {"paused_at", format_rfc3339(p.paused_at)}, {"reason", p.reason}});
  return all;
}

}  // namespace

int recadoctl_main(int argc, char** argv, const JobKindTable& kinds) {
  CLI::App app{"recadoctl: see and steer recado's queues"};
  app.require_subcommand(1);
  std::string config_path, url_flag;
  if (const char* env = std::getenv("RECADO_CONFIG")) config_path = env;
  bool as_json = false;
  app.add_option("-c,--config", config_path, "YAML configuration file (default: $RECADO_CONFIG)");
  app.add_option("--database-url", url_flag, "PostgreSQL URL (default: database.url from the configuration)");
  app.add_flag("--json", as_json, "print JSON for scripts instead of tables");

  auto* queues = app.add_subcommand("queues", "jobs per queue and state, oldest waiting job, paused flag");

  auto* jobs = app.add_subcommand("jobs", "list, show, retry and cancel jobs");
  jobs->require_subcommand(1);
  auto* list = jobs->add_subcommand("list", "the newest jobs, filtered");
  queue_admin::JobFilter filter;
  std::string list_queue, list_state;
  list->add_option("--queue", list_queue, "only this queue");
  list->add_option("--state", list_state, "available, scheduled, running, retryable, completed, discarded or cancelled")
      ->check(CLI::IsMember({"available", "scheduled", "running", "retryable", "completed", "discarded", "cancelled"}));
  list->add_option("--limit", filter.limit, "at most this many (default 50)")->check(CLI::Range(1, 100000));
  auto* show = jobs->add_subcommand("show", "one job: payload, attempts, errors");
  int64_t job_id = 0;
  show->add_option("id", job_id, "job id")->required();
  auto* retry = jobs->add_subcommand("retry", "run a job again now; --discarded for all discarded jobs");
  int64_t retry_id = 0;
  bool retry_discarded = false;
  std::string retry_queue;
  auto* retry_id_opt = retry->add_option("id", retry_id, "job id");
  auto* retry_all = retry->add_flag("--discarded", retry_discarded, "every discarded job (of --queue)");
  retry->add_option("--queue", retry_queue, "with --discarded: only this queue")->needs(retry_all);
  retry_id_opt->excludes(retry_all);
  auto* cancel = jobs->add_subcommand("cancel", "cancel a job that has not started");
  int64_t cancel_id = 0;
  cancel->add_option("id", cancel_id, "job id")->required();

  auto* queue = app.add_subcommand("queue", "pause or resume a queue");
  queue->require_subcommand(1);
  std::string queue_name;
  auto* pause = queue->add_subcommand("pause", "stop workers claiming from a queue");
  pause->add_option("queue", queue_name, "queue name")->required();
  auto* resume = queue->add_subcommand("resume", "let workers claim from a queue again");
  resume->add_option("queue", queue_name, "queue name")->required();

  auto* enqueue = app.add_subcommand("enqueue", "add a job");
  std::string kind, eq_queue = "default", payload = "{}", run_at, run_in, dedup, sequence;
  int priority = 0, max_attempts = 0;
  enqueue->add_option("kind", kind, "job kind")->required();
  enqueue->add_option("--queue", eq_queue, "queue (default: default)");
  enqueue->add_option("--payload", payload, "JSON object (default {})");
  enqueue->add_option("--run-at", run_at, "RFC 3339 time to run at");
  enqueue->add_option("--run-in", run_in, "delay such as 30s or 5m");
  enqueue->add_option("--dedup-key", dedup, "no second live job with this key");
  enqueue->add_option("--sequence-key", sequence, "jobs with this key run one at a time, in order");
  enqueue->add_option("--priority", priority, "lower runs first (default 0)");
  enqueue->add_option("--max-attempts", max_attempts, "attempts before discarding (default 25)");

  auto* workers = app.add_subcommand("workers", "live workers and their heartbeats");

  auto* conversations = app.add_subcommand("conversations", "conversations; hand one to a human or give it back");
  conversations->require_subcommand(0, 1);
  std::string conv_tenant;
  bool conv_handed_off = false;
  int conv_limit = 50;
  conversations->add_option("--tenant", conv_tenant, "only this tenant's");
  conversations->add_flag("--handed-off", conv_handed_off, "only those a human has");
  conversations->add_option("--limit", conv_limit, "at most this many (default 50)")->check(CLI::Range(1, 100000));
  int64_t conversation_id = 0;
  auto* handoff = conversations->add_subcommand("handoff", "a human takes the conversation: the bot stops answering it");
  handoff->add_option("id", conversation_id, "conversation id (see `recadoctl conversations`)")->required();
  auto* give_back = conversations->add_subcommand("resume", "give the conversation back to the bot");
  give_back->add_option("id", conversation_id, "conversation id")->required();

  std::string pause_tenant, pause_reason;
  auto* pause_all = app.add_subcommand("pause", "emergency stop: nothing is sent for a tenant, or for all of them");
  pause_all->add_option("--tenant", pause_tenant, "only this tenant (default: every tenant)");
  pause_all->add_option("--reason", pause_reason, "why, for the record");
  auto* resume_all = app.add_subcommand("resume", "lift a pause set by `recadoctl pause`");
  resume_all->add_option("--tenant", pause_tenant, "the tenant paused alone (default: the pause of every tenant)");

  auto* breakers = app.add_subcommand("breakers", "circuit breakers per provider endpoint; open, close or reset one");
  breakers->require_subcommand(0, 1);
  std::string breaker_name;
  auto* breaker_open = breakers->add_subcommand("open", "force a breaker open: its calls snooze until it is closed");
  breaker_open->add_option("name", breaker_name, "breaker name, e.g. openai:clinic1")->required();
  auto* breaker_close = breakers->add_subcommand("close", "close a breaker now and clear its counts");
  breaker_close->add_option("name", breaker_name, "breaker name")->required();
  auto* breaker_reset = breakers->add_subcommand("reset", "forget a breaker: counts, last error and history");
  breaker_reset->add_option("name", breaker_name, "breaker name")->required();

  auto* sync = app.add_subcommand("sync", "fetch a provider's state now instead of waiting for its schedule");
  sync->require_subcommand(1);
  auto* sync_calcom = sync->add_subcommand("calcom", "a full Cal.com sync of a tenant's bookings (one calcom_sync job)");
  std::string sync_tenant;
  sync_calcom->add_option("--tenant", sync_tenant, "the tenant")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  try {
    const Config config = load_config(config_path);
    const std::string url = resolve_url(url_flag, config);
    pqxx::connection conn(url);
    auto print = [&](const json& value, const std::vector<std::string>& columns) {
      if (as_json) {
        std::cout << value.dump(2) << "\n";
      } else {
        table(value.is_array() ? value : json::array({value}), columns);
      }
    };

    if (queues->parsed()) {
      print(queue_admin::queues(conn), {"queue", "paused", "available", "scheduled", "running", "retryable",
                                        "completed", "discarded", "cancelled", "oldest_available_age_s"});
    } else if (list->parsed()) {
      if (!list_queue.empty()) filter.queue = list_queue;
      if (!list_state.empty()) filter.state = list_state;
      print(queue_admin::list_jobs(conn, filter),
            {"id", "queue", "kind", "state", "attempt", "max_attempts", "run_at", "last_error"});
    } else if (show->parsed()) {
      auto job = queue_admin::show_job(conn, job_id);
      if (!job) throw queue_admin::Refused("no job with id " + std::to_string(job_id));
      if (as_json) {
        std::cout << job->dump(2) << "\n";
      } else {
        for (const char* k : {"id", "queue", "kind", "state", "scheduled", "attempt", "max_attempts",
                              "priority", "run_at", "created_at", "attempted_at", "finished_at",
                              "dedup_key", "sequence_key", "lease_owner", "lease_until"})
          std::cout << fmt::format("{:<14}{}\n", k, cell((*job)[k]));
        std::cout << fmt::format("{:<14}{}\n", "payload", (*job)["payload"].dump());
        if (job->contains("result") && !(*job)["result"].is_null())  // what the handler kept (model, tokens, ...)
          std::cout << fmt::format("{:<14}{}\n", "result", (*job)["result"].dump());
        std::cout << "errors\n";
        for (const auto& e : (*job)["errors"])
          std::cout << fmt::format("  attempt {}  {}  {}\n", cell(e["attempt"]), cell(e["at"]), cell(e["error"]));
      }
    } else if (retry->parsed()) {
      if (retry_discarded) {
        const int n = queue_admin::retry_discarded(
            conn, retry_queue.empty() ? std::nullopt : std::optional<std::string>(retry_queue));
        if (as_json) {
          std::cout << json{{"requeued", n}}.dump(2) << "\n";
        } else {
          std::cout << "requeued " << n << " discarded job(s)\n";
        }
      } else {
        if (!*retry_id_opt) throw CLI::ValidationError("jobs retry", "give a job id or --discarded");
        print(queue_admin::retry_job(conn, retry_id), {"id", "action"});
      }
    } else if (cancel->parsed()) {
      print(queue_admin::cancel_job(conn, cancel_id), {"id", "action"});
    } else if (pause->parsed() || resume->parsed()) {
      queue_admin::set_paused(conn, queue_name, pause->parsed());
      print(json{{"queue", queue_name}, {"paused", pause->parsed()}}, {"queue", "paused"});
    } else if (enqueue->parsed()) {
      json body = {{"kind", kind}, {"queue", eq_queue}, {"priority", priority}};
      body["payload"] = json::parse(payload, nullptr, false);
      if (body["payload"].is_discarded()) throw CLI::ValidationError("--payload", "not valid JSON");
      if (!run_at.empty()) body["run_at"] = run_at;
      if (!run_in.empty()) body["run_in"] = run_in;
      if (!dedup.empty()) body["dedup_key"] = dedup;
      if (!sequence.empty()) body["sequence_key"] = sequence;
      if (max_attempts) body["max_attempts"] = max_attempts;
      std::set<std::string> names;
      for (const JobKind& k : kinds) names.insert(std::string(k.name));
      auto parsed = parse_job_request(body.dump(), names, system_now());
      if (auto* err = std::get_if<JobRequestError>(&parsed)) throw CLI::ValidationError("enqueue", err->reason);
      auto r = job_store::enqueue(conn, {std::get<NewJob>(parsed)});
      if (!r[0].id) throw std::runtime_error("the job was not stored (its dedup key kept changing hands); try again");
      job_store::notify(conn, {std::get<NewJob>(parsed).queue});
      print(json{{"id", r[0].id}, {"duplicate", !r[0].inserted}}, {"id", "duplicate"});
    } else if (conversations->parsed()) {
      const std::vector<std::string> columns = {"id", "tenant", "contact", "handed_off", "handed_off_by", "updated_at"};
      if (handoff->parsed() || give_back->parsed()) {
        auto c = conversation_store::set_handed_off(conn, conversation_id, handoff->parsed(), "recadoctl");
        if (!c) throw queue_admin::Refused("no conversation with id " + std::to_string(conversation_id));
        print(conversation_json(*c), columns);
      } else {
        json all = json::array();
        for (const auto& c : conversation_store::list(
                 conn, conv_tenant.empty() ? std::nullopt : std::optional<std::string>(conv_tenant), conv_handed_off,
                 conv_limit))
          all.push_back(conversation_json(c));
        print(all, columns);
      }
    } else if (pause_all->parsed() || resume_all->parsed()) {
      const std::string scope = pause_tenant.empty() ? "*" : pause_tenant;
      if (!pause_tenant.empty() && !config.tenants.empty() && !config.tenant(pause_tenant))
        throw queue_admin::Refused("no tenant " + pause_tenant + " in the configuration");
      if (pause_all->parsed()) {
        conversation_store::pause(conn, scope, pause_reason);
      } else if (!conversation_store::resume(conn, scope)) {
        throw queue_admin::Refused(scope == "*" ? "nothing is paused for every tenant (see `recadoctl pause --help`)"
                                                : "tenant " + scope + " is not paused on its own");
      }
      print(pauses_json(conn), {"scope", "paused_at", "reason"});
    } else if (breakers->parsed()) {
      const std::vector<std::string> columns = {"name", "state", "forced", "failures_in_a_row", "window_calls",
                                                "window_failures", "probe_at", "last_error", "transitions"};
      if (breaker_open->parsed()) {
        breaker_store::force_open(conn, breaker_name, system_now());
      } else if (breaker_close->parsed()) {
        if (!breaker_store::force_close(conn, breaker_name, system_now()))
          throw queue_admin::Refused("no breaker named " + breaker_name + " (see `recadoctl breakers`)");
      } else if (breaker_reset->parsed()) {
        if (!breaker_store::reset(conn, breaker_name))
          throw queue_admin::Refused("no breaker named " + breaker_name + " (see `recadoctl breakers`)");
        print(json{{"name", breaker_name}, {"action", "reset"}}, {"name", "action"});
        return 0;
      }
      if (breaker_open->parsed() || breaker_close->parsed()) {
        print(breaker_json(*breaker_store::load(conn, breaker_name)), columns);
      } else {
        json all = json::array();
        for (const Breaker& b : breaker_store::load_all(conn)) all.push_back(breaker_json(b));
        print(all, columns);
      }
    } else if (sync_calcom->parsed()) {
      if (sync_tenant.empty()) throw CLI::ValidationError("--tenant", "must not be empty");
      if (!config.tenants.empty() || !config_path.empty()) {
        const TenantConfig* t = config.tenant(sync_tenant);
        if (!t) throw queue_admin::Refused("no tenant " + sync_tenant + " in the configuration (" + config_path + ")");
        if (!t->calcom.enabled())
          throw queue_admin::Refused("tenant " + sync_tenant + " has no Cal.com account (tenants." + sync_tenant +
                                     ".calcom.api_key)");
      } else {
        std::cerr << "recadoctl: no configuration (-c or RECADO_CONFIG): tenant " << sync_tenant
                  << " is not checked; the worker discards the job if it does not know it\n";
      }
      // The scheduled sync's sequence key: a manual and a scheduled sync of a tenant never
      // run at once. The dedup key keeps one manual sync waiting per tenant.
      NewJob j;
      j.queue = j.kind = "calcom_sync";
      j.payload_json = json{{"tenant", sync_tenant}, {"mode", "full"}}.dump();
      j.dedup_key = "calcom_sync:manual:" + sync_tenant;
      j.sequence_key = "calcom_sync:" + sync_tenant;
      auto r = job_store::enqueue(conn, {j});
      if (!r[0].id) throw std::runtime_error("the job was not stored (its dedup key kept changing hands); try again");
      if (r[0].inserted) job_store::notify(conn, {j.queue});
      if (as_json) {
        std::cout << json{{"id", r[0].id}, {"tenant", sync_tenant}, {"duplicate", !r[0].inserted}}.dump(2) << "\n";
      } else if (r[0].inserted) {
        std::cout << "calcom_sync job " << r[0].id << " enqueued for tenant " << sync_tenant
                  << " (see `recadoctl jobs show " << r[0].id << "`)\n";
      } else {
        std::cout << "a Cal.com sync of tenant " << sync_tenant << " is already waiting or running: job " << r[0].id
                  << "; nothing enqueued\n";
      }
    } else if (workers->parsed()) {
      print(queue_admin::workers(conn), {"id", "queues", "running", "started_at", "heartbeat_at", "heartbeat_age_s"});
    }
    return 0;
  } catch (const queue_admin::Refused& e) {
    std::cerr << "recadoctl: " << e.what() << "\n";
    return 1;
  } catch (const CLI::Error& e) {
    std::cerr << "recadoctl: " << e.what() << "\n";
    return 2;
  } catch (const ConfigError& e) {
    std::cerr << "recadoctl: configuration error: " << e.what() << "\n";
    return 2;
  } catch (const pqxx::failure& e) {
    std::cerr << "recadoctl: database error: " << e.what();
    return 3;
  } catch (const std::exception& e) {
    std::cerr << "recadoctl: " << e.what() << "\n";
    return 3;
  }
}

}  // namespace recado
