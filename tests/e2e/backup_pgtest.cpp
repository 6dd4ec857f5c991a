// scripts/backup and scripts/restore as an operator runs them, against a real PostgreSQL and
// the real daemons: a backup taken while a worker holds jobs, the schema wiped, restored, and
// the queue carries on (rescued jobs finish, new ones get new ids). And what a restore refuses.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "src/migrations.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/pg_harness.hpp"

namespace recado {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using test::ChildProcess;
using test::CommandResult;
using test::HttpClient;
using test::TestDatabase;

const std::string kSource = RECADO_SOURCE_DIR;
const std::string kTestConfig = kSource + "/config/test.yaml";
const std::map<std::string, std::string> kAuth = {{"Authorization", "Bearer test-token"}};

// Like config/test.yaml's worker, and it also works the queue `held`, which test.yaml's
// worker leaves alone: jobs there stay available until after the restore.
constexpr const char* kBothQueuesConfig = R"(log:
  format: json
worker:
  queues:
    default:
      concurrency: 50
    held:
      concurrency: 10
  poll_interval: 200ms
  lease: 2s
  rescue_interval: 500ms
  shutdown_timeout: 5s
)";

class BackupTest : public ::testing::Test {
 protected:
  BackupTest() {
    char tmpl[] = "/tmp/recado-backup-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    backup_file_ = dir_ + "/recado.dump";
  }
  ~BackupTest() override { std::filesystem::remove_all(dir_); }

  CommandResult backup(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{kSource + "/scripts/backup", "--database-url", db.url()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(backup_file_);
    return test::run_command(argv, {}, 120s);
  }
  // The URL from the environment this time, as an operator's shell would give it.
  CommandResult restore(std::vector<std::string> extra = {}, const std::string& file = "") {
    std::vector<std::string> argv{kSource + "/scripts/restore"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(file.empty() ? backup_file_ : file);
    return test::run_command(argv, {{"RECADO_DATABASE_URL", db.url()}, {"RECADO_BIN", RECADO_BIN}}, 120s);
  }
  std::unique_ptr<ChildProcess> start(const std::string& role, const std::string& config, int port = 0) {
    return std::make_unique<ChildProcess>(
        std::vector<std::string>{RECADO_BIN, "-c", config, role},
        std::map<std::string, std::string>{{"RECADO_DATABASE_URL", db.url()}, {"RECADO_INGRESS_PORT", std::to_string(port)}});
  }
  void stop(ChildProcess& p) {
    p.signal(SIGTERM);
    auto status = p.wait(20s);
    ASSERT_TRUE(status) << "did not exit after SIGTERM\n" << p.output();
    EXPECT_FALSE(status->crashed()) << p.output();
    EXPECT_EQ(status->code, 0) << p.output();
  }
  std::string write_config(const std::string& text) {
    const std::string path = dir_ + "/worker.yaml";
    std::ofstream(path) << text;
    return path;
  }
  long long jobs(const std::string& where) { return db.count("SELECT count(*) FROM recado.jobs WHERE " + where); }
  long long finished(const std::string& where) {
    return db.count("SELECT count(*) FROM recado.jobs_finished WHERE " + where);
  }
  void enqueue_sql(const std::string& queue, const std::string& kind, const std::string& payload, int n) {
    db.scalar("INSERT INTO recado.jobs (queue, kind, payload) SELECT '" + queue + "', '" + kind + "', '" + payload +
              "' FROM generate_series(1, " + std::to_string(n) + ")");
  }

  TestDatabase db;
  std::string dir_;
  std::string backup_file_;
};

TEST_F(BackupTest, BackUpWipeRestoreAndTheQueueCarriesOn) {
  // Finished jobs: five no-ops worked by a real worker.
  enqueue_sql("default", "noop", "{}", 5);
  auto first = start("worker", kTestConfig);
  ASSERT_TRUE(test::poll_until([&] { return finished("state = 'completed'") == 5; })) << first->output();
  // Running jobs: three long sleeps the worker holds while the backup is taken.
  enqueue_sql("default", "sleep", R"({"ms": 600000})", 3);
  ASSERT_TRUE(test::poll_until([&] { return jobs("state = 'running'") == 3; })) << first->output();
  // Available jobs: four in a queue this worker does not work.
  enqueue_sql("held", "noop", "{}", 4);
  const long long max_id_before = db.count("SELECT max(id) FROM recado.jobs");

  const CommandResult b = backup();
  ASSERT_EQ(b.code, 0) << b.out << b.err;
  EXPECT_NE(b.out.find("schema   recado, version " + std::to_string(latest_migration_version())), std::string::npos)
      << b.out;
  EXPECT_TRUE(std::regex_search(b.out, std::regex(R"(rows +recado\.jobs_finished +5\n)"))) << b.out;
  EXPECT_NE(b.out.find("4 available, 3 running"), std::string::npos) << b.out;
  struct stat st {};
  ASSERT_EQ(stat(backup_file_.c_str(), &st), 0);
  EXPECT_GT(st.st_size, 0);
  EXPECT_FALSE(std::filesystem::exists(backup_file_ + ".partial"));

  // The machine dies with the jobs still running; the schema is lost.
  first->signal(SIGKILL);
  ASSERT_TRUE(first->wait(10s));
  db.scalar("DROP SCHEMA recado CASCADE");

  const CommandResult r = restore();
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("7 live (3 running"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("5 finished; ids continue after " + std::to_string(max_id_before)), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("the one this recado expects"), std::string::npos) << r.out;
  EXPECT_EQ(finished("state = 'completed'"), 5);
  EXPECT_EQ(jobs("state = 'running' AND kind = 'sleep'"), 3);
  EXPECT_EQ(jobs("state = 'available' AND queue = 'held'"), 4);
  EXPECT_EQ(db.count("SELECT max(version) FROM recado.schema_migrations"), latest_migration_version());

  // The restored sleeps would run ten minutes once rescued: make them short (as an operator
  // would not need to; the test does not want to wait).
  db.scalar(R"(UPDATE recado.jobs SET payload = '{"ms": 10}' WHERE kind = 'sleep')");
  const int port = test::free_port();
  auto ingress = start("ingress", kTestConfig, port);
  auto worker = start("worker", write_config(kBothQueuesConfig));
  HttpClient http;
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  ASSERT_TRUE(test::poll_until([&] { return http.get(base + "/readyz").status == 200; })) << ingress->output();
  std::set<long long> new_ids;
  for (int i = 0; i < 5; ++i) {
    auto res = http.post(base + "/v1/jobs", R"({"kind":"noop"})", kAuth);
    ASSERT_EQ(res.status, 202) << res.body;
    new_ids.insert(json::parse(res.body)["id"].get<long long>());
  }
  EXPECT_EQ(new_ids.size(), 5u);
  EXPECT_GT(*new_ids.begin(), max_id_before) << "the id sequence was not restored";

  // Everything finishes: the restored running jobs once their lease expired (a second
  // attempt), the held ones, and the new ones. No id is used twice.
  ASSERT_TRUE(test::poll_until([&] { return finished("state = 'completed'") == 5 + 3 + 4 + 5; }, 60s))
      << finished("true") << " finished\n" << worker->output();
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs"), 0);
  EXPECT_EQ(finished("kind = 'sleep' AND attempt = 2"), 3);
  EXPECT_EQ(finished("queue = 'held'"), 4);
  EXPECT_EQ(db.count("SELECT count(DISTINCT id) FROM recado.jobs_finished"), 17);
  stop(*ingress);
  stop(*worker);
}

TEST_F(BackupTest, RestoreRefusesANonEmptySchemaWithoutForce) {
  enqueue_sql("default", "noop", "{}", 2);
  const CommandResult b = backup();
  ASSERT_EQ(b.code, 0) << b.out << b.err;
  enqueue_sql("default", "noop", R"({"after": "backup"})", 1);

  const CommandResult refused = restore();
  EXPECT_EQ(refused.code, 3) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("not empty (rows in: jobs)"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--force"), std::string::npos) << refused.err;
  EXPECT_EQ(jobs("true"), 3) << "a refused restore changed the schema";

  const CommandResult forced = restore({"--force"});
  ASSERT_EQ(forced.code, 0) << forced.out << forced.err;
  EXPECT_EQ(jobs("true"), 2);
  EXPECT_EQ(jobs("payload ? 'after'"), 0);
  EXPECT_EQ(db.count("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'recado%'"), 1) << "the old schema was kept";
}

TEST_F(BackupTest, RestoreRefusesWhileAWorkerIsAlive) {
  const CommandResult b = backup();
  ASSERT_EQ(b.code, 0) << b.out << b.err;
  auto worker = start("worker", kTestConfig);
  ASSERT_TRUE(test::poll_until([&] { return db.count("SELECT count(*) FROM recado.workers") == 1; })) << worker->output();
  const CommandResult refused = restore({"--force"});
  EXPECT_EQ(refused.code, 3) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("stop every recado worker"), std::string::npos) << refused.err;
  stop(*worker);
}

TEST_F(BackupTest, AMigratedButEmptySchemaIsReplacedWithoutForce) {
  enqueue_sql("default", "noop", "{}", 2);
  ASSERT_EQ(backup().code, 0);
  // A new server: `recado migrate` ran (as docker-compose's migrate service does), nothing else.
  db.scalar("DROP SCHEMA recado CASCADE");
  auto m = test::run_command({RECADO_BIN, "migrate"}, {{"RECADO_DATABASE_URL", db.url()}});
  ASSERT_EQ(m.code, 0) << m.err;
  const CommandResult r = restore();
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(jobs("true"), 2);
}

TEST_F(BackupTest, RestoreRejectsAFileThatIsNoBackupAndChangesNothing) {
  enqueue_sql("default", "noop", "{}", 1);
  const std::string junk = dir_ + "/junk.dump";
  std::ofstream(junk) << "not an archive\n";
  const CommandResult r = restore({"--force"}, junk);
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("is not a pg_dump archive"), std::string::npos) << r.err;
  EXPECT_EQ(jobs("true"), 1);
}

TEST_F(BackupTest, UsageErrors) {
  auto no_file = test::run_command({kSource + "/scripts/backup", "--database-url", db.url()});
  EXPECT_EQ(no_file.code, 2);
  EXPECT_NE(no_file.err.find("usage: scripts/backup"), std::string::npos) << no_file.err;
  auto no_url = test::run_command({kSource + "/scripts/restore", backup_file_}, {{"RECADO_DATABASE_URL", ""}});
  EXPECT_EQ(no_url.code, 2);
  EXPECT_NE(no_url.err.find("RECADO_DATABASE_URL"), std::string::npos) << no_url.err;
}

}  // namespace
}  // namespace recado
