#pragma once
// Enqueues periodic jobs on their cron schedules from whichever process holds the
// scheduler's lease (periodic.hpp). Every `tick` it renews or takes the lease; while it
// leads, it enqueues each job's latest slot not after clock.now() that it has not seen yet,
// and calls `on_leader_tick` (the worker runs its maintenance there: rescue, prune).
// Slots missed while nobody led are not caught up: only the latest one, and only within a
// day. The database refuses a slot enqueued before, so a leader change or two processes
// briefly both leading never enqueues a slot twice.
//
// Loop thread only; SQL runs on the DbPool's threads. Slots come from the injected Clock;
// the lease's expiry is the database's real time.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "src/clock.hpp"
#include "src/db_pool.hpp"
#include "src/event_loop.hpp"
#include "src/periodic.hpp"

namespace recado {

struct SchedulerOptions {
  Duration tick = std::chrono::seconds{1};  // how often to renew the lease and look for slots
  Duration ttl = std::chrono::seconds{15};  // a lease not renewed for this long is free
  std::string leader_name = "scheduler";    // the recado.leaders row
};

class Scheduler {
 public:
  // `holder` names this process in recado.leaders (the worker's id): unique per process.
  Scheduler(EventLoop& loop, DbPool& pool, const Clock& clock, std::string holder,
            std::vector<PeriodicJob> jobs, SchedulerOptions options = {},
            std::function<void()> on_leader_tick = {});
  ~Scheduler();  // call stop() and wait for it first when start() was called
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Ticks at once, then every options.tick.
  void start();
  // Stops ticking, waits for the SQL under way, gives the lease up if held, then calls
  // `stopped` on the loop. on_leader_tick is not called once stop() was.
  void stop(std::function<void()> stopped);

  // Whether the last tick renewed the lease.
  bool leader() const { return leader_; }
  const std::string& holder() const { return holder_; }

 private:
  struct TickResult;
  void tick();
  void on_tick(DbResult<TickResult> result);
  void set_leader(bool leader, const std::string& error);
  void release();
  void finish_stop();

  DbPool& pool_;
  const Clock& clock_;
  std::string holder_;
  // Shared read-only with the database threads.
  std::shared_ptr<const std::vector<PeriodicJob>> jobs_;
  SchedulerOptions options_;
  std::function<void()> on_leader_tick_;
  Timer timer_;
  // Per job (same order as jobs_): the newest slot this process enqueued or found enqueued.
  std::vector<std::optional<Timestamp>> seen_;
  bool leader_ = false;
  bool db_failing_ = false;              // the last tick failed: logged once until one succeeds
  std::vector<std::string> job_errors_;  // per job: the error last logged ("" none)
  bool ticking_ = false;                 // a tick's SQL is under way: the timer skips
  bool started_ = false;
  bool stopping_ = false;
  bool stopped_already_ = false;  // stop() finished: a later stop() answers at once
  std::function<void()> stopped_;
};

}  // namespace recado
