#include "src/migrations.hpp"

#include <chrono>
#include <map>
#include <stdexcept>
#include <thread>

namespace recado {

namespace {

// Live jobs only: finished ones move to jobs_finished, so the hot table stays small and its
// indexes stay in memory.
constexpr const char* kQueueSchema = R"SQL(
CREATE TYPE recado.job_state AS ENUM
  ('available', 'running', 'retryable', 'completed', 'discarded', 'cancelled');

CREATE TABLE recado.jobs (
  id            bigserial PRIMARY KEY,
  queue         text NOT NULL,
  kind          text NOT NULL,
  payload       jsonb NOT NULL DEFAULT '{}',
  priority      smallint NOT NULL DEFAULT 0,
  run_at        timestamptz NOT NULL DEFAULT now(),
  state         recado.job_state NOT NULL DEFAULT 'available',
  attempt       integer NOT NULL DEFAULT 0,
  max_attempts  integer NOT NULL DEFAULT 25 CHECK (max_attempts > 0),
  errors        jsonb NOT NULL DEFAULT '[]',
  dedup_key     text,
  sequence_key  text,
  lease_owner   text,
  lease_until   timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  attempted_at  timestamptz,
  CHECK (state IN ('available', 'running', 'retryable'))
) WITH (fillfactor = 80);

-- The claim path: ready jobs of a queue in priority order.
CREATE INDEX jobs_ready ON recado.jobs (queue, priority, run_at, id)
  WHERE state IN ('available', 'retryable');
-- A second live job with the same dedup key is refused.
CREATE UNIQUE INDEX jobs_dedup_key ON recado.jobs (dedup_key) WHERE dedup_key IS NOT NULL;
-- Ordering within a sequence key, and at most one running job per key.
CREATE INDEX jobs_sequence ON recado.jobs (sequence_key, id) WHERE sequence_key IS NOT NULL;
CREATE UNIQUE INDEX jobs_sequence_running ON recado.jobs (sequence_key)
  WHERE state = 'running' AND sequence_key IS NOT NULL;
-- The rescuer's scan for expired leases.
CREATE INDEX jobs_lease ON recado.jobs (lease_until) WHERE state = 'running';

CREATE TABLE recado.jobs_finished (
  id            bigint PRIMARY KEY,
  queue         text NOT NULL,
  kind          text NOT NULL,
  payload       jsonb NOT NULL,
  priority      smallint NOT NULL,
  run_at        timestamptz NOT NULL,
  state         recado.job_state NOT NULL,
  attempt       integer NOT NULL,
  max_attempts  integer NOT NULL,
  errors        jsonb NOT NULL,
  dedup_key     text,
  sequence_key  text,
  created_at    timestamptz NOT NULL,
  attempted_at  timestamptz,
  finished_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_finished_prune ON recado.jobs_finished (state, finished_at);
CREATE INDEX jobs_finished_queue ON recado.jobs_finished (queue, state, id);

CREATE TABLE recado.queues (
  name        text PRIMARY KEY,
  paused      boolean NOT NULL DEFAULT false,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Keeps the last ten errors of a job, newest last.
CREATE FUNCTION recado.push_error(errors jsonb, attempt integer, message text)
RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT coalesce(jsonb_agg(e ORDER BY n), '[]'::jsonb) FROM (
    SELECT e, n FROM jsonb_array_elements(errors || jsonb_build_array(jsonb_build_object(
      'at', now(), 'attempt', attempt, 'error', message))) WITH ORDINALITY AS x(e, n)
    ORDER BY n DESC LIMIT 10) last_ten
$$;

CREATE TABLE recado.workers (
  id            text PRIMARY KEY,
  host          text NOT NULL,
  pid           integer NOT NULL,
  queues        text[] NOT NULL,
  started_at    timestamptz NOT NULL DEFAULT now(),
  heartbeat_at  timestamptz NOT NULL DEFAULT now()
);
)SQL";

// What the webhooks brought in, one row per message, status, booking event or handoff,
// normalised, with the exact body it came in. The unique key is the deduplication: a
// replayed webhook inserts nothing. Rows are pruned after ingress.dedup_window.
constexpr const char* kInboundSchema = R"SQL(
CREATE TABLE recado.inbound (
  id            bigserial PRIMARY KEY,
  tenant        text NOT NULL,
  provider      text NOT NULL,
  type          text NOT NULL CHECK (type IN ('message', 'status', 'booking', 'handoff')),
  dedup_key     text NOT NULL,
  conversation  text NOT NULL DEFAULT '',
  message_id    text NOT NULL DEFAULT '',
  sender        text NOT NULL DEFAULT '',
  sender_name   text NOT NULL DEFAULT '',
  kind          text NOT NULL,
  body          text NOT NULL DEFAULT '',
  from_me       boolean NOT NULL DEFAULT false,
  chat          text NOT NULL DEFAULT 'direct',
  detail        jsonb NOT NULL DEFAULT '{}',
  occurred_at   timestamptz,
  received_at   timestamptz NOT NULL DEFAULT now(),
  raw           text NOT NULL,
  UNIQUE (tenant, provider, dedup_key)
);
-- Pruning by age; rows arrive in time order, which a BRIN index needs.
CREATE INDEX inbound_received ON recado.inbound USING brin (received_at);

-- A debounced job (the reply to a burst of messages) holds its dedup key only until it
-- starts: a message that arrives while it runs gets a job of its own.
ALTER TABLE recado.jobs ADD COLUMN dedup_until_started boolean NOT NULL DEFAULT false;
)SQL";

// One row per circuit breaker (a provider endpoint under one tenant's credential), shared by
// every worker and recadoctl. Workers report outcomes in batches and read states often.
constexpr const char* kBreakerSchema = R"SQL(
CREATE TABLE recado.breakers (
  name             text PRIMARY KEY,
  state            text NOT NULL DEFAULT 'closed' CHECK (state IN ('closed', 'open', 'half_open')),
  forced           boolean NOT NULL DEFAULT false,  -- opened by an operator: no probes until closed
  run_failures     integer NOT NULL DEFAULT 0,      -- failures in a row
  window_start     timestamptz NOT NULL DEFAULT now(),
  window_calls     integer NOT NULL DEFAULT 0,
  window_failures  integer NOT NULL DEFAULT 0,
  opened_at        timestamptz,
  probe_at         timestamptz,                     -- open: the next probe may start then
  probes           integer NOT NULL DEFAULT 0,      -- half-open: probes started
  last_error       text,
  transitions      bigint NOT NULL DEFAULT 0,
  updated_at       timestamptz NOT NULL DEFAULT now()
);
)SQL";

// Send limits per sending WhatsApp number (send_limits.cpp). `senders` holds one row per
// number, only to be locked: it serialises the reservations of that number across every
// worker process. `sends` records each granted send for a day (kSendHistory); the limits
// read the newest few sends of a number, or of a number to one recipient, by index.
constexpr const char* kSendLimitsSchema = R"SQL(
CREATE TABLE recado.senders (
  sender      text PRIMARY KEY,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE recado.sends (
  sender     text NOT NULL,
  recipient  text NOT NULL,
  sent_at    timestamptz NOT NULL
);
-- min_spacing, per_hour, per_day: the newest sends of a number, newest first.
CREATE INDEX sends_sender ON recado.sends (sender, sent_at);
-- per_recipient_spacing: the newest send of a number to one recipient.
CREATE INDEX sends_recipient ON recado.sends (sender, recipient, sent_at);
-- Pruning by age; sends arrive in time order, which a BRIN index needs.
CREATE INDEX sends_sent_at ON recado.sends USING brin (sent_at);
)SQL";

// Who may be answered. A conversation taken over by a human (a Chatwoot signal or
// `recadoctl conversations handoff`) gets no bot reply until given back; a paused tenant
// (or '*': everything) sends nothing. Contacts are kept as their digits when they are
// phone numbers (5511987654321, whatever the gateway's suffix), so every provider's signal
// about one person lands on one row.
constexpr const char* kConversationSchema = R"SQL(
CREATE TABLE recado.conversations (
  id              bigserial PRIMARY KEY,
  tenant          text NOT NULL,
  contact         text NOT NULL,
  handed_off      boolean NOT NULL DEFAULT false,
  handed_off_at   timestamptz,
  handed_off_by   text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant, contact)
);
CREATE TABLE recado.pauses (
  scope      text PRIMARY KEY,  -- a tenant id, or '*' for every tenant
  paused_at  timestamptz NOT NULL DEFAULT now(),
  reason     text NOT NULL DEFAULT ''
);
CREATE FUNCTION recado.contact_key(conversation text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN conversation ~ '^\+?[0-9]+(@s\.whatsapp\.net|@c\.us)?$'
              THEN regexp_replace(conversation, '^\+|@.*$', '', 'g')
              ELSE conversation END
$$;
)SQL";

// What the secretary knows and did (the job kinds in jobs/). `messages` is each
// conversation's history, inbound (copied from `inbound` when a reply job reads them) and
// outbound, with the gateway's id and a delivery status that only moves forward
// (recado.status_rank). `bookings` mirrors Cal.com; `followups` records every follow-up ever
// planned, once per booking (or contact) and rule, so a re-sync never plans one twice.
// `leaders` elects one scheduler by lease (a plain row: it works behind a transaction
// pooler, unlike advisory locks) and `periodic` remembers the last slot each periodic job
// was enqueued for, so a leader change never enqueues a slot twice.
constexpr const char* kSecretarySchema = R"SQL(
ALTER TABLE recado.jobs ADD COLUMN result jsonb;
ALTER TABLE recado.jobs_finished ADD COLUMN result jsonb;

CREATE FUNCTION recado.status_rank(status text) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE status WHEN 'received' THEN 0 WHEN 'queued' THEN 0 WHEN 'sent' THEN 1
                     WHEN 'delivered' THEN 2 WHEN 'read' THEN 3 WHEN 'failed' THEN 4
                     WHEN 'discarded' THEN 4 ELSE -1 END
$$;
-- A gateway's status word as ours: Cloud API's sent/delivered/read/failed, Evolution's
-- SERVER_ACK/DELIVERY_ACK/READ/PLAYED/ERROR; NULL for one that says nothing (PENDING).
CREATE FUNCTION recado.delivery_status(word text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE lower(word) WHEN 'sent' THEN 'sent' WHEN 'server_ack' THEN 'sent'
                          WHEN 'delivered' THEN 'delivered' WHEN 'delivery_ack' THEN 'delivered'
                          WHEN 'read' THEN 'read' WHEN 'played' THEN 'read'
                          WHEN 'failed' THEN 'failed' WHEN 'error' THEN 'failed' END
$$;

CREATE TABLE recado.messages (
  id               bigserial PRIMARY KEY,
  tenant           text NOT NULL,
  contact          text NOT NULL,  -- recado.contact_key(conversation)
  conversation     text NOT NULL,  -- the chat id as the gateway gives it: where replies go
  direction        text NOT NULL CHECK (direction IN ('in', 'out')),
  provider         text NOT NULL,
  provider_id      text,           -- the gateway's message id (outbound: once sent)
  inbound_id       bigint,         -- inbound: the webhook row it came from
  origin           text NOT NULL DEFAULT '',  -- outbound: llm_reply, fallback, followup:RULE
  kind             text NOT NULL DEFAULT 'text',
  body             text NOT NULL DEFAULT '',
  status           text NOT NULL,  -- inbound: received; outbound: queued .. read, failed, discarded
  error            text,
  job_id           bigint,         -- outbound: the whatsapp_send job that sends it
  outcome_unknown  boolean NOT NULL DEFAULT false,  -- a send attempt ended without an answer
  occurred_at      timestamptz NOT NULL DEFAULT now(),
  created_at       timestamptz NOT NULL DEFAULT now(),
  sent_at          timestamptz,
  status_at        timestamptz
);
CREATE UNIQUE INDEX messages_provider_id ON recado.messages (tenant, provider, provider_id)
  WHERE provider_id IS NOT NULL;
CREATE INDEX messages_contact ON recado.messages (tenant, contact, id);

ALTER TABLE recado.conversations
  ADD COLUMN replied_through bigint NOT NULL DEFAULT 0,   -- newest inbound message answered
  ADD COLUMN fallback_through bigint NOT NULL DEFAULT 0,  -- newest one the fallback covered
  ADD COLUMN last_inbound_at timestamptz,
  ADD COLUMN name text NOT NULL DEFAULT '';

CREATE TABLE recado.bookings (
  tenant              text NOT NULL,
  uid                 text NOT NULL,
  calcom_id           bigint,
  status              text NOT NULL,  -- accepted, pending, cancelled, rejected, ...
  start_at            timestamptz NOT NULL,
  end_at              timestamptz NOT NULL,
  title               text NOT NULL DEFAULT '',
  attendee_name       text NOT NULL DEFAULT '',
  attendee_email      text NOT NULL DEFAULT '',
  attendee_phone      text NOT NULL DEFAULT '',
  attendee_time_zone  text NOT NULL DEFAULT '',
  contact             text NOT NULL DEFAULT '',  -- recado.contact_key(attendee_phone)
  event_type_id       bigint,
  rescheduled_from    text,
  source              text NOT NULL,  -- webhook, sync
  updated_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, uid)
);
CREATE INDEX bookings_contact ON recado.bookings (tenant, contact, start_at);

CREATE TABLE recado.followups (
  tenant      text NOT NULL,
  subject     text NOT NULL,  -- booking:UID or contact:CONTACT
  rule        text NOT NULL,
  due_at      timestamptz NOT NULL,
  state       text NOT NULL CHECK (state IN ('planned', 'sent', 'skipped', 'cancelled')),
  job_id      bigint,
  reason      text NOT NULL DEFAULT '',
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, subject, rule)
);

CREATE TABLE recado.leaders (
  name    text PRIMARY KEY,
  holder  text NOT NULL,
  since   timestamptz NOT NULL DEFAULT now(),
  until   timestamptz NOT NULL
);
CREATE TABLE recado.periodic (
  name        text PRIMARY KEY,
  last_slot   timestamptz NOT NULL,
  job_id      bigint,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
)SQL";

// The reply job reads a chat's new messages from `inbound` (and a send its early statuses).
// Built CONCURRENTLY: `inbound` is large and the ingress writes to it all the time.
constexpr const char* kInboundConversationIndex =
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS inbound_conversation ON recado.inbound (tenant, conversation, id)";

// What the LLMs cost each tenant (counted from the usage the providers report), and the
// answers to repeated questions a tenant lets recado reuse.
constexpr const char* kSpendSchema = R"SQL(
CREATE TABLE recado.llm_usage (
  tenant         text NOT NULL,
  day            date NOT NULL,  -- in the tenant's time zone
  model          text NOT NULL,
  calls          bigint NOT NULL DEFAULT 0,
  input_tokens   bigint NOT NULL DEFAULT 0,
  output_tokens  bigint NOT NULL DEFAULT 0,
  cost           numeric(20, 8) NOT NULL DEFAULT 0,  -- in the unit of llm_prices
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, day, model)
);
CREATE TABLE recado.reply_cache (
  tenant      text NOT NULL,
  key         text NOT NULL,  -- hash of the prompt's version and the question's normalised text
  reply       text NOT NULL,
  created_at  timestamptz NOT NULL,
  expires_at  timestamptz NOT NULL,
  hits        bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant, key)
);
CREATE INDEX reply_cache_expires ON recado.reply_cache (expires_at);
)SQL";

const std::vector<Migration> kMigrations = {
    {1, "queue schema: jobs, jobs_finished, queues, workers", kQueueSchema},
    {2, "inbound webhooks; dedup keys released when a job starts", kInboundSchema},
    {3, "circuit breakers", kBreakerSchema},
    {4, "send limits", kSendLimitsSchema},
    {5, "conversations (human handoff) and pauses", kConversationSchema},
    {6, "messages, bookings, follow-ups, leader election, periodic slots", kSecretarySchema},
    {7, "inbound: an index by conversation (built concurrently)", kInboundConversationIndex, "inbound_conversation"},
    {8, "LLM usage and spend; the reply cache", kSpendSchema},
};

constexpr const char* kBootstrap = R"SQL(
SELECT pg_advisory_xact_lock(7262730343);
CREATE SCHEMA IF NOT EXISTS recado;
CREATE TABLE IF NOT EXISTS recado.schema_migrations (
  version     integer PRIMARY KEY,
  name        text NOT NULL,
  applied_at  timestamptz NOT NULL DEFAULT now()
);
)SQL";

// CREATE INDEX CONCURRENTLY cannot run in a transaction, and waits for every transaction
// older than it, so a migrator blocked on a lock while another builds would deadlock with
// it. Migrators take turns through a session lock they only ever try, in short statements;
// the one holding it drops a build a crash left invalid and builds. True when this call
// recorded the migration.
bool build_index_concurrently(pqxx::connection& conn, const Migration& m) {
  pqxx::nontransaction tx(conn);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::hours{1};
  while (!tx.exec("SELECT pg_try_advisory_lock(7262730344)")[0][0].as<bool>()) {
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("another migrator has been building an index for an hour");
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
  bool recorded = false;
  try {
    const std::string name = m.concurrent_index;
    const auto r = tx.exec_params(R"SQL(
      SELECT i.indisvalid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_index i ON i.indexrelid = c.oid
      WHERE n.nspname = 'recado' AND c.relname = $1
    )SQL", name);
    if (r.empty() || !r[0][0].as<bool>()) {
      if (!r.empty()) tx.exec("DROP INDEX CONCURRENTLY IF EXISTS recado." + name);  // a dead build
      tx.exec(m.sql);
    }
    recorded = tx.exec_params(
                     "INSERT INTO recado.schema_migrations (version, name) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                     m.version, m.name)
                   .affected_rows() == 1;
  } catch (...) {
    tx.exec("SELECT pg_advisory_unlock(7262730344)");
    throw;
  }
  tx.exec("SELECT pg_advisory_unlock(7262730344)");
  return recorded;
}

}  // namespace

const std::vector<Migration>& migrations() { return kMigrations; }
int latest_migration_version() { return kMigrations.back().version; }

int migrate(pqxx::connection& conn) {
  {
    pqxx::work tx(conn);
    tx.exec(kBootstrap);
    tx.commit();
  }
  // One transaction per migration, each waiting at most lock_timeout for its locks: with
  // workers live, a migration never holds the jobs table longer than its own statements, and
  // one stuck behind a long transaction fails (and can be run again) instead of queueing
  // every claim behind it.
  int count = 0;
  auto applied = [](pqxx::transaction_base& tx, int version) {
    return !tx.exec_params("SELECT 1 FROM recado.schema_migrations WHERE version = $1", version).empty();
  };
  for (const Migration& m : kMigrations) {
    if (m.concurrent_index) {
      if (build_index_concurrently(conn, m)) ++count;
      continue;
    }
    pqxx::work tx(conn);
    tx.exec("SELECT pg_advisory_xact_lock(7262730343)");
    if (applied(tx, m.version)) continue;
    // 10 s unless the operator asked for a lock timeout of their own (PGOPTIONS).
    tx.exec("SELECT set_config('lock_timeout', '10s', true) WHERE current_setting('lock_timeout') = '0'");
    tx.exec(m.sql);
    tx.exec_params("INSERT INTO recado.schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name);
    tx.commit();
    ++count;
  }
  return count;
}

int applied_migration_version(pqxx::connection& conn) {
  pqxx::read_transaction tx(conn);
  if (!tx.exec("SELECT to_regclass('recado.schema_migrations') IS NOT NULL")[0][0].as<bool>())
    return 0;
  return tx.exec("SELECT coalesce(max(version), 0) FROM recado.schema_migrations")[0][0].as<int>();
}

std::vector<MigrationStatus> migration_status(pqxx::connection& conn) {
  std::map<int, std::string> applied;
  {
    pqxx::read_transaction tx(conn);
    auto exists = tx.exec("SELECT to_regclass('recado.schema_migrations') IS NOT NULL");
    if (exists[0][0].as<bool>()) {
      for (const auto& row : tx.exec(
               "SELECT version, to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') "
               "FROM recado.schema_migrations"))
        applied[row[0].as<int>()] = row[1].as<std::string>() + " UTC";
    }
  }
  std::vector<MigrationStatus> out;
  for (const Migration& m : kMigrations) {
    auto it = applied.find(m.version);
    out.push_back({m.version, m.name, it == applied.end() ? "" : it->second});
  }
  return out;
}

}  // namespace recado
