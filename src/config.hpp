#pragma once
// recado's configuration: plain structs with their defaults, read once at start-up from a
// YAML file, then overridden key by key from the environment (RECADO_ + the key's path in
// upper case, e.g. RECADO_DATABASE_URL, RECADO_WORKER_QUEUES_DEFAULT_CONCURRENCY).
// Unknown keys and bad values throw ConfigError naming the file, line and column (or the
// environment variable).
#include <array>
#include <cstddef>
#include <map>
#include <optional>
#include <stdexcept>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "src/backoff.hpp"
#include "src/business_hours.hpp"
#include "src/clock.hpp"
#include "src/cron.hpp"
#include "src/send_limits.hpp"

namespace recado {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A secret's value, and where it came from (never the value itself) for `config check`.
struct Secret {
  std::string value;
  std::string origin;  // "file /run/secrets/x", "env RECADO_...", "config", or "" when unset
  bool empty() const { return value.empty(); }
};

struct DatabaseConfig {
  std::string url;     // libpq URL; empty: `recado dev` starts its own PostgreSQL
  int pool_size = 4;   // database threads (connections) per process
};

struct LogConfig {
  std::string format = "text";  // text | json
  std::string level = "info";   // trace | debug | info | warn | error
  bool redact = true;           // phone numbers and message text masked in logs
};

struct IngressConfig {
  std::string host = "127.0.0.1";
  int port = 8080;
  Secret api_token;  // bearer token for POST /v1/jobs; empty refuses every job request
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_header_bytes = 16 << 10;
  int max_headers = 64;
  int max_connections = 4096;
  Duration idle_timeout = std::chrono::seconds{30};
  int group_commit_max_batch = 1000;  // requests per INSERT transaction
  int group_commit_committers = 1;    // such transactions in flight at once
  Duration read_timeout = std::chrono::seconds{10};    // a request must arrive in full within this
  Duration commit_timeout = std::chrono::seconds{5};   // no commit by then: 503, the sender retries
  Duration dedup_window = std::chrono::hours{24 * 7};  // inbound webhooks are kept (and deduplicated) this long
};

// The webhook providers recado accepts, as they appear in /webhooks/{tenant}/{provider}.
enum class Provider { evolution, whaticket, cloudapi, calcom, chatwoot };
std::string_view to_string(Provider p);
std::optional<Provider> parse_provider(std::string_view name);

// How one tenant's webhooks from one provider are authenticated. Which keys a provider
// takes is checked when the configuration is read.
struct WebhookConfig {
  Provider provider = Provider::evolution;
  Secret token;  // a shared token, in `token_header` or as the last path segment
  std::string token_header = "x-recado-token";
  Secret secret;        // HMAC key: Cloud API app secret, Cal.com and Chatwoot webhook secrets
  Secret jwt_secret;    // Evolution: HS256 JWT in Authorization: Bearer
  Secret verify_token;  // Cloud API: the GET verification handshake
  bool allow_unsigned = false;  // Cal.com: accept "no-secret-provided"
};

// What a tenant may spend on its LLM (tenants.<id>.llm.budget), counted from the usage the
// providers report, per day and per month in the tenant's time zone. 0: no limit. Costs are
// in the unit of `llm_prices`. At `soft_limit` (a share of a limit) recado warns; at a limit
// it stops calling the LLM for the tenant and sends the fallback message instead.
struct LlmBudget {
  long long daily_tokens = 0;
  long long monthly_tokens = 0;
  double daily_cost = 0;
  double monthly_cost = 0;
  double soft_limit = 0.8;
  bool any() const { return daily_tokens > 0 || monthly_tokens > 0 || daily_cost > 0 || monthly_cost > 0; }
  bool costs() const { return daily_cost > 0 || monthly_cost > 0; }
};

// The price of a model (llm_prices.<model>), per million tokens.
struct LlmPrice {
  double input_per_million = 0;
  double output_per_million = 0;
};

// Per contact, what reaches the LLM (tenants.<id>.contact_limits). 0: no limit.
struct ContactLimits {
  // Inbound messages per minute that reach the LLM: beyond it, the contact's messages are
  // stored but answered at most once per minute (the newest `messages_per_minute` of them).
  int messages_per_minute = 6;
  int max_message_chars = 2000;  // longer messages are cut for the prompt, with a note
  int replies_per_hour = 30;     // LLM replies to one contact per hour
};

// The LLM a tenant's replies come from (tenants.<id>.llm). No provider: no replies.
struct LlmConfig {
  std::string provider;  // openai (or any OpenAI-compatible server) | anthropic | gemini
  std::string base_url;  // default: the provider's public API
  Secret api_key;
  std::string model;
  int max_output_tokens = 512;
  int history_messages = 20;    // the newest messages of the conversation put in the prompt
  int history_bytes = 16000;    // ... and at most this many bytes of them (the newest kept)
  std::string system_prompt;    // inline, or read from system_prompt_file at start-up
  std::string language = "pt-BR";
  std::string fallback_message;  // sent once when the LLM cannot answer; "" sends nothing
  // The loop between the model and its tools (booking through the conversation): at most
  // this many rounds of tool calls, and this long from the first call to the last answer.
  int max_tool_rounds = 4;
  Duration tool_time_limit = std::chrono::seconds{60};
  // Identical questions (normalised text, same prompt) answered from a cache for this long;
  // 0 turns the cache off.
  Duration reply_cache_ttl{0};
  LlmBudget budget;
  std::optional<LlmPrice> price;  // llm_prices.<model>, when the configuration has one
  bool enabled() const { return !provider.empty(); }
};

// The WhatsApp gateway a tenant sends through (tenants.<id>.gateway). No provider: no sends.
struct GatewayConfig {
  std::string provider;  // evolution | whaticket | cloudapi
  std::string base_url;  // Cloud API default: https://graph.facebook.com
  Secret token;          // Evolution apikey, Whaticket and Cloud API bearer token
  std::string instance;          // Evolution: the instance name
  std::string phone_number_id;   // Cloud API: the sending number's id
  std::string api_version = "v21.0";      // Cloud API
  std::string template_name;              // Cloud API: what goes outside the 24-hour window
  std::string template_language = "pt_BR";
  bool enabled() const { return !provider.empty(); }
};

// A tenant's Cal.com account (tenants.<id>.calcom). No api_key: no Cal.com calls.
struct CalcomConfig {
  std::string base_url = "https://api.cal.com";
  Secret api_key;
  std::vector<long long> event_type_ids;  // the first is the one offered for booking
  // When bookings are fetched (calcom_sync), a 5-field cron expression read in the tenant's
  // time zone (business_hours.time_zone, UTC when the tenant has no business hours).
  // "" or "off" disables; then sync_schedule is nullopt.
  std::string sync = "*/5 * * * *";
  std::optional<CronSchedule> sync_schedule;  // parsed from `sync` when the config is read
  Duration sync_window = std::chrono::hours{24};  // how far back a sync's afterStart reaches
  // Bookings made in conversation: the attendee's email Cal.com requires is the contact's
  // number at this domain.
  std::string attendee_email_domain = "whatsapp.invalid";
  // What the contact is told when a booking is made, cancelled or moved in conversation; a
  // template with the follow-up placeholders ({date} {time} {weekday} {name} {title}
  // {tenant}). "": a default in the tenant's language.
  std::string booked_text, cancelled_text, rescheduled_text;
  // Words in an inbound message that mean the contact wants to book (matched case-insensitively).
  std::vector<std::string> booking_keywords = {
      "marcar", "agendar", "agendamento", "consulta", "horário", "horario",
      "remarcar", "cita", "reservar", "book", "appointment", "schedule"};
  bool enabled() const { return !api_key.empty(); }
};

// When a follow-up fires.
enum class FollowupWhen {
  before_start,  // `offset` before a booking starts
  after_end,     // `offset` after a booking ends
  quiet,         // the contact has been silent `offset` since our last reply
};
std::string_view to_string(FollowupWhen w);
std::optional<FollowupWhen> parse_followup_when(std::string_view text);

// One follow-up rule of a tenant (tenants.<id>.followups[]). At least one of `text` and `llm`.
struct FollowupRule {
  std::string name;  // [a-z0-9_-]+, unique within the tenant
  FollowupWhen when = FollowupWhen::before_start;
  Duration offset{0};  // > 0
  // A template: {name} {date} {time} {weekday} {title} {tenant} (checked when read).
  std::string text;
  // The LLM writes the message, told `prompt` (with the conversation and the booking).
  // With a text as well, the text is what goes out when the LLM cannot answer.
  bool llm = false;
  std::string prompt;  // required when llm is true, refused otherwise
};

// The placeholders a follow-up text may use.
inline constexpr std::array<std::string_view, 6> kFollowupPlaceholders = {
    "name", "date", "time", "weekday", "title", "tenant"};

// The placeholders in `text` that are not in kFollowupPlaceholders, in order of first
// appearance, each once. A placeholder is `{`, one or more of A-Z a-z 0-9 _, `}`; other
// braces ("{}", "{ name }", a lone "{") are plain text.
std::vector<std::string> unknown_followup_placeholders(std::string_view text);

struct TenantConfig {
  std::string id;
  std::vector<WebhookConfig> webhooks;
  // A burst of inbound messages is answered once: the reply runs `debounce` after the first
  // message of the burst and answers every message that arrived by then.
  Duration debounce = std::chrono::seconds{3};
  LlmConfig llm;
  GatewayConfig gateway;
  // When outbound messages may go out (absent: always), in the tenant's time zone.
  BusinessHours business_hours;
  // Per sending number of this tenant (absent: none).
  SendLimits send_limits;
  CalcomConfig calcom;
  std::vector<FollowupRule> followups;  // in the order written
  ContactLimits contact_limits;

  const WebhookConfig* webhook(Provider p) const;
  const FollowupRule* followup(std::string_view name) const;  // nullptr: no such rule
  // The tenant's time zone: business_hours.time_zone, UTC when it has no business hours.
  const std::string& time_zone() const { return business_hours.time_zone; }
};

struct QueueConfig {
  std::string name;
  int concurrency = 10;  // jobs of this queue in flight per worker process
};

// The worker's outbound HTTP client (LLM providers, gateways, Cal.com).
struct HttpClientConfig {
  Duration connect_timeout = std::chrono::seconds{5};
  Duration timeout = std::chrono::seconds{60};     // the whole request, first byte to last
  std::size_t max_response_bytes = 4 << 20;        // a longer body fails the request
  std::string ca_file;                             // PEM bundle; empty: the system's CAs
};

// Circuit breakers, one per provider endpoint, shared through PostgreSQL.
struct BreakerConfig {
  int failures_to_open = 5;      // failures in a row that open a closed breaker
  double failure_rate = 0.5;     // or this share of failed calls in `window`, in (0, 1] ...
  int min_calls = 20;            // ... once the window holds at least this many calls
  Duration window = std::chrono::seconds{60};
  Duration cool_down = std::chrono::seconds{30};  // open this long before probing (half-open)
  int probes = 1;                // calls let through half-open; all succeed: closed again
  Duration refresh = std::chrono::seconds{1};     // how often a worker rereads breaker states
};

struct WorkerConfig {
  // The queues this worker works, and how many of each at once: by default every queue the
  // built-in kinds use.
  std::vector<QueueConfig> queues{{"default", 10}, {"llm_reply", 20}, {"whatsapp_send", 10},
                                  {"followup", 10}, {"calcom_sync", 4}};
  int claim_batch = 100;  // most jobs one claim statement takes
  // Fallback wake-up that finds jobs whose run_at has come (NOTIFY covers new jobs); short
  // enough that a follow-up fires within a second of its time.
  Duration poll_interval = std::chrono::milliseconds{500};
  Duration lease = std::chrono::seconds{30};       // renewed every lease/3 while a job runs
  Duration rescue_interval = std::chrono::seconds{5};
  Duration shutdown_timeout = std::chrono::seconds{10};
  Duration job_timeout = std::chrono::minutes{5};  // a handler silent this long is a retry
  BackoffPolicy backoff;
  // GET /metrics and /healthz of a worker that runs without the ingress (port 0: none).
  std::string metrics_host = "127.0.0.1";
  int metrics_port = 0;
  Duration completed_retention = std::chrono::hours{24};
  Duration discarded_retention = std::chrono::hours{24 * 7};
  Duration prune_interval = std::chrono::minutes{1};
  // Not a key of its own: ingress.dedup_window, which the worker's pruning honours.
  Duration inbound_retention = std::chrono::hours{24 * 7};
  HttpClientConfig http;
  BreakerConfig breakers;
};

struct DevConfig {
  std::string data_dir = "var/pg";  // where `recado dev` keeps its PostgreSQL
  std::string postgres_bin = "/usr/lib/postgresql/15/bin";
  int sim_port = 8090;  // the provider simulator `recado dev` starts on 127.0.0.1 (0: none)
};

// An operator-defined periodic job (top-level `periodic:`): `kind` is enqueued on `queue`
// with `payload` each time `cron` fires in `time_zone`. The runtime adds its own built-in
// entries; they are not listed here.
struct PeriodicConfig {
  std::string name;  // unique
  std::string cron;  // as written
  std::string time_zone = "UTC";
  CronSchedule schedule;  // parsed from cron + time_zone
  std::string queue = "default";
  std::string kind;     // non-empty
  std::string payload = "{}";  // a JSON object, from the YAML map
};

struct Config {
  DatabaseConfig database;
  LogConfig log;
  IngressConfig ingress;
  WorkerConfig worker;
  DevConfig dev;
  std::vector<TenantConfig> tenants;
  std::vector<PeriodicConfig> periodic;
  std::map<std::string, LlmPrice> llm_prices;  // by model name
  std::string source;  // the file it was read from, or "" for defaults + environment

  const TenantConfig* tenant(std::string_view id) const;
};

// Reads `path` (empty: no file), then the environment. Throws ConfigError.
Config load_config(const std::string& path);
// Every key path (tenants.clinic1.llm.model, worker.queues.default.concurrency) the parser
// reads or looks for while it reads `path`: the table of keys the configuration reference
// (config/recado.example.yaml) is tested against.
std::set<std::string> config_key_paths(const std::string& path);
// Reads YAML text as if it were the file `name`; for tests.
Config parse_config(const std::string& yaml_text, const std::string& name);
// The effective configuration as YAML, secrets masked.
std::string dump_config(const Config& config);
// A libpq URL with its password replaced by "***".
std::string mask_url(const std::string& url);

}  // namespace recado
