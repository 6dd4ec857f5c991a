#pragma once
// The contract between the worker and the business logic in jobs/: a job kind is a name and
// a handler. A handler gets a context (the job, the clock, a way to wait without blocking)
// and reports exactly one Outcome through `done`, now or later. It must not block, sleep,
// open sockets or read the wall clock; what it needs from outside comes through the context.
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "src/call_verdict.hpp"
#include "src/clock.hpp"
#include "src/config.hpp"
#include "src/http_client.hpp"
#include "src/job.hpp"
#include "src/metrics.hpp"
#include "src/send_limits.hpp"

namespace recado {

// One call to a provider, made through the circuit breaker named `breaker` (by convention
// "{api}:{tenant}", one per provider endpoint and tenant credential).
struct ProviderCall {
  Api api = Api::openai;
  std::string breaker;
  HttpCall http;
  // Labels for the LLM metrics (tokens, latency by tenant and model); empty for other calls.
  std::string tenant, model;
};

struct CallResult {
  std::string breaker;
  std::optional<Timestamp> refused_until;  // the breaker is open: no call was made
  HttpReply reply;
  CallVerdict verdict;

  bool ok() const { return !refused_until && verdict.type == CallVerdict::Type::success; }
  // What a job should say when the call did not succeed: snooze until the breaker's next
  // probe (no attempt used), retry (not before the provider's own delay) or discard.
  Outcome outcome(Timestamp now) const;
};

class HandlerContext {
 public:
  virtual ~HandlerContext() = default;
  virtual const Job& job() const = 0;
  virtual const Clock& clock() const = 0;
  // Where a kind counts what is its own (possible duplicate sends, skipped replies, ...).
  virtual Metrics& metrics() = 0;
  // A tenant's configuration (gateway, send limits, business hours), or null if unknown.
  virtual const TenantConfig* tenant(std::string_view id) const = 0;
  // Calls `then` on the worker's loop after `delay`, unless the job was given up
  // (shutdown deadline) by then. An exception thrown by `then` is a retry.
  virtual void after(Duration delay, std::function<void()> then) = 0;
  // Makes `call` unless its breaker is open, classifies the answer, tells the breaker, and
  // calls `then` on the loop, unless the job was given up by then. An exception thrown by
  // `then` is a retry.
  virtual void call(ProviderCall call, std::function<void(CallResult)> then) = 0;
  // Takes a send slot for `sender` (a WhatsApp number) to `recipient` under `limits`, shared
  // by every worker; `then` gets the permit: granted (the send is counted) or the earliest
  // time one could go. A database failure ends the job as a retry without calling `then`.
  virtual void reserve_send(std::string sender, std::string recipient, SendLimits limits,
                            std::function<void(SendPermit)> then) = 0;
  // Runs `work` on a database thread (it opens its own transactions), then `then` on the
  // loop, unless the job was given up by then. A database failure ends the job as a retry
  // without calling `then`; an exception thrown by `then` is a retry.
  virtual void query(std::function<void(pqxx::connection&)> work, std::function<void()> then) = 0;
  // Ends the job: runs `effect` and completes the job in one transaction, keeping
  // `result_json` on it, so what the job did is recorded if and only if it is complete. If the
  // job is no longer this worker's (its lease lapsed), the effect is rolled back. A failing
  // database is tried again a few times before the job ends as a retry. Do not call `done`.
  virtual void complete_with(std::function<void(pqxx::work&)> effect, std::string result_json) = 0;
};

// query() with a value: `work` returns what `then` gets.
template <typename T>
void with_db(HandlerContext& ctx, std::function<T(pqxx::connection&)> work, std::function<void(T)> then) {
  auto out = std::make_shared<std::optional<T>>();
  ctx.query([out, work = std::move(work)](pqxx::connection& c) { out->emplace(work(c)); },
            [out, then = std::move(then)] { then(std::move(**out)); });
}

using Done = std::function<void(Outcome)>;

struct JobKind {
  std::string_view name;
  std::function<void(HandlerContext&, Done)> run;
};

// The one table of job kinds a worker can run; built by jobs/registry.cpp.
using JobKindTable = std::vector<JobKind>;

}  // namespace recado
