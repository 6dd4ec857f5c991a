#pragma once
// Periodic jobs in SQL: the leader's lease (recado.leaders) and the one enqueue per cron
// slot (recado.periodic). Blocking: call from a database thread (DbPool) or a CLI, never
// from an event loop; the loop side is Scheduler (scheduler.hpp). Errors surface as
// libpqxx exceptions; callers translate them (db_error.hpp).
//
// Leadership is a row with an expiry, not an advisory lock: it holds no session state, so
// it works behind a transaction pooler. Lease times are the database's now() (real time),
// whatever clock the caller computes slots with.
//
// Exactly once per slot: recado.periodic keeps, per periodic job, the newest slot enqueued,
// and a slot is enqueued only by the transaction that moves it forward. Two processes that
// both believe they lead (a lease lapsing mid-tick) still enqueue each slot once, and a
// slot older than one already enqueued is never enqueued, even after its job finished.
#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <string_view>

#include "src/clock.hpp"
#include "src/config.hpp"
#include "src/cron.hpp"
#include "src/job.hpp"

namespace recado {

// A job enqueued on a cron schedule. `job`'s run_at and dedup_key are ignored: each slot's
// job runs at the slot's instant and carries the key periodic::dedup_key(name, slot).
struct PeriodicJob {
  std::string name;  // unique among periodic jobs: the recado.periodic row and the dedup keys
  CronSchedule schedule;
  NewJob job;
};

namespace periodic {

// Takes the lease `name` for `holder` when it is free, expired or already `holder`'s, and
// (re)sets its expiry to now() + ttl. One statement. True while `holder` leads.
bool hold_leadership(pqxx::connection& conn, std::string_view name, std::string_view holder,
                     Duration ttl);

// Gives the lease up if `holder` has it (shutdown), so a successor need not wait for the
// ttl. True when it was `holder`'s.
bool release_leadership(pqxx::connection& conn, std::string_view name, std::string_view holder);

// In one transaction: moves recado.periodic's slot for `job.name` forward to `slot` (a
// slot not newer than the one stored is refused) and inserts the slot's job, due at `slot`,
// with its dedup key. Returns the new job's id, or nullopt when the slot (or a newer one)
// was enqueued already, by this process or another. Wakes the job's queue after the commit
// (a lost wake-up is only logged: workers also poll run_at).
std::optional<int64_t> enqueue_slot(pqxx::connection& conn, const PeriodicJob& job, Timestamp slot);

// "periodic:{name}:{slot in whole seconds since the Unix epoch}".
std::string dedup_key(std::string_view name, Timestamp slot);

// The latest instant `schedule` fires at in (after, now], looking back no further than one
// day before `now`; nullopt when none. Only the latest: slots missed in between are not a
// backlog to catch up on. Pure; a few dozen next_fire calls at most.
std::optional<Timestamp> latest_slot(const CronSchedule& schedule, Timestamp now,
                                     std::optional<Timestamp> after = std::nullopt);

}  // namespace periodic
// Every periodic job the configuration asks for: the operator's `periodic` entries and each
// tenant's Cal.com sync (calcom.sync, in the tenant's time zone; one at a time per tenant).
std::vector<PeriodicJob> periodic_jobs(const Config& config);

}  // namespace recado
