#include "server/api/client.h"

#include <fmt/format.h>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace gpuvm::server {

struct ApiClient::Impl {
  std::string base;
  std::unique_ptr<httplib::Client> http;
};

ApiClient::ApiClient(const std::string& url, std::string token, const std::string& ca_file)
    : impl_(std::make_unique<Impl>()) {
  bool https = url.rfind("https://", 0) == 0;
  if (!https && url.rfind("http://", 0) != 0)
    throw_invalid(
        fmt::format("server URL '{}': expected http://HOST:PORT or https://HOST:PORT", url));
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
  return check(impl_->http->Get(path.c_str()), "GET " + path, impl_->base);
}

std::string ApiClient::post(const std::string& path, const std::string& json_body) {
  return check(impl_->http->Post(path.c_str(), json_body, "application/json"), "POST " + path,
               impl_->base);
}

std::string ApiClient::del(const std::string& path) {
  return check(impl_->http->Delete(path.c_str()), "DELETE " + path, impl_->base);
}

}  // namespace gpuvm::server
