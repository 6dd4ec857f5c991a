#include "src/inbound_store.hpp"

#include <algorithm>
#include <map>
#include <tuple>

#include "src/job_sql.hpp"
#include "src/log.hpp"

namespace recado::inbound_store {

namespace {

void append_string(std::string& out, std::string_view s) {
  out += '"';
  out += log::json_escape(s);
  out += '"';
}

// A PostgreSQL array literal of texts: {"a","b"}.
std::string text_array(const std::vector<const std::string*>& items) {
  size_t size = 2;
  for (const std::string* s : items) size += s->size() + 3;
  std::string out;
  out.reserve(size + size / 8);
  out += '{';
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : *items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

const char* type_name(InboundEvent::Type t) {
  switch (t) {
    case InboundEvent::Type::message: return "message";
    case InboundEvent::Type::status: return "status";
    case InboundEvent::Type::booking: return "booking";
    case InboundEvent::Type::handoff: return "handoff";
  }
  return "message";
}

const std::string kStoreCtes = R"SQL(
  WITH input AS MATERIALIZED (
    SELECT * FROM jsonb_to_recordset($1::jsonb) AS t(
      n int, raw int, tenant text, provider text, type text, dedup_key text, conversation text,
      message_id text, sender text, sender_name text, kind text, body text, from_me boolean,
      chat text, detail jsonb, occurred_us bigint, reply boolean, sync boolean,
      debounce_us bigint)
  ), stored AS (
    INSERT INTO recado.inbound (tenant, provider, type, dedup_key, conversation, message_id, sender,
                                sender_name, kind, body, from_me, chat, detail, occurred_at, raw)
    SELECT tenant, provider, type, dedup_key, conversation, message_id, sender, sender_name, kind,
           body, from_me, chat, detail,
           'epoch'::timestamptz + occurred_us * interval '1 microsecond', ($2::text[])[raw]
    FROM input ORDER BY tenant, provider, dedup_key  -- one lock order for concurrent batches
    ON CONFLICT (tenant, provider, dedup_key) DO NOTHING
    RETURNING id, tenant, provider, dedup_key
  ), fresh AS (
    SELECT stored.id, input.* FROM stored JOIN input USING (tenant, provider, dedup_key)
  ), replies AS (
    INSERT INTO recado.jobs (queue, kind, payload, run_at, dedup_key, sequence_key, dedup_until_started)
    SELECT 'llm_reply', 'llm_reply',
           jsonb_build_object('tenant', tenant, 'provider', min(provider), 'conversation', conversation),
           now() + max(debounce_us) * interval '1 microsecond',
           'llm_reply:' || tenant || ':' || conversation,
           'conversation:' || tenant || ':' || conversation, true
    FROM fresh
    WHERE reply AND NOT EXISTS (  -- the common case, a reply already waiting, costs one probe
      SELECT 1 FROM recado.jobs j WHERE j.dedup_key = 'llm_reply:' || fresh.tenant || ':' || fresh.conversation)
    GROUP BY tenant, conversation
    ORDER BY 'llm_reply:' || tenant || ':' || conversation  -- one lock order for concurrent batches
    -- A reply already waiting answers this message too. DO NOTHING takes no row lock, so
    -- concurrent batches never wait on each other's reply jobs.
    ON CONFLICT (dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING
  ), syncs AS (
    INSERT INTO recado.jobs (queue, kind, payload, sequence_key)
    SELECT 'calcom_sync', 'calcom_sync',
           jsonb_build_object('tenant', tenant, 'event', kind, 'booking_uid', message_id, 'inbound_id', id),
           'booking:' || tenant || ':' || message_id
    FROM fresh WHERE sync ORDER BY n
    RETURNING id
  ))SQL";
const std::string kStoreResult = "\n  SELECT n FROM fresh\n";

// Added to kStore when a batch holds a handoff (rare), so the common batch does not pay for it.
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

// Added when a batch holds delivery statuses: each moves its message's status forward only
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

// The statement for a batch, by what it holds: [handoffs][statuses].
const std::string kStatements[2][2] = {
    {kStoreCtes + kStoreResult, kStoreCtes + kStatuses + kStoreResult},
    {kStoreCtes + kHandoffs + kStoreResult, kStoreCtes + kHandoffs + kStatuses + kStoreResult}};
const char* const kStatementNames[2][2] = {
    {"recado_inbound_store", "recado_inbound_store_statuses"},
    {"recado_inbound_store_handoffs", "recado_inbound_store_handoffs_statuses"}};

}  // namespace

std::vector<InboundWritten> store(pqxx::connection& conn, const std::vector<InboundWrite>& writes,
                                  std::set<std::string>& wake) {
  std::vector<InboundWritten> results(writes.size());
  // Rows as JSON; twins within the batch (the same webhook delivered twice at once) are
  // counted as duplicates here, since one statement may insert a key only once.
  std::string input = "[";
  std::vector<const std::string*> raws;
  std::vector<std::pair<size_t, const InboundEvent*>> rows;  // row n: its write and event
  std::set<std::tuple<std::string_view, Provider, std::string_view>> seen;
  for (size_t w = 0; w < writes.size(); ++w) {
    const InboundWrite& write = writes[w];
    raws.push_back(write.raw.get());
    const std::string provider(to_string(write.provider));
    for (const InboundEvent& e : write.events) {
      if (!seen.emplace(write.tenant, write.provider, e.dedup_key).second) {
        ++results[w].duplicates;
        continue;
      }
      if (input.size() > 1) input += ',';
      input += "{\"n\":" + std::to_string(rows.size()) + ",\"raw\":" + std::to_string(raws.size());
      for (const auto& [name, value] : {std::pair<const char*, std::string_view>{"tenant", write.tenant},
                                        {"provider", provider},
                                        {"type", type_name(e.type)},
                                        {"dedup_key", e.dedup_key},
                                        {"conversation", e.conversation},
                                        {"message_id", e.message_id},
                                        {"sender", e.sender},
                                        {"sender_name", e.sender_name},
                                        {"kind", e.kind},
                                        {"body", e.text},
                                        {"chat", e.chat}}) {
        input += ",\"";
        input += name;
        input += "\":";
        append_string(input, value);
      }
      input += ",\"detail\":" + e.detail_json;
      input += e.from_me ? ",\"from_me\":true" : ",\"from_me\":false";
      if (e.occurred_at) input += ",\"occurred_us\":" + std::to_string(epoch_micros(*e.occurred_at));
      input += e.wants_reply() ? ",\"reply\":true" : ",\"reply\":false";
      input += e.wants_sync() ? ",\"sync\":true" : ",\"sync\":false";
      input += ",\"debounce_us\":" + std::to_string(write.debounce.count()) + "}";
      rows.emplace_back(w, &e);
    }
  }
  input += ']';
  std::vector<bool> fresh(rows.size(), false);
  if (!rows.empty()) {
    // One statement, committed on its own: the events and their jobs, or nothing.
    pqxx::nontransaction tx(conn);
    auto holds = [&](InboundEvent::Type type) {
      return std::any_of(rows.begin(), rows.end(), [type](const auto& row) { return row.second->type == type; });
    };
    const int h = holds(InboundEvent::Type::handoff), s = holds(InboundEvent::Type::status);
    const auto result = job_sql::exec(tx, kStatementNames[h][s], kStatements[h][s], input, text_array(raws));
    for (const auto& row : result)
      fresh[row[0].as<size_t>()] = true;
  }
  for (size_t n = 0; n < rows.size(); ++n) {
    const auto& [w, e] = rows[n];
    if (!fresh[n]) {
      ++results[w].duplicates;
      continue;
    }
    ++results[w].stored;
    if (e->wants_sync()) wake.insert(kCalcomQueue);
    if (e->wants_reply() && writes[w].debounce.count() == 0) wake.insert(kReplyQueue);
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
