// The NVML shared library, opened with dlopen(3) and resolved into a table of
// function pointers (DCGM's nvml_loader pattern). gpuvm never links against
// libnvidia-ml: a host without the driver still runs every other command, and
// tests point --nvml-lib / GPUVM_NVML_LIB at gpuvm-sim's mock library.
#pragma once

#include <string>
#include <vector>

#include "mig/nvml_api.h"

namespace gpuvm::mig {

// One pointer per function of GPUVM_NVML_FUNCTIONS, same name as the symbol.
struct NvmlFunctions {
#define GPUVM_NVML_POINTER(name, params) nvmlReturn_t(*name) params = nullptr;
  GPUVM_NVML_FUNCTIONS(GPUVM_NVML_POINTER)
#undef GPUVM_NVML_POINTER
  const char* (*nvmlErrorString)(nvmlReturn_t result) = nullptr;
};

// Names of every symbol the loader resolves, in GPUVM_NVML_FUNCTIONS order
// (plus nvmlErrorString): used by the coverage test and the device checker.
std::vector<std::string> nvml_symbol_names();

// Where the loader looks when no library is named: the dynamic linker's
// search first (ld.so.cache knows the distribution's path), then the places
// NVIDIA's installers and container toolkits put it.
std::vector<std::string> default_nvml_candidates();

// RAII: the constructor dlopens the library, resolves every symbol and calls
// nvmlInit_v2; the destructor calls nvmlShutdown and dlcloses it.
class NvmlLibrary {
 public:
  // `path` empty: try default_nvml_candidates() in order. Throws gpuvm::Error
  // (kNotFound when no library could be opened, kUnsupported naming the
  // library and the first missing symbol when the driver is too old,
  // kDriver when nvmlInit_v2 fails).
  explicit NvmlLibrary(const std::string& path = "");
  NvmlLibrary(const NvmlLibrary&) = delete;
  NvmlLibrary& operator=(const NvmlLibrary&) = delete;
  ~NvmlLibrary();

  const NvmlFunctions& fn() const { return fn_; }
  // The library actually opened (the candidate that worked, or `path`).
  const std::string& path() const { return path_; }

 private:
  void* handle_ = nullptr;
  std::string path_;
  NvmlFunctions fn_;
};

}  // namespace gpuvm::mig
