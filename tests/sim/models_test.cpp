#include "sim/models.h"

#include <gtest/gtest.h>

#include <set>

#include "core/error.h"

namespace gpuvm::sim {
namespace {

TEST(SimModels, CatalogHasTheModelsTheIssueNames) {
  for (auto key : {"A100-SXM4-40GB", "A100-SXM4-80GB", "A30-24GB", "H100-SXM5-80GB",
                   "H100-NVL-94GB", "H200-SXM-141GB", "T4-16GB"}) {
    EXPECT_NE(find_model(key), nullptr) << key;
  }
  EXPECT_THROW(model("B9000"), Error);
}

TEST(SimModels, H100MatchesTheCapture) {
  // fixtures/h100-sxm5-passthrough: sysfs ids, nvidia-smi name and memory.
  const GpuModel& h = model("H100-SXM5-80GB");
  EXPECT_EQ(h.device_id, 0x2330);
  EXPECT_EQ(h.subsystem_vendor, 0x10de);
  EXPECT_EQ(h.subsystem_device, 0x16c1);
  EXPECT_EQ(h.revision, 0xa1);
  EXPECT_EQ(h.class_code, 0x030200u);
  EXPECT_EQ(h.link_speed, "32.0 GT/s PCIe");
  EXPECT_EQ(h.nvml_name, "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(h.memory_mib, 81559u);
  EXPECT_EQ(h.mig_profiles, "H100-SXM5-80GB");
}

TEST(SimModels, TypeListsAreConsistent) {
  for (const auto& m : gpu_models()) {
    std::set<uint32_t> ids;
    EXPECT_FALSE(m.legacy_types.empty() && m.vendor_types.empty()) << m.key;
    for (const auto* list : {&m.legacy_types, &m.vendor_types}) {
      for (const auto& t : *list) {
        EXPECT_TRUE(ids.insert(t.id).second) << m.key << " duplicate type id " << t.id;
        EXPECT_TRUE(t.name.starts_with("NVIDIA ")) << t.name;
        EXPECT_GT(t.max_instances, 0u) << t.name;
        EXPECT_LE(uint64_t{t.framebuffer_mib}, m.memory_mib + 1024) << t.name;
        // MIG-backed names carry the GI slice count: <board>-<g>-<gb>C.
        const auto short_name = t.short_name();
        const auto dashes = std::count(short_name.begin(), short_name.end(), '-');
        EXPECT_EQ(t.mig_backed(), dashes == 2) << t.name;
        if (t.mig_backed()) {
          EXPECT_TRUE(m.mig_capable()) << t.name;
        }
        // A VF hosts one vGPU, so no type can need more VFs than the GPU has
        // (pre-Ampere mdevs live on the PF and have no such limit).
        if (!m.mdev_on_pf) {
          EXPECT_LE(t.max_instances, m.sriov_totalvfs) << t.name;
        }
      }
    }
    EXPECT_EQ(m.mdev_on_pf, m.sriov_totalvfs == 0) << m.key;
  }
  // The two ids the reference gives for H200X.
  const GpuModel& h200 = model("H200-SXM-141GB");
  ASSERT_NE(find_vgpu_type(h200.vendor_types, 1414), nullptr);
  EXPECT_EQ(find_vgpu_type(h200.vendor_types, 1414)->name, "NVIDIA H200X-1-18C");
  EXPECT_EQ(find_vgpu_type(h200.vendor_types, 1428)->name, "NVIDIA H200X-141C");
  EXPECT_EQ(find_vgpu_type(h200.vendor_types, 1414)->gi_profile_id, 19u);
  EXPECT_EQ(find_vgpu_type(model("A100-SXM4-40GB").legacy_types, 474)->short_name(), "A100-1-5C");
}

}  // namespace
}  // namespace gpuvm::sim
