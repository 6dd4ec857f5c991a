// recadoctl end to end: the real binary against a fresh migrated database per test. State is
// set up through the library (job_store, queue_admin); every command's exit code, output and
// effect on the rows are checked.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "src/breaker_store.hpp"
#include "src/conversation_store.hpp"
#include "src/job_store.hpp"
#include "src/migrations.hpp"
#include "src/queue_admin.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/pg_harness.hpp"

namespace recado {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using test::CommandResult;
using test::TestDatabase;

constexpr const char* kWorker = "test-worker";

NewJob job(std::string queue = "default", std::string kind = "noop") {
  NewJob j;
  j.queue = std::move(queue);
  j.kind = std::move(kind);
  return j;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::vector<std::string> words_of(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// The table row whose first cell is `first`, split into cells (cells hold no spaces here).
std::vector<std::string> row_starting_with(const std::string& table, const std::string& first) {
  for (const auto& line : lines_of(table)) {
    auto cells = words_of(line);
    if (!cells.empty() && cells[0] == first) return cells;
  }
  return {};
}

class RecadoctlTest : public ::testing::Test {
 protected:
  TestDatabase db;
  pqxx::connection conn{db.url()};

  // Runs recadoctl with the given arguments exactly (no --database-url added). The caller's
  // RECADO_CONFIG is blanked unless `env` sets it, and so is RECADO_DATABASE_URL when the
  // caller has one (an empty value still overrides a configuration file's url).
  static CommandResult run_raw(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    env.try_emplace("RECADO_CONFIG", "");
    if (std::getenv("RECADO_DATABASE_URL")) env.try_emplace("RECADO_DATABASE_URL", "");
    args.insert(args.begin(), RECADOCTL_BIN);
    return test::run_command(std::move(args), env, 60s);
  }

  // recadoctl --database-url <this test's database> args...
  CommandResult ctl(std::vector<std::string> args) {
    args.insert(args.begin(), {"--database-url", db.url()});
    return run_raw(std::move(args));
  }

  // recadoctl --database-url <db> --json args..., which must succeed; its stdout parsed.
  json ctl_json(std::vector<std::string> args) {
    args.insert(args.begin(), "--json");
    auto r = ctl(args);
    EXPECT_EQ(r.code, 0) << "stderr: " << r.err << "\nstdout: " << r.out;
    json doc = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(doc.is_discarded()) << "not JSON: " << r.out;
    return doc;
  }

  int64_t enqueue(const NewJob& j) {
    auto r = job_store::enqueue(conn, {j});
    EXPECT_TRUE(r.at(0).inserted);
    return r.at(0).id;
  }

  // Enqueues one job in `queue` (which must have no other ready job) and claims it.
  int64_t running_job(const std::string& queue, NewJob j = {}) {
    j.queue = queue;
    if (j.kind.empty()) j.kind = "noop";
    const int64_t id = enqueue(j);
    auto claimed = job_store::claim(conn, queue, 1, kWorker, 30s);
    EXPECT_EQ(claimed.size(), 1u);
    EXPECT_EQ(claimed.empty() ? 0 : claimed[0].id, id);
    return id;
  }

  int64_t finished_job(const std::string& queue, JobFinish::Action action, std::string error = {},
                       NewJob j = {}) {
    const int64_t id = running_job(queue, std::move(j));
    JobFinish v{id, 1, action, system_now() + 1h, std::move(error)};
    EXPECT_EQ(job_store::finish(conn, {v}, kWorker).total(), 1);
    return id;
  }

  std::string state_of(int64_t id) {
    const std::string sid = std::to_string(id);
    return db.scalar("SELECT coalesce((SELECT state::text FROM recado.jobs WHERE id = " + sid +
                     "), (SELECT 'finished:' || state::text FROM recado.jobs_finished WHERE id = " + sid + "), 'none')");
  }

  long long total_jobs() {
    return db.count("SELECT (SELECT count(*) FROM recado.jobs) + (SELECT count(*) FROM recado.jobs_finished)");
  }

  // One queue "mail" holding one job in every state, plus "other" with one available job.
  // Returns the id of the available "mail" job that has waited longest (90 seconds).
  int64_t every_state_in_mail() {
    running_job("mail");
    finished_job("mail", JobFinish::Action::complete);
    finished_job("mail", JobFinish::Action::discard, "gave up");
    finished_job("mail", JobFinish::Action::retry, "try later");  // retryable, due in an hour
    const int64_t to_cancel = enqueue(job("mail"));
    queue_admin::cancel_job(conn, to_cancel);
    const int64_t oldest = enqueue(job("mail"));
    enqueue(job("mail"));
    NewJob later = job("mail");
    later.run_at = system_now() + 1h;
    enqueue(later);
    enqueue(job("other"));
    db.scalar("UPDATE recado.jobs SET run_at = now() - interval '90 seconds' WHERE id = " + std::to_string(oldest));
    return oldest;
  }
};

// --- queues -------------------------------------------------------------------------------

TEST_F(RecadoctlTest, QueuesTableShowsHeaderAndCountsPerState) {
  every_state_in_mail();
  auto r = ctl({"queues"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;  // header, mail, other
  EXPECT_EQ(words_of(lines[0]),
            (std::vector<std::string>{"QUEUE", "PAUSED", "AVAILABLE", "SCHEDULED", "RUNNING", "RETRYABLE",
                                      "COMPLETED", "DISCARDED", "CANCELLED", "OLDEST_AVAILABLE_AGE_S"}));
  auto mail = words_of(lines[1]);
  ASSERT_EQ(mail.size(), 10u) << lines[1];
  EXPECT_EQ(std::vector<std::string>(mail.begin(), mail.begin() + 9),
            (std::vector<std::string>{"mail", "false", "2", "1", "1", "1", "1", "1", "1"}));
  EXPECT_GE(std::stod(mail[9]), 90.0);
  auto other = words_of(lines[2]);
  ASSERT_EQ(other.size(), 10u) << lines[2];
  EXPECT_EQ(std::vector<std::string>(other.begin(), other.begin() + 9),
            (std::vector<std::string>{"other", "false", "1", "0", "0", "0", "0", "0", "0"}));
}

TEST_F(RecadoctlTest, QueuesTableWithNoQueuesPrintsOnlyTheHeader) {
  auto r = ctl({"queues"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 1u) << r.out;
  EXPECT_EQ(words_of(lines[0]).at(0), "QUEUE");
  EXPECT_EQ(ctl_json({"queues"}), json::array());
}

TEST_F(RecadoctlTest, QueuesJsonHasTheSchemaAndTheNumbers) {
  every_state_in_mail();
  json q = ctl_json({"queues"});
  ASSERT_TRUE(q.is_array());
  ASSERT_EQ(q.size(), 2u) << q.dump();
  const std::set<std::string> schema = {"queue",   "paused",    "available", "scheduled", "running",
                                        "retryable", "completed", "discarded", "cancelled",
                                        "oldest_available_age_s"};
  for (const auto& row : q) {
    std::set<std::string> keys;
    for (auto it = row.begin(); it != row.end(); ++it) keys.insert(it.key());
    EXPECT_EQ(keys, schema) << row.dump();
  }
  const json& mail = q[0];
  EXPECT_EQ(mail["queue"], "mail");
  EXPECT_EQ(mail["paused"], false);
  EXPECT_EQ(mail["available"], 2);
  EXPECT_EQ(mail["scheduled"], 1);
  EXPECT_EQ(mail["running"], 1);
  EXPECT_EQ(mail["retryable"], 1);
  EXPECT_EQ(mail["completed"], 1);
  EXPECT_EQ(mail["discarded"], 1);
  EXPECT_EQ(mail["cancelled"], 1);
  ASSERT_TRUE(mail["oldest_available_age_s"].is_number());
  EXPECT_GE(mail["oldest_available_age_s"].get<double>(), 90.0);
  EXPECT_LT(mail["oldest_available_age_s"].get<double>(), 90.0 + 60.0);
  const json& other = q[1];
  EXPECT_EQ(other["queue"], "other");
  EXPECT_EQ(other["available"], 1);
  EXPECT_EQ(other["running"], 0);
  EXPECT_EQ(other["completed"], 0);
  EXPECT_LT(other["oldest_available_age_s"].get<double>(), 60.0);
}

TEST_F(RecadoctlTest, QueuesShowsPausedFlagAfterQueuePause) {
  enqueue(job("mail"));
  enqueue(job("other"));
  auto r = ctl({"queue", "pause", "mail"});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(ctl({"queue", "pause", "empty"}).code, 0);  // a queue with no jobs yet
  json q = ctl_json({"queues"});
  ASSERT_EQ(q.size(), 3u) << q.dump();
  EXPECT_EQ(q[0]["queue"], "empty");
  EXPECT_EQ(q[0]["paused"], true);
  EXPECT_EQ(q[0]["available"], 0);
  EXPECT_EQ(q[1]["queue"], "mail");
  EXPECT_EQ(q[1]["paused"], true);
  EXPECT_EQ(q[1]["available"], 1);
  EXPECT_EQ(q[2]["queue"], "other");
  EXPECT_EQ(q[2]["paused"], false);
  EXPECT_EQ(row_starting_with(ctl({"queues"}).out, "mail").at(1), "true");

  ASSERT_EQ(ctl({"queue", "resume", "mail"}).code, 0);
  q = ctl_json({"queues"});
  ASSERT_EQ(q.size(), 3u);
  EXPECT_EQ(q[1]["queue"], "mail");
  EXPECT_EQ(q[1]["paused"], false);
}

// --- jobs list ----------------------------------------------------------------------------

std::vector<int64_t> ids_of(const json& rows) {
  std::vector<int64_t> out;
  for (const auto& r : rows) out.push_back(r["id"].get<int64_t>());
  return out;
}

TEST_F(RecadoctlTest, JobsListIsNewestFirstAndHonoursLimit) {
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(enqueue(job()));
  const int64_t done = finished_job("default2", JobFinish::Action::complete);  // finished rows too
  json all = ctl_json({"jobs", "list"});
  EXPECT_EQ(ids_of(all), (std::vector<int64_t>{done, ids[4], ids[3], ids[2], ids[1], ids[0]}));
  json two = ctl_json({"jobs", "list", "--limit", "2"});
  EXPECT_EQ(ids_of(two), (std::vector<int64_t>{done, ids[4]}));
  json row = all[1];
  EXPECT_EQ(row["queue"], "default");
  EXPECT_EQ(row["kind"], "noop");
  EXPECT_EQ(row["state"], "available");
  EXPECT_EQ(row["attempt"], 0);
  EXPECT_EQ(row["max_attempts"], 25);
}

TEST_F(RecadoctlTest, JobsListFiltersByQueue) {
  const int64_t a1 = enqueue(job("a"));
  enqueue(job("b"));
  const int64_t a2 = enqueue(job("a"));
  const int64_t a3 = enqueue(job("a"));
  queue_admin::cancel_job(conn, a3);  // finished rows are listed too
  enqueue(job("b"));
  EXPECT_EQ(ids_of(ctl_json({"jobs", "list", "--queue", "a"})), (std::vector<int64_t>{a3, a2, a1}));
  EXPECT_EQ(ids_of(ctl_json({"jobs", "list", "--queue", "a", "--limit", "1"})), (std::vector<int64_t>{a3}));
  EXPECT_EQ(ctl_json({"jobs", "list", "--queue", "nope"}), json::array());
}

TEST_F(RecadoctlTest, JobsListFiltersByStateIncludingScheduled) {
  const int64_t running = running_job("q");
  const int64_t completed = finished_job("q", JobFinish::Action::complete);
  const int64_t discarded = finished_job("q", JobFinish::Action::discard, "bad");
  const int64_t retryable = finished_job("q", JobFinish::Action::retry, "later");
  const int64_t cancelled = enqueue(job("q"));
  queue_admin::cancel_job(conn, cancelled);
  const int64_t available = enqueue(job("q"));
  NewJob later = job("q");
  later.run_at = system_now() + 1h;
  const int64_t scheduled = enqueue(later);

  const std::map<std::string, int64_t> expected = {
      {"available", available}, {"scheduled", scheduled}, {"running", running},
      {"retryable", retryable}, {"completed", completed}, {"discarded", discarded},
      {"cancelled", cancelled}};
  for (const auto& [state, id] : expected) {
    SCOPED_TRACE(state);
    json rows = ctl_json({"jobs", "list", "--state", state});
    EXPECT_EQ(ids_of(rows), (std::vector<int64_t>{id}));
  }
  json rows = ctl_json({"jobs", "list", "--state", "retryable"});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["last_error"], "later");
  EXPECT_EQ(rows[0]["attempt"], 1);
}

TEST_F(RecadoctlTest, JobsListTableHasHeaderAndOneRowPerJob) {
  const int64_t discarded = finished_job("mail", JobFinish::Action::discard, "no-such-mailbox");
  const int64_t waiting = enqueue(job("mail"));
  auto r = ctl({"jobs", "list"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(words_of(lines[0]), (std::vector<std::string>{"ID", "QUEUE", "KIND", "STATE", "ATTEMPT",
                                                          "MAX_ATTEMPTS", "RUN_AT", "LAST_ERROR"}));
  auto first = words_of(lines[1]);
  ASSERT_EQ(first.size(), 8u) << lines[1];
  EXPECT_EQ(first[0], std::to_string(waiting));
  EXPECT_EQ(first[3], "available");
  EXPECT_EQ(first[7], "-");
  auto second = words_of(lines[2]);
  ASSERT_EQ(second.size(), 8u) << lines[2];
  EXPECT_EQ(second[0], std::to_string(discarded));
  EXPECT_EQ(second[1], "mail");
  EXPECT_EQ(second[2], "noop");
  EXPECT_EQ(second[3], "discarded");
  EXPECT_EQ(second[4], "1");
  EXPECT_EQ(second[5], "25");
  EXPECT_EQ(second[7], "no-such-mailbox");
}

TEST_F(RecadoctlTest, JobsListRejectsAnUnknownStateOrLimit) {
  auto r = ctl({"jobs", "list", "--state", "sleeping"});
  EXPECT_EQ(r.code, 2);
  EXPECT_FALSE(r.err.empty());
  EXPECT_EQ(ctl({"jobs", "list", "--limit", "0"}).code, 2);
  EXPECT_EQ(ctl({"jobs", "list", "--limit", "many"}).code, 2);
}

// --- jobs show ----------------------------------------------------------------------------

TEST_F(RecadoctlTest, JobsShowJsonHasPayloadAttemptsAndErrors) {
  NewJob j = job("mail");
  j.payload_json = R"({"to":"ana@example.com","n":3})";
  j.max_attempts = 3;
  j.dedup_key = "welcome-ana";
  const int64_t id = finished_job("mail", JobFinish::Action::retry, "smtp 451 try again", j);
  db.scalar("UPDATE recado.jobs SET run_at = now() WHERE id = " + std::to_string(id));
  auto again = job_store::claim(conn, "mail", 1, kWorker, 30s);
  ASSERT_EQ(again.size(), 1u);
  ASSERT_EQ(job_store::finish(conn, {{id, 2, JobFinish::Action::discard, {}, "smtp 550 no such user"}}, kWorker).discarded, 1);

  json shown = ctl_json({"jobs", "show", std::to_string(id)});
  EXPECT_EQ(shown["id"], id);
  EXPECT_EQ(shown["queue"], "mail");
  EXPECT_EQ(shown["kind"], "noop");
  EXPECT_EQ(shown["state"], "discarded");
  EXPECT_EQ(shown["payload"], json::parse(R"({"to":"ana@example.com","n":3})"));
  EXPECT_EQ(shown["attempt"], 2);
  EXPECT_EQ(shown["max_attempts"], 3);
  EXPECT_EQ(shown["dedup_key"], "welcome-ana");
  EXPECT_TRUE(shown["finished_at"].is_string());
  ASSERT_TRUE(shown["errors"].is_array());
  ASSERT_EQ(shown["errors"].size(), 2u) << shown.dump();
  EXPECT_EQ(shown["errors"][0]["attempt"], 1);
  EXPECT_EQ(shown["errors"][0]["error"], "smtp 451 try again");
  EXPECT_EQ(shown["errors"][1]["attempt"], 2);
  EXPECT_EQ(shown["errors"][1]["error"], "smtp 550 no such user");
  EXPECT_EQ(shown["last_error"], "smtp 550 no such user");
}

TEST_F(RecadoctlTest, JobsShowJsonOfARunningJobHasItsLease) {
  NewJob j;
  j.payload_json = R"({"k":"v"})";
  j.sequence_key = "acct-7";
  const int64_t id = running_job("q", j);
  json shown = ctl_json({"jobs", "show", std::to_string(id)});
  EXPECT_EQ(shown["state"], "running");
  EXPECT_EQ(shown["attempt"], 1);
  EXPECT_EQ(shown["lease_owner"], kWorker);
  EXPECT_TRUE(shown["lease_until"].is_string());
  EXPECT_EQ(shown["sequence_key"], "acct-7");
  EXPECT_EQ(shown["payload"], json::parse(R"({"k":"v"})"));
  EXPECT_EQ(shown["errors"], json::array());
}

TEST_F(RecadoctlTest, JobsShowHumanPrintsFieldsPayloadAndErrors) {
  NewJob j = job("mail");
  j.payload_json = R"({"to":"bo@example.com"})";
  j.max_attempts = 5;
  const int64_t id = finished_job("mail", JobFinish::Action::retry, "connection reset", j);
  auto r = ctl({"jobs", "show", std::to_string(id)});
  ASSERT_EQ(r.code, 0) << r.err;
  auto field = [&](const std::string& name) {
    auto cells = row_starting_with(r.out, name);
    return cells.size() >= 2 ? cells[1] : std::string("<missing>");
  };
  EXPECT_EQ(field("id"), std::to_string(id));
  EXPECT_EQ(field("queue"), "mail");
  EXPECT_EQ(field("kind"), "noop");
  EXPECT_EQ(field("state"), "retryable");
  EXPECT_EQ(field("attempt"), "1");
  EXPECT_EQ(field("max_attempts"), "5");
  EXPECT_EQ(field("dedup_key"), "-");
  EXPECT_EQ(field("payload"), R"({"to":"bo@example.com"})");
  auto lines = lines_of(r.out);
  auto errors = std::find(lines.begin(), lines.end(), "errors");
  ASSERT_NE(errors, lines.end()) << r.out;
  ASSERT_EQ(lines.end() - errors, 2) << r.out;  // "errors" and one error line
  const std::string& e = *(errors + 1);
  EXPECT_EQ(e.rfind("  attempt 1", 0), 0u) << e;
  EXPECT_NE(e.find("connection reset"), std::string::npos) << e;
}

TEST_F(RecadoctlTest, JobsShowHumanPrintsTheResultAHandlerKeptAndNoneOtherwise) {
  const int64_t id = running_job("llm_reply");
  {
    pqxx::work tx(conn);
    ASSERT_TRUE(job_store::complete_one(tx, id, 1, kWorker, R"({"model":"sim-secretary","output_tokens":37})"));
    tx.commit();
  }
  auto r = ctl({"jobs", "show", std::to_string(id)});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto cells = row_starting_with(r.out, "result");
  ASSERT_EQ(cells.size(), 2u) << r.out;
  EXPECT_EQ(json::parse(cells[1]), json({{"model", "sim-secretary"}, {"output_tokens", 37}}));

  auto plain = ctl({"jobs", "show", std::to_string(enqueue(job("mail")))});
  ASSERT_EQ(plain.code, 0) << plain.err;
  EXPECT_TRUE(row_starting_with(plain.out, "result").empty()) << plain.out;
}

TEST_F(RecadoctlTest, JobsShowOfAMissingIdExits1NamingTheId) {
  enqueue(job());
  for (bool as_json : {false, true}) {
    SCOPED_TRACE(as_json);
    std::vector<std::string> args = {"jobs", "show", "987654"};
    if (as_json) args.insert(args.begin(), "--json");
    auto r = ctl(args);
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("987654"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
  }
}

// --- jobs retry ---------------------------------------------------------------------------

TEST_F(RecadoctlTest, RetryOfADiscardedJobRequeuesItWithAttemptZero) {
  NewJob j;
  j.max_attempts = 2;
  const int64_t id = finished_job("mail", JobFinish::Action::discard, "broken", j);
  ASSERT_EQ(state_of(id), "finished:discarded");
  json r = ctl_json({"jobs", "retry", std::to_string(id)});
  EXPECT_EQ(r["id"], id);
  EXPECT_EQ(r["action"], "requeued");
  EXPECT_EQ(state_of(id), "available");
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs_finished"), 0);
  const std::string sid = std::to_string(id);
  EXPECT_EQ(db.scalar("SELECT attempt FROM recado.jobs WHERE id = " + sid), "0");
  EXPECT_EQ(db.scalar("SELECT max_attempts FROM recado.jobs WHERE id = " + sid), "2");
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs WHERE run_at <= now() AND id = " + sid), 1);
  auto claimed = job_store::claim(conn, "mail", 10, kWorker, 30s);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].id, id);
  EXPECT_EQ(claimed[0].attempt, 1);
}

TEST_F(RecadoctlTest, RetryOfAWaitingJobMakesItRunNow) {
  NewJob later = job("q");
  later.run_at = system_now() + 1h;
  const int64_t id = enqueue(later);
  auto r = ctl({"jobs", "retry", std::to_string(id)});
  ASSERT_EQ(r.code, 0) << r.err;
  auto row = row_starting_with(r.out, std::to_string(id));
  EXPECT_EQ(row.size(), 3u) << r.out;  // id, "runs", "now"
  EXPECT_EQ(state_of(id), "available");
  auto claimed = job_store::claim(conn, "q", 10, kWorker, 30s);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].id, id);
}

TEST_F(RecadoctlTest, RetryOfARunningJobExits1AndChangesNothing) {
  const int64_t id = running_job("q");
  const std::string sid = std::to_string(id);
  const std::string before = db.scalar(
      "SELECT state || ' ' || attempt || ' ' || lease_owner || ' ' || run_at || ' ' || lease_until "
      "FROM recado.jobs WHERE id = " + sid);
  auto r = ctl({"jobs", "retry", sid});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(sid), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("running"), std::string::npos) << r.err;
  EXPECT_EQ(db.scalar("SELECT state || ' ' || attempt || ' ' || lease_owner || ' ' || run_at || ' ' || lease_until "
                      "FROM recado.jobs WHERE id = " + sid),
            before);
}

TEST_F(RecadoctlTest, RetryOfAMissingIdExits1NamingTheId) {
  auto r = ctl({"jobs", "retry", "424242"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("424242"), std::string::npos) << r.err;
  EXPECT_EQ(total_jobs(), 0);
}

TEST_F(RecadoctlTest, RetryDiscardedRequeuesEveryDiscardedJobOfTheQueue) {
  const int64_t a1 = finished_job("a", JobFinish::Action::discard, "x");
  const int64_t a2 = finished_job("a", JobFinish::Action::discard, "y");
  const int64_t a_done = finished_job("a", JobFinish::Action::complete);
  const int64_t b1 = finished_job("b", JobFinish::Action::discard, "z");

  auto r = ctl({"jobs", "retry", "--discarded", "--queue", "a"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("requeued 2"), std::string::npos) << r.out;
  EXPECT_EQ(state_of(a1), "available");
  EXPECT_EQ(state_of(a2), "available");
  EXPECT_EQ(state_of(a_done), "finished:completed");
  EXPECT_EQ(state_of(b1), "finished:discarded");
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs WHERE attempt <> 0"), 0);

  json all = ctl_json({"jobs", "retry", "--discarded"});
  EXPECT_EQ(all, json({{"requeued", 1}}));
  EXPECT_EQ(state_of(b1), "available");
  EXPECT_EQ(state_of(a_done), "finished:completed");
  EXPECT_EQ(ctl_json({"jobs", "retry", "--discarded"}), json({{"requeued", 0}}));
}

TEST_F(RecadoctlTest, RetryOfADiscardedJobWhoseDedupKeyIsLiveIsRefused) {
  NewJob keyed = job("q");
  keyed.dedup_key = "invoice-42";
  const int64_t old_id = finished_job("q", JobFinish::Action::discard, "failed", keyed);
  NewJob again = job("q");
  again.dedup_key = "invoice-42";
  const int64_t live_id = enqueue(again);
  ASSERT_NE(live_id, old_id);

  auto r = ctl({"jobs", "retry", std::to_string(old_id)});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(std::to_string(old_id)), std::string::npos) << r.err;
  // The reason names the dedup key, not "no job" (the job exists; it is discarded).
  EXPECT_NE(r.err.find("invoice-42"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("no job"), std::string::npos) << r.err;
  EXPECT_EQ(state_of(old_id), "finished:discarded");
  EXPECT_EQ(state_of(live_id), "available");
  EXPECT_EQ(total_jobs(), 2);
}

TEST_F(RecadoctlTest, RetryDiscardedSkipsJobsWhoseDedupKeyIsLive) {
  NewJob keyed = job("q");
  keyed.dedup_key = "k";
  const int64_t held = finished_job("q", JobFinish::Action::discard, "e", keyed);
  const int64_t free_job = finished_job("q", JobFinish::Action::discard, "e");
  NewJob live = job("q");
  live.dedup_key = "k";
  enqueue(live);
  json r = ctl_json({"jobs", "retry", "--discarded"});
  EXPECT_EQ(r, json({{"requeued", 1}}));
  EXPECT_EQ(state_of(held), "finished:discarded");
  EXPECT_EQ(state_of(free_job), "available");
}

TEST_F(RecadoctlTest, RetryDiscardedWithTwoDiscardedJobsSharingADedupKeyRequeuesOne) {
  // The key was free between the two: both jobs exist, both discarded. Only one may go live.
  NewJob keyed = job("q");
  keyed.dedup_key = "report-2026";
  const int64_t first = finished_job("q", JobFinish::Action::discard, "e1", keyed);
  const int64_t second = finished_job("q", JobFinish::Action::discard, "e2", keyed);
  const int64_t unkeyed = finished_job("q", JobFinish::Action::discard, "e3");
  auto r = ctl({"--json", "jobs", "retry", "--discarded"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out, nullptr, false), json({{"requeued", 2}})) << r.out;
  EXPECT_EQ(state_of(unkeyed), "available");
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs WHERE dedup_key = 'report-2026'"), 1);
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs_finished WHERE dedup_key = 'report-2026' "
                     "AND state = 'discarded' AND id IN (" + std::to_string(first) + "," +
                     std::to_string(second) + ")"),
            1);
}

TEST_F(RecadoctlTest, RetryNeedsAnIdOrDiscardedButNotBoth) {
  const int64_t id = finished_job("q", JobFinish::Action::discard, "e");
  EXPECT_EQ(ctl({"jobs", "retry"}).code, 2);
  EXPECT_EQ(ctl({"jobs", "retry", std::to_string(id), "--discarded"}).code, 2);
  // --queue alone is a bulk retry now: without a terminal and without --yes it is refused.
  EXPECT_EQ(ctl({"jobs", "retry", "--queue", "q"}).code, 2);
  EXPECT_EQ(ctl({"jobs", "retry", std::to_string(id), "--queue", "q"}).code, 2);  // an id or filters
  EXPECT_EQ(ctl({"jobs", "retry", "--discarded", "--kind", "noop"}).code, 2);     // the shorthand takes --queue only
  EXPECT_EQ(state_of(id), "finished:discarded");
}

// --- jobs cancel --------------------------------------------------------------------------

TEST_F(RecadoctlTest, CancelOfAWaitingJobCancelsIt) {
  const int64_t id = enqueue(job("q"));
  json r = ctl_json({"jobs", "cancel", std::to_string(id)});
  EXPECT_EQ(r["id"], id);
  EXPECT_EQ(r["action"], "cancelled");
  EXPECT_EQ(state_of(id), "finished:cancelled");
  EXPECT_TRUE(job_store::claim(conn, "q", 10, kWorker, 30s).empty());
  EXPECT_EQ(ctl_json({"jobs", "show", std::to_string(id)})["state"], "cancelled");

  // Scheduled and retryable jobs are waiting too.
  NewJob later = job("q");
  later.run_at = system_now() + 1h;
  const int64_t scheduled = enqueue(later);
  const int64_t retryable = finished_job("r", JobFinish::Action::retry, "later");
  EXPECT_EQ(ctl({"jobs", "cancel", std::to_string(scheduled)}).code, 0);
  EXPECT_EQ(ctl({"jobs", "cancel", std::to_string(retryable)}).code, 0);
  EXPECT_EQ(state_of(scheduled), "finished:cancelled");
  EXPECT_EQ(state_of(retryable), "finished:cancelled");
}

TEST_F(RecadoctlTest, CancelOfARunningJobExits1AndChangesNothing) {
  const int64_t id = running_job("q");
  const std::string sid = std::to_string(id);
  auto r = ctl({"jobs", "cancel", sid});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(sid), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("running"), std::string::npos) << r.err;
  EXPECT_EQ(db.scalar("SELECT state || ' ' || attempt || ' ' || lease_owner FROM recado.jobs WHERE id = " + sid),
            std::string("running 1 ") + kWorker);
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs_finished"), 0);
  // The worker can still finish it.
  EXPECT_EQ(job_store::finish(conn, {{id, 1, JobFinish::Action::complete, {}, {}}}, kWorker).completed, 1);
}

TEST_F(RecadoctlTest, CancelOfAFinishedJobExits1AndChangesNothing) {
  const int64_t completed = finished_job("q", JobFinish::Action::complete);
  const int64_t discarded = finished_job("q", JobFinish::Action::discard, "e");
  for (auto [id, state] : {std::pair{completed, "completed"}, std::pair{discarded, "discarded"}}) {
    SCOPED_TRACE(state);
    const std::string sid = std::to_string(id);
    const std::string before = db.scalar("SELECT finished_at::text FROM recado.jobs_finished WHERE id = " + sid);
    auto r = ctl({"jobs", "cancel", sid});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find(sid), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(state), std::string::npos) << r.err;
    EXPECT_EQ(state_of(id), std::string("finished:") + state);
    EXPECT_EQ(db.scalar("SELECT finished_at::text FROM recado.jobs_finished WHERE id = " + sid), before);
  }
  auto missing = ctl({"jobs", "cancel", "31337"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("31337"), std::string::npos) << missing.err;
}

// --- queue pause / resume -----------------------------------------------------------------

TEST_F(RecadoctlTest, PauseAndResumeChangeWhatClaimReturns) {
  const int64_t mail = enqueue(job("mail"));
  const int64_t other = enqueue(job("other"));
  json paused = ctl_json({"queue", "pause", "mail"});
  EXPECT_EQ(paused, json({{"queue", "mail"}, {"paused", true}}));
  EXPECT_TRUE(job_store::claim(conn, "mail", 10, kWorker, 30s).empty());
  auto o = job_store::claim(conn, "other", 10, kWorker, 30s);  // other queues are unaffected
  ASSERT_EQ(o.size(), 1u);
  EXPECT_EQ(o[0].id, other);
  EXPECT_EQ(state_of(mail), "available");

  auto r = ctl({"queue", "resume", "mail"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(row_starting_with(r.out, "mail"), (std::vector<std::string>{"mail", "false"})) << r.out;
  auto m = job_store::claim(conn, "mail", 10, kWorker, 30s);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].id, mail);

  // Pausing twice and resuming twice are no-ops the second time.
  const int64_t next = enqueue(job("mail"));
  ASSERT_EQ(ctl({"queue", "pause", "mail"}).code, 0);
  ASSERT_EQ(ctl({"queue", "pause", "mail"}).code, 0);
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.queues WHERE name = 'mail' AND paused"), 1);
  EXPECT_TRUE(job_store::claim(conn, "mail", 10, kWorker, 30s).empty());
  ASSERT_EQ(ctl({"queue", "resume", "mail"}).code, 0);
  ASSERT_EQ(ctl({"queue", "resume", "mail"}).code, 0);
  auto n = job_store::claim(conn, "mail", 10, kWorker, 30s);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].id, next);
}

// --- enqueue ------------------------------------------------------------------------------

TEST_F(RecadoctlTest, EnqueueCreatesAJobWithTheGivenFields) {
  json r = ctl_json({"enqueue", "scripted", "--queue", "mail", "--payload", R"({"to":"x@y.z","n":[1,2]})",
                     "--run-at", "2030-01-02T03:04:05Z", "--dedup-key", "d-1", "--sequence-key", "s-1",
                     "--priority", "7", "--max-attempts", "4"});
  ASSERT_TRUE(r["id"].is_number_integer()) << r.dump();
  EXPECT_EQ(r["duplicate"], false);
  const std::string sid = std::to_string(r["id"].get<int64_t>());
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs"), 1);
  EXPECT_EQ(db.scalar("SELECT queue || '|' || kind || '|' || state || '|' || priority || '|' || max_attempts || '|' ||"
                      " attempt || '|' || dedup_key || '|' || sequence_key FROM recado.jobs WHERE id = " + sid),
            "mail|scripted|available|7|4|0|d-1|s-1");
  EXPECT_EQ(json::parse(db.scalar("SELECT payload::text FROM recado.jobs WHERE id = " + sid)),
            json::parse(R"({"to":"x@y.z","n":[1,2]})"));
  EXPECT_EQ(db.scalar("SELECT extract(epoch FROM run_at)::bigint FROM recado.jobs WHERE id = " + sid),
            "1893553445");
}

TEST_F(RecadoctlTest, EnqueueDefaultsAndRunIn) {
  auto r = ctl({"enqueue", "noop"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(words_of(lines[0]), (std::vector<std::string>{"ID", "DUPLICATE"}));
  const auto row = words_of(lines[1]);
  ASSERT_EQ(row.size(), 2u);
  EXPECT_EQ(row[1], "false");
  EXPECT_EQ(db.scalar("SELECT queue || '|' || kind || '|' || payload::text || '|' || priority || '|' || max_attempts "
                      "|| '|' || (run_at <= now()) || '|' || (dedup_key IS NULL) FROM recado.jobs WHERE id = " + row[0]),
            "default|noop|{}|0|25|true|true");

  json later = ctl_json({"enqueue", "noop", "--run-in", "5m"});
  const std::string sid = std::to_string(later["id"].get<int64_t>());
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs WHERE id = " + sid +
                     " AND run_at > now() + interval '4 minutes' AND run_at < now() + interval '6 minutes'"),
            1);
  EXPECT_EQ(ctl_json({"queues"})[0]["scheduled"], 1);
}

TEST_F(RecadoctlTest, EnqueueWithALiveDedupKeyReportsTheDuplicate) {
  json first = ctl_json({"enqueue", "noop", "--dedup-key", "once", "--payload", R"({"v":1})"});
  EXPECT_EQ(first["duplicate"], false);
  json second = ctl_json({"enqueue", "noop", "--dedup-key", "once", "--payload", R"({"v":2})"});
  EXPECT_EQ(second["duplicate"], true);
  EXPECT_EQ(second["id"], first["id"]);
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs"), 1);
  EXPECT_EQ(db.scalar("SELECT payload->>'v' FROM recado.jobs"), "1");
  auto human = ctl({"enqueue", "noop", "--dedup-key", "once"});
  ASSERT_EQ(human.code, 0) << human.err;
  EXPECT_EQ(row_starting_with(human.out, std::to_string(first["id"].get<int64_t>())),
            (std::vector<std::string>{std::to_string(first["id"].get<int64_t>()), "true"}))
      << human.out;
}

TEST_F(RecadoctlTest, EnqueueWithInvalidInputExits2AndInsertsNothing) {
  const std::vector<std::vector<std::string>> bad = {
      {"enqueue", "noop", "--payload", "{not json"},
      {"enqueue", "noop", "--payload", "[1,2]"},
      {"enqueue", "no_such_kind"},
      {"enqueue", "noop", "--run-at", "tomorrow"},
      {"enqueue", "noop", "--run-at", "2030-13-45T99:00:00Z"},
      {"enqueue", "noop", "--run-in", "soon"},
      {"enqueue", "noop", "--max-attempts", "1001"},
      {"enqueue", "noop", "--priority", "40000"},
      {"enqueue", "noop", "--queue", "bad queue"},
  };
  for (const auto& args : bad) {
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    SCOPED_TRACE(joined);
    auto r = ctl(args);
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_FALSE(r.err.empty());
  }
  EXPECT_EQ(total_jobs(), 0);
  auto unknown = ctl({"enqueue", "no_such_kind"});
  EXPECT_NE(unknown.err.find("no_such_kind"), std::string::npos) << unknown.err;
  auto payload = ctl({"enqueue", "noop", "--payload", "{not json"});
  EXPECT_NE(payload.err.find("payload"), std::string::npos) << payload.err;
  auto run_at = ctl({"enqueue", "noop", "--run-at", "tomorrow"});
  EXPECT_NE(run_at.err.find("run_at"), std::string::npos) << run_at.err;
  EXPECT_EQ(total_jobs(), 0);
}

// --- workers ------------------------------------------------------------------------------

TEST_F(RecadoctlTest, WorkersShowsARegisteredWorkerAndItsRunningJobs) {
  const std::string worker = "host-a:4242:abcd";
  job_store::heartbeat(conn, worker, "host-a", 4242, {"mail", "default"}, {}, 30s);
  enqueue(job("mail"));
  ASSERT_EQ(job_store::claim(conn, "mail", 1, worker, 30s).size(), 1u);

  json w = ctl_json({"workers"});
  ASSERT_EQ(w.size(), 1u) << w.dump();
  EXPECT_EQ(w[0]["id"], worker);
  EXPECT_EQ(w[0]["host"], "host-a");
  EXPECT_EQ(w[0]["pid"], 4242);
  EXPECT_EQ(w[0]["queues"], json({"mail", "default"}));
  EXPECT_EQ(w[0]["running"], 1);
  ASSERT_TRUE(w[0]["heartbeat_age_s"].is_number());
  EXPECT_GE(w[0]["heartbeat_age_s"].get<double>(), 0.0);
  EXPECT_LT(w[0]["heartbeat_age_s"].get<double>(), 60.0);
  EXPECT_TRUE(w[0]["heartbeat_at"].is_string());
  EXPECT_TRUE(w[0]["started_at"].is_string());

  auto r = ctl({"workers"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(words_of(lines[0]), (std::vector<std::string>{"ID", "QUEUES", "RUNNING", "STARTED_AT", "HEARTBEAT_AT",
                                                          "HEARTBEAT_AGE_S"}));
  auto row = words_of(lines[1]);
  ASSERT_EQ(row.size(), 6u) << lines[1];
  EXPECT_EQ(row[0], worker);
  EXPECT_EQ(row[1], "mail,default");
  EXPECT_EQ(row[2], "1");

  job_store::unregister_worker(conn, worker);
  EXPECT_EQ(ctl_json({"workers"}), json::array());
}

// --- jobs delete --------------------------------------------------------------------------

TEST_F(RecadoctlTest, DeleteRemovesAFinishedOrWaitingJobForGoodAndRefusesARunningOne) {
  const int64_t discarded = finished_job("q", JobFinish::Action::discard, "broken");
  NewJob later = job("q");
  later.run_at = system_now() + 1h;
  const int64_t scheduled = enqueue(later);
  const int64_t running = running_job("r");

  json r = ctl_json({"jobs", "delete", std::to_string(discarded)});
  EXPECT_EQ(r, json({{"id", discarded}, {"action", "deleted"}, {"state", "discarded"}}));
  EXPECT_EQ(state_of(discarded), "none");
  auto human = ctl({"jobs", "delete", std::to_string(scheduled)});
  ASSERT_EQ(human.code, 0) << human.err;
  EXPECT_EQ(row_starting_with(human.out, std::to_string(scheduled)),
            (std::vector<std::string>{std::to_string(scheduled), "deleted", "scheduled"}))
      << human.out;
  EXPECT_EQ(state_of(scheduled), "none");
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs_finished"), 0);  // no record kept, unlike cancel

  const std::string sid = std::to_string(running);
  auto refused = ctl({"jobs", "delete", sid});
  EXPECT_EQ(refused.code, 1);
  EXPECT_NE(refused.err.find("job " + sid + " is running on worker " + kWorker), std::string::npos) << refused.err;
  EXPECT_EQ(state_of(running), "running");
  auto missing = ctl({"--json", "jobs", "delete", "777777"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("no job with id 777777"), std::string::npos) << missing.err;
  EXPECT_EQ(missing.out, "");
}

// --- bulk retry, cancel, delete -----------------------------------------------------------

TEST_F(RecadoctlTest, BulkActionsWithoutATerminalOrYesAreRefusedWithExit2AndTouchNothing) {
  const int64_t d1 = finished_job("a", JobFinish::Action::discard, "x");
  const int64_t d2 = finished_job("a", JobFinish::Action::discard, "y");
  const int64_t waiting = enqueue(job("a"));
  const std::map<std::string, std::string> said = {
      {"retry", "this will retry 2 job(s) (queue=a, state=discarded)"},
      {"cancel", "this will cancel 1 job(s) (queue=a, state=available|scheduled|retryable)"},
      {"delete", "this will delete 2 job(s) (queue=a, state=completed|discarded|cancelled)"}};
  for (const auto& [verb, line] : said) {
    for (bool as_json : {false, true}) {
      SCOPED_TRACE(verb + (as_json ? " --json" : ""));
      std::vector<std::string> args = {"jobs", verb, "--queue", "a"};
      if (as_json) args.push_back("--json");
      auto r = ctl(args);
      EXPECT_EQ(r.code, 2);
      EXPECT_EQ(r.out, "");
      EXPECT_NE(r.err.find(line), std::string::npos) << r.err;
      EXPECT_NE(r.err.find("not a terminal"), std::string::npos) << r.err;
      EXPECT_NE(r.err.find("add --yes"), std::string::npos) << r.err;
    }
  }
  EXPECT_EQ(state_of(d1), "finished:discarded");
  EXPECT_EQ(state_of(d2), "finished:discarded");
  EXPECT_EQ(state_of(waiting), "available");
  EXPECT_EQ(total_jobs(), 3);
}

TEST_F(RecadoctlTest, BulkRetryWithYesRequeuesOnlyTheDiscardedJobsEveryFilterMatches) {
  NewJob clinic = job("a", "noop");
  clinic.payload_json = R"({"tenant":"clinic"})";
  NewJob shop = clinic;
  shop.payload_json = R"({"tenant":"shop"})";
  NewJob sleeper = clinic;
  sleeper.kind = "sleep";
  const int64_t match = finished_job("a", JobFinish::Action::discard, "old", clinic);
  const int64_t too_new = finished_job("a", JobFinish::Action::discard, "new", clinic);
  const int64_t other_tenant = finished_job("a", JobFinish::Action::discard, "old", shop);
  const int64_t other_kind = finished_job("a", JobFinish::Action::discard, "old", sleeper);
  const int64_t completed = finished_job("a", JobFinish::Action::complete, "", clinic);
  const int64_t other_queue = finished_job("b", JobFinish::Action::discard, "old", clinic);
  db.scalar("UPDATE recado.jobs_finished SET finished_at = now() - interval '2 hours' WHERE id <> " +
            std::to_string(too_new));

  test::WakeupListener wakeups(db.url());
  json r = ctl_json({"jobs", "retry", "--queue", "a", "--kind", "noop", "--tenant", "clinic", "--older-than", "1h",
                     "--yes"});
  EXPECT_EQ(r, json({{"action", "retry"},
                     {"filter",
                      {{"queue", "a"}, {"states", {"discarded"}}, {"kind", "noop"}, {"tenant", "clinic"},
                       {"older_than_s", 3600.0}}},
                     {"limit", 10000},
                     {"more", false},
                     {"matched", 1},
                     {"requeued", 1},
                     {"run_now", 0},
                     {"skipped", 0}}));
  EXPECT_TRUE(wakeups.woken("a"));
  EXPECT_EQ(state_of(match), "available");
  EXPECT_EQ(db.scalar("SELECT attempt FROM recado.jobs WHERE id = " + std::to_string(match)), "0");
  for (int64_t id : {too_new, other_tenant, other_kind, other_queue}) EXPECT_EQ(state_of(id), "finished:discarded") << id;
  EXPECT_EQ(state_of(completed), "finished:completed");

  // The human form says what it did and with which filter.
  auto again = ctl({"jobs", "retry", "--queue", "b", "-y"});
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.out.find("retried 1 job(s) (queue=b, state=discarded): 1 back in their queue"), std::string::npos)
      << again.out;
  EXPECT_EQ(state_of(other_queue), "available");
}

TEST_F(RecadoctlTest, BulkRetryMakesWaitingJobsDueAndSkipsDedupKeysALiveJobHolds) {
  const int64_t retryable = finished_job("q", JobFinish::Action::retry, "later");  // due in an hour
  NewJob later = job("q");
  later.run_at = system_now() + 1h;
  const int64_t scheduled = enqueue(later);
  const int64_t running = running_job("q2");
  json r = ctl_json({"jobs", "retry", "--state", "retryable", "--state", "scheduled", "--yes"});
  EXPECT_EQ(r["filter"]["states"], json({"retryable", "scheduled"}));
  EXPECT_EQ(r["matched"], 2);
  EXPECT_EQ(r["run_now"], 2);
  EXPECT_EQ(r["requeued"], 0);
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs WHERE run_at <= now() AND id IN (" + std::to_string(retryable) +
                     "," + std::to_string(scheduled) + ")"),
            2);
  EXPECT_EQ(state_of(running), "running");

  NewJob keyed = job("k");
  keyed.dedup_key = "invoice-7";
  const int64_t held = finished_job("k", JobFinish::Action::discard, "e", keyed);
  const int64_t holder = enqueue(keyed);
  json skipped = ctl_json({"jobs", "retry", "--queue", "k", "--yes"});
  EXPECT_EQ(skipped["matched"], 1);
  EXPECT_EQ(skipped["requeued"], 0);
  EXPECT_EQ(skipped["skipped"], 1);
  EXPECT_EQ(state_of(held), "finished:discarded");
  EXPECT_EQ(state_of(holder), "available");
}

TEST_F(RecadoctlTest, BulkCancelTakesEveryWaitingJobButNeverARunningOne) {
  const int64_t running = running_job("q");
  const int64_t a1 = enqueue(job("q"));
  const int64_t a2 = enqueue(job("q"));
  NewJob later = job("q");
  later.run_at = system_now() + 1h;
  const int64_t scheduled = enqueue(later);
  const int64_t elsewhere = enqueue(job("other"));
  auto r = ctl({"jobs", "cancel", "--queue", "q", "--yes"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "cancelled 3 job(s) (queue=q, state=available|scheduled|retryable)\n");
  for (int64_t id : {a1, a2, scheduled}) EXPECT_EQ(state_of(id), "finished:cancelled") << id;
  EXPECT_EQ(state_of(running), "running");
  EXPECT_EQ(state_of(elsewhere), "available");
  EXPECT_EQ(job_store::finish(conn, {{running, 1, JobFinish::Action::complete, {}, {}}}, kWorker).completed, 1);

  // Only the scheduled state of "other"'s jobs: none.
  json none = ctl_json({"jobs", "cancel", "--queue", "other", "--state", "scheduled"});
  EXPECT_EQ(none["matched"], 0);
  EXPECT_EQ(none["cancelled"], 0);
  EXPECT_EQ(state_of(elsewhere), "available");
}

TEST_F(RecadoctlTest, BulkDeleteTakesFinishedJobsUnlessStatesAreNamed) {
  const int64_t completed = finished_job("q", JobFinish::Action::complete);
  const int64_t discarded = finished_job("q", JobFinish::Action::discard, "e");
  const int64_t cancelled = enqueue(job("q"));
  queue_admin::cancel_job(conn, cancelled);
  const int64_t waiting = enqueue(job("q"));
  const int64_t running = running_job("r");
  db.scalar("UPDATE recado.jobs SET queue = 'q' WHERE id = " + std::to_string(running));

  json r = ctl_json({"jobs", "delete", "--queue", "q", "--yes"});
  EXPECT_EQ(r["filter"]["states"], json({"completed", "discarded", "cancelled"}));
  EXPECT_EQ(r["matched"], 3);
  EXPECT_EQ(r["deleted"], 3);
  for (int64_t id : {completed, discarded, cancelled}) EXPECT_EQ(state_of(id), "none") << id;
  EXPECT_EQ(state_of(waiting), "available");

  auto named = ctl({"jobs", "delete", "--queue", "q", "--state", "available", "--yes"});
  ASSERT_EQ(named.code, 0) << named.err;
  EXPECT_EQ(named.out, "deleted 1 job(s) (queue=q, state=available)\n");
  EXPECT_EQ(state_of(waiting), "none");
  EXPECT_EQ(state_of(running), "running");  // not a state delete takes
}

TEST_F(RecadoctlTest, BulkActionWithNothingMatchingSaysSoAndExits0WithoutAsking) {
  finished_job("q", JobFinish::Action::discard, "e");
  auto r = ctl({"jobs", "delete", "--queue", "nope"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "no job matches (queue=nope, state=completed|discarded|cancelled): nothing to delete\n");
  EXPECT_EQ(total_jobs(), 1);
}

TEST_F(RecadoctlTest, BulkActionTouchesAtMost10000JobsPerRunAndSaysMoreRemain) {
  db.scalar(
      "INSERT INTO recado.jobs_finished (id, queue, kind, payload, priority, run_at, state, attempt, max_attempts, "
      "errors, created_at) SELECT g, 'big', 'noop', '{}', 0, now(), 'completed', 1, 25, '[]', now() "
      "FROM generate_series(1000001, 1010003) g");
  auto refused = ctl({"jobs", "delete", "--queue", "big"});
  EXPECT_EQ(refused.code, 2);
  EXPECT_NE(refused.err.find("this will delete 10000 job(s) (queue=big, state=completed|discarded|cancelled): 10003 "
                             "match, and one run takes at most 10000 (the oldest)"),
            std::string::npos)
      << refused.err;
  json first = ctl_json({"jobs", "delete", "--queue", "big", "--yes"});
  EXPECT_EQ(first["deleted"], 10000);
  EXPECT_EQ(first["more"], true);
  EXPECT_EQ(db.scalar("SELECT string_agg(id::text, ',' ORDER BY id) FROM recado.jobs_finished"), "1010001,1010002,1010003");
  auto second = ctl({"jobs", "delete", "--queue", "big", "--yes"});
  ASSERT_EQ(second.code, 0) << second.err;
  EXPECT_EQ(second.out, "deleted 3 job(s) (queue=big, state=completed|discarded|cancelled)\n");
  EXPECT_EQ(total_jobs(), 0);
}

TEST_F(RecadoctlTest, JobsListTakesTheBulkFilters) {
  NewJob clinic = job("a", "noop");
  clinic.payload_json = R"({"tenant":"clinic"})";
  const int64_t old_one = enqueue(clinic);
  const int64_t new_one = enqueue(clinic);
  NewJob other = job("a", "sleep");
  other.payload_json = R"({"tenant":"shop"})";
  enqueue(other);
  db.scalar("UPDATE recado.jobs SET created_at = now() - interval '3 hours' WHERE id = " + std::to_string(old_one));
  EXPECT_EQ(ids_of(ctl_json({"jobs", "list", "--tenant", "clinic"})), (std::vector<int64_t>{new_one, old_one}));
  EXPECT_EQ(ids_of(ctl_json({"jobs", "list", "--kind", "noop", "--older-than", "2h"})), (std::vector<int64_t>{old_one}));
  EXPECT_EQ(ctl_json({"jobs", "list", "--kind", "nope"}), json::array());
}

// --- dead ---------------------------------------------------------------------------------

TEST_F(RecadoctlTest, DeadGroupsDiscardedJobsByQueueKindAndTruncatedError) {
  std::vector<int64_t> smtp;
  for (int i = 0; i < 3; ++i) smtp.push_back(finished_job("mail", JobFinish::Action::discard, "smtp 550 no such user"));
  finished_job("mail", JobFinish::Action::discard, "timeout");
  finished_job("other", JobFinish::Action::discard, "smtp 550 no such user", job("other", "sleep"));
  const std::string long_error(120, 'e');
  finished_job("mail", JobFinish::Action::discard, long_error + "A");
  const int64_t long_newest = finished_job("mail", JobFinish::Action::discard, long_error + "B");
  finished_job("mail", JobFinish::Action::complete);
  const int64_t old = finished_job("mail", JobFinish::Action::discard, "gone long ago");
  db.scalar("UPDATE recado.jobs_finished SET finished_at = now() - interval '2 hours' WHERE id = " + std::to_string(old));

  json d = ctl_json({"dead"});
  EXPECT_EQ(d["total"], 8);
  EXPECT_TRUE(d["since_s"].is_null());
  ASSERT_EQ(d["groups"].size(), 5u) << d.dump(2);
  const json& top = d["groups"][0];
  EXPECT_EQ(top["queue"], "mail");
  EXPECT_EQ(top["kind"], "noop");
  EXPECT_EQ(top["error"], "smtp 550 no such user");
  EXPECT_EQ(top["count"], 3);
  EXPECT_EQ(top["newest_id"], smtp.back());
  EXPECT_TRUE(top["newest_at"].is_string());
  EXPECT_TRUE(top["oldest_at"].is_string());
  const json& truncated = d["groups"][1];  // two errors alike in their first 80 characters
  EXPECT_EQ(truncated["count"], 2);
  EXPECT_EQ(truncated["error"], std::string(77, 'e') + "...");
  EXPECT_EQ(truncated["newest_id"], long_newest);
  for (const auto& g : d["groups"]) {
    std::set<std::string> keys;
    for (auto it = g.begin(); it != g.end(); ++it) keys.insert(it.key());
    EXPECT_EQ(keys, (std::set<std::string>{"queue", "kind", "error", "count", "newest_at", "oldest_at", "newest_id"}));
  }

  json recent = ctl_json({"dead", "--since", "1h"});
  EXPECT_EQ(recent["total"], 7);
  EXPECT_EQ(recent["since_s"], 3600.0);
  json other = ctl_json({"dead", "--queue", "other"});
  ASSERT_EQ(other["groups"].size(), 1u);
  EXPECT_EQ(other["groups"][0]["kind"], "sleep");
  EXPECT_EQ(ctl_json({"dead", "--limit", "1"})["groups"].size(), 1u);

  auto human = ctl({"dead", "--since", "1h"});
  ASSERT_EQ(human.code, 0) << human.err;
  auto lines = lines_of(human.out);
  ASSERT_GE(lines.size(), 3u) << human.out;
  EXPECT_EQ(words_of(lines[0]),
            (std::vector<std::string>{"COUNT", "QUEUE", "KIND", "NEWEST_AT", "OLDEST_AT", "NEWEST_ID", "ERROR"}));
  auto first = words_of(lines[1]);
  ASSERT_GE(first.size(), 7u) << lines[1];
  EXPECT_EQ(std::vector<std::string>(first.begin(), first.begin() + 3), (std::vector<std::string>{"3", "mail", "noop"}));
  EXPECT_NE(lines[1].find("smtp 550 no such user"), std::string::npos) << lines[1];
  EXPECT_EQ(lines.back(), "7 discarded job(s) in the last 1h");
}

// --- status -------------------------------------------------------------------------------

std::set<std::string> keys_of(const json& object) {
  std::set<std::string> keys;
  for (auto it = object.begin(); it != object.end(); ++it) keys.insert(it.key());
  return keys;
}

TEST_F(RecadoctlTest, StatusJsonHasQueuesThroughputTimingsWorkersBreakersPausesAndStuckJobs) {
  const int64_t oldest = every_state_in_mail();  // its running job started now: not stuck
  // Finished in the window, with known timings: waited 2 s and 6 s, ran 1 s and 4 s.
  const int64_t done = finished_job("timed", JobFinish::Action::complete);
  const int64_t failed = finished_job("timed", JobFinish::Action::discard, "e");
  db.scalar("UPDATE recado.jobs_finished SET finished_at = now() - interval '10 seconds', "
            "attempted_at = now() - interval '14 seconds', run_at = now() - interval '20 seconds' WHERE id = " +
            std::to_string(done));
  db.scalar("UPDATE recado.jobs_finished SET finished_at = now() - interval '10 seconds', "
            "attempted_at = now() - interval '11 seconds', run_at = now() - interval '13 seconds' WHERE id = " +
            std::to_string(failed));
  const int64_t long_ago = finished_job("timed", JobFinish::Action::complete);
  db.scalar("UPDATE recado.jobs_finished SET finished_at = now() - interval '1 hour' WHERE id = " +
            std::to_string(long_ago));
  // A job running for 2 minutes (lease renewed) and one whose lease expired.
  const int64_t slow = running_job("slow");
  db.scalar("UPDATE recado.jobs SET attempted_at = now() - interval '2 minutes' WHERE id = " + std::to_string(slow));
  const int64_t orphan = running_job("orphan");
  db.scalar("UPDATE recado.jobs SET attempted_at = now() - interval '40 seconds', lease_until = now() - interval '5 "
            "seconds' WHERE id = " + std::to_string(orphan));
  job_store::heartbeat(conn, "live-worker", "host-a", 11, {"mail"}, {}, 30s);
  job_store::heartbeat(conn, "gone-worker", "host-b", 22, {"mail"}, {}, 30s);
  db.scalar("UPDATE recado.workers SET heartbeat_at = now() - interval '5 minutes' WHERE id = 'gone-worker'");
  breaker_store::force_open(conn, "openai:clinic", system_now());
  BreakerReport fine;
  fine.add(false, "");
  breaker_store::report(conn, "evolution:clinic", fine, BreakerConfig{}, system_now());
  conversation_store::pause(conn, "clinic", "wrong prompt");
  queue_admin::set_paused(conn, "other", true);

  json st = ctl_json({"status"});
  EXPECT_EQ(keys_of(st), (std::set<std::string>{"generated_at", "window_s", "queues", "paused_queues", "workers",
                                                "workers_live", "breakers", "pauses", "stuck"}));
  EXPECT_EQ(st["window_s"], 300.0);
  ASSERT_EQ(st["queues"].size(), 5u) << st.dump(2);  // mail, orphan, other, slow, timed
  const std::set<std::string> queue_keys = {
      "queue", "paused", "available", "scheduled", "running", "retryable", "oldest_available_age_s",
      "completed_window", "discarded_window", "cancelled_window", "throughput_per_min", "wait_mean_s",
      "wait_p95_s", "run_mean_s", "run_p95_s"};
  for (const auto& q : st["queues"]) EXPECT_EQ(keys_of(q), queue_keys) << q.dump();
  const json& mail = st["queues"][0];
  EXPECT_EQ(mail["queue"], "mail");
  EXPECT_EQ(mail["available"], 2);
  EXPECT_EQ(mail["scheduled"], 1);
  EXPECT_EQ(mail["running"], 1);
  EXPECT_EQ(mail["retryable"], 1);
  EXPECT_EQ(mail["completed_window"], 1);
  EXPECT_EQ(mail["discarded_window"], 1);
  EXPECT_EQ(mail["cancelled_window"], 1);
  EXPECT_GE(mail["oldest_available_age_s"].get<double>(), 90.0);
  const json& timed = st["queues"][4];
  EXPECT_EQ(timed["queue"], "timed");
  EXPECT_EQ(timed["completed_window"], 1);  // the one finished an hour ago is outside the window
  EXPECT_EQ(timed["discarded_window"], 1);
  EXPECT_DOUBLE_EQ(timed["throughput_per_min"].get<double>(), 0.4);  // 2 jobs in 5 minutes
  EXPECT_NEAR(timed["wait_mean_s"].get<double>(), 4.0, 0.01);
  EXPECT_NEAR(timed["wait_p95_s"].get<double>(), 5.8, 0.01);  // 2 + 0.95 * (6 - 2)
  EXPECT_NEAR(timed["run_mean_s"].get<double>(), 2.5, 0.01);
  EXPECT_NEAR(timed["run_p95_s"].get<double>(), 3.85, 0.01);
  EXPECT_TRUE(st["queues"][3]["wait_p95_s"].is_null());  // "slow": nothing finished
  EXPECT_EQ(st["queues"][2]["paused"], true);
  EXPECT_EQ(st["paused_queues"], json({"other"}));

  EXPECT_EQ(st["workers_live"], 1);
  ASSERT_EQ(st["workers"].size(), 2u);
  for (const auto& w : st["workers"]) EXPECT_EQ(w["live"], w["id"] == "live-worker") << w.dump();
  ASSERT_EQ(st["breakers"].size(), 1u);  // the closed one is left out
  EXPECT_EQ(st["breakers"][0]["name"], "openai:clinic");
  EXPECT_EQ(st["breakers"][0]["forced"], true);
  ASSERT_EQ(st["pauses"].size(), 1u);
  EXPECT_EQ(st["pauses"][0]["scope"], "clinic");
  EXPECT_EQ(st["pauses"][0]["reason"], "wrong prompt");

  const json& stuck = st["stuck"];
  EXPECT_EQ(stuck["running_count"], 2);
  ASSERT_TRUE(stuck["running"].is_object()) << stuck.dump();
  EXPECT_EQ(keys_of(stuck["running"]),
            (std::set<std::string>{"id", "queue", "kind", "worker", "running_s", "lease_expired", "lease_until"}));
  EXPECT_EQ(stuck["running"]["id"], slow);
  EXPECT_EQ(stuck["running"]["worker"], kWorker);
  EXPECT_EQ(stuck["running"]["lease_expired"], false);
  EXPECT_GE(stuck["running"]["running_s"].get<double>(), 120.0);
  ASSERT_TRUE(stuck["waiting"].is_object()) << stuck.dump();
  EXPECT_EQ(stuck["waiting"]["id"], oldest);
  EXPECT_EQ(stuck["waiting"]["queue"], "mail");
  EXPECT_EQ(stuck["waiting"]["queue_paused"], false);
  EXPECT_GE(stuck["waiting"]["waiting_s"].get<double>(), 90.0);

  // A shorter window, and the orphan alone once the slow job is done.
  ASSERT_EQ(job_store::finish(conn, {{slow, 1, JobFinish::Action::complete, {}, {}}}, kWorker).total(), 1);
  json narrow = ctl_json({"status", "--window", "5s"});
  EXPECT_EQ(narrow["window_s"], 5.0);
  // A queue is listed while it has live jobs, jobs finished in the window or a pause row:
  // "timed" finished its last job 10 s ago.
  ASSERT_EQ(narrow["queues"].size(), 4u) << narrow.dump(2);
  EXPECT_EQ(narrow["queues"][3]["queue"], "slow");
  EXPECT_EQ(narrow["queues"][3]["completed_window"], 1);
  EXPECT_EQ(narrow["stuck"]["running"]["id"], orphan);
  EXPECT_EQ(narrow["stuck"]["running"]["lease_expired"], true);
  EXPECT_EQ(narrow["stuck"]["running_count"], 1);
}

TEST_F(RecadoctlTest, StatusTableShowsEverySectionOnOneScreen) {
  every_state_in_mail();
  const int64_t slow = running_job("slow");
  db.scalar("UPDATE recado.jobs SET attempted_at = now() - interval '3 minutes' WHERE id = " + std::to_string(slow));
  job_store::heartbeat(conn, "w1", "host-a", 11, {"mail"}, {}, 30s);
  breaker_store::force_open(conn, "openai:clinic", system_now());
  conversation_store::pause(conn, "*", "");
  queue_admin::set_paused(conn, "other", true);

  auto r = ctl({"status"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_LE(lines_of(r.out).size(), 24u) << r.out;
  EXPECT_EQ(words_of(lines_of(r.out).at(2)),
            (std::vector<std::string>{"QUEUE", "PAUSED", "AVAILABLE", "SCHEDULED", "RUNNING", "RETRYABLE", "OLDEST_WAIT",
                                      "DONE_5M", "DISCARDED_5M", "PER_MIN", "WAIT_P95", "RUN_P95"}))
      << r.out;
  auto mail = row_starting_with(r.out, "mail");
  ASSERT_EQ(mail.size(), 12u) << r.out;
  EXPECT_EQ(std::vector<std::string>(mail.begin(), mail.begin() + 6),
            (std::vector<std::string>{"mail", "-", "2", "1", "1", "1"}));
  EXPECT_EQ(row_starting_with(r.out, "other").at(1), "paused");
  EXPECT_EQ(row_starting_with(r.out, "workers"), (std::vector<std::string>{"workers", "1", "live"})) << r.out;
  EXPECT_EQ(row_starting_with(r.out, "w1").at(4), "live") << r.out;
  EXPECT_EQ(row_starting_with(r.out, "breakers"), (std::vector<std::string>{"breakers", "1", "not", "closed"})) << r.out;
  EXPECT_FALSE(row_starting_with(r.out, "openai:clinic").empty()) << r.out;
  EXPECT_NE(r.out.find("paused    every tenant, queue other\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("stuck     job " + std::to_string(slow) + " (noop in slow) running for 3m"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("waiting   oldest due: job "), std::string::npos) << r.out;
}

TEST_F(RecadoctlTest, StatusOfAnEmptyDatabaseSaysThereIsNothing) {
  auto r = ctl({"status"});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* line : {"queues    none yet: no job was ever enqueued", "workers   0 live", "breakers  all closed",
                           "paused    nothing", "stuck     no job running longer than its lease",
                           "waiting   no job is due"})
    EXPECT_NE(r.out.find(std::string(line) + "\n"), std::string::npos) << line << "\n" << r.out;
  json st = ctl_json({"status"});
  EXPECT_EQ(st["queues"], json::array());
  EXPECT_EQ(st["workers"], json::array());
  EXPECT_EQ(st["workers_live"], 0);
  EXPECT_EQ(st["breakers"], json::array());
  EXPECT_EQ(st["pauses"], json::array());
  EXPECT_TRUE(st["stuck"]["running"].is_null());
  EXPECT_TRUE(st["stuck"]["waiting"].is_null());
  EXPECT_EQ(st["stuck"]["running_count"], 0);
}

TEST_F(RecadoctlTest, WatchNeedsATerminalUnlessOnce) {
  enqueue(job("mail"));
  auto refused = ctl({"watch"});
  EXPECT_EQ(refused.code, 2);
  EXPECT_EQ(refused.out, "");
  EXPECT_NE(refused.err.find("stdout is not one"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--once"), std::string::npos) << refused.err;

  auto once = ctl({"watch", "--once"});
  ASSERT_EQ(once.code, 0) << once.err;
  EXPECT_EQ(once.out.find('\x1b'), std::string::npos) << "no terminal codes in a plain print";
  EXPECT_EQ(row_starting_with(once.out, "mail").at(2), "1") << once.out;
  json st = ctl_json({"watch", "--once"});
  EXPECT_EQ(st["queues"][0]["queue"], "mail");
}

// --- conversations show -------------------------------------------------------------------

TEST_F(RecadoctlTest, ConversationsShowHidesTheTextUnlessAskedAndListsTheNewestMessages) {
  const auto ana = conversation_store::hand_off(conn, "clinic", "5511911111111@s.whatsapp.net", "chatwoot:opened");
  conversation_store::hand_off(conn, "clinic", "5511922222222", "x");  // someone else's messages stay out
  db.scalar(
      "INSERT INTO recado.messages (tenant, contact, conversation, direction, provider, origin, body, status, "
      "occurred_at) SELECT 'clinic', '5511911111111', '5511911111111@s.whatsapp.net', "
      "CASE WHEN g % 2 = 1 THEN 'in' ELSE 'out' END, 'evolution', CASE WHEN g % 2 = 1 THEN '' ELSE 'llm_reply' END, "
      "'secret text number ' || g, CASE WHEN g % 2 = 1 THEN 'received' ELSE 'delivered' END, "
      "now() - (30 - g) * interval '1 minute' FROM generate_series(1, 25) g");
  db.scalar("INSERT INTO recado.messages (tenant, contact, conversation, direction, provider, body, status) "
            "VALUES ('clinic', '5511922222222', '5511922222222', 'in', 'evolution', 'not hers', 'received')");
  const std::string id = std::to_string(ana.id);

  json shown = ctl_json({"conversations", "show", id});
  EXPECT_EQ(keys_of(shown), (std::set<std::string>{"conversation", "messages", "messages_total", "text_shown"}));
  EXPECT_EQ(shown["conversation"]["id"], ana.id);
  EXPECT_EQ(shown["conversation"]["contact"], "5511911111111");
  EXPECT_EQ(shown["conversation"]["handed_off"], true);
  EXPECT_EQ(shown["conversation"]["handed_off_by"], "chatwoot:opened");
  EXPECT_EQ(shown["messages_total"], 25);
  EXPECT_EQ(shown["text_shown"], false);
  ASSERT_EQ(shown["messages"].size(), 20u);
  EXPECT_EQ(shown["messages"][0]["body"], nullptr);
  EXPECT_EQ(shown["messages"][0]["body_chars"], std::string("secret text number 6").size());
  EXPECT_EQ(shown["messages"][0]["direction"], "out");  // the 6th: the newest 20, oldest first
  EXPECT_EQ(shown["messages"][0]["origin"], "llm_reply");
  EXPECT_EQ(shown["messages"][19]["direction"], "in");
  EXPECT_EQ(shown["messages"][19]["origin"], nullptr);
  EXPECT_EQ(shown["messages"][19]["status"], "received");
  EXPECT_EQ(keys_of(shown["messages"][0]),
            (std::set<std::string>{"id", "at", "direction", "origin", "kind", "status", "error", "provider", "job_id",
                                   "sent_at", "status_at", "body", "body_chars"}));
  EXPECT_EQ(ctl({"--json", "conversations", "show", id}).out.find("secret"), std::string::npos);

  auto human = ctl({"conversations", "show", id});
  ASSERT_EQ(human.code, 0) << human.err;
  EXPECT_EQ(human.out.find("secret"), std::string::npos) << human.out;
  EXPECT_EQ(row_starting_with(human.out, "contact").at(1), "5511911111111");
  EXPECT_NE(human.out.find("20 newest of 25, oldest first; text hidden (--show-text shows it)"), std::string::npos)
      << human.out;
  EXPECT_NE(human.out.find("[hidden, 21 chars]"), std::string::npos) << human.out;

  json shown_text = ctl_json({"conversations", "show", id, "--show-text", "--messages", "2"});
  EXPECT_EQ(shown_text["text_shown"], true);
  ASSERT_EQ(shown_text["messages"].size(), 2u);
  EXPECT_EQ(shown_text["messages"][0]["body"], "secret text number 24");
  EXPECT_EQ(shown_text["messages"][1]["body"], "secret text number 25");
  auto human_text = ctl({"conversations", "show", id, "--show-text", "--messages", "1"});
  ASSERT_EQ(human_text.code, 0) << human_text.err;
  EXPECT_NE(human_text.out.find("secret text number 25"), std::string::npos) << human_text.out;

  auto missing = ctl({"conversations", "show", "999999"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("no conversation with id 999999"), std::string::npos) << missing.err;
}

// --- migrate ------------------------------------------------------------------------------

TEST_F(RecadoctlTest, MigrateCheckExits1ListingWhatIsPendingAndMigrateAppliesIt) {
  auto up = ctl({"migrate", "--check"});
  EXPECT_EQ(up.code, 0) << up.err;
  EXPECT_EQ(up.out, "schema is up to date (version " + std::to_string(latest_migration_version()) + ")\n");

  db.scalar("DROP SCHEMA recado CASCADE");
  auto pending = ctl({"migrate", "--check"});
  EXPECT_EQ(pending.code, 1);
  EXPECT_NE(pending.out.find(std::to_string(migrations().size()) + " migration(s) pending"), std::string::npos)
      << pending.out;
  EXPECT_NE(pending.out.find(migrations().back().name), std::string::npos) << pending.out;
  auto pending_json = ctl({"--json", "migrate", "--check"});
  EXPECT_EQ(pending_json.code, 1);
  json p = json::parse(pending_json.out, nullptr, false);
  EXPECT_EQ(p["version"], 0);
  EXPECT_EQ(p["latest"], latest_migration_version());
  EXPECT_EQ(p["up_to_date"], false);
  ASSERT_EQ(p["pending"].size(), migrations().size());
  EXPECT_EQ(p["pending"][0], json({{"version", 1}, {"name", migrations()[0].name}}));

  json applied = ctl_json({"migrate"});
  EXPECT_EQ(applied["applied"], migrations().size());
  EXPECT_EQ(applied["version"], latest_migration_version());
  ASSERT_EQ(applied["migrations"].size(), migrations().size());
  EXPECT_TRUE(applied["migrations"][0]["applied_at"].is_string());
  EXPECT_EQ(ctl_json({"migrate", "--check"})["pending"], json::array());
  auto again = ctl({"migrate"});
  EXPECT_EQ(again.code, 0);
  EXPECT_EQ(again.out, "schema is up to date, now at version " + std::to_string(latest_migration_version()) + "\n");
}

// --- completion, help --------------------------------------------------------------------

// What bash's completion offers for `recadoctl <words>` (the last word is the one completed).
std::string completions(const std::string& script_path, const std::string& words) {
  auto r = test::run_command({"/bin/bash", "-c",
                              "source " + script_path + " && COMP_WORDS=(recadoctl " + words +
                                  ") && COMP_CWORD=$((${#COMP_WORDS[@]} - 1)) && _recadoctl && "
                                  "echo \"${COMPREPLY[*]}\""});
  EXPECT_EQ(r.code, 0) << r.err;
  return r.out.empty() ? r.out : r.out.substr(0, r.out.size() - 1);
}

TEST_F(RecadoctlTest, BashCompletionIsGeneratedFromTheCommandLineAndNeedsNoDatabase) {
  auto r = run_raw({"--database-url", "postgresql:///nope?host=/nonexistent", "completion", "bash"});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string path = ::testing::TempDir() + "recadoctl-completion-" + std::to_string(getpid()) + ".bash";
  {
    std::ofstream f(path);
    f << r.out;
  }
  // Every command --help lists is offered first.
  auto help = run_raw({"--help"});
  std::set<std::string> listed;
  bool in_subcommands = false;
  for (const auto& line : lines_of(help.out)) {
    if (line.rfind("Subcommands:", 0) == 0) {
      in_subcommands = true;
    } else if (in_subcommands && line.rfind("  ", 0) == 0) {
      listed.insert(words_of(line).at(0));
    } else if (in_subcommands) {
      break;
    }
  }
  auto top = words_of(completions(path, "''"));
  EXPECT_EQ(std::set<std::string>(top.begin(), top.end()), listed);
  for (const char* c : {"status", "watch", "dead", "migrate", "completion", "jobs"})
    EXPECT_TRUE(listed.count(c)) << c << " missing from --help:\n" << help.out;

  EXPECT_EQ(completions(path, "jobs ''"), "list show retry cancel delete");
  EXPECT_EQ(completions(path, "--json jobs l"), "list");
  EXPECT_EQ(completions(path, "-c /tmp/x.yaml jobs ''"), "list show retry cancel delete");  // -c's value skipped
  EXPECT_EQ(completions(path, "jobs list --state ''"), "available scheduled running retryable completed discarded cancelled");
  EXPECT_EQ(completions(path, "jobs retry --state ''"), "available scheduled retryable completed discarded cancelled");
  EXPECT_EQ(completions(path, "jobs cancel --state ''"), "available scheduled retryable");
  EXPECT_EQ(completions(path, "jobs delete --older-than 1h --st"), "--state");
  EXPECT_EQ(completions(path, "conversations show 12 --sh"), "--show-text");
  EXPECT_EQ(completions(path, "completion ''"), "bash zsh");
  EXPECT_EQ(completions(path, "status --w"), "--window");
  std::remove(path.c_str());
}

TEST_F(RecadoctlTest, ZshCompletionDescribesTheSameCommands) {
  auto r = run_raw({"completion", "zsh"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("#compdef recadoctl\n", 0), 0u);
  EXPECT_NE(r.out.find("compdef _recadoctl recadoctl"), std::string::npos);
  EXPECT_NE(r.out.find("'delete:delete a job for good (not a running one), or many by filter'"), std::string::npos);
  EXPECT_NE(r.out.find("\"jobs list|--state\") echo \"available scheduled running retryable completed discarded cancelled\""),
            std::string::npos);
  if (access("/usr/bin/zsh", X_OK) == 0) {  // a syntax check where zsh is installed
    const std::string path = ::testing::TempDir() + "recadoctl-completion-" + std::to_string(getpid()) + ".zsh";
    {
      std::ofstream f(path);
      f << r.out;
    }
    auto check = test::run_command({"/usr/bin/zsh", "-n", path});
    EXPECT_EQ(check.code, 0) << check.err;
    std::remove(path.c_str());
  }
}

TEST_F(RecadoctlTest, HelpTeachesWithExamplesExitCodesAndTheJsonShapes) {
  auto top = run_raw({"--help"});
  ASSERT_EQ(top.code, 0) << top.err;
  for (const char* s : {"Examples:", "Exit codes: 0 done", "3 database unreachable", "recadoctl completion bash",
                        "docs/recadoctl.md"})
    EXPECT_NE(top.out.find(s), std::string::npos) << s << "\n" << top.out;
  for (const std::vector<std::string>& cmd :
       {std::vector<std::string>{"status"}, {"watch"}, {"dead"}, {"jobs", "retry"}, {"jobs", "delete"},
        {"jobs", "cancel"}, {"conversations", "show"}, {"migrate"}, {"queues"}, {"workers"}, {"breakers"}}) {
    std::vector<std::string> args = cmd;
    args.push_back("--help");
    auto r = run_raw(args);
    EXPECT_EQ(r.code, 0) << cmd[0];
    EXPECT_NE(r.out.find("--json"), std::string::npos) << cmd[0] << ": no JSON shape\n" << r.out;
  }
  auto retry = run_raw({"jobs", "retry", "--help"});
  EXPECT_NE(retry.out.find("--yes"), std::string::npos) << retry.out;
  EXPECT_NE(retry.out.find("10000"), std::string::npos) << retry.out;
  auto version = run_raw({"--version"});
  EXPECT_EQ(version.code, 0);
  EXPECT_FALSE(version.out.empty());
}

TEST_F(RecadoctlTest, GlobalOptionsMayFollowTheCommand) {
  enqueue(job("mail"));
  auto r = run_raw({"queues", "--json", "--database-url", db.url()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out, nullptr, false)[0]["queue"], "mail") << r.out;
}

// --- where the database is ----------------------------------------------------------------

TEST_F(RecadoctlTest, UnreachableDatabaseExits3WithAMessage) {
  for (const std::vector<std::string>& cmd :
       {std::vector<std::string>{"queues"}, std::vector<std::string>{"jobs", "show", "1"},
        std::vector<std::string>{"enqueue", "noop"}, std::vector<std::string>{"status"},
        std::vector<std::string>{"watch", "--once"}, std::vector<std::string>{"dead"},
        std::vector<std::string>{"migrate", "--check"}, std::vector<std::string>{"jobs", "delete", "--queue", "q"},
        std::vector<std::string>{"conversations", "show", "1"}}) {
    std::vector<std::string> args = {"--database-url", "postgresql:///nope?host=/nonexistent"};
    args.insert(args.end(), cmd.begin(), cmd.end());
    auto r = run_raw(args);
    EXPECT_EQ(r.code, 3) << cmd[0];
    EXPECT_NE(r.err.find("recadoctl"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("database"), std::string::npos) << r.err;
  }
}

TEST_F(RecadoctlTest, NoDatabaseConfiguredExits2WithAMessage) {
  auto r = run_raw({"queues"}, {{"RECADO_DEV_DATA_DIR", "/nonexistent/recado-dev"}, {"RECADO_DATABASE_URL", ""}});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("no database"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--database-url"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(RecadoctlTest, DatabaseUrlComesFromTheEnvironmentOrTheConfigFile) {
  enqueue(job("from-config"));
  auto env = run_raw({"--json", "queues"}, {{"RECADO_DATABASE_URL", db.url()}});
  ASSERT_EQ(env.code, 0) << env.err;
  EXPECT_EQ(json::parse(env.out)[0]["queue"], "from-config");

  if (std::getenv("RECADO_DATABASE_URL"))
    GTEST_SKIP() << "RECADO_DATABASE_URL is set here and would override the file's database.url";
  const std::string path = ::testing::TempDir() + "recadoctl-" + std::to_string(getpid()) + ".yaml";
  {
    std::ofstream f(path);
    f << "database:\n  url: \"" << db.url() << "\"\n";
  }
  auto file = run_raw({"-c", path, "--json", "queues"});
  EXPECT_EQ(file.code, 0) << file.err;
  EXPECT_EQ(json::parse(file.out, nullptr, false)[0]["queue"], "from-config") << file.out;
  auto via_env = run_raw({"--json", "queues"}, {{"RECADO_CONFIG", path}});
  EXPECT_EQ(via_env.code, 0) << via_env.err;
  std::remove(path.c_str());

  auto missing = run_raw({"-c", "/nonexistent/recado.yaml", "queues"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("/nonexistent/recado.yaml"), std::string::npos) << missing.err;
}

TEST_F(RecadoctlTest, ABadConfigFileExits2NamingFileAndLine) {
  const std::string path = ::testing::TempDir() + "recadoctl-bad-" + std::to_string(getpid()) + ".yaml";
  {
    std::ofstream f(path);
    f << "database:\n  url: \"" << db.url() << "\"\n  colour: blue\n";
  }
  auto r = run_raw({"-c", path, "queues"});
  std::remove(path.c_str());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(path + ":3"), std::string::npos) << r.err;
}

// --- usage --------------------------------------------------------------------------------

TEST_F(RecadoctlTest, UsageErrorsExit2AndHelpExits0) {
  const std::vector<std::vector<std::string>> bad = {
      {},
      {"frobnicate"},
      {"jobs"},
      {"jobs", "frobnicate"},
      {"jobs", "show"},
      {"jobs", "show", "abc"},
      {"jobs", "cancel"},
      {"queue"},
      {"queue", "pause"},
      {"queue", "resume"},
      {"enqueue"},
      {"--no-such-flag", "queues"},
      {"jobs", "delete"},
      {"jobs", "cancel", "1", "--state", "available"},
      {"jobs", "delete", "--older-than", "soon"},
      {"jobs", "list", "--older-than", "-5m"},
      {"jobs", "cancel", "--state", "completed"},
      {"jobs", "retry", "--state", "running"},
      {"dead", "--since", "yesterday"},
      {"status", "--window", "0s"},
      {"watch", "--interval", "10ms", "--once"},
      {"conversations", "show"},
      {"completion"},
      {"completion", "fish"},
  };
  for (const auto& args : bad) {
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    SCOPED_TRACE(joined);
    auto r = ctl(args);
    EXPECT_EQ(r.code, 2) << r.out << r.err;
    EXPECT_FALSE(r.err.empty() && r.out.empty());
  }
  EXPECT_EQ(total_jobs(), 0);
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.queues"), 0);

  auto help = run_raw({"--help"});  // asking for help is not an error
  EXPECT_EQ(help.code, 0) << help.err;
  EXPECT_NE(help.out.find("queues"), std::string::npos) << help.out;
}

// --- breakers -----------------------------------------------------------------------------

TEST_F(RecadoctlTest, BreakersListsStatesAndLastErrors) {
  BreakerConfig c;
  c.failures_to_open = 2;
  BreakerReport failing;
  failing.add(true, "openai answered 503");
  failing.add(true, "openai answered 503");
  breaker_store::report(conn, "openai:clinic", failing, c, system_now());
  BreakerReport fine;
  fine.add(false, "");
  breaker_store::report(conn, "evolution:clinic", fine, c, system_now());

  auto r = ctl({"breakers"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(words_of(lines[0])[0], "NAME");
  EXPECT_EQ(words_of(lines[1])[0], "evolution:clinic");
  EXPECT_EQ(words_of(lines[1])[1], "closed");
  EXPECT_EQ(words_of(lines[2])[0], "openai:clinic");
  EXPECT_EQ(words_of(lines[2])[1], "open");

  auto j = ctl({"--json", "breakers"});
  ASSERT_EQ(j.code, 0) << j.err;
  const auto all = nlohmann::json::parse(j.out);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1]["last_error"], "openai answered 503");
  EXPECT_EQ(all[1]["failures_in_a_row"], 2);
  EXPECT_FALSE(all[1]["probe_at"].is_null());
}

TEST_F(RecadoctlTest, BreakersOpenCloseAndResetOneByName) {
  auto opened = ctl({"--json", "breakers", "open", "cloudapi:clinic"});
  ASSERT_EQ(opened.code, 0) << opened.err;
  EXPECT_EQ(nlohmann::json::parse(opened.out)["state"], "open");
  EXPECT_EQ(breaker_store::load(conn, "cloudapi:clinic")->forced, true);

  auto closed = ctl({"--json", "breakers", "close", "cloudapi:clinic"});
  ASSERT_EQ(closed.code, 0) << closed.err;
  EXPECT_EQ(nlohmann::json::parse(closed.out)["state"], "closed");
  EXPECT_EQ(breaker_store::load(conn, "cloudapi:clinic")->forced, false);

  ASSERT_EQ(ctl({"breakers", "reset", "cloudapi:clinic"}).code, 0);
  EXPECT_FALSE(breaker_store::load(conn, "cloudapi:clinic"));

  auto missing = ctl({"breakers", "close", "cloudapi:clinic"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("no breaker named cloudapi:clinic"), std::string::npos) << missing.err;
  EXPECT_EQ(ctl({"breakers", "reset", "nope"}).code, 1);
  EXPECT_EQ(ctl({"breakers", "open"}).code, 2);  // no name
}

// --- conversations and pauses ----------------------------------------------------------------

TEST_F(RecadoctlTest, ConversationsHandOffAndGiveBackByIdAndFilter) {
  const auto ana = conversation_store::hand_off(conn, "clinic", "5511911111111@s.whatsapp.net", "chatwoot:opened");
  const auto bia = conversation_store::hand_off(conn, "shop", "+5511922222222", "chatwoot:assigned");
  ASSERT_TRUE(conversation_store::set_handed_off(conn, bia.id, false, ""));

  auto all = ctl({"--json", "conversations"});
  ASSERT_EQ(all.code, 0) << all.err;
  EXPECT_EQ(nlohmann::json::parse(all.out).size(), 2u);
  auto handed = ctl({"--json", "conversations", "--handed-off"});
  ASSERT_EQ(handed.code, 0) << handed.err;
  const auto h = nlohmann::json::parse(handed.out);
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0]["contact"], "5511911111111");
  EXPECT_EQ(h[0]["handed_off_by"], "chatwoot:opened");
  EXPECT_EQ(nlohmann::json::parse(ctl({"--json", "conversations", "--tenant", "shop"}).out).size(), 1u);

  auto back = ctl({"--json", "conversations", "resume", std::to_string(ana.id)});
  ASSERT_EQ(back.code, 0) << back.err;
  EXPECT_EQ(nlohmann::json::parse(back.out)["handed_off"], false);
  EXPECT_FALSE(conversation_store::is_handed_off(conn, "clinic", "5511911111111"));
  ASSERT_EQ(ctl({"conversations", "handoff", std::to_string(bia.id)}).code, 0);
  EXPECT_TRUE(conversation_store::is_handed_off(conn, "shop", "5511922222222"));
  EXPECT_EQ(conversation_store::list(conn, std::string("shop"), true, 5)[0].handed_off_by, "recadoctl");

  auto missing = ctl({"conversations", "handoff", "999999"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("no conversation with id 999999"), std::string::npos) << missing.err;
  EXPECT_EQ(ctl({"conversations", "handoff", "abc"}).code, 2);
}

TEST_F(RecadoctlTest, PauseStopsATenantOrEverythingAndResumeLiftsIt) {
  EXPECT_FALSE(conversation_store::is_paused(conn, "clinic"));
  auto one = ctl({"--json", "pause", "--tenant", "clinic", "--reason", "wrong prompt"});
  ASSERT_EQ(one.code, 0) << one.err;
  EXPECT_EQ(nlohmann::json::parse(one.out)[0]["reason"], "wrong prompt");
  EXPECT_TRUE(conversation_store::is_paused(conn, "clinic"));
  EXPECT_FALSE(conversation_store::is_paused(conn, "shop"));
  ASSERT_EQ(ctl({"pause"}).code, 0);
  EXPECT_TRUE(conversation_store::is_paused(conn, "shop"));
  ASSERT_EQ(ctl({"resume"}).code, 0);
  EXPECT_FALSE(conversation_store::is_paused(conn, "shop"));
  EXPECT_TRUE(conversation_store::is_paused(conn, "clinic"));  // its own pause stays
  ASSERT_EQ(ctl({"resume", "--tenant", "clinic"}).code, 0);
  EXPECT_FALSE(conversation_store::is_paused(conn, "clinic"));
  auto again = ctl({"resume", "--tenant", "clinic"});
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.err.find("not paused"), std::string::npos) << again.err;
}


// --- sync calcom ------------------------------------------------------------------------------

namespace sync_calcom {

// A configuration with a tenant that has a Cal.com account and one that has none.
std::string write_config() {
  const std::string path = ::testing::TempDir() + "recadoctl-sync-" + std::to_string(getpid()) + ".yaml";
  std::ofstream f(path);
  f << "tenants:\n"
       "  clinic:\n"
       "    calcom:\n"
       "      api_key: cal-key\n"
       "      event_type_ids: [1]\n"
       "  shop:\n"
       "    debounce: 1s\n";
  return path;
}

}  // namespace sync_calcom

TEST_F(RecadoctlTest, SyncCalcomEnqueuesOneFullSyncAndSaysSoWhileOneWaits) {
  const std::string config = sync_calcom::write_config();
  test::WakeupListener wakeups(db.url());
  json first = ctl_json({"-c", config, "sync", "calcom", "--tenant", "clinic"});
  ASSERT_TRUE(first["id"].is_number_integer()) << first.dump();
  EXPECT_EQ(first["tenant"], "clinic");
  EXPECT_EQ(first["duplicate"], false);
  EXPECT_TRUE(wakeups.woken("calcom_sync"));
  const std::string sid = std::to_string(first["id"].get<int64_t>());
  EXPECT_EQ(db.scalar("SELECT queue || '|' || kind || '|' || state || '|' || dedup_key || '|' || sequence_key || '|' ||"
                      " (run_at <= now()) FROM recado.jobs WHERE id = " + sid),
            "calcom_sync|calcom_sync|available|calcom_sync:manual:clinic|calcom_sync:clinic|true");
  EXPECT_EQ(json::parse(db.scalar("SELECT payload::text FROM recado.jobs WHERE id = " + sid)),
            json({{"tenant", "clinic"}, {"mode", "full"}}));

  // A second call while the first waits: said, and nothing more enqueued.
  auto again = ctl({"-c", config, "sync", "calcom", "--tenant", "clinic"});
  EXPECT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.out.find("already waiting or running: job " + sid), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("nothing enqueued"), std::string::npos) << again.out;
  json again_json = ctl_json({"-c", config, "sync", "calcom", "--tenant", "clinic"});
  EXPECT_EQ(again_json["duplicate"], true);
  EXPECT_EQ(again_json["id"], first["id"]);
  EXPECT_EQ(total_jobs(), 1);

  // Still one while it runs; once it has finished, the next call makes a new one.
  auto claimed = job_store::claim(conn, "calcom_sync", 10, kWorker, 30s);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(ctl_json({"-c", config, "sync", "calcom", "--tenant", "clinic"})["duplicate"], true);
  ASSERT_EQ(job_store::finish(conn, {{claimed[0].id, 1, JobFinish::Action::complete, {}, {}}}, kWorker).total(), 1);
  auto next = ctl({"-c", config, "sync", "calcom", "--tenant", "clinic"});
  std::remove(config.c_str());
  ASSERT_EQ(next.code, 0) << next.err;
  EXPECT_NE(next.out.find("calcom_sync job "), std::string::npos) << next.out;
  EXPECT_NE(next.out.find("enqueued for tenant clinic"), std::string::npos) << next.out;
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs WHERE dedup_key = 'calcom_sync:manual:clinic' AND id <> " + sid),
            1);
}

TEST_F(RecadoctlTest, SyncCalcomRefusesATenantTheConfigurationLacksOrWithoutCalcom) {
  const std::string config = sync_calcom::write_config();
  auto unknown = ctl({"-c", config, "sync", "calcom", "--tenant", "nope"});
  EXPECT_EQ(unknown.code, 1);
  EXPECT_NE(unknown.err.find("no tenant nope in the configuration"), std::string::npos) << unknown.err;
  auto no_calcom = ctl({"-c", config, "sync", "calcom", "--tenant", "shop"});
  EXPECT_EQ(no_calcom.code, 1);
  EXPECT_NE(no_calcom.err.find("tenant shop has no Cal.com account"), std::string::npos) << no_calcom.err;
  const std::vector<std::vector<std::string>> usage = {
      {"sync"}, {"sync", "calcom"}, {"sync", "calcom", "--tenant"}, {"sync", "calcom", "--tenant", ""},
      {"sync", "chatwoot", "--tenant", "clinic"}};
  for (const auto& args : usage) {
    std::vector<std::string> with_config = {"-c", config};
    with_config.insert(with_config.end(), args.begin(), args.end());
    auto r = ctl(with_config);
    EXPECT_EQ(r.code, 2) << args.size() << " " << r.out << r.err;
    EXPECT_FALSE(r.err.empty());
  }
  std::remove(config.c_str());
  EXPECT_EQ(total_jobs(), 0);
}

TEST_F(RecadoctlTest, SyncCalcomWithoutAConfigurationTakesAnyTenantAndSaysItWasNotChecked) {
  auto r = ctl({"sync", "calcom", "--tenant", "anyone"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("tenant anyone is not checked"), std::string::npos) << r.err;
  EXPECT_EQ(db.scalar("SELECT payload->>'tenant' || '|' || dedup_key FROM recado.jobs"),
            "anyone|calcom_sync:manual:anyone");
}

}  // namespace
}  // namespace recado
