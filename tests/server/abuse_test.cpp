// gpuvmd under abuse, as a process: slow clients (slowloris) may not starve
// the requests of others, a request must arrive whole within its deadlines,
// the connection cap holds, and bodies over the memory budget are refused.
// No timed assertions: every wait is a bound against a hang, not a speed.
#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "server/fixtures.h"
#include "server/gpuvmd_process.h"
#include "server/scheduler/model_json.h"
#include "server/slow_clients.h"
#include "server/test_db.h"

namespace gpuvm::server {
namespace {

using gpuvm::test::Gpuvmd;
using gpuvm::test::SlowClients;
using nlohmann::json;

// Waits (at most `bound_ms`) for the server to close `fd`; true if it did.
bool closed_by_server(int fd, int bound_ms) {
  pollfd p{fd, POLLIN | POLLRDHUP, 0};
  for (int waited = 0; waited < bound_ms; waited += 100) {
    if (poll(&p, 1, 100) > 0) {
      char buf[512];
      ssize_t n;
      while ((n = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
      }
      if (n == 0 || (n < 0 && errno != EAGAIN)) return true;
    }
  }
  return false;
}

TEST(GpuvmdAbuse, AThousandSlowClientsDoNotStarveOtherRequests) {
  test::TestDb db("sqlite");
  // Deadlines longer than the test: every slow client stays attached.
  Gpuvmd d(db.url(), db.dir(), 0, {"--header-timeout", "600", "--request-timeout", "600"});
  SlowClients slow(d.port(), 1000, std::chrono::milliseconds(500));

  // 8 worker threads (Gpuvmd's --threads), 1,000 sockets that never finish
  // a request: agents' pushes, operators' reads and unauthenticated probes
  // must all be answered.
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      auto c = d.client();
      auto anon = d.client(false);
      for (int i = 0; i < 10; ++i) {
        std::string name = "node-" + std::to_string(t * 10 + i);
        auto push =
            c->Post("/api/v1/hosts", to_json(test::h100_host(name, 1, {})), "application/json");
        auto list = c->Get("/api/v1/hosts");
        auto health = anon->Get("/healthz");
        bool good = push && push->status == 201 && list && list->status == 200 && health &&
                    health->status == 200;
        (good ? ok : failed)++;
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok.load(), 40);
  EXPECT_EQ(failed.load(), 0);
  auto hosts = d.client()->Get("/api/v1/hosts");
  ASSERT_TRUE(hosts);
  EXPECT_EQ(json::parse(hosts->body).size(), 40u);
  // They were attached all along (the server closed none of them).
  EXPECT_EQ(slow.open_count(), 1000);
}

TEST(GpuvmdAbuse, ARequestMustArriveWholeWithinItsDeadlinesHoweverOftenBytesCome) {
  test::TestDb db("sqlite");
  Gpuvmd d(db.url(), db.dir(), 0, {"--header-timeout", "2", "--request-timeout", "4"});
  // One byte every 200 ms: far more often than any idle timeout, so only a
  // deadline counted from the first byte closes these.
  int in_headers = gpuvm::test::connect_loopback(d.port());
  int in_body = gpuvm::test::connect_loopback(d.port());
  std::string head = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  std::string body_head =
      "POST /api/v1/vms HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 5000\r\n\r\n{";
  ASSERT_GT(send(in_headers, head.data(), head.size(), MSG_NOSIGNAL), 0);
  ASSERT_GT(send(in_body, body_head.data(), body_head.size(), MSG_NOSIGNAL), 0);
  std::atomic<bool> stop{false};
  std::thread trickle([&] {
    for (int i = 0; i < 300 && !stop; ++i) {
      (void)!send(in_headers, "a", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      (void)!send(in_body, " ", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  });
  // Bounded by 30 s (far beyond the deadlines): a hang fails, not a slowness.
  EXPECT_TRUE(closed_by_server(in_headers, 30000)) << "header deadline";
  EXPECT_TRUE(closed_by_server(in_body, 30000)) << "request (body) deadline";
  stop = true;
  trickle.join();
  close(in_headers);
  close(in_body);
  // An idle keep-alive connection is a slow client too: closed as well.
  int idle = gpuvm::test::connect_loopback(d.port());
  EXPECT_TRUE(closed_by_server(idle, 30000)) << "idle connection";
  close(idle);
  auto h = d.client(false)->Get("/healthz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
}

// Sockets the process holds open (/proc/PID/fd links to "socket:[...]").
int socket_fds(pid_t pid) {
  int n = 0;
  for (const auto& e :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(e.path(), ec);
    if (!ec && target.string().rfind("socket:", 0) == 0) ++n;
  }
  return n;
}

TEST(GpuvmdAbuse, ConnectionsOverTheCapWaitAndServiceResumes) {
  test::TestDb db("sqlite");
  Gpuvmd d(db.url(), db.dir(), 0, {"--max-connections", "32", "--header-timeout", "600"});
  const int before = socket_fds(d.pid());
  std::vector<int> fds;
  for (int i = 0; i < 64; ++i) fds.push_back(gpuvm::test::connect_loopback(d.port()));
  // The server accepts 32 (the rest wait in the kernel's listen backlog):
  // bounded wait until it has accepted as many as it will.
  int held = 0;
  for (int waited = 0; waited < 5000 && held < 32; waited += 100) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    held = socket_fds(d.pid()) - before;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  held = socket_fds(d.pid()) - before;
  EXPECT_EQ(held, 32) << "sockets gpuvmd holds for 64 idle clients";
  for (int fd : fds) close(fd);
  // Its slots come back: a normal request is served again (bounded retries
  // while the server notices the closes).
  int status = 0;
  for (int i = 0; i < 50 && status != 200; ++i) {
    auto h = d.client(false)->Get("/healthz");
    status = h ? h->status : 0;
    if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(status, 200);
}

TEST(GpuvmdAbuse, BodiesBeingReadShareOneBudgetAndTheRestGet503) {
  test::TestDb db("sqlite");
  Gpuvmd d(db.url(), db.dir(), 0,
           {"--max-body", "1048576", "--max-inflight-body", "1048576", "--request-timeout", "600"});
  // Three uploads of 400 KB of a 1 MB body each, never finished: 1.2 MB held.
  std::vector<int> fds;
  std::string part(400 * 1000, ' ');
  for (int i = 0; i < 3; ++i) {
    int fd = gpuvm::test::connect_loopback(d.port());
    std::string head =
        "POST /api/v1/hosts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 1000000\r\n\r\n[";
    ASSERT_GT(send(fd, head.data(), head.size(), MSG_NOSIGNAL), 0);
    ASSERT_EQ(send(fd, part.data(), part.size(), MSG_NOSIGNAL), static_cast<ssize_t>(part.size()));
    fds.push_back(fd);
  }
  // Some upload crosses the budget (the server reads them as they come):
  // the ones over it get 503 with a clear message.
  int busy = 0;
  for (int fd : fds) {
    std::string rest(600 * 1000 - 1, ' ');
    rest += ']';
    (void)!send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
  }
  for (int fd : fds) {
    std::string answer;
    pollfd p{fd, POLLIN, 0};
    char buf[4096];
    while (poll(&p, 1, 30000) > 0) {
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      answer.append(buf, static_cast<size_t>(n));
      if (answer.find("}\n") != std::string::npos) break;
    }
    if (answer.rfind("HTTP/1.1 503", 0) == 0) {
      ++busy;
      EXPECT_NE(answer.find("--max-inflight-body"), std::string::npos) << answer;
    }
    close(fd);
  }
  EXPECT_GE(busy, 1);
}

}  // namespace
}  // namespace gpuvm::server
