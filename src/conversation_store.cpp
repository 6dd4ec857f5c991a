#include "src/conversation_store.hpp"

#include "src/job_sql.hpp"

namespace recado::conversation_store {

namespace {

const std::string kColumns =
    "id, tenant, contact, handed_off, (extract(epoch FROM handed_off_at) * 1000000)::bigint, "
    "coalesce(handed_off_by, ''), (extract(epoch FROM updated_at) * 1000000)::bigint";

Conversation from_row(const pqxx::row& r) {
  Conversation c;
  c.id = r[0].as<int64_t>();
  c.tenant = r[1].as<std::string>();
  c.contact = r[2].as<std::string>();
  c.handed_off = r[3].as<bool>();
  if (!r[4].is_null()) c.handed_off_at = from_epoch_micros(r[4].as<int64_t>());
  c.handed_off_by = r[5].as<std::string>();
  c.updated_at = from_epoch_micros(r[6].as<int64_t>());
  return c;
}

}  // namespace

Conversation hand_off(pqxx::connection& conn, std::string_view tenant, std::string_view contact, std::string_view by) {
  pqxx::work tx(conn);
  const auto r = job_sql::exec(tx, "recado_conversation_hand_off", R"SQL(
    INSERT INTO recado.conversations (tenant, contact, handed_off, handed_off_at, handed_off_by)
    VALUES ($1, recado.contact_key($2), true, now(), $3)
    ON CONFLICT (tenant, contact) DO UPDATE
      SET handed_off = true, handed_off_at = now(), handed_off_by = $3, updated_at = now()
    RETURNING )SQL" + kColumns, std::string(tenant), std::string(contact), std::string(by));
  tx.commit();
  return from_row(r[0]);
}

std::optional<Conversation> set_handed_off(pqxx::connection& conn, int64_t id, bool handed_off, std::string_view by) {
  pqxx::work tx(conn);
  const auto r = job_sql::exec(tx, "recado_conversation_set", R"SQL(
    UPDATE recado.conversations
    SET handed_off = $2, handed_off_at = CASE WHEN $2 THEN now() END,
        handed_off_by = CASE WHEN $2 THEN $3 END, updated_at = now()
    WHERE id = $1
    RETURNING )SQL" + kColumns, id, handed_off, std::string(by));
  tx.commit();
  if (r.empty()) return std::nullopt;
  return from_row(r[0]);
}

bool is_handed_off(pqxx::connection& conn, std::string_view tenant, std::string_view contact) {
  pqxx::nontransaction tx(conn);
  const auto r = job_sql::exec(tx, "recado_conversation_is_handed_off",
                               "SELECT handed_off FROM recado.conversations WHERE tenant = $1 AND contact = recado.contact_key($2)",
                               std::string(tenant), std::string(contact));
  return !r.empty() && r[0][0].as<bool>();
}

std::vector<Conversation> list(pqxx::connection& conn, const std::optional<std::string>& tenant, bool handed_off_only,
                               int limit) {
  pqxx::nontransaction tx(conn);
  std::vector<Conversation> out;
  for (const auto& row : tx.exec_params(
           "SELECT " + kColumns + " FROM recado.conversations WHERE ($1::text IS NULL OR tenant = $1) "
           "AND (NOT $2 OR handed_off) ORDER BY updated_at DESC, id DESC LIMIT $3",
           tenant, handed_off_only, limit))
    out.push_back(from_row(row));
  return out;
}

void pause(pqxx::connection& conn, std::string_view scope, std::string_view reason) {
  pqxx::work tx(conn);
  tx.exec_params("INSERT INTO recado.pauses (scope, reason) VALUES ($1, $2) ON CONFLICT (scope) DO UPDATE SET reason = $2",
                 std::string(scope), std::string(reason));
  tx.commit();
}

bool resume(pqxx::connection& conn, std::string_view scope) {
  pqxx::work tx(conn);
  const auto r = tx.exec_params("DELETE FROM recado.pauses WHERE scope = $1", std::string(scope));
  tx.commit();
  return r.affected_rows() > 0;
}

bool is_paused(pqxx::connection& conn, std::string_view tenant) {
  pqxx::nontransaction tx(conn);
  return job_sql::exec(tx, "recado_is_paused", "SELECT EXISTS (SELECT 1 FROM recado.pauses WHERE scope IN ($1, '*'))",
                       std::string(tenant))[0][0].as<bool>();
}

std::vector<Pause> pauses(pqxx::connection& conn) {
  pqxx::nontransaction tx(conn);
  std::vector<Pause> out;
  for (const auto& row : tx.exec("SELECT scope, (extract(epoch FROM paused_at) * 1000000)::bigint, reason "
                                 "FROM recado.pauses ORDER BY scope"))
    out.push_back({row[0].as<std::string>(), from_epoch_micros(row[1].as<int64_t>()), row[2].as<std::string>()});
  return out;
}

}  // namespace recado::conversation_store
