// gpuvm probe --format one on a mounted simulated host gives the template
// OpenNebula's pci.rb would (reference/opennebula.md §1): the PF is hidden
// once it has VFs, each NVIDIA VF gets the UUIDv5 of its address, PROFILES
// comes from mdev_supported_types (legacy) or creatable_vgpu_types (nvidia).
#include <gtest/gtest.h>

#include "sim/sim_mount.h"
#include "support/test_support.h"

namespace gpuvm::test {
namespace {

namespace fs = std::filesystem;

RunResult probe_one(const SimMount& m) {
  return run({bin("gpuvm").string(), "probe", "--format", "one", "--filter", "10de:*"},
             {{"GPUVM_SYSFS_ROOT", m.root().string()}});
}

std::string vf_block(const std::string& bus, const std::string& fn, const std::string& numa,
                     const std::string& uuid, const std::string& profiles, const std::string& mode,
                     const std::string& device) {
  return "PCI = [\n"
         " TYPE = \"10de:" +
         device +
         ":0302\" ,\n"
         " VENDOR = \"10de\" ,\n"
         " VENDOR_NAME = \"NVIDIA Corporation\" ,\n"
         " DEVICE = \"" +
         device +
         "\" ,\n"
         " CLASS = \"0302\" ,\n"
         " CLASS_NAME = \"3D controller\" ,\n"
         " ADDRESS = \"0000:" +
         bus + ":00:" + fn +
         "\" ,\n"
         " SHORT_ADDRESS = \"" +
         bus + ":00." + fn +
         "\" ,\n"
         " DOMAIN = \"0000\" ,\n"
         " BUS = \"" +
         bus +
         "\" ,\n"
         " SLOT = \"00\" ,\n"
         " FUNCTION = \"" +
         fn +
         "\" ,\n"
         " NUMA_NODE = \"" +
         numa +
         "\" ,\n"
         " IFNAME = \"-\" ,\n"
         " SRIOV = \"vf\" ,\n"
         " DEVICE_NAME = \"NVIDIA vGPU device\" ,\n"
         " UUID = \"" +
         uuid +
         "\" ,\n"
         " PROFILES = \"" +
         profiles +
         "\" ,\n"
         " MDEV_MODE = \"" +
         mode +
         "\" \n"
         "]\n";
}

class SimProbe : public ::testing::Test {
 protected:
  void SetUp() override {
    GPUVM_REQUIRE_FUSE();
    if (!fs::exists(bin("gpuvm"))) GTEST_SKIP() << "gpuvm is not built";
  }
  TempDir dir_;
};

TEST_F(SimProbe, VendorSpecificHostGivesTheOpenNebulaTemplate) {
  SimMount m(dir_, std::string(R"(
gpus:
  - {address: "0000:41:00.0", model: H100-SXM5-80GB, numa_node: 0, vgpu_mode: vendor-specific,
     sriov_totalvfs: 2}
)"));
  sriov_manage(m, "0000:41:00.0", "10de 2330", 2);
  // A vGPU on the second VF: its creatable list is empty, the first VF's
  // shrinks to that type (equal-size mode).
  ASSERT_EQ(sysfs_write(m.dev("0000:41:00.5") / "nvidia/current_vgpu_type", "1333"), 0);
  RunResult r = probe_one(m);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, vf_block("41", "4", "0", "e4042b96-e63d-56cf-bcc8-4e6eecccc12e",
                            "1333 (NVIDIA H100XM-40C)", "nvidia", "2330") +
                       vf_block("41", "5", "0", "f86f1cd5-9929-5b66-bfad-a44c80ccb0c0", "",
                                "nvidia", "2330"));
}

TEST_F(SimProbe, LegacyHostGivesTheOpenNebulaTemplate) {
  SimMount m(dir_, std::string(R"(
gpus:
  - {address: "0000:a1:00.0", model: A100-SXM4-40GB, numa_node: 1, vgpu_mode: legacy,
     sriov_totalvfs: 1}
)"));
  sriov_manage(m, "0000:a1:00.0", "10de 20b0", 1);
  RunResult r = probe_one(m);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, vf_block("a1", "4", "1", "bd6d9d97-eea4-52dd-82d2-ef9ea3a608eb",
                            "nvidia-468,nvidia-469,nvidia-470,nvidia-471,nvidia-472,nvidia-473",
                            "legacy", "20b0"));
}

TEST_F(SimProbe, GpuWithoutVfsIsAPassthroughDevice) {
  SimMount m(dir_, source_dir() / "examples/hosts/h100-passthrough.yaml");
  RunResult r = probe_one(m);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("ADDRESS = \"0000:00:06:0\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("DEVICE_NAME = \"NVIDIA Corporation GH100[H100 SXM5 80GB]\""),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("UUID"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("MDEV_MODE"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace gpuvm::test
