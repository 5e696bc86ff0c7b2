// Our NVML declarations against the ABI numbers of reference/nvidia.md §4.3
// (x86_64 LP64, checked there with gcc against NVIDIA's nvml.h).
#include "mig/nvml_api.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>

#include "mig/nvml_loader.h"

namespace {

static_assert(sizeof(nvmlGpuInstancePlacement_t) == 8);
static_assert(sizeof(nvmlGpuInstanceProfileInfo_t) == 48);
static_assert(offsetof(nvmlGpuInstanceProfileInfo_t, memorySizeMB) == 40);
static_assert(sizeof(nvmlGpuInstanceProfileInfo_v2_t) == 152);
static_assert(offsetof(nvmlGpuInstanceProfileInfo_v2_t, memorySizeMB) == 48);
static_assert(offsetof(nvmlGpuInstanceProfileInfo_v2_t, name) == 56);
static_assert(sizeof(nvmlGpuInstanceProfileInfo_v3_t) == 152);
static_assert(offsetof(nvmlGpuInstanceProfileInfo_v3_t, memorySizeMB) == 40);
static_assert(offsetof(nvmlGpuInstanceProfileInfo_v3_t, name) == 48);
static_assert(offsetof(nvmlGpuInstanceProfileInfo_v3_t, capabilities) == 144);
static_assert(sizeof(nvmlGpuInstanceInfo_t) == 24);
static_assert(offsetof(nvmlGpuInstanceInfo_t, placement) == 16);
static_assert(sizeof(nvmlComputeInstancePlacement_t) == 8);
static_assert(sizeof(nvmlComputeInstanceProfileInfo_t) == 36);
static_assert(sizeof(nvmlComputeInstanceProfileInfo_v2_t) == 136);
static_assert(sizeof(nvmlComputeInstanceProfileInfo_v3_t) == 140);
static_assert(sizeof(nvmlComputeInstanceInfo_t) == 32);
static_assert(offsetof(nvmlComputeInstanceInfo_t, placement) == 24);
static_assert(sizeof(nvmlVgpuHeterogeneousMode_v1_t) == 8);
static_assert(sizeof(nvmlVgpuPlacementList_v2_t) == 32);

TEST(NvmlApi, VersionTagsMatchTheReference) {
  EXPECT_EQ(nvmlGpuInstanceProfileInfo_v2, 0x02000098u);
  EXPECT_EQ(nvmlGpuInstanceProfileInfo_v3, 0x03000098u);
  EXPECT_EQ(nvmlComputeInstanceProfileInfo_v2, 0x02000088u);
  EXPECT_EQ(nvmlComputeInstanceProfileInfo_v3, 0x0300008Cu);
  EXPECT_EQ(nvmlVgpuHeterogeneousMode_v1, 0x01000008u);
  EXPECT_EQ(nvmlVgpuPlacementList_v2, 0x02000020u);
}

TEST(NvmlApi, StructSizesAtRuntime) {
  // The same numbers as the static_asserts, so a report shows them.
  EXPECT_EQ(sizeof(nvmlGpuInstanceProfileInfo_t), 48u);
  EXPECT_EQ(sizeof(nvmlGpuInstanceProfileInfo_v2_t), 152u);
  EXPECT_EQ(sizeof(nvmlGpuInstanceProfileInfo_v3_t), 152u);
  EXPECT_EQ(sizeof(nvmlGpuInstanceInfo_t), 24u);
  EXPECT_EQ(sizeof(nvmlComputeInstanceProfileInfo_t), 36u);
  EXPECT_EQ(sizeof(nvmlComputeInstanceProfileInfo_v2_t), 136u);
  EXPECT_EQ(sizeof(nvmlComputeInstanceProfileInfo_v3_t), 140u);
  EXPECT_EQ(sizeof(nvmlComputeInstanceInfo_t), 32u);
  EXPECT_EQ(sizeof(nvmlPciInfo_t), 68u);
  EXPECT_EQ(sizeof(nvmlMemory_t), 24u);
}

TEST(NvmlApi, ReturnCodesAndConstants) {
  EXPECT_EQ(NVML_ERROR_IN_USE, 19);
  EXPECT_EQ(NVML_ERROR_INSUFFICIENT_RESOURCES, 23);
  EXPECT_EQ(NVML_ERROR_RESET_REQUIRED, 16);
  EXPECT_EQ(NVML_ERROR_UNKNOWN, 999);
  EXPECT_EQ(NVML_GPU_INSTANCE_PROFILE_1_SLICE_REV2, 9);
  EXPECT_EQ(NVML_COMPUTE_INSTANCE_PROFILE_7_SLICE_NVL, 8);
}

TEST(NvmlApi, SymbolListIsTheXMacroList) {
  std::vector<std::string> names = gpuvm::mig::nvml_symbol_names();
  EXPECT_EQ(names.front(), "nvmlInit_v2");
  EXPECT_EQ(names.back(), "nvmlErrorString");
  EXPECT_NE(std::find(names.begin(), names.end(), "nvmlDeviceCreateGpuInstanceWithPlacement"),
            names.end());
}

}  // namespace
