// Host-side vGPU calls of the mock: modes, supported and creatable types
// (the same rules as the FUSE tree's creatable_vgpu_types), type properties,
// heterogeneous mode.
#include <gtest/gtest.h>

#include <vector>

#include "nvml_test_support.h"

namespace gpuvm::test {
namespace {

const Nvml& n() {
  return nvml();
}

sim::GpuState vendor_h100(uint32_t vfs) {
  sim::GpuState g =
      make_gpu("0000:41:00.0", "H100-SXM5-80GB", "GPU-11111111-2222-3333-4444-555555555555");
  g.vgpu_mode = sim::VgpuMode::kVendorSpecific;
  g.sriov_totalvfs = 32;
  g.vfs.resize(vfs);
  return g;
}

std::vector<nvmlVgpuTypeId_t> list(nvmlReturn_t (*fn)(nvmlDevice_t, unsigned int*,
                                                      nvmlVgpuTypeId_t*),
                                   nvmlDevice_t d) {
  unsigned int count = 0;
  const nvmlReturn_t rc = fn(d, &count, nullptr);
  EXPECT_TRUE(rc == NVML_ERROR_INSUFFICIENT_SIZE || (rc == NVML_SUCCESS && count == 0)) << rc;
  std::vector<nvmlVgpuTypeId_t> ids(count);
  if (count > 0) {
    EXPECT_EQ(fn(d, &count, ids.data()), NVML_SUCCESS);
  }
  return ids;
}

TEST(NvmlVgpu, ModesAndTypeProperties) {
  SimHost host({vendor_h100(4)});
  nvmlDevice_t d = host.device(0);
  nvmlGpuVirtualizationMode_t vm{};
  ASSERT_EQ(n().nvmlDeviceGetVirtualizationMode(d, &vm), NVML_SUCCESS);
  EXPECT_EQ(vm, NVML_GPU_VIRTUALIZATION_MODE_HOST_VGPU);
  nvmlHostVgpuMode_t hm{};
  ASSERT_EQ(n().nvmlDeviceGetHostVgpuMode(d, &hm), NVML_SUCCESS);
  EXPECT_EQ(hm, NVML_HOST_VGPU_MODE_SRIOV);

  const auto supported = list(n().nvmlDeviceGetSupportedVgpus, d);
  ASSERT_EQ(supported.size(), 15u);
  EXPECT_EQ(supported.front(), 1320u);
  unsigned int one = 1;
  nvmlVgpuTypeId_t id = 0;
  EXPECT_EQ(n().nvmlDeviceGetSupportedVgpus(d, &one, &id), NVML_ERROR_INSUFFICIENT_SIZE);
  EXPECT_EQ(one, 15u);

  char name[64];
  unsigned int size = sizeof name;
  ASSERT_EQ(n().nvmlVgpuTypeGetName(1324, name, &size), NVML_SUCCESS);
  EXPECT_STREQ(name, "NVIDIA H100XM-3-40C");
  size = 4;
  EXPECT_EQ(n().nvmlVgpuTypeGetName(1324, name, &size), NVML_ERROR_INSUFFICIENT_SIZE);
  EXPECT_EQ(size, sizeof("NVIDIA H100XM-3-40C"));
  EXPECT_EQ(n().nvmlVgpuTypeGetName(99999, name, &size), NVML_ERROR_INVALID_ARGUMENT);
  unsigned int gip = 0;
  ASSERT_EQ(n().nvmlVgpuTypeGetGpuInstanceProfileId(1324, &gip), NVML_SUCCESS);
  EXPECT_EQ(gip, 9u);
  ASSERT_EQ(n().nvmlVgpuTypeGetGpuInstanceProfileId(1330, &gip), NVML_SUCCESS);
  EXPECT_EQ(gip, NVML_INVALID_GPU_INSTANCE_PROFILE_ID);
  unsigned long long fb = 0;
  ASSERT_EQ(n().nvmlVgpuTypeGetFramebufferSize(1330, &fb), NVML_SUCCESS);
  EXPECT_EQ(fb, 10240ull << 20);
  unsigned int max = 0;
  ASSERT_EQ(n().nvmlVgpuTypeGetMaxInstances(d, 1330, &max), NVML_SUCCESS);
  EXPECT_EQ(max, 8u);
  EXPECT_EQ(n().nvmlVgpuTypeGetMaxInstances(d, 474, &max), NVML_ERROR_INVALID_ARGUMENT);
}

// Creatable types follow the vGPU state: time-sliced with MIG off (one type
// per GPU while heterogeneous mode is off), MIG-backed for free GIs with MIG on.
TEST(NvmlVgpu, CreatableTypesFollowTheHost) {
  SimHost host({vendor_h100(4)});
  nvmlDevice_t d = host.device(0);
  auto creatable = list(n().nvmlDeviceGetCreatableVgpus, d);
  EXPECT_EQ(creatable,
            (std::vector<nvmlVgpuTypeId_t>{1327, 1328, 1329, 1330, 1331, 1332, 1333, 1334}));
  sim::StateFile(host.path()).update([](sim::HostState& s) { s.gpus[0].vfs[0].vgpu_type = 1330; });
  creatable = list(n().nvmlDeviceGetCreatableVgpus, d);
  EXPECT_EQ(creatable, (std::vector<nvmlVgpuTypeId_t>{1330}));

  // Heterogeneous mode cannot change while a vGPU exists.
  nvmlVgpuHeterogeneousMode_t mode{};
  mode.version = nvmlVgpuHeterogeneousMode_v1;
  ASSERT_EQ(n().nvmlDeviceGetVgpuHeterogeneousMode(d, &mode), NVML_SUCCESS);
  EXPECT_EQ(mode.mode, static_cast<unsigned int>(NVML_VGPU_PGPU_HOMOGENEOUS_MODE));
  mode.mode = NVML_VGPU_PGPU_HETEROGENEOUS_MODE;
  EXPECT_EQ(n().nvmlDeviceSetVgpuHeterogeneousMode(d, &mode), NVML_ERROR_IN_USE);
  sim::StateFile(host.path()).update([](sim::HostState& s) { s.gpus[0].vfs[0].vgpu_type = 0; });
  ASSERT_EQ(n().nvmlDeviceSetVgpuHeterogeneousMode(d, &mode), NVML_SUCCESS);
  EXPECT_TRUE(host.state().gpus[0].heterogeneous_mode);
  mode.version = 0;
  EXPECT_EQ(n().nvmlDeviceGetVgpuHeterogeneousMode(d, &mode), NVML_ERROR_ARGUMENT_VERSION_MISMATCH);

  // MIG cannot be disabled while VFs exist (cubecos); enabling is fine.
  nvmlReturn_t activation{};
  ASSERT_EQ(n().nvmlDeviceSetMigMode(d, NVML_DEVICE_MIG_ENABLE, &activation), NVML_SUCCESS);
  EXPECT_EQ(n().nvmlDeviceSetMigMode(d, NVML_DEVICE_MIG_DISABLE, &activation), NVML_ERROR_IN_USE);
}

TEST(NvmlVgpu, MigBackedTypesNeedAFreeGpuInstance) {
  sim::GpuState g = vendor_h100(2);
  g.mig.current = g.mig.pending = true;
  SimHost host({g});
  nvmlDevice_t d = host.device(0);
  EXPECT_TRUE(list(n().nvmlDeviceGetCreatableVgpus, d).empty());
  nvmlGpuInstance_t gi = nullptr;
  ASSERT_EQ(n().nvmlDeviceCreateGpuInstance(d, 9, &gi), NVML_SUCCESS);
  EXPECT_EQ(list(n().nvmlDeviceGetCreatableVgpus, d), (std::vector<nvmlVgpuTypeId_t>{1324}));
}

// A GPU reset is refused while vGPUs exist (the FUSE tree's rule).
TEST(NvmlVgpu, ResetRefusedWhileVgpusExist) {
  sim::GpuState g = vendor_h100(1);
  g.vfs[0].vgpu_type = 1330;
  SimHost host({g});
  EXPECT_EQ(n().gpuvmSimResetGpu("0000:41:00.0"), NVML_ERROR_IN_USE);
  EXPECT_EQ(n().gpuvmSimResetGpu("0000:99:00.0"), NVML_ERROR_NOT_FOUND);
}

TEST(NvmlVgpu, PassthroughGpuHasNoVgpu) {
  SimHost host({capture_h100()});
  nvmlDevice_t d = host.device(0);
  unsigned int count = 0;
  EXPECT_EQ(n().nvmlDeviceGetSupportedVgpus(d, &count, nullptr), NVML_ERROR_NOT_SUPPORTED);
  EXPECT_EQ(n().nvmlDeviceGetCreatableVgpus(d, &count, nullptr), NVML_ERROR_NOT_SUPPORTED);
  nvmlHostVgpuMode_t hm{};
  EXPECT_EQ(n().nvmlDeviceGetHostVgpuMode(d, &hm), NVML_ERROR_NOT_SUPPORTED);
  // No GPU of the host offers vGPU types: their ids are unknown.
  char name[64];
  unsigned int size = sizeof name;
  EXPECT_EQ(n().nvmlVgpuTypeGetName(1320, name, &size), NVML_ERROR_INVALID_ARGUMENT);
}

}  // namespace
}  // namespace gpuvm::test
