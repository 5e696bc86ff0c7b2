// GPU instance, compute instance and MIG device handles of the mock: how a
// handle is checked against the current state, and what MIG devices exist.
#pragma once

#include <string>
#include <vector>

#include "sim/nvml_mock/library.h"

namespace gpuvm::sim::nvml_mock {

// A GI handle resolved against the current state.
struct GiRef {
  Gpu gpu;
  const GpuInstanceState* state = nullptr;
  const GiProfile* profile = nullptr;
};
// A CI handle resolved against the current state.
struct CiRef {
  GiRef gi;
  const ComputeInstanceState* state = nullptr;
  const CiProfile* profile = nullptr;
};

// INVALID_ARGUMENT for a handle that is not ours or whose instance was
// destroyed (reference §9; k8s-test-infra invalidates handles on destroy);
// GPU_IS_LOST when its GPU is. Re-reads the state and applies faults.
GiRef resolve_gi(Library& lib, nvmlGpuInstance_t gi);
CiRef resolve_ci(Library& lib, nvmlComputeInstance_t ci);

// The GPU's MIG devices, one per compute instance, ordered by GI id then CI
// id (the order of nvidia-smi -L and of the MIG device index).
std::vector<nvmlDevice_t> mig_devices(Library& lib, nvmlDevice_t parent, const Gpu& gpu);
// INVALID_ARGUMENT when the CI behind a MIG device handle is gone.
void check_mig_device(Library& lib, const Gpu& gpu, nvmlDevice_t mig);
// "MIG-<uuid>": a name-based UUID of the GPU UUID, GI id and CI id, stable
// for the instance's lifetime (the driver's are random per creation).
std::string mig_uuid(const GpuState& gpu, nvmlDevice_t mig);
// "1g.10gb" or "1c.3g.40gb": the CI profile's name.
std::string mig_profile_name(Library& lib, const Gpu& gpu, nvmlDevice_t mig);

}  // namespace gpuvm::sim::nvml_mock
