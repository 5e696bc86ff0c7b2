#include "server/api/client.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <httplib.h>

#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace gpuvm::server {

std::string read_token_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw_invalid(fmt::format("--token-file {}: cannot read it", path));
  std::string token;
  std::getline(in, token);
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.empty()) throw_invalid(fmt::format("--token-file {}: the first line is empty", path));
  return token;
}

bool is_loopback_host(const std::string& host) {
  if (host == "localhost" || host == "::1" || host == "[::1]") return true;  // RFC 6761 §6.3
  in_addr a{};
  return inet_pton(AF_INET, host.c_str(), &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

namespace {

// HOST of "scheme://HOST[:PORT][/...]" ("[v6]" kept bracketed).
std::string url_host(const std::string& url) {
  size_t start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  if (start < url.size() && url[start] == '[') {
    size_t end = url.find(']', start);
    return url.substr(start, end == std::string::npos ? std::string::npos : end - start + 1);
  }
  size_t end = url.find_first_of(":/?#", start);
  return url.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

}  // namespace

struct ApiClient::Impl {
  std::string base;
  std::unique_ptr<httplib::Client> http;
  std::optional<ApiClient::ServerTime> server_time;

  const httplib::Result& note_date(const httplib::Result& r) {
    if (r && r->has_header("Date")) {
      if (auto t = parse_http_date(r->get_header_value("Date")))
        server_time = ServerTime{*t, std::chrono::system_clock::now()};
    }
    return r;
  }
};

std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view text) {
  if (text.size() != 29 || text.substr(25) != " GMT") return std::nullopt;
  const std::string s(text);
  std::tm tm{};
  // %a/%b in the C locale: the header's names are English whatever the locale.
  const char* end = ::strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  const time_t t = ::timegm(&tm);
  if (t == static_cast<time_t>(-1)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(t);
}

ApiClient::ApiClient(const std::string& url, std::string token, const std::string& ca_file,
                     bool insecure_http)
    : impl_(std::make_unique<Impl>()) {
  bool https = url.rfind("https://", 0) == 0;
  if (!https && url.rfind("http://", 0) != 0)
    throw_invalid(
        fmt::format("server URL '{}': expected http://HOST:PORT or https://HOST:PORT", url));
  if (!https && !insecure_http && !is_loopback_host(url_host(url)))
    throw_invalid(fmt::format(
        "server URL '{}': plain http to another machine sends the API token in clear; use "
        "https:// (--ca-file for a private CA) or pass --insecure-http",
        url));
  if (token.empty()) throw_invalid("no API token: pass --token or set GPUVM_TOKEN");
  impl_->base = url;
  while (!impl_->base.empty() && impl_->base.back() == '/') impl_->base.pop_back();
  impl_->http = std::make_unique<httplib::Client>(impl_->base);
  if (!impl_->http->is_valid()) throw_invalid(fmt::format("server URL '{}' is not usable", url));
  impl_->http->set_bearer_token_auth(token.c_str());
  impl_->http->set_tcp_nodelay(true);
  impl_->http->set_connection_timeout(10, 0);
  impl_->http->set_read_timeout(60, 0);
  if (https) {
    impl_->http->enable_server_certificate_verification(true);
    if (!ca_file.empty()) impl_->http->set_ca_cert_path(ca_file.c_str());
  }
}

ApiClient::~ApiClient() = default;

namespace {

std::string check(const httplib::Result& r, const std::string& what, const std::string& base) {
  if (!r)
    throw Error(Errc::kIo, fmt::format("{} {}: {}", what, base, httplib::to_string(r.error())));
  if (r->status >= 200 && r->status < 300) return r->body;
  std::string msg;
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_object() &&
      j["error"].contains("message") && j["error"]["message"].is_string())
    msg = j["error"]["message"].get<std::string>();
  else
    msg = fmt::format("HTTP {}", r->status);
  Errc code = r->status == 404                                           ? Errc::kNotFound
              : r->status == 409                                         ? Errc::kConflict
              : r->status == 400 || r->status == 413 || r->status == 415 ? Errc::kInvalidArgument
              : r->status == 401                                         ? Errc::kInvalidArgument
                                                                         : Errc::kIo;
  if (r->status == 401) msg = "the server refused the token: " + msg;
  throw Error(code, fmt::format("{}: {}", what, msg));
}

}  // namespace

std::string ApiClient::get(const std::string& path) {
  return check(impl_->note_date(impl_->http->Get(path.c_str())), "GET " + path, impl_->base);
}

std::string ApiClient::post(const std::string& path, const std::string& json_body) {
  return check(impl_->note_date(impl_->http->Post(path.c_str(), json_body, "application/json")),
               "POST " + path, impl_->base);
}

std::string ApiClient::del(const std::string& path) {
  return check(impl_->note_date(impl_->http->Delete(path.c_str())), "DELETE " + path, impl_->base);
}

std::optional<ApiClient::ServerTime> ApiClient::last_server_time() const {
  return impl_->server_time;
}

}  // namespace gpuvm::server
