// Slowloris on loopback: N sockets to a server, each with a request that is
// never finished, one more byte sent on each every `period`. Half stall in
// the headers, half in a declared body. For the abuse test and its bench.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace gpuvm::test {

// The test process holds a descriptor per slow client: take the hard limit.
inline void raise_nofile_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

inline int connect_loopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port));
  }
  return fd;
}

// True while the peer has not closed `fd` (nothing to read, no EOF).
inline bool still_open(int fd) {
  char c;
  ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

class SlowClients {
 public:
  SlowClients(int port, int n, std::chrono::milliseconds period) {
    raise_nofile_limit();
    for (int i = 0; i < n; ++i) {
      int fd = connect_loopback(port);
      fds_.push_back(fd);
      std::string start =
          i % 2 ? "POST /api/v1/hosts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  "Content-Length: 100000\r\n\r\n{"
                : "GET /api/v1/hosts HTTP/1.1\r\nHost: x\r\nX-Slow: ";
      (void)!send(fd, start.data(), start.size(), MSG_NOSIGNAL);
    }
    thread_ = std::thread([this, period] {
      std::unique_lock lock(mu_);
      while (!cv_.wait_for(lock, period, [&] { return stop_; }))
        for (size_t i = 0; i < fds_.size(); ++i) {
          const char* byte = i % 2 ? " " : "a";
          (void)!send(fds_[i], byte, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        }
    });
  }
  ~SlowClients() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    for (int fd : fds_) close(fd);
  }
  // How many the server has not closed.
  int open_count() const {
    int n = 0;
    for (int fd : fds_) n += still_open(fd);
    return n;
  }

 private:
  std::vector<int> fds_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace gpuvm::test
