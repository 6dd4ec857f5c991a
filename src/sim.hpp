#pragma once
// The provider simulator (`recado sim`): one HTTP server on loopback speaking the wire
// formats of the services recado calls (OpenAI, Anthropic, Gemini, Evolution API, Whaticket,
// WhatsApp Cloud API, Cal.com v2), with fault injection, a request recorder, and a control
// API under /_sim/ that also plays the providers' side of inbound webhooks. Also used
// in-process by `recado dev`, the tests and the benchmarks. The README's "Provider
// simulator" section documents the endpoints, the control API and the fault spec.
//
// The LLMs answer with tools too (sim_llm.hpp): from a script of turns tests queue with
// POST /_sim/llm/script (GET shows what is left, DELETE clears), else, when the request
// offers tools, as the built-in secretary (sim_brain.hpp). Cal.com keeps its bookings
// (sim_calcom.hpp): DELETE /_sim/bookings forgets them.
//
// Loop thread only: construct, listen, close and destroy it on the thread running `loop`.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "src/clock.hpp"
#include "src/event_loop.hpp"
#include "src/http_client.hpp"
#include "src/http_server.hpp"
#include "src/sim_calcom.hpp"
#include "src/sim_faults.hpp"
#include "src/sim_llm.hpp"
#include "src/sim_recorder.hpp"

namespace recado {

struct SimulatorOptions {
  uint64_t seed = 1;                  // fault decisions (rate, latency ranges) repeat for a seed
  std::size_t max_recorded = 100000;  // requests the recorder keeps; the oldest are dropped
  int max_connections = 10000;
  FaultMap faults;               // set at start
  const Clock* clock = nullptr;  // timestamps, Cal.com's "upcoming"; default: the system clock
  // Sends POST /_sim/webhooks' webhooks; not owned, must outlive the simulator. Default: a
  // CurlHttpClient of the simulator's own, made on first use.
  HttpClient* http_client = nullptr;
};

class Simulator {
 public:
  Simulator(EventLoop& loop, SimulatorOptions options = {});
  // Drops what is still held (hung or delayed requests, webhooks in flight) at once.
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // Binds and listens; returns the port (useful with port 0). Throws on failure.
  int listen(const std::string& host, int port);
  // Graceful stop: answers the requests waiting on latency now, drops the hung ones, lets
  // the webhooks in flight finish, closes every connection, then calls `closed`.
  void close(std::function<void()> closed);

  // The simulator's state, for in-process use (loop thread only).
  FaultBook& faults() { return faults_; }
  SimRecorder& recorder() { return recorder_; }
  CalcomSim& calcom() { return calcom_; }
  LlmScript& llm_script() { return llm_script_; }
  int connection_count() const { return server_->connection_count(); }
  // Requests held by a "hang" fault right now.
  std::size_t hung_count() const { return hung_.size(); }

 private:
  struct Action;
  struct Delayed;
  struct WebhookJob;

  void handle(HttpRequest& request, HttpResponder responder);
  void handle_control(HttpRequest& request, HttpResponder responder);
  void handle_provider(HttpRequest& request, HttpResponder responder);
  HttpResponse provider_answer(const SimRoute& route, const HttpRequest& request, uint64_t seq);
  void perform(uint64_t seq, HttpResponder responder, Action action);
  void hold(uint64_t seq, HttpResponder responder);
  void sweep_hung();

  HttpResponse get_requests(const HttpRequest& request);
  HttpResponse put_faults(const HttpRequest& request, const std::string& endpoint);
  HttpResponse delete_faults(const std::string& endpoint);
  HttpResponse post_llm_script(const HttpRequest& request);
  void post_webhooks(const HttpRequest& request, HttpResponder responder);
  void send_next_webhook(const std::shared_ptr<WebhookJob>& job);
  void finish_webhooks(const std::shared_ptr<WebhookJob>& job);
  HttpClient* http_client();

  EventLoop& loop_;
  SimulatorOptions options_;
  SystemClock system_clock_;
  const Clock& clock_;
  std::string nonce_;  // makes ids unique across runs
  SimRecorder recorder_;
  FaultBook faults_;
  CalcomSim calcom_;
  LlmScript llm_script_;
  std::unique_ptr<HttpServer> server_;
  std::unordered_map<uint64_t, std::unique_ptr<Delayed>> delayed_;  // by record number
  std::unordered_map<uint64_t, HttpResponder> hung_;                // by record number
  Timer sweep_;  // drops hung requests whose client went away
  uint64_t webhook_orders_ = 0;
  bool closing_ = false;
  std::unique_ptr<HttpClient> own_client_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // callbacks hold it weakly
};

}  // namespace recado
