#include "src/llm_store.hpp"

#include "src/job_sql.hpp"

namespace recado::llm_store {

namespace {

using job_sql::exec;

Usage usage_of(const pqxx::row& r, int at) {
  Usage u;
  u.calls = r[at].as<long long>();
  u.input_tokens = r[at + 1].as<long long>();
  u.output_tokens = r[at + 2].as<long long>();
  u.cost = r[at + 3].as<double>();
  return u;
}

// The day's and its month's totals of a tenant, as eight columns.
const std::string kSpend = R"SQL(
  SELECT coalesce(sum(calls) FILTER (WHERE day = $2::date), 0),
         coalesce(sum(input_tokens) FILTER (WHERE day = $2::date), 0),
         coalesce(sum(output_tokens) FILTER (WHERE day = $2::date), 0),
         coalesce(sum(cost) FILTER (WHERE day = $2::date), 0)::float8,
         coalesce(sum(calls), 0), coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0),
         coalesce(sum(cost), 0)::float8
  FROM recado.llm_usage
  WHERE tenant = $1 AND day >= date_trunc('month', $2::date)::date AND day <= $2::date
)SQL";

Spend spend_in(pqxx::transaction_base& tx, const std::string& tenant, const std::string& day) {
  const auto r = exec(tx, "recado_llm_spend", kSpend, tenant, day);
  return Spend{usage_of(r[0], 0), usage_of(r[0], 4)};
}

}  // namespace

Spend spend(pqxx::connection& conn, const std::string& tenant, const std::string& day) {
  pqxx::read_transaction tx(conn);
  return spend_in(tx, tenant, day);
}

Spend record(pqxx::connection& conn, const std::string& tenant, const std::string& day, const std::string& model,
             long long input_tokens, long long output_tokens, double cost) {
  pqxx::work tx(conn);
  exec(tx, "recado_llm_usage_add", R"SQL(
    INSERT INTO recado.llm_usage AS u (tenant, day, model, calls, input_tokens, output_tokens, cost)
    VALUES ($1, $2::date, $3, 1, $4, $5, $6)
    ON CONFLICT (tenant, day, model) DO UPDATE
      SET calls = u.calls + 1, input_tokens = u.input_tokens + EXCLUDED.input_tokens,
          output_tokens = u.output_tokens + EXCLUDED.output_tokens, cost = u.cost + EXCLUDED.cost,
          updated_at = now()
  )SQL", tenant, day, model, input_tokens, output_tokens, cost);
  Spend after = spend_in(tx, tenant, day);
  tx.commit();
  return after;
}

std::vector<UsageRow> report(pqxx::connection& conn, const std::optional<std::string>& tenant,
                             const std::string& since_day) {
  pqxx::read_transaction tx(conn);
  const auto rows = exec(tx, "recado_llm_usage_report", R"SQL(
    SELECT tenant, model, min(day)::text, max(day)::text, sum(calls), sum(input_tokens), sum(output_tokens),
           sum(cost)::float8
    FROM recado.llm_usage
    WHERE day >= $1::date AND ($2 = '' OR tenant = $2)
    GROUP BY tenant, model ORDER BY tenant, model
  )SQL", since_day, tenant.value_or(""));
  std::vector<UsageRow> out;
  for (const auto& r : rows)
    out.push_back({r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(), r[3].as<std::string>(),
                   usage_of(r, 4)});
  return out;
}

std::optional<std::string> cached_reply(pqxx::connection& conn, const std::string& tenant, const std::string& key,
                                        Timestamp now) {
  pqxx::work tx(conn);
  const auto r = exec(tx, "recado_reply_cache_get", R"SQL(
    UPDATE recado.reply_cache SET hits = hits + 1
    WHERE tenant = $1 AND key = $2 AND expires_at > 'epoch'::timestamptz + $3 * interval '1 microsecond'
    RETURNING reply
  )SQL", tenant, key, epoch_micros(now));
  tx.commit();
  if (r.empty()) return std::nullopt;
  return r[0][0].as<std::string>();
}

void cache_reply(pqxx::transaction_base& tx, const std::string& tenant, const std::string& key,
                 const std::string& reply, Timestamp now, Duration ttl) {
  exec(tx, "recado_reply_cache_put", R"SQL(
    INSERT INTO recado.reply_cache (tenant, key, reply, created_at, expires_at)
    VALUES ($1, $2, $3, 'epoch'::timestamptz + $4 * interval '1 microsecond',
            'epoch'::timestamptz + $5 * interval '1 microsecond')
    ON CONFLICT (tenant, key) DO UPDATE
      SET reply = EXCLUDED.reply, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at, hits = 0
  )SQL", tenant, key, reply, epoch_micros(now), epoch_micros(now + ttl));
}

int prune_cache(pqxx::connection& conn, Timestamp now, int limit) {
  pqxx::work tx(conn);
  const auto r = exec(tx, "recado_reply_cache_prune", R"SQL(
    DELETE FROM recado.reply_cache WHERE (tenant, key) IN (
      SELECT tenant, key FROM recado.reply_cache
      WHERE expires_at <= 'epoch'::timestamptz + $1 * interval '1 microsecond' LIMIT $2)
  )SQL", epoch_micros(now), limit);
  tx.commit();
  return static_cast<int>(r.affected_rows());
}

}  // namespace recado::llm_store
