#include "src/http_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <stdexcept>
#include <unordered_set>

namespace recado {

std::optional<std::string_view> HttpReply::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() &&
        std::equal(key.begin(), key.end(), name.begin(), [](char a, char b) {
          return a == std::tolower(static_cast<unsigned char>(b));
        }))
      return std::string_view(value);
  }
  return std::nullopt;
}

std::string_view to_string(HttpReply::Failure f) {
  switch (f) {
    case HttpReply::Failure::none: return "none";
    case HttpReply::Failure::connect: return "connect";
    case HttpReply::Failure::timeout: return "timeout";
    case HttpReply::Failure::reset: return "reset";
    case HttpReply::Failure::truncated: return "truncated";
    case HttpReply::Failure::too_large: return "too_large";
    case HttpReply::Failure::tls: return "tls";
    case HttpReply::Failure::cancelled: return "cancelled";
    case HttpReply::Failure::other: return "other";
  }
  return "other";
}

namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw std::runtime_error("curl_global_init failed");
  });
}

HttpReply::Failure failure_of(CURLcode code) {
  switch (code) {
    case CURLE_OK: return HttpReply::Failure::none;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT: return HttpReply::Failure::connect;
    case CURLE_OPERATION_TIMEDOUT: return HttpReply::Failure::timeout;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING: return HttpReply::Failure::reset;
    case CURLE_PARTIAL_FILE: return HttpReply::Failure::truncated;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH: return HttpReply::Failure::tls;
    default: return HttpReply::Failure::other;
  }
}

}  // namespace

// Owns the multi handle, the one curl timer and a poll handle per socket curl watches. Every
// member is touched on the loop thread only.
struct CurlHttpClient::Impl {
  struct Call {
    Impl* owner = nullptr;
    CURL* easy = nullptr;
    curl_slist* headers = nullptr;
    HttpCall request;
    HttpReply reply;
    std::function<void(HttpReply)> done;
    bool too_large = false;
    char error[CURL_ERROR_SIZE] = {};
  };
  // A socket curl asked us to watch.
  struct Watch {
    Impl* owner;
    curl_socket_t fd;
    uv_poll_t* poll;
  };

  EventLoop& loop;
  CurlHttpOptions options;
  CURLM* multi = nullptr;
  uv_timer_t* timer = nullptr;
  std::unordered_set<Call*> calls;
  std::vector<CURL*> spare;  // finished easy handles, reset and kept for the next calls
  bool closing = false;

  Impl(EventLoop& l, CurlHttpOptions o) : loop(l), options(std::move(o)) {
    global_init();
    multi = curl_multi_init();
    if (!multi) throw std::runtime_error("curl_multi_init failed");
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &Impl::on_socket);
    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &Impl::on_timer_change);
    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, this);
    if (options.max_connections_per_host > 0)
      curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(options.max_connections_per_host));
    timer = new uv_timer_t;
    uv_timer_init(loop.raw(), timer);
    timer->data = this;
  }

  ~Impl() {
    // Calls still in flight are cancelled; their owners hear of it now.
    closing = true;
    std::vector<Call*> left(calls.begin(), calls.end());
    for (Call* call : left) {
      curl_multi_remove_handle(multi, call->easy);
      call->reply.failure = HttpReply::Failure::cancelled;
      call->reply.failure_text = "the HTTP client was shut down";
      finish(call);
    }
    // Removing the handles closed their sockets, and on_socket stopped and closed every watch.
    curl_multi_cleanup(multi);
    for (CURL* easy : spare) curl_easy_cleanup(easy);
    uv_timer_stop(timer);
    timer->data = nullptr;
    close_and_delete(timer);
  }

  void send(HttpCall request, std::function<void(HttpReply)> done) {
    if (closing) {  // a cancelled call's owner trying again while the client goes away
      HttpReply reply;
      reply.failure = HttpReply::Failure::cancelled;
      reply.failure_text = "the HTTP client was shut down";
      done(std::move(reply));
      return;
    }
    auto* call = new Call;
    call->owner = this;
    call->request = std::move(request);
    call->done = std::move(done);
    CURL* easy;
    if (spare.empty()) {
      easy = curl_easy_init();
      if (!easy) throw std::runtime_error("curl_easy_init failed");
    } else {
      easy = spare.back();
      spare.pop_back();
    }
    call->easy = easy;
    const HttpCall& r = call->request;
    curl_easy_setopt(easy, CURLOPT_PRIVATE, call);
    curl_easy_setopt(easy, CURLOPT_URL, r.url.c_str());
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, call->error);
    if (r.connect_timeout.count() <= 0) call->request.connect_timeout = std::chrono::seconds{5};
    if (r.timeout.count() <= 0) call->request.timeout = std::chrono::seconds{60};
    if (r.max_response_bytes == 0) call->request.max_response_bytes = 4 << 20;
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::max<int64_t>(1, r.connect_timeout.count() / 1000)));
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(std::max<int64_t>(1, r.timeout.count() / 1000)));
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!options.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, options.ca_file.c_str());
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Impl::on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, call);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &Impl::on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, call);
    if (r.method == "GET") {
      curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    } else {
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, r.method.c_str());
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, r.body.data());
    }
    for (const auto& [name, value] : r.headers)
      call->headers = curl_slist_append(call->headers, (name + ": " + value).c_str());
    call->headers = curl_slist_append(call->headers, "Expect:");  // no 100-continue round trip
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, call->headers);
    calls.insert(call);
    // curl answers by setting a zero timeout; the transfer starts from that timer, so `done`
    // never runs inside send().
    curl_multi_add_handle(multi, easy);
  }

  // Hands a finished call to its owner and recycles its easy handle.
  void finish(Call* call) {
    calls.erase(call);
    curl_slist_free_all(call->headers);
    curl_easy_reset(call->easy);
    spare.push_back(call->easy);
    auto done = std::move(call->done);
    HttpReply reply = std::move(call->reply);
    delete call;
    done(std::move(reply));
  }

  void collect() {
    int pending = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &pending)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;
      const CURLcode code = msg->data.result;
      Call* call = nullptr;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, &call);
      curl_multi_remove_handle(multi, easy);
      HttpReply& reply = call->reply;
      curl_off_t micros = 0;
      curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &micros);
      reply.elapsed = Duration{micros};
      if (code == CURLE_OK) {
        long status = 0;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        reply.status = static_cast<int>(status);
      } else {
        reply.failure = call->too_large ? HttpReply::Failure::too_large : failure_of(code);
        reply.failure_text = call->too_large ? "the response is over " + std::to_string(call->request.max_response_bytes) + " bytes"
                             : call->error[0]   ? std::string(call->error)
                                                : std::string(curl_easy_strerror(code));
        reply.status = 0;
      }
      finish(call);
    }
  }

  static size_t on_body(char* data, size_t size, size_t count, void* userp) {
    auto* call = static_cast<Call*>(userp);
    const size_t n = size * count;
    if (call->reply.body.size() + n > call->request.max_response_bytes) {
      call->too_large = true;
      return 0;  // aborts the transfer
    }
    call->reply.body.append(data, n);
    return n;
  }

  static size_t on_header(char* data, size_t size, size_t count, void* userp) {
    auto* call = static_cast<Call*>(userp);
    const size_t n = size * count;
    std::string_view line(data, n);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    if (line.starts_with("HTTP/")) {
      call->reply.headers.clear();  // a new response (after 100 Continue or a redirect)
      return n;
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return n;
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    call->reply.headers.emplace_back(std::move(name), std::string(value));
    return n;
  }

  static int on_timer_change(CURLM*, long timeout_ms, void* userp) {
    auto* self = static_cast<Impl*>(userp);
    if (timeout_ms < 0) {
      uv_timer_stop(self->timer);
    } else {
      uv_timer_start(self->timer, &Impl::on_timer, static_cast<uint64_t>(timeout_ms), 0);
    }
    return 0;
  }

  static void on_timer(uv_timer_t* handle) {
    auto* self = static_cast<Impl*>(handle->data);
    if (!self) return;
    int running = 0;
    curl_multi_socket_action(self->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    self->collect();
  }

  static int on_socket(CURL*, curl_socket_t fd, int what, void* userp, void* socketp) {
    auto* self = static_cast<Impl*>(userp);
    auto* watch = static_cast<Watch*>(socketp);
    if (what == CURL_POLL_REMOVE) {
      if (watch) {
        uv_poll_stop(watch->poll);
        watch->poll->data = nullptr;
        close_and_delete(watch->poll);
        delete watch;
        curl_multi_assign(self->multi, fd, nullptr);
      }
      return 0;
    }
    if (!watch) {
      watch = new Watch{self, fd, new uv_poll_t};
      uv_poll_init_socket(self->loop.raw(), watch->poll, fd);
      watch->poll->data = watch;
      curl_multi_assign(self->multi, fd, watch);
    }
    int events = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) events |= UV_READABLE;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) events |= UV_WRITABLE;
    uv_poll_start(watch->poll, events, &Impl::on_poll);
    return 0;
  }

  static void on_poll(uv_poll_t* handle, int status, int events) {
    auto* watch = static_cast<Watch*>(handle->data);
    if (!watch) return;
    Impl* self = watch->owner;
    int flags = 0;
    if (status < 0) {
      flags = CURL_CSELECT_ERR;
    } else {
      if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
      if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
    }
    int running = 0;
    // May remove (and free) `watch` through on_socket: nothing of it is touched afterwards.
    curl_multi_socket_action(self->multi, watch->fd, flags, &running);
    self->collect();
  }
};

CurlHttpClient::CurlHttpClient(EventLoop& loop, CurlHttpOptions options)
    : impl_(std::make_unique<Impl>(loop, std::move(options))) {}

CurlHttpClient::~CurlHttpClient() = default;

void CurlHttpClient::send(HttpCall call, std::function<void(HttpReply)> done) {
  impl_->send(std::move(call), std::move(done));
}

int CurlHttpClient::in_flight() const { return static_cast<int>(impl_->calls.size()); }

}  // namespace recado
