#pragma once
// Group commit. Callers on the loop submit items; committer tasks on database threads (up to
// `committers` at once) each take everything waiting (up to max_batch), store it in one
// statement, hand the results back to the loop and at once take the next batch, so the loop
// is never on the path between two commits. Many concurrent callers thus cost one commit
// (and one fsync) per batch, and each caller's `done` runs only after its item's commit.
// With two committers, one batch is written while the other waits for its flush.
//  - A batch the database refuses (or that loses a deadlock) is retried one item per
//    transaction, so one bad item cannot sink its neighbours. Stores take their locks in
//    one order (sorted keys), so concurrent batches do not deadlock in the first place.
//  - Wake-ups: the committer sends NOTIFY for the queues the store names after their commit,
//    at once when nothing else is waiting and at most every 2 ms under load.
//  - An item not committed within `timeout` is answered with an error (DbError::timeout):
//    the caller says "try again" rather than wait. Its commit may still land later, so what
//    is stored must be safe to send twice (dedup keys).
// submit() and the callbacks: loop thread only. The committer shares only `Shared` with
// this object, so a GroupCommit may be destroyed while a committer is still finishing.
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "src/db_pool.hpp"
#include "src/job_store.hpp"
#include "src/log.hpp"
#include "src/metrics.hpp"

namespace recado {

struct GroupCommitOptions {
  int max_batch = 1000;
  int committers = 1;  // batches in flight at once, each on its own database thread
  Duration timeout = std::chrono::seconds{5};
  Histogram* batch_sizes = nullptr;     // items per committed batch
  Histogram* commit_seconds = nullptr;  // time a batch's statement took
  int min_extra_batch = 16;             // items waiting before a committer beyond the first starts
};

template <typename Item, typename Result>
class GroupCommit {
 public:
  using Done = std::function<void(DbResult<Result>)>;
  // Database thread: stores `items` in one committed statement and returns one result per
  // item, nullopt for an item that was not stored (its caller is told to try again); adds
  // to `wake` the queues that got jobs ready now. Throws when nothing was stored.
  using Store = std::function<std::vector<std::optional<Result>>(pqxx::connection&, const std::vector<Item>&,
                                                                 std::set<std::string>& wake)>;

  GroupCommit(EventLoop& loop, DbPool& pool, GroupCommitOptions options, Store store)
      : pool_(pool), shared_(std::make_shared<Shared>(loop, options, std::move(store))), sweeper_(loop) {
    const Duration every = std::max<Duration>(options.timeout / 4, std::chrono::milliseconds{5});
    sweeper_.start(every, [this] { sweep(); }, every);
  }

  void submit(Item item, Done done) {
    auto answer = std::make_shared<Answer>(Answer{std::move(done), std::chrono::steady_clock::now() + timeout()});
    inflight_.push_back(answer);
    bool start = false;
    {
      std::lock_guard lock(shared_->mutex);
      shared_->waiting.push_back({std::move(item), std::move(answer), false});
      // A second committer is worth its own commit only for a batch of some size.
      start = shared_->committers == 0 ||
              (shared_->committers < shared_->options.committers &&
               shared_->waiting.size() >= static_cast<size_t>(shared_->options.min_extra_batch));
      if (start) ++shared_->committers;
    }
    if (start) start_committer();
  }

 private:
  // A caller's callback, answered once: by the commit or by the timeout, whichever is first.
  struct Answer {
    Done done;
    std::chrono::steady_clock::time_point deadline;
    bool answered = false;
    void operator()(DbResult<Result> r) {
      if (answered) return;
      answered = true;
      done(std::move(r));
    }
  };
  struct Pending {
    Item item;
    std::shared_ptr<Answer> answer;
    bool alone = false;  // commit in a transaction of its own (its batch failed)
  };
  using Batch = std::vector<Pending>;
  struct Shared {
    Shared(EventLoop& l, GroupCommitOptions o, Store s) : loop(l), options(o), store(std::move(s)) {}
    EventLoop& loop;
    GroupCommitOptions options;
    Store store;
    std::mutex mutex;  // guards waiting and committers
    Batch waiting;
    int committers = 0;  // committer tasks running
  };

  Duration timeout() const { return shared_->options.timeout; }

  // Answers the callers whose commit is late. Loop thread.
  void sweep() {
    const auto now = std::chrono::steady_clock::now();
    while (!inflight_.empty() && (inflight_.front()->answered || inflight_.front()->deadline <= now)) {
      if (!inflight_.front()->answered)
        (*inflight_.front())({std::nullopt, {DbError::Kind::timeout, "not committed in time", {}}});
      inflight_.pop_front();
    }
  }

  void start_committer() {
    // The batch being committed, kept here so a failure can answer its callers.
    auto current = std::make_shared<std::shared_ptr<Batch>>();
    pool_.submit<bool>(
        [shared = shared_, current](pqxx::connection& conn) {
          commit_loop(*shared, conn, *current);
          return true;
        },
        [this, current](DbResult<bool> r) {
          if (r.ok()) return;
          std::shared_ptr<Batch> failed = *current;
          const bool refused = r.error.kind == DbError::Kind::query || r.error.kind == DbError::Kind::conflict;
          if (failed && failed->size() > 1 && refused) {
            log::warn("a group commit failed; retrying its items one by one",
                      {{"items", std::to_string(failed->size())}, {"error", r.error.message}});
            std::lock_guard lock(shared_->mutex);
            for (Pending& p : *failed) shared_->waiting.push_back({std::move(p.item), std::move(p.answer), true});
          } else if (failed) {
            for (Pending& p : *failed) (*p.answer)({std::nullopt, r.error});
          } else {
            // No batch was taken: the database could not even be reached. Everything
            // waiting would meet the same fate; answer it now rather than hang.
            Batch all;
            {
              std::lock_guard lock(shared_->mutex);
              all.swap(shared_->waiting);
            }
            for (Pending& p : all) (*p.answer)({std::nullopt, r.error});
          }
          // The committer stopped on the error; start another if items are waiting.
          bool restart = false;
          {
            std::lock_guard lock(shared_->mutex);
            restart = !shared_->waiting.empty();
            if (!restart) --shared_->committers;
          }
          if (restart) start_committer();
        });
  }

  // Database thread: commits batches until none is waiting.
  static void commit_loop(Shared& shared, pqxx::connection& conn, std::shared_ptr<Batch>& current) {
    constexpr auto kWakeInterval = std::chrono::milliseconds{2};
    std::set<std::string> to_wake;
    auto last_wake = std::chrono::steady_clock::now();
    for (;;) {
      auto batch = std::make_shared<Batch>();
      {
        std::lock_guard lock(shared.mutex);
        if (shared.waiting.empty()) {
          --shared.committers;
          return;
        }
        // Items of a failed batch are retried one per transaction.
        size_t take = 1;
        Batch& w = shared.waiting;
        if (!w.front().alone)
          while (take < w.size() && take < static_cast<size_t>(shared.options.max_batch) && !w[take].alone) ++take;
        batch->assign(std::make_move_iterator(w.begin()), std::make_move_iterator(w.begin() + take));
        w.erase(w.begin(), w.begin() + take);
      }
      current = batch;
      std::vector<Item> items;
      items.reserve(batch->size());
      for (const Pending& p : *batch) items.push_back(p.item);
      const auto started = std::chrono::steady_clock::now();
      auto results = shared.store(conn, items, to_wake);  // throws: the pool reports it
      const auto committed = std::chrono::steady_clock::now();
      current.reset();
      if (shared.options.batch_sizes) shared.options.batch_sizes->observe(static_cast<double>(batch->size()));
      if (shared.options.commit_seconds)
        shared.options.commit_seconds->observe(std::chrono::duration<double>(committed - started).count());
      shared.loop.post([batch, results = std::move(results)] {
        for (size_t i = 0; i < batch->size(); ++i) {
          if (results[i]) {
            (*(*batch)[i].answer)({results[i], {}});
          } else {
            (*(*batch)[i].answer)({std::nullopt, {DbError::Kind::conflict, "not stored; try again", {}}});
          }
        }
      });
      // Wake the workers after the commit, but under load at most every couple of
      // milliseconds: a NOTIFY per batch would cost as much as the batch.
      bool more_waiting;
      {
        std::lock_guard lock(shared.mutex);
        more_waiting = !shared.waiting.empty();
      }
      if (!to_wake.empty() && (!more_waiting || committed - last_wake >= kWakeInterval)) {
        try {
          job_store::notify(conn, {to_wake.begin(), to_wake.end()});
        } catch (const std::exception& e) {
          log::warn("waking workers failed; they will find the jobs when they poll", {{"error", e.what()}});
        }
        to_wake.clear();
        last_wake = committed;
      }
    }
  }

  DbPool& pool_;
  std::shared_ptr<Shared> shared_;
  std::deque<std::shared_ptr<Answer>> inflight_;  // in submission order, so deadlines too
  Timer sweeper_;
};

}  // namespace recado
