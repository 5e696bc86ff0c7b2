#include "sim/nvml_mock/library.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <thread>

#include "sim/mig_ops.h"

namespace gpuvm::sim::nvml_mock {

namespace {

constexpr const char* kDebugEnv = "GPUVM_SIM_NVML_DEBUG";

nvmlReturn_t code_of(const MigError& e) {
  switch (e.mig_code()) {
    case MigErrc::kInvalidArgument:
      return NVML_ERROR_INVALID_ARGUMENT;
    case MigErrc::kNotSupported:
      return NVML_ERROR_NOT_SUPPORTED;
    case MigErrc::kNotFound:
      return NVML_ERROR_NOT_FOUND;
    case MigErrc::kInUse:
      return NVML_ERROR_IN_USE;
    case MigErrc::kInsufficientResources:
      return NVML_ERROR_INSUFFICIENT_RESOURCES;
  }
  return NVML_ERROR_UNKNOWN;
}

nvmlReturn_t code_of(const Error& e) {
  // The state file could not be written: as the driver answers a non-root caller.
  if (e.sys_errno() == EACCES || e.sys_errno() == EPERM) return NVML_ERROR_NO_PERMISSION;
  switch (e.code()) {
    case Errc::kInvalidArgument:
      return NVML_ERROR_INVALID_ARGUMENT;
    case Errc::kNotFound:
      return NVML_ERROR_NOT_FOUND;
    case Errc::kBusy:
      return NVML_ERROR_IN_USE;
    case Errc::kUnsupported:
      return NVML_ERROR_NOT_SUPPORTED;
    default:
      return NVML_ERROR_UNKNOWN;
  }
}

nvmlReturn_t run(const char* name, bool need_init,
                 const std::function<void(Library&)>& fn) noexcept {
  try {
    Library& lib = Library::instance();
    std::lock_guard lock(lib.mutex());
    lib.count_call(name);
    lib.set_current_call(name);
    if (need_init && !lib.initialized()) {
      lib.debug(name, NVML_ERROR_UNINITIALIZED, "nvmlInit_v2 was not called");
      return NVML_ERROR_UNINITIALIZED;
    }
    try {
      fn(lib);
      return NVML_SUCCESS;
    } catch (const Failure& f) {
      lib.debug(name, f.code, f.message);
      return f.code;
    } catch (const MigError& e) {
      lib.debug(name, code_of(e), e.what());
      return code_of(e);
    } catch (const Error& e) {
      lib.debug(name, code_of(e), e.what());
      return code_of(e);
    } catch (const std::bad_alloc&) {
      return NVML_ERROR_MEMORY;
    } catch (const std::exception& e) {
      lib.debug(name, NVML_ERROR_UNKNOWN, e.what());
      return NVML_ERROR_UNKNOWN;
    }
  } catch (...) {  // the lock or the counter failed: nothing may escape the C ABI
    return NVML_ERROR_UNKNOWN;
  }
}

}  // namespace

void fail(nvmlReturn_t code, std::string message) {
  throw Failure{code, std::move(message)};
}

void copy_string(std::string_view value, char* buffer, unsigned int length) {
  if (buffer == nullptr) fail(NVML_ERROR_INVALID_ARGUMENT, "NULL buffer");
  if (value.size() + 1 > length) {
    fail(NVML_ERROR_INSUFFICIENT_SIZE,
         "buffer of " + std::to_string(length) + " bytes for \"" + std::string(value) + "\"");
  }
  std::memcpy(buffer, value.data(), value.size());
  buffer[value.size()] = '\0';
}

Library& Library::instance() {
  // Never destroyed: calls from other static destructors stay safe.
  static Library* lib = new Library();
  return *lib;
}

namespace {

// The state file this process would use now: GPUVM_SIM_STATE, else the
// gpuvm-sim mount at GPUVM_SYSFS_ROOT. None: the driver is "not loaded" --
// never fall through to the real host.
std::filesystem::path locate() {
  std::optional<std::filesystem::path> root;
  if (const char* r = std::getenv("GPUVM_SYSFS_ROOT"); r != nullptr && *r != '\0') root = r;
  const auto path = locate_state_file(root);
  if (!path) {
    fail(NVML_ERROR_DRIVER_NOT_LOADED,
         "no simulator state: set GPUVM_SIM_STATE (or GPUVM_SYSFS_ROOT to a gpuvm-sim mount)");
  }
  return *path;
}

}  // namespace

void Library::init() {
  if (init_count_ > 0) {  // nvmlInit_v2 is reference counted
    ++init_count_;
    return;
  }
  auto file = std::make_unique<StateFile>(locate());
  try {
    state_ = file->read();
  } catch (const Error& e) {
    fail(NVML_ERROR_DRIVER_NOT_LOADED, e.what());
  }
  file_ = std::move(file);
  init_count_ = 1;
}

void Library::shutdown() {
  if (init_count_ == 0) fail(NVML_ERROR_UNINITIALIZED, "nvmlShutdown without nvmlInit_v2");
  --init_count_;
}

StateFile& Library::file() {
  // Initialized: the file nvmlInit_v2 found. Control calls before that look
  // it up each time (a test may point GPUVM_SIM_STATE elsewhere meanwhile).
  if (init_count_ == 0) {
    const auto path = locate();
    if (!file_ || file_->path() != path) file_ = std::make_unique<StateFile>(path);
  }
  return *file_;
}

const HostState& Library::read() {
  state_ = file().read();
  return state_;
}

void Library::update(const std::function<void(HostState&)>& fn) {
  state_ = file().update(fn);
}

std::vector<Gpu> Library::gpus() {
  std::vector<Gpu> out;
  for (const auto& g : state_.gpus) {
    // NVML sees only GPUs bound to the nvidia driver: not one handed to
    // vfio-pci for passthrough, nor one sriov-manage holds on pci-pf-stub.
    if (g.driver != "nvidia") continue;
    Gpu gpu;
    gpu.state = &g;
    gpu.model = find_model(g.model);
    if (gpu.model != nullptr && gpu.model->mig_capable()) {
      gpu.mig = find_mig_model(gpu.model->mig_profiles);
    }
    out.push_back(gpu);
  }
  std::sort(out.begin(), out.end(),
            [](const Gpu& a, const Gpu& b) { return a.state->bdf < b.state->bdf; });
  for (size_t i = 0; i < out.size(); ++i) out[i].index = static_cast<unsigned int>(i);
  return out;
}

Gpu Library::gpu_of(nvmlDevice_t device) {
  if (device == nullptr || !is_device(device)) {
    fail(NVML_ERROR_INVALID_ARGUMENT, "not a device handle of this library");
  }
  const Bdf bdf = device->bdf;
  read();
  apply_faults(bdf);
  for (const Gpu& g : gpus()) {
    if (g.state->bdf != bdf) continue;
    if (g.state->fallen_off_bus) {
      fail(NVML_ERROR_GPU_IS_LOST, "GPU " + bdf.str() + " has fallen off the bus");
    }
    return g;
  }
  fail(NVML_ERROR_GPU_IS_LOST,
       "GPU " + bdf.str() + " is no longer on the host (or no longer bound to nvidia)");
}

void Library::apply_faults(const std::optional<Bdf>& bdf) {
  const std::string_view call = current_call_;
  const bool armed = std::any_of(state_.faults.begin(), state_.faults.end(),
                                 [&](const FaultState& f) { return f.call == call; });
  if (!armed) return;
  std::optional<FaultState> fault;
  update([&](HostState& s) { fault = s.take_fault(call, bdf); });
  if (!fault) return;
  if (fault->delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(fault->delay_ms));
  if (fault->nvml_return && *fault->nvml_return != NVML_SUCCESS) {
    fail(static_cast<nvmlReturn_t>(*fault->nvml_return), "injected fault on " + std::string(call));
  }
}

nvmlDevice_t Library::device_handle(const Bdf& bdf) {
  auto& slot = devices_[bdf];
  if (!slot) {
    slot = std::make_unique<nvmlDevice_st>();
    slot->bdf = bdf;
    devices_set_.insert(slot.get());
  }
  return slot.get();
}

nvmlGpuInstance_t Library::gi_handle(nvmlDevice_t device, const GpuInstanceState& gi) {
  auto& slot = gis_[GiKey{device, gi.id, gi.profile_id, gi.start, gi.size}];
  if (!slot) {
    slot = std::make_unique<nvmlGpuInstance_st>(
        nvmlGpuInstance_st{device, gi.id, gi.profile_id, gi.start, gi.size});
    gis_set_.insert(slot.get());
  }
  return slot.get();
}

nvmlComputeInstance_t Library::ci_handle(nvmlGpuInstance_t gi, const ComputeInstanceState& ci) {
  auto& slot = cis_[GiKey{gi, ci.id, ci.profile_id, ci.start, ci.size}];
  if (!slot) {
    slot = std::make_unique<nvmlComputeInstance_st>(
        nvmlComputeInstance_st{gi, ci.id, ci.profile_id, ci.start, ci.size});
    cis_set_.insert(slot.get());
  }
  return slot.get();
}

nvmlDevice_t Library::mig_device_handle(nvmlComputeInstance_t ci) {
  auto& slot = mig_devices_[ci];
  if (!slot) {
    slot = std::make_unique<nvmlDevice_st>();
    slot->bdf = ci->gpu_instance->device->bdf;
    slot->is_mig = true;
    slot->parent = ci->gpu_instance->device;
    slot->gpu_instance = ci->gpu_instance;
    slot->compute_instance = ci;
    devices_set_.insert(slot.get());
  }
  return slot.get();
}

void Library::count_call(std::string_view name) {
  auto it = call_counts_.find(name);
  if (it == call_counts_.end()) it = call_counts_.emplace(std::string(name), 0).first;
  ++it->second;
}

unsigned long long Library::call_count(std::string_view name) {
  auto it = call_counts_.find(name);
  return it == call_counts_.end() ? 0 : it->second;
}

void Library::reset_call_counts() {
  call_counts_.clear();
}

void Library::debug(std::string_view call, nvmlReturn_t code, std::string_view message) {
  const char* env = std::getenv(kDebugEnv);
  if (env == nullptr || *env == '\0' || std::strcmp(env, "0") == 0) return;
  std::fprintf(stderr, "libnvidia-ml (gpuvm-sim mock): %.*s: %s: %.*s\n",
               static_cast<int>(call.size()), call.data(), nvmlErrorString(code),
               static_cast<int>(message.size()), message.data());
}

nvmlReturn_t guarded(const char* name, const std::function<void(Library&)>& fn) noexcept {
  return run(name, true, fn);
}

nvmlReturn_t guarded_noinit(const char* name, const std::function<void(Library&)>& fn) noexcept {
  return run(name, false, fn);
}

}  // namespace gpuvm::sim::nvml_mock
