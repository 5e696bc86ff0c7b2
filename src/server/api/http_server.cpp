#include "server/api/http_server.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "core/error.h"

namespace gpuvm::server {

bool CaseLess::operator()(const std::string& a, const std::string& b) const {
  return strcasecmp(a.c_str(), b.c_str()) < 0;
}

std::string HttpRequest::get_header_value(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

std::string HttpRequest::get_param_value(const std::string& name) const {
  auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

namespace {

using Clock = std::chrono::steady_clock;

// Where a connection is: reading a request's headers, its body, or handling
// it (a handler runs or the answer is sent: no read deadline then).
enum class Phase { kHeaders, kBody, kHandling };

struct Conn {
  int fd = -1;
  Phase phase = Phase::kHeaders;
  Clock::time_point header_deadline, request_deadline;
  bool shut = false;
};

// One request being read: its body so far, and what it holds of the shared
// body budget.
struct RequestCtx {
  std::string body;
  size_t charged = 0;     // bytes counted in Impl::inflight
  int refuse_status = 0;  // 413/503 decided while reading: the body is dropped
};

}  // namespace

struct HttpServer::Impl {
  HttpServer& self;
  MHD_Daemon* daemon = nullptr;
  std::mutex mu;  // conns, stopping
  std::condition_variable cv;
  bool stopping = false;
  std::unordered_map<MHD_Connection*, Conn> conns;
  std::atomic<size_t> inflight{0};
  std::thread reaper;

  explicit Impl(HttpServer& s) : self(s) {}

  void arm(Conn& c, Clock::time_point now) {
    c.phase = Phase::kHeaders;
    c.header_deadline = now + std::chrono::seconds(self.limits_.header_timeout_s);
    c.request_deadline = now + std::chrono::seconds(self.limits_.request_timeout_s);
  }

  void set_phase(MHD_Connection* mc, Phase p) {
    std::lock_guard lock(mu);
    auto it = conns.find(mc);
    if (it != conns.end()) it->second.phase = p;
  }

  // Closes the connections whose deadline passed. shutdown(2), not close(2):
  // libmicrohttpd owns the descriptor, sees the end of the stream and closes
  // it; it tells us (NOTIFY_CLOSED, under `mu`) before it does, so `fd` is
  // still this connection's here.
  void reap() {
    std::unique_lock lock(mu);
    while (!cv.wait_for(lock, std::chrono::milliseconds(250), [&] { return stopping; })) {
      const auto now = Clock::now();
      for (auto& [mc, c] : conns) {
        if (c.shut || c.phase == Phase::kHandling) continue;
        bool late =
            now >= c.request_deadline || (c.phase == Phase::kHeaders && now >= c.header_deadline);
        if (!late) continue;
        ::shutdown(c.fd, SHUT_RDWR);
        c.shut = true;
        ++self.timed_out_;
      }
    }
  }

  void release(RequestCtx* ctx) {
    if (!ctx) return;
    inflight -= ctx->charged;
    delete ctx;
  }

  static void on_connection(void* cls, MHD_Connection* mc, void** /*socket_context*/,
                            enum MHD_ConnectionNotificationCode code) {
    auto* impl = static_cast<Impl*>(cls);
    std::lock_guard lock(impl->mu);
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
      const MHD_ConnectionInfo* info =
          MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
      Conn c;
      c.fd = info ? info->connect_fd : -1;
      impl->arm(c, Clock::now());
      if (c.fd >= 0) {
        // Answers go out in one or two writes; without TCP_NODELAY, Nagle
        // plus the client's delayed ACK add ~40 ms (tcp(7)).
        int one = 1;
        setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        impl->conns[mc] = c;
      }
    } else {
      impl->conns.erase(mc);
    }
  }

  static void on_completed(void* cls, MHD_Connection* mc, void** con_cls,
                           enum MHD_RequestTerminationCode) {
    auto* impl = static_cast<Impl*>(cls);
    impl->release(static_cast<RequestCtx*>(*con_cls));
    *con_cls = nullptr;
    // Keep-alive: the next request has its own deadlines, from now.
    std::lock_guard lock(impl->mu);
    auto it = impl->conns.find(mc);
    if (it != impl->conns.end()) impl->arm(it->second, Clock::now());
  }

  static MHD_Result collect(void* cls, enum MHD_ValueKind, const char* key, const char* value) {
    auto* m = static_cast<std::map<std::string, std::string, CaseLess>*>(cls);
    if (key) (*m)[key] = value ? value : "";
    return MHD_YES;
  }
  static MHD_Result collect_param(void* cls, enum MHD_ValueKind, const char* key,
                                  const char* value) {
    auto* m = static_cast<std::map<std::string, std::string>*>(cls);
    if (key) m->emplace(key, value ? value : "");
    return MHD_YES;
  }

  MHD_Result answer(MHD_Connection* mc, HttpRequest& req, HttpResponse& res) {
    if (res.status >= 400 && res.body.empty() && self.error_handler_) self.error_handler_(req, res);
    MHD_Response* r = MHD_create_response_from_buffer(
        res.body.size(), const_cast<char*>(res.body.data()), MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    if (!res.content_type.empty())
      MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, res.content_type.c_str());
    for (const auto& [k, v] : res.headers) MHD_add_response_header(r, k.c_str(), v.c_str());
    MHD_Result ok = MHD_queue_response(mc, static_cast<unsigned>(res.status), r);
    MHD_destroy_response(r);
    if (self.logger_) self.logger_(res.status);
    return ok;
  }

  MHD_Result refuse(MHD_Connection* mc, const char* method, const char* url, int status) {
    HttpRequest req;
    req.method = method;
    req.path = url;
    HttpResponse res;
    res.status = status;
    if (status == 503) res.set_header("Retry-After", "5");
    return answer(mc, req, res);
  }

  static MHD_Result on_request(void* cls, MHD_Connection* mc, const char* url, const char* method,
                               const char* /*version*/, const char* upload_data,
                               size_t* upload_size, void** con_cls) {
    auto* impl = static_cast<Impl*>(cls);
    const HttpLimits& lim = impl->self.limits_;
    auto* ctx = static_cast<RequestCtx*>(*con_cls);
    if (!ctx) {
      // First call: the headers are in. A declared body over the limit is
      // refused before a byte of it is read.
      ctx = new RequestCtx;
      *con_cls = ctx;
      impl->set_phase(mc, Phase::kBody);
      const char* cl = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Content-Length");
      if (cl) {
        errno = 0;
        char* end = nullptr;
        unsigned long long n = std::strtoull(cl, &end, 10);
        if (errno == 0 && end && *end == '\0' && n > lim.max_body_bytes) {
          impl->set_phase(mc, Phase::kHandling);
          return impl->refuse(mc, method, url, 413);
        }
      }
      return MHD_YES;
    }
    if (*upload_size != 0) {
      size_t n = *upload_size;
      *upload_size = 0;
      if (ctx->refuse_status != 0) return MHD_YES;  // dropped: the answer is decided
      if (ctx->body.size() + n > lim.max_body_bytes) {
        ctx->refuse_status = 413;  // a chunked body that grew past the limit
      } else if (impl->inflight.fetch_add(n) + n > lim.max_inflight_body) {
        impl->inflight -= n;
        ctx->refuse_status = 503;
      } else {
        ctx->charged += n;
        ctx->body.append(upload_data, n);
        return MHD_YES;
      }
      impl->inflight -= ctx->charged;
      ctx->charged = 0;
      std::string().swap(ctx->body);
      return MHD_YES;
    }
    // The whole request is in.
    impl->set_phase(mc, Phase::kHandling);
    if (ctx->refuse_status != 0) return impl->refuse(mc, method, url, ctx->refuse_status);
    HttpRequest req;
    req.method = method;
    req.path = url;
    MHD_get_connection_values(mc, MHD_HEADER_KIND, &Impl::collect, &req.headers);
    MHD_get_connection_values(mc, MHD_GET_ARGUMENT_KIND, &Impl::collect_param, &req.params);
    req.body = std::move(ctx->body);
    HttpResponse res;
    impl->self.dispatch(req, res);
    return impl->answer(mc, req, res);
  }
};

HttpServer::HttpServer(HttpLimits limits, std::string tls_cert_pem, std::string tls_key_pem)
    : limits_(limits),
      cert_(std::move(tls_cert_pem)),
      key_(std::move(tls_key_pem)),
      impl_(std::make_unique<Impl>(*this)) {}

HttpServer::~HttpServer() {
  stop();
  if (impl_->reaper.joinable()) impl_->reaper.join();
  if (impl_->daemon) MHD_stop_daemon(impl_->daemon);
}

void HttpServer::route(const std::string& method, const std::string& pattern, Handler h) {
  routes_.push_back({method, std::regex(pattern), std::move(h)});
}

void HttpServer::dispatch(HttpRequest& req, HttpResponse& res) const {
  // HEAD is GET without the body (RFC 9110 §9.3.2); libmicrohttpd drops it.
  const std::string& method = req.method == "HEAD" ? std::string("GET") : req.method;
  for (const Route& r : routes_) {
    if (r.method != method || !std::regex_match(req.path, req.matches, r.pattern)) continue;
    r.handler(req, res);
    if (res.status < 0) res.status = 200;
    return;
  }
  res.status = 404;
}

int HttpServer::start(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string where = fmt::format("{}:{}", host, port);
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0 || !res)
    throw Error(Errc::kIo, fmt::format("cannot listen on {}: not an address of this host", where));
  int fd = -1, family = res->ai_family;
  for (addrinfo* a = res; a; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 1024) == 0) {
      family = a->ai_family;
      break;
    }
    ::close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0)
    throw Error(
        Errc::kIo,
        fmt::format("cannot listen on {} (address in use, or not an address of this host)", where),
        errno);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  int bound = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                             : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);

  unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC;
  if (family == AF_INET6) flags |= MHD_USE_IPv6;
  if (!cert_.empty()) flags |= MHD_USE_TLS;
  std::vector<MHD_OptionItem> o = {
      {MHD_OPTION_LISTEN_SOCKET, fd, nullptr},
      {MHD_OPTION_THREAD_POOL_SIZE, static_cast<intptr_t>(std::max<size_t>(1, limits_.threads)),
       nullptr},
      {MHD_OPTION_CONNECTION_LIMIT, static_cast<intptr_t>(limits_.max_connections), nullptr},
      // Idle limit while an answer is written (a reader that stops reading).
      {MHD_OPTION_CONNECTION_TIMEOUT, static_cast<intptr_t>(limits_.request_timeout_s), nullptr},
      {MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<intptr_t>(limits_.max_header_bytes),
       nullptr},
      {MHD_OPTION_NOTIFY_COMPLETED, reinterpret_cast<intptr_t>(&Impl::on_completed), impl_.get()},
      {MHD_OPTION_NOTIFY_CONNECTION, reinterpret_cast<intptr_t>(&Impl::on_connection), impl_.get()},
  };
  if (!cert_.empty()) {
    o.push_back({MHD_OPTION_HTTPS_MEM_CERT, 0, const_cast<char*>(cert_.c_str())});
    o.push_back({MHD_OPTION_HTTPS_MEM_KEY, 0, const_cast<char*>(key_.c_str())});
  }
  o.push_back({MHD_OPTION_END, 0, nullptr});
  impl_->daemon = MHD_start_daemon(flags, 0, nullptr, nullptr, &Impl::on_request, impl_.get(),
                                   MHD_OPTION_ARRAY, o.data(), MHD_OPTION_END);
  if (!impl_->daemon) {
    ::close(fd);
    throw Error(Errc::kIo, fmt::format("cannot serve on {}: libmicrohttpd did not start{}", where,
                                       cert_.empty() ? "" : " (TLS certificate or key refused)"));
  }
  impl_->reaper = std::thread([this] { impl_->reap(); });
  return bound;
}

void HttpServer::wait() {
  {
    std::unique_lock lock(impl_->mu);
    impl_->cv.wait(lock, [&] { return impl_->stopping; });
  }
  if (impl_->reaper.joinable()) impl_->reaper.join();
  if (impl_->daemon) {
    MHD_stop_daemon(impl_->daemon);
    impl_->daemon = nullptr;
  }
}

void HttpServer::stop() {
  std::lock_guard lock(impl_->mu);
  impl_->stopping = true;
  impl_->cv.notify_all();
}

}  // namespace gpuvm::server
