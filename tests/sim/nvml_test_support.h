// Shared by the mock NVML tests: load the built libnvidia-ml.so.1 with
// dlopen (as gpuvm's loader does), resolve every function, and write a
// simulator state file with the GPUs a test needs.
#pragma once

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/bdf.h"
#include "sim/host_state.h"
#include "sim/nvml_mock/nvml_mock_control.h"
#include "support/test_support.h"

namespace gpuvm::test {

// Every exported function of the mock, resolved by name from the .so.
struct Nvml {
#define GPUVM_NVML_MEMBER(name, params) nvmlReturn_t(*name) params = nullptr;
  GPUVM_NVML_FUNCTIONS(GPUVM_NVML_MEMBER)
  GPUVM_NVML_MOCK_EXTRA_FUNCTIONS(GPUVM_NVML_MEMBER)
#undef GPUVM_NVML_MEMBER
  const char* (*nvmlErrorString)(nvmlReturn_t) = nullptr;
  nvmlReturn_t (*gpuvmSimInjectFault)(const char*, nvmlReturn_t, int, unsigned int,
                                      const char*) = nullptr;
  nvmlReturn_t (*gpuvmSimClearFaults)(void) = nullptr;
  nvmlReturn_t (*gpuvmSimSetGpuLost)(const char*, int) = nullptr;
  nvmlReturn_t (*gpuvmSimRemoveGpu)(const char*) = nullptr;
  nvmlReturn_t (*gpuvmSimResetGpu)(const char*) = nullptr;
  unsigned long long (*gpuvmSimCallCount)(const char*) = nullptr;
  void (*gpuvmSimResetCallCounts)(void) = nullptr;

  void* handle = nullptr;
};

inline std::filesystem::path mock_library_path() {
  return GPUVM_NVML_MOCK_PATH;
}

template <class F>
void resolve(void* handle, F& fn, const char* name) {
  fn = reinterpret_cast<F>(dlsym(handle, name));
  ASSERT_NE(fn, nullptr) << "libnvidia-ml.so.1 does not export " << name;
}

// dlopen()s the mock once per process (RTLD_LOCAL: no symbol leaks into the test).
inline const Nvml& nvml() {
  static Nvml n = [] {
    Nvml r;
    r.handle = dlopen(mock_library_path().c_str(), RTLD_NOW | RTLD_LOCAL);
    EXPECT_NE(r.handle, nullptr) << dlerror();
    if (r.handle == nullptr) return r;
#define GPUVM_NVML_RESOLVE(name, params) resolve(r.handle, r.name, #name);
    GPUVM_NVML_FUNCTIONS(GPUVM_NVML_RESOLVE)
    GPUVM_NVML_MOCK_EXTRA_FUNCTIONS(GPUVM_NVML_RESOLVE)
#undef GPUVM_NVML_RESOLVE
    resolve(r.handle, r.nvmlErrorString, "nvmlErrorString");
    resolve(r.handle, r.gpuvmSimInjectFault, "gpuvmSimInjectFault");
    resolve(r.handle, r.gpuvmSimClearFaults, "gpuvmSimClearFaults");
    resolve(r.handle, r.gpuvmSimSetGpuLost, "gpuvmSimSetGpuLost");
    resolve(r.handle, r.gpuvmSimRemoveGpu, "gpuvmSimRemoveGpu");
    resolve(r.handle, r.gpuvmSimResetGpu, "gpuvmSimResetGpu");
    resolve(r.handle, r.gpuvmSimCallCount, "gpuvmSimCallCount");
    resolve(r.handle, r.gpuvmSimResetCallCounts, "gpuvmSimResetCallCounts");
    return r;
  }();
  return n;
}

inline sim::GpuState make_gpu(const std::string& bdf, const std::string& model,
                              const std::string& uuid) {
  sim::GpuState g;
  g.bdf = Bdf::parse(bdf);
  g.model = model;
  g.uuid = uuid;
  g.driver_version = "580.159.04";
  return g;
}

// A state file in a private directory, named by GPUVM_SIM_STATE while the
// object lives; nvmlInit_v2 on construction, nvmlShutdown on destruction.
class SimHost {
 public:
  explicit SimHost(const std::vector<sim::GpuState>& gpus, bool init = true) : init_(init) {
    sim::HostState state;
    state.gpus = gpus;
    path_ = dir_.path() / "state.json";
    sim::StateFile(path_).write(state);
    ::setenv("GPUVM_SIM_STATE", path_.c_str(), 1);
    if (init_) {
      const nvmlReturn_t rc = nvml().nvmlInit_v2();
      EXPECT_EQ(rc, NVML_SUCCESS);
    }
  }
  SimHost(const SimHost&) = delete;
  SimHost& operator=(const SimHost&) = delete;
  ~SimHost() {
    if (init_) nvml().nvmlShutdown();
    ::unsetenv("GPUVM_SIM_STATE");
  }

  const std::filesystem::path& path() const { return path_; }
  sim::HostState state() const { return sim::StateFile(path_).read(); }

  nvmlDevice_t device(unsigned int index) const {
    nvmlDevice_t d = nullptr;
    EXPECT_EQ(nvml().nvmlDeviceGetHandleByIndex_v2(index, &d), NVML_SUCCESS);
    return d;
  }

 private:
  TempDir dir_;
  std::filesystem::path path_;
  bool init_;
};

// The H100 of the capture: fixtures/h100-sxm5-passthrough (nvml-readonly-probes.json).
inline sim::GpuState capture_h100() {
  return make_gpu("0000:00:06.0", "H100-SXM5-80GB", "GPU-9a3d9565-eee0-8ede-250f-02b95b8ca09e");
}

}  // namespace gpuvm::test
