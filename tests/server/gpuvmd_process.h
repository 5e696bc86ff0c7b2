// One gpuvmd process for tests that need the real daemon (replicas, kill -9,
// the agent end to end): started on a free port with its own token file,
// SIGKILLed and reaped when the object goes away.
#pragma once

#include <fcntl.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace gpuvm::test {

inline constexpr const char* kToken = "replica-token-0123456789";

class Gpuvmd {
 public:
  // `port` 0: any free port. `extra`: more gpuvmd options. `db_url` "": no
  // --db (then `extra` has --db-file, or the environment GPUVM_DB_URL).
  Gpuvmd(const std::string& db_url, const std::filesystem::path& dir, int port = 0,
         const std::vector<std::string>& extra = {}) {
    auto token_file = dir / "token";
    write_file(token_file, std::string(kToken) + "\n");
    int out[2];
    if (pipe(out) != 0) throw std::runtime_error("pipe");
    std::string exe = bin("gpuvmd").string();
    std::string err_path = (dir / ("gpuvmd." + std::to_string(counter_++) + ".err")).string();
    std::vector<std::string> args = {exe,
                                     "--listen",
                                     "127.0.0.1:" + std::to_string(port),
                                     "--token-file",
                                     token_file.string(),
                                     "--threads",
                                     "8"};
    if (!db_url.empty()) args.insert(args.end(), {"--db", db_url});
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (err >= 0) dup2(err, 2);
      close(out[0]);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(out[1]);
    // "gpuvmd: listening on http://127.0.0.1:PORT, ..." within 20 s.
    std::string line;
    pollfd p{out[0], POLLIN, 0};
    while (line.find('\n') == std::string::npos && poll(&p, 1, 20000) > 0) {
      char buf[256];
      ssize_t n = read(out[0], buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<size_t>(n));
    }
    close(out[0]);
    auto pos = line.find("127.0.0.1:");
    if (pos == std::string::npos)
      throw std::runtime_error("gpuvmd did not start: " + line + read_file(err_path));
    port_ = std::stoi(line.substr(pos + 10));
  }
  ~Gpuvmd() { kill9(); }
  void kill9() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // A client with the token, or (false) an anonymous one.
  std::unique_ptr<httplib::Client> client(bool with_token = true) const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", port_);
    if (with_token) c->set_bearer_token_auth(kToken);
    c->set_read_timeout(60, 0);
    c->set_tcp_nodelay(true);
    return c;
  }

 private:
  static inline int counter_ = 0;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace gpuvm::test
