// Host-side vGPU calls of the mock libnvidia-ml.so.1: virtualization mode,
// supported/creatable vGPU types and their properties, heterogeneous mode.
// Type lists come from the model catalog (sim/models.h), the same lists the
// FUSE tree shows; reference/nvidia.md §3.4, §7, §8.13.
#include <algorithm>
#include <string>
#include <vector>

#include "sim/host_ops.h"
#include "sim/nvml_mock/library.h"

using gpuvm::Bdf;
using namespace gpuvm::sim;
using namespace gpuvm::sim::nvml_mock;

namespace {

// The GPU behind a physical device handle; NOT_SUPPORTED without a vGPU
// manager (real H100 in passthrough: nvmlDeviceGetSupportedVgpus "Not Supported").
Gpu vgpu_gpu(Library& lib, nvmlDevice_t device) {
  const Gpu g = lib.gpu_of(device);
  if (device->is_mig) fail(NVML_ERROR_NOT_SUPPORTED, "a MIG device handle, not a GPU");
  if (g.state->vgpu_mode == VgpuMode::kNone || g.model == nullptr) {
    fail(NVML_ERROR_NOT_SUPPORTED, "GPU " + g.state->bdf.str() + " has no vGPU manager");
  }
  return g;
}

std::span<const VgpuTypeInfo> types_of(const Gpu& g) {
  return g.state->vgpu_mode == VgpuMode::kLegacy
             ? std::span<const VgpuTypeInfo>(g.model->legacy_types)
             : std::span<const VgpuTypeInfo>(g.model->vendor_types);
}

// A vGPU type id is known while a GPU of the host offers it: the vGPU
// manager is loaded for that GPU and its model lists the type. Otherwise
// (e.g. a passthrough-only host) INVALID_ARGUMENT.
const VgpuTypeInfo& type_by_id(Library& lib, nvmlVgpuTypeId_t id) {
  for (const Gpu& g : lib.gpus()) {
    if (g.model == nullptr || g.state->vgpu_mode == VgpuMode::kNone) continue;
    if (const VgpuTypeInfo* t = find_vgpu_type(types_of(g), id)) return *t;
  }
  fail(NVML_ERROR_INVALID_ARGUMENT, "no GPU of this host offers vGPU type " + std::to_string(id));
}

bool has_vgpus(const GpuState& g) {
  if (!g.mdevs.empty()) return true;
  for (const auto& vf : g.vfs) {
    if (vf.vgpu_type != 0) return true;
  }
  return false;
}

// NVML's list convention for these calls: *count in = capacity; too small
// (or a NULL array) = INSUFFICIENT_SIZE with the needed count.
void write_ids(const std::vector<nvmlVgpuTypeId_t>& ids, unsigned int* count,
               nvmlVgpuTypeId_t* array) {
  auto& n = out(count);
  if (n < ids.size() || array == nullptr) {
    const bool empty_ok = ids.empty();
    n = static_cast<unsigned int>(ids.size());
    if (empty_ok) return;
    fail(NVML_ERROR_INSUFFICIENT_SIZE, std::to_string(ids.size()) + " vGPU types");
  }
  for (size_t i = 0; i < ids.size(); ++i) array[i] = ids[i];
  n = static_cast<unsigned int>(ids.size());
}

}  // namespace

extern "C" {

// A host with a vGPU manager: HOST_VGPU; without one: NONE. (The H100
// capture says PASSTHROUGH because it ran inside a VM.)
nvmlReturn_t nvmlDeviceGetVirtualizationMode(nvmlDevice_t device,
                                             nvmlGpuVirtualizationMode_t* pVirtualMode) {
  return guarded("nvmlDeviceGetVirtualizationMode", [&](Library& lib) {
    auto& mode = out(pVirtualMode);
    const Gpu g = lib.gpu_of(device);
    mode = g.state->vgpu_mode == VgpuMode::kNone ? NVML_GPU_VIRTUALIZATION_MODE_NONE
                                                 : NVML_GPU_VIRTUALIZATION_MODE_HOST_VGPU;
  });
}

// SR-IOV based vGPU (Ampere and later) or not (pre-Ampere mdev on the PF).
nvmlReturn_t nvmlDeviceGetHostVgpuMode(nvmlDevice_t device, nvmlHostVgpuMode_t* pHostVgpuMode) {
  return guarded("nvmlDeviceGetHostVgpuMode", [&](Library& lib) {
    auto& mode = out(pHostVgpuMode);
    const Gpu g = vgpu_gpu(lib, device);
    mode = g.model->mdev_on_pf ? NVML_HOST_VGPU_MODE_NON_SRIOV : NVML_HOST_VGPU_MODE_SRIOV;
  });
}

nvmlReturn_t nvmlDeviceGetSupportedVgpus(nvmlDevice_t device, unsigned int* vgpuCount,
                                         nvmlVgpuTypeId_t* vgpuTypeIds) {
  return guarded("nvmlDeviceGetSupportedVgpus", [&](Library& lib) {
    const Gpu g = vgpu_gpu(lib, device);
    std::vector<nvmlVgpuTypeId_t> ids;
    for (const auto& t : types_of(g)) ids.push_back(t.id);
    write_ids(ids, vgpuCount, vgpuTypeIds);
  });
}

// Types that can be created now on this GPU: the union of what its VFs'
// creatable_vgpu_types list (vendor-specific) or of the mdev types with
// available instances on its parents (legacy). The rules are the FUSE
// tree's (sim/host_ops.h), so NVML and sysfs always agree.
nvmlReturn_t nvmlDeviceGetCreatableVgpus(nvmlDevice_t device, unsigned int* vgpuCount,
                                         nvmlVgpuTypeId_t* vgpuTypeIds) {
  return guarded("nvmlDeviceGetCreatableVgpus", [&](Library& lib) {
    const Gpu g = vgpu_gpu(lib, device);
    const GpuState& s = *g.state;
    std::vector<nvmlVgpuTypeId_t> ids;
    auto add = [&](uint32_t id) {
      if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
    };
    if (s.vgpu_mode == VgpuMode::kVendorSpecific) {
      for (uint32_t vf = 0; vf < s.vfs.size(); ++vf) {
        for (const VgpuTypeInfo* t : vf_creatable_types(s, vf)) add(t->id);
      }
    } else {
      std::vector<Bdf> parents;
      if (is_mdev_parent(s, std::nullopt)) parents.push_back(s.bdf);
      for (uint32_t vf = 0; vf < s.vfs.size(); ++vf) {
        if (is_mdev_parent(s, vf)) parents.push_back(vf_bdf(s.bdf, vf));
      }
      for (const VgpuTypeInfo* t : mdev_parent_types(s)) {
        for (const Bdf& parent : parents) {
          if (mdev_available_instances(s, parent, *t) > 0) {
            add(t->id);
            break;
          }
        }
      }
    }
    // Listed in the catalog's order, as the driver lists its types.
    std::vector<nvmlVgpuTypeId_t> ordered;
    for (const auto& t : types_of(g)) {
      if (std::find(ids.begin(), ids.end(), t.id) != ids.end()) ordered.push_back(t.id);
    }
    write_ids(ordered, vgpuCount, vgpuTypeIds);
  });
}

// "NVIDIA H100XM-1-10C"; *size in = buffer size, out = the size needed.
nvmlReturn_t nvmlVgpuTypeGetName(nvmlVgpuTypeId_t vgpuTypeId, char* vgpuTypeName,
                                 unsigned int* size) {
  return guarded("nvmlVgpuTypeGetName", [&](Library& lib) {
    auto& n = out(size);
    lib.read();
    lib.apply_faults(std::nullopt);
    const std::string_view name = type_by_id(lib, vgpuTypeId).name;
    const auto needed = static_cast<unsigned int>(name.size() + 1);
    if (vgpuTypeName == nullptr || n < needed) {
      n = needed;
      fail(NVML_ERROR_INSUFFICIENT_SIZE, "vGPU type name needs " + std::to_string(needed));
    }
    copy_string(name, vgpuTypeName, n);
    n = needed;
  });
}

// The GI profile id a MIG-backed type needs; INVALID_GPU_INSTANCE_PROFILE_ID
// for a time-sliced one (nvml.h).
nvmlReturn_t nvmlVgpuTypeGetGpuInstanceProfileId(nvmlVgpuTypeId_t vgpuTypeId,
                                                 unsigned int* gpuInstanceProfileId) {
  return guarded("nvmlVgpuTypeGetGpuInstanceProfileId", [&](Library& lib) {
    auto& id = out(gpuInstanceProfileId);
    lib.read();
    lib.apply_faults(std::nullopt);
    const VgpuTypeInfo& t = type_by_id(lib, vgpuTypeId);
    id = t.gi_profile_id ? *t.gi_profile_id : NVML_INVALID_GPU_INSTANCE_PROFILE_ID;
  });
}

nvmlReturn_t nvmlVgpuTypeGetFramebufferSize(nvmlVgpuTypeId_t vgpuTypeId,
                                            unsigned long long* fbSize) {
  return guarded("nvmlVgpuTypeGetFramebufferSize", [&](Library& lib) {
    auto& fb = out(fbSize);
    lib.read();
    lib.apply_faults(std::nullopt);
    fb = static_cast<unsigned long long>(type_by_id(lib, vgpuTypeId).framebuffer_mib) << 20;
  });
}

nvmlReturn_t nvmlVgpuTypeGetMaxInstances(nvmlDevice_t device, nvmlVgpuTypeId_t vgpuTypeId,
                                         unsigned int* vgpuInstanceCount) {
  return guarded("nvmlVgpuTypeGetMaxInstances", [&](Library& lib) {
    auto& n = out(vgpuInstanceCount);
    const Gpu g = vgpu_gpu(lib, device);
    const VgpuTypeInfo* t = find_vgpu_type(types_of(g), vgpuTypeId);
    if (t == nullptr) {
      fail(NVML_ERROR_INVALID_ARGUMENT, "vGPU type " + std::to_string(vgpuTypeId) +
                                            " is not supported by " + g.state->bdf.str());
    }
    n = g.state->heterogeneous_mode && t->max_instances_mixed != 0 ? t->max_instances_mixed
                                                                   : t->max_instances;
  });
}

nvmlReturn_t nvmlDeviceGetVgpuHeterogeneousMode(nvmlDevice_t device,
                                                nvmlVgpuHeterogeneousMode_t* pHeterogeneousMode) {
  return guarded("nvmlDeviceGetVgpuHeterogeneousMode", [&](Library& lib) {
    auto& m = out(pHeterogeneousMode);
    // The device is checked before the struct version: a GPU without vGPU
    // answers NOT_SUPPORTED whatever the version (real H100, device probe).
    const Gpu g = vgpu_gpu(lib, device);
    if (m.version != nvmlVgpuHeterogeneousMode_v1) {
      fail(NVML_ERROR_ARGUMENT_VERSION_MISMATCH, "heterogeneous mode struct version");
    }
    m.mode = g.state->heterogeneous_mode ? NVML_VGPU_PGPU_HETEROGENEOUS_MODE
                                         : NVML_VGPU_PGPU_HOMOGENEOUS_MODE;
  });
}

// IN_USE once a vGPU exists on the GPU (reference §8.13).
nvmlReturn_t nvmlDeviceSetVgpuHeterogeneousMode(
    nvmlDevice_t device, const nvmlVgpuHeterogeneousMode_t* pHeterogeneousMode) {
  return guarded("nvmlDeviceSetVgpuHeterogeneousMode", [&](Library& lib) {
    if (pHeterogeneousMode == nullptr) fail(NVML_ERROR_INVALID_ARGUMENT, "NULL mode");
    if (pHeterogeneousMode->version != nvmlVgpuHeterogeneousMode_v1) {
      fail(NVML_ERROR_ARGUMENT_VERSION_MISMATCH, "heterogeneous mode struct version");
    }
    const unsigned int mode = pHeterogeneousMode->mode;
    if (mode != NVML_VGPU_PGPU_HETEROGENEOUS_MODE && mode != NVML_VGPU_PGPU_HOMOGENEOUS_MODE) {
      fail(NVML_ERROR_INVALID_ARGUMENT, "heterogeneous mode " + std::to_string(mode));
    }
    const Bdf bdf = vgpu_gpu(lib, device).state->bdf;
    lib.update([&](HostState& s) {
      GpuState* g = s.find_gpu(bdf);
      if (g == nullptr || g->fallen_off_bus || g->driver != "nvidia") {
        fail(NVML_ERROR_GPU_IS_LOST, bdf.str() + " is lost (or no longer bound to nvidia)");
      }
      if (has_vgpus(*g)) fail(NVML_ERROR_IN_USE, "vGPUs exist on " + bdf.str());
      g->heterogeneous_mode = mode == NVML_VGPU_PGPU_HETEROGENEOUS_MODE;
    });
  });
}

}  // extern "C"
