#include "src/migrations.hpp"

#include <map>

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

const std::vector<Migration> kMigrations = {
    {1, "queue schema: jobs, jobs_finished, queues, workers", kQueueSchema},
    {2, "inbound webhooks; dedup keys released when a job starts", kInboundSchema},
    {3, "circuit breakers", kBreakerSchema},
    {4, "send limits", kSendLimitsSchema},
    {5, "conversations (human handoff) and pauses", kConversationSchema},
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

}  // namespace

const std::vector<Migration>& migrations() { return kMigrations; }
int latest_migration_version() { return kMigrations.back().version; }

int migrate(pqxx::connection& conn) {
  pqxx::work tx(conn);
  tx.exec(kBootstrap);
  std::map<int, bool> applied;
  for (const auto& row : tx.exec("SELECT version FROM recado.schema_migrations"))
    applied[row[0].as<int>()] = true;
  int count = 0;
  for (const Migration& m : kMigrations) {
    if (applied.count(m.version)) continue;
    tx.exec(m.sql);
    tx.exec_params("INSERT INTO recado.schema_migrations (version, name) VALUES ($1, $2)",
                   m.version, m.name);
    ++count;
  }
  tx.commit();
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
