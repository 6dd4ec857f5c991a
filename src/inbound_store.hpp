#pragma once
// Webhooks into PostgreSQL: each event once (recado.inbound, unique per tenant, provider and
// dedup key), and in the same statement the jobs the new ones start:
//  - a message from a contact: one llm_reply job per conversation (sequence key: the
//    conversation), debounced: it runs the tenant's debounce after the first message, and
//    messages arriving while it waits join it (it answers them all); one arriving after it
//    started gets a job of its own, which runs after it;
//  - a Cal.com booking event: one calcom_sync job (sequence key: the booking).
// Blocking; call from a database thread. Errors surface as libpqxx exceptions.
#include <pqxx/pqxx>

#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "src/clock.hpp"
#include "src/config.hpp"
#include "src/webhook_decode.hpp"

namespace recado {

// The queues (and job kinds) the ingress fills.
inline constexpr const char* kReplyQueue = "llm_reply";
inline constexpr const char* kCalcomQueue = "calcom_sync";

// One accepted webhook: its events and the body they came in.
struct InboundWrite {
  std::string tenant;
  Provider provider = Provider::evolution;
  Duration debounce{};
  std::shared_ptr<const std::string> raw;
  std::vector<InboundEvent> events;
};

struct InboundWritten {
  int stored = 0;      // events new to the database
  int duplicates = 0;  // events it already had (replays, or twins in this batch)
};

namespace inbound_store {

// How batches are inserted. Webhooks are nearly always new, so a batch is first inserted
// without asking the unique index about each event first (ON CONFLICT: an extra descent of
// the index and an extra WAL record per event; a commit of 30 webhooks under load went from
// 1.5 to 1.2 ms without it). If one was stored already (a provider's retry), that insert
// fails whole and the batch is stored again with each key checked, and so are the batches
// of the next `window` (a provider replaying its backlog repeats itself). Shared by the
// committers.
class InsertMode {
 public:
  explicit InsertMode(Duration window = std::chrono::seconds{10}) : window_(window) {}
  // Whether a batch now is inserted with each key checked.
  bool checked(std::chrono::steady_clock::time_point now) const;
  // A batch met an event stored already.
  void met_stored(std::chrono::steady_clock::time_point now);

 private:
  Duration window_;
  std::atomic<int64_t> checked_until_{0};  // steady clock, in its ticks
};

// Stores every write in one statement, committed when it returns; results in input order.
// Adds to `wake` the queues that got jobs ready to run now.
std::vector<InboundWritten> store(pqxx::connection& conn, const std::vector<InboundWrite>& writes,
                                  std::set<std::string>& wake, InsertMode& mode);

// Deletes inbound events received longer than `keep` ago, at most `limit`; returns how many.
int prune(pqxx::connection& conn, Duration keep, int limit);

}  // namespace inbound_store
}  // namespace recado
