// gpuvm node apply against gpuvm-sim: order, idempotence, bad input, and a
// run killed (SIGKILL) in every step, each finished by the next run with no
// VF or vGPU leaked or lost. Skipped with a reason without FUSE.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/sysfs.h"
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
 protected:
  void mount(bool slow) {
    GPUVM_REQUIRE_FUSE();
    sim_.emplace(dir_, h100_host(slow));
    test::write_file(dir_.path() / "node.yaml", kLayout);
  }
  std::vector<std::string> argv(std::vector<std::string> args) {
    args.insert(args.begin(), test::bin("gpuvm").string());
    for (const std::string& a : {std::string("--sysfs-root"), sim_->root().string(),
                                 std::string("--state-dir"), state().string()})
      args.push_back(a);
    return args;
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
    std::vector<std::string> args = argv({"node", "apply", "-f", file});
    std::vector<char*> cargs;
    for (auto& a : args) cargs.push_back(a.data());
    cargs.push_back(nullptr);
    pid_t pid = 0;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    ASSERT_EQ(posix_spawn(&pid, cargs[0], &fa, nullptr, cargs.data(), environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    // Wait until the journal shows step k planned, then kill.
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
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status));
    auto st = nlohmann::json::parse(gpuvm({"node", "status", "--format", "json"}).out);
    EXPECT_EQ(st["interrupted_apply"], true);
    auto r = gpuvm({"node", "apply", "-f", file});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("finishing an interrupted apply"), std::string::npos) << r.out;
    expect_layout();
  }
}

}  // namespace
}  // namespace gpuvm
