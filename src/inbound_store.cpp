#include "src/inbound_store.hpp"

#include <algorithm>
#include <array>
#include <functional>
#include <map>
#include <tuple>

#include "src/job_sql.hpp"
#include "src/log.hpp"

namespace recado::inbound_store {

namespace {

const char* type_name(InboundEvent::Type t) {
  switch (t) {
    case InboundEvent::Type::message: return "message";
    case InboundEvent::Type::status: return "status";
    case InboundEvent::Type::booking: return "booking";
    case InboundEvent::Type::handoff: return "handoff";
  }
  return "message";
}

// A statement is put together from these parts by what its batch needs (statement()): the
// common batch, all new and without bookings, runs the leanest plan.
//
// The batch, one array per column (in key order: see store()), and its insert.
const std::string kInsert = R"SQL(
  WITH input AS MATERIALIZED (
    SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                         $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::boolean[],
                         $13::text[], $14::jsonb[], $15::bigint[], $16::int[], $17::boolean[],
                         $18::bigint[], $19::text[])
      AS t(n, tenant, provider, type, dedup_key, conversation, message_id, sender, sender_name, kind,
           body, from_me, chat, detail, occurred_us, reply_rank, sync, debounce_us, raw)
  ), stored AS (
    INSERT INTO recado.inbound (tenant, provider, type, dedup_key, conversation, message_id, sender,
                                sender_name, kind, body, from_me, chat, detail, occurred_at, raw)
    SELECT tenant, provider, type, dedup_key, conversation, message_id, sender, sender_name, kind,
           body, from_me, chat, detail,
           'epoch'::timestamptz + occurred_us * interval '1 microsecond', raw
    FROM input ORDER BY n  -- one lock order for concurrent batches)SQL";
// Then, for a batch that may meet events stored already: each key checked, and the new
// events (`fresh`) are those the insert returns, with their ids.
const std::string kChecked = R"SQL(
    ON CONFLICT (tenant, provider, dedup_key) DO NOTHING)SQL";
const std::string kReturned = R"SQL(
    RETURNING id, tenant, provider, dedup_key
  ), fresh AS (
    SELECT stored.id, input.* FROM stored JOIN input USING (tenant, provider, dedup_key))SQL";
// Or, for an insert without checks (it stores every event or fails whole): all are new.
const std::string kAllNew = R"SQL(
  ), fresh AS (
    SELECT * FROM input)SQL";
const std::string kReplies = R"SQL(
  ), replies AS (
    -- One reply per conversation (reply_rank: the conversation's rank in key order, -1 for
    -- events that start none), unless one is already waiting: that one answers these
    -- messages too. The conflict clause is the only probe, so the reply's dedup key index is
    -- always what finds a waiting one, whatever the planner believes of the table's size
    -- (a join planned while `jobs` was small would scan it whole on every batch). DO
    -- NOTHING takes no row lock, so concurrent batches never wait on each other's replies.
    INSERT INTO recado.jobs (queue, kind, payload, run_at, dedup_key, sequence_key, dedup_until_started)
    SELECT 'llm_reply', 'llm_reply',
           jsonb_build_object('tenant', min(tenant), 'provider', min(provider), 'conversation', min(conversation)),
           now() + max(debounce_us) * interval '1 microsecond',
           'llm_reply:' || min(tenant) || ':' || min(conversation),
           'conversation:' || min(tenant) || ':' || min(conversation), true
    FROM fresh WHERE reply_rank >= 0
    GROUP BY reply_rank
    ORDER BY reply_rank  -- one lock order for concurrent batches
    ON CONFLICT (dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING
  ))SQL";
// Cal.com booking events (their jobs name the inbound row, so `fresh` must carry ids).
const std::string kSyncs = R"SQL(
  , syncs AS (
    INSERT INTO recado.jobs (queue, kind, payload, sequence_key)
    SELECT 'calcom_sync', 'calcom_sync',
           jsonb_build_object('tenant', tenant, 'event', kind, 'booking_uid', message_id, 'inbound_id', id),
           'booking:' || tenant || ':' || message_id
    FROM fresh WHERE sync ORDER BY n
  ))SQL";
const std::string kStoreResult = "\n  SELECT n FROM fresh\n";

// When a batch holds a handoff (rare).
const std::string kHandoffs = R"SQL(
  , handoffs AS (
    -- A human took the conversation (Chatwoot: opened, assigned, an agent's message) or
    -- gave it back (resolved); the newest signal of the batch for a contact wins.
    INSERT INTO recado.conversations AS c (tenant, contact, handed_off, handed_off_at, handed_off_by)
    SELECT DISTINCT ON (tenant, recado.contact_key(conversation))
           tenant, recado.contact_key(conversation), kind <> 'resolved',
           CASE WHEN kind <> 'resolved' THEN now() END, provider || ':' || kind
    FROM fresh WHERE type = 'handoff'
    ORDER BY tenant, recado.contact_key(conversation), n DESC
    ON CONFLICT (tenant, contact) DO UPDATE
      SET handed_off = EXCLUDED.handed_off, handed_off_at = EXCLUDED.handed_off_at,
          handed_off_by = EXCLUDED.handed_off_by, updated_at = now()
  ))SQL";

// When a batch holds delivery statuses: each moves its message's status forward only
// (the gateways deliver them late, twice and out of order). A status that arrives before the
// send recorded its message's id is folded in by message_store::record_sent.
const std::string kStatuses = R"SQL(
  , statuses AS (
    UPDATE recado.messages m SET status = s.status, status_at = now(),
                                 error = coalesce(s.detail ->> 'errors', m.error)
    FROM (
      SELECT DISTINCT ON (tenant, provider, message_id)
             tenant, provider, message_id, recado.delivery_status(kind) AS status, detail
      FROM fresh WHERE type = 'status' AND recado.delivery_status(kind) IS NOT NULL
      ORDER BY tenant, provider, message_id, recado.status_rank(recado.delivery_status(kind)) DESC
    ) s
    WHERE m.tenant = s.tenant AND m.provider = s.provider AND m.provider_id = s.message_id
      AND recado.status_rank(s.status) > recado.status_rank(m.status)
  ))SQL";

struct Statement {
  std::string name, sql;
};

// The statement for a batch, by what it holds and whether its insert checks each key.
const Statement& statement(bool handoffs, bool statuses, bool bookings, bool checked) {
  static const auto all = [] {
    std::array<Statement, 16> out;
    for (int i = 0; i < 16; ++i) {
      const bool h = i & 1, s = i & 2, b = i & 4, c = i & 8;
      out[i].name = std::string("recado_inbound_store") + (h ? "_handoffs" : "") + (s ? "_statuses" : "") +
                    (b ? "_bookings" : "") + (c ? "_checked" : "");
      out[i].sql = kInsert + (c ? kChecked : "") + (c || b ? kReturned : kAllNew) + kReplies + (b ? kSyncs : "") +
                   (h ? kHandoffs : "") + (s ? kStatuses : "") + kStoreResult;
    }
    return out;
  }();
  return all[handoffs | statuses << 1 | bookings << 2 | checked << 3];
}

}  // namespace

bool InsertMode::checked(std::chrono::steady_clock::time_point now) const {
  return now.time_since_epoch().count() < checked_until_.load(std::memory_order_relaxed);
}

void InsertMode::met_stored(std::chrono::steady_clock::time_point now) {
  checked_until_.store((now + window_).time_since_epoch().count(), std::memory_order_relaxed);
}

std::vector<InboundWritten> store(pqxx::connection& conn, const std::vector<InboundWrite>& writes,
                                  std::set<std::string>& wake, InsertMode& mode) {
  std::vector<InboundWritten> results(writes.size());
  struct Row {
    size_t write;
    const InboundEvent* event;
    std::string_view provider;
  };
  // Twins within the batch (the same webhook delivered twice at once) are counted as
  // duplicates here, since one statement may insert a key only once.
  std::vector<Row> rows;
  std::set<std::tuple<std::string_view, Provider, std::string_view>> seen;
  for (size_t w = 0; w < writes.size(); ++w) {
    for (const InboundEvent& e : writes[w].events) {
      if (seen.emplace(writes[w].tenant, writes[w].provider, e.dedup_key).second)
        rows.push_back({w, &e, to_string(writes[w].provider)});
      else
        ++results[w].duplicates;
    }
  }
  std::vector<bool> fresh(rows.size(), false);
  if (!rows.empty()) {
    // Rows in key order, and conversations ranked in key order, so that concurrent batches
    // take their locks in one order and never deadlock.
    auto key = [&](const Row& r) {
      return std::tuple<std::string_view, std::string_view, std::string_view>(writes[r.write].tenant, r.provider,
                                                                              r.event->dedup_key);
    };
    std::sort(rows.begin(), rows.end(), [&](const Row& a, const Row& b) { return key(a) < key(b); });
    using Conversation = std::pair<std::string_view, std::string_view>;  // tenant, chat
    std::map<Conversation, int> replies;
    for (const Row& r : rows)
      if (r.event->wants_reply()) replies.emplace(Conversation{writes[r.write].tenant, r.event->conversation}, 0);
    int rank = 0;
    for (auto& [conversation, n] : replies) n = rank++;

    job_sql::ArrayLiteral n, tenant, provider, type, dedup_key, conversation, message_id, sender, sender_name, kind,
        body, from_me, chat, detail, occurred_us, reply_rank, sync, debounce_us, raw;
    for (size_t i = 0; i < rows.size(); ++i) {
      const InboundWrite& w = writes[rows[i].write];
      const InboundEvent& e = *rows[i].event;
      n.number(static_cast<int64_t>(i));
      tenant.text(w.tenant);
      provider.text(rows[i].provider);
      type.text(type_name(e.type));
      dedup_key.text(e.dedup_key);
      conversation.text(e.conversation);
      message_id.text(e.message_id);
      sender.text(e.sender);
      sender_name.text(e.sender_name);
      kind.text(e.kind);
      body.text(e.text);
      from_me.boolean(e.from_me);
      chat.text(e.chat);
      detail.text(e.detail_json);
      if (e.occurred_at)
        occurred_us.number(epoch_micros(*e.occurred_at));
      else
        occurred_us.null();
      reply_rank.number(e.wants_reply() ? replies.at(Conversation{w.tenant, e.conversation}) : -1);
      sync.boolean(e.wants_sync());
      debounce_us.number(w.debounce.count());
      raw.text(*w.raw);
    }
    const std::array<std::reference_wrapper<const std::string>, 19> columns = {
        n.done(),         tenant.done(),  provider.done(),     type.done(),        dedup_key.done(),
        conversation.done(), message_id.done(), sender.done(), sender_name.done(), kind.done(),
        body.done(),      from_me.done(), chat.done(),         detail.done(),      occurred_us.done(),
        reply_rank.done(), sync.done(),   debounce_us.done(),  raw.done()};
    auto holds = [&](InboundEvent::Type t) {
      return std::any_of(rows.begin(), rows.end(), [t](const Row& r) { return r.event->type == t; });
    };
    const bool handoffs = holds(InboundEvent::Type::handoff), statuses = holds(InboundEvent::Type::status),
               bookings = holds(InboundEvent::Type::booking);
    // One statement, committed on its own: the events and their jobs, or nothing.
    auto run = [&](bool checked) {
      const Statement& st = statement(handoffs, statuses, bookings, checked);
      pqxx::nontransaction tx(conn);
      return std::apply([&](const auto&... c) { return job_sql::exec(tx, st.name.c_str(), st.sql, c.get()...); },
                        columns);
    };
    pqxx::result result;
    if (mode.checked(std::chrono::steady_clock::now())) {
      result = run(true);
      if (result.size() < rows.size()) mode.met_stored(std::chrono::steady_clock::now());
    } else {
      try {
        result = run(false);
      } catch (const pqxx::unique_violation&) {
        // An event was stored already (a provider's retry): nothing was written. Store the
        // batch again with each key checked, and the next ones too for a while.
        mode.met_stored(std::chrono::steady_clock::now());
        result = run(true);
      }
    }
    for (const auto& row : result) fresh[row[0].as<size_t>()] = true;
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    const size_t w = rows[i].write;
    const InboundEvent& e = *rows[i].event;
    if (!fresh[i]) {
      ++results[w].duplicates;
      continue;
    }
    ++results[w].stored;
    if (e.wants_sync()) wake.insert(kCalcomQueue);
    if (e.wants_reply() && writes[w].debounce.count() == 0) wake.insert(kReplyQueue);
  }
  return results;
}

int prune(pqxx::connection& conn, Duration keep, int limit) {
  pqxx::work tx(conn);
  const auto r = tx.exec_params(R"SQL(
    DELETE FROM recado.inbound WHERE id IN (
      SELECT id FROM recado.inbound WHERE received_at < now() - $1 * interval '1 microsecond' LIMIT $2)
  )SQL", static_cast<int64_t>(keep.count()), limit);
  tx.commit();
  return static_cast<int>(r.affected_rows());
}

}  // namespace recado::inbound_store
