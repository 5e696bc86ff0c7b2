// gpuvmd: the control plane. Parses options, opens the store, serves the API
// until SIGINT/SIGTERM. Everything else lives in the server libraries.
#include <fmt/format.h>
#include <signal.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "server/api/server.h"
#include "server/store/store.h"

namespace {

constexpr const char* kDefaultDb = "sqlite:/var/lib/gpuvm/gpuvmd.db";

std::string read_token_file(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    throw gpuvm::Error(gpuvm::Errc::kInvalidArgument,
                       fmt::format("--token-file {}: cannot read it", path));
  std::string token;
  std::getline(in, token);
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.size() < 16)
    throw gpuvm::Error(
        gpuvm::Errc::kInvalidArgument,
        fmt::format("--token-file {}: the token on its first line must be at least 16 characters",
                    path));
  return token;
}

// The store's URL from --db-file (first line), else GPUVM_DB_URL, else --db:
// a PostgreSQL password in the URL then stays out of argv (/proc/PID/cmdline
// is world-readable). libpq's own PGPASSWORD / PGPASSFILE work as well.
std::string db_url(const std::string& db_flag, const std::string& db_file, bool db_given) {
  if (!db_file.empty()) {
    std::ifstream in(db_file);
    std::string url;
    if (!in || !std::getline(in, url))
      throw gpuvm::Error(gpuvm::Errc::kInvalidArgument,
                         fmt::format("--db-file {}: cannot read it", db_file));
    while (!url.empty() && (url.back() == '\r' || url.back() == ' ')) url.pop_back();
    if (url.empty())
      throw gpuvm::Error(
          gpuvm::Errc::kInvalidArgument,
          fmt::format("--db-file {}: expected the store URL on its first line", db_file));
    return url;
  }
  if (const char* env = std::getenv("GPUVM_DB_URL"); env && *env && !db_given) return env;
  return db_flag;
}

// Every connection is a descriptor: take the hard limit (getrlimit(2)), and
// keep --max-connections below what it leaves.
void raise_nofile(gpuvm::server::ApiOptions& opt) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  if (rl.rlim_cur < rl.rlim_max) {
    rlim_t want = rl.rlim_max;
    rl.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) getrlimit(RLIMIT_NOFILE, &rl);
  }
  constexpr rlim_t kReserve = 64;  // store connections, log, TLS files
  rlim_t room = rl.rlim_cur > kReserve + opt.threads ? rl.rlim_cur - kReserve - opt.threads : 16;
  if (rl.rlim_cur != RLIM_INFINITY && opt.max_connections > room) {
    std::fprintf(stderr,
                 "gpuvmd: --max-connections %u lowered to %llu: RLIMIT_NOFILE is %llu "
                 "(raise LimitNOFILE= to serve more)\n",
                 opt.max_connections, static_cast<unsigned long long>(room),
                 static_cast<unsigned long long>(rl.rlim_cur));
    opt.max_connections = static_cast<unsigned>(room);
  }
}

int serve(const std::string& listen, const std::string& db, gpuvm::server::ApiOptions opt,
          const std::string& token_file, int64_t host_timeout_s) {
  gpuvm::server::parse_listen(listen, &opt.host, &opt.port);
  raise_nofile(opt);
  // Block the stop signals before any thread starts, so only sigwait sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto store = gpuvm::server::Store::open(db, opt.threads + 2);
  if (!token_file.empty())
    store->add_token("token-file", gpuvm::server::token_hash(read_token_file(token_file)));
  gpuvm::server::ApiServer server(*store, opt);
  int port = server.bind();
  std::printf("gpuvmd: listening on %s://%s:%d, schema version %d\n",
              opt.tls_cert.empty() ? "http" : "https", opt.host.c_str(), port,
              store->schema_version());
  std::fflush(stdout);
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    server.stop();
  });
  // Hosts that stop reporting go to "error" (allocations kept). Every
  // replica may run this; the UPDATE is idempotent.
  std::thread watchdog([&] {
    std::unique_lock lock(mu);
    auto period = std::chrono::milliseconds(std::max<int64_t>(1000, host_timeout_s * 250));
    while (!cv.wait_for(lock, period, [&] { return stopping; })) {
      try {
        for (const auto& name : store->mark_silent_hosts(host_timeout_s * 1000))
          std::fprintf(stderr, "gpuvmd: host %s sent no report for %lld s: marked error\n",
                       name.c_str(), static_cast<long long>(host_timeout_s));
      } catch (const std::exception& e) {
        std::fprintf(stderr, "gpuvmd: host timeout check: %s\n", e.what());
      }
    }
  });
  server.serve();
  {
    std::lock_guard lock(mu);
    stopping = true;
  }
  cv.notify_all();
  watchdog.join();
  // serve() returned on its own (not by a signal): wake the waiter.
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("gpuvmd: the gpuvm control plane (REST API, scheduler, store)", "gpuvmd");
  std::string listen = "127.0.0.1:8080", db = kDefaultDb, token_file;
  gpuvm::server::ApiOptions opt;
  app.add_option("--listen", listen, "ADDR:PORT to serve on (port 0: any free port)")
      ->capture_default_str();
  auto* db_opt = app.add_option("--db", db,
                                "sqlite:PATH or postgresql://USER@HOST:PORT/DB (a password here"
                                " shows in ps: use --db-file, GPUVM_DB_URL or PGPASSFILE)")
                     ->capture_default_str();
  std::string db_file;
  app.add_option("--db-file", db_file, "file whose first line is the --db URL (keep it 0600)");
  app.add_option("--tls-cert", opt.tls_cert, "PEM certificate: serve HTTPS");
  app.add_option("--tls-key", opt.tls_key, "PEM private key for --tls-cert");
  app.add_option("--token-file", token_file,
                 "file whose first line is an API token to accept (stored hashed)");
  app.add_option("--max-body", opt.max_body_bytes, "largest request body in bytes")
      ->capture_default_str();
  int64_t host_timeout_s = 300;
  app.add_option("--host-timeout", host_timeout_s,
                 "seconds without a report before a host is marked error")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{10}, int64_t{86400}));
  app.add_option("--threads", opt.threads, "HTTP worker threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  app.add_option("--max-connections", opt.max_connections,
                 "open client connections at once; more wait in the listen backlog")
      ->capture_default_str()
      ->check(CLI::Range(16u, 1000000u));
  app.add_option("--header-timeout", opt.header_timeout_s,
                 "seconds from a request's first byte to the end of its headers")
      ->capture_default_str()
      ->check(CLI::Range(1u, 3600u));
  app.add_option("--request-timeout", opt.request_timeout_s,
                 "seconds from a request's first byte to the end of its body")
      ->capture_default_str()
      ->check(CLI::Range(1u, 3600u));
  app.add_option("--max-inflight-body", opt.max_inflight_body,
                 "request body bytes held at once over all connections; more get 503")
      ->capture_default_str();
  auto* token_cmd =
      app.add_subcommand("token", "Create an API token: prints it once, stores its SHA-256");
  std::string token_name;
  token_cmd
      ->add_option("NAME", token_name, "name of the token (one per name; re-creating replaces it)")
      ->required();
  std::string token_host;
  token_cmd
      ->add_option("--host", token_host,
                   "make an agent token for this host: it may report the host and run its "
                   "commands, nothing else")
      ->check([](const std::string& h) -> std::string {
        return gpuvm::server::valid_host_name(h)
                   ? ""
                   : "expected 1-253 letters, digits, '.', '_' or '-'";
      });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    db = db_url(db, db_file, db_opt->count() > 0);
    if (*token_cmd) {
      auto store = gpuvm::server::Store::open(db, 1);
      std::string token = gpuvm::server::new_token();
      store->add_token(token_name, gpuvm::server::token_hash(token), token_host);
      std::cout << token << "\n";
      return 0;
    }
    return serve(listen, db, opt, token_file, host_timeout_s);
  } catch (const gpuvm::Error& e) {
    std::fprintf(stderr, "gpuvmd: error: %s\n", e.what());
    return gpuvm::exit_code(e.code());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpuvmd: error: %s\n", e.what());
    return 1;
  }
}
