// gpuvm sriov as operators run it: exit codes, output, nothing changed on bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace gpuvm {
namespace {

namespace fs = std::filesystem;

class SriovCliTest : public ::testing::Test {
 protected:
  test::RunResult gpuvm(std::vector<std::string> args) {
    args.insert(args.begin(), test::bin("gpuvm").string());
    args.push_back("--state-dir");
    args.push_back((dir_.path() / "state").string());
    return test::run(args);
  }
  fs::path tree(const std::string& name) {
    return test::copy_sysfs_fixture(name, dir_.path() / "sys");
  }
  test::TempDir dir_;
};

TEST_F(SriovCliTest, BadAddressesExitTwo) {
  const std::string root = tree("h100-vendor").string();
  for (const std::string bad : {"../../../etc/passwd", "0000:c1:00.0/../..", "zz:00.0"}) {
    auto r = gpuvm({"sriov", "enable", bad, "--sysfs-root", root});
    EXPECT_EQ(r.exit_code, 2) << bad << r.err;
    EXPECT_NE(r.err.find("gpuvm sriov: error:"), std::string::npos) << r.err;
  }
  auto r = gpuvm({"sriov", "enable", "0000:99:00.0", "--sysfs-root", root});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("no PCI device 0000:99:00.0"), std::string::npos) << r.err;
  r = gpuvm({"sriov", "enable", "--sysfs-root", root});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  r = gpuvm({"sriov", "enable", "--sriov-manage", "relative/sriov-manage", "0000:c1:00.0",
             "--sysfs-root", root});
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

TEST_F(SriovCliTest, DisableWhileAVgpuExistsFailsAndSaysForce) {
  const std::string root = tree("h100-vendor").string();
  auto r = gpuvm({"sriov", "disable", "0000:c1:00.0", "--sysfs-root", root});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("--force"), std::string::npos) << r.err;
  EXPECT_EQ(test::read_file(fs::path(root) / "bus/pci/devices/0000:c1:00.0/sriov_numvfs"), "4\n");
}

TEST_F(SriovCliTest, AllWithJsonReportsEveryGpu) {
  const std::string root = tree("h100-vendor").string();
  auto r = gpuvm({"sriov", "enable", "--all", "--num-vfs", "4", "--format", "json", "--dry-run",
                  "--sysfs-root", root});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["pf"], "0000:c1:00.0");
  EXPECT_EQ(j[0]["changed"], false);
  EXPECT_EQ(j[0]["vfs"].size(), 4u);
  EXPECT_EQ(j[1]["pf"], "0001:01:00.0");
  EXPECT_EQ(j[1]["changed"], true);
  EXPECT_EQ(j[1]["steps"].size(), 7u);
}

TEST_F(SriovCliTest, DryRunPrintsTheSteps) {
  const std::string root = tree("h100-vendor").string();
  auto r =
      gpuvm({"sriov", "disable", "0000:c1:00.0", "--force", "--dry-run", "--sysfs-root", root});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("would write '0000:c1:00.0' to"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("would go from 4 to 0 VFs"), std::string::npos) << r.out;
  EXPECT_EQ(test::read_file(fs::path(root) / "bus/pci/devices/0000:c1:00.0/sriov_numvfs"), "4\n");
}

}  // namespace
}  // namespace gpuvm
