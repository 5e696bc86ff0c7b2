// Control calls of the mock libnvidia-ml.so.1 (nvml_mock_control.h): fault
// injection, lost/removed GPUs, GPU reset, call counters. Faults and GPU
// state go to the simulator state file so that every process sees them;
// call counters are per process, as the library's own.
#include <type_traits>

#include "sim/host_ops.h"
#include "sim/nvml_mock/library.h"
#include "sim/nvml_mock/nvml_mock_control.h"

using gpuvm::Bdf;
using namespace gpuvm::sim;
using namespace gpuvm::sim::nvml_mock;

namespace {

Bdf parse_bdf(const char* text) {
  if (text == nullptr) fail(NVML_ERROR_INVALID_ARGUMENT, "NULL PCI bus id");
  const auto bdf = Bdf::try_parse(text);
  if (!bdf) fail(NVML_ERROR_INVALID_ARGUMENT, std::string("bad PCI bus id ") + text);
  return *bdf;
}

GpuState& gpu_in(HostState& s, const Bdf& bdf) {
  GpuState* g = s.find_gpu(bdf);
  if (g == nullptr) fail(NVML_ERROR_NOT_FOUND, "no GPU at " + bdf.str());
  return *g;
}

// Every exported NVML function must exist with NVIDIA's signature: taking
// each one's address as its declared type fails to compile (signature) or
// to link (-Wl,--no-undefined: missing) otherwise.
#define GPUVM_NVML_MOCK_ADDRESS(name, params) \
  reinterpret_cast<const void*>(static_cast<nvmlReturn_t(*) params>(&name)),
[[maybe_unused]] const void* const kExported[] = {
    GPUVM_NVML_FUNCTIONS(GPUVM_NVML_MOCK_ADDRESS) GPUVM_NVML_MOCK_EXTRA_FUNCTIONS(
        GPUVM_NVML_MOCK_ADDRESS) reinterpret_cast<const void*>(&nvmlErrorString)};
#undef GPUVM_NVML_MOCK_ADDRESS

}  // namespace

extern "C" {

nvmlReturn_t gpuvmSimInjectFault(const char* call, nvmlReturn_t code, int count,
                                 unsigned int delayMs, const char* pciBusId) {
  return guarded_noinit("gpuvmSimInjectFault", [&](Library& lib) {
    if (call == nullptr || *call == '\0') fail(NVML_ERROR_INVALID_ARGUMENT, "no call name");
    if (count == 0 || count < -1) fail(NVML_ERROR_INVALID_ARGUMENT, "count must be > 0 or -1");
    FaultState f;
    f.call = call;
    if (code != NVML_SUCCESS) f.nvml_return = static_cast<int>(code);
    f.count = count;
    f.delay_ms = delayMs;
    if (pciBusId != nullptr) f.gpu = parse_bdf(pciBusId);
    lib.update([&](HostState& s) { s.faults.push_back(f); });
  });
}

nvmlReturn_t gpuvmSimClearFaults(void) {
  return guarded_noinit("gpuvmSimClearFaults",
                        [](Library& lib) { lib.update([](HostState& s) { s.faults.clear(); }); });
}

nvmlReturn_t gpuvmSimSetGpuLost(const char* pciBusId, int lost) {
  return guarded_noinit("gpuvmSimSetGpuLost", [&](Library& lib) {
    const Bdf bdf = parse_bdf(pciBusId);
    lib.update([&](HostState& s) { gpu_in(s, bdf).fallen_off_bus = lost != 0; });
  });
}

nvmlReturn_t gpuvmSimRemoveGpu(const char* pciBusId) {
  return guarded_noinit("gpuvmSimRemoveGpu", [&](Library& lib) {
    const Bdf bdf = parse_bdf(pciBusId);
    lib.update([&](HostState& s) {
      gpu_in(s, bdf);
      std::erase_if(s.gpus, [&](const GpuState& g) { return g.bdf == bdf; });
    });
  });
}

nvmlReturn_t gpuvmSimResetGpu(const char* pciBusId) {
  return guarded_noinit("gpuvmSimResetGpu", [&](Library& lib) {
    const Bdf bdf = parse_bdf(pciBusId);
    // The FUSE tree's reset (sim/host_ops.h): EBUSY (IN_USE) while vGPUs exist.
    lib.update([&](HostState& s) { reset_gpu(gpu_in(s, bdf)); });
  });
}

unsigned long long gpuvmSimCallCount(const char* name) {
  if (name == nullptr) return 0;
  try {
    Library& lib = Library::instance();
    std::lock_guard lock(lib.mutex());
    return lib.call_count(name);
  } catch (...) {
    return 0;
  }
}

void gpuvmSimResetCallCounts(void) {
  try {
    Library& lib = Library::instance();
    std::lock_guard lock(lib.mutex());
    lib.reset_call_counts();
  } catch (...) {
  }
}

}  // extern "C"
