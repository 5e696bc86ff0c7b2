#include "mig/backend.h"

#include "mig/nvml_errors.h"

namespace gpuvm::mig {

const char* nvml_return_name(nvmlReturn_t rc) {
  switch (rc) {
#define GPUVM_RC(name) \
  case name:           \
    return #name;
    GPUVM_RC(NVML_SUCCESS)
    GPUVM_RC(NVML_ERROR_UNINITIALIZED)
    GPUVM_RC(NVML_ERROR_INVALID_ARGUMENT)
    GPUVM_RC(NVML_ERROR_NOT_SUPPORTED)
    GPUVM_RC(NVML_ERROR_NO_PERMISSION)
    GPUVM_RC(NVML_ERROR_ALREADY_INITIALIZED)
    GPUVM_RC(NVML_ERROR_NOT_FOUND)
    GPUVM_RC(NVML_ERROR_INSUFFICIENT_SIZE)
    GPUVM_RC(NVML_ERROR_INSUFFICIENT_POWER)
    GPUVM_RC(NVML_ERROR_DRIVER_NOT_LOADED)
    GPUVM_RC(NVML_ERROR_TIMEOUT)
    GPUVM_RC(NVML_ERROR_IRQ_ISSUE)
    GPUVM_RC(NVML_ERROR_LIBRARY_NOT_FOUND)
    GPUVM_RC(NVML_ERROR_FUNCTION_NOT_FOUND)
    GPUVM_RC(NVML_ERROR_CORRUPTED_INFOROM)
    GPUVM_RC(NVML_ERROR_GPU_IS_LOST)
    GPUVM_RC(NVML_ERROR_RESET_REQUIRED)
    GPUVM_RC(NVML_ERROR_OPERATING_SYSTEM)
    GPUVM_RC(NVML_ERROR_LIB_RM_VERSION_MISMATCH)
    GPUVM_RC(NVML_ERROR_IN_USE)
    GPUVM_RC(NVML_ERROR_MEMORY)
    GPUVM_RC(NVML_ERROR_NO_DATA)
    GPUVM_RC(NVML_ERROR_VGPU_ECC_NOT_SUPPORTED)
    GPUVM_RC(NVML_ERROR_INSUFFICIENT_RESOURCES)
    GPUVM_RC(NVML_ERROR_FREQ_NOT_SUPPORTED)
    GPUVM_RC(NVML_ERROR_ARGUMENT_VERSION_MISMATCH)
    GPUVM_RC(NVML_ERROR_DEPRECATED)
    GPUVM_RC(NVML_ERROR_NOT_READY)
    GPUVM_RC(NVML_ERROR_GPU_NOT_FOUND)
    GPUVM_RC(NVML_ERROR_INVALID_STATE)
    GPUVM_RC(NVML_ERROR_RESET_TYPE_NOT_SUPPORTED)
    GPUVM_RC(NVML_ERROR_UNKNOWN)
#undef GPUVM_RC
  }
  return "NVML_ERROR_UNKNOWN";
}

const char* nvml_default_error_string(nvmlReturn_t rc) { return nvml_error_text(rc); }

Errc errc_from_nvml(nvmlReturn_t rc) {
  switch (rc) {
    case NVML_ERROR_NOT_FOUND:
    case NVML_ERROR_GPU_NOT_FOUND:
      return Errc::kNotFound;
    case NVML_ERROR_IN_USE:
      return Errc::kBusy;
    case NVML_ERROR_NOT_SUPPORTED:
      return Errc::kUnsupported;
    case NVML_ERROR_INSUFFICIENT_RESOURCES:
    case NVML_ERROR_INVALID_STATE:
      return Errc::kConflict;
    default:
      return Errc::kDriver;
  }
}

bool MigGpu::vgpu_heterogeneous_mode() {
  throw NvmlError(NVML_ERROR_NOT_SUPPORTED, nvml_default_error_string(NVML_ERROR_NOT_SUPPORTED),
                  identity().pci_bus_id + ": no vGPU heterogeneous mode");
}

void MigGpu::set_vgpu_heterogeneous_mode(bool) {
  vgpu_heterogeneous_mode();
}

MigGpu* find_gpu(MigHost& host, const Bdf& address) {
  for (unsigned i = 0, n = host.gpu_count(); i < n; ++i)
    if (Bdf::try_parse(host.gpu(i).identity().pci_bus_id) == address) return &host.gpu(i);
  return nullptr;
}

}  // namespace gpuvm::mig
