#pragma once
// The schema, as versioned SQL compiled into the binary. migrate() applies the missing ones
// in one transaction under an advisory lock, so two processes migrating at once are safe.
#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace recado {

struct Migration {
  int version;
  const char* name;
  const char* sql;
  // The migration builds this index CONCURRENTLY, outside a transaction (sql is that one
  // statement); null for an ordinary migration, run in a transaction of its own.
  const char* concurrent_index = nullptr;
};

const std::vector<Migration>& migrations();
int latest_migration_version();

struct MigrationStatus {
  int version;
  std::string name;
  std::string applied_at;  // empty when pending
};

// Applies what is missing; returns how many were applied.
int migrate(pqxx::connection& conn);
std::vector<MigrationStatus> migration_status(pqxx::connection& conn);
// The highest applied version, 0 on a database never migrated.
int applied_migration_version(pqxx::connection& conn);

}  // namespace recado
