// Configuration: YAML with defaults, environment overrides, errors that say where, secrets
// that never show.
#include "src/config.hpp"

#include <gtest/gtest.h>
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
  ASSERT_EQ(c.worker.queues.size(), 1u);
  EXPECT_EQ(c.worker.queues[0].name, "default");
  EXPECT_EQ(c.worker.queues[0].concurrency, 10);
  EXPECT_EQ(c.worker.lease, seconds{30});
  EXPECT_EQ(c.worker.backoff.base, seconds{1});
  EXPECT_EQ(c.worker.backoff.cap, hours{1});
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
  ASSERT_EQ(defaults.worker.queues.size(), 1u);
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
  EXPECT_EQ(dump_config(example), dump_config(defaults));
}

TEST_F(ConfigTest, DevFileParses) {
  const Config c = load_config(RECADO_SOURCE_DIR "/config/dev.yaml");
  EXPECT_EQ(c.ingress.api_token.value, "dev-token");
  EXPECT_EQ(c.worker.queues.size(), 5u);
  EXPECT_EQ(c.worker.shutdown_timeout, seconds{5});
}

TEST_F(ConfigTest, TestFileParses) {
  const Config c = load_config(RECADO_SOURCE_DIR "/config/test.yaml");
  EXPECT_EQ(c.log.format, "json");
  EXPECT_EQ(c.ingress.port, 0);
  EXPECT_EQ(c.worker.lease, seconds{2});
  EXPECT_EQ(c.worker.rescue_interval, milliseconds{500});
  EXPECT_EQ(c.worker.backoff.base, milliseconds{100});
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

}  // namespace
}  // namespace recado
