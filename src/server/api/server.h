// gpuvmd's REST/JSON API (/api/v1, docs/openapi.yaml) and /metrics, served
// by HttpServer (libmicrohttpd, http_server.h). Limits: docs/gpuvmd.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "server/store/store.h"

namespace gpuvm::server {

struct ApiOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                  // 0: any free port (bind() returns it)
  std::string tls_cert, tls_key;    // both set: HTTPS
  size_t max_body_bytes = 1 << 20;  // larger requests get 413, unread
  size_t threads = 16;
  unsigned max_connections = 4096;      // open connections at once
  unsigned header_timeout_s = 10;       // request line + headers, from the first byte
  unsigned request_timeout_s = 30;      // headers + body, from the first byte
  size_t max_inflight_body = 64 << 20;  // body bytes read and not yet handled, all requests
};

// SHA-256 of a token as 64 lowercase hex digits (OpenSSL); tokens are stored
// and compared only in this form.
std::string token_hash(const std::string& token);
// A new random token (32 bytes from OpenSSL's RAND_bytes, hex).
std::string new_token();

// Splits "ADDR:PORT" / "[v6]:PORT" / "PORT"; throws kInvalidArgument.
void parse_listen(const std::string& text, std::string* host, int* port);

class ApiServer {
 public:
  ApiServer(Store& store, ApiOptions options);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds the socket; returns the port. Throws kIo naming the address.
  int bind();
  // Serves until stop(); call after bind().
  void serve();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gpuvm::server
