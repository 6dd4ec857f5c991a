#pragma once
// The queue's state as gauges, read from the database every `interval` on a DbPool thread and
// served from that snapshot at scrape time: live jobs per queue and state
// (recado_queue_jobs), how long the oldest due job has waited (recado_queue_oldest_job_age_seconds),
// whether a queue is paused, and how many workers beat within their lease. One cheap
// statement per interval, whatever the scrape rate; a queue once seen stays at 0 when empty.
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "src/clock.hpp"
#include "src/db_pool.hpp"
#include "src/event_loop.hpp"
#include "src/metrics.hpp"

namespace recado {

class QueueStats {
 public:
  QueueStats(EventLoop& loop, DbPool& pool, Metrics& metrics, Duration worker_lease,
             Duration interval = std::chrono::seconds{15});
  void start();
  void stop();

 private:
  struct Snapshot {
    std::map<std::pair<std::string, std::string>, double> jobs;    // (queue, state)
    std::map<std::pair<std::string, std::string>, double> oldest;  // (queue, state)
    std::map<std::string, double> paused;
    double workers = 0;
  };
  void refresh();
  void publish(Snapshot snap);

  DbPool& pool_;
  Metrics& metrics_;
  Duration lease_;
  Duration interval_;
  Timer timer_;
  bool refreshing_ = false;
  std::set<std::string> known_;  // queues whose gauges exist
  struct Shared {
    std::mutex mutex;
    Snapshot snap;
  };
  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
};

}  // namespace recado
