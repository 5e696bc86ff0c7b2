// The mock library as a library: every function gpuvm calls is exported
// (the DCGM mock's coverage test), init/shutdown rules, no state = no
// driver, fault injection from the state file, lost/removed GPUs, call counts.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "nvml_test_support.h"

namespace gpuvm::test {
namespace {

const Nvml& n() {
  return nvml();
}

// Every symbol of GPUVM_NVML_FUNCTIONS (what gpuvm's loader resolves) is
// exported by the built libnvidia-ml.so.1, and nothing of gpuvm's C++ leaks.
TEST(NvmlExports, EveryFunctionGpuvmCallsIsExported) {
  ASSERT_NE(n().handle, nullptr);
  const char* names[] = {
#define GPUVM_NVML_NAME(name, params) #name,
      GPUVM_NVML_FUNCTIONS(GPUVM_NVML_NAME) GPUVM_NVML_MOCK_EXTRA_FUNCTIONS(GPUVM_NVML_NAME)
#undef GPUVM_NVML_NAME
          "nvmlErrorString"};
  EXPECT_GE(sizeof names / sizeof names[0], 50u);
  for (const char* name : names) {
    EXPECT_NE(dlsym(n().handle, name), nullptr) << "missing export " << name;
  }
  EXPECT_EQ(
      dlsym(n().handle,
            "_ZN5gpuvm5Error12throw_invalidENSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEE"),
      nullptr);
  EXPECT_EQ(mock_library_path().filename(), "libnvidia-ml.so.1");
}

TEST(NvmlExports, NoStateMeansNoDriver) {
  ::unsetenv("GPUVM_SIM_STATE");
  ::unsetenv("GPUVM_SYSFS_ROOT");
  EXPECT_EQ(n().nvmlInit_v2(), NVML_ERROR_DRIVER_NOT_LOADED);
  TempDir dir;
  ::setenv("GPUVM_SIM_STATE", (dir.path() / "missing.json").c_str(), 1);
  EXPECT_EQ(n().nvmlInit_v2(), NVML_ERROR_DRIVER_NOT_LOADED);
  write_file(dir.path() / "bad.json", "{ not json");
  ::setenv("GPUVM_SIM_STATE", (dir.path() / "bad.json").c_str(), 1);
  EXPECT_EQ(n().nvmlInit_v2(), NVML_ERROR_DRIVER_NOT_LOADED);
  ::unsetenv("GPUVM_SIM_STATE");
  unsigned int count = 0;
  EXPECT_EQ(n().nvmlDeviceGetCount_v2(&count), NVML_ERROR_UNINITIALIZED);
  EXPECT_EQ(n().nvmlShutdown(), NVML_ERROR_UNINITIALIZED);
}

// Silent unless GPUVM_SIM_NVML_DEBUG asks (a library must not write to a
// caller's stderr); with it, the failing call and why.
TEST(NvmlExports, DiagnosticsOnlyOnRequest) {
  ::unsetenv("GPUVM_SIM_STATE");
  ::unsetenv("GPUVM_SIM_NVML_DEBUG");
  testing::internal::CaptureStderr();
  EXPECT_EQ(n().nvmlInit_v2(), NVML_ERROR_DRIVER_NOT_LOADED);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  ::setenv("GPUVM_SIM_NVML_DEBUG", "1", 1);
  testing::internal::CaptureStderr();
  EXPECT_EQ(n().nvmlInit_v2(), NVML_ERROR_DRIVER_NOT_LOADED);
  const std::string err = testing::internal::GetCapturedStderr();
  ::unsetenv("GPUVM_SIM_NVML_DEBUG");
  EXPECT_NE(err.find("nvmlInit_v2: Driver Not Loaded: no simulator state"), std::string::npos)
      << err;
  EXPECT_EQ(err.find('\n'), err.size() - 1) << "one line: " << err;
}

TEST(NvmlExports, InjectedInitFailureLeavesItUninitialized) {
  SimHost host({capture_h100()}, /*init=*/false);
  ASSERT_EQ(n().gpuvmSimInjectFault("nvmlInit_v2", NVML_ERROR_DRIVER_NOT_LOADED, 1, 0, nullptr),
            NVML_SUCCESS);
  EXPECT_EQ(n().nvmlInit_v2(), NVML_ERROR_DRIVER_NOT_LOADED);
  unsigned int count = 0;
  EXPECT_EQ(n().nvmlDeviceGetCount_v2(&count), NVML_ERROR_UNINITIALIZED);
  ASSERT_EQ(n().nvmlInit_v2(), NVML_SUCCESS);
  EXPECT_EQ(n().nvmlDeviceGetCount_v2(&count), NVML_SUCCESS);
  EXPECT_EQ(n().nvmlShutdown(), NVML_SUCCESS);
}

TEST(NvmlExports, InitIsReferenceCounted) {
  SimHost host({capture_h100()});
  ASSERT_EQ(n().nvmlInit_v2(), NVML_SUCCESS);
  ASSERT_EQ(n().nvmlShutdown(), NVML_SUCCESS);
  unsigned int count = 0;
  EXPECT_EQ(n().nvmlDeviceGetCount_v2(&count), NVML_SUCCESS);  // still one init left
  EXPECT_EQ(count, 1u);
}

TEST(NvmlExports, InjectedFailuresCountDown) {
  SimHost host({capture_h100()});
  const auto bdf = "0000:00:06.0";
  ASSERT_EQ(n().gpuvmSimInjectFault("nvmlDeviceGetName", NVML_ERROR_UNKNOWN, 2, 0, bdf),
            NVML_SUCCESS);
  nvmlDevice_t d = host.device(0);
  char name[96];
  EXPECT_EQ(n().nvmlDeviceGetName(d, name, sizeof name), NVML_ERROR_UNKNOWN);
  EXPECT_EQ(n().nvmlDeviceGetName(d, name, sizeof name), NVML_ERROR_UNKNOWN);
  EXPECT_EQ(n().nvmlDeviceGetName(d, name, sizeof name), NVML_SUCCESS);
  EXPECT_TRUE(host.state().faults.empty());  // spent faults leave the state
  // A fault for another GPU does not fire here.
  ASSERT_EQ(n().gpuvmSimInjectFault("nvmlDeviceGetName", NVML_ERROR_UNKNOWN, -1, 0, "0000:41:00.0"),
            NVML_SUCCESS);
  EXPECT_EQ(n().nvmlDeviceGetName(d, name, sizeof name), NVML_SUCCESS);
  ASSERT_EQ(n().gpuvmSimClearFaults(), NVML_SUCCESS);
  // Faults of calls without a GPU.
  ASSERT_EQ(n().gpuvmSimInjectFault("nvmlDeviceGetCount_v2", NVML_ERROR_TIMEOUT, 1, 0, nullptr),
            NVML_SUCCESS);
  unsigned int count = 0;
  EXPECT_EQ(n().nvmlDeviceGetCount_v2(&count), NVML_ERROR_TIMEOUT);
  EXPECT_EQ(n().nvmlDeviceGetCount_v2(&count), NVML_SUCCESS);
  EXPECT_EQ(n().gpuvmSimInjectFault(nullptr, NVML_ERROR_UNKNOWN, 1, 0, nullptr),
            NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(n().gpuvmSimInjectFault("x", NVML_ERROR_UNKNOWN, 0, 0, nullptr),
            NVML_ERROR_INVALID_ARGUMENT);
}

TEST(NvmlExports, InjectedFaultsComeFromTheStateFile) {
  SimHost host({capture_h100()});
  // Written by another party (the spec's fault section, gpuvm-sim): the mock obeys.
  sim::StateFile(host.path()).update([](sim::HostState& s) {
    sim::FaultState f;
    f.call = "nvmlDeviceCreateGpuInstance";
    f.nvml_return = NVML_ERROR_INSUFFICIENT_RESOURCES;
    f.count = 1;
    s.faults.push_back(f);
    s.gpus.at(0).mig.current = s.gpus.at(0).mig.pending = true;
  });
  nvmlDevice_t d = host.device(0);
  nvmlGpuInstance_t gi = nullptr;
  EXPECT_EQ(n().nvmlDeviceCreateGpuInstance(d, 0, &gi), NVML_ERROR_INSUFFICIENT_RESOURCES);
  EXPECT_EQ(n().nvmlDeviceCreateGpuInstance(d, 0, &gi), NVML_SUCCESS);
}

TEST(NvmlExports, SlowCall) {
  SimHost host({capture_h100()});
  ASSERT_EQ(n().gpuvmSimInjectFault("nvmlDeviceGetUUID", NVML_SUCCESS, 1, 50, nullptr),
            NVML_SUCCESS);
  nvmlDevice_t d = host.device(0);
  char uuid[96];
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(n().nvmlDeviceGetUUID(d, uuid, sizeof uuid), NVML_SUCCESS);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(50));
}

TEST(NvmlExports, GpuFallsOffTheBusAndLeavesTheHost) {
  sim::GpuState g = capture_h100();
  g.mig.current = g.mig.pending = true;
  SimHost host(
      {g, make_gpu("0000:41:00.0", "A100-SXM4-40GB", "GPU-aaaaaaaa-2222-3333-4444-555555555555")});
  nvmlDevice_t d = host.device(0);
  nvmlGpuInstance_t gi = nullptr;
  ASSERT_EQ(n().nvmlDeviceCreateGpuInstance(d, 19, &gi), NVML_SUCCESS);
  ASSERT_EQ(n().gpuvmSimSetGpuLost("0000:00:06.0", 1), NVML_SUCCESS);
  char name[96];
  EXPECT_EQ(n().nvmlDeviceGetName(d, name, sizeof name), NVML_ERROR_GPU_IS_LOST);
  nvmlGpuInstanceInfo_t info{};
  EXPECT_EQ(n().nvmlGpuInstanceGetInfo(gi, &info), NVML_ERROR_GPU_IS_LOST);
  nvmlDevice_t other = nullptr;
  EXPECT_EQ(n().nvmlDeviceGetHandleByPciBusId_v2("00000000:00:06.0", &other),
            NVML_ERROR_GPU_IS_LOST);
  EXPECT_EQ(n().nvmlDeviceGetHandleByIndex_v2(0, &other), NVML_ERROR_GPU_IS_LOST);
  ASSERT_EQ(n().gpuvmSimSetGpuLost("0000:00:06.0", 0), NVML_SUCCESS);
  EXPECT_EQ(n().nvmlGpuInstanceGetInfo(gi, &info), NVML_SUCCESS);

  ASSERT_EQ(n().gpuvmSimRemoveGpu("0000:00:06.0"), NVML_SUCCESS);
  unsigned int count = 0;
  ASSERT_EQ(n().nvmlDeviceGetCount_v2(&count), NVML_SUCCESS);
  EXPECT_EQ(count, 1u);
  EXPECT_EQ(n().nvmlDeviceGetName(d, name, sizeof name), NVML_ERROR_GPU_IS_LOST);
  EXPECT_EQ(n().gpuvmSimRemoveGpu("0000:00:06.0"), NVML_ERROR_NOT_FOUND);
  ASSERT_EQ(n().nvmlDeviceGetName(host.device(0), name, sizeof name), NVML_SUCCESS);
  EXPECT_STREQ(name, "NVIDIA A100-SXM4-40GB");
}

// NVML enumerates the GPUs bound to nvidia; one given to vfio-pci (a VM's)
// is not there, and a handle to a GPU that is unbound stops working.
TEST(NvmlExports, OnlyGpusBoundToNvidia) {
  sim::GpuState vm_gpu =
      make_gpu("0000:81:00.0", "A100-SXM4-40GB", "GPU-aaaaaaaa-2222-3333-4444-555555555555");
  vm_gpu.driver = "vfio-pci";
  SimHost host({capture_h100(), vm_gpu});
  unsigned int count = 0;
  ASSERT_EQ(n().nvmlDeviceGetCount_v2(&count), NVML_SUCCESS);
  EXPECT_EQ(count, 1u);
  nvmlDevice_t h = nullptr;
  EXPECT_EQ(n().nvmlDeviceGetHandleByPciBusId_v2("0000:81:00.0", &h),
            NVML_ERROR_INVALID_ARGUMENT);  // as for any bus id NVML does not see
  nvmlDevice_t d = host.device(0);
  sim::StateFile(host.path()).update([](sim::HostState& s) { s.gpus[0].driver = "vfio-pci"; });
  char name[96];
  EXPECT_EQ(n().nvmlDeviceGetName(d, name, sizeof name), NVML_ERROR_GPU_IS_LOST);
}

TEST(NvmlExports, CallCounts) {
  SimHost host({capture_h100()});
  n().gpuvmSimResetCallCounts();
  unsigned int count = 0;
  for (int i = 0; i < 3; ++i) n().nvmlDeviceGetCount_v2(&count);
  EXPECT_EQ(n().gpuvmSimCallCount("nvmlDeviceGetCount_v2"), 3u);
  EXPECT_EQ(n().gpuvmSimCallCount("nvmlDeviceGetName"), 0u);
  n().gpuvmSimResetCallCounts();
  EXPECT_EQ(n().gpuvmSimCallCount("nvmlDeviceGetCount_v2"), 0u);
}

}  // namespace
}  // namespace gpuvm::test
