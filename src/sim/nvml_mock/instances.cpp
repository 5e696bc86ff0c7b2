#include "sim/nvml_mock/instances.h"

#include <algorithm>

#include "core/uuid.h"

namespace gpuvm::sim::nvml_mock {

namespace {

const GpuInstanceState* find_gi_state(const Gpu& gpu, const nvmlGpuInstance_st& h) {
  for (const auto& gi : gpu.state->mig.gpu_instances) {
    if (gi.id == h.id && gi.profile_id == h.profile_id && gi.start == h.start &&
        gi.size == h.size) {
      return &gi;
    }
  }
  return nullptr;
}

const ComputeInstanceState* find_ci_state(const GpuInstanceState& gi,
                                          const nvmlComputeInstance_st& h) {
  for (const auto& ci : gi.compute_instances) {
    if (ci.id == h.id && ci.profile_id == h.profile_id && ci.start == h.start &&
        ci.size == h.size) {
      return &ci;
    }
  }
  return nullptr;
}

}  // namespace

GiRef resolve_gi(Library& lib, nvmlGpuInstance_t gi) {
  if (gi == nullptr || !lib.is_gi(gi)) {
    fail(NVML_ERROR_INVALID_ARGUMENT, "not a GPU instance handle of this library");
  }
  GiRef ref;
  ref.gpu = lib.gpu_of(gi->device);
  ref.state = ref.gpu.mig != nullptr ? find_gi_state(ref.gpu, *gi) : nullptr;
  if (ref.state == nullptr) {
    fail(NVML_ERROR_INVALID_ARGUMENT, "GPU instance " + std::to_string(gi->id) + " on " +
                                          gi->device->bdf.str() +
                                          " no longer exists (destroyed, or the GPU was reset)");
  }
  ref.profile = ref.gpu.mig->find_by_id(ref.state->profile_id);
  if (ref.profile == nullptr) fail(NVML_ERROR_UNKNOWN, "GPU instance with an unknown profile");
  return ref;
}

CiRef resolve_ci(Library& lib, nvmlComputeInstance_t ci) {
  if (ci == nullptr || !lib.is_ci(ci)) {
    fail(NVML_ERROR_INVALID_ARGUMENT, "not a compute instance handle of this library");
  }
  CiRef ref;
  ref.gi = resolve_gi(lib, ci->gpu_instance);
  ref.state = find_ci_state(*ref.gi.state, *ci);
  if (ref.state == nullptr) {
    fail(NVML_ERROR_INVALID_ARGUMENT, "compute instance " + std::to_string(ci->id) +
                                          " of GPU instance " + std::to_string(ref.gi.state->id) +
                                          " no longer exists");
  }
  ref.profile = ref.gi.profile->find_ci_profile(ref.state->profile_id);
  if (ref.profile == nullptr) fail(NVML_ERROR_UNKNOWN, "compute instance with an unknown profile");
  return ref;
}

std::vector<nvmlDevice_t> mig_devices(Library& lib, nvmlDevice_t parent, const Gpu& gpu) {
  std::vector<nvmlDevice_t> out;
  if (gpu.mig == nullptr || !gpu.state->mig.current) return out;
  auto gis = gpu.state->mig.gpu_instances;
  std::sort(gis.begin(), gis.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  for (const auto& gi : gis) {
    auto cis = gi.compute_instances;
    std::sort(cis.begin(), cis.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    nvmlGpuInstance_t gh = lib.gi_handle(parent, gi);
    for (const auto& ci : cis) out.push_back(lib.mig_device_handle(lib.ci_handle(gh, ci)));
  }
  return out;
}

void check_mig_device(Library& lib, const Gpu& gpu, nvmlDevice_t mig) {
  (void)lib;
  const GpuInstanceState* gi =
      gpu.mig != nullptr ? find_gi_state(gpu, *mig->gpu_instance) : nullptr;
  if (gi == nullptr || find_ci_state(*gi, *mig->compute_instance) == nullptr) {
    fail(NVML_ERROR_INVALID_ARGUMENT, "the compute instance of this MIG device no longer exists");
  }
}

std::string mig_uuid(const GpuState& gpu, nvmlDevice_t mig) {
  const std::string name = gpu.uuid + "/" + std::to_string(mig->gpu_instance->id) + "/" +
                           std::to_string(mig->compute_instance->id);
  return "MIG-" + Uuid::v5_x500(name).str();
}

std::string mig_profile_name(Library& lib, const Gpu& gpu, nvmlDevice_t mig) {
  check_mig_device(lib, gpu, mig);
  const GiProfile* gp = gpu.mig->find_by_id(mig->gpu_instance->profile_id);
  const CiProfile* cp =
      gp != nullptr ? gp->find_ci_profile(mig->compute_instance->profile_id) : nullptr;
  return cp != nullptr ? cp->name : "";
}

}  // namespace gpuvm::sim::nvml_mock
