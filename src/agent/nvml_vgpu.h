// The vGPU types NVML lists for one GPU. sysfs lists only what a VF can
// create now (nvidia/creatable_vgpu_types shrinks as the GPU fills, and shows
// a MIG-backed type only while a free GPU instance of its profile exists,
// reference/nvidia.md §2.4); gpuvmd needs every type the GPU supports, with
// its real instance count and framebuffer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mig/backend.h"

namespace gpuvm::agent {

struct NvmlVgpuType {
  uint32_t id = 0;
  std::string name;  // "NVIDIA H100XM-1-10C", as the driver names it
  uint64_t framebuffer_bytes = 0;
  uint32_t max_instances = 0;             // per GPU, in the current mixed-size mode
  std::optional<uint32_t> gi_profile_id;  // MIG-backed types
};

struct NvmlVgpuState {
  // Mixed-size mode (nvmlDeviceGetVgpuHeterogeneousMode); false where the
  // driver does not support it (MIG mode on, older drivers).
  bool heterogeneous = false;
  std::vector<NvmlVgpuType> types;  // every type nvmlDeviceGetSupportedVgpus lists
};

// The vGPU manager's view of the GPU `gpu` of `host`. std::nullopt when the
// GPU has no vGPU manager (NOT_SUPPORTED: passthrough host) or `host` is not
// backed by the NVML library (MemoryHost). Throws NvmlError otherwise.
std::optional<NvmlVgpuState> nvml_vgpu_state(mig::MigHost& host, mig::MigGpu& gpu);

}  // namespace gpuvm::agent
