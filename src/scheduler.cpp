#include "src/scheduler.hpp"

#include <exception>

#include "src/log.hpp"
#include "src/time_format.hpp"

namespace recado {

// What one tick did on its database thread.
struct Scheduler::TickResult {
  struct Slot {
    size_t job = 0;  // index into jobs_
    Timestamp slot;
    std::optional<int64_t> job_id;  // nullopt: enqueued before (or failed: see error)
    std::string error;              // "" when the enqueue went through
  };
  bool leader = false;
  std::vector<Slot> slots;
};

Scheduler::Scheduler(EventLoop& loop, DbPool& pool, const Clock& clock, std::string holder,
                     std::vector<PeriodicJob> jobs, SchedulerOptions options,
                     std::function<void()> on_leader_tick)
    : pool_(pool),
      clock_(clock),
      holder_(std::move(holder)),
      jobs_(std::make_shared<const std::vector<PeriodicJob>>(std::move(jobs))),
      options_(std::move(options)),
      on_leader_tick_(std::move(on_leader_tick)),
      timer_(loop),
      seen_(jobs_->size()),
      job_errors_(jobs_->size()) {}

Scheduler::~Scheduler() = default;

void Scheduler::start() {
  if (started_ || stopping_) return;
  started_ = true;
  tick();
  timer_.start(
      options_.tick, [this] { tick(); }, options_.tick);
}

void Scheduler::stop(std::function<void()> stopped) {
  timer_.stop();
  if (stopped_already_) {
    if (stopped) stopped();
    return;
  }
  if (stopping_) {  // a second stop while the first is under way: call both once stopped
    auto first = std::move(stopped_);
    stopped_ = [first = std::move(first), stopped = std::move(stopped)] {
      if (first) first();
      if (stopped) stopped();
    };
    return;
  }
  stopping_ = true;
  stopped_ = std::move(stopped);
  if (ticking_) return;  // on_tick releases the lease once the tick's answer is in
  release();
}

void Scheduler::tick() {
  if (ticking_ || stopping_) return;  // the previous tick's SQL is still under way
  ticking_ = true;
  const Timestamp now = clock_.now();
  pool_.submit<TickResult>(
      [jobs = jobs_, seen = seen_, now, name = options_.leader_name, holder = holder_,
       ttl = options_.ttl](pqxx::connection& c) {
        TickResult result;
        result.leader = periodic::hold_leadership(c, name, holder, ttl);
        if (!result.leader) return result;
        for (size_t i = 0; i < jobs->size(); ++i) {
          const PeriodicJob& job = (*jobs)[i];
          // One job's failure (a bad payload) must not hold back the others; a broken
          // connection ends the tick, so the pool replaces the connection.
          try {
            const std::optional<Timestamp> slot = periodic::latest_slot(job.schedule, now, seen[i]);
            if (!slot) continue;
            TickResult::Slot done{i, *slot, std::nullopt, {}};
            done.job_id = periodic::enqueue_slot(c, job, *slot);
            result.slots.push_back(std::move(done));
          } catch (...) {
            const DbError error = translate_db_exception(std::current_exception());
            if (error.kind == DbError::Kind::connection) throw;
            result.slots.push_back({i, Timestamp{}, std::nullopt, error.message});
          }
        }
        return result;
      },
      [this](DbResult<TickResult> result) { on_tick(std::move(result)); });
}

void Scheduler::on_tick(DbResult<TickResult> result) {
  ticking_ = false;
  if (!result.ok()) {
    if (!db_failing_)
      log::warn(
          "scheduler could not renew its lease; it does not lead until it can",
          {{"leader", options_.leader_name}, {"holder", holder_}, {"error", result.error.message}});
    db_failing_ = true;
    set_leader(false, "database error");
  } else {
    if (db_failing_)
      log::info("scheduler reaches the database again",
                {{"leader", options_.leader_name}, {"holder", holder_}});
    db_failing_ = false;
    set_leader(result.value->leader, "another process holds the lease");
    for (const TickResult::Slot& s : result.value->slots) {
      const PeriodicJob& job = (*jobs_)[s.job];
      if (!s.error.empty()) {
        if (job_errors_[s.job] != s.error)
          log::warn("could not enqueue a periodic job; trying again next tick",
                    {{"periodic", job.name}, {"kind", job.job.kind}, {"error", s.error}});
        job_errors_[s.job] = s.error;
        continue;
      }
      if (!job_errors_[s.job].empty())
        log::info("periodic job enqueues again", {{"periodic", job.name}, {"kind", job.job.kind}});
      job_errors_[s.job].clear();
      seen_[s.job] = s.slot;
      if (s.job_id)
        log::info("periodic job enqueued", {{"periodic", job.name},
                                            {"slot", format_rfc3339(s.slot)},
                                            {"job_id", std::to_string(*s.job_id)},
                                            {"queue", job.job.queue},
                                            {"kind", job.job.kind}});
    }
  }
  if (stopping_) return release();
  if (leader_ && on_leader_tick_) on_leader_tick_();
}

void Scheduler::set_leader(bool leader, const std::string& why_not) {
  if (leader == leader_) return;
  leader_ = leader;
  if (leader)
    log::info("this process now leads the scheduler",
              {{"leader", options_.leader_name}, {"holder", holder_}});
  else
    log::warn("this process no longer leads the scheduler",
              {{"leader", options_.leader_name}, {"holder", holder_}, {"reason", why_not}});
}

void Scheduler::release() {
  if (!leader_) return finish_stop();
  pool_.submit<bool>(
      [name = options_.leader_name, holder = holder_](pqxx::connection& c) {
        return periodic::release_leadership(c, name, holder);
      },
      [this](DbResult<bool> result) {
        leader_ = false;
        if (!result.ok())
          log::warn(
              "could not give up the scheduler's lease; another process takes it once it expires",
              {{"leader", options_.leader_name},
               {"holder", holder_},
               {"error", result.error.message}});
        else if (*result.value)
          log::info("this process gave up the scheduler's lease",
                    {{"leader", options_.leader_name}, {"holder", holder_}});
        finish_stop();
      });
}

void Scheduler::finish_stop() {
  stopped_already_ = true;
  auto stopped = std::move(stopped_);
  stopped_ = nullptr;
  if (stopped) stopped();
}

}  // namespace recado
