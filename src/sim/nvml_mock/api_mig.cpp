// MIG calls of the mock libnvidia-ml.so.1: MIG mode, GPU instance and
// compute instance profiles, placements, capacity, create/list/destroy, MIG
// device handles. The rules live in sim/mig_ops (the driver's state
// machine); this file is the ABI: argument checks, struct versions, return
// codes as the real driver gives them (reference/nvidia.md §4.4; the real
// H100's answers in fixtures/h100-sxm5-passthrough/nvml-readonly-probes.json).
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "sim/mig_ops.h"
#include "sim/nvml_mock/instances.h"
#include "sim/nvml_mock/library.h"
#include "sim/nvml_mock/nvml_mock_control.h"

using gpuvm::Bdf;
using namespace gpuvm::sim;
using namespace gpuvm::sim::nvml_mock;

namespace {

// The ABI the real library has (reference nvidia.md §0.10, §4.3; x86_64).
static_assert(sizeof(nvmlGpuInstancePlacement_t) == 8);
static_assert(sizeof(nvmlGpuInstanceProfileInfo_t) == 48);
static_assert(offsetof(nvmlGpuInstanceProfileInfo_t, memorySizeMB) == 40);
static_assert(sizeof(nvmlGpuInstanceProfileInfo_v2_t) == 152 &&
              nvmlGpuInstanceProfileInfo_v2 == 0x02000098);
static_assert(sizeof(nvmlGpuInstanceProfileInfo_v3_t) == 152 &&
              nvmlGpuInstanceProfileInfo_v3 == 0x03000098);
static_assert(offsetof(nvmlGpuInstanceProfileInfo_v3_t, capabilities) == 144);
static_assert(sizeof(nvmlGpuInstanceInfo_t) == 24);
static_assert(offsetof(nvmlGpuInstanceInfo_t, placement) == 16);
static_assert(sizeof(nvmlComputeInstanceProfileInfo_t) == 36);
static_assert(sizeof(nvmlComputeInstanceProfileInfo_v2_t) == 136 &&
              nvmlComputeInstanceProfileInfo_v2 == 0x02000088);
static_assert(sizeof(nvmlComputeInstanceProfileInfo_v3_t) == 140 &&
              nvmlComputeInstanceProfileInfo_v3 == 0x0300008C);
static_assert(sizeof(nvmlComputeInstanceInfo_t) == 32);
static_assert(offsetof(nvmlComputeInstanceInfo_t, placement) == 24);
static_assert(sizeof(nvmlVgpuHeterogeneousMode_v1_t) == 8 &&
              nvmlVgpuHeterogeneousMode_v1 == 0x01000008);

// The R580 driver's NVML_GPU_INSTANCE_PROFILE_COUNT: indexes from 0x11 on
// answer INVALID_ARGUMENT (real H100: 17, 18, 19), below it an index the
// board lacks answers NOT_SUPPORTED (real H100: 5, 6, 8, 10-16).
constexpr unsigned int kDriverGiProfileCount = 0x11;

// The physical GPU of a handle, with a MIG table. NOT_SUPPORTED for a board
// without MIG (nvml.h: "NOT_SUPPORTED if the device does not support MIG")
// and for a MIG device handle (MIG is managed on the parent).
Gpu mig_gpu(Library& lib, nvmlDevice_t device) {
  const Gpu g = lib.gpu_of(device);
  if (device->is_mig) fail(NVML_ERROR_NOT_SUPPORTED, "a MIG device handle, not a GPU");
  if (g.mig == nullptr) {
    fail(NVML_ERROR_NOT_SUPPORTED,
         "GPU " + g.state->bdf.str() + " (" + g.state->model + ") does not support MIG");
  }
  return g;
}

// Locked read-modify-write of one GPU's state. The handle's GPU must still
// be on the bus.
void mutate(Library& lib, Bdf bdf, const std::function<void(GpuState&)>& fn) {
  lib.update([&](HostState& s) {
    GpuState* g = s.find_gpu(bdf);
    if (g == nullptr || g->fallen_off_bus || g->driver != "nvidia") {
      fail(NVML_ERROR_GPU_IS_LOST, bdf.str() + " is lost (or no longer bound to nvidia)");
    }
    fn(*g);
  });
}

GpuInstanceState* same_gi(GpuState& g, const nvmlGpuInstance_st& h) {
  for (auto& gi : g.mig.gpu_instances) {
    if (gi.id == h.id && gi.profile_id == h.profile_id && gi.start == h.start &&
        gi.size == h.size) {
      return &gi;
    }
  }
  fail(NVML_ERROR_INVALID_ARGUMENT, "GPU instance " + std::to_string(h.id) + " no longer exists");
}

const GiProfile& gi_profile_by_index(const Gpu& g, unsigned int index) {
  if (index >= kDriverGiProfileCount) {
    fail(NVML_ERROR_INVALID_ARGUMENT, "GPU instance profile index " + std::to_string(index) +
                                          " is beyond the driver's profile count");
  }
  const GiProfile* p = g.mig->find_by_index(index);
  if (p == nullptr) {
    fail(NVML_ERROR_NOT_SUPPORTED, "GPU instance profile index " + std::to_string(index) +
                                       " is not offered by a " + g.mig->key);
  }
  return *p;
}

template <class Info>
void fill_gi_common(const GiProfile& p, Info& v) {
  v.id = p.id;
  v.sliceCount = p.slice_count;
  v.instanceCount = p.instance_count;
  v.multiprocessorCount = p.multiprocessor_count;
  v.copyEngineCount = p.copy_engine_count;
  v.decoderCount = p.decoder_count;
  v.encoderCount = p.encoder_count;
  v.jpegCount = p.jpeg_count;
  v.ofaCount = p.ofa_count;
  v.memorySizeMB = p.memory_size_mb;
}

// The versioned GI profile info: v2 (name "MIG 1g.10gb") or v3, where the
// R580 driver leaves the name empty and capabilities 0 on the H100
// (nvml-readonly-probes.json info_v3). Any other version: INVALID_ARGUMENT
// (real H100: version 0).
void fill_gi_versioned(const GiProfile& p, nvmlGpuInstanceProfileInfo_v2_t* info) {
  if (info == nullptr) fail(NVML_ERROR_INVALID_ARGUMENT, "NULL info");
  if (info->version == nvmlGpuInstanceProfileInfo_v2) {
    nvmlGpuInstanceProfileInfo_v2_t v{};
    v.version = info->version;
    fill_gi_common(p, v);
    v.isP2pSupported = p.p2p ? 1 : 0;
    std::strncpy(v.name, p.nvml_name().c_str(), sizeof v.name - 1);
    *info = v;
  } else if (info->version == nvmlGpuInstanceProfileInfo_v3) {
    nvmlGpuInstanceProfileInfo_v3_t v{};
    v.version = info->version;
    fill_gi_common(p, v);
    v.capabilities = p.p2p ? NVML_GPU_INSTANCE_PROFILE_CAPS_P2P : 0;
    static_assert(sizeof v == sizeof *info);
    std::memcpy(static_cast<void*>(info), &v, sizeof v);
  } else {
    fail(NVML_ERROR_INVALID_ARGUMENT,
         "GPU instance profile info version " + std::to_string(info->version) + " is not v2 or v3");
  }
}

template <class Info>
void fill_ci_common(const CiProfile& p, Info& v) {
  v.id = p.id;
  v.sliceCount = p.slice_count;
  v.instanceCount = p.instance_count;
  v.multiprocessorCount = p.multiprocessor_count;
  v.sharedCopyEngineCount = p.shared_copy_engine_count;
  v.sharedDecoderCount = p.shared_decoder_count;
  v.sharedEncoderCount = p.shared_encoder_count;
  v.sharedJpegCount = p.shared_jpeg_count;
  v.sharedOfaCount = p.shared_ofa_count;
}

const CiProfile& ci_profile_by_index(const GiRef& gi, unsigned int profile, unsigned int eng) {
  if (profile >= NVML_COMPUTE_INSTANCE_PROFILE_COUNT) {
    fail(NVML_ERROR_INVALID_ARGUMENT, "compute instance profile " + std::to_string(profile));
  }
  if (eng >= NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_COUNT) {
    fail(NVML_ERROR_INVALID_ARGUMENT, "engine profile " + std::to_string(eng));
  }
  const CiProfile* p = gi.profile->find_ci_profile(profile);
  if (p == nullptr) {
    fail(NVML_ERROR_NOT_SUPPORTED, "compute instance profile " + std::to_string(profile) +
                                       " is not offered in a " + gi.profile->name + " instance");
  }
  return *p;
}

// Writes a list the way the driver does: NULL array = count only; else the
// whole list (the driver does not read *count: a buffer of count 1 still got
// all 7 1g placements on the real H100, placements_count1_*), count = size.
template <class T>
void write_list(const std::vector<T>& items, T* array, unsigned int* count) {
  if (count == nullptr) fail(NVML_ERROR_INVALID_ARGUMENT, "NULL count");
  if (array != nullptr) {
    for (size_t i = 0; i < items.size(); ++i) array[i] = items[i];
  }
  *count = static_cast<unsigned int>(items.size());
}

}  // namespace

extern "C" {

// --- MIG mode ---------------------------------------------------------------

nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int* currentMode,
                                  unsigned int* pendingMode) {
  return guarded("nvmlDeviceGetMigMode", [&](Library& lib) {
    const Gpu g = mig_gpu(lib, device);
    auto& cur = out(currentMode);
    auto& pend = out(pendingMode);
    cur = g.state->mig.current ? NVML_DEVICE_MIG_ENABLE : NVML_DEVICE_MIG_DISABLE;
    pend = g.state->mig.pending ? NVML_DEVICE_MIG_ENABLE : NVML_DEVICE_MIG_DISABLE;
  });
}

// Hopper+: effective at once (activationStatus SUCCESS); Ampere: pending
// until a GPU reset (activationStatus RESET_REQUIRED). Disabling is refused
// (IN_USE) while GPU instances, VFs or vGPUs exist (cubecos: "-mig 0 refused
// while VFs enabled").
nvmlReturn_t nvmlDeviceSetMigMode(nvmlDevice_t device, unsigned int mode,
                                  nvmlReturn_t* activationStatus) {
  return guarded("nvmlDeviceSetMigMode", [&](Library& lib) {
    auto& status = out(activationStatus);
    if (mode != NVML_DEVICE_MIG_DISABLE && mode != NVML_DEVICE_MIG_ENABLE) {
      fail(NVML_ERROR_INVALID_ARGUMENT, "MIG mode " + std::to_string(mode));
    }
    const Gpu g = mig_gpu(lib, device);
    const MigModel& model = *g.mig;
    MigModeActivation activation = MigModeActivation::kApplied;
    mutate(lib, g.state->bdf, [&](GpuState& s) {
      if (mode == NVML_DEVICE_MIG_DISABLE && (!s.vfs.empty() || !s.mdevs.empty())) {
        fail(NVML_ERROR_IN_USE, "cannot disable MIG on " + s.bdf.str() + ": VFs or vGPUs exist");
      }
      activation = set_mig_mode(s.mig, model, mode == NVML_DEVICE_MIG_ENABLE);
    });
    status = activation == MigModeActivation::kApplied ? NVML_SUCCESS : NVML_ERROR_RESET_REQUIRED;
  });
}

// --- GPU instance profiles ------------------------------------------------------

// Answers with MIG off too (real H100, R580).
nvmlReturn_t nvmlDeviceGetGpuInstanceProfileInfo(nvmlDevice_t device, unsigned int profile,
                                                 nvmlGpuInstanceProfileInfo_t* info) {
  return guarded("nvmlDeviceGetGpuInstanceProfileInfo", [&](Library& lib) {
    const Gpu g = mig_gpu(lib, device);
    const GiProfile& p = gi_profile_by_index(g, profile);
    auto& dst = out(info);
    nvmlGpuInstanceProfileInfo_t v{};
    fill_gi_common(p, v);
    v.isP2pSupported = p.p2p ? 1 : 0;
    dst = v;
  });
}

nvmlReturn_t nvmlDeviceGetGpuInstanceProfileInfoV(nvmlDevice_t device, unsigned int profile,
                                                  nvmlGpuInstanceProfileInfo_v2_t* info) {
  return guarded("nvmlDeviceGetGpuInstanceProfileInfoV", [&](Library& lib) {
    const Gpu g = mig_gpu(lib, device);
    if (info == nullptr) fail(NVML_ERROR_INVALID_ARGUMENT, "NULL info");
    fill_gi_versioned(gi_profile_by_index(g, profile), info);
  });
}

// By board profile id; an unknown id is INVALID_ARGUMENT (real H100: 1, 99).
nvmlReturn_t nvmlDeviceGetGpuInstanceProfileInfoByIdV(nvmlDevice_t device, unsigned int profileId,
                                                      nvmlGpuInstanceProfileInfo_v2_t* info) {
  return guarded("nvmlDeviceGetGpuInstanceProfileInfoByIdV", [&](Library& lib) {
    const Gpu g = mig_gpu(lib, device);
    if (info == nullptr) fail(NVML_ERROR_INVALID_ARGUMENT, "NULL info");
    fill_gi_versioned(gi_profile_by_id(*g.mig, profileId), info);
  });
}

// All placements, whatever exists and whether MIG is on (nvml.h).
nvmlReturn_t nvmlDeviceGetGpuInstancePossiblePlacements_v2(nvmlDevice_t device,
                                                           unsigned int profileId,
                                                           nvmlGpuInstancePlacement_t* placements,
                                                           unsigned int* count) {
  return guarded("nvmlDeviceGetGpuInstancePossiblePlacements_v2", [&](Library& lib) {
    const Gpu g = mig_gpu(lib, device);
    if (count == nullptr) fail(NVML_ERROR_INVALID_ARGUMENT, "NULL count");
    std::vector<nvmlGpuInstancePlacement_t> list;
    for (const SliceRange& r : gi_possible_placements(*g.mig, profileId)) {
      list.push_back({r.start, r.size});
    }
    write_list(list, placements, count);
  });
}

nvmlReturn_t nvmlDeviceGetGpuInstanceRemainingCapacity(nvmlDevice_t device, unsigned int profileId,
                                                       unsigned int* count) {
  return guarded("nvmlDeviceGetGpuInstanceRemainingCapacity", [&](Library& lib) {
    const Gpu g = mig_gpu(lib, device);
    auto& n = out(count);
    n = gi_remaining_capacity(g.state->mig, *g.mig, profileId);
  });
}

// --- GPU instances ---------------------------------------------------------------

namespace {

nvmlReturn_t create_gi(const char* name, nvmlDevice_t device, unsigned int profileId,
                       const nvmlGpuInstancePlacement_t* placement, bool with_placement,
                       nvmlGpuInstance_t* gpuInstance) {
  return guarded(name, [&](Library& lib) {
    auto& handle = out(gpuInstance);
    if (with_placement && placement == nullptr) fail(NVML_ERROR_INVALID_ARGUMENT, "NULL placement");
    const Gpu g = mig_gpu(lib, device);
    const MigModel& model = *g.mig;
    const Bdf bdf = g.state->bdf;
    std::optional<SliceRange> where;
    if (with_placement) where = SliceRange{placement->start, placement->size};
    GpuInstanceState created;
    mutate(lib, bdf,
           [&](GpuState& s) { created = create_gpu_instance(s.mig, model, profileId, where); });
    handle = lib.gi_handle(lib.device_handle(bdf), created);
  });
}

}  // namespace

nvmlReturn_t nvmlDeviceCreateGpuInstance(nvmlDevice_t device, unsigned int profileId,
                                         nvmlGpuInstance_t* gpuInstance) {
  return create_gi("nvmlDeviceCreateGpuInstance", device, profileId, nullptr, false, gpuInstance);
}

nvmlReturn_t nvmlDeviceCreateGpuInstanceWithPlacement(nvmlDevice_t device, unsigned int profileId,
                                                      const nvmlGpuInstancePlacement_t* placement,
                                                      nvmlGpuInstance_t* gpuInstance) {
  return create_gi("nvmlDeviceCreateGpuInstanceWithPlacement", device, profileId, placement, true,
                   gpuInstance);
}

// IN_USE while compute instances exist (nvml.h); a stale handle: INVALID_ARGUMENT.
nvmlReturn_t nvmlGpuInstanceDestroy(nvmlGpuInstance_t gpuInstance) {
  return guarded("nvmlGpuInstanceDestroy", [&](Library& lib) {
    const GiRef ref = resolve_gi(lib, gpuInstance);
    mutate(lib, ref.gpu.state->bdf,
           [&](GpuState& s) { destroy_gpu_instance(s.mig, same_gi(s, *gpuInstance)->id); });
  });
}

// The caller sizes the array from the profile's instanceCount; *count is
// not read (go-nvml passes 0). MIG off: SUCCESS, 0 instances (real H100).
nvmlReturn_t nvmlDeviceGetGpuInstances(nvmlDevice_t device, unsigned int profileId,
                                       nvmlGpuInstance_t* gpuInstances, unsigned int* count) {
  return guarded("nvmlDeviceGetGpuInstances", [&](Library& lib) {
    const Gpu g = mig_gpu(lib, device);
    if (count == nullptr || gpuInstances == nullptr) {
      fail(NVML_ERROR_INVALID_ARGUMENT, "NULL array or count");
    }
    gi_profile_by_id(*g.mig, profileId);
    std::vector<nvmlGpuInstance_t> list;
    for (const auto& gi : gpu_instances_by_id(g.state->mig)) {
      if (gi.profile_id == profileId) list.push_back(lib.gi_handle(device, gi));
    }
    write_list(list, gpuInstances, count);
  });
}

// NOT_FOUND when no GI has the id (real H100 with MIG off: id 1).
nvmlReturn_t nvmlDeviceGetGpuInstanceById(nvmlDevice_t device, unsigned int id,
                                          nvmlGpuInstance_t* gpuInstance) {
  return guarded("nvmlDeviceGetGpuInstanceById", [&](Library& lib) {
    auto& handle = out(gpuInstance);
    const Gpu g = mig_gpu(lib, device);
    handle = lib.gi_handle(device, find_gpu_instance(g.state->mig, id));
  });
}

nvmlReturn_t nvmlGpuInstanceGetInfo(nvmlGpuInstance_t gpuInstance, nvmlGpuInstanceInfo_t* info) {
  return guarded("nvmlGpuInstanceGetInfo", [&](Library& lib) {
    auto& dst = out(info);
    const GiRef ref = resolve_gi(lib, gpuInstance);
    nvmlGpuInstanceInfo_t v{};
    v.device = gpuInstance->device;
    v.id = ref.state->id;
    v.profileId = ref.state->profile_id;
    v.placement = {ref.state->start, ref.state->size};
    dst = v;
  });
}

// --- compute instances -------------------------------------------------------------

nvmlReturn_t nvmlGpuInstanceGetComputeInstanceProfileInfo(nvmlGpuInstance_t gpuInstance,
                                                          unsigned int profile,
                                                          unsigned int engProfile,
                                                          nvmlComputeInstanceProfileInfo_t* info) {
  return guarded("nvmlGpuInstanceGetComputeInstanceProfileInfo", [&](Library& lib) {
    const GiRef gi = resolve_gi(lib, gpuInstance);
    const CiProfile& p = ci_profile_by_index(gi, profile, engProfile);
    auto& dst = out(info);
    nvmlComputeInstanceProfileInfo_t v{};
    fill_ci_common(p, v);
    dst = v;
  });
}

// v2: name "MIG 1c.3g.40gb"; v3: empty name and capabilities 0, as the R580
// driver answers for GI profiles [inferred for CIs].
nvmlReturn_t nvmlGpuInstanceGetComputeInstanceProfileInfoV(
    nvmlGpuInstance_t gpuInstance, unsigned int profile, unsigned int engProfile,
    nvmlComputeInstanceProfileInfo_v2_t* info) {
  return guarded("nvmlGpuInstanceGetComputeInstanceProfileInfoV", [&](Library& lib) {
    const GiRef gi = resolve_gi(lib, gpuInstance);
    if (info == nullptr) fail(NVML_ERROR_INVALID_ARGUMENT, "NULL info");
    const CiProfile& p = ci_profile_by_index(gi, profile, engProfile);
    if (info->version == nvmlComputeInstanceProfileInfo_v2) {
      nvmlComputeInstanceProfileInfo_v2_t v{};
      v.version = info->version;
      fill_ci_common(p, v);
      std::strncpy(v.name, ("MIG " + p.name).c_str(), sizeof v.name - 1);
      *info = v;
    } else if (info->version == nvmlComputeInstanceProfileInfo_v3) {
      // The v3 struct is 4 bytes larger: the caller passed one (its tag says so).
      nvmlComputeInstanceProfileInfo_v3_t v{};
      v.version = info->version;
      fill_ci_common(p, v);
      std::memcpy(static_cast<void*>(info), &v, sizeof v);
    } else {
      fail(NVML_ERROR_INVALID_ARGUMENT,
           "compute instance profile info version " + std::to_string(info->version));
    }
  });
}

nvmlReturn_t nvmlGpuInstanceGetComputeInstanceRemainingCapacity(nvmlGpuInstance_t gpuInstance,
                                                                unsigned int profileId,
                                                                unsigned int* count) {
  return guarded("nvmlGpuInstanceGetComputeInstanceRemainingCapacity", [&](Library& lib) {
    const GiRef gi = resolve_gi(lib, gpuInstance);
    auto& n = out(count);
    n = ci_remaining_capacity(*gi.state, *gi.profile, profileId);
  });
}

nvmlReturn_t nvmlGpuInstanceGetComputeInstancePossiblePlacements(
    nvmlGpuInstance_t gpuInstance, unsigned int profileId,
    nvmlComputeInstancePlacement_t* placements, unsigned int* count) {
  return guarded("nvmlGpuInstanceGetComputeInstancePossiblePlacements", [&](Library& lib) {
    const GiRef gi = resolve_gi(lib, gpuInstance);
    if (count == nullptr) fail(NVML_ERROR_INVALID_ARGUMENT, "NULL count");
    std::vector<nvmlComputeInstancePlacement_t> list;
    for (const SliceRange& r : ci_profile_by_id(*gi.profile, profileId).placements()) {
      list.push_back({r.start, r.size});
    }
    write_list(list, placements, count);
  });
}

namespace {

nvmlReturn_t create_ci(const char* name, nvmlGpuInstance_t gpuInstance, unsigned int profileId,
                       const nvmlComputeInstancePlacement_t* placement, bool with_placement,
                       nvmlComputeInstance_t* computeInstance) {
  return guarded(name, [&](Library& lib) {
    auto& handle = out(computeInstance);
    if (with_placement && placement == nullptr) fail(NVML_ERROR_INVALID_ARGUMENT, "NULL placement");
    const GiRef gi = resolve_gi(lib, gpuInstance);
    const MigModel& model = *gi.gpu.mig;
    std::optional<SliceRange> where;
    if (with_placement) where = SliceRange{placement->start, placement->size};
    ComputeInstanceState created;
    mutate(lib, gi.gpu.state->bdf, [&](GpuState& s) {
      const uint32_t gi_id = same_gi(s, *gpuInstance)->id;
      created = create_compute_instance(s.mig, model, gi_id, profileId, where);
    });
    handle = lib.ci_handle(gpuInstance, created);
  });
}

}  // namespace

nvmlReturn_t nvmlGpuInstanceCreateComputeInstance(nvmlGpuInstance_t gpuInstance,
                                                  unsigned int profileId,
                                                  nvmlComputeInstance_t* computeInstance) {
  return create_ci("nvmlGpuInstanceCreateComputeInstance", gpuInstance, profileId, nullptr, false,
                   computeInstance);
}

nvmlReturn_t nvmlGpuInstanceCreateComputeInstanceWithPlacement(
    nvmlGpuInstance_t gpuInstance, unsigned int profileId,
    const nvmlComputeInstancePlacement_t* placement, nvmlComputeInstance_t* computeInstance) {
  return create_ci("nvmlGpuInstanceCreateComputeInstanceWithPlacement", gpuInstance, profileId,
                   placement, true, computeInstance);
}

nvmlReturn_t nvmlComputeInstanceDestroy(nvmlComputeInstance_t computeInstance) {
  return guarded("nvmlComputeInstanceDestroy", [&](Library& lib) {
    const CiRef ref = resolve_ci(lib, computeInstance);
    const uint32_t ci_id = ref.state->id;
    mutate(lib, ref.gi.gpu.state->bdf, [&](GpuState& s) {
      GpuInstanceState* gi = same_gi(s, *computeInstance->gpu_instance);
      destroy_compute_instance(s.mig, gi->id, ci_id);
    });
  });
}

nvmlReturn_t nvmlGpuInstanceGetComputeInstances(nvmlGpuInstance_t gpuInstance,
                                                unsigned int profileId,
                                                nvmlComputeInstance_t* computeInstances,
                                                unsigned int* count) {
  return guarded("nvmlGpuInstanceGetComputeInstances", [&](Library& lib) {
    const GiRef gi = resolve_gi(lib, gpuInstance);
    if (count == nullptr || computeInstances == nullptr) {
      fail(NVML_ERROR_INVALID_ARGUMENT, "NULL array or count");
    }
    ci_profile_by_id(*gi.profile, profileId);
    auto cis = gi.state->compute_instances;
    std::sort(cis.begin(), cis.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    std::vector<nvmlComputeInstance_t> list;
    for (const auto& ci : cis) {
      if (ci.profile_id == profileId) list.push_back(lib.ci_handle(gpuInstance, ci));
    }
    write_list(list, computeInstances, count);
  });
}

nvmlReturn_t nvmlGpuInstanceGetComputeInstanceById(nvmlGpuInstance_t gpuInstance, unsigned int id,
                                                   nvmlComputeInstance_t* computeInstance) {
  return guarded("nvmlGpuInstanceGetComputeInstanceById", [&](Library& lib) {
    auto& handle = out(computeInstance);
    const GiRef gi = resolve_gi(lib, gpuInstance);
    for (const auto& ci : gi.state->compute_instances) {
      if (ci.id == id) {
        handle = lib.ci_handle(gpuInstance, ci);
        return;
      }
    }
    fail(NVML_ERROR_NOT_FOUND, "no compute instance " + std::to_string(id) + " in GPU instance " +
                                   std::to_string(gi.state->id));
  });
}

nvmlReturn_t nvmlComputeInstanceGetInfo_v2(nvmlComputeInstance_t computeInstance,
                                           nvmlComputeInstanceInfo_t* info) {
  return guarded("nvmlComputeInstanceGetInfo_v2", [&](Library& lib) {
    auto& dst = out(info);
    const CiRef ref = resolve_ci(lib, computeInstance);
    nvmlComputeInstanceInfo_t v{};
    v.device = computeInstance->gpu_instance->device;
    v.gpuInstance = computeInstance->gpu_instance;
    v.id = ref.state->id;
    v.profileId = ref.state->profile_id;
    v.placement = {ref.state->start, ref.state->size};
    dst = v;
  });
}

// --- MIG devices ------------------------------------------------------------------

// One MIG device per compute slice with MIG on; 0 with MIG off (real H100).
nvmlReturn_t nvmlDeviceGetMaxMigDeviceCount(nvmlDevice_t device, unsigned int* count) {
  return guarded("nvmlDeviceGetMaxMigDeviceCount", [&](Library& lib) {
    auto& n = out(count);
    const Gpu g = mig_gpu(lib, device);
    n = g.state->mig.current ? g.mig->max_mig_devices() : 0;
  });
}

// NOT_FOUND for an index without a MIG device (real H100, MIG off: index 0).
nvmlReturn_t nvmlDeviceGetMigDeviceHandleByIndex(nvmlDevice_t device, unsigned int index,
                                                 nvmlDevice_t* migDevice) {
  return guarded("nvmlDeviceGetMigDeviceHandleByIndex", [&](Library& lib) {
    auto& handle = out(migDevice);
    const Gpu g = mig_gpu(lib, device);
    const auto list = mig_devices(lib, device, g);
    if (index >= list.size()) {
      fail(NVML_ERROR_NOT_FOUND,
           "no MIG device " + std::to_string(index) + " on " + g.state->bdf.str());
    }
    handle = list[index];
  });
}

nvmlReturn_t nvmlDeviceIsMigDeviceHandle(nvmlDevice_t device, unsigned int* isMigDevice) {
  return guarded("nvmlDeviceIsMigDeviceHandle", [&](Library& lib) {
    auto& is = out(isMigDevice);
    lib.gpu_of(device);
    is = device->is_mig ? 1 : 0;
  });
}

nvmlReturn_t nvmlDeviceGetGpuInstanceId(nvmlDevice_t device, unsigned int* id) {
  return guarded("nvmlDeviceGetGpuInstanceId", [&](Library& lib) {
    auto& dst = out(id);
    const Gpu g = lib.gpu_of(device);
    // A full-GPU handle: INVALID_ARGUMENT on the real R580 driver (device probe).
    if (!device->is_mig) fail(NVML_ERROR_INVALID_ARGUMENT, "not a MIG device handle");
    check_mig_device(lib, g, device);
    dst = device->gpu_instance->id;
  });
}

nvmlReturn_t nvmlDeviceGetComputeInstanceId(nvmlDevice_t device, unsigned int* id) {
  return guarded("nvmlDeviceGetComputeInstanceId", [&](Library& lib) {
    auto& dst = out(id);
    const Gpu g = lib.gpu_of(device);
    // A full-GPU handle: INVALID_ARGUMENT on the real R580 driver (device probe).
    if (!device->is_mig) fail(NVML_ERROR_INVALID_ARGUMENT, "not a MIG device handle");
    check_mig_device(lib, g, device);
    dst = device->compute_instance->id;
  });
}

nvmlReturn_t nvmlDeviceGetDeviceHandleFromMigDeviceHandle(nvmlDevice_t migDevice,
                                                          nvmlDevice_t* device) {
  return guarded("nvmlDeviceGetDeviceHandleFromMigDeviceHandle", [&](Library& lib) {
    auto& dst = out(device);
    const Gpu g = lib.gpu_of(migDevice);
    if (!migDevice->is_mig) fail(NVML_ERROR_INVALID_ARGUMENT, "not a MIG device handle");
    check_mig_device(lib, g, migDevice);
    dst = migDevice->parent;
  });
}

}  // extern "C"
