#include "sim/host_ops.h"

#include <algorithm>
#include <cerrno>
#include <set>

#include "core/error.h"

namespace gpuvm::sim {

namespace {

// The framebuffer a time-sliced vGPU pool may hand out: the largest type's
// whole-GPU framebuffer (e.g. 80C on H100XM).
uint64_t ts_pool_mib(std::span<const VgpuTypeInfo> types) {
  uint64_t pool = 0;
  for (const auto& t : types) {
    if (!t.mig_backed())
      pool = std::max<uint64_t>(pool, uint64_t{t.framebuffer_mib} * t.max_instances);
  }
  return pool;
}

// Time-sliced capacity shared by both interfaces: `used` lists the types of
// the existing time-sliced vGPUs of the GPU. How many more of `t` fit.
uint32_t ts_room(const GpuState& gpu, std::span<const VgpuTypeInfo> types,
                 const std::vector<uint32_t>& used, const VgpuTypeInfo& t) {
  const uint32_t same = static_cast<uint32_t>(std::count(used.begin(), used.end(), t.id));
  if (!gpu.heterogeneous_mode) {
    // One vGPU type per GPU (equal-size mode).
    for (uint32_t u : used) {
      if (u != t.id) return 0;
    }
    return t.max_instances > same ? t.max_instances - same : 0;
  }
  const uint32_t max = t.max_instances_mixed ? t.max_instances_mixed : t.max_instances;
  if (same >= max) return 0;
  uint64_t fb_used = 0;
  for (uint32_t u : used) {
    if (const auto* ut = find_vgpu_type(types, u)) fb_used += ut->framebuffer_mib;
  }
  const uint64_t pool = ts_pool_mib(types);
  if (fb_used + t.framebuffer_mib > pool) return 0;
  return std::min<uint32_t>(max - same,
                            static_cast<uint32_t>((pool - fb_used) / t.framebuffer_mib));
}

// GIs of `profile` not yet used by a vGPU (VF or mdev), lowest id first.
std::vector<uint32_t> free_gis(const GpuState& gpu, uint32_t profile) {
  std::set<uint32_t> used;
  for (const auto& v : gpu.vfs) {
    if (v.gpu_instance_id) used.insert(*v.gpu_instance_id);
  }
  for (const auto& m : gpu.mdevs) {
    if (m.gpu_instance_id) used.insert(*m.gpu_instance_id);
  }
  std::vector<uint32_t> out;
  for (const auto& gi : gpu.mig.gpu_instances) {
    if (gi.profile_id == profile && !used.contains(gi.id)) out.push_back(gi.id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

const GpuInstanceState* find_gi(const GpuState& gpu, uint32_t id) {
  for (const auto& gi : gpu.mig.gpu_instances) {
    if (gi.id == id) return &gi;
  }
  return nullptr;
}

std::vector<uint32_t> ts_vf_types(const GpuState& gpu, std::span<const VgpuTypeInfo> types) {
  std::vector<uint32_t> used;
  for (const auto& v : gpu.vfs) {
    const auto* t = v.vgpu_type ? find_vgpu_type(types, v.vgpu_type) : nullptr;
    if (t && !t->mig_backed()) used.push_back(t->id);
  }
  return used;
}

std::vector<uint32_t> ts_mdev_types(const GpuState& gpu, std::span<const VgpuTypeInfo> types) {
  std::vector<uint32_t> used;
  for (const auto& m : gpu.mdevs) {
    const auto* t = find_vgpu_type(types, m.type_id);
    if (t && !t->mig_backed()) used.push_back(t->id);
  }
  return used;
}

}  // namespace

void fail_errno(int err, std::string message) {
  throw Error(errc_from_errno(err), std::move(message), err);
}

// ---- vendor-specific --------------------------------------------------------

std::vector<const VgpuTypeInfo*> vf_creatable_types(const GpuState& gpu, uint32_t vf) {
  std::vector<const VgpuTypeInfo*> out;
  if (gpu.vgpu_mode != VgpuMode::kVendorSpecific || vf >= gpu.vfs.size()) return out;
  if (gpu.vfs[vf].vgpu_type != 0 || gpu.driver != "nvidia" || gpu.fallen_off_bus) return out;
  const GpuModel& m = model(gpu.model);
  const auto used = ts_vf_types(gpu, m.vendor_types);
  for (const auto& t : m.vendor_types) {
    if (gpu.mig.current) {
      if (t.mig_backed() && !free_gis(gpu, *t.gi_profile_id).empty()) out.push_back(&t);
    } else if (!t.mig_backed() && ts_room(gpu, m.vendor_types, used, t) > 0) {
      out.push_back(&t);
    }
  }
  return out;
}

void set_vf_vgpu_type(GpuState& gpu, uint32_t vf, long long type_id) {
  const std::string where = "VF " + vf_bdf(gpu.bdf, vf).str();
  if (type_id < 0) fail_errno(EINVAL, where + ": vGPU type id must be >= 0");
  VfState& v = gpu.vfs.at(vf);
  if (type_id == 0) {
    v.vgpu_type = 0;
    v.gpu_instance_id.reset();
    v.placement_id.reset();
    return;
  }
  const GpuModel& m = model(gpu.model);
  const VgpuTypeInfo* t = find_vgpu_type(m.vendor_types, static_cast<uint32_t>(type_id));
  if (t == nullptr) {
    fail_errno(EINVAL, where + ": vGPU type " + std::to_string(type_id) + " is not supported by " +
                           std::string(m.key));
  }
  // [inferred] a second create on a VF that holds a vGPU is refused as busy.
  if (v.vgpu_type != 0)
    fail_errno(EBUSY, where + " already has vGPU type " + std::to_string(v.vgpu_type));
  const auto creatable = vf_creatable_types(gpu, vf);
  if (std::find(creatable.begin(), creatable.end(), t) == creatable.end()) {
    // The driver logs "NVRM: Failed to add vgpu create request" and the write
    // fails with EIO (reference §2.4).
    fail_errno(EIO, where + ": vGPU type " + std::to_string(type_id) + " (" + std::string(t->name) +
                        ") is not creatable now");
  }
  v.vgpu_type = t->id;
  if (t->mig_backed()) {
    const uint32_t gi = free_gis(gpu, *t->gi_profile_id).front();
    v.gpu_instance_id = gi;
    v.placement_id = find_gi(gpu, gi)->start;
  } else {
    // [inferred] the lowest placement slot not taken by another vGPU.
    std::set<uint32_t> taken;
    for (const auto& o : gpu.vfs) {
      if (&o != &v && o.vgpu_type != 0 && o.placement_id) taken.insert(*o.placement_id);
    }
    uint32_t slot = 0;
    while (taken.contains(slot)) ++slot;
    v.placement_id = slot;
  }
}

// ---- legacy mdev --------------------------------------------------------------

bool is_mdev_parent(const GpuState& gpu, std::optional<uint32_t> vf) {
  if (gpu.vgpu_mode != VgpuMode::kLegacy || gpu.fallen_off_bus) return false;
  const GpuModel& m = model(gpu.model);
  if (!vf) return m.mdev_on_pf && gpu.driver == "nvidia";
  return !m.mdev_on_pf && *vf < gpu.vfs.size() && gpu.vfs[*vf].driver == "nvidia" &&
         gpu.driver == "nvidia";
}

std::vector<const VgpuTypeInfo*> mdev_parent_types(const GpuState& gpu) {
  std::vector<const VgpuTypeInfo*> out;
  for (const auto& t : model(gpu.model).legacy_types) {
    if (t.mig_backed() == gpu.mig.current) out.push_back(&t);
  }
  return out;
}

uint32_t mdev_available_instances(const GpuState& gpu, const Bdf& parent,
                                  const VgpuTypeInfo& type) {
  if (type.mig_backed() != gpu.mig.current) return 0;
  const GpuModel& m = model(gpu.model);
  uint32_t room = 0;
  if (type.mig_backed()) {
    room = static_cast<uint32_t>(free_gis(gpu, *type.gi_profile_id).size());
  } else {
    room = ts_room(gpu, m.legacy_types, ts_mdev_types(gpu, m.legacy_types), type);
  }
  if (parent == gpu.bdf) return room;
  // A VF parent hosts one mdev.
  for (const auto& md : gpu.mdevs) {
    if (md.parent == parent) return 0;
  }
  return std::min<uint32_t>(room, 1);
}

void create_mdev(HostState& host, GpuState& gpu, const Bdf& parent, uint32_t type_id,
                 const std::string& uuid) {
  for (const auto& g : host.gpus) {
    for (const auto& md : g.mdevs) {
      // mdev core: a UUID is unique host-wide (-EEXIST).
      if (md.uuid == uuid)
        fail_errno(EEXIST, "mdev " + uuid + " already exists on " + md.parent.str());
    }
  }
  const VgpuTypeInfo* t = find_vgpu_type(model(gpu.model).legacy_types, type_id);
  if (t == nullptr) fail_errno(ENODEV, "no mdev type nvidia-" + std::to_string(type_id));
  if (mdev_available_instances(gpu, parent, *t) == 0) {
    // [inferred] the mdev core's answer when a type has no instance left.
    fail_errno(EUSERS, "mdev type nvidia-" + std::to_string(type_id) + " on " + parent.str() +
                           " has no available instance");
  }
  MdevState md;
  md.uuid = uuid;
  md.type_id = type_id;
  md.parent = parent;
  md.iommu_group = host.next_iommu_group++;
  if (t->mig_backed()) md.gpu_instance_id = free_gis(gpu, *t->gi_profile_id).front();
  gpu.mdevs.push_back(std::move(md));
}

bool remove_mdev(HostState& host, const std::string& uuid) {
  for (auto& g : host.gpus) {
    auto it = std::find_if(g.mdevs.begin(), g.mdevs.end(),
                           [&](const MdevState& m) { return m.uuid == uuid; });
    if (it != g.mdevs.end()) {
      g.mdevs.erase(it);
      return true;
    }
  }
  return false;
}

// ---- lifecycle -------------------------------------------------------------------

void set_numvfs(HostState& host, GpuState& gpu, uint32_t n) {
  gpu.vfs.clear();
  std::erase_if(gpu.mdevs, [&](const MdevState& m) { return m.parent != gpu.bdf; });
  for (uint32_t i = 0; i < n; ++i) {
    VfState vf;
    vf.iommu_group = host.next_iommu_group++;
    // VFs autoprobe: nvidia claims them when a vGPU manager drives the GPU.
    vf.driver = gpu.vgpu_mode == VgpuMode::kNone ? "" : "nvidia";
    gpu.vfs.push_back(std::move(vf));
  }
  gpu.mig.drop_instances();
  gpu.heterogeneous_mode = false;
}

void nvidia_vf_teardown(GpuState& gpu, uint32_t vf) {
  VfState& v = gpu.vfs.at(vf);
  v.vgpu_type = 0;
  v.gpu_instance_id.reset();
  v.placement_id.reset();
  const Bdf addr = vf_bdf(gpu.bdf, vf);
  std::erase_if(gpu.mdevs, [&](const MdevState& m) { return m.parent == addr; });
}

void nvidia_pf_teardown(GpuState& gpu) {
  gpu.mig.drop_instances();
  gpu.heterogeneous_mode = false;
  for (uint32_t i = 0; i < gpu.vfs.size(); ++i) nvidia_vf_teardown(gpu, i);
  gpu.mdevs.clear();
}

void reset_gpu(GpuState& gpu) {
  const bool vgpus =
      !gpu.mdevs.empty() || std::any_of(gpu.vfs.begin(), gpu.vfs.end(),
                                        [](const VfState& v) { return v.vgpu_type != 0; });
  if (vgpus) fail_errno(EBUSY, "GPU " + gpu.bdf.str() + " has vGPUs: reset refused (in use)");
  gpu.mig.current = gpu.mig.pending;
  gpu.mig.drop_instances();
}

void reboot_host(HostState& host) {
  for (auto& g : host.gpus) {
    const GpuModel& m = model(g.model);
    g.vfs.clear();
    g.mdevs.clear();
    g.mig.current = m.mig_mode_persistent ? g.mig.pending : false;
    g.mig.pending = g.mig.current;
    g.mig.drop_instances();
    g.heterogeneous_mode = false;
    g.driver = "nvidia";
    g.driver_override.clear();
    g.fallen_off_bus = false;
  }
  for (auto& d : host.devices) d.driver_override.clear();
  host.dynamic_ids.clear();
}

}  // namespace gpuvm::sim
