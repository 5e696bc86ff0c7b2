// The catalog of simulated GPU models: PCI identity, memory, SR-IOV, vGPU
// type lists and the key of their MIG profile table (sim/mig_profiles.h).
// Facts are from reference/nvidia.md (§5 tables, §7 sysfs and type naming)
// and the H100 capture; where the reference lacks one, models.cpp says so
// beside the value it picked.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gpuvm::sim {

// One vGPU type as the host driver offers it.
struct VgpuTypeInfo {
  uint32_t id = 0;        // sysfs type id (nvidia-<id>, creatable_vgpu_types), NVML vgpuTypeId
  std::string_view name;  // "NVIDIA H100XM-1-10C"
  uint32_t framebuffer_mib = 0;
  uint32_t max_instances = 0;  // per GPU, equal-size (homogeneous) mode
  // Mixed-size (heterogeneous) mode maximum; 0 = same as max_instances.
  uint32_t max_instances_mixed = 0;
  // MIG-backed types: the GI profile id they need (nvmlVgpuTypeGetGpuInstanceProfileId);
  // nullopt = time-sliced (NVML returns INVALID_GPU_INSTANCE_PROFILE_ID).
  std::optional<uint32_t> gi_profile_id;
  char series = 'C';  // A, B, C, Q (vgpu-device-manager type grammar)

  bool mig_backed() const { return gi_profile_id.has_value(); }
  std::string_view short_name() const;  // last space-separated token: "H100XM-1-10C"
};

struct GpuModel {
  std::string_view key;    // spec key: "H100-SXM5-80GB"
  uint16_t device_id = 0;  // PCI device id (vendor is always 0x10de)
  uint16_t subsystem_vendor = 0x10de;
  uint16_t subsystem_device = 0;
  uint8_t revision = 0xa1;
  uint32_t class_code = 0x030200;  // 3D controller
  std::string_view pci_name;       // as lspci prints it from Debian 12's pci.ids
  std::string_view nvml_name;      // nvmlDeviceGetName
  uint64_t memory_mib = 0;         // nvmlDeviceGetMemoryInfo total / 2^20
  uint32_t sriov_totalvfs = 0;     // 0: no SR-IOV capability (pre-Ampere)
  std::string_view link_speed;     // max/current_link_speed text, "32.0 GT/s PCIe"
  uint32_t link_width = 16;
  // Key of the MIG profile table in sim/mig_profiles (empty: not MIG-capable).
  std::string_view mig_profiles;
  // MIG mode survives a reboot (Ampere keeps it in the InfoROM; reference §8.2
  // is a [conflict] for Hopper+: we keep it there too, as cubecos observed).
  bool mig_mode_persistent = false;
  // Legacy mdev parents are the PF itself (pre-Ampere, no SR-IOV); otherwise VFs.
  bool mdev_on_pf = false;
  uint32_t compute_capability_major = 0;
  uint32_t compute_capability_minor = 0;
  // vGPU types in legacy (mdev) mode and in vendor-specific VFIO mode. A model
  // without vendor-specific support (pre-Hopper) has an empty second list.
  std::vector<VgpuTypeInfo> legacy_types;
  std::vector<VgpuTypeInfo> vendor_types;

  bool mig_capable() const { return !mig_profiles.empty(); }
};

// All models, in a stable order.
std::span<const GpuModel> gpu_models();
// The model with this key, or nullptr.
const GpuModel* find_model(std::string_view key);
// Same, but throws kInvalidArgument naming the key and the known keys.
const GpuModel& model(std::string_view key);
// The type with this id in `types`, or nullptr.
const VgpuTypeInfo* find_vgpu_type(std::span<const VgpuTypeInfo> types, uint32_t id);

}  // namespace gpuvm::sim
