#include "server/api/server.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <type_traits>

#include "core/error.h"
#include "server/api/http_server.h"
#include "server/api/metrics.h"
#include "server/scheduler/model_json.h"
#include "server/scheduler/model_json_value.h"
#include "server/ui/ui.h"

namespace gpuvm::server {

using nlohmann::json;

std::string token_hash(const std::string& token) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(token.data(), token.size(), md, &len, EVP_sha256(), nullptr) != 1)
    throw Error(Errc::kInternal, "OpenSSL SHA-256 failed");
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) hex += fmt::format("{:02x}", md[i]);
  return hex;
}

std::string new_token() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1)
    throw Error(Errc::kInternal, "OpenSSL RAND_bytes failed");
  std::string hex;
  for (unsigned char b : bytes) hex += fmt::format("{:02x}", b);
  return hex;
}

void parse_listen(const std::string& text, std::string* host, int* port) {
  std::string h = "127.0.0.1", p = text;
  if (auto colon = text.rfind(':'); colon != std::string::npos) {
    h = text.substr(0, colon);
    p = text.substr(colon + 1);
    if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  }
  bool digits =
      !p.empty() && p.size() <= 5 && p.find_first_not_of("0123456789") == std::string::npos;
  int n = digits ? std::stoi(p) : -1;
  if (h.empty() || n < 0 || n > 65535)
    throw_invalid(
        fmt::format("--listen '{}': expected ADDR:PORT, e.g. 127.0.0.1:8080 or [::1]:8080", text));
  *host = h;
  *port = n;
}

namespace {

int http_status(Errc c) {
  switch (c) {
    case Errc::kInvalidArgument:
      return 400;
    case Errc::kNotFound:
      return 404;
    case Errc::kConflict:
    case Errc::kBusy:
      return 409;
    case Errc::kUnsupported:
      return 501;
    default:
      return 500;
  }
}

void send_error(HttpResponse& res, int status, const std::string& code,
                const std::string& message) {
  res.status = status;
  res.set_content(json{{"error", {{"code", code}, {"message", message}}}}.dump() + "\n",
                  "application/json");
}

void send_json(HttpResponse& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump() + "\n", "application/json");
}

json vm_value(const VmRecord& vm) {
  json j = vm_request_value(vm.request);
  j["id"] = vm.id;
  j["name"] = vm.name;
  j["state"] = vm.state;
  j["host"] = vm.host;
  j["created_at_ms"] = vm.created_at_ms;
  j["updated_at_ms"] = vm.updated_at_ms;
  json allocs = json::array();
  for (const auto& a : vm.allocations) allocs.push_back(allocation_value(a));
  j["allocations"] = allocs;
  return j;
}

json host_summary(const HostRecord& h) {
  return {{"name", h.name},
          {"state", h.state},
          {"generation", h.generation},
          {"updated_at_ms", h.updated_at_ms},
          {"force_update", h.force_update},
          {"pci_devices", h.inventory.pci.size()},
          {"gpus", h.inventory.gpus.size()},
          {"allocations", h.allocations.size()}};
}

// The answer to a monitoring push: small, since every host sends one a minute.
json push_value(const HostPush& p, const std::string& state) {
  return {{"name", p.name},
          {"state", state},
          {"generation", p.generation},
          {"updated_at_ms", p.updated_at_ms},
          {"created", p.created},
          {"changed", p.changed}};
}

json host_detail(const HostRecord& h) {
  json j = host_summary(h);
  j["PCI_DEVICES"] = json::parse(pci_devices_one_json(h.inventory, h.allocations))["PCI_DEVICES"];
  j["gpus"] = capacity_value(capacity(h.inventory, h.allocations), h.inventory);
  json allocs = json::array();
  for (const auto& a : h.allocations) allocs.push_back(allocation_value(a));
  j["allocations"] = allocs;
  // The host's last `gpuvm check --record` (docs/check.md), null when never reported.
  j["check"] = h.inventory.check ? host_check_value(*h.inventory.check) : json(nullptr);
  return j;
}

std::string read_small_file(const std::string& path, const char* what) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f)
    throw Error(Errc::kInvalidArgument, fmt::format("{} {}: cannot read it", what, path), errno);
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0 && out.size() < (1 << 20);)
    out.append(buf, n);
  std::fclose(f);
  return out;
}

// The PEM certificate (chain) and key, checked with OpenSSL to be a matching
// pair here, so that a bad pair is named at start and not as a failed handshake.
std::string read_pem_pair(const std::string& cert_path, const std::string& key_path,
                          std::string* key_pem) {
  std::string cert = read_small_file(cert_path, "--tls-cert");
  std::string key = read_small_file(key_path, "--tls-key");
  BIO* cb = BIO_new_mem_buf(cert.data(), static_cast<int>(cert.size()));
  BIO* kb = BIO_new_mem_buf(key.data(), static_cast<int>(key.size()));
  X509* x = cb ? PEM_read_bio_X509(cb, nullptr, nullptr, nullptr) : nullptr;
  EVP_PKEY* k = kb ? PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr) : nullptr;
  bool ok = x && k && X509_check_private_key(x, k) == 1;
  X509_free(x);
  EVP_PKEY_free(k);
  BIO_free(cb);
  BIO_free(kb);
  if (!ok)
    throw Error(Errc::kInvalidArgument,
                fmt::format("cannot load TLS certificate {} / key {}: not a matching PEM pair",
                            cert_path, key_path));
  *key_pem = std::move(key);
  return cert;
}

int64_t path_id(const HttpRequest& req) {
  try {
    return std::stoll(req.matches[1].str());
  } catch (const std::exception&) {
    throw Error(Errc::kNotFound,
                fmt::format("VM {} does not exist", req.matches[1].str().substr(0, 24)));
  }
}

}  // namespace

struct ApiServer::Impl {
  Store& store;
  ApiOptions opt;
  std::unique_ptr<HttpServer> http;
  Metrics metrics;

  Impl(Store& s, ApiOptions o) : store(s), opt(std::move(o)) {
    std::string cert, key;
    if (!opt.tls_cert.empty() || !opt.tls_key.empty()) {
      if (opt.tls_cert.empty() || opt.tls_key.empty())
        throw_invalid("TLS needs both --tls-cert and --tls-key");
      cert = read_pem_pair(opt.tls_cert, opt.tls_key, &key);
    }
    HttpLimits lim;
    lim.threads = std::max<size_t>(1, opt.threads);
    lim.max_connections = opt.max_connections;
    lim.header_timeout_s = opt.header_timeout_s;
    lim.request_timeout_s = opt.request_timeout_s;
    lim.max_body_bytes = opt.max_body_bytes;
    lim.max_inflight_body = opt.max_inflight_body;
    http = std::make_unique<HttpServer>(lim, std::move(cert), std::move(key));
    routes();
  }

  // Who is calling: an operator's token (host "") or an agent's, bound to
  // one host. nullopt: no token, or an unknown one.
  struct Caller {
    std::string host;
    bool is_agent() const { return !host.empty(); }
  };
  std::optional<Caller> caller(const HttpRequest& req) {
    std::string h = req.get_header_value("Authorization");
    constexpr std::string_view kBearer = "Bearer ";
    if (h.size() <= kBearer.size() || h.compare(0, kBearer.size(), kBearer) != 0 || h.size() > 512)
      return std::nullopt;
    const std::string hash = token_hash(h.substr(kBearer.size()));
    const auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(tokens_mu);
      auto it = known_tokens.find(hash);
      if (it != known_tokens.end() && it->second.first > now) return Caller{it->second.second};
    }
    std::optional<std::string> host = store.token_host(hash);
    if (!host) return std::nullopt;
    // A known token is not asked of the database again for a while: every
    // agent sends two requests per poll. Unknown ones always are.
    std::lock_guard lock(tokens_mu);
    if (known_tokens.size() >= kTokenCacheSize) known_tokens.clear();
    known_tokens[hash] = {now + kTokenCacheTtl, *host};
    return Caller{*host};
  }
  static constexpr size_t kTokenCacheSize = 4096;
  static constexpr std::chrono::seconds kTokenCacheTtl{30};
  std::mutex tokens_mu;
  std::map<std::string, std::pair<std::chrono::steady_clock::time_point, std::string>> known_tokens;

  // Which tokens a route takes: operators' only; also the agent of the host
  // named in the path (matches[1]); or any, the handler checking the host
  // (a monitoring push names its host in the body).
  enum class Access { kOperator, kHostInPath, kAnyHost };

  static void forbid(HttpResponse& res, const Caller& c, std::string_view what) {
    send_error(res, 403, "forbidden",
               fmt::format("this token is host {}'s agent token: it cannot {}", c.host, what));
  }

  // Every API handler runs through here: auth, body checks, errors to JSON.
  // `f` takes the Caller if it wants it.
  template <typename F>
  void api(const HttpRequest& req, HttpResponse& res, bool has_body, F&& f,
           Access access = Access::kOperator) {
    try {
      std::optional<Caller> who = caller(req);
      if (!who) {
        res.set_header("WWW-Authenticate", "Bearer realm=\"gpuvmd\"");
        send_error(res, 401, "unauthorized",
                   "missing or unknown bearer token (Authorization: Bearer TOKEN)");
      } else if (who->is_agent() && access == Access::kOperator) {
        forbid(res, *who, "use this endpoint (an operator's token can)");
      } else if (who->is_agent() && access == Access::kHostInPath && req.matches[1] != who->host) {
        forbid(res, *who, fmt::format("act for host {}", req.matches[1].str().substr(0, 64)));
      } else if (has_body && req.has_header("Content-Type") &&
                 req.get_header_value("Content-Type").rfind("application/json", 0) != 0) {
        send_error(res, 415, "unsupported-media-type",
                   fmt::format("Content-Type '{}': expected application/json",
                               req.get_header_value("Content-Type").substr(0, 64)));
      } else {
        if constexpr (std::is_invocable_v<F, const Caller&>)
          f(*who);
        else
          f();
        if (req.method != "GET") metrics.store_changed();
      }
    } catch (const Error& e) {
      int status = http_status(e.code());
      if (status >= 500)
        std::fprintf(stderr, "gpuvmd: %s %s: %s\n", req.method.c_str(), req.path.c_str(), e.what());
      send_error(res, status, errc_name(e.code()), e.what());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "gpuvmd: %s %s: internal error: %s\n", req.method.c_str(),
                   req.path.c_str(), e.what());
      send_error(res, 500, "internal", "internal error; see the gpuvmd log");
    }
  }

  void routes() {
    using Req = HttpRequest;
    using Res = HttpResponse;
    auto& s = *http;
    auto get = [&](const std::string& pattern, HttpServer::Handler h) {
      s.route("GET", pattern, std::move(h));
    };
    auto post = [&](const std::string& pattern, HttpServer::Handler h) {
      s.route("POST", pattern, std::move(h));
    };
    register_ui_routes(s);  // GET / and /ui/*: static files, no token (they hold no data)
    get("/healthz", [this](const Req&, Res& res) {
      send_json(res, 200, {{"status", "ok"}, {"schema_version", store.schema_version()}});
    });
    // Without a token: fleet totals only. With an operator's token: also the
    // series named after MIG profiles and vGPU types. A wrong token is a 401,
    // so that a misconfigured scraper is told (docs/gpuvmd.md "/metrics").
    get("/metrics", [this](const Req& req, Res& res) {
      try {
        bool full = false;
        if (req.has_header("Authorization")) {
          std::optional<Caller> who = caller(req);
          if (!who) {
            res.set_header("WWW-Authenticate", "Bearer realm=\"gpuvmd\"");
            return send_error(res, 401, "unauthorized",
                              "unknown bearer token; /metrics needs none for fleet totals");
          }
          full = !who->is_agent();
        }
        res.set_content(metrics.render(store, full, http->timed_out()),
                        "text/plain; version=0.0.4");
      } catch (const std::exception& e) {
        std::fprintf(stderr, "gpuvmd: %s: %s\n", req.path.c_str(), e.what());
        send_error(res, 500, "internal", "metrics unavailable; see the gpuvmd log");
      }
    });

    get("/api/v1/hosts", [this](const Req& req, Res& res) {
      api(req, res, false, [&] {
        json out = json::array();
        for (const auto& h : store.list_hosts()) out.push_back(host_summary(h));
        send_json(res, 200, out);
      });
    });
    post("/api/v1/hosts", [this](const Req& req, Res& res) {
      api(
          req, res, true,
          [&](const Caller& who) {
            // Most pushes repeat the stored inventory byte for byte (agents
            // write it canonically): those only mark the host alive, unparsed.
            if (auto same = store.touch_host(token_hash(req.body), who.host)) {
              send_json(res, 200, push_value(*same, "ok"));
              return;
            }
            HostInventory inv = parse_host_inventory(req.body);
            if (who.is_agent() && inv.name != who.host)
              return forbid(res, who, fmt::format("report host {}", inv.name.substr(0, 64)));
            HostPush p;
            HostRecord h = store.put_host(inv, token_hash(to_json(inv)), &p);
            send_json(res, p.created ? 201 : 200, push_value(p, h.state));
          },
          Access::kAnyHost);
    });
    get(R"(/api/v1/hosts/([A-Za-z0-9._-]{1,253}))", [this](const Req& req, Res& res) {
      api(req, res, false, [&] {
        auto h = store.get_host(req.matches[1]);
        if (!h)
          throw Error(Errc::kNotFound,
                      fmt::format("host {} is not registered", req.matches[1].str()));
        std::string format = req.has_param("format") ? req.get_param_value("format") : "json";
        if (format == "one") {
          res.set_content(pci_devices_one_template(h->inventory, h->allocations), "text/plain");
        } else if (format == "json") {
          send_json(res, 200, host_detail(*h));
        } else {
          throw_invalid(fmt::format("format '{}': expected json or one", format.substr(0, 32)));
        }
      });
    });
    get(R"(/api/v1/hosts/([A-Za-z0-9._-]{1,253})/gpus)", [this](const Req& req, Res& res) {
      api(req, res, false, [&] {
        auto h = store.get_host(req.matches[1]);
        if (!h)
          throw Error(Errc::kNotFound,
                      fmt::format("host {} is not registered", req.matches[1].str()));
        send_json(res, 200, capacity_value(capacity(h->inventory, h->allocations), h->inventory));
      });
    });
    post(R"(/api/v1/hosts/([A-Za-z0-9._-]{1,253})/forceupdate)", [this](const Req& req, Res& res) {
      api(req, res, false,
          [&] { send_json(res, 202, host_summary(store.request_force_update(req.matches[1]))); });
    });

    // The agent's side of the host command queue (docs/gpuvmd.md).
    get(R"(/api/v1/hosts/([A-Za-z0-9._-]{1,253})/commands)", [this](const Req& req, Res& res) {
      api(
          req, res, false,
          [&] {
            CommandQueue q;
            q.commands = store.host_commands(req.matches[1], 100, &q.force_update);
            res.set_content(to_json(q) + "\n", "application/json");
          },
          Access::kHostInPath);
    });
    post(R"(/api/v1/hosts/([A-Za-z0-9._-]{1,253})/commands/(\d{1,18})/result)",
         [this](const Req& req, Res& res) {
           api(
               req, res, true,
               [&] {
                 CommandResult r = parse_command_result(req.body);
                 int64_t id = std::stoll(req.matches[2].str());
                 bool rolled_back = false;  // decided in the store's transaction: counted once
                 HostCommand c = store.complete_command(req.matches[1], id, r, &rolled_back);
                 metrics.observe_command_result(c.op, r.ok, rolled_back);
                 send_json(res, 200, command_value(c));
               },
               Access::kHostInPath);
         });

    get("/api/v1/vms", [this](const Req& req, Res& res) {
      api(req, res, false, [&] {
        json out = json::array();
        for (const auto& vm : store.list_vms()) out.push_back(vm_value(vm));
        send_json(res, 200, out);
      });
    });
    post("/api/v1/vms", [this](const Req& req, Res& res) {
      api(req, res, true, [&] {
        std::string name;
        VmRequest r = parse_vm_request(req.body, &name);
        send_json(res, 201, vm_value(store.create_vm(name, r)));
      });
    });
    get(R"(/api/v1/vms/(\d{1,18}))", [this](const Req& req, Res& res) {
      api(req, res, false, [&] {
        auto vm = store.get_vm(path_id(req));
        if (!vm) throw Error(Errc::kNotFound, fmt::format("VM {} does not exist", path_id(req)));
        send_json(res, 200, vm_value(*vm));
      });
    });
    get(R"(/api/v1/vms/(\d{1,18})/commands)", [this](const Req& req, Res& res) {
      api(req, res, false, [&] {
        const int64_t id = path_id(req);
        if (!store.get_vm(id))
          throw Error(Errc::kNotFound, fmt::format("VM {} does not exist", id));
        json list = json::array();
        for (const auto& c : store.vm_commands(id)) list.push_back(command_value(c));
        send_json(res, 200, {{"commands", list}});
      });
    });
    post(R"(/api/v1/vms/(\d{1,18})/deploy)", [this](const Req& req, Res& res) {
      api(req, res, false, [&] {
        auto t0 = std::chrono::steady_clock::now();
        auto seconds = [&] {
          return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        };
        DeployResult d;
        try {
          d = store.deploy(path_id(req));
        } catch (...) {
          metrics.observe_deploy(seconds(), "error");
          throw;
        }
        switch (d.outcome) {
          case DeployResult::Outcome::kPlaced:
            metrics.observe_deploy(seconds(), "placed");
            send_json(res, 200, {{"outcome", "placed"}, {"vm", vm_value(d.vm)}});
            break;
          case DeployResult::Outcome::kAlreadyPlaced:
            metrics.observe_deploy(seconds(), "already_placed");
            send_json(res, 200, {{"outcome", "already_placed"}, {"vm", vm_value(d.vm)}});
            break;
          case DeployResult::Outcome::kNoCapacity:
            metrics.observe_deploy(seconds(), "no_capacity");
            send_error(res, 409, "no-capacity",
                       fmt::format("VM {}: no placement: {}", d.vm.id, d.reason));
            break;
        }
      });
    });
    post(R"(/api/v1/vms/(\d{1,18})/undeploy)", [this](const Req& req, Res& res) {
      api(req, res, false, [&] { send_json(res, 200, vm_value(store.undeploy(path_id(req)))); });
    });
    s.route("DELETE", R"(/api/v1/vms/(\d{1,18}))", [this](const Req& req, Res& res) {
      api(req, res, false, [&] {
        store.delete_vm(path_id(req));
        res.status = 204;
      });
    });
    get("/api/v1/allocations", [this](const Req& req, Res& res) {
      api(req, res, false, [&] {
        json out = json::array();
        for (const auto& a : store.list_allocations()) out.push_back(allocation_value(a));
        send_json(res, 200, out);
      });
    });
    get("/api/v1/events", [this](const Req& req, Res& res) {
      api(req, res, false, [&] {
        auto num = [&](const char* key, int64_t dflt) -> int64_t {
          if (!req.has_param(key)) return dflt;
          std::string v = req.get_param_value(key);
          if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string::npos)
            throw_invalid(fmt::format("query parameter {}='{}': expected a non-negative integer",
                                      key, v.substr(0, 24)));
          return std::stoll(v);
        };
        json out = json::array();
        for (const auto& e : store.list_events(
                 num("after", 0), static_cast<int>(std::min<int64_t>(num("limit", 100), 1000))))
          out.push_back({{"id", e.id},
                         {"at_ms", e.at_ms},
                         {"kind", e.kind},
                         {"object", e.object},
                         {"message", e.message}});
        send_json(res, 200, out);
      });
    });

    // The HTTP layer answers unknown routes (404), bodies over the limit
    // (413) and a full body budget (503) itself; give those a JSON body too.
    s.set_error_handler([](const Req& req, Res& res) {
      switch (res.status) {
        case 404:
          return send_error(res, 404, "not-found",
                            fmt::format("no such endpoint: {} {}", req.method.substr(0, 16),
                                        req.path.substr(0, 128)));
        case 413:
          return send_error(res, 413, "payload-too-large",
                            "request body too large (see --max-body)");
        case 503:
          return send_error(res, 503, "busy",
                            "gpuvmd is reading too many request bodies at once (see "
                            "--max-inflight-body); retry later");
        default:
          return send_error(res, res.status, "bad-request", "bad request");
      }
    });
    s.set_logger([this](int status) { metrics.count_request(status); });
  }
};

ApiServer::ApiServer(Store& store, ApiOptions options)
    : impl_(std::make_unique<Impl>(store, std::move(options))) {}
ApiServer::~ApiServer() {
  stop();
}

int ApiServer::bind() {
  return impl_->http->start(impl_->opt.host, impl_->opt.port);
}

void ApiServer::serve() {
  impl_->http->wait();
}

void ApiServer::stop() {
  if (impl_ && impl_->http) impl_->http->stop();
}

}  // namespace gpuvm::server
