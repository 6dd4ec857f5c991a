#include "src/periodic.hpp"

#include <algorithm>
#include <chrono>
#include <exception>

#include <nlohmann/json.hpp>

#include "src/job_store.hpp"
#include "src/log.hpp"

namespace recado::periodic {

namespace {

int64_t micros(Duration d) {
  return static_cast<int64_t>(d.count());
}

// The statements are run unnamed (exec_params), not prepared: they run once a tick at most,
// and unnamed statements also pass through a transaction pooler.

// Takes the lease when it is free, expired or already the holder's, until now() + $3 us.
// ON CONFLICT re-checks its WHERE against the row as committed by a concurrent taker, so of
// processes racing for a free or expired lease exactly one gets a row back.
constexpr const char* kHoldLeadership = R"SQL(
  INSERT INTO recado.leaders AS l (name, holder, since, until)
  VALUES ($1, $2, now(), now() + $3 * interval '1 microsecond')
  ON CONFLICT (name) DO UPDATE
  SET holder = EXCLUDED.holder,
      since = CASE WHEN l.holder = EXCLUDED.holder THEN l.since ELSE now() END,
      until = EXCLUDED.until
  WHERE l.holder = EXCLUDED.holder OR l.until < now()
  RETURNING holder
)SQL";

// Moves periodic job $1's slot forward to $2 (us since the epoch); no row when the stored
// slot is as new or newer.
constexpr const char* kAdvanceSlot = R"SQL(
  INSERT INTO recado.periodic AS p (name, last_slot)
  VALUES ($1, 'epoch'::timestamptz + $2 * interval '1 microsecond')
  ON CONFLICT (name) DO UPDATE
  SET last_slot = EXCLUDED.last_slot, job_id = NULL, updated_at = now()
  WHERE p.last_slot < EXCLUDED.last_slot
  RETURNING 1
)SQL";

// The slot's job, due at the slot; no row when a live job holds its dedup key.
constexpr const char* kInsertJob = R"SQL(
  INSERT INTO recado.jobs (queue, kind, payload, priority, run_at, dedup_key, sequence_key,
                           max_attempts)
  VALUES ($1, $2, $3::jsonb, $4, 'epoch'::timestamptz + $5 * interval '1 microsecond', $6, $7,
          coalesce($8, 25))
  ON CONFLICT (dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING
  RETURNING id
)SQL";

}  // namespace

bool hold_leadership(pqxx::connection& conn, std::string_view name, std::string_view holder,
                     Duration ttl) {
  pqxx::nontransaction tx(conn);
  const auto rows =
      tx.exec_params(kHoldLeadership, std::string(name), std::string(holder), micros(ttl));
  return !rows.empty();
}

bool release_leadership(pqxx::connection& conn, std::string_view name, std::string_view holder) {
  pqxx::nontransaction tx(conn);
  return tx.exec_params("DELETE FROM recado.leaders WHERE name = $1 AND holder = $2",
                        std::string(name), std::string(holder))
             .affected_rows() > 0;
}

std::string dedup_key(std::string_view name, Timestamp slot) {
  const auto seconds = std::chrono::floor<std::chrono::seconds>(slot.time_since_epoch()).count();
  return "periodic:" + std::string(name) + ":" + std::to_string(seconds);
}

std::optional<int64_t> enqueue_slot(pqxx::connection& conn, const PeriodicJob& job,
                                    Timestamp slot) {
  const NewJob& j = job.job;
  std::optional<int64_t> id;
  {
    pqxx::work tx(conn);
    // Moving the slot forward locks the periodic row until the commit: a concurrent
    // enqueue of the same job waits here, then sees the new slot and is refused.
    const auto advanced = tx.exec_params(kAdvanceSlot, job.name, epoch_micros(slot));
    if (advanced.empty()) return std::nullopt;  // this slot or a newer one was enqueued
    // A live job holding the key can only be this slot's, enqueued without the periodic row
    // (it was deleted by hand): then the slot is done as well.
    const auto inserted =
        tx.exec_params(kInsertJob, j.queue, j.kind, j.payload_json, j.priority, epoch_micros(slot),
                       dedup_key(job.name, slot), j.sequence_key,
                       j.max_attempts > 0 ? std::optional<int>(j.max_attempts) : std::nullopt);
    if (!inserted.empty()) {
      id = inserted[0][0].as<int64_t>();
      tx.exec_params("UPDATE recado.periodic SET job_id = $2 WHERE name = $1", job.name, *id);
    }
    tx.commit();
  }
  if (id) {
    try {
      job_store::notify(conn, {j.queue});
    } catch (const std::exception& e) {
      log::warn(
          "periodic job enqueued, but waking its queue failed; workers find it when they poll",
          {{"periodic", job.name},
           {"job_id", std::to_string(*id)},
           {"queue", j.queue},
           {"error", e.what()}});
    }
  }
  return id;
}

std::optional<Timestamp> latest_slot(const CronSchedule& schedule, Timestamp now,
                                     std::optional<Timestamp> after) {
  using std::chrono::minutes;
  // Invariant: the schedule fires in (low, now] and not in (high, now].
  Timestamp low = now - std::chrono::hours{24};
  if (after) low = std::max(low, *after);
  if (low >= now) return std::nullopt;
  std::optional<Timestamp> found = next_fire(schedule, low);
  if (!found || *found > now) return std::nullopt;
  Timestamp high = now;
  // Fires fall on whole minutes, so (low, high] holds one at most once it is a minute short:
  // bisect down to that (about 11 steps across a day) rather than walk every fire.
  while (high - low > minutes{1}) {
    const Timestamp mid = low + (high - low) / 2;
    const std::optional<Timestamp> t = next_fire(schedule, mid);
    if (t && *t <= now) {
      low = mid;
      found = t;
    } else {
      high = mid;
    }
  }
  // `found` is the first fire after `low`, so the last one in (low, now]; check the
  // remaining stretch in case more than one landed there (never, with whole minutes).
  for (std::optional<Timestamp> t = next_fire(schedule, *found); t && *t <= now;
       t = next_fire(schedule, *t))
    found = t;
  return found;
}

}  // namespace recado::periodic

namespace recado {

std::vector<PeriodicJob> periodic_jobs(const Config& config) {
  std::vector<PeriodicJob> out;
  for (const PeriodicConfig& p : config.periodic) {
    NewJob job;
    job.queue = p.queue;
    job.kind = p.kind;
    job.payload_json = p.payload;
    out.push_back({p.name, p.schedule, std::move(job)});
  }
  for (const TenantConfig& t : config.tenants) {
    if (!t.calcom.enabled() || !t.calcom.sync_schedule) continue;
    NewJob job;
    job.queue = job.kind = "calcom_sync";
    job.payload_json = nlohmann::json{{"tenant", t.id}, {"mode", "full"}}.dump();
    job.sequence_key = "calcom_sync:" + t.id;
    out.push_back({"calcom_sync:" + t.id, *t.calcom.sync_schedule, std::move(job)});
  }
  return out;
}

}  // namespace recado
