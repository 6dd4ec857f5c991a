#include "src/worker.hpp"

#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "src/backoff.hpp"
#include "src/duration.hpp"
#include "src/inbound_store.hpp"
#include "src/llm_store.hpp"
#include "src/log.hpp"
#include "src/send_limits.hpp"

namespace recado {

namespace {

std::string make_worker_id(const std::string& host) {
  std::random_device rd;
  return fmt::format("{}:{}:{:04x}", host, getpid(), rd() & 0xffff);
}

std::string hostname() {
  char buf[256] = {0};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

JobFinish::Action to_action(Decision::Action a) {
  switch (a) {
    case Decision::Action::complete: return JobFinish::Action::complete;
    case Decision::Action::retry: return JobFinish::Action::retry;
    case Decision::Action::snooze: return JobFinish::Action::snooze;
    case Decision::Action::discard: return JobFinish::Action::discard;
  }
  return JobFinish::Action::discard;
}

}  // namespace

// One running job's context. Owns the timers its handler started, so giving the job up
// cancels them.
class Worker::Context final : public HandlerContext {
 public:
  Context(Worker& worker, Job job) : worker_(worker), job_(std::move(job)), tenants_(worker.tenants_) {}
  ~Context() override { *alive_ = false; }
  const Job& job() const override { return job_; }
  const Clock& clock() const override { return worker_.clock_; }
  Metrics& metrics() override { return worker_.metrics_; }
  // From the snapshot taken when the job started: a reload meanwhile changes nothing here.
  const TenantConfig* tenant(std::string_view id) const override {
    for (const TenantConfig& t : *tenants_)
      if (t.id == id) return &t;
    return nullptr;
  }
  void after(Duration delay, std::function<void()> then) override {
    auto timer = std::make_unique<Timer>(worker_.loop_);
    Timer* raw = timer.get();
    timers_.push_back(std::move(timer));
    raw->start(delay, [this, then = std::move(then)] {
      try {
        then();
      } catch (const std::exception& e) {
        worker_.on_done(job_.id, this, Outcome::retry(std::string("handler threw: ") + e.what()));
      } catch (...) {
        worker_.on_done(job_.id, this, Outcome::retry("handler threw a non-standard exception"));
      }
    });
  }

  void call(ProviderCall call, std::function<void(CallResult)> then) override {
    worker_.call(std::move(call), [this, alive = std::weak_ptr<bool>(alive_), then = std::move(then)](CallResult r) {
      if (auto a = alive.lock(); !a || !*a) return;  // the job was given up meanwhile
      try {
        then(std::move(r));
      } catch (const std::exception& e) {
        worker_.on_done(job_.id, this, Outcome::retry(std::string("handler threw: ") + e.what()));
      } catch (...) {
        worker_.on_done(job_.id, this, Outcome::retry("handler threw a non-standard exception"));
      }
    });
  }

  void reserve_send(std::string sender, std::string recipient, SendLimits limits,
                    std::function<void(SendPermit)> then) override {
    const Timestamp now = worker_.clock_.now();
    worker_.db<SendPermit>(
        [sender = std::move(sender), recipient = std::move(recipient), limits, now](pqxx::connection& c) {
          return recado::reserve_send(c, sender, recipient, limits, now);
        },
        [this, alive = std::weak_ptr<bool>(alive_), then = std::move(then)](DbResult<SendPermit> r) {
          if (auto a = alive.lock(); !a || !*a) return;
          if (!r.ok()) return worker_.on_done(job_.id, this, Outcome::retry("could not reserve a send slot: " + r.error.message));
          try {
            then(std::move(*r.value));
          } catch (const std::exception& e) {
            worker_.on_done(job_.id, this, Outcome::retry(std::string("handler threw: ") + e.what()));
          }
        });
  }

  void query(std::function<void(pqxx::connection&)> work, std::function<void()> then) override {
    // The work may read the tenant on its database thread after the job was given up (and
    // this context freed): it keeps the snapshot alive itself.
    worker_.db<bool>([work = std::move(work), keep = tenants_](pqxx::connection& c) { work(c); return true; },
                     [this, alive = std::weak_ptr<bool>(alive_), then = std::move(then)](DbResult<bool> r) {
                       if (auto a = alive.lock(); !a || !*a) return;
                       if (!r.ok()) return worker_.on_done(job_.id, this, Outcome::retry("database: " + r.error.message));
                       guarded(then);
                     });
  }

  void complete_with(std::function<void(pqxx::work&)> effect, std::string result_json) override {
    write_completion(std::make_shared<std::function<void(pqxx::work&)>>(std::move(effect)),
                     std::make_shared<std::string>(std::move(result_json)), 0);
  }

 private:
  // Runs `f`, turning what it throws into a retry.
  void guarded(const std::function<void()>& f) {
    try {
      f();
    } catch (const std::exception& e) {
      worker_.on_done(job_.id, this, Outcome::retry(std::string("handler threw: ") + e.what()));
    } catch (...) {
      worker_.on_done(job_.id, this, Outcome::retry("handler threw a non-standard exception"));
    }
  }

  void write_completion(std::shared_ptr<std::function<void(pqxx::work&)>> effect,
                        std::shared_ptr<std::string> result, int tries) {
    worker_.db<bool>(
        [effect, result, id = job_.id, attempt = job_.attempt, owner = worker_.id_, tenants = tenants_,
         keep = worker_.config_.completed_retention.count() > 0](pqxx::connection& c) {
          pqxx::work tx(c);
          (*effect)(tx);  // `tenants` outlives it, as in query()
          if (!job_store::complete_one(tx, id, attempt, owner, *result, keep)) return false;  // rolled back
          tx.commit();
          return true;
        },
        [this, alive = std::weak_ptr<bool>(alive_), effect, result, tries](DbResult<bool> r) {
          if (auto a = alive.lock(); !a || !*a) return;
          if (r.ok()) {
            if (!*r.value)
              log::warn("job lost its lease before it could complete; what it did is rolled back",
                        log::job_fields(job_));
            Outcome o = Outcome::complete();
            o.written = true;
            return worker_.on_done(job_.id, this, std::move(o));
          }
          if (tries >= 4)
            return worker_.on_done(job_.id, this, Outcome::retry("could not record the job's completion: " + r.error.message));
          log::warn("recording a job's completion failed; trying again",
                    log::job_fields(job_, {{"error", r.error.message}}));
          after(std::chrono::milliseconds{250} * (1 << tries),
                [this, effect, result, tries] { write_completion(effect, result, tries + 1); });
        });
  }

  Worker& worker_;
  Job job_;
  std::shared_ptr<const std::vector<TenantConfig>> tenants_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::vector<std::unique_ptr<Timer>> timers_;
};

struct Worker::Running {
  Queue* queue;
  std::unique_ptr<Context> context;
  Timestamp started;
};

Worker::Worker(EventLoop& loop, DbPool& pool, std::string db_url, const WorkerConfig& config,
               const JobKindTable& kinds, const Clock& clock, HttpClient& http, Metrics& metrics,
               std::vector<TenantConfig> tenants, std::vector<PeriodicJob> periodic)
    : loop_(loop),
      pool_(pool),
      db_url_(std::move(db_url)),
      config_(config),
      tenants_(std::make_shared<const std::vector<TenantConfig>>(std::move(tenants))),
      clock_(clock),
      http_(http),
      metrics_(metrics),
      breakers_(loop, config_.breakers, clock,
                [this](std::function<void(pqxx::connection&)> work, std::function<void(std::string)> done) {
                  db<bool>([work = std::move(work)](pqxx::connection& c) { work(c); return true; },
                           [done = std::move(done)](DbResult<bool> r) { done(r.ok() ? "" : r.error.message); });
                },
                metrics),
      host_(hostname()),
      random_(std::random_device{}()),
      poll_timer_(loop),
      heartbeat_timer_(loop),
      rescue_timer_(loop),
      prune_timer_(loop),
      deadline_timer_(loop),
      flush_retry_timer_(loop) {
  id_ = make_worker_id(host_);
  periodic_ = std::move(periodic);
  for (const JobKind& k : kinds) kinds_[k.name] = &k;
  for (const QueueConfig& q : config_.queues) queues_.push_back({q.name, q.concurrency});
}

Worker::~Worker() = default;

void Worker::set_tenants(std::vector<TenantConfig> tenants) {
  tenants_ = std::make_shared<const std::vector<TenantConfig>>(std::move(tenants));
}

template <typename T>
void Worker::db(std::function<T(pqxx::connection&)> work, std::function<void(DbResult<T>)> done) {
  ++db_in_flight_;
  pool_.submit<T>(std::move(work), [this, done = std::move(done)](DbResult<T> r) {
    --db_in_flight_;
    done(std::move(r));
    maybe_close();
  });
}

void Worker::start() {
  phase_ = Phase::running;
  std::vector<std::string> names;
  for (const Queue& q : queues_) names.push_back(q.name);
  log::info("worker starting", {{"worker", id_}, {"queues", fmt::format("{}", fmt::join(names, ","))}});
  heartbeat();
  heartbeat_timer_.start(config_.lease / 3, [this] { heartbeat(); }, config_.lease / 3);
  rescue_timer_.start(config_.rescue_interval, [this] { rescue(); }, config_.rescue_interval);
  prune_timer_.start(config_.prune_interval, [this] { prune(); }, config_.prune_interval);
  poll_timer_.start(config_.poll_interval, [this] { claim_all(true); }, config_.poll_interval);
  listener_ = std::make_unique<NotifyListener>(loop_, db_url_, job_store::kNotifyChannel,
                                               [this](std::set<std::string> queues) {
    ++stats_.wakeups;
    if (phase_ != Phase::running) return;
    for (Queue& q : queues_)
      if (queues.empty() || queues.count(q.name)) {
        q.maybe_more = true;
        ++q.wakes;
      }
    claim_all(false);
  });
  claim_all(true);
  breakers_.start();
  SchedulerOptions leading;
  leading.ttl = config_.lease;
  leading.tick = std::min<Duration>(std::chrono::seconds{1}, config_.lease / 3);
  scheduler_ = std::make_unique<Scheduler>(loop_, pool_, clock_, id_, periodic_, leading);
  scheduler_->start();
}

void Worker::count_call(Api api, const std::string& breaker, std::string_view outcome) {
  metrics_.counter("recado_provider_calls_total", "Calls to providers by provider, endpoint (breaker) and outcome",
                   {{"provider", std::string(to_string(api))}, {"endpoint", breaker}, {"outcome", std::string(outcome)}}).add();
}

void Worker::call(ProviderCall call, std::function<void(CallResult)> then) {
  const std::string name = call.breaker;  // not call.breaker itself: the lambda below takes `call` away
  breakers_.admit(name, [this, call = std::move(call), then = std::move(then)](BreakerBoard::Admission a) mutable {
    if (!a.allowed) {
      count_call(call.api, call.breaker, "refused");
      CallResult r;
      r.breaker = std::move(call.breaker);
      r.refused_until = a.retry_at;
      return then(std::move(r));
    }
    const bool probe = a.probe;
    std::string breaker = call.breaker;
    // What a job kind leaves unset comes from worker.http.
    if (call.http.connect_timeout.count() <= 0) call.http.connect_timeout = config_.http.connect_timeout;
    if (call.http.timeout.count() <= 0) call.http.timeout = config_.http.timeout;
    if (call.http.max_response_bytes == 0) call.http.max_response_bytes = config_.http.max_response_bytes;
    http_.send(std::move(call.http), [this, api = call.api, probe, breaker = std::move(breaker),
                                      tenant = std::move(call.tenant), model = std::move(call.model),
                                      then = std::move(then)](HttpReply reply) mutable {
      CallResult r;
      r.verdict = classify(api, reply, clock_.now());
      const std::string provider(to_string(api));
      count_call(api, breaker, to_string(r.verdict.type));
      metrics_.histogram("recado_provider_call_seconds", "Provider call latency, connect to last byte", latency_buckets(),
                         {{"provider", provider}}).observe(std::chrono::duration<double>(reply.elapsed).count());
      if (!model.empty())
        metrics_.histogram("recado_llm_call_seconds", "LLM call latency by tenant and model", latency_buckets(),
                           {{"tenant", tenant}, {"model", model}}).observe(std::chrono::duration<double>(reply.elapsed).count());
      if (r.verdict.type == CallVerdict::Type::success)
        if (const auto used = token_usage(api, reply.body))
          for (const auto& [direction, n] : {std::pair{"input", used->input}, std::pair{"output", used->output}})
            metrics_.counter("recado_llm_tokens_total", "Tokens the LLM providers report used, by provider, tenant, model and direction",
                             {{"provider", provider}, {"tenant", tenant}, {"model", model}, {"direction", direction}}).add(static_cast<uint64_t>(n));
      breakers_.record(breaker, probe, r.verdict.breaker_failure, r.verdict.reason);
      r.breaker = std::move(breaker);
      r.reply = std::move(reply);
      then(std::move(r));
    });
  });
}

void Worker::claim_all(bool wake) {
  if (phase_ != Phase::running) return;
  for (Queue& q : queues_) {
    if (wake) {
      q.maybe_more = true;
      ++q.wakes;
    }
    claim(q);
  }
}

void Worker::claim(Queue& q) {
  // Several claims may be in flight per queue, so the database works on the next batch
  // while this loop runs the last one; each claim reserves the slots it asks for.
  const int max_claims = std::max(1, pool_.size() / 2);
  while (phase_ == Phase::running && q.maybe_more && q.claims_in_flight < max_claims) {
    const int free = q.concurrency - q.in_flight;
    const int limit = std::min(free, config_.claim_batch);
    // A small claim behind a big one in flight is not worth a round trip.
    if (limit <= 0 || (q.claims_in_flight > 0 && limit < std::min(config_.claim_batch, q.concurrency))) return;
    ++q.claims_in_flight;
    q.in_flight += limit;
    Queue* qp = &q;
    db<std::vector<Job>>(
        // The clock is read when the statement runs (clocks are thread-safe), as now() would be.
        [name = q.name, limit, id = id_, lease = config_.lease, clock = &clock_](pqxx::connection& c) {
          return job_store::claim(c, name, limit, id, lease, clock->now());
        },
        [this, qp, limit, wakes = q.wakes](DbResult<std::vector<Job>> r) { on_claimed(*qp, limit, wakes, std::move(r)); });
  }
}

void Worker::on_claimed(Queue& q, int limit, uint64_t wakes, DbResult<std::vector<Job>> r) {
  --q.claims_in_flight;
  q.in_flight -= limit;
  if (!r.ok()) {
    log::warn("claim failed; will poll again", {{"queue", q.name}, {"error", r.error.message}});
    return;
  }
  auto& jobs = *r.value;
  stats_.claimed += static_cast<int64_t>(jobs.size());
  // A wake-up that came while this claim was out may be about a job it could not see.
  q.maybe_more = static_cast<int>(jobs.size()) == limit || q.wakes != wakes;
  if (phase_ != Phase::running) {
    // Claimed while shutting down: give them straight back.
    std::vector<int64_t> ids;
    for (const Job& j : jobs) ids.push_back(j.id);
    hand_back(std::move(ids));
    return;
  }
  for (Job& job : jobs) run(q, std::move(job));
  claim(q);
}

void Worker::run(Queue& q, Job job) {
  const int64_t id = job.id;
  auto kind = kinds_.find(job.kind);
  auto running = std::make_shared<Running>(Running{&q, std::make_unique<Context>(*this, std::move(job)), clock_.now()});
  ++q.in_flight;
  if (auto old = running_.find(id); old != running_.end()) {
    // Our own earlier run lost its lease, was rescued and came back to us: that run's
    // verdict no longer counts (it names the old attempt), and it gives up its slot.
    log::warn("job came back while its previous run was still going; that run is abandoned",
              log::job_fields(old->second->context->job()));
    --old->second->queue->in_flight;
    retired_.push_back(std::move(old->second));
  }
  running_[id] = running;
  Context* context = running->context.get();
  const Job& j = context->job();
  if (log::enabled(log::Level::debug)) log::debug("job started", log::job_fields(j));
  if (kind == kinds_.end()) {
    on_done(id, context, Outcome::discard("no handler for kind '" + j.kind + "' in this worker"));
    return;
  }
  try {
    kind->second->run(*context, [this, id, context](Outcome o) { on_done(id, context, std::move(o)); });
  } catch (const std::exception& e) {
    on_done(id, context, Outcome::retry(std::string("handler threw: ") + e.what()));
  } catch (...) {
    on_done(id, context, Outcome::retry("handler threw a non-standard exception"));
  }
  // A handler still going after job_timeout counts as failed, so its slot and lease come
  // back. (Handlers that finished at once, most of them, need no timer.)
  if (auto it = running_.find(id); it != running_.end() && it->second->context.get() == context)
    context->after(config_.job_timeout, [this, id, context, timeout = config_.job_timeout] {
      on_done(id, context, Outcome::retry("handler did not finish within " + format_duration(timeout)));
    });
}

void Worker::on_done(int64_t id, const Context* who, Outcome outcome) {
  auto it = running_.find(id);
  // Already reported, given up at shutdown, or a report from an abandoned earlier run.
  if (it == running_.end() || it->second->context.get() != who) return;
  std::shared_ptr<Running> running = std::move(it->second);
  running_.erase(it);
  --running->queue->in_flight;
  const Job& job = running->context->job();
  const Timestamp now = clock_.now();
  const Decision d = decide(job, outcome, config_.backoff, now,
                            std::uniform_real_distribution<double>(0.0, 1.0)(random_));
  auto took_ms = [&] {
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now - running->started).count());
  };
  if (d.action != Decision::Action::snooze)
    metrics_.counter("recado_job_attempts_total",
                     "Job attempts ended, by queue, kind and outcome (snoozes, which use no attempt, are recado_job_snoozes_total)",
                     {{"queue", job.queue}, {"kind", job.kind},
                      {"outcome", d.action == Decision::Action::complete ? "completed"
                                  : d.action == Decision::Action::retry  ? "retried"
                                                                         : "discarded"}}).add();
  if (outcome.written) {
    ++stats_.completed;  // complete_with wrote it in the handler's own transaction
  } else {
    verdicts_.push_back({id, job.attempt, to_action(d.action), d.run_at, d.error});
  }
  switch (d.action) {
    case Decision::Action::complete:
      if (log::enabled(log::Level::debug)) log::debug("job completed", log::job_fields(job, {{"took_ms", took_ms()}}));
      break;
    case Decision::Action::retry:
      log::warn("job failed; will retry",
                log::job_fields(job, {{"error", d.error}, {"took_ms", took_ms()},
                                      {"retry_in_ms", std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d.run_at - now).count())}}));
      break;
    case Decision::Action::snooze:
      metrics_.counter("recado_job_snoozes_total", "Jobs put off without using an attempt, by queue and cause",
                       {{"queue", job.queue}, {"cause", outcome.cause.empty() ? "other" : outcome.cause}}).add();
      log::info("job snoozed", log::job_fields(job, {{"reason", outcome.reason}}));
      break;
    case Decision::Action::discard:
      log::error("job discarded", log::job_fields(job, {{"error", d.error}, {"took_ms", took_ms()}}));
      break;
  }
  // The context may be on the stack below us (a timer callback): free it next turn,
  // with the flush this turn schedules.
  Queue& queue = *running->queue;
  retired_.push_back(std::move(running));
  schedule_flush();
  schedule_claim(queue);
  maybe_close();
}

void Worker::schedule_claim(Queue& q) {
  if (q.claim_scheduled) return;
  q.claim_scheduled = true;
  // Claim once for every slot freed in this loop turn, not once per slot.
  loop_.post([this, &q] {
    q.claim_scheduled = false;
    claim(q);
  });
}

void Worker::schedule_flush() {
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  // Let the verdicts of this loop turn gather into one transaction.
  loop_.post([this] {
    flush_scheduled_ = false;
    retired_.clear();
    flush();
    maybe_close();  // a shutdown may have been waiting for this turn only
  });
}

void Worker::flush() {
  const int max_flushes = std::max(1, pool_.size() - 1);
  if (verdicts_.empty() || flushes_in_flight_ >= max_flushes) return;
  ++flushes_in_flight_;
  auto batch = std::make_shared<std::vector<JobFinish>>();
  batch->swap(verdicts_);
  db<FinishCounts>(
      [batch, id = id_, keep = config_.completed_retention.count() > 0](pqxx::connection& c) {
        return job_store::finish(c, *batch, id, keep);
      },
      [this, batch](DbResult<FinishCounts> r) {
        --flushes_in_flight_;
        if (!r.ok()) {
          // Keep the verdicts: the jobs stay leased to us, so writing them later is safe.
          log::warn("writing job results failed; retrying",
                    {{"jobs", std::to_string(batch->size())}, {"error", r.error.message}});
          if (!results_abandoned_) verdicts_.insert(verdicts_.end(), batch->begin(), batch->end());
          if (phase_ != Phase::stopped && !flush_retry_timer_.active())
            flush_retry_timer_.start(std::chrono::milliseconds{200}, [this] {
              flush();
              maybe_close();
            });
          return;
        }
        const FinishCounts& c = *r.value;
        stats_.completed += c.completed;
        stats_.retried += c.retried;
        stats_.snoozed += c.snoozed;
        stats_.discarded += c.discarded;
        if (c.total() != static_cast<int>(batch->size()))
          log::warn("some results were not written: their leases had expired and the jobs were rescued",
                    {{"written", std::to_string(c.total())}, {"jobs", std::to_string(batch->size())}});
        flush();
      });
}

void Worker::heartbeat() {
  std::vector<std::string> names;
  for (const Queue& q : queues_) names.push_back(q.name);
  std::vector<int64_t> running;
  running.reserve(running_.size());
  for (const auto& [id, r] : running_) running.push_back(id);
  db<bool>(
      [id = id_, host = host_, names, running = std::move(running), lease = config_.lease](pqxx::connection& c) {
        job_store::heartbeat(c, id, host, static_cast<int>(getpid()), names, running, lease);
        return true;
      },
      [this](DbResult<bool> r) {
        if (!r.ok()) log::warn("heartbeat failed", {{"worker", id_}, {"error", r.error.message}});
      });
}

void Worker::rescue() {
  if (!leader()) return;  // maintenance is the leader's
  db<int>([](pqxx::connection& c) { return job_store::rescue_expired(c, 1000); },
          [this](DbResult<int> r) {
            if (!r.ok()) {
              log::warn("rescue failed", {{"error", r.error.message}});
            } else if (*r.value > 0) {
              stats_.rescued += *r.value;
              log::warn("rescued jobs whose worker stopped renewing their lease",
                        {{"jobs", std::to_string(*r.value)}});
              claim_all(true);
            }
          });
}

void Worker::prune() {
  if (!leader()) return;
  db<PruneCounts>(
      [cfg = config_, now = clock_.now()](pqxx::connection& c) {
        PruneCounts counts = job_store::prune(c, cfg.completed_retention, cfg.discarded_retention,
                                              cfg.lease * 10, 10000);
        counts.inbound = inbound_store::prune(c, cfg.inbound_retention, 10000);
        counts.sends = prune_sends(c, now - kSendHistory, 10000);
        counts.cached_replies = llm_store::prune_cache(c, now, 10000);
        return counts;
      },
      [](DbResult<PruneCounts> r) {
        if (!r.ok()) {
          log::warn("prune failed", {{"error", r.error.message}});
        } else if (r.value->jobs || r.value->workers || r.value->inbound || r.value->sends || r.value->cached_replies) {
          log::info("pruned", {{"finished_jobs", std::to_string(r.value->jobs)},
                               {"silent_workers", std::to_string(r.value->workers)},
                               {"inbound_events", std::to_string(r.value->inbound)},
                               {"send_records", std::to_string(r.value->sends)},
                               {"cached_replies", std::to_string(r.value->cached_replies)}});
        }
      });
}

void Worker::shutdown(std::function<void()> stopped) {
  if (phase_ == Phase::draining || phase_ == Phase::closing || phase_ == Phase::stopped) return;
  stopped_ = std::move(stopped);
  phase_ = Phase::draining;
  log::info("worker draining", {{"worker", id_}, {"running", std::to_string(running_.size())},
                                {"deadline", std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(config_.shutdown_timeout).count()) + "ms"}});
  poll_timer_.stop();
  if (listener_) listener_->stop();
  deadline_timer_.start(config_.shutdown_timeout, [this] {
    if (phase_ == Phase::draining) close();
  });
  maybe_close();
}

void Worker::maybe_close() {
  if (phase_ == Phase::draining && running_.empty()) close();
  if (phase_ == Phase::closing && db_in_flight_ == 0 && !flush_scheduled_) {
    if (!verdicts_.empty()) {
      // Written by the flush now, or by its retry timer after a failure.
      if (!flush_retry_timer_.active()) flush();
      return;
    }
    if (!breakers_stopped_) {  // what the handlers saw of the providers is sent before leaving
      breakers_stopped_ = true;
      breakers_.stop([this] { maybe_close(); });
      return;
    }
    if (!scheduler_stopped_ && scheduler_) {  // gives the leadership up for the next worker
      scheduler_stopped_ = true;
      scheduler_->stop([this] { maybe_close(); });
      return;
    }
    phase_ = Phase::stopped;
    heartbeat_timer_.stop();
    rescue_timer_.stop();
    prune_timer_.stop();
    poll_timer_.stop();
    deadline_timer_.stop();
    flush_retry_timer_.stop();
    db<bool>([id = id_](pqxx::connection& c) { job_store::unregister_worker(c, id); return true; },
             [this](DbResult<bool> r) {
               if (!r.ok())
                 log::warn("could not remove this worker's row; it is pruned once silent",
                           {{"error", r.error.message}});
               log::info("worker stopped", {{"worker", id_},
                                            {"completed", std::to_string(stats_.completed)},
                                            {"handed_back", std::to_string(stats_.handed_back)}});
               if (stopped_) {
                 auto cb = std::move(stopped_);
                 cb();
               }
             });
  }
}

void Worker::hand_back(std::vector<int64_t> ids) {
  if (ids.empty()) return;
  db<int>([ids = std::move(ids), id = id_](pqxx::connection& c) { return job_store::hand_back(c, ids, id); },
          [this](DbResult<int> r) {
            if (r.ok()) {
              stats_.handed_back += *r.value;
            } else {
              log::error("handing jobs back failed; their leases will expire and the rescuer returns them",
                         {{"error", r.error.message}});
            }
          });
}

void Worker::close() {
  phase_ = Phase::closing;
  // Results that still cannot be written after another shutdown_timeout are given up: the
  // jobs stay leased to us, and once the leases lapse any worker's rescuer returns them.
  deadline_timer_.start(config_.shutdown_timeout, [this] {
    if (phase_ != Phase::closing || verdicts_.empty()) return;
    log::error("giving up on job results the database would not take; their jobs return when their leases expire",
               {{"jobs", std::to_string(verdicts_.size())}});
    verdicts_.clear();
    results_abandoned_ = true;
    flush_retry_timer_.stop();
    maybe_close();
  });
  std::vector<int64_t> ids;
  for (auto& [id, running] : running_) {
    ids.push_back(id);
    log::warn("job still running at the shutdown deadline; handing it back",
              log::job_fields(running->context->job()));
    retired_.push_back(running);
  }
  schedule_flush();
  running_.clear();
  hand_back(std::move(ids));
  maybe_close();
}

}  // namespace recado
