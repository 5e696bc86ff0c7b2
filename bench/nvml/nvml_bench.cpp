// Mock NVML calls per second: the mock libnvidia-ml.so.1 loaded with dlopen
// (as gpuvm loads it) on a simulated one-H100 host, against the same
// operations on the in-memory MIG state machine (sim/mig_ops) -- the ratio is
// what the C ABI and the shared state file (read per call; flock + write +
// fsync + rename per change) cost.
//
//   nvml_bench [iterations]     (default 20000 reads, iterations/20 cycles)
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "mig/nvml_api.h"
#include "sim/host_state.h"
#include "sim/mig_ops.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

template <class F>
F sym(void* lib, const char* name) {
  auto f = reinterpret_cast<F>(dlsym(lib, name));
  if (f == nullptr) {
    std::fprintf(stderr, "nvml_bench: %s missing from the mock\n", name);
    std::exit(1);
  }
  return f;
}

void report(const char* what, const char* unit, long n, double mock_s, double direct_s) {
  std::printf("%-44s %9.0f %s/s  (in-memory state machine %10.0f/s, ratio %.0fx)\n", what,
              n / mock_s, unit, n / direct_s, mock_s / direct_s);
}

}  // namespace

int main(int argc, char** argv) {
  const long reads = argc > 1 ? std::atol(argv[1]) : 20000;
  const long cycles = std::max(1L, reads / 20);

  char tmpl[] = "/tmp/gpuvm-nvml-bench-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return 1;
  const std::filesystem::path dir = tmpl;
  gpuvm::sim::HostState host;
  gpuvm::sim::GpuState gpu;
  gpu.bdf = gpuvm::Bdf::parse("0000:41:00.0");
  gpu.model = "H100-SXM5-80GB";
  gpu.uuid = "GPU-11111111-2222-3333-4444-555555555555";
  gpu.driver_version = "580.159.04";
  gpu.mig.current = gpu.mig.pending = true;
  host.gpus.push_back(gpu);
  gpuvm::sim::StateFile(dir / "state.json").write(host);
  setenv("GPUVM_SIM_STATE", (dir / "state.json").c_str(), 1);

  void* lib = dlopen(GPUVM_NVML_MOCK_PATH, RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    std::fprintf(stderr, "nvml_bench: %s\n", dlerror());
    return 1;
  }
  auto init = sym<decltype(&nvmlInit_v2)>(lib, "nvmlInit_v2");
  auto by_index =
      sym<decltype(&nvmlDeviceGetHandleByIndex_v2)>(lib, "nvmlDeviceGetHandleByIndex_v2");
  auto remaining = sym<decltype(&nvmlDeviceGetGpuInstanceRemainingCapacity)>(
      lib, "nvmlDeviceGetGpuInstanceRemainingCapacity");
  auto create = sym<decltype(&nvmlDeviceCreateGpuInstance)>(lib, "nvmlDeviceCreateGpuInstance");
  auto destroy = sym<decltype(&nvmlGpuInstanceDestroy)>(lib, "nvmlGpuInstanceDestroy");
  auto shutdown = sym<decltype(&nvmlShutdown)>(lib, "nvmlShutdown");
  nvmlDevice_t dev = nullptr;
  if (init() != NVML_SUCCESS || by_index(0, &dev) != NVML_SUCCESS) return 1;

  const auto& model = gpuvm::sim::mig_model("H100-SXM5-80GB");
  std::printf("mock libnvidia-ml.so.1: %s\nstate file: %s\n", GPUVM_NVML_MOCK_PATH,
              (dir / "state.json").c_str());

  // 1. A read: remaining capacity of 1g (state file read + parse cache hit).
  unsigned int n = 0;
  auto t0 = Clock::now();
  for (long i = 0; i < reads; ++i) {
    if (remaining(dev, 19, &n) != NVML_SUCCESS || n != 7) return 1;
  }
  const double mock_read = seconds_since(t0);
  t0 = Clock::now();
  unsigned long sink = 0;
  volatile uint32_t profile = 19;  // keeps the compiler from hoisting the call out of the loop
  for (long i = 0; i < reads; ++i) {
    sink += gpuvm::sim::gi_remaining_capacity(gpu.mig, model, profile);
  }
  const double direct_read = seconds_since(t0);
  report("nvmlDeviceGetGpuInstanceRemainingCapacity", "calls", reads, mock_read, direct_read);

  // 2. Create (driver's default placement) + destroy of a 1g GI.
  t0 = Clock::now();
  for (long i = 0; i < cycles; ++i) {
    nvmlGpuInstance_t gi = nullptr;
    if (create(dev, 19, &gi) != NVML_SUCCESS || destroy(gi) != NVML_SUCCESS) return 1;
  }
  const double mock_cycle = seconds_since(t0);
  t0 = Clock::now();
  gpuvm::sim::MigState mig = gpu.mig;
  for (long i = 0; i < cycles; ++i) {
    const auto gi = gpuvm::sim::create_gpu_instance(mig, model, 19, std::nullopt);
    gpuvm::sim::destroy_gpu_instance(mig, gi.id);
  }
  const double direct_cycle = seconds_since(t0);
  report("nvmlDeviceCreateGpuInstance + GpuInstanceDestroy", "cycles", cycles, mock_cycle,
         direct_cycle);

  shutdown();
  std::filesystem::remove_all(dir);
  return sink == 0 ? 1 : 0;
}
