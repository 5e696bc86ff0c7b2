// The MIG part of one simulated GPU's state: what the NVIDIA driver keeps for
// MIG (mode, GPU instances, compute instances). Plain data, shared by the FUSE
// sysfs side (which wipes it on SR-IOV changes, reboot and reset, and derives
// MIG-backed vGPU types from it) and the mock NVML library (which changes it).
// Profile ids and placements are the board's real ones (reference/nvidia.md §5).
#pragma once

#include <cstdint>
#include <vector>

namespace gpuvm::sim {

struct ComputeInstanceState {
  uint32_t id = 0;          // assigned by the driver, unique within its GI
  uint32_t profile_id = 0;  // nvmlComputeInstanceProfileInfo_t.id
  uint32_t start = 0;       // compute-slice placement inside the GI
  uint32_t size = 0;
};

struct GpuInstanceState {
  uint32_t id = 0;          // assigned by the driver from creation history
  uint32_t profile_id = 0;  // nvmlGpuInstanceProfileInfo_t.id (19, 14, 9, ...)
  uint32_t start = 0;       // memory-slice placement
  uint32_t size = 0;
  std::vector<ComputeInstanceState> compute_instances;
};

struct MigState {
  bool current = false;  // nvmlDeviceGetMigMode current
  bool pending = false;  // ... pending: becomes current at the next GPU reset
  std::vector<GpuInstanceState> gpu_instances;

  // What a GPU reset, a reboot or an SR-IOV change does to instances.
  void drop_instances() { gpu_instances.clear(); }
};

}  // namespace gpuvm::sim
