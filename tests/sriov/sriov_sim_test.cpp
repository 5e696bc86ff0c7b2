// gpuvm sriov against gpuvm-sim: the kernel's and the driver's answers
// (docs/simulator.md "SR-IOV the way sriov-manage does it"). Skipped with a
// reason without FUSE; .ci/run provides it.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/sysfs.h"
#include "sim/sim_mount.h"
#include "support/test_support.h"

namespace gpuvm {
namespace {

namespace fs = std::filesystem;

constexpr const char* kH100Host = R"(driver_version: "580.159.04"
gpus:
  - address: "0000:41:00.0"
    model: H100-SXM5-80GB
    vgpu_mode: vendor-specific
    mig_mode: disabled
devices:
  - {address: "0000:c1:00.0", type: nic}
)";

class SriovSimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    GPUVM_REQUIRE_FUSE();
    sim_.emplace(dir_, std::string(kH100Host));
  }
  test::RunResult gpuvm(std::vector<std::string> args) {
    return test::run(test::gpuvm_argv(*sim_, std::move(args), dir_.path() / "state"));
  }
  std::string driver_of(const std::string& bdf) {
    return link_basename(sim_->dev(bdf) / "driver").value_or("");
  }
  int numvfs() { return std::stoi(*test::sysfs_read(sim_->dev("0000:41:00.0") / "sriov_numvfs")); }

  test::TempDir dir_;
  std::optional<test::SimMount> sim_;
};

TEST_F(SriovSimTest, ARawSriovNumvfsWriteIsRefusedByTheDriver) {
  // Why gpuvm goes the sriov-manage way: nvidia.ko has no sriov_configure.
  EXPECT_EQ(test::sysfs_write(sim_->dev("0000:41:00.0") / "sriov_numvfs", "4"), ENOENT);
}

TEST_F(SriovSimTest, EnableCreatesAllVfsBoundToNvidiaAndIsIdempotent) {
  auto r = gpuvm({"sriov", "enable", "0000:41:00.0", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out)[0];
  EXPECT_EQ(j["changed"], true);
  EXPECT_EQ(j["vfs_after"], 32);
  ASSERT_EQ(j["vfs"].size(), 32u);
  EXPECT_EQ(j["vfs"][0], "0000:41:00.4");
  EXPECT_EQ(driver_of("0000:41:00.0"), "nvidia");
  EXPECT_EQ(driver_of("0000:41:00.4"), "nvidia");
  EXPECT_TRUE(fs::exists(sim_->dev("0000:41:00.4") / "nvidia/creatable_vgpu_types"));
  EXPECT_FALSE(fs::exists(dir_.path() / "state/sriov/0000:41:00.0"));  // no intent left
  r = gpuvm({"sriov", "enable", "0000:41:00.0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("no change: 32 VFs"), std::string::npos) << r.out;
}

TEST_F(SriovSimTest, DisableRefusesWhileAVgpuExistsUnlessForced) {
  ASSERT_EQ(gpuvm({"sriov", "enable", "0000:41:00.0"}).exit_code, 0);
  auto r = gpuvm({"vgpu", "create", "--parent", "0000:41:00.6", "--type", "H100XM-20C"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = gpuvm({"sriov", "disable", "0000:41:00.0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("0000:41:00.6 (current_vgpu_type"), std::string::npos) << r.err;
  EXPECT_EQ(numvfs(), 32);
  r = gpuvm({"sriov", "disable", "0000:41:00.0", "--force"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(numvfs(), 0);
  EXPECT_EQ(driver_of("0000:41:00.0"), "nvidia");
}

// kill -9 between any two writes: replay the first k writes of the
// sequence by hand, then the next run must finish it.
TEST_F(SriovSimTest, ARunKilledAfterAnyStepIsFinishedByTheNext) {
  auto plan = gpuvm({"sriov", "enable", "0000:41:00.0", "--dry-run", "--format", "json"});
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  const auto steps = nlohmann::json::parse(plan.out)[0]["steps"];
  ASSERT_EQ(steps.size(), 7u);
  for (size_t k = 0; k <= steps.size(); ++k) {
    SCOPED_TRACE("killed after step " + std::to_string(k));
    // What the killed run had recorded before its first write.
    fs::create_directories(dir_.path() / "state/sriov");
    test::write_file(dir_.path() / "state/sriov/0000:41:00.0", "32\n");
    for (size_t i = 0; i < k; ++i) {
      const std::string s = steps[i];  // "write 'V' to PATH"
      const auto q = s.find('\'', 7);
      std::string value = s.substr(7, q - 7);
      if (value == "\\n") value = "\n";
      ASSERT_EQ(test::sysfs_write(s.substr(q + 5), value), 0) << s;
    }
    auto r = gpuvm({"sriov", "enable", "0000:41:00.0"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(numvfs(), 32);
    EXPECT_EQ(driver_of("0000:41:00.0"), "nvidia");
    EXPECT_EQ(driver_of("0000:41:04.3"), "nvidia");
    EXPECT_EQ(
        test::sysfs_read(sim_->dev("0000:41:00.0") / "driver_override").value_or("?").substr(0, 6),
        "(null)");
    ASSERT_EQ(gpuvm({"sriov", "disable", "0000:41:00.0"}).exit_code, 0);
    EXPECT_EQ(numvfs(), 0);
  }
}

TEST_F(SriovSimTest, AllCoversEveryNvidiaGpuAndNotTheNic) {
  auto r = gpuvm({"sriov", "enable", "--all", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["pf"], "0000:41:00.0");
}

}  // namespace
}  // namespace gpuvm
