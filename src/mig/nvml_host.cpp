#include "mig/nvml_host.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace gpuvm::mig {

std::string derive_gi_name(uint32_t enum_index, uint32_t slices, uint64_t memory_mb,
                           uint64_t total_bytes) {
  // GB: the memory fraction rounded up to 1/8, times the board's whole GiB,
  // rounded to nearest (go-nvlib's rule, which follows the driver's).
  double gb = 0;
  if (total_bytes > 0) {
    double frac = static_cast<double>(memory_mb) * 1048576.0 / static_cast<double>(total_bytes);
    frac = std::ceil(frac * 8.0 - 1e-9) / 8.0;
    gb = std::round(frac * std::ceil(static_cast<double>(total_bytes) / 1073741824.0));
  }
  std::string suffix;
  switch (enum_index) {
    case NVML_GPU_INSTANCE_PROFILE_1_SLICE_REV1:
    case NVML_GPU_INSTANCE_PROFILE_2_SLICE_REV1:
      suffix = "+me";
      break;
    case NVML_GPU_INSTANCE_PROFILE_1_SLICE_ALL_ME:
    case NVML_GPU_INSTANCE_PROFILE_2_SLICE_ALL_ME:
      suffix = "+me.all";
      break;
    case NVML_GPU_INSTANCE_PROFILE_1_SLICE_GFX:
    case NVML_GPU_INSTANCE_PROFILE_2_SLICE_GFX:
    case NVML_GPU_INSTANCE_PROFILE_3_SLICE_GFX:
    case NVML_GPU_INSTANCE_PROFILE_4_SLICE_GFX:
      suffix = "+gfx";
      break;
    case NVML_GPU_INSTANCE_PROFILE_1_SLICE_NO_ME:
    case NVML_GPU_INSTANCE_PROFILE_2_SLICE_NO_ME:
      suffix = "-me";
      break;
    default:
      break;
  }
  return fmt::format("MIG {}g.{}gb{}", slices, static_cast<uint64_t>(gb), suffix);
}

class NvmlGpu : public MigGpu {
 public:
  NvmlGpu(NvmlHost& host, unsigned index) : host_(host), f_(host.library().fn()) {
    identity_.index = index;
    gpu_ = fmt::format("{}", index);
    // nvmlDeviceGetHandleByIndex_v2: NVML >= 5 (unversioned alias in nvml.h).
    check(f_.nvmlDeviceGetHandleByIndex_v2(index, &dev_), "nvmlDeviceGetHandleByIndex_v2");
    char buf[NVML_DEVICE_NAME_V2_BUFFER_SIZE] = {};
    // nvmlDeviceGetName: marketing name, "NVIDIA H100 80GB HBM3".
    check(f_.nvmlDeviceGetName(dev_, buf, sizeof buf), "nvmlDeviceGetName");
    identity_.name = buf;
    char uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE] = {};
    // nvmlDeviceGetUUID: "GPU-<uuid>".
    check(f_.nvmlDeviceGetUUID(dev_, uuid, sizeof uuid), "nvmlDeviceGetUUID");
    identity_.uuid = uuid;
    nvmlPciInfo_t pci{};
    // nvmlDeviceGetPciInfo_v3: busId "00000000:00:06.0", pciDeviceId for device-filter.
    check(f_.nvmlDeviceGetPciInfo_v3(dev_, &pci), "nvmlDeviceGetPciInfo_v3");
    identity_.pci_bus_id = std::string(pci.busId, strnlen(pci.busId, sizeof pci.busId));
    identity_.pci_device_id = pci.pciDeviceId;
    identity_.pci_subsystem_id = pci.pciSubSystemId;
    gpu_ = fmt::format("{} ({})", index, identity_.pci_bus_id);
    nvmlMemory_t mem{};
    // nvmlDeviceGetMemoryInfo: total bytes, for deriving profile names.
    check(f_.nvmlDeviceGetMemoryInfo(dev_, &mem), "nvmlDeviceGetMemoryInfo");
    identity_.memory_total = mem.total;
  }

  const GpuIdentity& identity() const override { return identity_; }

  MigMode mig_mode() override {
    unsigned current = 0, pending = 0;
    // nvmlDeviceGetMigMode: NOT_SUPPORTED on GPUs without MIG.
    check(f_.nvmlDeviceGetMigMode(dev_, &current, &pending), "nvmlDeviceGetMigMode");
    return {current == NVML_DEVICE_MIG_ENABLE, pending == NVML_DEVICE_MIG_ENABLE};
  }

  nvmlReturn_t set_mig_mode(bool enable) override {
    nvmlReturn_t activation = NVML_SUCCESS;
    // nvmlDeviceSetMigMode: sets the pending mode; activation says whether it took effect.
    check(f_.nvmlDeviceSetMigMode(dev_, enable ? NVML_DEVICE_MIG_ENABLE : NVML_DEVICE_MIG_DISABLE,
                                  &activation),
          "nvmlDeviceSetMigMode");
    profiles_.reset();  // profile info is immutable only for the lifetime of a MIG mode
    return activation;
  }

  const ProfileTable& profiles() override {
    if (profiles_) return *profiles_;
    ProfileTable table;
    for (uint32_t e = 0; e < NVML_GPU_INSTANCE_PROFILE_COUNT; ++e) {
      nvmlGpuInstanceProfileInfo_t info{};
      // nvmlDeviceGetGpuInstanceProfileInfo: by enum index; NOT_SUPPORTED = not on
      // this board, INVALID_ARGUMENT = index newer than the driver (reference §3.4).
      nvmlReturn_t rc = f_.nvmlDeviceGetGpuInstanceProfileInfo(dev_, e, &info);
      if (rc == NVML_ERROR_NOT_SUPPORTED || rc == NVML_ERROR_INVALID_ARGUMENT) continue;
      check(rc, fmt::format("nvmlDeviceGetGpuInstanceProfileInfo(profile enum {})", e));
      GiProfile p;
      p.enum_index = e;
      p.id = info.id;
      p.p2p = info.isP2pSupported != 0;
      p.slice_count = info.sliceCount;
      p.instance_count = info.instanceCount;
      p.sm_count = info.multiprocessorCount;
      p.copy_engines = info.copyEngineCount;
      p.decoders = info.decoderCount;
      p.encoders = info.encoderCount;
      p.jpegs = info.jpegCount;
      p.ofas = info.ofaCount;
      p.memory_mb = info.memorySizeMB;
      nvmlGpuInstanceProfileInfo_v2_t v2{};
      v2.version = nvmlGpuInstanceProfileInfo_v2;
      // nvmlDeviceGetGpuInstanceProfileInfoV (v2 struct): the driver's own name.
      if (f_.nvmlDeviceGetGpuInstanceProfileInfoV(dev_, e, &v2) == NVML_SUCCESS && v2.name[0])
        p.name = std::string(v2.name, strnlen(v2.name, sizeof v2.name));
      else
        p.name = derive_gi_name(e, p.slice_count, p.memory_mb, identity_.memory_total);
      unsigned count = 0;
      // nvmlDeviceGetGpuInstancePossiblePlacements_v2: NULL array = count only.
      check(f_.nvmlDeviceGetGpuInstancePossiblePlacements_v2(dev_, p.id, nullptr, &count),
            fmt::format("nvmlDeviceGetGpuInstancePossiblePlacements_v2(profile {})", p.id));
      std::vector<nvmlGpuInstancePlacement_t> pl(count);
      if (count > 0)
        check(f_.nvmlDeviceGetGpuInstancePossiblePlacements_v2(dev_, p.id, pl.data(), &count),
              fmt::format("nvmlDeviceGetGpuInstancePossiblePlacements_v2(profile {})", p.id));
      for (unsigned i = 0; i < count && i < pl.size(); ++i)
        p.placements.push_back({pl[i].start, pl[i].size});
      table.gi.push_back(std::move(p));
    }
    table.sort_smi_order();
    profiles_ = std::move(table);
    return *profiles_;
  }

  uint32_t remaining_capacity(uint32_t profile_id) override {
    unsigned count = 0;
    // nvmlDeviceGetGpuInstanceRemainingCapacity: by profile ID.
    check(f_.nvmlDeviceGetGpuInstanceRemainingCapacity(dev_, profile_id, &count),
          fmt::format("nvmlDeviceGetGpuInstanceRemainingCapacity(profile {})", profile_id));
    return count;
  }

  std::vector<GpuInstance> gpu_instances() override {
    std::vector<GpuInstance> out;
    for (const GiProfile& p : profiles().gi) {
      std::vector<nvmlGpuInstance_t> handles(std::max<uint32_t>(p.instance_count, 1));
      unsigned count = static_cast<unsigned>(handles.size());
      // nvmlDeviceGetGpuInstances: caller sizes the array from instanceCount.
      check(f_.nvmlDeviceGetGpuInstances(dev_, p.id, handles.data(), &count),
            fmt::format("nvmlDeviceGetGpuInstances(profile {})", p.id));
      for (unsigned i = 0; i < count && i < handles.size(); ++i)
        out.push_back(describe(handles[i]));
    }
    std::sort(out.begin(), out.end(),
              [](const GpuInstance& a, const GpuInstance& b) { return a.id < b.id; });
    return out;
  }

  GpuInstance create_gpu_instance(uint32_t profile_id,
                                  const std::optional<Placement>& placement) override {
    nvmlGpuInstance_t gi = nullptr;
    if (placement) {
      nvmlGpuInstancePlacement_t pl{placement->start, placement->size};
      // nvmlDeviceCreateGpuInstanceWithPlacement: NVML >= 11.4 (R470).
      check(f_.nvmlDeviceCreateGpuInstanceWithPlacement(dev_, profile_id, &pl, &gi),
            fmt::format("nvmlDeviceCreateGpuInstanceWithPlacement(profile {}, placement {}:{})",
                        profile_id, placement->start, placement->size));
    } else {
      // nvmlDeviceCreateGpuInstance: the driver picks the placement.
      check(f_.nvmlDeviceCreateGpuInstance(dev_, profile_id, &gi),
            fmt::format("nvmlDeviceCreateGpuInstance(profile {})", profile_id));
    }
    return describe(gi);
  }

  void destroy_gpu_instance(uint32_t gi_id) override {
    // nvmlGpuInstanceDestroy: IN_USE while compute instances or processes exist.
    check(f_.nvmlGpuInstanceDestroy(gi_handle(gi_id)),
          fmt::format("nvmlGpuInstanceDestroy(GPU instance {})", gi_id));
  }

  std::vector<CiProfile> ci_profiles(uint32_t gi_id) override {
    return ci_profiles(gi_handle(gi_id), gi_id);
  }

  ComputeInstance create_compute_instance(uint32_t gi_id, uint32_t ci_profile_id,
                                          const std::optional<Placement>& placement) override {
    nvmlGpuInstance_t gi = gi_handle(gi_id);
    nvmlComputeInstance_t ci = nullptr;
    if (placement) {
      nvmlComputeInstancePlacement_t pl{placement->start, placement->size};
      // nvmlGpuInstanceCreateComputeInstanceWithPlacement: NVML >= 11.6 (R510).
      check(f_.nvmlGpuInstanceCreateComputeInstanceWithPlacement(gi, ci_profile_id, &pl, &ci),
            fmt::format("nvmlGpuInstanceCreateComputeInstanceWithPlacement(GPU instance {}, "
                        "profile {}, placement {}:{})",
                        gi_id, ci_profile_id, placement->start, placement->size));
    } else {
      // nvmlGpuInstanceCreateComputeInstance: the driver picks the placement.
      check(f_.nvmlGpuInstanceCreateComputeInstance(gi, ci_profile_id, &ci),
            fmt::format("nvmlGpuInstanceCreateComputeInstance(GPU instance {}, profile {})", gi_id,
                        ci_profile_id));
    }
    std::vector<CiProfile> cips = ci_profiles(gi, gi_id);
    return describe(ci, cips);
  }

  void destroy_compute_instance(uint32_t gi_id, uint32_t ci_id) override {
    nvmlGpuInstance_t gi = gi_handle(gi_id);
    nvmlComputeInstance_t ci = nullptr;
    // nvmlGpuInstanceGetComputeInstanceById: NOT_FOUND if absent.
    check(f_.nvmlGpuInstanceGetComputeInstanceById(gi, ci_id, &ci),
          fmt::format("nvmlGpuInstanceGetComputeInstanceById(GPU instance {}, {})", gi_id, ci_id));
    // nvmlComputeInstanceDestroy: IN_USE while processes run on it.
    check(f_.nvmlComputeInstanceDestroy(ci),
          fmt::format("nvmlComputeInstanceDestroy(GPU instance {}, compute instance {})", gi_id,
                      ci_id));
  }

  bool vgpu_heterogeneous_mode() override {
    nvmlVgpuHeterogeneousMode_t m{};
    m.version = nvmlVgpuHeterogeneousMode_v1;
    // nvmlDeviceGetVgpuHeterogeneousMode: NOT_SUPPORTED without the vGPU manager.
    check(f_.nvmlDeviceGetVgpuHeterogeneousMode(dev_, &m), "nvmlDeviceGetVgpuHeterogeneousMode");
    return m.mode == NVML_VGPU_PGPU_HETEROGENEOUS_MODE;
  }

  void set_vgpu_heterogeneous_mode(bool heterogeneous) override {
    nvmlVgpuHeterogeneousMode_t m{};
    m.version = nvmlVgpuHeterogeneousMode_v1;
    m.mode = heterogeneous ? NVML_VGPU_PGPU_HETEROGENEOUS_MODE : NVML_VGPU_PGPU_HOMOGENEOUS_MODE;
    // nvmlDeviceSetVgpuHeterogeneousMode: IN_USE once a vGPU exists (reference §8.13).
    check(f_.nvmlDeviceSetVgpuHeterogeneousMode(dev_, &m), "nvmlDeviceSetVgpuHeterogeneousMode");
  }

 private:
  void check(nvmlReturn_t rc, std::string_view call) const { host_.check(rc, call, gpu_); }

  nvmlGpuInstance_t gi_handle(uint32_t gi_id) {
    nvmlGpuInstance_t gi = nullptr;
    // nvmlDeviceGetGpuInstanceById: NOT_FOUND if absent.
    check(f_.nvmlDeviceGetGpuInstanceById(dev_, gi_id, &gi),
          fmt::format("nvmlDeviceGetGpuInstanceById({})", gi_id));
    return gi;
  }

  GpuInstance describe(nvmlGpuInstance_t gi) {
    nvmlGpuInstanceInfo_t info{};
    // nvmlGpuInstanceGetInfo: ID and placement (never derive one from the other).
    check(f_.nvmlGpuInstanceGetInfo(gi, &info), "nvmlGpuInstanceGetInfo");
    GpuInstance out;
    out.id = info.id;
    out.profile_id = info.profileId;
    out.placement = {info.placement.start, info.placement.size};
    std::vector<CiProfile> cips = ci_profiles(gi, info.id);
    for (const CiProfile& cp : cips) {
      std::vector<nvmlComputeInstance_t> handles(std::max<uint32_t>(cp.instance_count, 1));
      unsigned count = static_cast<unsigned>(handles.size());
      // nvmlGpuInstanceGetComputeInstances: by CI profile ID.
      check(f_.nvmlGpuInstanceGetComputeInstances(gi, cp.id, handles.data(), &count),
            fmt::format("nvmlGpuInstanceGetComputeInstances(GPU instance {}, profile {})", info.id,
                        cp.id));
      for (unsigned i = 0; i < count && i < handles.size(); ++i)
        out.compute_instances.push_back(describe(handles[i], cips));
    }
    std::sort(out.compute_instances.begin(), out.compute_instances.end(),
              [](const ComputeInstance& a, const ComputeInstance& b) { return a.id < b.id; });
    return out;
  }

  ComputeInstance describe(nvmlComputeInstance_t ci, const std::vector<CiProfile>& cips) {
    nvmlComputeInstanceInfo_t info{};
    // nvmlComputeInstanceGetInfo_v2: ID, profile and placement inside the GI.
    check(f_.nvmlComputeInstanceGetInfo_v2(ci, &info), "nvmlComputeInstanceGetInfo_v2");
    ComputeInstance out;
    out.id = info.id;
    out.profile_id = info.profileId;
    out.placement = {info.placement.start, info.placement.size};
    for (const CiProfile& cp : cips)
      if (cp.id == info.profileId) out.slice_count = cp.slice_count;
    return out;
  }

  std::vector<CiProfile> ci_profiles(nvmlGpuInstance_t gi, uint32_t gi_id) {
    nvmlGpuInstanceInfo_t giinfo{};
    check(f_.nvmlGpuInstanceGetInfo(gi, &giinfo), "nvmlGpuInstanceGetInfo");
    const GiProfile* gip = profiles().find_id(giinfo.profileId);
    std::vector<CiProfile> out;
    for (uint32_t e = 0; e < NVML_COMPUTE_INSTANCE_PROFILE_COUNT; ++e) {
      nvmlComputeInstanceProfileInfo_t info{};
      // nvmlGpuInstanceGetComputeInstanceProfileInfo: by CI enum, shared engines.
      nvmlReturn_t rc = f_.nvmlGpuInstanceGetComputeInstanceProfileInfo(
          gi, e, NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED, &info);
      if (rc == NVML_ERROR_NOT_SUPPORTED || rc == NVML_ERROR_INVALID_ARGUMENT) continue;
      check(rc, fmt::format("nvmlGpuInstanceGetComputeInstanceProfileInfo(GPU instance {}, "
                            "profile enum {})",
                            gi_id, e));
      CiProfile p;
      p.enum_index = e;
      p.id = info.id;
      p.slice_count = info.sliceCount;
      p.instance_count = info.instanceCount;
      p.sm_count = info.multiprocessorCount;
      p.copy_engines = info.sharedCopyEngineCount;
      p.decoders = info.sharedDecoderCount;
      p.encoders = info.sharedEncoderCount;
      p.jpegs = info.sharedJpegCount;
      p.ofas = info.sharedOfaCount;
      nvmlComputeInstanceProfileInfo_v2_t v2{};
      v2.version = nvmlComputeInstanceProfileInfo_v2;
      // nvmlGpuInstanceGetComputeInstanceProfileInfoV (v2 struct): the driver's name.
      if (f_.nvmlGpuInstanceGetComputeInstanceProfileInfoV(
              gi, e, NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED, &v2) == NVML_SUCCESS &&
          v2.name[0]) {
        p.name = std::string(v2.name, strnlen(v2.name, sizeof v2.name));
      } else if (gip != nullptr) {
        p.name = p.slice_count == gip->slice_count
                     ? gip->name
                     : fmt::format("MIG {}c.{}", p.slice_count, gip->short_name());
      }
      unsigned remaining = 0;
      // nvmlGpuInstanceGetComputeInstanceRemainingCapacity: by CI profile ID.
      check(f_.nvmlGpuInstanceGetComputeInstanceRemainingCapacity(gi, p.id, &remaining),
            fmt::format("nvmlGpuInstanceGetComputeInstanceRemainingCapacity(GPU instance {}, "
                        "profile {})",
                        gi_id, p.id));
      p.remaining = remaining;
      out.push_back(std::move(p));
    }
    return out;
  }

  NvmlHost& host_;
  const NvmlFunctions& f_;
  nvmlDevice_t dev_ = nullptr;
  GpuIdentity identity_;
  std::string gpu_;
  std::optional<ProfileTable> profiles_;
};

NvmlHost::NvmlHost(const std::string& library) : lib_(library) {}
NvmlHost::~NvmlHost() = default;

void NvmlHost::check(nvmlReturn_t rc, std::string_view call, std::string_view gpu) const {
  if (rc == NVML_SUCCESS) return;
  const char* s = lib_.fn().nvmlErrorString(rc);
  std::string text = s != nullptr ? s : nvml_default_error_string(rc);
  throw NvmlError(
      rc, text,
      gpu.empty() ? fmt::format("{}: {} ({})", call, text, nvml_return_name(rc))
                  : fmt::format("{} on GPU {}: {} ({})", call, gpu, text, nvml_return_name(rc)));
}

std::string NvmlHost::driver_version() {
  char buf[NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE] = {};
  // nvmlSystemGetDriverVersion: "580.159.04".
  check(lib_.fn().nvmlSystemGetDriverVersion(buf, sizeof buf), "nvmlSystemGetDriverVersion", "");
  return buf;
}

unsigned NvmlHost::gpu_count() {
  if (!count_) {
    unsigned n = 0;
    // nvmlDeviceGetCount_v2: devices this process may see (not those it cannot open).
    check(lib_.fn().nvmlDeviceGetCount_v2(&n), "nvmlDeviceGetCount_v2", "");
    count_ = n;
  }
  return *count_;
}

MigGpu& NvmlHost::gpu(unsigned index) {
  if (index >= gpu_count())
    throw Error(Errc::kNotFound,
                fmt::format("no GPU with index {} (NVML reports {})", index, gpu_count()));
  auto& slot = gpus_[index];
  if (!slot) slot = std::make_unique<NvmlGpu>(*this, index);
  return *slot;
}

unsigned NvmlHost::index_by_pci_bus_id(const std::string& bus_id) {
  nvmlDevice_t dev = nullptr;
  // nvmlDeviceGetHandleByPciBusId_v2: accepts both "0000:06:00.0" and "00000000:06:00.0".
  check(lib_.fn().nvmlDeviceGetHandleByPciBusId_v2(bus_id.c_str(), &dev),
        fmt::format("nvmlDeviceGetHandleByPciBusId_v2({})", bus_id), "");
  unsigned index = 0;
  // nvmlDeviceGetIndex: the index nvidia-smi -i uses.
  check(lib_.fn().nvmlDeviceGetIndex(dev, &index), "nvmlDeviceGetIndex", bus_id);
  return index;
}

unsigned NvmlHost::index_by_uuid(const std::string& uuid) {
  nvmlDevice_t dev = nullptr;
  // nvmlDeviceGetHandleByUUID: "GPU-<uuid>".
  check(lib_.fn().nvmlDeviceGetHandleByUUID(uuid.c_str(), &dev),
        fmt::format("nvmlDeviceGetHandleByUUID({})", uuid), "");
  unsigned index = 0;
  check(lib_.fn().nvmlDeviceGetIndex(dev, &index), "nvmlDeviceGetIndex", uuid);
  return index;
}

}  // namespace gpuvm::mig
