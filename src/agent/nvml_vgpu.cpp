#include "agent/nvml_vgpu.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "mig/nvml_host.h"

namespace gpuvm::agent {

std::optional<NvmlVgpuState> nvml_vgpu_state(mig::MigHost& host, mig::MigGpu& gpu) {
  // The vGPU calls are not part of the MIG seam (MigGpu); only a host backed
  // by the library has them.
  auto* nvml = dynamic_cast<mig::NvmlHost*>(&host);
  if (nvml == nullptr) return std::nullopt;
  const mig::NvmlFunctions& f = nvml->library().fn();
  const std::string& bus_id = gpu.identity().pci_bus_id;
  auto check = [&](nvmlReturn_t rc, std::string_view call) { nvml->check(rc, call, bus_id); };

  nvmlDevice_t dev = nullptr;
  // nvmlDeviceGetHandleByPciBusId_v2: NVML's "00000000:3a:00.0" form.
  check(f.nvmlDeviceGetHandleByPciBusId_v2(bus_id.c_str(), &dev),
        "nvmlDeviceGetHandleByPciBusId_v2");
  unsigned count = 0;
  // nvmlDeviceGetSupportedVgpus: a NULL array asks for the count
  // (INSUFFICIENT_SIZE when there are types); NOT_SUPPORTED without a vGPU
  // manager (real H100 in passthrough).
  nvmlReturn_t rc = f.nvmlDeviceGetSupportedVgpus(dev, &count, nullptr);
  if (rc == NVML_ERROR_NOT_SUPPORTED) return std::nullopt;
  if (rc != NVML_ERROR_INSUFFICIENT_SIZE) check(rc, "nvmlDeviceGetSupportedVgpus");
  std::vector<nvmlVgpuTypeId_t> ids(count);
  if (count > 0)
    check(f.nvmlDeviceGetSupportedVgpus(dev, &count, ids.data()), "nvmlDeviceGetSupportedVgpus");
  ids.resize(std::min<size_t>(count, ids.size()));

  NvmlVgpuState out;
  out.types.reserve(ids.size());
  for (nvmlVgpuTypeId_t id : ids) {
    NvmlVgpuType t;
    t.id = id;
    char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE] = {};
    unsigned size = sizeof name;
    // nvmlVgpuTypeGetName: "NVIDIA H100XM-1-10C"; *size in = buffer size.
    check(f.nvmlVgpuTypeGetName(id, name, &size), fmt::format("nvmlVgpuTypeGetName({})", id));
    t.name = std::string(name, strnlen(name, sizeof name));
    unsigned long long fb = 0;
    // nvmlVgpuTypeGetFramebufferSize: bytes.
    check(f.nvmlVgpuTypeGetFramebufferSize(id, &fb),
          fmt::format("nvmlVgpuTypeGetFramebufferSize({})", id));
    t.framebuffer_bytes = fb;
    // nvmlVgpuTypeGetMaxInstances: per GPU; follows the mixed-size mode.
    check(f.nvmlVgpuTypeGetMaxInstances(dev, id, &t.max_instances),
          fmt::format("nvmlVgpuTypeGetMaxInstances({})", id));
    unsigned gi_profile = NVML_INVALID_GPU_INSTANCE_PROFILE_ID;
    // nvmlVgpuTypeGetGpuInstanceProfileId: INVALID_GPU_INSTANCE_PROFILE_ID
    // for a time-sliced type.
    check(f.nvmlVgpuTypeGetGpuInstanceProfileId(id, &gi_profile),
          fmt::format("nvmlVgpuTypeGetGpuInstanceProfileId({})", id));
    if (gi_profile != NVML_INVALID_GPU_INSTANCE_PROFILE_ID) t.gi_profile_id = gi_profile;
    out.types.push_back(std::move(t));
  }
  nvmlVgpuHeterogeneousMode_t mode{};
  mode.version = nvmlVgpuHeterogeneousMode_v1;
  // nvmlDeviceGetVgpuHeterogeneousMode (R550+): NOT_SUPPORTED in MIG mode.
  rc = f.nvmlDeviceGetVgpuHeterogeneousMode(dev, &mode);
  if (rc != NVML_ERROR_NOT_SUPPORTED) {
    check(rc, "nvmlDeviceGetVgpuHeterogeneousMode");
    out.heterogeneous = mode.mode == NVML_VGPU_PGPU_HETEROGENEOUS_MODE;
  }
  return out;
}

}  // namespace gpuvm::agent
