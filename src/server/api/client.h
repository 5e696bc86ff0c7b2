// A small client of gpuvmd's API for the gpuvm CLI verbs and the agent:
// bearer token, JSON bodies, errors turned into gpuvm::Error carrying the
// server's message. httplib stays in client.cpp.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace gpuvm::server {

// The token on the first line of `path` (trailing spaces and CR dropped);
// kInvalidArgument naming the file when it is unreadable or the line empty.
std::string read_token_file(const std::string& path);

// An HTTP Date header (IMF-fixdate, RFC 9110 5.6.7: "Sun, 06 Nov 1994
// 08:49:37 GMT"); nullopt for anything else.
std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view text);

// True for an address or name of this machine: 127.0.0.0/8, ::1, localhost.
bool is_loopback_host(const std::string& host);

class ApiClient {
 public:
  // url: "http://HOST:PORT" or "https://HOST:PORT" (kInvalidArgument else).
  // ca_file: PEM CA bundle for https ("" = system default). Plain http://
  // is refused unless HOST is this machine (127.0.0.0/8, ::1, localhost) or
  // `insecure_http`: the bearer token would cross the network in clear.
  ApiClient(const std::string& url, std::string token, const std::string& ca_file = "",
            bool insecure_http = false);
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  // Body of a 2xx answer. Otherwise throws: 400/413/415 kInvalidArgument,
  // 401 kInvalidArgument ("token refused"), 404 kNotFound, 409 kConflict,
  // else kIo; the message is the server's, prefixed with method and path.
  std::string get(const std::string& path);
  std::string post(const std::string& path, const std::string& json_body);
  std::string del(const std::string& path);

  // The server's clock as its last answer's Date header gave it (whole
  // seconds), with this machine's clock at that moment; nullopt before any
  // answer carried one. The agent reports the difference (gpuvm check).
  struct ServerTime {
    std::chrono::system_clock::time_point server, local;
  };
  std::optional<ServerTime> last_server_time() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gpuvm::server
