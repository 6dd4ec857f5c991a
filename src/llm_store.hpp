#pragma once
// What the LLMs cost and what they may reuse: each tenant's usage per day and model
// (recado.llm_usage, counted from the providers' reported tokens and priced by config), and
// the reply cache for repeated questions (recado.reply_cache). Blocking SQL on the
// connection or transaction it is given: call from a database thread, never the loop.
#include <pqxx/pqxx>

#include <optional>
#include <string>
#include <vector>

#include "src/clock.hpp"

namespace recado::llm_store {

struct Usage {
  long long calls = 0;
  long long input_tokens = 0;
  long long output_tokens = 0;
  double cost = 0;
  long long tokens() const { return input_tokens + output_tokens; }
};

// A tenant's usage on one day and in that day's month (days in the tenant's time zone).
struct Spend {
  Usage day;
  Usage month;
};

// The spend of `tenant` for `day` ("YYYY-MM-DD").
Spend spend(pqxx::connection& conn, const std::string& tenant, const std::string& day);

// Adds one call to `tenant`'s usage of `model` on `day`, and returns the spend after it. Commits.
Spend record(pqxx::connection& conn, const std::string& tenant, const std::string& day, const std::string& model,
             long long input_tokens, long long output_tokens, double cost);

struct UsageRow {
  std::string tenant, model;
  std::string first_day, last_day;  // the days the rows span
  Usage usage;
};

// Usage by tenant and model from `since_day` ("YYYY-MM-DD") on, optionally for one tenant,
// ordered by tenant then model.
std::vector<UsageRow> report(pqxx::connection& conn, const std::optional<std::string>& tenant,
                             const std::string& since_day);

// The cached reply for `key`, if one is fresh at `now` (its hit is counted). Commits.
std::optional<std::string> cached_reply(pqxx::connection& conn, const std::string& tenant, const std::string& key,
                                        Timestamp now);
// In the caller's transaction: keeps `reply` for `key` until now + ttl (replacing an older one).
void cache_reply(pqxx::transaction_base& tx, const std::string& tenant, const std::string& key,
                 const std::string& reply, Timestamp now, Duration ttl);
// Deletes cache entries that expired before `now`; returns how many. Commits.
int prune_cache(pqxx::connection& conn, Timestamp now, int limit);

}  // namespace recado::llm_store
