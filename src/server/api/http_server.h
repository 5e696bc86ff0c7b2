// gpuvmd's HTTP server: GNU libmicrohttpd (Debian libmicrohttpd-dev) in
// epoll mode with a pool of worker threads, so that a connection costs a slot
// in an epoll set, not a thread, while it is read. Each request is read whole
// (headers, then the body) before a handler sees it, within deadlines that
// count from the connection's first byte, not from its last: a client that
// sends one byte every few seconds is closed when its deadline passes.
// libmicrohttpd stays inside http_server.cpp.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

namespace gpuvm::server {

// Header names compare without case (RFC 9110 §5.1).
struct CaseLess {
  bool operator()(const std::string& a, const std::string& b) const;
};

struct HttpRequest {
  std::string method;
  std::string path;  // percent-decoded, without the query
  std::smatch matches;
  std::map<std::string, std::string, CaseLess> headers;
  std::map<std::string, std::string> params;  // the query string's arguments
  std::string body;

  bool has_header(const std::string& name) const { return headers.count(name) != 0; }
  std::string get_header_value(const std::string& name) const;
  bool has_param(const std::string& name) const { return params.count(name) != 0; }
  std::string get_param_value(const std::string& name) const;
};

struct HttpResponse {
  int status = -1;  // -1: no handler answered (404)
  std::string body;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;

  void set_header(const std::string& name, const std::string& value) {
    headers.emplace_back(name, value);
  }
  void set_content(std::string content, const std::string& type) {
    body = std::move(content);
    content_type = type;
    if (status < 0) status = 200;
  }
};

struct HttpLimits {
  size_t threads = 16;                  // worker threads (each runs handlers)
  unsigned max_connections = 4096;      // open connections; more are refused at accept
  unsigned header_timeout_s = 10;       // request line + headers, from the first byte
  unsigned request_timeout_s = 30;      // headers + body, from the first byte
  size_t max_body_bytes = 1 << 20;      // one request's body; more: 413
  size_t max_inflight_body = 64 << 20;  // all bodies being read at once; more: 503
  size_t max_header_bytes = 32 * 1024;  // libmicrohttpd's per-connection buffer
};

class HttpServer {
 public:
  using Handler = std::function<void(const HttpRequest&, HttpResponse&)>;
  // The error body for a status the server decided itself (404 no route,
  // 413, 503) or a handler left without a body.
  using ErrorHandler = std::function<void(const HttpRequest&, HttpResponse&)>;
  // Called once per answered request with its status (metrics).
  using Logger = std::function<void(int status)>;

  HttpServer(HttpLimits limits, std::string tls_cert_pem, std::string tls_key_pem);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Routes match the whole decoded path, in the order they were added.
  void route(const std::string& method, const std::string& pattern, Handler h);
  void set_error_handler(ErrorHandler h) { error_handler_ = std::move(h); }
  void set_logger(Logger l) { logger_ = std::move(l); }

  // Binds host:port (port 0: any free one) and starts serving; returns the
  // port. Throws kIo naming the address.
  int start(const std::string& host, int port);
  // Blocks until stop(); then closes every connection.
  void wait();
  void stop();

  // Connections closed because a deadline passed (for /metrics).
  uint64_t timed_out() const { return timed_out_.load(); }

  struct Impl;

 private:
  struct Route {
    std::string method;
    std::regex pattern;
    Handler handler;
  };
  void dispatch(HttpRequest& req, HttpResponse& res) const;

  HttpLimits limits_;
  std::string cert_, key_;
  std::vector<Route> routes_;
  ErrorHandler error_handler_;
  Logger logger_;
  std::atomic<uint64_t> timed_out_{0};
  std::unique_ptr<Impl> impl_;
  friend struct Impl;
};

}  // namespace gpuvm::server
