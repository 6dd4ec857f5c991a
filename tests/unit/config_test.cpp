// Configuration: YAML with defaults, environment overrides, errors that say where, secrets
// that never show.
#include "src/config.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

extern char** environ;

namespace recado {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// Whether `text` holds `part`; the failure message shows both.
::testing::AssertionResult contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos)
    return ::testing::AssertionSuccess() << "'" << text << "' contains '" << part << "'";
  return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

// Sets one environment variable for the life of the object, then puts back what was there.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const std::string& value) : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str())) old_ = old;
    ::setenv(name_.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_.c_str(), old_->c_str(), 1);
    else
      ::unsetenv(name_.c_str());
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// A file that exists for the life of the object.
class TempFile {
 public:
  explicit TempFile(const std::string& contents) {
    std::string pattern = ::testing::TempDir() + "recado_config_test_XXXXXX";
    const int fd = ::mkstemp(pattern.data());
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    ::close(fd);
    path_ = pattern;
    std::ofstream(path_) << contents;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Every test starts with no RECADO_* variables, whatever the shell running it had set.
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (char** e = environ; *e; ++e) {
      const std::string entry = *e;
      if (entry.rfind("RECADO_", 0) != 0) continue;
      const auto eq = entry.find('=');
      saved_.emplace_back(entry.substr(0, eq), entry.substr(eq + 1));
    }
    for (const auto& [name, value] : saved_) ::unsetenv(name.c_str());
  }
  void TearDown() override {
    for (const auto& [name, value] : saved_) ::setenv(name.c_str(), value.c_str(), 1);
  }

  // The ConfigError message parse_config throws, or a failure when it does not throw.
  static std::string error_of(const std::string& yaml, const std::string& name = "recado.yaml") {
    try {
      parse_config(yaml, name);
    } catch (const ConfigError& e) {
      return e.what();
    }
    ADD_FAILURE() << "no ConfigError for:\n" << yaml;
    return {};
  }

 private:
  std::vector<std::pair<std::string, std::string>> saved_;
};

// --- values and defaults -------------------------------------------------------------

TEST_F(ConfigTest, EmptyFileGivesTheDefaults) {
  const Config c = parse_config("", "empty.yaml");
  EXPECT_EQ(c.source, "empty.yaml");
  EXPECT_EQ(c.database.url, "");
  EXPECT_EQ(c.database.pool_size, 4);
  EXPECT_EQ(c.log.format, "text");
  EXPECT_EQ(c.log.level, "info");
  EXPECT_TRUE(c.log.redact);
  EXPECT_EQ(c.ingress.port, 8080);
  EXPECT_TRUE(c.ingress.api_token.empty());
  ASSERT_EQ(c.worker.queues.size(), 5u);  // every queue the built-in kinds use
  EXPECT_EQ(c.worker.queues[0].name, "default");
  EXPECT_EQ(c.worker.queues[0].concurrency, 10);
  EXPECT_EQ(c.worker.queues[1].name, "llm_reply");
  EXPECT_EQ(c.worker.queues[4].name, "calcom_sync");
  EXPECT_EQ(c.worker.lease, seconds{30});
  EXPECT_EQ(c.worker.backoff.base, seconds{1});
  EXPECT_EQ(c.worker.backoff.cap, hours{1});
  EXPECT_EQ(c.worker.poll_interval, milliseconds{500});
  EXPECT_TRUE(c.periodic.empty());
}

TEST_F(ConfigTest, ReadsEachKindOfValue) {
  const Config c = parse_config(R"(
database:
  url: postgresql://db.internal/recado
  pool_size: 8
log:
  format: json
  level: warn
  redact: off
ingress:
  host: 0.0.0.0
  port: 9090
  max_body_bytes: 2097152
  idle_timeout: 1500ms
worker:
  lease: 2m
  backoff_base: 250ms
  backoff_cap: 10
  discarded_retention: 14d
dev:
  postgres_bin: /opt/pg/bin
)",
                                "recado.yaml");
  EXPECT_EQ(c.database.url, "postgresql://db.internal/recado");
  EXPECT_EQ(c.database.pool_size, 8);
  EXPECT_EQ(c.log.format, "json");
  EXPECT_EQ(c.log.level, "warn");
  EXPECT_FALSE(c.log.redact);
  EXPECT_EQ(c.ingress.host, "0.0.0.0");
  EXPECT_EQ(c.ingress.port, 9090);
  EXPECT_EQ(c.ingress.max_body_bytes, 2097152u);
  EXPECT_EQ(c.ingress.idle_timeout, milliseconds{1500});
  EXPECT_EQ(c.worker.lease, minutes{2});
  EXPECT_EQ(c.worker.backoff.base, milliseconds{250});
  EXPECT_EQ(c.worker.backoff.cap, seconds{10});  // a bare number is seconds
  EXPECT_EQ(c.worker.discarded_retention, hours{24 * 14});
  EXPECT_EQ(c.dev.postgres_bin, "/opt/pg/bin");
  // Keys not given keep their defaults.
  EXPECT_EQ(c.ingress.max_headers, 64);
  EXPECT_EQ(c.worker.claim_batch, 100);
}

TEST_F(ConfigTest, QueuesInTheFileReplaceTheDefaultQueue) {
  const Config c = parse_config(R"(
worker:
  queues:
    llm_reply:
      concurrency: 200
    followup:
)",
                                "recado.yaml");
  ASSERT_EQ(c.worker.queues.size(), 2u);
  EXPECT_EQ(c.worker.queues[0].name, "llm_reply");
  EXPECT_EQ(c.worker.queues[0].concurrency, 200);
  EXPECT_EQ(c.worker.queues[1].name, "followup");
  EXPECT_EQ(c.worker.queues[1].concurrency, 10);
}

// --- errors that say where ------------------------------------------------------------

TEST_F(ConfigTest, UnknownTopLevelKeyNamesFileLineAndColumn) {
  const std::string msg = error_of("log:\n  level: info\nlogging: {}\n");
  EXPECT_TRUE(contains(msg, "recado.yaml:3:1"));
  EXPECT_TRUE(contains(msg, "unknown key 'logging'"));
}

TEST_F(ConfigTest, UnknownNestedKeyNamesItsFullPath) {
  const std::string msg = error_of("worker:\n  lease: 30s\n  leese: 30s\n");
  EXPECT_TRUE(contains(msg, "recado.yaml:3:3"));
  EXPECT_TRUE(contains(msg, "'worker.leese'"));
}

TEST_F(ConfigTest, UnknownKeyInsideAQueue) {
  const std::string msg = error_of("worker:\n  queues:\n    default:\n      concurency: 5\n");
  EXPECT_TRUE(contains(msg, "recado.yaml:4:7"));
  EXPECT_TRUE(contains(msg, "'worker.queues.default.concurency'"));
}

TEST_F(ConfigTest, BadValuePointsAtTheValue) {
  const std::string msg = error_of("log:\n  format: xml\n");
  EXPECT_TRUE(contains(msg, "recado.yaml:2:11"));
  EXPECT_TRUE(contains(msg, "'log.format'"));
  EXPECT_TRUE(contains(msg, "xml"));
}

TEST_F(ConfigTest, BadValuesAreRejectedNamingTheKey) {
  const std::pair<const char*, const char*> cases[] = {
      {"database:\n  pool_size: 0\n", "'database.pool_size'"},
      {"database:\n  pool_size: 4.5\n", "'database.pool_size'"},
      {"log:\n  level: loud\n", "'log.level'"},
      {"log:\n  redact: maybe\n", "'log.redact'"},
      {"ingress:\n  port: 70000\n", "'ingress.port'"},
      {"ingress:\n  port: http\n", "'ingress.port'"},
      {"ingress:\n  max_body_bytes: -1\n", "'ingress.max_body_bytes'"},
      {"ingress:\n  idle_timeout: 0s\n", "'ingress.idle_timeout'"},
      {"worker:\n  lease: forever\n", "'worker.lease'"},
      {"worker:\n  poll_interval: -1s\n", "'worker.poll_interval'"},
      {"worker:\n  queues:\n    default:\n      concurrency: 0\n",
       "'worker.queues.default.concurrency'"},
  };
  for (const auto& [yaml, key] : cases) {
    const std::string msg = error_of(yaml);
    EXPECT_TRUE(contains(msg, key)) << yaml;
    EXPECT_TRUE(contains(msg, "recado.yaml:")) << yaml;
  }
}

TEST_F(ConfigTest, WrongShapesAreRejected) {
  // A list where a single value belongs.
  std::string msg = error_of("ingress:\n  host: [a, b]\n");
  EXPECT_TRUE(contains(msg, "recado.yaml:2:9"));
  EXPECT_TRUE(contains(msg, "'ingress.host'"));
  // A value where a section belongs.
  msg = error_of("log: json\n");
  EXPECT_TRUE(contains(msg, "recado.yaml:1:6"));
  EXPECT_TRUE(contains(msg, "'log'"));
  // A list at the top.
  EXPECT_TRUE(contains(error_of("- database\n- log\n"), "recado.yaml:1:1"));
}

TEST_F(ConfigTest, YamlSyntaxErrorNamesFileAndLine) {
  const std::string msg = error_of("log:\n  format: text\n  level: [info\n");
  EXPECT_TRUE(contains(msg, "recado.yaml:"));
  EXPECT_FALSE(contains(msg, "recado.yaml:0:"));
}

TEST_F(ConfigTest, MissingFileIsAnErrorNamingIt) {
  const std::string path = ::testing::TempDir() + "recado_no_such_config.yaml";
  try {
    load_config(path);
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_TRUE(contains(e.what(), path));
  }
}

// --- the environment --------------------------------------------------------------------

TEST_F(ConfigTest, EnvironmentOverridesTheFile) {
  ScopedEnv lease("RECADO_WORKER_LEASE", "45s");
  ScopedEnv url("RECADO_DATABASE_URL", "postgresql://env-host/recado");
  const Config c = parse_config("worker:\n  lease: 10s\n  claim_batch: 7\n", "recado.yaml");
  EXPECT_EQ(c.worker.lease, seconds{45});
  EXPECT_EQ(c.database.url, "postgresql://env-host/recado");
  EXPECT_EQ(c.worker.claim_batch, 7);  // not overridden
}

TEST_F(ConfigTest, EnvironmentAppliesWithoutAFile) {
  ScopedEnv port("RECADO_INGRESS_PORT", "0");
  ScopedEnv redact("RECADO_LOG_REDACT", "false");
  const Config c = load_config("");
  EXPECT_EQ(c.source, "");
  EXPECT_EQ(c.ingress.port, 0);
  EXPECT_FALSE(c.log.redact);
}

TEST_F(ConfigTest, EnvironmentSetsTheDefaultQueuesConcurrency) {
  ScopedEnv conc("RECADO_WORKER_QUEUES_DEFAULT_CONCURRENCY", "7");
  const Config defaults = parse_config("", "recado.yaml");
  ASSERT_EQ(defaults.worker.queues.size(), 5u);
  EXPECT_EQ(defaults.worker.queues[0].concurrency, 7);
  const Config configured =
      parse_config("worker:\n  queues:\n    default:\n      concurrency: 50\n", "recado.yaml");
  ASSERT_EQ(configured.worker.queues.size(), 1u);
  EXPECT_EQ(configured.worker.queues[0].concurrency, 7);
}

TEST_F(ConfigTest, EnvironmentSetsANamedQueuesConcurrency) {
  ScopedEnv conc("RECADO_WORKER_QUEUES_LLM_REPLY_CONCURRENCY", "3");
  const Config c =
      parse_config("worker:\n  queues:\n    llm_reply:\n      concurrency: 200\n    followup: {}\n",
                   "recado.yaml");
  ASSERT_EQ(c.worker.queues.size(), 2u);
  EXPECT_EQ(c.worker.queues[0].concurrency, 3);
  EXPECT_EQ(c.worker.queues[1].concurrency, 10);
}

TEST_F(ConfigTest, BadEnvironmentValueNamesTheVariable) {
  ScopedEnv lease("RECADO_WORKER_LEASE", "forever");
  try {
    parse_config("", "recado.yaml");
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_TRUE(contains(e.what(), "RECADO_WORKER_LEASE"));
    EXPECT_TRUE(contains(e.what(), "forever"));
  }
}

TEST_F(ConfigTest, EnvironmentValueFailingACheckNamesTheVariable) {
  ScopedEnv pool("RECADO_DATABASE_POOL_SIZE", "0");
  try {
    parse_config("database:\n  pool_size: 4\n", "recado.yaml");
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_TRUE(contains(e.what(), "RECADO_DATABASE_POOL_SIZE"));
    EXPECT_FALSE(contains(e.what(), "recado.yaml:"));  // the file's value is not the culprit
  }
}

// --- secrets ------------------------------------------------------------------------------

TEST_F(ConfigTest, InlineSecret) {
  const Config c = parse_config("ingress:\n  api_token: inline-tok\n", "recado.yaml");
  EXPECT_EQ(c.ingress.api_token.value, "inline-tok");
  EXPECT_EQ(c.ingress.api_token.origin, "config");
}

TEST_F(ConfigTest, SecretFromAFileLosesItsTrailingNewline) {
  TempFile token("file-tok\n");
  const Config c =
      parse_config("ingress:\n  api_token_file: " + token.path() + "\n", "recado.yaml");
  EXPECT_EQ(c.ingress.api_token.value, "file-tok");
  EXPECT_EQ(c.ingress.api_token.origin, "file " + token.path());
}

TEST_F(ConfigTest, SecretFromTheEnvironment) {
  ScopedEnv tok("RECADO_INGRESS_API_TOKEN", "env-tok");
  const Config c = parse_config("ingress:\n  api_token: inline-tok\n", "recado.yaml");
  EXPECT_EQ(c.ingress.api_token.value, "env-tok");
  EXPECT_EQ(c.ingress.api_token.origin, "env RECADO_INGRESS_API_TOKEN");
  EXPECT_TRUE(contains(dump_config(c), "from env RECADO_INGRESS_API_TOKEN"));
}

TEST_F(ConfigTest, UnreadableSecretFileNamesTheFile) {
  const std::string path = ::testing::TempDir() + "recado_no_such_token";
  const std::string msg = error_of("ingress:\n  api_token_file: " + path + "\n");
  EXPECT_TRUE(contains(msg, path));
  EXPECT_TRUE(contains(msg, "ingress.api_token_file"));
}

// --- dump_config and mask_url -------------------------------------------------------------

TEST_F(ConfigTest, DumpNeverShowsTheTokenWhereverItCameFrom) {
  const std::string secret = "s3cr3t-Zq9xW";
  TempFile token(secret + "\n");
  const Config inline_cfg = parse_config("ingress:\n  api_token: " + secret + "\n", "a.yaml");
  const Config file_cfg =
      parse_config("ingress:\n  api_token_file: " + token.path() + "\n", "b.yaml");
  Config env_cfg;
  {
    ScopedEnv tok("RECADO_INGRESS_API_TOKEN", secret);
    env_cfg = parse_config("", "c.yaml");
  }
  for (const Config* c : std::initializer_list<const Config*>{&inline_cfg, &file_cfg, &env_cfg}) {
    ASSERT_EQ(c->ingress.api_token.value, secret);
    const std::string dump = dump_config(*c);
    EXPECT_FALSE(contains(dump, secret));
    EXPECT_FALSE(contains(dump, "s3cr3t"));
    EXPECT_TRUE(contains(dump, "api_token: \"***\""));
  }
}

TEST_F(ConfigTest, DumpMasksTheDatabasePassword) {
  const Config c =
      parse_config("database:\n  url: postgresql://recado:hunter2@db.internal/recado\n", "a.yaml");
  const std::string dump = dump_config(c);
  EXPECT_FALSE(contains(dump, "hunter2"));
  EXPECT_TRUE(contains(dump, "db.internal/recado"));
}

TEST_F(ConfigTest, DumpIsConfigurationThatReadsBackTheSame) {
  const Config original = parse_config(R"(
log:
  format: json
  level: debug
ingress:
  port: 9090
  idle_timeout: 1500ms
worker:
  queues:
    llm_reply:
      concurrency: 200
    followup:
      concurrency: 5
  lease: 2m
  backoff_cap: 90s
  discarded_retention: 14d
dev:
  data_dir: /tmp/pg
)",
                                       "a.yaml");
  const Config again = parse_config(dump_config(original), "dump.yaml");
  EXPECT_EQ(again.log.format, "json");
  EXPECT_EQ(again.log.level, "debug");
  EXPECT_EQ(again.ingress.port, 9090);
  EXPECT_EQ(again.ingress.idle_timeout, original.ingress.idle_timeout);
  ASSERT_EQ(again.worker.queues.size(), 2u);
  EXPECT_EQ(again.worker.queues[0].name, "llm_reply");
  EXPECT_EQ(again.worker.queues[0].concurrency, 200);
  EXPECT_EQ(again.worker.queues[1].concurrency, 5);
  EXPECT_EQ(again.worker.lease, minutes{2});
  EXPECT_EQ(again.worker.backoff.cap, seconds{90});
  EXPECT_EQ(again.worker.discarded_retention, hours{24 * 14});
  EXPECT_EQ(again.dev.data_dir, "/tmp/pg");
  EXPECT_TRUE(again.ingress.api_token.empty());
}

TEST(MaskUrl, HidesTheUrlPasswordAndNothingElse) {
  EXPECT_EQ(mask_url("postgresql://recado:hunter2@db.internal:5432/recado"),
            "postgresql://recado:***@db.internal:5432/recado");
  // Without a password there is nothing to hide.
  for (const char* url : {"postgresql://recado@db.internal:5432/recado",
                          "postgresql://db.internal:5432/recado", "postgresql:///recado", ""}) {
    EXPECT_EQ(mask_url(url), url);
  }
}

TEST(MaskUrl, HidesPasswordParametersAndKeywords) {
  const std::string query =
      mask_url("postgresql://db/recado?user=r&password=hunter2&sslmode=require");
  EXPECT_FALSE(contains(query, "hunter2"));
  EXPECT_TRUE(contains(query, "sslmode=require"));
  const std::string keywords = mask_url("host=db user=recado password=hunter2 dbname=recado");
  EXPECT_EQ(keywords, "host=db user=recado password=*** dbname=recado");
}

// --- the configuration files in the repository ---------------------------------------------

TEST_F(ConfigTest, ExampleFileParsesAndHoldsTheDefaults) {
  Config example = load_config(RECADO_SOURCE_DIR "/config/recado.example.yaml");
  Config defaults = load_config("");
  example.source.clear();
  // The example's one tenant shows every webhook key; apart from it, it is the defaults.
  ASSERT_EQ(example.tenants.size(), 1u);
  EXPECT_EQ(example.tenants[0].id, "clinic1");
  EXPECT_EQ(example.tenants[0].webhooks.size(), 5u);
  EXPECT_EQ(example.tenants[0].debounce, TenantConfig{}.debounce);
  // Its business hours and send limits show the spelling; they are not defaults.
  const BusinessHours& hours = example.tenants[0].business_hours;
  EXPECT_FALSE(hours.always_open);
  EXPECT_EQ(hours.time_zone, "America/Sao_Paulo");
  EXPECT_EQ(format_day_hours(hours.days[0]), "08:00-12:00, 13:00-18:00");
  EXPECT_EQ(format_day_hours(hours.days[5]), "09:00-12:00");
  EXPECT_TRUE(hours.days[6].empty());
  EXPECT_EQ(example.tenants[0].send_limits.min_spacing, seconds{2});
  EXPECT_EQ(example.tenants[0].send_limits.per_hour, 200);
  EXPECT_EQ(example.tenants[0].send_limits.per_day, 1000);
  EXPECT_EQ(example.tenants[0].send_limits.per_recipient_spacing, seconds{6});
  // Cal.com shows the defaults but for the key and the event type.
  const CalcomConfig& cal = example.tenants[0].calcom;
  EXPECT_TRUE(cal.enabled());
  EXPECT_EQ(cal.base_url, CalcomConfig{}.base_url);
  EXPECT_EQ(cal.event_type_ids, (std::vector<long long>{123456}));
  EXPECT_EQ(cal.sync, CalcomConfig{}.sync);
  EXPECT_EQ(cal.sync_window, CalcomConfig{}.sync_window);
  EXPECT_EQ(cal.booking_keywords, CalcomConfig{}.booking_keywords);
  EXPECT_EQ(example.tenants[0].llm.history_bytes, LlmConfig{}.history_bytes);
  // One rule of each kind, and one periodic job.
  ASSERT_EQ(example.tenants[0].followups.size(), 3u);
  EXPECT_EQ(example.tenants[0].followups[0].when, FollowupWhen::before_start);
  EXPECT_EQ(example.tenants[0].followups[1].when, FollowupWhen::after_end);
  EXPECT_EQ(example.tenants[0].followups[2].when, FollowupWhen::quiet);
  ASSERT_EQ(example.periodic.size(), 1u);
  EXPECT_EQ(example.periodic[0].queue, "default");
  // The tenant's model is priced, so its cost budget holds.
  ASSERT_TRUE(example.tenants[0].llm.price);
  EXPECT_DOUBLE_EQ(example.tenants[0].llm.price->output_per_million, 0.60);
  EXPECT_DOUBLE_EQ(example.tenants[0].llm.budget.daily_cost, 5.0);
  EXPECT_EQ(example.tenants[0].contact_limits.replies_per_hour, ContactLimits{}.replies_per_hour);
  example.tenants.clear();
  example.periodic.clear();
  example.llm_prices.clear();
  EXPECT_EQ(dump_config(example), dump_config(defaults));
}

TEST_F(ConfigTest, DevFileParses) {
  const Config c = load_config(RECADO_SOURCE_DIR "/config/dev.yaml");
  EXPECT_EQ(c.ingress.api_token.value, "dev-token");
  EXPECT_EQ(c.worker.queues.size(), 5u);
  EXPECT_EQ(c.worker.shutdown_timeout, seconds{5});
  ASSERT_NE(c.tenant("demo"), nullptr);
  EXPECT_EQ(c.tenant("demo")->webhooks.size(), 5u);
  EXPECT_FALSE(c.tenant("demo")->business_hours.always_open);
  EXPECT_TRUE(c.tenant("demo")->send_limits.any());
  EXPECT_EQ(c.worker.poll_interval, milliseconds{500});
  // Cal.com from the simulator, and the four demo follow-ups.
  const CalcomConfig& cal = c.tenant("demo")->calcom;
  EXPECT_TRUE(cal.enabled());
  EXPECT_EQ(cal.base_url, "http://127.0.0.1:8090");
  EXPECT_EQ(cal.event_type_ids, (std::vector<long long>{1}));
  ASSERT_TRUE(cal.sync_schedule.has_value());
  EXPECT_EQ(cal.sync_schedule->time_zone, "America/Sao_Paulo");
  const auto& rules = c.tenant("demo")->followups;
  ASSERT_EQ(rules.size(), 4u);
  EXPECT_EQ(rules[0].name, "reminder_24h");
  EXPECT_EQ(rules[0].offset, hours{24});
  EXPECT_EQ(rules[1].name, "reminder_2h");
  EXPECT_EQ(rules[1].offset, hours{2});
  EXPECT_EQ(rules[2].name, "thanks");
  EXPECT_EQ(rules[2].when, FollowupWhen::after_end);
  EXPECT_EQ(rules[2].offset, hours{1});
  EXPECT_EQ(rules[3].name, "nudge");
  EXPECT_EQ(rules[3].when, FollowupWhen::quiet);
  EXPECT_EQ(rules[3].offset, hours{4});
  EXPECT_TRUE(c.periodic.empty());
}

TEST_F(ConfigTest, TestFileParses) {
  const Config c = load_config(RECADO_SOURCE_DIR "/config/test.yaml");
  EXPECT_EQ(c.log.format, "json");
  EXPECT_EQ(c.ingress.port, 0);
  EXPECT_EQ(c.worker.lease, seconds{2});
  EXPECT_EQ(c.worker.rescue_interval, milliseconds{500});
  EXPECT_EQ(c.worker.backoff.base, milliseconds{100});
  EXPECT_EQ(c.worker.breakers.cool_down, milliseconds{500});
  ASSERT_NE(c.tenant("clinic"), nullptr);
  // Business hours that are open at every instant, whatever the hour the tests run at.
  const BusinessHours& hours = c.tenant("clinic")->business_hours;
  EXPECT_FALSE(hours.always_open);
  for (const auto& day : hours.days) EXPECT_EQ(format_day_hours(day), "00:00-24:00");
  EXPECT_TRUE(c.tenant("clinic")->send_limits.any());
}

TEST_F(ConfigTest, ProdFileNeedsItsTokenFile) {
  if (::access("/etc/recado/api-token", F_OK) == 0) GTEST_SKIP() << "/etc/recado/api-token exists";
  try {
    load_config(RECADO_SOURCE_DIR "/config/prod.yaml");
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_TRUE(contains(e.what(), "/etc/recado/api-token"));
  }
}

// --- tenants --------------------------------------------------------------------------------

constexpr const char* kFullTenant = R"(
tenants:
  clinic1:
    debounce: 2s
    webhooks:
      evolution:
        token: evo-tok-1
        token_header: X-Evo-Token
        jwt_secret: evo-jwt-1
      whaticket:
        token: wt-tok-1
      cloudapi:
        secret: meta-secret-1
        verify_token: meta-verify-1
      calcom:
        secret: cal-secret-1
      chatwoot:
        secret: cw-secret-1
  clinic-2:
    webhooks:
      calcom:
        allow_unsigned: true
)";

TEST_F(ConfigTest, FullTenantParses) {
  const Config c = parse_config(kFullTenant, "recado.yaml");
  ASSERT_EQ(c.tenants.size(), 2u);
  const TenantConfig* t = c.tenant("clinic1");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->id, "clinic1");
  EXPECT_EQ(t->debounce, seconds{2});
  ASSERT_EQ(t->webhooks.size(), 5u);

  const WebhookConfig* evolution = t->webhook(Provider::evolution);
  ASSERT_NE(evolution, nullptr);
  EXPECT_EQ(evolution->provider, Provider::evolution);
  EXPECT_EQ(evolution->token.value, "evo-tok-1");
  EXPECT_EQ(evolution->token.origin, "config");
  EXPECT_EQ(evolution->token_header, "x-evo-token");  // header names are matched lower-cased
  EXPECT_EQ(evolution->jwt_secret.value, "evo-jwt-1");

  const WebhookConfig* whaticket = t->webhook(Provider::whaticket);
  ASSERT_NE(whaticket, nullptr);
  EXPECT_EQ(whaticket->token.value, "wt-tok-1");
  EXPECT_EQ(whaticket->token_header, "x-recado-token");  // the default

  const WebhookConfig* cloudapi = t->webhook(Provider::cloudapi);
  ASSERT_NE(cloudapi, nullptr);
  EXPECT_EQ(cloudapi->secret.value, "meta-secret-1");
  EXPECT_EQ(cloudapi->verify_token.value, "meta-verify-1");

  const WebhookConfig* calcom = t->webhook(Provider::calcom);
  ASSERT_NE(calcom, nullptr);
  EXPECT_EQ(calcom->secret.value, "cal-secret-1");
  EXPECT_FALSE(calcom->allow_unsigned);

  const WebhookConfig* chatwoot = t->webhook(Provider::chatwoot);
  ASSERT_NE(chatwoot, nullptr);
  EXPECT_EQ(chatwoot->secret.value, "cw-secret-1");
  EXPECT_TRUE(chatwoot->token.empty());

  // The second tenant: defaults for what it does not say, only the provider it lists.
  const TenantConfig* t2 = c.tenant("clinic-2");
  ASSERT_NE(t2, nullptr);
  EXPECT_EQ(t2->debounce, seconds{3});
  ASSERT_EQ(t2->webhooks.size(), 1u);
  ASSERT_NE(t2->webhook(Provider::calcom), nullptr);
  EXPECT_EQ(t2->webhook(Provider::cloudapi), nullptr);

  EXPECT_EQ(c.tenant("clinic3"), nullptr);
}

TEST_F(ConfigTest, NoTenantsByDefault) {
  EXPECT_TRUE(parse_config("", "recado.yaml").tenants.empty());
  EXPECT_TRUE(parse_config("tenants: {}\n", "recado.yaml").tenants.empty());
}

TEST_F(ConfigTest, UnknownProviderIsAnErrorNamingWhere) {
  const std::string msg =
      error_of("tenants:\n  clinic1:\n    webhooks:\n      whatsapp:\n        token: x\n");
  EXPECT_TRUE(contains(msg, "unknown provider 'whatsapp'"));
  // file:line:column of the provider's key (line 4, column 7).
  EXPECT_TRUE(contains(msg, "recado.yaml:4:7"));
  EXPECT_TRUE(contains(msg, "tenants.clinic1.webhooks.whatsapp"));
}

TEST_F(ConfigTest, UnknownKeyUnderAProviderIsAnError) {
  // Whaticket does not sign its webhooks: a secret there is a mistake, not a no-op.
  const std::string msg = error_of(
      "tenants:\n  clinic1:\n    webhooks:\n      whaticket:\n        token: x\n        secret: "
      "y\n");
  EXPECT_TRUE(contains(msg, "recado.yaml:6:9"));
  EXPECT_TRUE(contains(msg, "unknown key 'tenants.clinic1.webhooks.whaticket.secret'"));
}

TEST_F(ConfigTest, UnknownKeyUnderATenantIsAnError) {
  const std::string msg = error_of("tenants:\n  clinic1:\n    debounse: 2s\n");
  EXPECT_TRUE(contains(msg, "recado.yaml:3:5"));
  EXPECT_TRUE(contains(msg, "'tenants.clinic1.debounse'"));
}

TEST_F(ConfigTest, CloudApiWithoutASecretIsAnError) {
  const std::string msg =
      error_of("tenants:\n  clinic1:\n    webhooks:\n      cloudapi:\n        verify_token: v\n");
  EXPECT_TRUE(contains(msg, "recado.yaml:4:7"));
  EXPECT_TRUE(contains(msg, "tenants.clinic1.webhooks.cloudapi"));
  EXPECT_TRUE(contains(msg, "secret"));
}

TEST_F(ConfigTest, ProvidersWithoutCredentialsAreErrors) {
  const std::pair<const char*, const char*> cases[] = {
      {"evolution:\n        token_header: x-a\n", "tenants.clinic1.webhooks.evolution"},
      {"whaticket: {}\n", "tenants.clinic1.webhooks.whaticket"},
      {"calcom: {}\n", "tenants.clinic1.webhooks.calcom"},
      {"calcom:\n        allow_unsigned: false\n", "tenants.clinic1.webhooks.calcom"},
      {"chatwoot: {}\n", "tenants.clinic1.webhooks.chatwoot"},
  };
  for (const auto& [provider, path] : cases) {
    const std::string yaml = std::string("tenants:\n  clinic1:\n    webhooks:\n      ") + provider;
    const std::string msg = error_of(yaml);
    EXPECT_TRUE(contains(msg, path)) << yaml;
    EXPECT_TRUE(contains(msg, "recado.yaml:")) << yaml;
  }
}

TEST_F(ConfigTest, CalcomWithoutASecretIsFineWhenUnsignedIsAllowed) {
  const Config c = parse_config(
      "tenants:\n  clinic1:\n    webhooks:\n      calcom:\n        allow_unsigned: true\n",
      "recado.yaml");
  ASSERT_EQ(c.tenants.size(), 1u);
  const WebhookConfig* calcom = c.tenants[0].webhook(Provider::calcom);
  ASSERT_NE(calcom, nullptr);
  EXPECT_TRUE(calcom->allow_unsigned);
  EXPECT_TRUE(calcom->secret.empty());
}

TEST_F(ConfigTest, BadTenantIdIsAnError) {
  for (const char* id : {"Bad Id", "Clinic1", "-clinic", "clinic/1", "clínica"}) {
    const std::string yaml = std::string("tenants:\n  \"") + id + "\":\n    debounce: 2s\n";
    const std::string msg = error_of(yaml);
    EXPECT_TRUE(contains(msg, "tenant id")) << id;
    EXPECT_TRUE(contains(msg, "recado.yaml:")) << id;
  }
  const std::string too_long = std::string(65, 'a');
  EXPECT_TRUE(contains(error_of("tenants:\n  " + too_long + ":\n    debounce: 2s\n"), "tenant id"));
  // 64 characters is still an id.
  EXPECT_EQ(
      parse_config("tenants:\n  " + std::string(64, 'a') + ":\n    debounce: 2s\n", "recado.yaml")
          .tenants.size(),
      1u);
}

TEST_F(ConfigTest, DebounceMaxIsNotAKey) {
  // The reply runs one debounce after the first message; there is no second knob.
  EXPECT_TRUE(contains(error_of("tenants:\n  clinic1:\n    debounce_max: 5s\n"), "unknown key"));
}

TEST_F(ConfigTest, EnvironmentOverridesATenantSecret) {
  ScopedEnv secret("RECADO_TENANTS_CLINIC1_WEBHOOKS_CLOUDAPI_SECRET", "env-meta-secret");
  const Config c = parse_config(kFullTenant, "recado.yaml");
  const WebhookConfig* cloudapi = c.tenant("clinic1")->webhook(Provider::cloudapi);
  ASSERT_NE(cloudapi, nullptr);
  EXPECT_EQ(cloudapi->secret.value, "env-meta-secret");
  EXPECT_EQ(cloudapi->secret.origin, "env RECADO_TENANTS_CLINIC1_WEBHOOKS_CLOUDAPI_SECRET");
  EXPECT_EQ(cloudapi->verify_token.value, "meta-verify-1");  // not overridden
}

TEST_F(ConfigTest, EnvironmentSuppliesASecretTheFileLeavesOut) {
  // The file names the provider; the secret comes only from the environment.
  ScopedEnv secret("RECADO_TENANTS_CLINIC1_WEBHOOKS_CLOUDAPI_SECRET", "env-only-secret");
  const Config c = parse_config(
      "tenants:\n  clinic1:\n    webhooks:\n      cloudapi:\n        verify_token: v\n",
      "recado.yaml");
  EXPECT_EQ(c.tenants[0].webhook(Provider::cloudapi)->secret.value, "env-only-secret");
}

TEST_F(ConfigTest, EnvironmentOverridesATenantsDebounce) {
  ScopedEnv debounce("RECADO_TENANTS_CLINIC_2_DEBOUNCE", "500ms");
  const Config c = parse_config(kFullTenant, "recado.yaml");
  EXPECT_EQ(c.tenant("clinic-2")->debounce, milliseconds{500});
  EXPECT_EQ(c.tenant("clinic1")->debounce, seconds{2});
}

TEST_F(ConfigTest, TenantTokenFromAFile) {
  TempFile token("wt-from-file\n");
  const Config c = parse_config(
      "tenants:\n  clinic1:\n    webhooks:\n      whaticket:\n        token_file: " + token.path() +
          "\n",
      "recado.yaml");
  const WebhookConfig* whaticket = c.tenants[0].webhook(Provider::whaticket);
  ASSERT_NE(whaticket, nullptr);
  EXPECT_EQ(whaticket->token.value, "wt-from-file");
  EXPECT_EQ(whaticket->token.origin, "file " + token.path());
}

TEST_F(ConfigTest, UnreadableTenantSecretFileNamesIt) {
  const std::string path = ::testing::TempDir() + "recado_no_such_tenant_secret";
  const std::string msg = error_of(
      "tenants:\n  clinic1:\n    webhooks:\n      cloudapi:\n        secret_file: " + path + "\n");
  EXPECT_TRUE(contains(msg, path));
  EXPECT_TRUE(contains(msg, "tenants.clinic1.webhooks.cloudapi.secret_file"));
}

TEST_F(ConfigTest, DumpMasksEveryTenantSecret) {
  TempFile chatwoot_token("cw-file-tok-QQ7\n");
  ScopedEnv env_secret("RECADO_TENANTS_CLINIC1_WEBHOOKS_CALCOM_SECRET", "cal-env-secret-QQ6");
  const Config c = parse_config(R"(
tenants:
  clinic1:
    webhooks:
      evolution:
        token: evo-tok-QQ1
        jwt_secret: evo-jwt-QQ2
      whaticket:
        token: wt-tok-QQ3
      cloudapi:
        secret: meta-secret-QQ4
        verify_token: meta-verify-QQ5
      calcom:
        secret: cal-secret-in-file
      chatwoot:
        token_file: )" + chatwoot_token.path() +
                                    R"(
)",
                                "recado.yaml");
  ASSERT_EQ(c.tenants.size(), 1u);
  ASSERT_EQ(c.tenants[0].webhook(Provider::chatwoot)->token.value, "cw-file-tok-QQ7");
  ASSERT_EQ(c.tenants[0].webhook(Provider::calcom)->secret.value, "cal-env-secret-QQ6");
  const std::string dump = dump_config(c);
  for (const char* value :
       {"evo-tok-QQ1", "evo-jwt-QQ2", "wt-tok-QQ3", "meta-secret-QQ4", "meta-verify-QQ5",
        "cal-env-secret-QQ6", "cw-file-tok-QQ7", "cal-secret-in-file"}) {
    EXPECT_FALSE(contains(dump, value)) << dump;
  }
  EXPECT_FALSE(contains(dump, "QQ"));
  // What is set still shows, masked, with where it came from.
  EXPECT_TRUE(contains(dump, "clinic1:"));
  EXPECT_TRUE(contains(dump, "jwt_secret: \"***\""));
  EXPECT_TRUE(contains(dump, "verify_token: \"***\""));
  EXPECT_TRUE(contains(dump, "from env RECADO_TENANTS_CLINIC1_WEBHOOKS_CALCOM_SECRET"));
  EXPECT_TRUE(contains(dump, "from file " + chatwoot_token.path()));
}

TEST_F(ConfigTest, DumpOfTenantsReadsBack) {
  const Config original = parse_config(kFullTenant, "a.yaml");
  const Config again = parse_config(dump_config(original), "dump.yaml");
  ASSERT_EQ(again.tenants.size(), 2u);
  EXPECT_EQ(again.tenant("clinic1")->debounce, seconds{2});
  EXPECT_EQ(again.tenant("clinic1")->webhooks.size(), 5u);
  EXPECT_EQ(again.tenant("clinic1")->webhook(Provider::evolution)->token_header, "x-evo-token");
  EXPECT_TRUE(again.tenant("clinic-2")->webhook(Provider::calcom)->allow_unsigned);
}

// Errors about a whole entry (an unknown provider, a bad tenant id, a provider without
// credentials) are placed at the entry's value (Section::location(), src/config.cpp:137,
// fed the value node by Section::entries(), src/config.cpp:129). When that value is empty,
// yaml-cpp marks the next token instead: `whatsapp:` on line 4 is reported at 5:1, a line
// past the end of the file, and an empty `cloudapi:` at the position of the key after it.
// Disabled until the location names the key itself.
TEST_F(ConfigTest, EntryErrorsPointAtTheKeyEvenWhenItsValueIsEmpty) {
  EXPECT_TRUE(contains(error_of("tenants:\n  clinic1:\n    webhooks:\n      whatsapp:\n"),
                       "recado.yaml:4:7"));
  EXPECT_TRUE(
      contains(error_of("tenants:\n  clinic1:\n    webhooks:\n      cloudapi:\n    debounce: 2s\n"),
               "recado.yaml:4:7"));
  EXPECT_TRUE(contains(error_of("tenants:\n  Bad Id:\n"), "recado.yaml:2:3"));
}

// YAML forbids duplicate keys, but yaml-cpp keeps both; read_tenant then stores two
// WebhookConfigs for one provider and TenantConfig::webhook() uses the first, so the second
// block (perhaps the one with the right token) is silently ignored. Same for a tenant id
// given twice (Config::tenant() returns the first). Disabled until Section::entries()
// (src/config.cpp:120) refuses a repeated name.
TEST_F(ConfigTest, ProviderGivenTwiceIsAnError) {
  const std::string yaml =
      "tenants:\n  clinic1:\n    webhooks:\n      whaticket:\n        token: a\n"
      "      whaticket:\n        token: b\n";
  try {
    const Config c = parse_config(yaml, "recado.yaml");
    ADD_FAILURE() << "accepted, with " << c.tenants[0].webhooks.size() << " whaticket blocks";
  } catch (const ConfigError& e) {
    EXPECT_TRUE(contains(e.what(), "whaticket"));
  }
}

TEST_F(ConfigTest, AKeyThatIsNotANameIsAConfigError) {
  // A YAML mapping may have a list as a key; the configuration has no use for one.
  EXPECT_TRUE(contains(error_of("? [a, b]\n: 1\n"), "recado.yaml:1:"));
}

// --- worker.http and worker.breakers --------------------------------------------------------

TEST_F(ConfigTest, HttpAndBreakerDefaults) {
  const Config c = parse_config("", "recado.yaml");
  EXPECT_EQ(c.worker.http.connect_timeout, seconds{5});
  EXPECT_EQ(c.worker.http.timeout, seconds{60});
  EXPECT_EQ(c.worker.http.max_response_bytes, 4u << 20);
  EXPECT_EQ(c.worker.http.ca_file, "");
  const BreakerConfig& b = c.worker.breakers;
  EXPECT_EQ(b.failures_to_open, 5);
  EXPECT_EQ(b.failure_rate, 0.5);
  EXPECT_EQ(b.min_calls, 20);
  EXPECT_EQ(b.window, seconds{60});
  EXPECT_EQ(b.cool_down, seconds{30});
  EXPECT_EQ(b.probes, 1);
  EXPECT_EQ(b.refresh, seconds{1});
}

TEST_F(ConfigTest, ReadsHttpAndBreakerKeys) {
  const Config c = parse_config(R"(
worker:
  http:
    connect_timeout: 2s
    timeout: 90s
    max_response_bytes: 1048576
    ca_file: /etc/ssl/private-ca.pem
  breakers:
    failures_to_open: 3
    failure_rate: 0.25
    min_calls: 8
    window: 2m
    cool_down: 45s
    probes: 2
    refresh: 250ms
)",
                                "recado.yaml");
  EXPECT_EQ(c.worker.http.connect_timeout, seconds{2});
  EXPECT_EQ(c.worker.http.timeout, seconds{90});
  EXPECT_EQ(c.worker.http.max_response_bytes, 1048576u);
  EXPECT_EQ(c.worker.http.ca_file, "/etc/ssl/private-ca.pem");
  const BreakerConfig& b = c.worker.breakers;
  EXPECT_EQ(b.failures_to_open, 3);
  EXPECT_EQ(b.failure_rate, 0.25);
  EXPECT_EQ(b.min_calls, 8);
  EXPECT_EQ(b.window, minutes{2});
  EXPECT_EQ(b.cool_down, seconds{45});
  EXPECT_EQ(b.probes, 2);
  EXPECT_EQ(b.refresh, milliseconds{250});
  // A rate of exactly 1 (every call failed) is allowed.
  EXPECT_EQ(parse_config("worker:\n  breakers:\n    failure_rate: 1\n", "r.yaml").worker.breakers.failure_rate, 1.0);
}

TEST_F(ConfigTest, BadHttpAndBreakerValuesNameTheKeyAndWhere) {
  struct Case {
    const char* yaml;
    const char* key;
    const char* at;
  };
  const Case cases[] = {
      {"worker:\n  http:\n    connect_timeout: 0s\n", "'worker.http.connect_timeout'", "recado.yaml:3:22"},
      {"worker:\n  http:\n    timeout: soon\n", "'worker.http.timeout'", "recado.yaml:3:14"},
      {"worker:\n  http:\n    max_response_bytes: 0\n", "'worker.http.max_response_bytes'", "recado.yaml:3:25"},
      {"worker:\n  http:\n    max_response_bytes: -1\n", "'worker.http.max_response_bytes'", "recado.yaml:3:25"},
      {"worker:\n  http:\n    ca_file: [a]\n", "'worker.http.ca_file'", "recado.yaml:3:14"},
      {"worker:\n  breakers:\n    failures_to_open: 0\n", "'worker.breakers.failures_to_open'", "recado.yaml:3:23"},
      {"worker:\n  breakers:\n    failure_rate: 0\n", "'worker.breakers.failure_rate'", "recado.yaml:3:19"},
      {"worker:\n  breakers:\n    failure_rate: 1.5\n", "'worker.breakers.failure_rate'", "recado.yaml:3:19"},
      {"worker:\n  breakers:\n    failure_rate: -0.5\n", "'worker.breakers.failure_rate'", "recado.yaml:3:19"},
      {"worker:\n  breakers:\n    failure_rate: half\n", "'worker.breakers.failure_rate'", "recado.yaml:3:19"},
      {"worker:\n  breakers:\n    failure_rate: nan\n", "'worker.breakers.failure_rate'", "recado.yaml:3:19"},
      {"worker:\n  breakers:\n    min_calls: 0\n", "'worker.breakers.min_calls'", "recado.yaml:3:16"},
      {"worker:\n  breakers:\n    window: 0s\n", "'worker.breakers.window'", "recado.yaml:3:13"},
      {"worker:\n  breakers:\n    cool_down: 0ms\n", "'worker.breakers.cool_down'", "recado.yaml:3:16"},
      {"worker:\n  breakers:\n    probes: 0\n", "'worker.breakers.probes'", "recado.yaml:3:13"},
      {"worker:\n  breakers:\n    refresh: 0s\n", "'worker.breakers.refresh'", "recado.yaml:3:14"},
      {"worker:\n  breakers:\n    probes: 1\n    cooldown: 5s\n", "unknown key 'worker.breakers.cooldown'",
       "recado.yaml:4:5"},
      {"worker:\n  http:\n    timeot: 5s\n", "unknown key 'worker.http.timeot'", "recado.yaml:3:5"},
      {"worker:\n  http: 5s\n", "'worker.http' must be a mapping", "recado.yaml:2:9"},
  };
  for (const Case& c : cases) {
    const std::string msg = error_of(c.yaml);
    EXPECT_TRUE(contains(msg, c.key)) << c.yaml;
    EXPECT_TRUE(contains(msg, c.at)) << c.yaml;
  }
}

TEST_F(ConfigTest, EnvironmentOverridesHttpAndBreakerKeys) {
  ScopedEnv timeout("RECADO_WORKER_HTTP_TIMEOUT", "2m");
  ScopedEnv ca("RECADO_WORKER_HTTP_CA_FILE", "/env/ca.pem");
  ScopedEnv rate("RECADO_WORKER_BREAKERS_FAILURE_RATE", "0.75");
  ScopedEnv probes("RECADO_WORKER_BREAKERS_PROBES", "3");
  const Config c = parse_config("worker:\n  http:\n    timeout: 10s\n  breakers:\n    probes: 1\n", "recado.yaml");
  EXPECT_EQ(c.worker.http.timeout, minutes{2});
  EXPECT_EQ(c.worker.http.ca_file, "/env/ca.pem");
  EXPECT_EQ(c.worker.breakers.failure_rate, 0.75);
  EXPECT_EQ(c.worker.breakers.probes, 3);
  EXPECT_EQ(c.worker.breakers.min_calls, 20);  // not overridden
}

TEST_F(ConfigTest, BadBreakerEnvironmentValueNamesTheVariable) {
  ScopedEnv rate("RECADO_WORKER_BREAKERS_FAILURE_RATE", "2");
  const std::string msg = error_of("");
  EXPECT_TRUE(contains(msg, "RECADO_WORKER_BREAKERS_FAILURE_RATE"));
  EXPECT_TRUE(contains(msg, "(0, 1]"));
}

// --- tenants' business hours and send limits -------------------------------------------------

constexpr const char* kHoursAndLimits = R"(
tenants:
  clinic:
    business_hours:
      time_zone: America/Sao_Paulo
      mon: "08:00-12:00, 13:00-18:00"
      tue: 08:00-12:00, 13:00-18:00
      wed: "13:00-18:00,08:00-12:00"
      thu: ""
      fri: "22:00-24:00"
      sat:
      sun: closed
    send_limits:
      min_spacing: 2s
      per_hour: 200
      per_day: 1000
      per_recipient_spacing: 6s
  shop:
    debounce: 1s
)";

TEST_F(ConfigTest, TenantBusinessHoursAndSendLimitsParse) {
  const Config c = parse_config(kHoursAndLimits, "recado.yaml");
  const TenantConfig* clinic = c.tenant("clinic");
  ASSERT_NE(clinic, nullptr);
  const BusinessHours& h = clinic->business_hours;
  EXPECT_FALSE(h.always_open);
  EXPECT_EQ(h.time_zone, "America/Sao_Paulo");
  const std::vector<OpenInterval> weekday{{8 * 60, 12 * 60}, {13 * 60, 18 * 60}};
  EXPECT_EQ(h.days[0], weekday);
  EXPECT_EQ(h.days[1], weekday);  // unquoted, a plain YAML string
  EXPECT_EQ(h.days[2], weekday);  // sorted
  EXPECT_TRUE(h.days[3].empty());  // ""
  EXPECT_EQ(h.days[4], (std::vector<OpenInterval>{{22 * 60, 24 * 60}}));
  EXPECT_TRUE(h.days[5].empty());  // no value
  EXPECT_TRUE(h.days[6].empty());  // closed
  const SendLimits& l = clinic->send_limits;
  EXPECT_EQ(l.min_spacing, seconds{2});
  EXPECT_EQ(l.per_hour, 200);
  EXPECT_EQ(l.per_day, 1000);
  EXPECT_EQ(l.per_recipient_spacing, seconds{6});
  EXPECT_TRUE(l.any());

  // Without either: always open, no limits.
  const TenantConfig* shop = c.tenant("shop");
  ASSERT_NE(shop, nullptr);
  EXPECT_TRUE(shop->business_hours.always_open);
  EXPECT_FALSE(shop->send_limits.any());
  EXPECT_EQ(shop->send_limits.per_hour, 0);
}

TEST_F(ConfigTest, DaysNotListedAreClosedAndTheZoneDefaultsToUtc) {
  const Config c = parse_config(
      "tenants:\n  clinic:\n    business_hours:\n      sat: \"10:00-14:00\"\n", "recado.yaml");
  const BusinessHours& h = c.tenants[0].business_hours;
  EXPECT_FALSE(h.always_open);
  EXPECT_EQ(h.time_zone, "UTC");
  for (int i = 0; i < 7; ++i) EXPECT_EQ(h.days[i].empty(), i != 5) << i;
}

TEST_F(ConfigTest, OnlySomeSendLimits) {
  const Config c = parse_config("tenants:\n  clinic:\n    send_limits:\n      per_recipient_spacing: 1d\n",
                                "recado.yaml");
  const SendLimits& l = c.tenants[0].send_limits;
  EXPECT_EQ(l.per_recipient_spacing, hours{24});
  EXPECT_EQ(l.min_spacing, seconds{0});
  EXPECT_EQ(l.per_hour, 0);
  EXPECT_TRUE(l.any());
}

TEST_F(ConfigTest, BadBusinessHoursNameFileLineAndColumn) {
  struct Case {
    const char* body;  // under tenants.clinic.business_hours, from line 4
    const char* what;
    const char* at;
  };
  const Case cases[] = {
      {"      time_zone: America/Sao_Paolo\n", "unknown time zone 'America/Sao_Paolo'", "recado.yaml:4:18"},
      {"      time_zone: \"\"\n", "unknown time zone ''", "recado.yaml:4:18"},
      {"      mon: 8-12\n", "'8-12' is not a range", "recado.yaml:4:12"},
      {"      mon: \"08:00-12:00, 1300-1800\"\n", "'1300-1800' is not a range", "recado.yaml:4:12"},
      {"      tue: \"25:00-26:00\"\n", "is not a range", "recado.yaml:4:12"},
      {"      wed: \"18:00-08:00\"\n", "does not close after it opens", "recado.yaml:4:12"},
      {"      wed: \"09:00-09:00\"\n", "does not close after it opens", "recado.yaml:4:12"},
      {"      thu: \"08:00-12:00, 11:30-14:00\"\n", "08:00-12:00 and 11:30-14:00 overlap", "recado.yaml:4:12"},
      {"      fri: \"08:00-12:00,\"\n", "an empty range", "recado.yaml:4:12"},
      {"      sat: [\"09:00-12:00\"]\n", "must be a single value", "recado.yaml:4:12"},
      {"      mon: \"08:00-12:00\"\n      monday: \"08:00-12:00\"\n",
       "unknown key 'tenants.clinic.business_hours.monday'", "recado.yaml:5:7"},
      {"      mon: \"08:00-12:00\"\n      open: 24/7\n", "unknown key 'tenants.clinic.business_hours.open'",
       "recado.yaml:5:7"},
  };
  for (const Case& c : cases) {
    const std::string yaml = std::string("tenants:\n  clinic:\n    business_hours:\n") + c.body;
    const std::string msg = error_of(yaml);
    EXPECT_TRUE(contains(msg, c.what)) << yaml;
    EXPECT_TRUE(contains(msg, c.at)) << yaml;
    EXPECT_TRUE(contains(msg, "tenants.clinic.business_hours")) << yaml;
  }
}

TEST_F(ConfigTest, BusinessHoursThatNeverOpenAreAnError) {
  std::string msg = error_of("tenants:\n  clinic:\n    business_hours:\n      sun: closed\n");
  EXPECT_TRUE(contains(msg, "'tenants.clinic.business_hours' opens on no day"));
  EXPECT_TRUE(contains(msg, "recado.yaml:4:7"));
  msg = error_of("tenants:\n  clinic:\n    business_hours: {time_zone: Europe/Lisbon}\n");
  EXPECT_TRUE(contains(msg, "opens on no day"));
  EXPECT_TRUE(contains(msg, "recado.yaml:3:21"));
}

TEST_F(ConfigTest, BusinessHoursMustBeAMapping) {
  const std::string msg = error_of("tenants:\n  clinic:\n    business_hours: 9-5\n");
  EXPECT_TRUE(contains(msg, "'tenants.clinic.business_hours' must be a mapping"));
  EXPECT_TRUE(contains(msg, "recado.yaml:3:21"));
}

TEST_F(ConfigTest, BadSendLimitsNameFileLineAndColumn) {
  struct Case {
    const char* body;  // under tenants.clinic.send_limits, from line 4
    const char* key;
    const char* at;
  };
  const Case cases[] = {
      {"      per_hour: -1\n", "'tenants.clinic.send_limits.per_hour'", "recado.yaml:4:17"},
      {"      per_day: lots\n", "'tenants.clinic.send_limits.per_day'", "recado.yaml:4:16"},
      {"      min_spacing: 2d\n", "'tenants.clinic.send_limits.min_spacing': must be at most 1d",
       "recado.yaml:4:20"},
      {"      per_recipient_spacing: forever\n", "'tenants.clinic.send_limits.per_recipient_spacing'",
       "recado.yaml:4:30"},
      {"      per_recipient_spacing: 25h\n", "must be at most 1d", "recado.yaml:4:30"},
      {"      per_minute: 10\n", "unknown key 'tenants.clinic.send_limits.per_minute'", "recado.yaml:4:7"},
  };
  for (const Case& c : cases) {
    const std::string yaml = std::string("tenants:\n  clinic:\n    send_limits:\n") + c.body;
    const std::string msg = error_of(yaml);
    EXPECT_TRUE(contains(msg, c.key)) << yaml;
    EXPECT_TRUE(contains(msg, c.at)) << yaml;
  }
}

TEST_F(ConfigTest, EnvironmentOverridesBusinessHoursAndSendLimits) {
  ScopedEnv zone("RECADO_TENANTS_CLINIC_BUSINESS_HOURS_TIME_ZONE", "Europe/Lisbon");
  ScopedEnv sunday("RECADO_TENANTS_CLINIC_BUSINESS_HOURS_SUN", "10:00-12:00");
  ScopedEnv monday("RECADO_TENANTS_CLINIC_BUSINESS_HOURS_MON", "closed");
  ScopedEnv per_hour("RECADO_TENANTS_CLINIC_SEND_LIMITS_PER_HOUR", "30");
  ScopedEnv spacing("RECADO_TENANTS_CLINIC_SEND_LIMITS_MIN_SPACING", "5s");
  const Config c = parse_config(kHoursAndLimits, "recado.yaml");
  const TenantConfig* clinic = c.tenant("clinic");
  EXPECT_EQ(clinic->business_hours.time_zone, "Europe/Lisbon");
  EXPECT_TRUE(clinic->business_hours.days[0].empty());
  EXPECT_EQ(clinic->business_hours.days[6], (std::vector<OpenInterval>{{10 * 60, 12 * 60}}));
  EXPECT_EQ(clinic->business_hours.days[1].size(), 2u);  // not overridden
  EXPECT_EQ(clinic->send_limits.per_hour, 30);
  EXPECT_EQ(clinic->send_limits.min_spacing, seconds{5});
  EXPECT_EQ(clinic->send_limits.per_day, 1000);  // not overridden
}

TEST_F(ConfigTest, EnvironmentAloneGivesATenantBusinessHours) {
  // The file has no business_hours; one day from the environment makes the others closed.
  ScopedEnv saturday("RECADO_TENANTS_SHOP_BUSINESS_HOURS_SAT", "09:00-13:00");
  ScopedEnv per_day("RECADO_TENANTS_SHOP_SEND_LIMITS_PER_DAY", "500");
  const Config c = parse_config(kHoursAndLimits, "recado.yaml");
  const TenantConfig* shop = c.tenant("shop");
  EXPECT_FALSE(shop->business_hours.always_open);
  EXPECT_EQ(shop->business_hours.time_zone, "UTC");
  EXPECT_EQ(format_day_hours(shop->business_hours.days[5]), "09:00-13:00");
  EXPECT_TRUE(shop->business_hours.days[0].empty());
  EXPECT_EQ(shop->send_limits.per_day, 500);
}

TEST_F(ConfigTest, BadBusinessHoursFromTheEnvironmentNameTheVariable) {
  {
    ScopedEnv zone("RECADO_TENANTS_CLINIC_BUSINESS_HOURS_TIME_ZONE", "Nowhere/Town");
    const std::string msg = error_of(kHoursAndLimits);
    EXPECT_TRUE(contains(msg, "RECADO_TENANTS_CLINIC_BUSINESS_HOURS_TIME_ZONE"));
    EXPECT_TRUE(contains(msg, "Nowhere/Town"));
  }
  {
    ScopedEnv tuesday("RECADO_TENANTS_CLINIC_BUSINESS_HOURS_TUE", "17:00-09:00");
    const std::string msg = error_of(kHoursAndLimits);
    EXPECT_TRUE(contains(msg, "RECADO_TENANTS_CLINIC_BUSINESS_HOURS_TUE"));
    EXPECT_TRUE(contains(msg, "does not close after it opens"));
  }
  {
    ScopedEnv per_hour("RECADO_TENANTS_CLINIC_SEND_LIMITS_PER_HOUR", "-5");
    EXPECT_TRUE(contains(error_of(kHoursAndLimits), "RECADO_TENANTS_CLINIC_SEND_LIMITS_PER_HOUR"));
  }
}

TEST_F(ConfigTest, DumpOfHoursLimitsHttpAndBreakersReadsBack) {
  const Config original = parse_config(std::string(R"(
worker:
  http:
    timeout: 90s
    ca_file: /etc/ca.pem
  breakers:
    failure_rate: 0.3
    cool_down: 1500ms
)") + kHoursAndLimits,
                                       "a.yaml");
  const std::string dump = dump_config(original);
  const Config again = parse_config(dump, "dump.yaml");
  EXPECT_EQ(again.worker.http.timeout, seconds{90});
  EXPECT_EQ(again.worker.http.ca_file, "/etc/ca.pem");
  EXPECT_EQ(again.worker.http.max_response_bytes, original.worker.http.max_response_bytes);
  EXPECT_EQ(again.worker.breakers.failure_rate, 0.3);
  EXPECT_EQ(again.worker.breakers.cool_down, milliseconds{1500});
  EXPECT_EQ(again.worker.breakers.min_calls, 20);
  const TenantConfig* clinic = again.tenant("clinic");
  ASSERT_NE(clinic, nullptr);
  EXPECT_EQ(clinic->business_hours.time_zone, "America/Sao_Paulo");
  EXPECT_FALSE(clinic->business_hours.always_open);
  EXPECT_EQ(clinic->business_hours.days, original.tenant("clinic")->business_hours.days);
  EXPECT_EQ(clinic->send_limits.min_spacing, seconds{2});
  EXPECT_EQ(clinic->send_limits.per_hour, 200);
  EXPECT_EQ(clinic->send_limits.per_day, 1000);
  EXPECT_EQ(clinic->send_limits.per_recipient_spacing, seconds{6});
  // A tenant without business hours stays always open (and one without webhooks reads back).
  EXPECT_TRUE(again.tenant("shop")->business_hours.always_open);
  EXPECT_FALSE(again.tenant("shop")->send_limits.any());
  EXPECT_TRUE(contains(dump, "mon: \"08:00-12:00, 13:00-18:00\""));
  EXPECT_TRUE(contains(dump, "sun: \"closed\""));
}

// --- tenants' LLM and gateway ---------------------------------------------------------------

TEST_F(ConfigTest, TenantLlmAndGatewayAreReadWithTheirDefaults) {
  TempFile prompt("Você é a secretária da Clínica Sorriso.\nSeja breve.\n");
  const Config c = parse_config(
      "tenants:\n  clinic1:\n"
      "    llm:\n      provider: anthropic\n      api_key: sk-ant-x\n      model: claude-test\n"
      "      system_prompt_file: " + prompt.path() + "\n      fallback_message: Já te respondemos!\n"
      "    gateway:\n      provider: cloudapi\n      token: EAAB\n      phone_number_id: \"1234\"\n"
      "      template_name: retomar_conversa\n",
      "t.yaml");
  const TenantConfig& t = c.tenants.at(0);
  EXPECT_TRUE(t.llm.enabled());
  EXPECT_EQ(t.llm.base_url, "https://api.anthropic.com");
  EXPECT_EQ(t.llm.system_prompt, "Você é a secretária da Clínica Sorriso.\nSeja breve.\n");
  EXPECT_EQ(t.llm.max_output_tokens, 512);
  EXPECT_EQ(t.llm.fallback_message, "Já te respondemos!");
  EXPECT_EQ(t.gateway.base_url, "https://graph.facebook.com");
  EXPECT_EQ(t.gateway.api_version, "v21.0");
  EXPECT_EQ(t.gateway.template_name, "retomar_conversa");
  // Read back from the dump: the same values, the secrets masked.
  const std::string dump = dump_config(c);
  EXPECT_FALSE(contains(dump, "sk-ant-x"));
  EXPECT_FALSE(contains(dump, "EAAB"));
  const Config again = parse_config(dump, "dump.yaml");
  EXPECT_EQ(again.tenants.at(0).llm.system_prompt, t.llm.system_prompt);
  EXPECT_EQ(again.tenants.at(0).gateway.phone_number_id, "1234");
  // No llm or gateway: the tenant has none.
  EXPECT_FALSE(parse_config("tenants:\n  shop: {}\n", "s.yaml").tenants.at(0).llm.enabled());
}

TEST_F(ConfigTest, TenantLlmAndGatewayErrorsSayWhereAndWhat) {
  EXPECT_TRUE(contains(error_of("tenants:\n  a:\n    llm:\n      provider: mistral\n"), "provider"));
  EXPECT_TRUE(contains(error_of("tenants:\n  a:\n    llm:\n      provider: openai\n      api_key: k\n"),
                       "model is required"));
  EXPECT_TRUE(contains(error_of("tenants:\n  a:\n    llm:\n      provider: openai\n      model: m\n"),
                       "api_key (or api_key_file) is required"));
  EXPECT_TRUE(contains(error_of("tenants:\n  a:\n    llm:\n      provider: openai\n      model: m\n      api_key: k\n"
                                "      system_prompt_file: /nonexistent/prompt.txt\n"),
                       "/nonexistent/prompt.txt cannot be read"));
  EXPECT_TRUE(contains(error_of("tenants:\n  a:\n    gateway:\n      provider: evolution\n      token: t\n"
                                "      base_url: http://evo\n"),
                       "instance is required for evolution"));
  EXPECT_TRUE(contains(error_of("tenants:\n  a:\n    gateway:\n      provider: whaticket\n      token: t\n"),
                       "base_url is required for whaticket"));
  const std::string typo = error_of("tenants:\n  a:\n    gateway:\n      provider: cloudapi\n      token: t\n"
                                    "      phone_number_id: \"1\"\n      phone_id: \"2\"\n");
  EXPECT_TRUE(contains(typo, "recado.yaml:"));
  EXPECT_TRUE(contains(typo, "phone_id"));
}


// --- worker.poll_interval and llm.history_bytes ----------------------------------------------

TEST_F(ConfigTest, PollIntervalDefaultsToHalfASecondAndIsOverridable) {
  EXPECT_EQ(parse_config("", "r.yaml").worker.poll_interval, milliseconds{500});
  EXPECT_EQ(parse_config("worker:\n  poll_interval: 2s\n", "r.yaml").worker.poll_interval, seconds{2});
  ScopedEnv poll("RECADO_WORKER_POLL_INTERVAL", "250ms");
  EXPECT_EQ(parse_config("worker:\n  poll_interval: 2s\n", "r.yaml").worker.poll_interval, milliseconds{250});
}

constexpr const char* kLlmTenant =
    "tenants:\n  a:\n    llm:\n      provider: openai\n      api_key: k\n      model: m\n";

TEST_F(ConfigTest, HistoryBytesHasADefaultAKeyAndAVariable) {
  EXPECT_EQ(parse_config(kLlmTenant, "r.yaml").tenants.at(0).llm.history_bytes, 16000);
  EXPECT_EQ(LlmConfig{}.history_bytes, 16000);
  const Config c = parse_config(std::string(kLlmTenant) + "      history_bytes: 4096\n", "r.yaml");
  EXPECT_EQ(c.tenants.at(0).llm.history_bytes, 4096);
  EXPECT_EQ(parse_config(dump_config(c), "dump.yaml").tenants.at(0).llm.history_bytes, 4096);
  {
    ScopedEnv bytes("RECADO_TENANTS_A_LLM_HISTORY_BYTES", "8000");
    EXPECT_EQ(parse_config(kLlmTenant, "r.yaml").tenants.at(0).llm.history_bytes, 8000);
  }
  const std::string msg = error_of(std::string(kLlmTenant) + "      history_bytes: 0\n");
  EXPECT_TRUE(contains(msg, "recado.yaml:7:22"));
  EXPECT_TRUE(contains(msg, "'tenants.a.llm.history_bytes'"));
  EXPECT_TRUE(contains(error_of(std::string(kLlmTenant) + "      history_bytes: lots\n"), "expected an integer"));
}

// --- tenants' Cal.com ---------------------------------------------------------------------

TEST_F(ConfigTest, CalcomDefaults) {
  const CalcomConfig none = parse_config("tenants:\n  a: {}\n", "r.yaml").tenants.at(0).calcom;
  EXPECT_FALSE(none.enabled());
  const Config c = parse_config("tenants:\n  a:\n    calcom:\n      api_key: cal_live_x\n", "r.yaml");
  const CalcomConfig& cal = c.tenants.at(0).calcom;
  EXPECT_TRUE(cal.enabled());
  EXPECT_EQ(cal.api_key.origin, "config");
  EXPECT_EQ(cal.base_url, "https://api.cal.com");
  EXPECT_TRUE(cal.event_type_ids.empty());
  EXPECT_EQ(cal.sync, "*/5 * * * *");
  ASSERT_TRUE(cal.sync_schedule.has_value());
  EXPECT_EQ(to_string(*cal.sync_schedule), "*/5 * * * *");
  EXPECT_EQ(cal.sync_schedule->time_zone, "UTC");  // no business hours: UTC
  EXPECT_EQ(cal.sync_window, hours{24});
  EXPECT_EQ(cal.booking_keywords,
            (std::vector<std::string>{"marcar", "agendar", "agendamento", "consulta", "horário", "horario",
                                      "remarcar", "cita", "reservar", "book", "appointment", "schedule"}));
}

TEST_F(ConfigTest, CalcomReadsEveryKeyAndSyncsInTheTenantsZone) {
  const Config c = parse_config(R"(
tenants:
  clinic:
    business_hours:
      time_zone: America/Sao_Paulo
      mon: "08:00-18:00"
    calcom:
      base_url: https://cal.clinic.example
      api_key: cal_live_y
      event_type_ids: [42, 7]
      sync: "0 9 * * mon-fri"
      sync_window: 3d
      booking_keywords:
        - turno
        - Cita
)",
                                "r.yaml");
  const CalcomConfig& cal = c.tenants.at(0).calcom;
  EXPECT_EQ(cal.base_url, "https://cal.clinic.example");
  EXPECT_EQ(cal.api_key.value, "cal_live_y");
  EXPECT_EQ(cal.event_type_ids, (std::vector<long long>{42, 7}));
  ASSERT_TRUE(cal.sync_schedule.has_value());
  EXPECT_EQ(to_string(*cal.sync_schedule), "0 9 * * 1-5");
  EXPECT_EQ(cal.sync_schedule->time_zone, "America/Sao_Paulo");
  EXPECT_EQ(c.tenants.at(0).time_zone(), "America/Sao_Paulo");
  EXPECT_EQ(cal.sync_window, hours{72});
  EXPECT_EQ(cal.booking_keywords, (std::vector<std::string>{"turno", "Cita"}));
  // The dump hides the key and reads back the same.
  const std::string dump = dump_config(c);
  EXPECT_FALSE(contains(dump, "cal_live_y"));
  const Config again = parse_config(dump, "dump.yaml");
  const CalcomConfig& back = again.tenants.at(0).calcom;
  EXPECT_EQ(back.base_url, cal.base_url);
  EXPECT_EQ(back.event_type_ids, cal.event_type_ids);
  EXPECT_EQ(back.sync, cal.sync);
  EXPECT_EQ(back.sync_window, cal.sync_window);
  EXPECT_EQ(back.booking_keywords, cal.booking_keywords);
}

TEST_F(ConfigTest, CalcomSyncOffOrEmptyDisablesIt) {
  for (const char* off : {"off", "\"\""}) {
    const Config c = parse_config(
        std::string("tenants:\n  a:\n    calcom:\n      api_key: k\n      sync: ") + off + "\n", "r.yaml");
    EXPECT_FALSE(c.tenants.at(0).calcom.sync_schedule.has_value()) << off;
    EXPECT_TRUE(c.tenants.at(0).calcom.enabled()) << off;
  }
  // An empty list of keywords is allowed (no message asks for a booking by its words).
  const Config c = parse_config("tenants:\n  a:\n    calcom:\n      api_key: k\n      booking_keywords: []\n", "r.yaml");
  EXPECT_TRUE(c.tenants.at(0).calcom.booking_keywords.empty());
}

TEST_F(ConfigTest, CalcomErrorsNameTheKeyAndWhatIsWrong) {
  const std::string cal = "tenants:\n  a:\n    calcom:\n      api_key: k\n";
  std::string msg = error_of(cal + "      sync: \"*/5 25 * * *\"\n");
  EXPECT_TRUE(contains(msg, "recado.yaml:5:13"));
  EXPECT_TRUE(contains(msg, "'tenants.a.calcom.sync'"));
  EXPECT_TRUE(contains(msg, "hour"));
  EXPECT_TRUE(contains(msg, "25"));
  msg = error_of(cal + "      sync: every five minutes\n");
  EXPECT_TRUE(contains(msg, "'tenants.a.calcom.sync'"));
  EXPECT_TRUE(contains(msg, "not a cron schedule"));

  msg = error_of(cal + "      event_type_ids: [1, two]\n");
  EXPECT_TRUE(contains(msg, "recado.yaml:5:27"));
  EXPECT_TRUE(contains(msg, "'tenants.a.calcom.event_type_ids[1]'"));
  EXPECT_TRUE(contains(msg, "two"));
  EXPECT_TRUE(contains(error_of(cal + "      event_type_ids: [0]\n"), "greater than 0"));
  msg = error_of(cal + "      event_type_ids: 5\n");
  EXPECT_TRUE(contains(msg, "'tenants.a.calcom.event_type_ids' must be a list"));
  EXPECT_TRUE(contains(error_of(cal + "      booking_keywords: [[a]]\n"),
                       "'tenants.a.calcom.booking_keywords[0]' must be a single value"));

  msg = error_of(cal + "      sync_window: 0s\n");
  EXPECT_TRUE(contains(msg, "'tenants.a.calcom.sync_window'"));
  EXPECT_TRUE(contains(error_of(cal + "      base_url: api.cal.com\n"), "'tenants.a.calcom.base_url'"));
  EXPECT_TRUE(contains(error_of("tenants:\n  a:\n    calcom:\n      event_type_ids: [1]\n"),
                       "api_key (or api_key_file) is required"));
  msg = error_of(cal + "      event_types: [1]\n");
  EXPECT_TRUE(contains(msg, "unknown key 'tenants.a.calcom.event_types'"));
}

TEST_F(ConfigTest, EnvironmentConfiguresCalcom) {
  // The key alone, from the environment, enables it; lists are comma-separated.
  ScopedEnv key("RECADO_TENANTS_A_CALCOM_API_KEY", "cal_env");
  ScopedEnv ids("RECADO_TENANTS_A_CALCOM_EVENT_TYPE_IDS", " 9, 10 ,");
  ScopedEnv words("RECADO_TENANTS_A_CALCOM_BOOKING_KEYWORDS", "turno,cita");
  ScopedEnv window("RECADO_TENANTS_A_CALCOM_SYNC_WINDOW", "2d");
  {
    ScopedEnv sync("RECADO_TENANTS_A_CALCOM_SYNC", "off");
    const Config c = parse_config("tenants:\n  a: {}\n", "r.yaml");
    const CalcomConfig& cal = c.tenants.at(0).calcom;
    EXPECT_TRUE(cal.enabled());
    EXPECT_EQ(cal.api_key.origin, "env RECADO_TENANTS_A_CALCOM_API_KEY");
    EXPECT_EQ(cal.event_type_ids, (std::vector<long long>{9, 10}));
    EXPECT_EQ(cal.booking_keywords, (std::vector<std::string>{"turno", "cita"}));
    EXPECT_EQ(cal.sync_window, hours{48});
    EXPECT_FALSE(cal.sync_schedule.has_value());
    EXPECT_TRUE(contains(dump_config(c), "from env RECADO_TENANTS_A_CALCOM_API_KEY"));
    EXPECT_FALSE(contains(dump_config(c), "cal_env"));
  }
  {
    ScopedEnv sync("RECADO_TENANTS_A_CALCOM_SYNC", "61 * * * *");
    const std::string msg = error_of("tenants:\n  a: {}\n");
    EXPECT_TRUE(contains(msg, "environment RECADO_TENANTS_A_CALCOM_SYNC"));
    EXPECT_TRUE(contains(msg, "minute"));
  }
  {
    ScopedEnv bad_ids("RECADO_TENANTS_A_CALCOM_EVENT_TYPE_IDS", "9,x");
    const std::string msg = error_of("tenants:\n  a: {}\n");
    EXPECT_TRUE(contains(msg, "environment RECADO_TENANTS_A_CALCOM_EVENT_TYPE_IDS: item 2"));
  }
}

// --- tenants' follow-ups ----------------------------------------------------------------------

constexpr const char* kFollowups = R"(
tenants:
  clinic:
    followups:
      - name: reminder_24h
        when: before_start
        offset: 24h
        text: "Olá {name}, lembrete: {title} em {weekday}, {date} às {time} ({tenant})."
      - name: thanks
        when: after_end
        offset: 1h
        text: Obrigado pela visita!
      - name: nudge-1
        when: quiet
        offset: 30m
        llm: true
        prompt: Pergunte se a pessoa ainda quer marcar.
        text: "Oi {name}, ainda posso ajudar?"
)";

TEST_F(ConfigTest, FollowupsAreReadInOrder) {
  const Config c = parse_config(kFollowups, "r.yaml");
  const TenantConfig& t = c.tenants.at(0);
  ASSERT_EQ(t.followups.size(), 3u);
  EXPECT_EQ(t.followups[0].name, "reminder_24h");
  EXPECT_EQ(t.followups[0].when, FollowupWhen::before_start);
  EXPECT_EQ(t.followups[0].offset, hours{24});
  EXPECT_FALSE(t.followups[0].llm);
  EXPECT_EQ(t.followups[1].when, FollowupWhen::after_end);
  EXPECT_EQ(t.followups[1].text, "Obrigado pela visita!");
  EXPECT_EQ(t.followups[2].when, FollowupWhen::quiet);
  EXPECT_EQ(t.followups[2].offset, minutes{30});
  EXPECT_TRUE(t.followups[2].llm);
  EXPECT_EQ(t.followups[2].prompt, "Pergunte se a pessoa ainda quer marcar.");
  ASSERT_NE(t.followup("thanks"), nullptr);
  EXPECT_EQ(t.followup("thanks")->offset, hours{1});
  EXPECT_EQ(t.followup("nope"), nullptr);
  EXPECT_TRUE(parse_config("tenants:\n  a: {}\n", "r.yaml").tenants.at(0).followups.empty());
  // The dump reads back the same rules.
  const Config again = parse_config(dump_config(c), "dump.yaml");
  const auto& back = again.tenants.at(0).followups;
  ASSERT_EQ(back.size(), 3u);
  for (std::size_t i = 0; i < back.size(); ++i) {
    EXPECT_EQ(back[i].name, t.followups[i].name);
    EXPECT_EQ(back[i].when, t.followups[i].when);
    EXPECT_EQ(back[i].offset, t.followups[i].offset);
    EXPECT_EQ(back[i].text, t.followups[i].text);
    EXPECT_EQ(back[i].llm, t.followups[i].llm);
    EXPECT_EQ(back[i].prompt, t.followups[i].prompt);
  }
}

TEST_F(ConfigTest, FollowupErrorsNameTheRuleAndTheKey) {
  const std::string head = "tenants:\n  a:\n    followups:\n";
  const std::string rule = "      - name: r1\n        when: before_start\n        offset: 2h\n";
  struct Case {
    std::string yaml;
    std::vector<std::string> parts;
  };
  const Case cases[] = {
      {rule + "        text: hi\n" + rule + "        text: again\n",
       {"recado.yaml:8:15", "'tenants.a.followups.r1' is given twice"}},
      {rule + "        text: \"Hi {nome}, {when}\"\n",
       {"recado.yaml:7:15", "'tenants.a.followups.r1.text'", "rule 'r1'", "unknown placeholder {nome}"}},
      {rule + "        text: \"Hi {Name}\"\n", {"unknown placeholder {Name}"}},
      {"      - name: r1\n        when: before_start\n        offset: 0s\n        text: hi\n",
       {"recado.yaml:6:17", "'tenants.a.followups.r1.offset'", "longer than 0"}},
      {"      - name: r1\n        when: before_start\n        offset: soon\n        text: hi\n",
       {"'tenants.a.followups.r1.offset'", "expected a duration"}},
      {"      - name: r1\n        when: before_start\n        offset: -2h\n        text: hi\n",
       {"'tenants.a.followups.r1.offset'"}},
      {"      - name: r1\n        when: before_start\n        text: hi\n",
       {"recado.yaml:4:9", "'tenants.a.followups.r1'", "offset is required"}},
      {"      - name: r1\n        when: before_end\n        offset: 2h\n        text: hi\n",
       {"recado.yaml:5:15", "'tenants.a.followups.r1.when'", "before_start, after_end, quiet", "before_end"}},
      {"      - name: r1\n        offset: 2h\n        text: hi\n", {"'tenants.a.followups.r1'", "when is required"}},
      {"      - when: quiet\n        offset: 2h\n        text: hi\n",
       {"recado.yaml:4:9", "'tenants.a.followups[0]'", "name is required"}},
      {"      - name: Reminder 1\n        when: quiet\n        offset: 2h\n        text: hi\n",
       {"recado.yaml:4:15", "'tenants.a.followups[0].name'", "'Reminder 1' is not a name"}},
      {rule, {"'tenants.a.followups.r1'", "needs a text, or llm: true with a prompt"}},
      {rule + "        llm: true\n", {"'tenants.a.followups.r1'", "llm: true needs a prompt"}},
      {rule + "        text: hi\n        prompt: be nice\n", {"prompt is given but llm is not true"}},
      {rule + "        text: hi\n        statuses: [accepted]\n",
       {"recado.yaml:8:9", "unknown key 'tenants.a.followups.r1.statuses'"}},
      {"      name: r1\n", {"'tenants.a.followups' must be a list"}},
      {"      - r1\n", {"'tenants.a.followups[0]' must be a mapping"}},
  };
  for (const Case& c : cases) {
    const std::string msg = error_of(head + c.yaml);
    for (const std::string& part : c.parts) EXPECT_TRUE(contains(msg, part)) << c.yaml;
  }
}

TEST_F(ConfigTest, EnvironmentOverridesAFollowupRuleByItsName) {
  ScopedEnv offset("RECADO_TENANTS_CLINIC_FOLLOWUPS_REMINDER_24H_OFFSET", "12h");
  ScopedEnv text("RECADO_TENANTS_CLINIC_FOLLOWUPS_NUDGE_1_TEXT", "Oi {name}!");
  const Config c = parse_config(kFollowups, "r.yaml");
  EXPECT_EQ(c.tenants.at(0).followup("reminder_24h")->offset, hours{12});
  EXPECT_EQ(c.tenants.at(0).followup("nudge-1")->text, "Oi {name}!");
  EXPECT_EQ(c.tenants.at(0).followup("thanks")->offset, hours{1});  // not overridden
  {
    ScopedEnv bad("RECADO_TENANTS_CLINIC_FOLLOWUPS_THANKS_TEXT", "Obrigado, {nombre}");
    const std::string msg = error_of(kFollowups);
    EXPECT_TRUE(contains(msg, "environment RECADO_TENANTS_CLINIC_FOLLOWUPS_THANKS_TEXT"));
    EXPECT_TRUE(contains(msg, "unknown placeholder {nombre}"));
  }
  {
    ScopedEnv bad("RECADO_TENANTS_CLINIC_FOLLOWUPS_THANKS_WHEN", "later");
    EXPECT_TRUE(contains(error_of(kFollowups), "environment RECADO_TENANTS_CLINIC_FOLLOWUPS_THANKS_WHEN"));
  }
}

TEST(FollowupPlaceholders, UnknownOnesAreFoundOnceInOrder) {
  EXPECT_TRUE(unknown_followup_placeholders("{name} {date} {time} {weekday} {title} {tenant}").empty());
  EXPECT_TRUE(unknown_followup_placeholders("no braces, {} { name } {a-b} and a lone { too").empty());
  EXPECT_EQ(unknown_followup_placeholders("{nome} {name} {hora} {nome} {Name}"),
            (std::vector<std::string>{"nome", "hora", "Name"}));
  EXPECT_EQ(unknown_followup_placeholders("{{name}} {{x}}"), (std::vector<std::string>{"x"}));
  EXPECT_EQ(to_string(FollowupWhen::quiet), "quiet");
  EXPECT_EQ(parse_followup_when("after_end"), FollowupWhen::after_end);
  EXPECT_FALSE(parse_followup_when("later").has_value());
}

// --- periodic jobs ------------------------------------------------------------------------------

TEST_F(ConfigTest, PeriodicJobsAreReadWithTheirDefaults) {
  const Config c = parse_config(R"(
periodic:
  - name: morning-report
    cron: "0 8 * * mon-fri"
    time_zone: America/Sao_Paulo
    queue: reports
    kind: http_call
    payload:
      url: https://example.com/r
      retries: 3
      ratio: 0.5
      dry_run: false
      id: "007"
      nothing: ~
      tags: [a, 2]
      nested: {k: v}
  - name: tick
    cron: "@hourly"
    kind: noop
)",
                                "r.yaml");
  ASSERT_EQ(c.periodic.size(), 2u);
  const PeriodicConfig& p = c.periodic[0];
  EXPECT_EQ(p.name, "morning-report");
  EXPECT_EQ(p.cron, "0 8 * * mon-fri");
  EXPECT_EQ(p.time_zone, "America/Sao_Paulo");
  EXPECT_EQ(p.schedule.time_zone, "America/Sao_Paulo");
  EXPECT_EQ(to_string(p.schedule), "0 8 * * 1-5");
  EXPECT_EQ(p.queue, "reports");
  EXPECT_EQ(p.kind, "http_call");
  EXPECT_EQ(p.payload,
            R"({"dry_run":false,"id":"007","nested":{"k":"v"},"nothing":null,"ratio":0.5,"retries":3,)"
            R"("tags":["a",2],"url":"https://example.com/r"})");
  const PeriodicConfig& tick = c.periodic[1];
  EXPECT_EQ(tick.time_zone, "UTC");
  EXPECT_EQ(tick.queue, "default");
  EXPECT_EQ(tick.payload, "{}");
  EXPECT_EQ(to_string(tick.schedule), "0 * * * *");
  // The dump reads back the same.
  const Config again = parse_config(dump_config(c), "dump.yaml");
  ASSERT_EQ(again.periodic.size(), 2u);
  EXPECT_EQ(again.periodic[0].payload, p.payload);
  EXPECT_EQ(again.periodic[0].schedule, p.schedule);
  EXPECT_EQ(again.periodic[1].queue, "default");
}

TEST_F(ConfigTest, PeriodicErrorsNameTheEntryAndTheKey) {
  const std::pair<std::string, std::vector<std::string>> cases[] = {
      {"periodic:\n  - name: a\n    cron: \"@daily\"\n    kind: noop\n  - name: a\n    cron: \"@hourly\"\n    kind: noop\n",
       {"recado.yaml:5:11", "'periodic.a' is given twice"}},
      {"periodic:\n  - name: a\n    cron: \"0 0 32 * *\"\n    kind: noop\n",
       {"recado.yaml:3:11", "'periodic.a.cron'", "day of month", "32"}},
      {"periodic:\n  - name: a\n    cron: \"@daily\"\n    time_zone: Mars/Olympus\n    kind: noop\n",
       {"recado.yaml:4:16", "'periodic.a.time_zone'", "Mars/Olympus"}},
      {"periodic:\n  - name: a\n    kind: noop\n", {"'periodic.a'", "cron is required"}},
      {"periodic:\n  - name: a\n    cron: \"@daily\"\n", {"'periodic.a'", "kind is required"}},
      {"periodic:\n  - name: a\n    cron: \"@daily\"\n    kind: noop\n    queue: \"\"\n", {"'periodic.a.queue'"}},
      {"periodic:\n  - name: a\n    cron: \"@daily\"\n    kind: noop\n    payload: [1]\n",
       {"recado.yaml:5:14", "'periodic.a.payload' must be a mapping"}},
      {"periodic:\n  - name: a\n    cron: \"@daily\"\n    kind: noop\n    every: 5m\n",
       {"unknown key 'periodic.a.every'"}},
      {"periodic:\n  - cron: \"@daily\"\n", {"'periodic[0]'", "name is required"}},
      {"periodic:\n  a:\n    cron: \"@daily\"\n", {"'periodic' must be a list"}},
  };
  for (const auto& [yaml, parts] : cases) {
    const std::string msg = error_of(yaml);
    for (const std::string& part : parts) EXPECT_TRUE(contains(msg, part)) << yaml;
  }
}

TEST_F(ConfigTest, EnvironmentOverridesAPeriodicJobByItsName) {
  const std::string yaml = "periodic:\n  - name: tick\n    cron: \"@hourly\"\n    kind: noop\n";
  {
    ScopedEnv cron("RECADO_PERIODIC_TICK_CRON", "*/10 * * * *");
    ScopedEnv zone("RECADO_PERIODIC_TICK_TIME_ZONE", "Europe/Lisbon");
    ScopedEnv payload("RECADO_PERIODIC_TICK_PAYLOAD", R"({"b": 1, "a": "x"})");
    ScopedEnv queue("RECADO_PERIODIC_TICK_QUEUE", "maintenance");
    const Config c = parse_config(yaml, "r.yaml");
    EXPECT_EQ(to_string(c.periodic.at(0).schedule), "*/10 * * * *");
    EXPECT_EQ(c.periodic.at(0).schedule.time_zone, "Europe/Lisbon");
    EXPECT_EQ(c.periodic.at(0).payload, R"({"a":"x","b":1})");
    EXPECT_EQ(c.periodic.at(0).queue, "maintenance");
  }
  {
    ScopedEnv payload("RECADO_PERIODIC_TICK_PAYLOAD", "[1, 2]");
    EXPECT_TRUE(contains(error_of(yaml), "environment RECADO_PERIODIC_TICK_PAYLOAD: expected a JSON object"));
  }
  {
    ScopedEnv cron("RECADO_PERIODIC_TICK_CRON", "* * *");
    EXPECT_TRUE(contains(error_of(yaml), "environment RECADO_PERIODIC_TICK_CRON"));
  }
}

}  // namespace
}  // namespace recado

namespace recado {
namespace {

// Whether `path` (a.b.c) is written in `node`. A list of named items (followups, periodic)
// is entered by the item's name; `any_item`: by any of its items (each rule shows some keys,
// together they show them all).
bool written(const YAML::Node& node, std::string_view path, bool any_item = false) {
  if (path.empty()) return true;
  const std::size_t dot = path.find('.');
  const std::string key(path.substr(0, dot));
  const std::string_view rest = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  if (node.IsSequence()) {
    for (std::size_t i = 0; i < node.size(); ++i) {
      const YAML::Node item = node[i];
      if (item.IsMap() && item["name"] && (any_item || item["name"].Scalar() == key) && written(item, rest, any_item))
        return true;
    }
    return false;
  }
  return node.IsMap() && node[key] && written(node[key], rest, any_item);  // const: a lookup adds no key
}

TEST(ConfigReference, TheExampleFileWritesEveryKeyTheParserReads) {
  const std::string example = RECADO_SOURCE_DIR "/config/recado.example.yaml";
  const YAML::Node doc = YAML::LoadFile(example);
  std::ifstream in(example);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::set<std::string> paths = config_key_paths(example);
  // The parser's own reads: the whole table, down to tenants' and list items' keys.
  EXPECT_GT(paths.size(), 100u);
  for (const char* known : {"worker.claim_batch", "tenants.clinic1.llm.model", "tenants.clinic1.calcom.sync",
                            "ingress.dedup_window"})
    EXPECT_TRUE(paths.count(known)) << known;
  EXPECT_FALSE(written(doc, "worker.no_such_key"));
  std::vector<std::string> missing;
  for (const std::string& path : paths) {
    // Alternatives written once in the file's header: a secret from a file (<key>_file).
    if (path.ends_with("_file")) continue;
    if (written(doc, path) || written(doc, path, true)) continue;
    // A key of another choice (the Cloud API's, for an Evolution tenant) shown commented out.
    const std::string leaf = path.substr(path.rfind('.') + 1);
    if (text.find("# " + leaf + ":") != std::string::npos) continue;
    missing.push_back(path);
  }
  EXPECT_TRUE(missing.empty()) << "config/recado.example.yaml does not document: " << ::testing::PrintToString(missing);
}

}  // namespace
}  // namespace recado

namespace recado {
namespace {

// --- the secretary's keys: tool rounds, reply cache, budget, prices, contact limits, Cal.com texts

constexpr const char* kSecretary = R"yaml(
tenants:
  clinic1:
    llm:
      provider: openai
      api_key: k
      model: gpt-4o-mini
      max_tool_rounds: 2
      tool_time_limit: 90s
      reply_cache_ttl: 10m
      budget:
        daily_tokens: 200000
        monthly_tokens: 5000000
        daily_cost: 1.5
        monthly_cost: 30
        soft_limit: 0.9
    contact_limits:
      messages_per_minute: 3
      max_message_chars: 0
      replies_per_hour: 10
    calcom:
      api_key: k
      attendee_email_domain: clinic.example
      booked_text: "Marcado, {name}: {weekday} {date} {time}"
      cancelled_text: "Cancelado: {title}"
      rescheduled_text: "Remarcado para {date} às {time} ({tenant})"
llm_prices:
  gpt-4o-mini:
    input_per_million: 0.15
    output_per_million: 0.6
  claude-test:
    input_per_million: 3
    output_per_million: 15
)yaml";

TEST_F(ConfigTest, SecretaryKeysHaveTheirDefaults) {
  const Config c = parse_config(std::string(kLlmTenant) + "    calcom:\n      api_key: k\n  bare: {}\n", "r.yaml");
  ASSERT_EQ(c.tenants.size(), 2u);
  const TenantConfig& t = c.tenants.at(0);
  EXPECT_EQ(t.llm.max_tool_rounds, 4);
  EXPECT_EQ(t.llm.tool_time_limit, seconds{60});
  EXPECT_EQ(t.llm.reply_cache_ttl, Duration{0});
  EXPECT_EQ(t.llm.budget.daily_tokens, 0);
  EXPECT_EQ(t.llm.budget.monthly_tokens, 0);
  EXPECT_EQ(t.llm.budget.daily_cost, 0.0);
  EXPECT_EQ(t.llm.budget.monthly_cost, 0.0);
  EXPECT_DOUBLE_EQ(t.llm.budget.soft_limit, 0.8);
  EXPECT_FALSE(t.llm.budget.any());
  EXPECT_FALSE(t.llm.price.has_value());
  EXPECT_TRUE(c.llm_prices.empty());
  EXPECT_EQ(t.contact_limits.messages_per_minute, 6);
  EXPECT_EQ(t.contact_limits.max_message_chars, 2000);
  EXPECT_EQ(t.contact_limits.replies_per_hour, 30);
  EXPECT_EQ(t.calcom.attendee_email_domain, "whatsapp.invalid");
  EXPECT_EQ(t.calcom.booked_text, "");
  EXPECT_EQ(t.calcom.cancelled_text, "");
  EXPECT_EQ(t.calcom.rescheduled_text, "");
  // A tenant without an LLM still has the contact limits' defaults.
  const TenantConfig& bare = c.tenants.at(1);
  EXPECT_EQ(bare.contact_limits.messages_per_minute, 6);
  EXPECT_EQ(bare.contact_limits.max_message_chars, 2000);
  EXPECT_EQ(bare.contact_limits.replies_per_hour, 30);
  EXPECT_FALSE(bare.llm.price.has_value());
}

TEST_F(ConfigTest, SecretaryKeysAreReadFromTheFile) {
  const Config c = parse_config(kSecretary, "r.yaml");
  const TenantConfig& t = c.tenants.at(0);
  EXPECT_EQ(t.llm.max_tool_rounds, 2);
  EXPECT_EQ(t.llm.tool_time_limit, seconds{90});
  EXPECT_EQ(t.llm.reply_cache_ttl, minutes{10});
  EXPECT_EQ(t.llm.budget.daily_tokens, 200000);
  EXPECT_EQ(t.llm.budget.monthly_tokens, 5000000);
  EXPECT_DOUBLE_EQ(t.llm.budget.daily_cost, 1.5);
  EXPECT_DOUBLE_EQ(t.llm.budget.monthly_cost, 30);
  EXPECT_DOUBLE_EQ(t.llm.budget.soft_limit, 0.9);
  EXPECT_TRUE(t.llm.budget.any());
  EXPECT_TRUE(t.llm.budget.costs());
  ASSERT_TRUE(t.llm.price.has_value());
  EXPECT_DOUBLE_EQ(t.llm.price->input_per_million, 0.15);
  EXPECT_DOUBLE_EQ(t.llm.price->output_per_million, 0.6);
  ASSERT_EQ(c.llm_prices.size(), 2u);
  EXPECT_DOUBLE_EQ(c.llm_prices.at("claude-test").input_per_million, 3);
  EXPECT_DOUBLE_EQ(c.llm_prices.at("claude-test").output_per_million, 15);
  EXPECT_EQ(t.contact_limits.messages_per_minute, 3);
  EXPECT_EQ(t.contact_limits.max_message_chars, 0);  // 0: no limit
  EXPECT_EQ(t.contact_limits.replies_per_hour, 10);
  EXPECT_EQ(t.calcom.attendee_email_domain, "clinic.example");
  EXPECT_EQ(t.calcom.booked_text, "Marcado, {name}: {weekday} {date} {time}");
  EXPECT_EQ(t.calcom.cancelled_text, "Cancelado: {title}");
  EXPECT_EQ(t.calcom.rescheduled_text, "Remarcado para {date} às {time} ({tenant})");
  // A budget of tokens alone needs no price; a zero cost is no cost limit.
  const Config tokens = parse_config(std::string(kLlmTenant) +
                                         "      budget:\n        daily_tokens: 1000\n        daily_cost: 0\n",
                                     "r.yaml");
  EXPECT_TRUE(tokens.tenants.at(0).llm.budget.any());
  EXPECT_FALSE(tokens.tenants.at(0).llm.budget.costs());
  EXPECT_FALSE(tokens.tenants.at(0).llm.price.has_value());
  // soft_limit may be the whole limit; reply_cache_ttl may be 0.
  const Config edges = parse_config(std::string(kLlmTenant) +
                                        "      reply_cache_ttl: 0s\n      budget:\n        soft_limit: 1\n",
                                    "r.yaml");
  EXPECT_DOUBLE_EQ(edges.tenants.at(0).llm.budget.soft_limit, 1.0);
  EXPECT_EQ(edges.tenants.at(0).llm.reply_cache_ttl, Duration{0});
}

TEST_F(ConfigTest, APriceGoesToEachTenantWhoseModelItIs) {
  const Config c = parse_config(R"(
tenants:
  a:
    llm: {provider: openai, api_key: k, model: gpt-4o-mini}
  b:
    llm: {provider: anthropic, api_key: k, model: claude-test}
  c:
    llm: {provider: openai, api_key: k, model: gpt-4o-mini}
  d: {}
llm_prices:
  gpt-4o-mini: {input_per_million: 0.15, output_per_million: 0.6}
  gpt-4o: {input_per_million: 2.5, output_per_million: 10}
)",
                                "r.yaml");
  ASSERT_TRUE(c.tenant("a")->llm.price.has_value());
  EXPECT_DOUBLE_EQ(c.tenant("a")->llm.price->input_per_million, 0.15);
  EXPECT_DOUBLE_EQ(c.tenant("a")->llm.price->output_per_million, 0.6);
  EXPECT_FALSE(c.tenant("b")->llm.price.has_value());  // no price for its model
  ASSERT_TRUE(c.tenant("c")->llm.price.has_value());
  EXPECT_DOUBLE_EQ(c.tenant("c")->llm.price->output_per_million, 0.6);
  EXPECT_FALSE(c.tenant("d")->llm.price.has_value());  // no LLM
  // The model named in the environment is the one priced.
  ScopedEnv model("RECADO_TENANTS_B_LLM_MODEL", "gpt-4o");
  const Config env = parse_config(
      "tenants:\n  b:\n    llm: {provider: openai, api_key: k, model: claude-test}\n"
      "llm_prices:\n  gpt-4o: {input_per_million: 2.5, output_per_million: 10}\n",
      "r.yaml");
  ASSERT_TRUE(env.tenant("b")->llm.price.has_value());
  EXPECT_DOUBLE_EQ(env.tenant("b")->llm.price->input_per_million, 2.5);
}

TEST_F(ConfigTest, EnvironmentSetsTheSecretaryKeys) {
  ScopedEnv rounds("RECADO_TENANTS_CLINIC1_LLM_MAX_TOOL_ROUNDS", "6");
  ScopedEnv limit("RECADO_TENANTS_CLINIC1_LLM_TOOL_TIME_LIMIT", "2m");
  ScopedEnv ttl("RECADO_TENANTS_CLINIC1_LLM_REPLY_CACHE_TTL", "1h");
  ScopedEnv daily_tokens("RECADO_TENANTS_CLINIC1_LLM_BUDGET_DAILY_TOKENS", "1000");
  ScopedEnv monthly_tokens("RECADO_TENANTS_CLINIC1_LLM_BUDGET_MONTHLY_TOKENS", "20000");
  ScopedEnv daily_cost("RECADO_TENANTS_CLINIC1_LLM_BUDGET_DAILY_COST", "0.5");
  ScopedEnv monthly_cost("RECADO_TENANTS_CLINIC1_LLM_BUDGET_MONTHLY_COST", "9.75");
  ScopedEnv soft("RECADO_TENANTS_CLINIC1_LLM_BUDGET_SOFT_LIMIT", "0.6");
  ScopedEnv per_minute("RECADO_TENANTS_CLINIC1_CONTACT_LIMITS_MESSAGES_PER_MINUTE", "0");
  ScopedEnv chars("RECADO_TENANTS_CLINIC1_CONTACT_LIMITS_MAX_MESSAGE_CHARS", "500");
  ScopedEnv per_hour("RECADO_TENANTS_CLINIC1_CONTACT_LIMITS_REPLIES_PER_HOUR", "12");
  ScopedEnv domain("RECADO_TENANTS_CLINIC1_CALCOM_ATTENDEE_EMAIL_DOMAIN", "env.example");
  ScopedEnv booked("RECADO_TENANTS_CLINIC1_CALCOM_BOOKED_TEXT", "Ok {name}, {date}");
  ScopedEnv cancelled("RECADO_TENANTS_CLINIC1_CALCOM_CANCELLED_TEXT", "Cancelado {time}");
  ScopedEnv rescheduled("RECADO_TENANTS_CLINIC1_CALCOM_RESCHEDULED_TEXT", "Movido {weekday}");
  ScopedEnv input("RECADO_LLM_PRICES_GPT_4O_MINI_INPUT_PER_MILLION", "0.2");
  ScopedEnv output("RECADO_LLM_PRICES_GPT_4O_MINI_OUTPUT_PER_MILLION", "0.8");
  const Config c = parse_config(kSecretary, "r.yaml");
  const TenantConfig& t = c.tenants.at(0);
  EXPECT_EQ(t.llm.max_tool_rounds, 6);
  EXPECT_EQ(t.llm.tool_time_limit, minutes{2});
  EXPECT_EQ(t.llm.reply_cache_ttl, hours{1});
  EXPECT_EQ(t.llm.budget.daily_tokens, 1000);
  EXPECT_EQ(t.llm.budget.monthly_tokens, 20000);
  EXPECT_DOUBLE_EQ(t.llm.budget.daily_cost, 0.5);
  EXPECT_DOUBLE_EQ(t.llm.budget.monthly_cost, 9.75);
  EXPECT_DOUBLE_EQ(t.llm.budget.soft_limit, 0.6);
  EXPECT_EQ(t.contact_limits.messages_per_minute, 0);
  EXPECT_EQ(t.contact_limits.max_message_chars, 500);
  EXPECT_EQ(t.contact_limits.replies_per_hour, 12);
  EXPECT_EQ(t.calcom.attendee_email_domain, "env.example");
  EXPECT_EQ(t.calcom.booked_text, "Ok {name}, {date}");
  EXPECT_EQ(t.calcom.cancelled_text, "Cancelado {time}");
  EXPECT_EQ(t.calcom.rescheduled_text, "Movido {weekday}");
  EXPECT_DOUBLE_EQ(c.llm_prices.at("gpt-4o-mini").input_per_million, 0.2);
  ASSERT_TRUE(t.llm.price.has_value());
  EXPECT_DOUBLE_EQ(t.llm.price->input_per_million, 0.2);
  EXPECT_DOUBLE_EQ(t.llm.price->output_per_million, 0.8);
  EXPECT_DOUBLE_EQ(c.llm_prices.at("claude-test").input_per_million, 3);  // not overridden
}

TEST_F(ConfigTest, EnvironmentAloneSetsContactLimitsAndABudget) {
  ScopedEnv per_hour("RECADO_TENANTS_A_CONTACT_LIMITS_REPLIES_PER_HOUR", "5");
  ScopedEnv tokens("RECADO_TENANTS_A_LLM_BUDGET_MONTHLY_TOKENS", "700");
  const Config c = parse_config(kLlmTenant, "r.yaml");  // no contact_limits, no budget in the file
  EXPECT_EQ(c.tenants.at(0).contact_limits.replies_per_hour, 5);
  EXPECT_EQ(c.tenants.at(0).contact_limits.messages_per_minute, 6);
  EXPECT_EQ(c.tenants.at(0).llm.budget.monthly_tokens, 700);
}

TEST_F(ConfigTest, BadSecretaryValuesNameTheKeyAndWhere) {
  const std::string llm = kLlmTenant;
  const std::string cal = "tenants:\n  a:\n    calcom:\n      api_key: k\n";
  const std::string limits = "tenants:\n  a:\n    contact_limits:\n";
  struct Case {
    std::string yaml;
    std::vector<std::string> parts;
  };
  const Case cases[] = {
      {llm + "      max_tool_rounds: 0\n", {"recado.yaml:7:24", "'tenants.a.llm.max_tool_rounds'", "greater than 0"}},
      {llm + "      max_tool_rounds: -1\n", {"'tenants.a.llm.max_tool_rounds'", "greater than 0"}},
      {llm + "      max_tool_rounds: many\n", {"'tenants.a.llm.max_tool_rounds'", "expected an integer"}},
      {llm + "      tool_time_limit: 0s\n", {"recado.yaml:7:24", "'tenants.a.llm.tool_time_limit'", "longer than 0"}},
      {llm + "      tool_time_limit: -5s\n", {"'tenants.a.llm.tool_time_limit'", "-5s"}},
      {llm + "      reply_cache_ttl: -5m\n", {"recado.yaml:7:24", "'tenants.a.llm.reply_cache_ttl'", "-5m"}},
      {llm + "      budget:\n        daily_tokens: -1\n",
       {"recado.yaml:8:23", "'tenants.a.llm.budget.daily_tokens'", "must be 0 (no limit) or more"}},
      {llm + "      budget:\n        monthly_tokens: -1\n",
       {"'tenants.a.llm.budget.monthly_tokens'", "must be 0 (no limit) or more"}},
      {llm + "      budget:\n        daily_cost: -0.01\n",
       {"'tenants.a.llm.budget.daily_cost'", "must be 0 (no limit) or more"}},
      {llm + "      budget:\n        monthly_cost: -2\n",
       {"'tenants.a.llm.budget.monthly_cost'", "must be 0 (no limit) or more"}},
      {llm + "      budget:\n        daily_tokens: lots\n",
       {"'tenants.a.llm.budget.daily_tokens'", "expected an integer"}},
      {llm + "      budget:\n        soft_limit: 0\n",
       {"recado.yaml:8:21", "'tenants.a.llm.budget.soft_limit'", "above 0 and at most 1"}},
      {llm + "      budget:\n        soft_limit: 1.5\n", {"'tenants.a.llm.budget.soft_limit'", "above 0 and at most 1"}},
      {llm + "      budget:\n        soft_limit: -0.2\n", {"'tenants.a.llm.budget.soft_limit'", "above 0 and at most 1"}},
      {llm + "      budget:\n        soft_limit: 80%\n", {"'tenants.a.llm.budget.soft_limit'", "expected a number"}},
      {llm + "      budget:\n        hourly_tokens: 5\n",
       {"recado.yaml:8:9", "unknown key 'tenants.a.llm.budget.hourly_tokens'"}},
      {llm + "      budget: 5\n", {"'tenants.a.llm.budget' must be a mapping"}},
      {limits + "      messages_per_minute: -1\n",
       {"recado.yaml:4:28", "'tenants.a.contact_limits.messages_per_minute'", "must be 0 (no limit) or more"}},
      {limits + "      max_message_chars: -1\n",
       {"'tenants.a.contact_limits.max_message_chars'", "must be 0 (no limit) or more"}},
      {limits + "      replies_per_hour: -1\n",
       {"'tenants.a.contact_limits.replies_per_hour'", "must be 0 (no limit) or more"}},
      {limits + "      replies_per_day: 5\n", {"recado.yaml:4:7", "unknown key 'tenants.a.contact_limits.replies_per_day'"}},
      {cal + "      attendee_email_domain: \"\"\n",
       {"recado.yaml:5:30", "'tenants.a.calcom.attendee_email_domain'", "must be a domain name, got ''"}},
      {cal + "      attendee_email_domain: bob@clinic.example\n",
       {"'tenants.a.calcom.attendee_email_domain'", "must be a domain name, got 'bob@clinic.example'"}},
      {cal + "      attendee_email_domain: my clinic\n",
       {"'tenants.a.calcom.attendee_email_domain'", "got 'my clinic'"}},
      {cal + "      attendee_email_domain: clinic.example/x\n",
       {"'tenants.a.calcom.attendee_email_domain'", "got 'clinic.example/x'"}},
      {cal + "      booked_text: \"Oi {nome}, {date}\"\n",
       {"recado.yaml:5:20", "'tenants.a.calcom.booked_text'", "unknown placeholder {nome}"}},
      {cal + "      cancelled_text: \"{date} {quando}\"\n",
       {"'tenants.a.calcom.cancelled_text'", "unknown placeholder {quando}"}},
      {cal + "      rescheduled_text: \"{hora} {Name}\"\n",
       {"'tenants.a.calcom.rescheduled_text'", "unknown placeholder {hora}"}},
      {"llm_prices:\n  m:\n    input_per_million: -1\n",
       {"recado.yaml:3:24", "'llm_prices.m.input_per_million'", "a price is 0 or more"}},
      {"llm_prices:\n  m:\n    output_per_million: -0.5\n", {"'llm_prices.m.output_per_million'", "a price is 0 or more"}},
      {"llm_prices:\n  m:\n    input_per_million: cheap\n", {"'llm_prices.m.input_per_million'", "expected a number"}},
      {"llm_prices:\n  m:\n    per_token: 1\n", {"recado.yaml:3:5", "unknown key 'llm_prices.m.per_token'"}},
      {"llm_prices: [m]\n", {"recado.yaml:1:13", "'llm_prices' must be a mapping"}},
  };
  for (const Case& c : cases) {
    const std::string msg = error_of(c.yaml);
    for (const std::string& part : c.parts) EXPECT_TRUE(contains(msg, part)) << c.yaml;
  }
}

TEST_F(ConfigTest, ACostBudgetNeedsAPriceForTheTenantsModel) {
  const std::string llm = kLlmTenant;  // model m
  for (const char* limit : {"daily_cost: 2", "monthly_cost: 40"}) {
    const std::string budget = llm + "      budget:\n        " + limit + "\n";
    std::string msg = error_of(budget);
    EXPECT_TRUE(contains(msg, "recado.yaml:2:3: 'tenants.a'")) << limit;
    EXPECT_TRUE(contains(msg, "llm.budget sets a cost limit but llm_prices has no price for model 'm'")) << limit;
    // A price for another model does not help.
    msg = error_of(budget + "llm_prices:\n  gpt-4o-mini: {input_per_million: 1, output_per_million: 2}\n");
    EXPECT_TRUE(contains(msg, "no price for model 'm'")) << limit;
    // A price for the model does.
    const Config c = parse_config(budget + "llm_prices:\n  m: {input_per_million: 1, output_per_million: 2}\n", "r.yaml");
    ASSERT_TRUE(c.tenants.at(0).llm.price.has_value()) << limit;
    EXPECT_DOUBLE_EQ(c.tenants.at(0).llm.price->output_per_million, 2);
  }
  // From the environment too.
  ScopedEnv cost("RECADO_TENANTS_A_LLM_BUDGET_DAILY_COST", "1");
  EXPECT_TRUE(contains(error_of(llm), "no price for model 'm'"));
}

TEST_F(ConfigTest, BadSecretaryEnvironmentValuesNameTheVariable) {
  const std::string llm_and_cal = std::string(kLlmTenant) + "    calcom:\n      api_key: k\n";
  const std::pair<const char*, const char*> cases[] = {
      {"RECADO_TENANTS_A_LLM_MAX_TOOL_ROUNDS", "0"},
      {"RECADO_TENANTS_A_LLM_TOOL_TIME_LIMIT", "0s"},
      {"RECADO_TENANTS_A_LLM_REPLY_CACHE_TTL", "-1s"},
      {"RECADO_TENANTS_A_LLM_BUDGET_DAILY_TOKENS", "-5"},
      {"RECADO_TENANTS_A_LLM_BUDGET_MONTHLY_COST", "-1"},
      {"RECADO_TENANTS_A_LLM_BUDGET_SOFT_LIMIT", "0"},
      {"RECADO_TENANTS_A_LLM_BUDGET_SOFT_LIMIT", "1.01"},
      {"RECADO_TENANTS_A_CONTACT_LIMITS_MESSAGES_PER_MINUTE", "-1"},
      {"RECADO_TENANTS_A_CONTACT_LIMITS_MAX_MESSAGE_CHARS", "lots"},
      {"RECADO_TENANTS_A_CALCOM_ATTENDEE_EMAIL_DOMAIN", "a@b.example"},
      {"RECADO_TENANTS_A_CALCOM_BOOKED_TEXT", "Oi {nome}"},
      {"RECADO_TENANTS_A_CALCOM_CANCELLED_TEXT", "{x}"},
      {"RECADO_TENANTS_A_CALCOM_RESCHEDULED_TEXT", "{y}"},
  };
  for (const auto& [name, value] : cases) {
    ScopedEnv env(name, value);
    const std::string msg = error_of(llm_and_cal);
    EXPECT_TRUE(contains(msg, std::string("environment ") + name + ": ")) << name << "=" << value;
    EXPECT_FALSE(contains(msg, "recado.yaml:")) << name << "=" << value;
  }
  {
    ScopedEnv env("RECADO_TENANTS_A_CALCOM_BOOKED_TEXT", "Oi {nome}");
    EXPECT_TRUE(contains(error_of(llm_and_cal), "unknown placeholder {nome}"));
  }
  {
    ScopedEnv env("RECADO_TENANTS_A_LLM_BUDGET_SOFT_LIMIT", "0");
    EXPECT_TRUE(contains(error_of(llm_and_cal), "above 0 and at most 1"));
  }
  ScopedEnv price("RECADO_LLM_PRICES_M_INPUT_PER_MILLION", "-1");
  const std::string msg = error_of(llm_and_cal + "llm_prices:\n  m: {input_per_million: 1, output_per_million: 2}\n");
  EXPECT_TRUE(contains(msg, "environment RECADO_LLM_PRICES_M_INPUT_PER_MILLION: a price is 0 or more"));
}

TEST_F(ConfigTest, DumpShowsTheSecretaryKeysAndReadsBack) {
  const Config c = parse_config(kSecretary, "r.yaml");
  const std::string dump = dump_config(c);
  for (const char* part : {
           "      max_tool_rounds: 2\n      tool_time_limit: 90s\n      reply_cache_ttl: 10m\n",
           "      budget:\n        daily_tokens: 200000\n        monthly_tokens: 5000000\n        daily_cost: 1.5\n"
           "        monthly_cost: 30\n        soft_limit: 0.9\n",
           "    contact_limits:\n      messages_per_minute: 3\n      max_message_chars: 0\n      replies_per_hour: 10\n",
           "      attendee_email_domain: \"clinic.example\"\n",
           "      booked_text: \"Marcado, {name}: {weekday} {date} {time}\"\n",
           "      cancelled_text: \"Cancelado: {title}\"\n",
           "      rescheduled_text: \"Remarcado para {date} às {time} ({tenant})\"\n",
           "llm_prices:\n  \"claude-test\":\n    input_per_million: 3\n    output_per_million: 15\n"
           "  \"gpt-4o-mini\":\n    input_per_million: 0.15\n    output_per_million: 0.6\n",
       }) {
    EXPECT_TRUE(contains(dump, part));
  }
  const Config again = parse_config(dump, "dump.yaml");
  const TenantConfig& t = again.tenants.at(0);
  EXPECT_EQ(t.llm.max_tool_rounds, 2);
  EXPECT_EQ(t.llm.tool_time_limit, seconds{90});
  EXPECT_EQ(t.llm.reply_cache_ttl, minutes{10});
  EXPECT_EQ(t.llm.budget.daily_tokens, 200000);
  EXPECT_EQ(t.llm.budget.monthly_tokens, 5000000);
  EXPECT_DOUBLE_EQ(t.llm.budget.daily_cost, 1.5);
  EXPECT_DOUBLE_EQ(t.llm.budget.monthly_cost, 30);
  EXPECT_DOUBLE_EQ(t.llm.budget.soft_limit, 0.9);
  ASSERT_TRUE(t.llm.price.has_value());
  EXPECT_DOUBLE_EQ(t.llm.price->input_per_million, 0.15);
  EXPECT_EQ(again.llm_prices.size(), 2u);
  EXPECT_EQ(t.contact_limits.messages_per_minute, 3);
  EXPECT_EQ(t.contact_limits.max_message_chars, 0);
  EXPECT_EQ(t.contact_limits.replies_per_hour, 10);
  EXPECT_EQ(t.calcom.attendee_email_domain, "clinic.example");
  EXPECT_EQ(t.calcom.booked_text, c.tenants.at(0).calcom.booked_text);
  EXPECT_EQ(t.calcom.cancelled_text, c.tenants.at(0).calcom.cancelled_text);
  EXPECT_EQ(t.calcom.rescheduled_text, c.tenants.at(0).calcom.rescheduled_text);
  // The defaults show too.
  const std::string defaults = dump_config(parse_config(kLlmTenant, "r.yaml"));
  EXPECT_TRUE(contains(defaults, "      max_tool_rounds: 4\n      tool_time_limit: 1m\n      reply_cache_ttl: 0s\n"));
  EXPECT_TRUE(contains(defaults, "        soft_limit: 0.8\n"));
  EXPECT_TRUE(contains(defaults, "    contact_limits:\n      messages_per_minute: 6\n      max_message_chars: 2000\n"
                                 "      replies_per_hour: 30\n"));
  EXPECT_TRUE(contains(defaults, "llm_prices: {}\n"));
}

}  // namespace
}  // namespace recado
