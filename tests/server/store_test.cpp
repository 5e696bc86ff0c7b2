// The store, the same suite against SQLite and against a real PostgreSQL.
#include "server/store/store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <set>
#include <thread>

#include "core/error.h"
#include "server/fixtures.h"
#include "server/test_db.h"

namespace gpuvm::server {
namespace {

using test::GpuSpec;
using test::h100_host;
using test::mig;
using test::TestDb;
using test::vgpu;

class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = std::make_unique<TestDb>(GetParam());
    if (db_->url().empty()) GTEST_SKIP() << test::kPgSkip;
    store_ = Store::open(db_->url());
  }
  VmRequest req(std::vector<PciRequest> pci, NumaPolicy numa = NumaPolicy::kPreferred) {
    VmRequest r;
    r.pci = std::move(pci);
    r.numa = numa;
    return r;
  }

  std::unique_ptr<TestDb> db_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreTest, MigrationsAreVersionedAndRunOnce) {
  EXPECT_EQ(store_->schema_version(), Store::latest_schema_version());
  auto again = Store::open(db_->url());  // a second replica: nothing to do
  EXPECT_EQ(again->schema_version(), Store::latest_schema_version());
}

TEST_P(StoreTest, HostRegistrationAndMonitoringPush) {
  HostInventory h = h100_host("node-a", 2, {.mig = true, .vfs = 4});
  HostRecord r = store_->put_host(h);
  EXPECT_EQ(r.generation, 1);
  EXPECT_EQ(r.state, "ok");
  EXPECT_EQ(r.inventory.gpus.size(), 2u);
  h.gpus[0].mig_instances = {{"3g.40gb", 0}};
  r = store_->put_host(h);
  EXPECT_EQ(r.generation, 2);
  ASSERT_EQ(r.inventory.gpus[0].mig_instances.size(), 1u);
  EXPECT_EQ(store_->list_hosts().size(), 1u);
  EXPECT_FALSE(store_->get_host("nope"));
  EXPECT_TRUE(store_->request_force_update("node-a").force_update);
  EXPECT_FALSE(store_->put_host(h).force_update) << "the next push answers it";
  try {
    store_->request_force_update("nope");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kNotFound);
  }
  auto events = store_->list_events(0, 100);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0].kind, "host.registered");
}

// Most monitoring pushes repeat the stored inventory: they keep the host's
// generation (and so every cache of it) and, by its hash, need no parsing.
TEST_P(StoreTest, AnUnchangedPushOnlyMarksTheHostAlive) {
  HostInventory h = h100_host("node-a", 1, {.mig = true, .vfs = 4});
  HostPush p;
  EXPECT_EQ(store_->put_host(h, "sha-1", &p).generation, 1);
  EXPECT_TRUE(p.created);
  EXPECT_EQ(store_->put_host(h, "sha-1", &p).generation, 1) << "same inventory, same generation";
  EXPECT_FALSE(p.created);
  EXPECT_FALSE(p.changed);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(store_->mark_silent_hosts(1).size(), 1u);
  store_->request_force_update("node-a");
  auto t = store_->touch_host("sha-1");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->name, "node-a");
  EXPECT_EQ(t->generation, 1);
  HostRecord r = *store_->get_host("node-a");
  EXPECT_EQ(r.state, "ok") << "alive again";
  EXPECT_FALSE(r.force_update) << "answered";
  EXPECT_FALSE(store_->touch_host("sha-other")) << "another body: the full path";
  EXPECT_FALSE(store_->touch_host(""));
  h.gpus[0].mig_instances = {{"3g.40gb", 0}};
  EXPECT_EQ(store_->put_host(h, "sha-2", &p).generation, 2);
  EXPECT_TRUE(p.changed);
  EXPECT_FALSE(store_->touch_host("sha-1")) << "the old body is not the stored one any more";
}

TEST_P(StoreTest, SilentHostsGoToErrorKeepTheirAllocationsAndTakeNoNewOnes) {
  store_->put_host(h100_host("node-a", 1, {.mig = false, .vfs = 4}));
  VmRecord vm = store_->create_vm("vm1", req({vgpu("H100XM-20C")}));
  ASSERT_EQ(store_->deploy(vm.id).outcome, DeployResult::Outcome::kPlaced);
  EXPECT_TRUE(store_->mark_silent_hosts(60'000).empty()) << "it reported just now";
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(store_->mark_silent_hosts(1), std::vector<std::string>{"node-a"});
  EXPECT_EQ(store_->get_host("node-a")->state, "error");
  EXPECT_EQ(store_->list_allocations().size(), 1u) << "kept";
  VmRecord vm2 = store_->create_vm("vm2", req({vgpu("H100XM-20C")}));
  EXPECT_EQ(store_->deploy(vm2.id).outcome, DeployResult::Outcome::kNoCapacity);
  EXPECT_EQ(store_->put_host(h100_host("node-a", 1, {.mig = false, .vfs = 4})).state, "ok");
  EXPECT_EQ(store_->deploy(vm2.id).outcome, DeployResult::Outcome::kPlaced);
}

TEST_P(StoreTest, DeployIsAtomicIdempotentAndReleasable) {
  store_->put_host(h100_host("node-a", 2, {.mig = true, .vfs = 8}));
  VmRecord vm = store_->create_vm("vm1", req({mig("3g.40gb"), vgpu("H100XM-1-10C")}));
  EXPECT_EQ(vm.state, "pending");
  DeployResult d = store_->deploy(vm.id);
  ASSERT_EQ(d.outcome, DeployResult::Outcome::kPlaced) << d.reason;
  ASSERT_EQ(d.vm.allocations.size(), 2u);
  EXPECT_EQ(d.vm.state, "deploying") << "the host's agent must make the GI and the vGPU";
  EXPECT_EQ(d.vm.host, "node-a");
  EXPECT_EQ(d.vm.allocations[0].mig_profile, "3g.40gb");
  EXPECT_EQ(d.vm.allocations[1].vgpu_type, "H100XM-1-10C");

  DeployResult again = store_->deploy(vm.id);
  EXPECT_EQ(again.outcome, DeployResult::Outcome::kAlreadyPlaced);
  EXPECT_EQ(store_->list_allocations().size(), 2u);

  VmRecord u = store_->undeploy(vm.id);
  EXPECT_EQ(u.state, "undeployed");
  EXPECT_TRUE(u.allocations.empty());
  EXPECT_TRUE(store_->list_allocations().empty());
  EXPECT_EQ(store_->undeploy(vm.id).state, "undeployed") << "idempotent";
  ASSERT_EQ(store_->deploy(vm.id).outcome, DeployResult::Outcome::kPlaced)
      << "and deployable again";
  store_->delete_vm(vm.id);
  EXPECT_FALSE(store_->get_vm(vm.id));
  EXPECT_TRUE(store_->list_allocations().empty());
}

TEST_P(StoreTest, NoCapacityStoresNoAllocation) {
  store_->put_host(h100_host("node-a", 2, {.mig = true, .vfs = 8}));
  VmRecord vm = store_->create_vm("big", req({mig("7g.80gb"), mig("7g.80gb"), mig("7g.80gb")}));
  DeployResult d = store_->deploy(vm.id);
  EXPECT_EQ(d.outcome, DeployResult::Outcome::kNoCapacity);
  EXPECT_NE(d.reason.find("7g.80gb"), std::string::npos) << d.reason;
  EXPECT_TRUE(store_->list_allocations().empty());
  EXPECT_EQ(store_->get_vm(vm.id)->state, "pending");
}

TEST_P(StoreTest, UnknownVmIsNotFound) {
  for (auto op : {+[](Store& s) { s.deploy(999); }, +[](Store& s) { s.undeploy(999); },
                  +[](Store& s) { s.delete_vm(999); }}) {
    try {
      op(*store_);
      ADD_FAILURE() << "expected kNotFound";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kNotFound);
      EXPECT_NE(std::string(e.what()).find("999"), std::string::npos);
    }
  }
}

TEST_P(StoreTest, TokensAreStoredByHash) {
  std::string hash(64, 'a');
  EXPECT_FALSE(store_->token_known(hash));
  store_->add_token("ops", hash);
  EXPECT_TRUE(store_->token_known(hash));
  EXPECT_THROW(store_->add_token("bad", "abc"), Error);
}

TEST_P(StoreTest, ANewerSchemaIsRefused) {
  store_.reset();
  // Pretend a newer gpuvmd migrated the database.
  auto db = GetParam() == "sqlite" ? store::open_sqlite(db_->url().substr(7))
                                   : store::open_postgres(db_->url());
  db->begin(true);
  db->exec("INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)");
  db->commit();
  try {
    Store::open(db_->url());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("999"), std::string::npos) << e.what();
  }
}

// Two Store objects with their own connection pools stand for two gpuvmd
// replicas; many threads deploy VMs for fewer slots than VMs.
TEST_P(StoreTest, ConcurrentDeploysFromTwoReplicasGiveEachSlotOnce) {
  // 2 hosts x 1 GPU x 4 VFs of H100XM-20C (max 4 per GPU): 8 slots.
  store_->put_host(h100_host("node-a", 1, {.mig = false, .vfs = 4}));
  store_->put_host(h100_host("node-b", 1, {.mig = false, .vfs = 4}));
  auto replica = Store::open(db_->url());
  constexpr int kVms = 40;
  std::vector<int64_t> ids;
  for (int i = 0; i < kVms; ++i)
    ids.push_back(store_->create_vm("vm" + std::to_string(i), req({vgpu("H100XM-20C")})).id);
  std::atomic<int> placed{0}, refused{0}, next{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      Store& s = t % 2 ? *replica : *store_;
      for (int i; (i = next++) < kVms;) {
        auto d = s.deploy(ids[i]);
        (d.outcome == DeployResult::Outcome::kPlaced ? placed : refused)++;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(placed.load(), 8);
  EXPECT_EQ(refused.load(), kVms - 8);
  std::set<std::pair<std::string, std::string>> devices;
  for (const auto& a : store_->list_allocations())
    EXPECT_TRUE(devices.insert({a.host, a.device}).second);
  EXPECT_EQ(devices.size(), 8u);
}

// The host command queue: deploy queues what the agent must make, its
// reports finish the deploy, a failure rolls the whole VM back, and undeploy
// queues the undo, newest first.
TEST_P(StoreTest, DeployQueuesHostCommandsAndTheAgentsReportsFinishIt) {
  store_->put_host(h100_host("node-a", 1, {.mig = true, .vfs = 8}));
  VmRecord vm = store_->create_vm("vm1", req({mig("3g.40gb"), vgpu("H100XM-1-10C")}));
  ASSERT_EQ(store_->deploy(vm.id).outcome, DeployResult::Outcome::kPlaced);
  std::vector<HostCommand> q = store_->host_commands("node-a");
  // Both requests are MIG-backed here: each is a GPU instance, then the vGPU on it.
  ASSERT_EQ(q.size(), 4u);
  EXPECT_EQ(q[0].op, CommandOp::kGiCreate);
  EXPECT_EQ(q[1].op, CommandOp::kVgpuCreate);
  EXPECT_EQ(q[0].mig_profile, "3g.40gb");
  EXPECT_EQ(q[0].vm_id, vm.id);
  for (const auto& c : q) EXPECT_EQ(c.state, "queued");
  EXPECT_EQ(store_->deploy(vm.id).outcome, DeployResult::Outcome::kAlreadyPlaced);
  EXPECT_EQ(store_->host_commands("node-a").size(), 4u) << "a retried deploy queues nothing";

  store_->complete_command("node-a", q[0].id, {true, true, "created GPU instance 1"});
  EXPECT_EQ(store_->get_vm(vm.id)->state, "deploying");
  HostCommand again = store_->complete_command("node-a", q[0].id, {false, false, "late"});
  EXPECT_EQ(again.state, "done") << "a repeated report changes nothing";
  for (size_t i = 1; i < q.size(); ++i)
    store_->complete_command("node-a", q[i].id, {true, true, ""});
  EXPECT_EQ(store_->get_vm(vm.id)->state, "deployed");
  EXPECT_TRUE(store_->host_commands("node-a").empty());

  // Undeploy: the devices are free at once, the host is told to undo, newest first.
  store_->undeploy(vm.id);
  q = store_->host_commands("node-a");
  ASSERT_EQ(q.size(), 4u);
  EXPECT_EQ(q[0].op, CommandOp::kVgpuDestroy) << "a vGPU goes before the GI it lives on";
  EXPECT_EQ(q[1].op, CommandOp::kGiDestroy);
  EXPECT_EQ(q[3].op, CommandOp::kGiDestroy);
  EXPECT_TRUE(store_->list_allocations().empty());

  try {
    store_->complete_command("node-b", q[0].id, {true, false, ""});
    FAIL() << "another host's command";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kNotFound);
  }
}

TEST_P(StoreTest, AFailedHostCommandRollsTheWholeVmBack) {
  store_->put_host(h100_host("node-a", 1, {.mig = true, .vfs = 8}));
  VmRecord vm = store_->create_vm("vm1", req({mig("3g.40gb"), vgpu("H100XM-1-10C")}));
  ASSERT_EQ(store_->deploy(vm.id).outcome, DeployResult::Outcome::kPlaced);
  std::vector<HostCommand> q = store_->host_commands("node-a");
  ASSERT_GE(q.size(), 2u);
  store_->complete_command("node-a", q[0].id, {true, true, "created"});
  store_->complete_command("node-a", q[1].id, {false, false, "write of 1414: No space left"});
  VmRecord failed = *store_->get_vm(vm.id);
  EXPECT_EQ(failed.state, "failed");
  EXPECT_TRUE(failed.allocations.empty());
  EXPECT_TRUE(store_->list_allocations().empty());
  std::vector<HostCommand> all = store_->vm_commands(vm.id);
  std::vector<std::string> states;
  for (const auto& c : all) states.push_back(std::string(command_op_name(c.op)) + ":" + c.state);
  // What was made is undone (the GI), what never ran is cancelled.
  std::vector<std::string> want{"gi.create:reverted", "vgpu.create:failed", "gi.create:cancelled",
                                "vgpu.create:cancelled", "gi.destroy:queued"};
  EXPECT_EQ(states, want);
  bool reported = false;
  for (const auto& e : store_->list_events(0, 1000))
    reported |=
        e.kind == "vm.deploy_failed" && e.message.find("No space left") != std::string::npos;
  EXPECT_TRUE(reported) << "the host's message reaches the operator";
  EXPECT_EQ(store_->deploy(vm.id).outcome, DeployResult::Outcome::kPlaced) << "retry works";
}

TEST_P(StoreTest, ACommandRunAfterItsCancelIsUndone) {
  store_->put_host(h100_host("node-a", 1, {.mig = false, .vfs = 8}));
  VmRecord vm = store_->create_vm("vm1", req({vgpu("H100XM-20C")}));
  ASSERT_EQ(store_->deploy(vm.id).outcome, DeployResult::Outcome::kPlaced);
  std::vector<HostCommand> q = store_->host_commands("node-a");
  ASSERT_EQ(q.size(), 1u);
  store_->undeploy(vm.id);  // before the agent reported
  EXPECT_TRUE(store_->host_commands("node-a").empty()) << "cancelled";
  // ...but the agent had already taken it and made the vGPU.
  EXPECT_EQ(store_->complete_command("node-a", q[0].id, {true, true, ""}).state, "reverted");
  q = store_->host_commands("node-a");
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0].op, CommandOp::kVgpuDestroy);
  EXPECT_EQ(store_->get_vm(vm.id)->state, "undeployed");
}

// deploy() builds the record it returns from what it wrote instead of reading
// it back: it must be what get_vm reads.
TEST_P(StoreTest, DeployReturnsTheVmAsStored) {
  store_->put_host(h100_host("node-a", 2, {.mig = true, .vfs = 8}));
  for (VmRequest r : {req({mig("3g.40gb"), vgpu("H100XM-1-10C"), mig("1g.10gb")}),
                      req({test::by_id("10de", "2330")}), req({vgpu("H100XM-1-10C")})}) {
    VmRecord vm = store_->create_vm("vm", r);
    DeployResult d = store_->deploy(vm.id);
    ASSERT_EQ(d.outcome, DeployResult::Outcome::kPlaced) << d.reason;
    VmRecord got = *store_->get_vm(vm.id);
    EXPECT_EQ(d.vm.id, got.id);
    EXPECT_EQ(d.vm.name, got.name);
    EXPECT_EQ(d.vm.state, got.state);
    EXPECT_EQ(d.vm.host, got.host);
    EXPECT_EQ(d.vm.created_at_ms, got.created_at_ms);
    EXPECT_EQ(d.vm.updated_at_ms, got.updated_at_ms);
    EXPECT_EQ(d.vm.request.pci.size(), got.request.pci.size());
    ASSERT_EQ(d.vm.allocations.size(), got.allocations.size());
    for (size_t i = 0; i < got.allocations.size(); ++i) {
      const Allocation &a = d.vm.allocations[i], &b = got.allocations[i];
      EXPECT_EQ(std::tie(a.vm_id, a.request_index, a.host, a.kind, a.device, a.gpu, a.vgpu_type,
                         a.mig_profile, a.mig_start, a.numa_node),
                std::tie(b.vm_id, b.request_index, b.host, b.kind, b.device, b.gpu, b.vgpu_type,
                         b.mig_profile, b.mig_start, b.numa_node))
          << "allocation " << i;
    }
  }
}

// Each Store keeps what it ranked on between deploys; what another replica
// commits meanwhile must show in its next ranking. Busy hosts are packed
// first: the next VM goes to the host that holds a VM now.
TEST_P(StoreTest, RankingFollowsWhatAnotherReplicaCommitted) {
  const HostInventory a = h100_host("node-a", 1, {.mig = false, .vfs = 4});
  const HostInventory b = h100_host("node-b", 1, {.mig = false, .vfs = 4});
  store_->put_host(a);
  store_->put_host(b);
  auto replica = Store::open(db_->url());
  VmRecord vm1 = store_->create_vm("vm1", req({vgpu("H100XM-20C")}));
  VmRecord vm2 = store_->create_vm("vm2", req({vgpu("H100XM-20C")}));
  VmRecord vm3 = store_->create_vm("vm3", req({vgpu("H100XM-20C")}));
  DeployResult d1 = store_->deploy(vm1.id);
  ASSERT_EQ(d1.outcome, DeployResult::Outcome::kPlaced);
  ASSERT_EQ(d1.vm.host, "node-a") << "equal hosts: by name";
  // The replica moves the load to node-b: both hosts go silent, node-b
  // reports again and takes vm2, then node-a reports again and vm1 leaves it.
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(replica->mark_silent_hosts(1).size(), 2u);
  replica->put_host(b);
  ASSERT_EQ(replica->deploy(vm2.id).vm.host, "node-b");
  replica->put_host(a);
  replica->undeploy(vm1.id);
  DeployResult d3 = store_->deploy(vm3.id);
  ASSERT_EQ(d3.outcome, DeployResult::Outcome::kPlaced);
  EXPECT_EQ(d3.vm.host, "node-b")
      << "packed with vm2, not where vm1 was when this store last ranked";
}

TEST_P(StoreTest, SqliteListsHostsForADeployFromTheCoveringIndex) {
  if (GetParam() != "sqlite") GTEST_SKIP() << "PostgreSQL keeps inventories out of line";
  auto db = store::open_sqlite(db_->url().substr(7));
  db->begin(false);
  std::string plan;
  for (const auto& r :
       db->exec("EXPLAIN QUERY PLAN SELECT id, name, generation, alloc_version FROM hosts"
                " WHERE state = 'ok' ORDER BY name"))
    plan += r.back() + "\n";
  db->commit();
  EXPECT_NE(plan.find("COVERING INDEX hosts_deploy"), std::string::npos) << plan;
}

// The Db wrappers keep prepared statements per connection: one that failed
// (constraint) and was rolled back runs again, with other parameters.
TEST_P(StoreTest, APreparedStatementRunsAgainAfterItFailed) {
  store_.reset();
  auto db = GetParam() == "sqlite" ? store::open_sqlite(db_->url().substr(7))
                                   : store::open_postgres(db_->url());
  const char* insert = "INSERT INTO tokens (name, sha256, created_at) VALUES ($1, $2, 0)";
  db->begin(true);
  db->exec(insert, {"a", "h1"});
  EXPECT_THROW(db->exec(insert, {"a", "h2"}), Error) << "name is unique";
  db->rollback();
  for (int i = 0; i < 3; ++i) {
    db->begin(true);
    db->exec(insert, {"t" + std::to_string(i), "h" + std::to_string(i)});
    db->commit();
  }
  db->begin(false);
  store::Rows rows = db->exec("SELECT name FROM tokens WHERE sha256 = $1", {"h2"});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0], "t2");
  EXPECT_TRUE(db->exec("SELECT name FROM tokens WHERE sha256 = $1", {"h1x"}).empty());
  EXPECT_EQ(db->exec("SELECT COUNT(*) FROM tokens")[0][0], "3") << "the first try rolled back";
  db->commit();
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

// The SQLite file holds token hashes: 0600, in a directory only gpuvmd's
// user can write (made 0700 when missing).
TEST(StoreSqliteFile, CreatedPrivateAndAWorldReadableOneIsMadePrivate) {
  namespace fs = std::filesystem;
  gpuvm::test::TempDir tmp;
  auto mode = [](const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
  };
  const mode_t old_umask = ::umask(022);  // a usual umask: SQLite alone would make it 0644
  fs::path dir = tmp.path() / "state";
  {
    auto s = Store::open("sqlite:" + (dir / "gpuvmd.db").string());
    s->add_token("t", std::string(64, 'a'));
  }
  EXPECT_EQ(mode(dir), 0700u);
  EXPECT_EQ(mode(dir / "gpuvmd.db"), 0600u);
  if (fs::exists(dir / "gpuvmd.db-wal")) {
    EXPECT_EQ(mode(dir / "gpuvmd.db-wal"), 0600u);
  }

  // Made world-readable behind its back: opened again, it is 0600 again.
  fs::permissions(dir / "gpuvmd.db", fs::perms(0644));
  Store::open("sqlite:" + (dir / "gpuvmd.db").string());
  EXPECT_EQ(mode(dir / "gpuvmd.db"), 0600u);

  // A directory others may write, or a link in place of the file: refused.
  fs::path shared = tmp.path() / "shared";
  fs::create_directory(shared);
  fs::permissions(shared, fs::perms(01777));
  try {
    Store::open("sqlite:" + (shared / "gpuvmd.db").string());
    ADD_FAILURE() << "a world-writable directory was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("writable by group or others"), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(fs::exists(shared / "gpuvmd.db"));
  fs::create_symlink(dir / "gpuvmd.db", tmp.path() / "link.db");
  EXPECT_THROW(Store::open("sqlite:" + (tmp.path() / "link.db").string()), Error);
  ::umask(old_umask);
}

}  // namespace
}  // namespace gpuvm::server
