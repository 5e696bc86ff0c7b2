// Inside the mock libnvidia-ml.so.1: the library's own state (init count,
// the simulator state file, the handles it gave out) and the guard every
// exported function runs in.
//
// Every NVML call reads the simulator state file (or changes it in a locked
// read-modify-write), so that a GI created by one process is seen by all.
// Handles are pointers into storage this library owns for as long as it is
// loaded; a handle names an object (a GPU by PCI address, a GI by id,
// profile and placement, ...) and is checked against the state on every
// use, so a handle to a destroyed instance answers an error, never crashes.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>

#include "core/bdf.h"
#include "mig/nvml_api.h"
#include "sim/host_state.h"
#include "sim/mig_profiles.h"
#include "sim/models.h"

// Handle objects. NVML declares only the names; the layouts are ours.
struct nvmlDevice_st {
  gpuvm::Bdf bdf;  // the physical GPU (the parent, for a MIG device)
  // MIG device (a compute instance seen as a device) only:
  bool is_mig = false;
  nvmlDevice_st* parent = nullptr;
  nvmlGpuInstance_st* gpu_instance = nullptr;
  nvmlComputeInstance_st* compute_instance = nullptr;
};

struct nvmlGpuInstance_st {
  nvmlDevice_st* device = nullptr;
  uint32_t id = 0;
  uint32_t profile_id = 0;
  uint32_t start = 0;
  uint32_t size = 0;
};

struct nvmlComputeInstance_st {
  nvmlGpuInstance_st* gpu_instance = nullptr;
  uint32_t id = 0;
  uint32_t profile_id = 0;
  uint32_t start = 0;
  uint32_t size = 0;
};

namespace gpuvm::sim::nvml_mock {

// An NVML failure raised inside a call; the guard returns its code.
struct Failure {
  nvmlReturn_t code;
  std::string message;
};
[[noreturn]] void fail(nvmlReturn_t code, std::string message);

// One physical GPU as a call sees it: its state and tables.
struct Gpu {
  const GpuState* state = nullptr;
  const GpuModel* model = nullptr;  // nullptr: a model key the catalog lacks
  const MigModel* mig = nullptr;    // nullptr: no MIG on this board
  unsigned int index = 0;           // NVML index: position in PCI address order
};

class Library {
 public:
  // The one instance of this loaded library (the library's own state, as
  // the real libnvidia-ml keeps its own).
  static Library& instance();

  std::mutex& mutex() { return mutex_; }

  // nvmlInit_v2 / nvmlShutdown; throw Failure (DRIVER_NOT_LOADED, UNINITIALIZED).
  void init();
  void shutdown();
  bool initialized() const { return init_count_ > 0; }

  // The state file nvmlInit_v2 found (or would find: control calls).
  StateFile& file();
  // The current state (re-read from the file on every call).
  const HostState& read();
  // Locked read-modify-write of the state file.
  void update(const std::function<void(HostState&)>& fn);

  // GPUs in NVML index order (PCI address order) in the last read state:
  // those bound to the nvidia driver.
  std::vector<Gpu> gpus();
  // The GPU behind a device handle (for a MIG device: its parent), checked:
  // INVALID_ARGUMENT for a handle that is not ours, GPU_IS_LOST for a GPU
  // that fell off the bus or left the host. Applies the injected faults of
  // the running call. Re-reads the state.
  Gpu gpu_of(nvmlDevice_t device);
  // Applies the injected faults of the running call (on `bdf`, or any GPU):
  // sleeps, then throws the injected code if it has one.
  void apply_faults(const std::optional<Bdf>& bdf);
  // The exported function being run (set by guarded()).
  const char* current_call() const { return current_call_; }
  void set_current_call(const char* name) { current_call_ = name; }

  // Interned handles: the same object always gets the same pointer.
  nvmlDevice_t device_handle(const Bdf& bdf);
  nvmlGpuInstance_t gi_handle(nvmlDevice_t device, const GpuInstanceState& gi);
  nvmlComputeInstance_t ci_handle(nvmlGpuInstance_t gi, const ComputeInstanceState& ci);
  nvmlDevice_t mig_device_handle(nvmlComputeInstance_t ci);
  bool is_device(const void* p) const { return devices_set_.count(p) != 0; }
  bool is_gi(const void* p) const { return gis_set_.count(p) != 0; }
  bool is_ci(const void* p) const { return cis_set_.count(p) != 0; }

  void count_call(std::string_view name);
  unsigned long long call_count(std::string_view name);
  void reset_call_counts();

  // Message on stderr when GPUVM_SIM_NVML_DEBUG is set (never otherwise).
  void debug(std::string_view call, nvmlReturn_t code, std::string_view message);

 private:
  Library() = default;

  std::mutex mutex_;
  int init_count_ = 0;
  const char* current_call_ = "";
  std::unique_ptr<StateFile> file_;
  HostState state_;

  using DevKey = Bdf;
  using GiKey = std::tuple<const void*, uint32_t, uint32_t, uint32_t, uint32_t>;
  std::map<DevKey, std::unique_ptr<nvmlDevice_st>> devices_;
  std::map<GiKey, std::unique_ptr<nvmlGpuInstance_st>> gis_;
  std::map<GiKey, std::unique_ptr<nvmlComputeInstance_st>> cis_;
  std::map<const void*, std::unique_ptr<nvmlDevice_st>> mig_devices_;
  std::set<const void*> devices_set_, gis_set_, cis_set_;
  std::map<std::string, unsigned long long, std::less<>> call_counts_;
};

// Runs `fn` as the body of the exported NVML function `name`: counts the
// call, takes the library lock, checks nvmlInit_v2, turns every exception
// into its nvmlReturn_t (nothing escapes the C ABI).
nvmlReturn_t guarded(const char* name, const std::function<void(Library&)>& fn) noexcept;
// The same for control calls and nvmlInit_v2: no init check.
nvmlReturn_t guarded_noinit(const char* name, const std::function<void(Library&)>& fn) noexcept;

// Output helpers: NULL pointers are INVALID_ARGUMENT; strings that do not
// fit are INSUFFICIENT_SIZE (NVML's rules).
template <class T>
T& out(T* p) {
  if (p == nullptr) fail(NVML_ERROR_INVALID_ARGUMENT, "NULL output pointer");
  return *p;
}
void copy_string(std::string_view value, char* buffer, unsigned int length);

}  // namespace gpuvm::sim::nvml_mock
