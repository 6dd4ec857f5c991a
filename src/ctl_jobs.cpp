// recadoctl's job commands: jobs list|show|retry|cancel|delete (one job by id, or many by
// filter after a confirmation) and dead (discarded jobs grouped by error).
#include <fmt/format.h>
#include <unistd.h>

#include <iostream>

#include "src/ctl_common.hpp"
#include "src/duration.hpp"
#include "src/queue_admin.hpp"

namespace recado::ctl {

namespace {

using queue_admin::BulkAction;

const std::vector<std::string> kListStates = {"available", "scheduled", "running",  "retryable",
                                              "completed", "discarded", "cancelled"};

std::optional<std::string> optional(const std::string& s) {
  return s.empty() ? std::nullopt : std::optional<std::string>(s);
}

// --- one job or many ------------------------------------------------------------------------

struct BulkOptions {
  int64_t id = 0;
  std::string queue, kind, tenant, older_than;
  std::vector<std::string> states;
  bool yes = false;
  bool discarded = false;  // retry only: the older shorthand, acts at once
};

struct BulkFlags {
  CLI::Option* id;
  std::vector<CLI::Option*> filters;
};

BulkFlags add_bulk_options(Cli& cli, CLI::App* sub, BulkOptions& o, BulkAction action) {
  BulkFlags f;
  f.id = sub->add_option("id", o.id, "job id (or filters below, for many jobs)");
  f.filters.push_back(sub->add_option("--queue", o.queue, "only jobs of this queue"));
  std::string states;
  for (const auto& s : queue_admin::bulk_states(action)) states += (states.empty() ? "" : ", ") + s;
  std::string defaults;
  for (const auto& s : queue_admin::bulk_default_states(action))
    defaults += (defaults.empty() ? "" : ", ") + s;
  f.filters.push_back(cli.choice(
      sub->add_option(
             "--state", o.states,
             "only jobs in this state, repeatable: " + states + " (default: " + defaults + ")")
          ->allow_extra_args(
              false),  // one value per --state: `--state discarded 42` is not two states
      queue_admin::bulk_states(action)));
  f.filters.push_back(sub->add_option("--kind", o.kind, "only jobs of this kind"));
  f.filters.push_back(
      sub->add_option("--tenant", o.tenant, "only jobs whose payload's tenant is this"));
  f.filters.push_back(sub->add_option("--older-than", o.older_than,
                                      "only jobs that finished (or, waiting ones, were created) "
                                      "longer ago than this: 30m, 2h, 7d")
                          ->check(duration_validator()));
  sub->add_flag("-y,--yes", o.yes, "go ahead without asking (needed when stdin is not a terminal)");
  for (auto* filter : f.filters) f.id->excludes(filter);
  return f;
}

std::string describe(const queue_admin::BulkFilter& f, BulkAction action) {
  std::vector<std::string> parts;
  if (f.queue) parts.push_back("queue=" + *f.queue);
  std::string states;
  for (const auto& s : f.states.empty() ? queue_admin::bulk_default_states(action) : f.states)
    states += (states.empty() ? "" : "|") + s;
  parts.push_back("state=" + states);
  if (f.kind) parts.push_back("kind=" + *f.kind);
  if (f.tenant) parts.push_back("tenant=" + *f.tenant);
  if (f.older_than) parts.push_back("older than " + format_duration(*f.older_than));
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

json filter_json(const queue_admin::BulkFilter& f, BulkAction action) {
  auto opt = [](const std::optional<std::string>& v) { return v ? json(*v) : json(); };
  return {{"queue", opt(f.queue)},
          {"states", f.states.empty() ? queue_admin::bulk_default_states(action) : f.states},
          {"kind", opt(f.kind)},
          {"tenant", opt(f.tenant)},
          {"older_than_s",
           f.older_than ? json(static_cast<double>(f.older_than->count()) / 1e6) : json()}};
}

// Counts, says how many jobs the action will touch, asks (unless --yes), then acts in one
// statement of at most kBulkLimit jobs.
int run_bulk(Session& s, BulkAction action, const BulkOptions& o) {
  queue_admin::BulkFilter f;
  f.queue = optional(o.queue);
  f.kind = optional(o.kind);
  f.tenant = optional(o.tenant);
  f.states = o.states;
  if (!o.older_than.empty()) f.older_than = duration_option("--older-than", o.older_than);
  const std::string verb = queue_admin::to_string(action);
  const std::string what = describe(f, action);
  const int limit = queue_admin::kBulkLimit;

  const int64_t count = queue_admin::bulk_count(s.db(), action, f);
  json result;
  if (count == 0) {
    result = {{"matched", 0}, {"skipped", 0}};
    if (action == BulkAction::retry) result.update({{"requeued", 0}, {"run_now", 0}});
    if (action == BulkAction::cancel) result["cancelled"] = 0;
    if (action == BulkAction::remove) result["deleted"] = 0;
  } else {
    std::string plan =
        fmt::format("this will {} {} job(s) ({})", verb, std::min<int64_t>(count, limit), what);
    if (count > limit)
      plan += fmt::format(
          ": {} match, and one run takes at most {} (the oldest); run it again for the rest", count,
          limit);
    if (!o.yes) {
      if (!isatty(STDIN_FILENO))
        throw NotConfirmed(plan +
                           "; stdin is not a terminal, so nothing was asked and nothing done: add "
                           "--yes to go ahead");
      std::cerr << plan << "\nProceed? [y/N] " << std::flush;
      std::string answer;
      std::getline(std::cin, answer);
      if (answer != "y" && answer != "Y" && answer != "yes" && answer != "YES")
        throw NotConfirmed("not confirmed: nothing done");
    }
    result = queue_admin::bulk_apply(s.db(), action, f, limit);
  }
  const bool more = count > limit;
  if (s.as_json()) {
    json out = {
        {"action", verb}, {"filter", filter_json(f, action)}, {"limit", limit}, {"more", more}};
    out.update(result);
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  if (count == 0) {
    std::cout << "no job matches (" << what << "): nothing to " << verb << "\n";
    return 0;
  }
  const int64_t skipped = result["skipped"].get<int64_t>();
  std::string line;
  if (action == BulkAction::retry) {
    const int64_t requeued = result["requeued"].get<int64_t>(),
                  run_now = result["run_now"].get<int64_t>();
    line = fmt::format("retried {} job(s) ({}): {} back in their queue, {} waiting one(s) due now",
                       requeued + run_now, what, requeued, run_now);
    if (skipped)
      line += fmt::format("; {} skipped (a live job holds its dedup key, or it started meanwhile)",
                          skipped);
  } else {
    line = fmt::format(
        "{} {} job(s) ({})", action == BulkAction::cancel ? "cancelled" : "deleted",
        result[action == BulkAction::cancel ? "cancelled" : "deleted"].get<int64_t>(), what);
    if (skipped) line += fmt::format("; {} skipped (started meanwhile)", skipped);
  }
  std::cout << line << "\n";
  if (more)
    std::cout << "more jobs match: this run took the oldest " << limit
              << "; run it again for the rest\n";
  return 0;
}

bool any_filter(const BulkOptions& o) {
  return !o.queue.empty() || !o.kind.empty() || !o.tenant.empty() || !o.older_than.empty() ||
         !o.states.empty();
}

constexpr const char* kBulkFooter = R"(
With filters instead of an id, it says how many jobs it will touch and asks; without a
terminal it refuses (exit 2) unless --yes. One run touches at most 10000 jobs, the oldest
first; running jobs are never touched.
--json (many): {action, filter: {queue, states, kind, tenant, older_than_s}, limit, more,
                matched, skipped, )";

void add_retry(Cli& cli, CLI::App* jobs) {
  auto o = std::make_shared<BulkOptions>();
  auto* retry = jobs->add_subcommand("retry", "run a job again now, or many by filter");
  auto flags = add_bulk_options(cli, retry, *o, BulkAction::retry);
  auto* discarded = retry->add_flag(
      "--discarded", o->discarded,
      "every discarded job (of --queue) at once, without asking (the older shorthand)");
  discarded->excludes(flags.id);
  for (auto* filter : flags.filters)
    if (filter->get_name() != "--queue") discarded->excludes(filter);
  retry->footer(std::string(R"(
A finished job goes back to its queue with a fresh attempt count (unless a live job holds its
dedup key); a waiting one becomes due now. Without --state, many means the discarded ones.
Examples:
  recadoctl jobs retry 42
  recadoctl jobs retry --queue whatsapp_send --older-than 10m          # discarded ones
  recadoctl jobs retry --queue llm_reply --state retryable --yes
--json (one): {id, action: "requeued"|"runs now"}; --discarded: {requeued})") +
                kBulkFooter + "requeued, run_now}");
  cli.on(retry, [o, id = flags.id](Session& s) {
    if (o->discarded) {
      const int n = queue_admin::retry_discarded(s.db(), optional(o->queue));
      if (s.as_json()) {
        std::cout << json{{"requeued", n}}.dump(2) << "\n";
      } else {
        std::cout << "requeued " << n << " discarded job(s)\n";
      }
      return 0;
    }
    if (id->count()) {
      s.print(queue_admin::retry_job(s.db(), o->id), {"id", "action"});
      return 0;
    }
    if (!any_filter(*o))
      throw CLI::ValidationError(
          "jobs retry",
          "give a job id, or filters (--queue, --state, --kind, --tenant, --older-than)");
    return run_bulk(s, BulkAction::retry, *o);
  });
}

void add_cancel_or_delete(Cli& cli, CLI::App* jobs, BulkAction action) {
  const bool cancel = action == BulkAction::cancel;
  auto o = std::make_shared<BulkOptions>();
  auto* sub =
      jobs->add_subcommand(cancel ? "cancel" : "delete",
                           cancel ? "cancel a job that has not started, or many by filter"
                                  : "delete a job for good (not a running one), or many by filter");
  auto flags = add_bulk_options(cli, sub, *o, action);
  sub->footer(std::string(cancel ? R"(
A cancelled job is kept with the finished ones (state cancelled); a running job cannot be
cancelled. Without --state, many means every waiting one.
Examples:
  recadoctl jobs cancel 42
  recadoctl jobs cancel --queue followup --tenant demo
--json (one): {id, action: "cancelled"})"
                                 : R"(
A deleted job leaves no trace; `jobs cancel` keeps a record of a waiting job instead. Without
--state, many means the finished ones (completed, discarded, cancelled).
Examples:
  recadoctl jobs delete 42
  recadoctl jobs delete --state discarded --older-than 7d --yes
--json (one): {id, action: "deleted", state (the one it was in)})") +
              kBulkFooter + (cancel ? "cancelled}" : "deleted}"));
  cli.on(sub, [o, id = flags.id, action, cancel](Session& s) {
    if (id->count()) {
      if (cancel) {
        s.print(queue_admin::cancel_job(s.db(), o->id), {"id", "action"});
      } else {
        s.print(queue_admin::delete_job(s.db(), o->id), {"id", "action", "state"});
      }
      return 0;
    }
    if (!any_filter(*o))
      throw CLI::ValidationError(
          std::string("jobs ") + queue_admin::to_string(action),
          "give a job id, or filters (--queue, --state, --kind, --tenant, --older-than)");
    return run_bulk(s, action, *o);
  });
}

// --- list, show -----------------------------------------------------------------------------

void add_list_and_show(Cli& cli, CLI::App* jobs) {
  struct ListOptions {
    std::string queue, state, kind, tenant, older_than;
    int limit = 50;
  };
  auto o = std::make_shared<ListOptions>();
  auto* list = jobs->add_subcommand("list", "the newest jobs, filtered");
  list->add_option("--queue", o->queue, "only this queue");
  cli.choice(list->add_option(
                 "--state", o->state,
                 "available, scheduled, running, retryable, completed, discarded or cancelled"),
             kListStates);
  list->add_option("--kind", o->kind, "only this kind");
  list->add_option("--tenant", o->tenant, "only jobs whose payload's tenant is this");
  list->add_option(
          "--older-than", o->older_than,
          "only jobs that finished (or, live ones, were created) longer ago than this: 30m, 2h, 7d")
      ->check(duration_validator());
  list->add_option("--limit", o->limit, "at most this many (default 50)")
      ->check(CLI::Range(1, 100000));
  list->footer(R"(
Live and finished jobs together, newest first. The same filters pick the jobs of `jobs retry`,
`jobs cancel` and `jobs delete`: list first to see what they would touch.
--json: [{id, queue, kind, state, attempt, max_attempts, priority, run_at, created_at,
          finished_at, last_error, result}])");
  cli.on(list, [o](Session& s) {
    queue_admin::JobFilter filter;
    filter.queue = optional(o->queue);
    filter.state = optional(o->state);
    filter.kind = optional(o->kind);
    filter.tenant = optional(o->tenant);
    if (!o->older_than.empty()) filter.older_than = duration_option("--older-than", o->older_than);
    filter.limit = o->limit;
    s.print(queue_admin::list_jobs(s.db(), filter),
            {"id", "queue", "kind", "state", "attempt", "max_attempts", "run_at", "last_error"});
    return 0;
  });

  auto id = std::make_shared<int64_t>(0);
  auto* show = jobs->add_subcommand("show", "one job: payload, attempts, errors");
  show->add_option("id", *id, "job id")->required();
  show->footer(R"(
--json: {id, queue, kind, state, scheduled, attempt, max_attempts, priority, run_at, created_at,
         attempted_at, finished_at, dedup_key, sequence_key, lease_owner, lease_until, payload,
         errors: [{attempt, at, error}] (the last ten), last_error, result})");
  cli.on(show, [id](Session& s) {
    auto job = queue_admin::show_job(s.db(), *id);
    if (!job) throw queue_admin::Refused("no job with id " + std::to_string(*id));
    if (s.as_json()) {
      std::cout << job->dump(2) << "\n";
      return 0;
    }
    for (const char* k : {"id", "queue", "kind", "state", "scheduled", "attempt", "max_attempts",
                          "priority", "run_at", "created_at", "attempted_at", "finished_at",
                          "dedup_key", "sequence_key", "lease_owner", "lease_until"})
      std::cout << fmt::format("{:<14}{}\n", k, cell((*job)[k]));
    std::cout << fmt::format("{:<14}{}\n", "payload", (*job)["payload"].dump());
    if (job->contains("result") &&
        !(*job)["result"].is_null())  // what the handler kept (model, tokens, ...)
      std::cout << fmt::format("{:<14}{}\n", "result", (*job)["result"].dump());
    std::cout << "errors\n";
    for (const auto& e : (*job)["errors"])
      std::cout << fmt::format("  attempt {}  {}  {}\n", cell(e["attempt"]), cell(e["at"]),
                               cell(e["error"]));
    return 0;
  });
}

// --- dead -----------------------------------------------------------------------------------

void add_dead(Cli& cli) {
  struct DeadOptions {
    std::string since, queue;
    int limit = 50;
  };
  auto o = std::make_shared<DeadOptions>();
  auto* dead =
      cli.app.add_subcommand("dead", "discarded jobs grouped by queue, kind and last error");
  dead->add_option("--since", o->since, "only jobs discarded this recently (30m, 6h, 7d)")
      ->check(duration_validator());
  dead->add_option("--queue", o->queue, "only this queue");
  dead->add_option("--limit", o->limit, "at most this many groups (default 50)")
      ->check(CLI::Range(1, 100000));
  dead->footer(R"(
Errors are grouped by their first 80 characters, most frequent first. Discarded jobs are kept
for worker.discarded_retention (7 days by default).
Examples:
  recadoctl dead --since 1h
  recadoctl jobs show NEWEST_ID                          # one of a group, in full
  recadoctl jobs retry --queue Q --kind K --yes          # retry a group once its cause is fixed
--json: {since_s, queue, total, groups: [{queue, kind, error, count, newest_at, oldest_at, newest_id}]})");
  cli.on(dead, [o](Session& s) {
    std::optional<Duration> since;
    if (!o->since.empty()) since = duration_option("--since", o->since);
    json d = queue_admin::dead(s.db(), since, optional(o->queue), o->limit);
    if (s.as_json()) {
      json out = {{"since_s", since ? json(static_cast<double>(since->count()) / 1e6) : json()},
                  {"queue", o->queue.empty() ? json() : json(o->queue)}};
      out.update(d);
      std::cout << out.dump(2) << "\n";
      return 0;
    }
    print_rows(std::cout, d["groups"],
               {"count", "queue", "kind", "newest_at", "oldest_at", "newest_id", "error"});
    std::cout << fmt::format("{} discarded job(s){}{}\n", d["total"].get<int64_t>(),
                             since ? " in the last " + format_duration(*since) : std::string(),
                             o->queue.empty() ? std::string() : " of queue " + o->queue);
    return 0;
  });
}

}  // namespace

void add_jobs_commands(Cli& cli) {
  auto* jobs = cli.app.add_subcommand("jobs", "list, show, retry, cancel and delete jobs");
  jobs->require_subcommand(1);
  add_list_and_show(cli, jobs);
  add_retry(cli, jobs);
  add_cancel_or_delete(cli, jobs, BulkAction::cancel);
  add_cancel_or_delete(cli, jobs, BulkAction::remove);
  add_dead(cli);
}

}  // namespace recado::ctl
