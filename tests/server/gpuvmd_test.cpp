// gpuvmd as processes: two replicas on one database racing for slots, and
// kill -9 in the middle of allocations. Same suite for SQLite and PostgreSQL.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "server/fixtures.h"
#include "server/gpuvmd_process.h"
#include "server/scheduler/model_json.h"
#include "server/test_db.h"

namespace gpuvm::server {
namespace {

using nlohmann::json;
using test::h100_host;
using test::TestDb;

using gpuvm::test::Gpuvmd;

class GpuvmdTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = std::make_unique<TestDb>(GetParam());
    if (db_->url().empty()) GTEST_SKIP() << test::kPgSkip;
  }
  std::unique_ptr<TestDb> db_;
};

// Creates `n` VMs through `c`, `threads` at a time; returns their ids.
std::vector<int64_t> create_vms(const Gpuvmd& d, int n, const std::string& pci_json) {
  std::vector<int64_t> ids(n, -1);
  std::atomic<int> next{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 8; ++t)
    ts.emplace_back([&] {
      auto c = d.client();
      for (int i; (i = next++) < n;) {
        auto r = c->Post("/api/v1/vms", fmt::format(R"({{"name":"vm{}","pci":{}}})", i, pci_json),
                         "application/json");
        if (r && r->status == 201) ids[i] = json::parse(r->body)["id"].get<int64_t>();
      }
    });
  for (auto& t : ts) t.join();
  return ids;
}

TEST_P(GpuvmdTest, TwoReplicas1000ConcurrentRequestsEachSlotGivenOnce) {
  Gpuvmd a(db_->url(), db_->dir());
  Gpuvmd b(db_->url(), db_->dir());
  // 3 hosts x 2 MIG GPUs x 7 VFs: 1g.10gb fits 7 times per GPU, 42 slots.
  auto ca = a.client();
  for (const char* h : {"node-1", "node-2", "node-3"})
    ASSERT_EQ(ca->Post("/api/v1/hosts", to_json(h100_host(h, 2, {.mig = true, .vfs = 7})),
                       "application/json")
                  ->status,
              201);
  constexpr int kRequests = 1000, kSlots = 42;
  std::vector<int64_t> ids = create_vms(a, kRequests, R"([{"MIG_PROFILE":"1g.10gb"}])");
  ASSERT_EQ(std::count(ids.begin(), ids.end(), -1), 0);

  std::atomic<int> next{0}, placed{0}, refused{0}, other{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 16; ++t)
    ts.emplace_back([&, t] {
      auto c = (t % 2 ? b : a).client();
      for (int i; (i = next++) < kRequests;) {
        auto r =
            c->Post(fmt::format("/api/v1/vms/{}/deploy", ids[i]).c_str(), "", "application/json");
        if (r && r->status == 200)
          ++placed;
        else if (r && r->status == 409 && r->body.find("no-capacity") != std::string::npos)
          ++refused;
        else
          ++other;
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(placed.load(), kSlots);
  EXPECT_EQ(refused.load(), kRequests - kSlots);
  EXPECT_EQ(other.load(), 0);

  json allocs = json::parse(b.client()->Get("/api/v1/allocations")->body);
  ASSERT_EQ(allocs.size(), static_cast<size_t>(kSlots));
  std::set<std::string> devices, gis;
  std::set<int64_t> vms;
  for (const auto& al : allocs) {
    EXPECT_TRUE(
        devices.insert(al["host"].get<std::string>() + "/" + al["device"].get<std::string>())
            .second);
    EXPECT_TRUE(gis.insert(fmt::format("{}/{}/{}", al["host"].get<std::string>(),
                                       al["gpu"].get<std::string>(), al["mig_start"].get<int>()))
                    .second);
    EXPECT_TRUE(vms.insert(al["vm_id"].get<int64_t>()).second);
  }
}

TEST_P(GpuvmdTest, KillDashNineMidAllocationLosesNothingCommitted) {
  std::map<int64_t, bool> acknowledged;  // VM id -> 200 seen
  std::vector<int64_t> ids;
  {
    Gpuvmd d(db_->url(), db_->dir());
    auto c = d.client();
    for (const char* h : {"node-1", "node-2"})
      ASSERT_EQ(c->Post("/api/v1/hosts", to_json(h100_host(h, 4, {.mig = true, .vfs = 7})),
                        "application/json")
                    ->status,
                201);
    // Two devices per VM, so that a half-made allocation would show.
    ids = create_vms(d, 300, R"([{"MIG_PROFILE":"1g.10gb"},{"MIG_PROFILE":"2g.20gb"}])");
    std::mutex mu;
    std::atomic<int> next{0}, done{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < 8; ++t)
      ts.emplace_back([&] {
        auto cl = d.client();
        cl->set_read_timeout(5, 0);
        for (int i; (i = next++) < static_cast<int>(ids.size());) {
          auto r = cl->Post(fmt::format("/api/v1/vms/{}/deploy", ids[i]).c_str(), "",
                            "application/json");
          ++done;
          if (r && r->status == 200) {
            std::lock_guard lock(mu);
            acknowledged[ids[i]] = true;
          }
          if (!r) return;  // the server is gone
        }
      });
    // Kill once some deploys are through and others are in flight.
    while (done.load() < 10) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    d.kill9();
    for (auto& t : ts) t.join();
  }
  ASSERT_FALSE(acknowledged.empty());

  Gpuvmd again(db_->url(), db_->dir());
  json vms = json::parse(again.client()->Get("/api/v1/vms")->body);
  ASSERT_EQ(vms.size(), ids.size());
  int deployed = 0;
  std::set<std::string> devices;
  for (const auto& vm : vms) {
    int64_t id = vm["id"];
    size_t n = vm["allocations"].size();
    // Placed: deployed, or deploying while the host's agent makes the devices.
    if (vm["state"] == "deployed" || vm["state"] == "deploying") {
      ++deployed;
      EXPECT_EQ(n, 2u) << "VM " << id << " is deployed with " << n << " of 2 devices";
    } else {
      EXPECT_EQ(vm["state"], "pending");
      EXPECT_EQ(n, 0u) << "VM " << id << " holds devices without being deployed";
      EXPECT_FALSE(acknowledged.count(id))
          << "VM " << id << " was acknowledged but is not deployed";
    }
    for (const auto& al : vm["allocations"])
      EXPECT_TRUE(
          devices.insert(al["host"].get<std::string>() + al["device"].get<std::string>()).second);
  }
  EXPECT_GE(deployed, static_cast<int>(acknowledged.size()));
  // The restarted server goes on where the dead one stopped.
  auto r = again.client()->Post(
      fmt::format("/api/v1/vms/{}/deploy", acknowledged.begin()->first).c_str(), "",
      "application/json");
  ASSERT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("already_placed"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Backends, GpuvmdTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace gpuvm::server
