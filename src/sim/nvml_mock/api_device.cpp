// Library and device calls of the mock libnvidia-ml.so.1: init/shutdown,
// versions, error strings, device enumeration and identity.
// Behaviour: reference/nvidia.md §4; values: the real H100 capture
// (fixtures/h100-sxm5-passthrough/nvml-readonly*.json, driver 580.159.04).
#include <string>

#include "core/uuid.h"
#include "mig/nvml_errors.h"
#include "sim/mig_ops.h"
#include "sim/nvml_mock/instances.h"
#include "sim/nvml_mock/library.h"

using gpuvm::Bdf;
using namespace gpuvm::sim;
using namespace gpuvm::sim::nvml_mock;

namespace {

// Framebuffer the driver keeps for itself: used = 480 MiB on the idle real
// H100 (nvml-readonly.json memory.used = 503316480) [observed, MIG off].
constexpr unsigned long long kReservedBytes = 480ull << 20;

std::string driver_version(Library& lib) {
  for (const auto& g : lib.gpus()) {
    if (!g.state->driver_version.empty()) return g.state->driver_version;
  }
  return "580.159.04";  // the driver of the H100 capture
}

const GpuModel& model_of(const Gpu& g) {
  if (g.model == nullptr) {
    fail(NVML_ERROR_UNKNOWN,
         "GPU " + g.state->bdf.str() + " has unknown model '" + g.state->model + "'");
  }
  return *g.model;
}

}  // namespace

extern "C" {

nvmlReturn_t nvmlInit_v2(void) {
  return guarded_noinit("nvmlInit_v2", [](Library& lib) {
    lib.init();
    try {
      lib.apply_faults(std::nullopt);  // an injected init failure leaves it uninitialized
    } catch (...) {
      lib.shutdown();
      throw;
    }
  });
}

// nvml.h: UNINITIALIZED when the library was not initialized.
nvmlReturn_t nvmlShutdown(void) {
  return guarded_noinit("nvmlShutdown", [](Library& lib) { lib.shutdown(); });
}

// The strings the real driver prints (nvidia-smi shows them verbatim).
const char* nvmlErrorString(nvmlReturn_t result) { return gpuvm::mig::nvml_error_text(result); }

// "580.159.04" (nvml-readonly.json "driver").
nvmlReturn_t nvmlSystemGetDriverVersion(char* version, unsigned int length) {
  return guarded("nvmlSystemGetDriverVersion", [&](Library& lib) {
    lib.read();
    lib.apply_faults(std::nullopt);
    copy_string(driver_version(lib), version, length);
  });
}

// "13.580.159.04": NVML API major 13 + the driver version (nvml-readonly.json "nvml").
nvmlReturn_t nvmlSystemGetNVMLVersion(char* version, unsigned int length) {
  return guarded("nvmlSystemGetNVMLVersion", [&](Library& lib) {
    lib.read();
    lib.apply_faults(std::nullopt);
    copy_string("13." + driver_version(lib), version, length);
  });
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int* deviceCount) {
  return guarded("nvmlDeviceGetCount_v2", [&](Library& lib) {
    auto& count = out(deviceCount);
    lib.read();
    lib.apply_faults(std::nullopt);
    count = static_cast<unsigned int>(lib.gpus().size());
  });
}

// Devices are numbered in PCI address order, as the driver does.
nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t* device) {
  return guarded("nvmlDeviceGetHandleByIndex_v2", [&](Library& lib) {
    auto& handle = out(device);
    lib.read();
    lib.apply_faults(std::nullopt);
    const auto gpus = lib.gpus();
    if (index >= gpus.size()) {
      fail(NVML_ERROR_INVALID_ARGUMENT,
           "index " + std::to_string(index) + " of " + std::to_string(gpus.size()) + " devices");
    }
    const GpuState& g = *gpus[index].state;
    if (g.fallen_off_bus) fail(NVML_ERROR_GPU_IS_LOST, g.bdf.str() + " has fallen off the bus");
    handle = lib.device_handle(g.bdf);
  });
}

// Accepts the forms NVML prints ("00000000:41:00.0", "0000:41:00.0", "41:00.0").
nvmlReturn_t nvmlDeviceGetHandleByPciBusId_v2(const char* pciBusId, nvmlDevice_t* device) {
  return guarded("nvmlDeviceGetHandleByPciBusId_v2", [&](Library& lib) {
    auto& handle = out(device);
    if (pciBusId == nullptr) fail(NVML_ERROR_INVALID_ARGUMENT, "NULL PCI bus id");
    const auto bdf = Bdf::try_parse(pciBusId);
    if (!bdf) fail(NVML_ERROR_INVALID_ARGUMENT, std::string("bad PCI bus id ") + pciBusId);
    lib.read();
    lib.apply_faults(bdf);
    for (const auto& g : lib.gpus()) {
      if (g.state->bdf != *bdf) continue;
      if (g.state->fallen_off_bus) fail(NVML_ERROR_GPU_IS_LOST, bdf->str() + " is lost");
      handle = lib.device_handle(*bdf);
      return;
    }
    // The R580 driver answers INVALID_ARGUMENT, not NOT_FOUND, for a well-formed
    // bus id with no GPU behind it (tools/device/nvml_mock_probe on the real H100).
    fail(NVML_ERROR_INVALID_ARGUMENT, "no GPU at " + bdf->str());
  });
}

// GPU UUIDs ("GPU-...") and MIG device UUIDs ("MIG-...").
nvmlReturn_t nvmlDeviceGetHandleByUUID(const char* uuid, nvmlDevice_t* device) {
  return guarded("nvmlDeviceGetHandleByUUID", [&](Library& lib) {
    auto& handle = out(device);
    if (uuid == nullptr) fail(NVML_ERROR_INVALID_ARGUMENT, "NULL UUID");
    const std::string want(uuid);
    lib.read();
    lib.apply_faults(std::nullopt);
    for (const auto& g : lib.gpus()) {
      if (g.state->uuid == want) {
        if (g.state->fallen_off_bus) fail(NVML_ERROR_GPU_IS_LOST, want + " is lost");
        handle = lib.device_handle(g.state->bdf);
        return;
      }
    }
    if (want.starts_with("MIG-")) {
      for (const auto& g : lib.gpus()) {
        const Bdf bdf = g.state->bdf;
        for (nvmlDevice_t mig : mig_devices(lib, lib.device_handle(bdf), g)) {
          if (mig_uuid(*g.state, mig) == want) {
            handle = mig;
            return;
          }
        }
      }
    }
    fail(NVML_ERROR_NOT_FOUND, "no device with UUID " + want);
  });
}

nvmlReturn_t nvmlDeviceGetIndex(nvmlDevice_t device, unsigned int* index) {
  return guarded("nvmlDeviceGetIndex", [&](Library& lib) {
    auto& idx = out(index);
    idx = lib.gpu_of(device).index;
  });
}

// "NVIDIA H100 80GB HBM3"; a MIG device: "<GPU name> MIG <CI profile name>".
nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char* name, unsigned int length) {
  return guarded("nvmlDeviceGetName", [&](Library& lib) {
    const Gpu g = lib.gpu_of(device);
    std::string value(model_of(g).nvml_name);
    if (device->is_mig) value += " MIG " + mig_profile_name(lib, g, device);
    copy_string(value, name, length);
  });
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char* uuid, unsigned int length) {
  return guarded("nvmlDeviceGetUUID", [&](Library& lib) {
    const Gpu g = lib.gpu_of(device);
    if (device->is_mig) {
      check_mig_device(lib, g, device);
      copy_string(mig_uuid(*g.state, device), uuid, length);
    } else {
      copy_string(g.state->uuid, uuid, length);
    }
  });
}

// busIdLegacy "0000:00:06.0", busId "00000000:00:06.0", pciDeviceId
// (device << 16) | vendor, pciSubSystemId (subsystem device << 16) | vendor.
nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t* pci) {
  return guarded("nvmlDeviceGetPciInfo_v3", [&](Library& lib) {
    auto& info = out(pci);
    const Gpu g = lib.gpu_of(device);
    const GpuModel& m = model_of(g);
    const Bdf& bdf = g.state->bdf;
    nvmlPciInfo_t v{};
    copy_string(bdf.str(), v.busIdLegacy, sizeof v.busIdLegacy);
    copy_string(bdf.nvml_bus_id(), v.busId, sizeof v.busId);
    v.domain = bdf.domain;
    v.bus = bdf.bus;
    v.device = bdf.device;
    v.pciDeviceId = (static_cast<unsigned int>(m.device_id) << 16) | 0x10deu;
    v.pciSubSystemId = (static_cast<unsigned int>(m.subsystem_device) << 16) | m.subsystem_vendor;
    info = v;
  });
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t* memory) {
  return guarded("nvmlDeviceGetMemoryInfo", [&](Library& lib) {
    auto& mem = out(memory);
    const Gpu g = lib.gpu_of(device);
    nvmlMemory_t v{};
    if (device->is_mig) {
      check_mig_device(lib, g, device);
      const GiProfile* p = g.mig->find_by_id(device->gpu_instance->profile_id);
      v.total = (p != nullptr ? p->memory_size_mb : 0) << 20;
      v.used = 0;
    } else {
      v.total = model_of(g).memory_mib << 20;
      v.used = kReservedBytes;
    }
    v.free = v.total - v.used;
    mem = v;
  });
}

// /dev/nvidia<minor>: the NVML index on the simulated host.
nvmlReturn_t nvmlDeviceGetMinorNumber(nvmlDevice_t device, unsigned int* minorNumber) {
  return guarded("nvmlDeviceGetMinorNumber", [&](Library& lib) {
    auto& minor = out(minorNumber);
    minor = lib.gpu_of(device).index;
  });
}

}  // extern "C"
