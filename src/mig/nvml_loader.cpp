// No fmt here: tools/device builds the loader alone, with nothing but a C++ compiler.
#include "mig/nvml_loader.h"

#include <dlfcn.h>

#include <string>

#include "core/error.h"

namespace gpuvm::mig {

std::vector<std::string> nvml_symbol_names() {
  std::vector<std::string> names;
#define GPUVM_NVML_NAME(name, params) names.emplace_back(#name);
  GPUVM_NVML_FUNCTIONS(GPUVM_NVML_NAME)
#undef GPUVM_NVML_NAME
  names.emplace_back("nvmlErrorString");
  return names;
}

std::vector<std::string> default_nvml_candidates() {
  return {
      "libnvidia-ml.so.1",                                           // ld.so search path / cache
      "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1",                 // Debian/Ubuntu packages
      "/usr/lib64/libnvidia-ml.so.1",                                // RHEL-like .run installs
      "/usr/lib/libnvidia-ml.so.1",                                  // .run installer default
      "/usr/local/nvidia/lib64/libnvidia-ml.so.1",                   // container toolkit mounts
      "/usr/lib/x86_64-linux-gnu/nvidia/current/libnvidia-ml.so.1",  // Debian nvidia-driver
  };
}

namespace {

template <typename Fn>
void resolve(void* handle, const std::string& library, const char* name, Fn& slot) {
  dlerror();
  void* sym = dlsym(handle, name);
  if (sym == nullptr) {
    throw Error(Errc::kUnsupported,
                "NVML library " + library + " has no symbol " + name +
                    ": the NVIDIA driver is too old for gpuvm (it needs the R580 NVML API, "
                    "version 13)");
  }
  slot = reinterpret_cast<Fn>(sym);
}

}  // namespace

NvmlLibrary::NvmlLibrary(const std::string& path) {
  std::vector<std::string> candidates =
      path.empty() ? default_nvml_candidates() : std::vector<std::string>{path};
  std::string errors;
  for (const std::string& candidate : candidates) {
    // RTLD_NOW: a library with unresolvable dependencies fails here, not at
    // the first call; RTLD_LOCAL keeps its symbols out of our namespace.
    handle_ = dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle_ != nullptr) {
      path_ = candidate;
      break;
    }
    const char* why = dlerror();
    errors += "\n  " + candidate + ": " + (why != nullptr ? why : "unknown error");
  }
  if (handle_ == nullptr) {
    throw Error(Errc::kNotFound,
                path.empty() ? "cannot load the NVML library (is the NVIDIA driver installed? "
                               "--nvml-lib / GPUVM_NVML_LIB name another one); tried:" +
                                   errors
                             : "cannot load the NVML library " + path + ":" + errors);
  }
  try {
#define GPUVM_NVML_RESOLVE(name, params) resolve(handle_, path_, #name, fn_.name);
    GPUVM_NVML_FUNCTIONS(GPUVM_NVML_RESOLVE)
#undef GPUVM_NVML_RESOLVE
    resolve(handle_, path_, "nvmlErrorString", fn_.nvmlErrorString);
    // nvmlInit_v2: NVML API >= 5; pairs with nvmlShutdown in the destructor.
    nvmlReturn_t rc = fn_.nvmlInit_v2();
    if (rc != NVML_SUCCESS) {
      const char* text = fn_.nvmlErrorString(rc);
      throw Error(Errc::kDriver, "nvmlInit_v2 in " + path_ +
                                     " failed: " + (text != nullptr ? text : "?") + " (code " +
                                     std::to_string(static_cast<int>(rc)) + ")");
    }
  } catch (...) {
    dlclose(handle_);
    throw;
  }
}

NvmlLibrary::~NvmlLibrary() {
  // nvmlShutdown: balanced with the nvmlInit_v2 of the constructor.
  fn_.nvmlShutdown();
#if defined(__SANITIZE_ADDRESS__)
  // Under AddressSanitizer the library stays mapped: after dlclose its
  // globals stop being roots, so LeakSanitizer would report what the library
  // still owns as leaked and could not name its frames (the LSan FAQ's advice).
  (void)handle_;
#else
  dlclose(handle_);
#endif
}

}  // namespace gpuvm::mig
