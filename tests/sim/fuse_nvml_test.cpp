// The FUSE tree and the mock libnvidia-ml.so.1 are one host: a GPU instance
// created through NVML (found through GPUVM_SYSFS_ROOT, i.e. the mount) makes
// the MIG-backed vGPU type of its profile creatable in sysfs, and an SR-IOV
// change made through sysfs wipes the instances NVML sees.
#include <gtest/gtest.h>
#include <stdlib.h>

#include "sim/nvml_test_support.h"
#include "sim/sim_mount.h"

namespace gpuvm::test {
namespace {

namespace fs = std::filesystem;

class SimFuseNvml : public ::testing::Test {
 protected:
  void SetUp() override {
    GPUVM_REQUIRE_FUSE();
    ::unsetenv("GPUVM_SIM_STATE");
  }
  void TearDown() override { ::unsetenv("GPUVM_SYSFS_ROOT"); }
  TempDir dir_;
};

TEST_F(SimFuseNvml, GpuInstancesFromNvmlAppearAsMigBackedVgpuTypes) {
  SimMount m(dir_, std::string(R"(
gpus:
  - {address: "0000:41:00.0", model: H100-SXM5-80GB, vgpu_mode: vendor-specific, mig_mode: enabled,
     sriov_totalvfs: 2}
)"));
  sriov_manage(m, "0000:41:00.0", "10de 2330", 2);
  const fs::path vf = m.dev("0000:41:00.4") / "nvidia";
  EXPECT_EQ(sysfs_read(vf / "creatable_vgpu_types"), "ID    : vGPU Name\n");

  ::setenv("GPUVM_SYSFS_ROOT", m.root().c_str(), 1);  // the mock finds the state through the mount
  const Nvml& n = nvml();
  ASSERT_EQ(n.nvmlInit_v2(), NVML_SUCCESS);
  nvmlDevice_t dev{};
  ASSERT_EQ(n.nvmlDeviceGetHandleByPciBusId_v2("00000000:41:00.0", &dev), NVML_SUCCESS);
  const nvmlGpuInstancePlacement_t placement{4, 4};
  nvmlGpuInstance_t gi{};
  ASSERT_EQ(n.nvmlDeviceCreateGpuInstanceWithPlacement(dev, 9, &placement, &gi), NVML_SUCCESS);

  EXPECT_EQ(sysfs_read(vf / "creatable_vgpu_types"),
            "ID    : vGPU Name\n1324  : NVIDIA H100XM-3-40C\n");
  ASSERT_EQ(sysfs_write(vf / "current_vgpu_type", "1324"), 0);
  int err = -1;
  EXPECT_TRUE(sysfs_read(vf / "gpu_instance_id", &err)) << err;
  EXPECT_EQ(sysfs_read(vf / "placement_id"), "4\n");
  ASSERT_EQ(sysfs_write(vf / "current_vgpu_type", "0"), 0);

  // sriov-manage -d/-e through sysfs wipes the GPU instances NVML sees.
  for (const char* v : {"0000:41:00.4", "0000:41:00.5"}) {
    ASSERT_EQ(sysfs_write(m.root() / "bus/pci/drivers/nvidia/unbind", v), 0);
  }
  sriov_manage(m, "0000:41:00.0", "10de 2330", 0);
  unsigned int count = 8;
  nvmlGpuInstance_t gis[8];
  ASSERT_EQ(n.nvmlDeviceGetGpuInstances(dev, 9, gis, &count), NVML_SUCCESS);
  EXPECT_EQ(count, 0u);
  EXPECT_EQ(n.nvmlShutdown(), NVML_SUCCESS);
}

}  // namespace
}  // namespace gpuvm::test
