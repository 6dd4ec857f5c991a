#pragma once
// recado.breakers: each change is one short transaction that locks the breaker's row and
// applies the pure transitions of breaker.hpp, so concurrent workers never lose a report or
// start more probes than allowed. Blocking (libpqxx): database threads and recadoctl only.
#include <pqxx/pqxx>

#include <optional>
#include <string>
#include <vector>

#include "src/breaker.hpp"

namespace recado::breaker_store {

std::vector<Breaker> load_all(pqxx::connection& conn);
std::optional<Breaker> load(pqxx::connection& conn, const std::string& name);

// Applies `report` to the breaker (created closed if new); returns it as it now is.
Breaker report(pqxx::connection& conn, const std::string& name, const BreakerReport& report,
               const BreakerConfig& config, Timestamp now);

// Starts a probe if one may go now; returns whether it did, and the breaker as it now is.
std::pair<bool, Breaker> try_probe(pqxx::connection& conn, const std::string& name,
                                   const BreakerConfig& config, Timestamp now);

// The operator's levers. open: forced open until closed or reset. close: closed now, counts
// cleared (it may trip again). reset: forgotten altogether. Each returns false when there is
// no such breaker (open creates it).
bool force_open(pqxx::connection& conn, const std::string& name, Timestamp now);
bool force_close(pqxx::connection& conn, const std::string& name, Timestamp now);
bool reset(pqxx::connection& conn, const std::string& name);

}  // namespace recado::breaker_store
