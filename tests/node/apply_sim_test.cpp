// gpuvm node apply against gpuvm-sim (its FUSE sysfs and mock NVML): order,
// idempotence, pruning, MIG mode and layouts with MIG-backed vGPUs, bad
// input, and a run killed (SIGKILL) in every step, each finished by the next
// run with no VF, GPU instance or vGPU leaked or lost. Skipped with a reason
// without FUSE.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/sysfs.h"
#include "sim/host_state.h"
#include "sim/sim_mount.h"
#include "support/test_support.h"

extern char** environ;

namespace gpuvm {
namespace {

namespace fs = std::filesystem;

// 4 VFs keep the tree small; every sysfs write the apply does is slowed so
// that a kill lands inside a step.
std::string h100_host(bool slow) {
  std::string spec = R"(driver_version: "580.159.04"
gpus:
  - {address: "0000:41:00.0", model: H100-SXM5-80GB, vgpu_mode: vendor-specific, sriov_totalvfs: 4}
)";
  if (slow) {
    spec += "faults:\n";
    for (const char* call : {"sysfs:unbind", "sysfs:bind", "sysfs:driver_override",
                             "sysfs:sriov_numvfs", "sysfs:current_vgpu_type"})
      spec += std::string("  - {call: \"") + call + "\", delay_ms: 150, count: -1}\n";
  }
  return spec;
}

constexpr const char* kLayout = R"(version: v1
gpus:
  - address: "0000:41:00.0"
    sriov: true
    vgpus:
      - {type: H100XM-20C, vf: "0000:41:00.7"}
      - {type: H100XM-20C, count: 3}
)";

class NodeApplySimTest : public ::testing::Test {
 public:  // the kill helpers below drive it
  void mount(bool slow) {
    GPUVM_REQUIRE_FUSE();
    mount_spec(h100_host(slow));
    test::write_file(dir_.path() / "node.yaml", kLayout);
  }
  // The mock NVML finds the host through GPUVM_SIM_STATE, in this process's
  // environment so that spawned runs see it too.
  void mount_spec(const std::string& spec) {
    sim_.emplace(dir_, spec);
    ::setenv("GPUVM_NVML_LIB", GPUVM_NVML_MOCK_PATH, 1);
    ::setenv("GPUVM_SIM_STATE", sim_->state().c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("GPUVM_NVML_LIB");
    ::unsetenv("GPUVM_SIM_STATE");
  }
  std::vector<std::string> argv(std::vector<std::string> args) {
    return test::gpuvm_argv(*sim_, std::move(args), state());
  }
  test::RunResult gpuvm(std::vector<std::string> args) { return test::run(argv(std::move(args))); }
  fs::path state() const { return dir_.path() / "state"; }
  std::string vgpu_type(const std::string& vf) {
    return test::sysfs_read(sim_->dev(vf) / "nvidia/current_vgpu_type").value_or("?");
  }
  // The whole layout is there, and nothing else.
  void expect_layout() {
    EXPECT_EQ(*test::sysfs_read(sim_->dev("0000:41:00.0") / "sriov_numvfs"), "4\n");
    EXPECT_EQ(link_basename(sim_->dev("0000:41:00.0") / "driver").value_or(""), "nvidia");
    for (const char* vf : {"0000:41:00.4", "0000:41:00.5", "0000:41:00.6", "0000:41:00.7"})
      EXPECT_EQ(vgpu_type(vf), "1332\n") << vf;
    auto s = nlohmann::json::parse(gpuvm({"node", "status", "--format", "json"}).out);
    EXPECT_EQ(s["interrupted_apply"], false);
    EXPECT_EQ(s["gpus"][0]["vgpus"]["1332"], 4);
  }

  // Starts node apply on `file` in the background (stdout to /dev/null).
  pid_t spawn_apply(const std::string& file) {
    std::vector<std::string> args = argv({"node", "apply", "-f", file});
    std::vector<char*> cargs;
    for (auto& a : args) cargs.push_back(a.data());
    cargs.push_back(nullptr);
    pid_t pid = 0;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    EXPECT_EQ(posix_spawn(&pid, cargs[0], &fa, nullptr, cargs.data(), environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    return pid;
  }
  // Waits until the journal of the apply `pid` shows step `k` planned.
  void wait_for_step(pid_t pid, int k) {
    bool seen = false;
    for (int i = 0; i < 3000 && !seen; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      try {
        auto j = nlohmann::json::parse(test::read_file(state() / "node.journal"));
        seen = static_cast<int>(j["steps"].size()) >= k;
      } catch (...) {
      }
      int status;
      if (::waitpid(pid, &status, WNOHANG) == pid) FAIL() << "apply ended before step " << k;
    }
    ASSERT_TRUE(seen);
  }

  // Runs node apply on `file`, and SIGKILLs it once the journal shows step
  // `k` planned.
  void kill_in_step(const std::string& file, int k) {
    const pid_t pid = spawn_apply(file);
    wait_for_step(pid, k);
    if (HasFatalFailure()) return;
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status));
  }

  test::TempDir dir_;
  std::optional<test::SimMount> sim_;
};

TEST_F(NodeApplySimTest, AppliesInOrderThenASecondRunChangesNothing) {
  mount(false);
  auto dry = gpuvm({"node", "apply", "-f", (dir_.path() / "node.yaml").string(), "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_EQ(dry.out.find("would enable 4 VFs on 0000:41:00.0"), 0u) << dry.out;
  EXPECT_EQ(*test::sysfs_read(sim_->dev("0000:41:00.0") / "sriov_numvfs"), "0\n");

  auto r = gpuvm({"node", "apply", "-f", (dir_.path() / "node.yaml").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("enable 4 VFs on 0000:41:00.0\ncreate a H100XM-20C vGPU on 0000:41:00.7\n"),
            0u)
      << r.out;
  expect_layout();
  EXPECT_FALSE(fs::exists(state() / "node.journal"));
  r = gpuvm({"node", "apply", "-f", (dir_.path() / "node.yaml").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("no change: the host matches"), std::string::npos) << r.out;
  // After a reboot the whole layout comes back.
  ASSERT_EQ(test::run({test::bin("gpuvm-sim").string(), "reboot", sim_->root().string()}).exit_code,
            0);
  r = gpuvm({"node", "apply", "-f", (dir_.path() / "node.yaml").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_layout();
}

TEST_F(NodeApplySimTest, BadOrUnfittingFilesExitTwoAndChangeNothing) {
  mount(false);
  const std::vector<std::string> bad = {
      "version: v1\ngpus:\n  - {address: \"0000:41:00.0\", sriov: true, vgpu: []}\n",
      "version: v1\ngpus:\n  - {address: \"0000:99:00.0\", sriov: true}\n",
      "version: v1\ngpus:\n  - {address: \"0000:41:00.0\", sriov: 64}\n",
      "version: v1\ngpus:\n  - address: \"0000:41:00.0\"\n    sriov: true\n    vgpus: [{type: "
      "H100XM-20C, count: 5}]\n",
      "version: v1\ngpus:\n  - address: \"0000:41:00.0\"\n    sriov: 2\n    vgpus: [{type: "
      "H100XM-20C, vf: \"0000:42:00.4\"}]\n",
  };
  for (const auto& y : bad) {
    test::write_file(dir_.path() / "bad.yaml", y);
    auto r = gpuvm({"node", "apply", "-f", (dir_.path() / "bad.yaml").string()});
    EXPECT_EQ(r.exit_code, 2) << y << r.err;
    EXPECT_EQ(*test::sysfs_read(sim_->dev("0000:41:00.0") / "sriov_numvfs"), "0\n") << y;
  }
}

TEST_F(NodeApplySimTest, LegacyMdevOnVfsAndOnAPreAmperePf) {
  GPUVM_REQUIRE_FUSE();
  sim_.emplace(dir_, std::string(R"(driver_version: "580.159.04"
gpus:
  - {address: "0000:41:00.0", model: A100-SXM4-40GB, vgpu_mode: legacy, sriov_totalvfs: 4}
  - {address: "0000:db:00.0", model: T4-16GB, vgpu_mode: legacy}
)"));
  const std::string uuid = "11111111-2222-4333-8444-555555555555";
  test::write_file(dir_.path() / "node.yaml", R"(version: v1
gpus:
  - address: "0000:41:00.0"
    sriov: true
    vgpus:
      - {type: A100-10C, vf: "0000:41:00.6", uuid: ")" +
                                                  uuid + R"("}
      - {type: A100-10C, count: 2}
  - address: "0000:db:00.0"
    vgpus:
      - {type: T4-4Q, count: 3}
)");
  const std::string file = (dir_.path() / "node.yaml").string();
  auto r = gpuvm({"node", "apply", "-f", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto list = nlohmann::json::parse(gpuvm({"vgpu", "list", "--format", "json"}).out);
  ASSERT_EQ(list.size(), 6u) << list.dump();
  int t4 = 0, a100 = 0;
  bool pinned = false;
  for (const auto& d : list) {
    (d["gpu"] == "0000:db:00.0" ? t4 : a100)++;
    pinned |= d["uuid"] == uuid && d["parent"] == "0000:41:00.6";
  }
  EXPECT_EQ(t4, 3);
  EXPECT_EQ(a100, 3);
  EXPECT_TRUE(pinned);
  r = gpuvm({"node", "apply", "-f", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("no change"), std::string::npos) << r.out;
}

// SIGKILL while step k (k = 1..5: VFs, then four vGPUs) is in progress; the
// next run must finish the layout.
TEST_F(NodeApplySimTest, KilledInEveryStepTheNextRunFinishes) {
  mount(true);
  const std::string file = (dir_.path() / "node.yaml").string();
  for (int k = 1; k <= 5; ++k) {
    SCOPED_TRACE("killed in step " + std::to_string(k));
    // From nothing: no VFs (and so no vGPUs), no journal.
    ASSERT_EQ(
        test::run({test::bin("gpuvm-sim").string(), "reboot", sim_->root().string()}).exit_code, 0);
    fs::remove(state() / "node.journal");
    fs::remove_all(state() / "sriov");
    kill_in_step(file, k);
    if (HasFatalFailure()) return;
    auto st = nlohmann::json::parse(gpuvm({"node", "status", "--format", "json"}).out);
    EXPECT_EQ(st["interrupted_apply"], true);
    auto r = gpuvm({"node", "apply", "-f", file});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("finishing an interrupted apply"), std::string::npos) << r.out;
    expect_layout();
  }
}

// ---- MIG: mode, GPU instances, MIG-backed vGPUs -----------------------------

// An H100 with MIG off; `slow` delays every sysfs write and MIG call the
// apply makes, so that a kill lands inside a step.
std::string h100_mig_host(bool slow) {
  // The H100 and a T4 (no MIG), then the faults of h100_host.
  std::string spec =
      h100_host(false) + "  - {address: \"0000:db:00.0\", model: T4-16GB, vgpu_mode: legacy}\n";
  if (slow) {
    spec += h100_host(true).substr(h100_host(false).size());
    for (const char* call : {"nvmlDeviceSetMigMode", "nvmlDeviceCreateGpuInstanceWithPlacement",
                             "nvmlGpuInstanceCreateComputeInstance"})
      spec += std::string("  - {call: \"") + call + "\", delay_ms: 150, count: -1}\n";
  }
  return spec;
}

constexpr const char* kMigLayout = R"(version: v1
gpus:
  - address: "0000:41:00.0"
    mig: {enabled: true, devices: {"3g.40gb": 1, "2g.20gb": 1, "1g.10gb": 1}}
    sriov: true
    vgpus:
      - {type: H100XM-3-40C, vf: "0000:41:00.7"}
      - {type: H100XM-2-20C, count: 1}
      - {type: H100XM-1-10C, count: 1}
)";

constexpr const char* kMigOff = R"(version: v1
gpus:
  - {address: "0000:41:00.0", mig: false}
)";

class NodeApplyMigSimTest : public NodeApplySimTest {
 public:
  void mount_mig(bool slow) {
    GPUVM_REQUIRE_FUSE();
    mount_spec(h100_mig_host(slow));
    test::write_file(dir_.path() / "node.yaml", kMigLayout);
    test::write_file(dir_.path() / "mig-off.yaml", kMigOff);
  }
  std::string file(const char* name = "node.yaml") const { return (dir_.path() / name).string(); }
  // GPU instances by profile, as `gpuvm mig -lgi` lists them.
  std::map<std::string, int> gis() {
    std::map<std::string, int> out;
    const std::string text = test::run({test::bin("gpuvm").string(), "mig", "-lgi"}).out;
    for (const char* p : {"1g.10gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"}) {
      for (size_t at = text.find(std::string("MIG ") + p + " "); at != std::string::npos;
           at = text.find(std::string("MIG ") + p + " ", at + 1))
        ++out[p];
    }
    return out;
  }
  // vGPU type id -> count.
  std::map<std::string, int> vgpus() {
    std::map<std::string, int> out;
    for (const auto& d : nlohmann::json::parse(gpuvm({"vgpu", "list", "--format", "json"}).out))
      ++out[d["type_id"].get<std::string>()];
    return out;
  }
  void expect_mig_layout() {
    EXPECT_EQ(*test::sysfs_read(sim_->dev("0000:41:00.0") / "sriov_numvfs"), "4\n");
    EXPECT_EQ(gis(), (std::map<std::string, int>{{"1g.10gb", 1}, {"2g.20gb", 1}, {"3g.40gb", 1}}));
    // H100XM-1-10C 1320, -2-20C 1323, -3-40C 1324 (the sim's ids).
    EXPECT_EQ(vgpus(), (std::map<std::string, int>{{"1320", 1}, {"1323", 1}, {"1324", 1}}));
    EXPECT_EQ(vgpu_type("0000:41:00.7"), "1324\n");
  }
};

TEST_F(NodeApplyMigSimTest, MigModeLayoutAndMigBackedVgpusInOrderThenNoChange) {
  mount_mig(false);
  auto r = gpuvm({"node", "apply", "-f", file(), "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("would enable MIG mode on 0000:41:00.0\nwould enable 4 VFs on "
                       "0000:41:00.0\nwould create GPU instance 3g.40gb"),
            0u)
      << r.out;
  EXPECT_TRUE(gis().empty());
  r = gpuvm({"node", "apply", "-f", file()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // VFs before GPU instances (enabling VFs wipes them), vGPUs last.
  const size_t vfs = r.out.find("enable 4 VFs"), gi = r.out.find("create GPU instance"),
               vg = r.out.find("create a H100XM-3-40C vGPU on 0000:41:00.7");
  EXPECT_LT(r.out.find("enable MIG mode"), vfs) << r.out;
  EXPECT_LT(vfs, gi) << r.out;
  EXPECT_LT(gi, vg) << r.out;
  EXPECT_NE(vg, std::string::npos) << r.out;
  expect_mig_layout();
  r = gpuvm({"node", "apply", "-f", file()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("no change: the host matches"), std::string::npos) << r.out;
  // node status shows the same from the driver: MIG on, the three GIs.
  r = gpuvm({"node", "status", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto st = nlohmann::json::parse(r.out)["gpus"][0];
  EXPECT_EQ(st["mig"]["current"], true) << r.out;
  EXPECT_EQ(st["mig"]["instances"].size(), 3u) << r.out;
  r = gpuvm({"node", "status"});
  EXPECT_NE(r.out.find("MIG on 3g.40gb@"), std::string::npos) << r.out;
}

TEST_F(NodeApplyMigSimTest, UndeclaredVgpusArePrunedAndMigOffUndoesEverything) {
  mount_mig(false);
  ASSERT_EQ(gpuvm({"node", "apply", "-f", file()}).exit_code, 0);
  // Drop the 1g vGPU from the file: the dry run shows it going, the run does it.
  std::string two = kMigLayout;
  two.erase(two.find("      - {type: H100XM-1-10C"));
  test::write_file(dir_.path() / "two.yaml", two);
  auto r = gpuvm({"node", "apply", "-f", file("two.yaml"), "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("would destroy vGPU"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("not declared"), std::string::npos) << r.out;
  EXPECT_EQ(vgpus().size(), 3u);
  r = gpuvm({"node", "apply", "-f", file("two.yaml")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(vgpus(), (std::map<std::string, int>{{"1323", 1}, {"1324", 1}}));
  EXPECT_EQ(gis().size(), 3u);  // the GPU instances are declared: they stay

  // MIG off with time-sliced vGPUs in mixed-size mode: the MIG-backed vGPUs,
  // the GPU instances and the VFs go first, then the VFs come back.
  test::write_file(dir_.path() / "ts.yaml", R"(version: v1
gpus:
  - address: "0000:41:00.0"
    mig: false
    sriov: true
    heterogeneous: true
    vgpus: [{type: H100XM-20C, count: 2}, {type: H100XM-10C, count: 2}]
)");
  r = gpuvm({"node", "apply", "-f", file("ts.yaml")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(gis().empty());
  EXPECT_EQ(vgpus(), (std::map<std::string, int>{{"1330", 2}, {"1332", 2}}));
  r = gpuvm({"node", "apply", "-f", file("ts.yaml")});
  EXPECT_NE(r.out.find("no change"), std::string::npos) << r.out;
}

TEST_F(NodeApplyMigSimTest, BadMigEntriesExitTwoAndChangeNothing) {
  mount_mig(false);
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"mig: {enabled: true, layout: {}}", "unknown key 'layout' in gpus[0].mig"},
      {"mig: {enabled: true, devices: {\"5g.50gb\": 1}}", "(it has: 1g.10gb"},
      {"mig: {enabled: true, devices: {\"3g.40gb\": 2, \"1g.10gb\": 1}}",
       "does not fit 0000:41:00.0"},
      {"mig: {enabled: true, devices: {\"1g.10gb\": 1}}\n    sriov: true\n    vgpus: [{type: "
       "H100XM-3-40C, count: 1}]",
       "need 1 GPU instance(s) of 3g.40gb"},
      {"mig: true\n    sriov: true\n    vgpus: [{type: H100XM-20C, count: 1}]", "is time-sliced"},
      {"mig: true\n    heterogeneous: true", "cannot be on with MIG enabled"},
  };
  for (const auto& [entry, message] : bad) {
    test::write_file(dir_.path() / "bad.yaml",
                     "version: v1\ngpus:\n  - address: \"0000:41:00.0\"\n    " + entry + "\n");
    auto r = gpuvm({"node", "apply", "-f", file("bad.yaml")});
    EXPECT_EQ(r.exit_code, 2) << entry << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
  }
  // MIG on a GPU without MIG.
  test::write_file(dir_.path() / "bad.yaml",
                   "version: v1\ngpus:\n  - {address: \"0000:db:00.0\", mig: true}\n");
  auto r = gpuvm({"node", "apply", "-f", file("bad.yaml")});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("gpus[0].mig: 0000:db:00.0 ("), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("does not support MIG"), std::string::npos) << r.err;
  // No NVML: exit 1 (the host lacks it), nothing changed.
  r = test::run(argv({"node", "apply", "-f", file()}), {{"GPUVM_NVML_LIB", "/nonexistent.so"}});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("gpus[0].mig needs the NVML library"), std::string::npos) << r.err;
  // Nothing changed: MIG mode still off, no VFs, no journal.
  r = gpuvm({"node", "apply", "-f", file(), "--dry-run"});
  EXPECT_EQ(r.out.find("would enable MIG mode on 0000:41:00.0"), 0u) << r.out;
  EXPECT_EQ(*test::sysfs_read(sim_->dev("0000:41:00.0") / "sriov_numvfs"), "0\n");
  EXPECT_FALSE(fs::exists(state() / "node.journal"));
}

// SIGKILL in each step (MIG mode, VFs, three GPU instances, three vGPUs);
// the next run finishes the layout with nothing leaked or lost.
TEST_F(NodeApplyMigSimTest, KilledInEveryStepTheNextRunFinishes) {
  mount_mig(true);
  for (int k = 1; k <= 8; ++k) {
    SCOPED_TRACE("killed in step " + std::to_string(k));
    ASSERT_EQ(
        test::run({test::bin("gpuvm-sim").string(), "reboot", sim_->root().string()}).exit_code, 0);
    fs::remove(state() / "node.journal");
    fs::remove_all(state() / "sriov");
    // MIG mode persists across the reboot (H100): off again.
    auto r = gpuvm({"node", "apply", "-f", file("mig-off.yaml")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    kill_in_step(file(), k);
    if (HasFatalFailure()) return;
    auto st = nlohmann::json::parse(gpuvm({"node", "status", "--format", "json"}).out);
    EXPECT_EQ(st["interrupted_apply"], true);
    r = gpuvm({"node", "apply", "-f", file()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("finishing an interrupted apply"), std::string::npos) << r.out;
    expect_mig_layout();
  }
}

// SIGKILL inside the multi-write steps: after the N-th sysfs write of each
// kind in `calls`, for every N that one apply of `target` makes from the host
// `reset` leaves. The simulator holds that write (a slow fault that the test
// sees consumed in the state file); the kill lands while the writer waits in
// the kernel, which lets the write finish first, so the host is exactly "N
// writes done". The next run must then finish (`expect_done`), the SR-IOV
// sequence first, even where the PF sits on pci-pf-stub and NVML cannot see
// it.
void kill_after_every_write(NodeApplySimTest& t, const test::SimMount& sim,
                            const std::string& target, const std::vector<std::string>& calls,
                            const std::function<void()>& reset,
                            const std::function<void()>& expect_done) {
  sim::StateFile host(sim.state());
  auto set_faults = [&](std::vector<sim::FaultState> faults) {
    host.update([&](sim::HostState& s) { s.faults = std::move(faults); });
  };
  auto fault = [](const std::string& call, uint32_t delay_ms, int count) {
    sim::FaultState f;
    f.call = call;
    f.delay_ms = delay_ms;
    f.count = count;
    return f;
  };
  // How many writes of each kind one whole apply makes: pass-through faults
  // (1 ms) count them.
  constexpr int kMany = 100000;
  reset();
  if (::testing::Test::HasFatalFailure()) return;
  std::vector<sim::FaultState> counters;
  for (const auto& c : calls) counters.push_back(fault(c, 1, kMany));
  set_faults(counters);
  auto whole = t.gpuvm({"node", "apply", "-f", target});
  ASSERT_EQ(whole.exit_code, 0) << whole.out << whole.err;
  std::map<std::string, int> writes;
  for (const auto& c : calls) writes[c] = kMany;
  for (const auto& f : host.read().faults) writes[f.call] = kMany - f.count;
  set_faults({});

  constexpr uint32_t kHoldMs = 500;  // the window the test has to send the kill
  for (const auto& call : calls) {
    EXPECT_GT(writes[call], 0) << call;
    for (int n = 1; n <= writes[call]; ++n) {
      SCOPED_TRACE(fmt::format("killed after write {} of {}", n, call));
      reset();
      if (::testing::Test::HasFatalFailure()) return;
      std::vector<sim::FaultState> faults;
      if (n > 1) faults.push_back(fault(call, 1, n - 1));  // the first n-1 pass
      faults.push_back(fault(call, kHoldMs, 1));           // the n-th is held
      set_faults(faults);
      const pid_t pid = t.spawn_apply(target);
      auto held = [&] {
        for (const auto& f : host.read().faults)
          if (f.delay_ms == kHoldMs) return false;
        return true;
      };
      bool exited = false;
      int status = 0;
      while (!held() && !exited) {
        exited = ::waitpid(pid, &status, WNOHANG) == pid;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      ASSERT_FALSE(exited) << "the apply ended before write " << n << " of " << call;
      ::kill(pid, SIGKILL);
      ASSERT_EQ(::waitpid(pid, &status, 0), pid);
      ASSERT_TRUE(WIFSIGNALED(status));
      set_faults({});
      // A dry run says what the next run finishes first (or, where NVML
      // cannot see the GPU yet, what to do): never "bad input".
      auto dry = t.gpuvm({"node", "apply", "-f", target, "--dry-run"});
      if (dry.exit_code == 0)
        EXPECT_NE(dry.out.find("would finish the interrupted SR-IOV sequence of 0000:41:00.0"),
                  std::string::npos)
            << dry.out;
      else
        EXPECT_TRUE(dry.exit_code == 1 && dry.err.find("without --dry-run") != std::string::npos)
            << dry.exit_code << dry.err;
      auto r = t.gpuvm({"node", "apply", "-f", target});
      ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
      EXPECT_NE(r.out.find("finishing an interrupted apply"), std::string::npos) << r.out;
      expect_done();
      EXPECT_FALSE(fs::exists(t.state() / "node.journal"));
      EXPECT_FALSE(fs::exists(t.state() / "sriov/0000:41:00.0"));
      EXPECT_EQ(link_basename(sim.dev("0000:41:00.0") / "driver").value_or(""), "nvidia");
    }
  }
}

// MIG on, VFs, GPU instances, MIG-backed vGPUs; killed inside the VF step.
TEST_F(NodeApplyMigSimTest, KilledAfterEverySysfsWriteTheNextRunFinishes) {
  mount_mig(false);
  kill_after_every_write(
      *this, *sim_, file(),
      // The SR-IOV sequence's writes (a vGPU is one write: KilledInEveryStep).
      {"sysfs:unbind", "sysfs:bind", "sysfs:driver_override", "sysfs:sriov_numvfs"},
      [&] {
        ASSERT_EQ(
            test::run({test::bin("gpuvm-sim").string(), "reboot", sim_->root().string()}).exit_code,
            0);
        fs::remove(state() / "node.journal");
        fs::remove_all(state() / "sriov");
        ASSERT_EQ(gpuvm({"node", "apply", "-f", file("mig-off.yaml")}).exit_code, 0);
      },
      [&] { expect_mig_layout(); });
}

// The other direction, on an entry with `heterogeneous:`: VFs (each bound to
// nvidia) go, killed after each VF unbind, override and sriov_numvfs write.
TEST_F(NodeApplyMigSimTest, DisablingVfsKilledAfterEverySysfsWriteTheNextRunFinishes) {
  mount_mig(false);
  test::write_file(dir_.path() / "no-vfs.yaml", R"(version: v1
gpus:
  - {address: "0000:41:00.0", sriov: false, heterogeneous: false}
)");
  kill_after_every_write(
      *this, *sim_, file("no-vfs.yaml"),
      {"sysfs:unbind", "sysfs:driver_override", "sysfs:sriov_numvfs"},
      [&] {
        ASSERT_EQ(
            test::run({test::bin("gpuvm-sim").string(), "reboot", sim_->root().string()}).exit_code,
            0);
        fs::remove(state() / "node.journal");
        fs::remove_all(state() / "sriov");
        // MIG stays off here (the host's power-on mode): no apply needed.
        ASSERT_EQ(gpuvm({"sriov", "enable", "0000:41:00.0"}).exit_code, 0);
      },
      [&] {
        EXPECT_EQ(*test::sysfs_read(sim_->dev("0000:41:00.0") / "sriov_numvfs"), "0\n");
        EXPECT_EQ(*test::sysfs_read(sim_->dev("0000:41:00.0") / "driver_override"), "(null)\n");
      });
}

// ---- one host lock: gpuvm mig against node apply ---------------------------

// A `gpuvm mig` verb that changes the GPU, started while node apply is in the
// middle of its steps, waits for the host lock: it runs once the apply has
// done every step (its journal is gone), and both effects are there.
TEST_F(NodeApplyMigSimTest, MigVerbsWaitForARunningApply) {
  mount_mig(true);
  // Two GPU instances with their vGPUs: room is left for a 1g.10gb one.
  test::write_file(dir_.path() / "two.yaml", R"(version: v1
gpus:
  - address: "0000:41:00.0"
    mig: {enabled: true, devices: {"3g.40gb": 1, "2g.20gb": 1}}
    sriov: true
    vgpus:
      - {type: H100XM-3-40C, vf: "0000:41:00.7"}
      - {type: H100XM-2-20C, count: 1}
)");
  const auto cfg = dir_.path() / "mig-parted.yaml";
  test::write_file(cfg, R"(version: v1
mig-configs:
  plus-one:
    - devices: [0]
      mig-enabled: true
      mig-devices: {"3g.40gb": 1, "2g.20gb": 1, "1g.10gb": 1}
)");
  const std::vector<std::vector<std::string>> verbs = {
      {"-i", "0", "-cgi", "1g.10gb", "-C"},
      {"apply", "-f", cfg.string(), "-c", "plus-one"},
  };
  for (const auto& verb : verbs) {
    SCOPED_TRACE("gpuvm mig " + verb[2]);
    ASSERT_EQ(
        test::run({test::bin("gpuvm-sim").string(), "reboot", sim_->root().string()}).exit_code, 0);
    ASSERT_EQ(gpuvm({"node", "apply", "-f", file("mig-off.yaml")}).exit_code, 0);
    const pid_t pid = spawn_apply(file("two.yaml"));
    wait_for_step(pid, 2);  // MIG mode done, the VFs (slow writes) under way
    if (HasFatalFailure()) return;
    std::vector<std::string> args = {test::bin("gpuvm").string(), "mig"};
    args.insert(args.end(), verb.begin(), verb.end());
    args.insert(args.end(), {"--state-dir", state().string()});
    const auto r = test::run(args);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    // It ran after the apply's last step: no step was left.
    EXPECT_FALSE(fs::exists(state() / "node.journal"));
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    EXPECT_EQ(gis(), (std::map<std::string, int>{{"1g.10gb", 1}, {"2g.20gb", 1}, {"3g.40gb", 1}}));
    EXPECT_EQ(vgpus(), (std::map<std::string, int>{{"1323", 1}, {"1324", 1}}));
  }
}

// ---- gpuvm vgpu create --create-gi ------------------------------------------

TEST_F(NodeApplyMigSimTest, CreateGiMakesTheGpuInstanceAndUndoesItWhenTheVgpuFails) {
  GPUVM_REQUIRE_FUSE();
  mount_spec(h100_host(false) + R"(faults:
  - {call: "sysfs:current_vgpu_type", errno: EIO, count: 1}
)");
  test::write_file(dir_.path() / "on.yaml", R"(version: v1
gpus:
  - {address: "0000:41:00.0", mig: true, sriov: true}
)");
  ASSERT_EQ(gpuvm({"node", "apply", "-f", file("on.yaml")}).exit_code, 0);
  const std::vector<std::string> create = {"vgpu",         "create", "--parent",
                                           "0000:41:00.4", "--type", "H100XM-3-40C"};
  auto r = gpuvm(create);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("profile 3g.40gb"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--create-gi"), std::string::npos) << r.err;
  // The first vGPU write fails (EIO): the new GPU instance goes again.
  std::vector<std::string> with_gi = create;
  with_gi.push_back("--create-gi");
  r = gpuvm(with_gi);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("was destroyed again"), std::string::npos) << r.err;
  EXPECT_TRUE(gis().empty());
  r = gpuvm(with_gi);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(gis(), (std::map<std::string, int>{{"3g.40gb", 1}}));
  EXPECT_EQ(vgpu_type("0000:41:00.4"), "1324\n");
}

}  // namespace
}  // namespace gpuvm
