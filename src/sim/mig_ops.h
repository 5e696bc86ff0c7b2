// The NVIDIA driver's MIG state machine over one GPU's MigState: MIG mode
// (pending vs current), GPU instances (placement, the driver's default
// placement, ids, capacity) and compute instances. Pure functions of
// (state, board table): no files, no NVML types. The mock libnvidia-ml.so.1
// calls these inside a locked read-modify-write of the simulator state and
// turns a MigError into the matching nvmlReturn_t; the sysfs side calls
// reset_gpu() for `gpuvm-sim reset`.
//
// Behaviour sources: reference/nvidia.md §4.4 (NVML semantics), §5.3
// (placement rules), §5.3a (default placement), §5.4 (CIs), §9; the real
// H100 capture (fixtures/h100-sxm5-passthrough) for what works with MIG off.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "sim/mig_profiles.h"
#include "sim/mig_state.h"

namespace gpuvm::sim {

// Why the driver refused; each is one nvmlReturn_t.
enum class MigErrc {
  kInvalidArgument,        // NVML_ERROR_INVALID_ARGUMENT: unknown profile id, placement not offered
  kNotSupported,           // NVML_ERROR_NOT_SUPPORTED: MIG is off, or the profile is not offered
  kNotFound,               // NVML_ERROR_NOT_FOUND: no GI/CI with that id
  kInUse,                  // NVML_ERROR_IN_USE: a GI still holds CIs; GIs exist on mode change
  kInsufficientResources,  // NVML_ERROR_INSUFFICIENT_RESOURCES: no room for the instance
};

// A gpuvm::Error (with the matching Errc) that also carries the driver's code.
class MigError : public Error {
 public:
  MigError(MigErrc code, std::string message);
  MigErrc mig_code() const noexcept { return mig_code_; }

 private:
  MigErrc mig_code_;
};

// --- MIG mode -------------------------------------------------------------

// What nvmlDeviceSetMigMode reports in activationStatus.
enum class MigModeActivation {
  kApplied,       // NVML_SUCCESS: current == pending now
  kPendingReset,  // NVML_ERROR_RESET_REQUIRED: pending until a GPU reset (Ampere)
};

// nvmlDeviceSetMigMode. Throws kInUse when disabling while GIs exist.
MigModeActivation set_mig_mode(MigState& state, const MigModel& model, bool enable);

// A GPU reset (nvidia-smi -r, gpuvm-sim reset): the pending mode becomes
// current and every GPU/compute instance is gone.
void reset_gpu(MigState& state);

// --- GPU instances ----------------------------------------------------------

// The profile with this board profile id; throws kInvalidArgument (the real
// driver's answer to an unknown id, e.g. 1 or 99 on an H100).
const GiProfile& gi_profile_by_id(const MigModel& model, uint32_t profile_id);

// nvmlDeviceGetGpuInstancePossiblePlacements_v2: all placements, whatever
// exists and whether MIG is on.
std::vector<SliceRange> gi_possible_placements(const MigModel& model, uint32_t profile_id);

// nvmlDeviceGetGpuInstanceRemainingCapacity: how many more GIs of the
// profile fit beside the existing ones (free placements, instance count,
// compute slices, the one +me). Answers with MIG off too (real H100: 7 for 1g).
uint32_t gi_remaining_capacity(const MigState& state, const MigModel& model, uint32_t profile_id);

// Where nvmlDeviceCreateGpuInstance would put a GI of the profile
// (reference §5.3a): among the free starts, the one that leaves the most
// room for large profiles -- compare, largest profile first, how many of
// each could still be created -- ties to the lowest start. nullopt: no room.
std::optional<SliceRange> gi_default_placement(const MigState& state, const MigModel& model,
                                               uint32_t profile_id);

// nvmlDeviceCreateGpuInstance (placement = nullopt) and ...WithPlacement.
// Throws kNotSupported (MIG off), kInvalidArgument (unknown profile id,
// placement not one of the profile's), kInsufficientResources (overlap,
// instance count, compute slices, +me taken). Returns the new GI.
GpuInstanceState create_gpu_instance(MigState& state, const MigModel& model, uint32_t profile_id,
                                     const std::optional<SliceRange>& placement);

// nvmlGpuInstanceDestroy. Throws kNotFound, kInUse while it holds CIs.
void destroy_gpu_instance(MigState& state, uint32_t gi_id);

// The GI with this id (nvmlDeviceGetGpuInstanceById); throws kNotFound.
const GpuInstanceState& find_gpu_instance(const MigState& state, uint32_t gi_id);
// GIs sorted by id (the driver lists them so).
std::vector<GpuInstanceState> gpu_instances_by_id(const MigState& state);

// --- compute instances --------------------------------------------------------

// The GI profile a GI was created with (its table entry).
const GiProfile& gi_profile_of(const MigModel& model, const GpuInstanceState& gi);

// The CI profile with this id inside `gi`'s profile; throws kInvalidArgument.
const CiProfile& ci_profile_by_id(const GiProfile& gi_profile, uint32_t ci_profile_id);

// nvmlGpuInstanceGetComputeInstanceRemainingCapacity.
uint32_t ci_remaining_capacity(const GpuInstanceState& gi, const GiProfile& gi_profile,
                               uint32_t ci_profile_id);

// nvmlGpuInstanceCreateComputeInstance[WithPlacement]. Without a placement
// the CI takes the lowest free start [inferred]; its id is the lowest free
// one (0 for the first CI, as nvidia-smi -C shows). Throws kNotFound (GI),
// kInvalidArgument, kInsufficientResources.
ComputeInstanceState create_compute_instance(MigState& state, const MigModel& model, uint32_t gi_id,
                                             uint32_t ci_profile_id,
                                             const std::optional<SliceRange>& placement);

// nvmlComputeInstanceDestroy. Throws kNotFound.
void destroy_compute_instance(MigState& state, uint32_t gi_id, uint32_t ci_id);

}  // namespace gpuvm::sim
