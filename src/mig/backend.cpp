#include "mig/backend.h"

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

const char* nvml_default_error_string(nvmlReturn_t rc) {
  switch (rc) {
    case NVML_SUCCESS:
      return "Success";
    case NVML_ERROR_UNINITIALIZED:
      return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT:
      return "Invalid Argument";
    case NVML_ERROR_NOT_SUPPORTED:
      return "Not Supported";
    case NVML_ERROR_NO_PERMISSION:
      return "Insufficient Permissions";
    case NVML_ERROR_ALREADY_INITIALIZED:
      return "Already Initialized";
    case NVML_ERROR_NOT_FOUND:
      return "Not Found";
    case NVML_ERROR_INSUFFICIENT_SIZE:
      return "Insufficient Size";
    case NVML_ERROR_DRIVER_NOT_LOADED:
      return "Driver Not Loaded";
    case NVML_ERROR_TIMEOUT:
      return "Timeout";
    case NVML_ERROR_GPU_IS_LOST:
      return "GPU is lost";
    case NVML_ERROR_RESET_REQUIRED:
      return "GPU requires restart";
    case NVML_ERROR_IN_USE:
      return "In use by another client";
    case NVML_ERROR_MEMORY:
      return "Insufficient Memory";
    case NVML_ERROR_NO_DATA:
      return "No data";
    case NVML_ERROR_INSUFFICIENT_RESOURCES:
      return "Insufficient Resources";
    case NVML_ERROR_ARGUMENT_VERSION_MISMATCH:
      return "Version mismatch between passed in structure and library";
    case NVML_ERROR_NOT_READY:
      return "System is not ready";
    case NVML_ERROR_GPU_NOT_FOUND:
      return "GPU not found";
    case NVML_ERROR_INVALID_STATE:
      return "Invalid state";
    default:
      return "Unknown Error";
  }
}

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

}  // namespace gpuvm::mig
