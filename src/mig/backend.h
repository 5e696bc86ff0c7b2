// The seam between gpuvm's MIG logic and the driver: one GPU's MIG state and
// the calls that change it, shaped like NVML. Two implementations: NvmlHost
// (the real library, or gpuvm-sim's mock, through NvmlLibrary) and MemoryHost
// (in-memory, same rules as the driver; for unit tests and the benchmark).
// Failures throw NvmlError carrying the NVML return code, from both.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/bdf.h"
#include "core/error.h"
#include "mig/nvml_api.h"
#include "mig/types.h"

namespace gpuvm::mig {

// "NVML_ERROR_IN_USE" for NVML_ERROR_IN_USE.
const char* nvml_return_name(nvmlReturn_t rc);
// The text NVML's nvmlErrorString gives for `rc` (used where no library is
// loaded, e.g. by MemoryHost; the real library's own text is used otherwise).
const char* nvml_default_error_string(nvmlReturn_t rc);
// The gpuvm error category of an NVML return code.
Errc errc_from_nvml(nvmlReturn_t rc);

// An NVML call failed. what(): "<call> on GPU <n> (<bus id>): <text> (<NAME>)".
class NvmlError : public Error {
 public:
  NvmlError(nvmlReturn_t rc, std::string text, std::string message)
      : Error(errc_from_nvml(rc), std::move(message)), rc_(rc), text_(std::move(text)) {}
  nvmlReturn_t rc() const noexcept { return rc_; }
  // nvmlErrorString(rc): what nvidia-smi prints ("Insufficient Resources").
  const std::string& text() const noexcept { return text_; }

 private:
  nvmlReturn_t rc_;
  std::string text_;
};

class MigGpu {
 public:
  virtual ~MigGpu() = default;

  virtual const GpuIdentity& identity() const = 0;
  virtual MigMode mig_mode() = 0;
  // Sets the pending mode; returns the activation status (NVML_SUCCESS when
  // it is current now, NVML_ERROR_RESET_REQUIRED / _IN_USE when not yet).
  virtual nvmlReturn_t set_mig_mode(bool enable) = 0;

  // GPU-instance profiles with placements (read once, cached).
  virtual const ProfileTable& profiles() = 0;
  virtual uint32_t remaining_capacity(uint32_t profile_id) = 0;
  // Every GPU instance with its compute instances, by GI ID.
  virtual std::vector<GpuInstance> gpu_instances() = 0;
  // Without a placement the driver picks one (nvidia-smi -cgi's way).
  virtual GpuInstance create_gpu_instance(uint32_t profile_id,
                                          const std::optional<Placement>& placement) = 0;
  virtual void destroy_gpu_instance(uint32_t gi_id) = 0;

  // Compute-instance profiles of one GPU instance, with remaining counts.
  virtual std::vector<CiProfile> ci_profiles(uint32_t gi_id) = 0;
  virtual ComputeInstance create_compute_instance(uint32_t gi_id, uint32_t ci_profile_id,
                                                  const std::optional<Placement>& placement) = 0;
  virtual void destroy_compute_instance(uint32_t gi_id, uint32_t ci_id) = 0;

  // vGPU mixed-size (heterogeneous) mode of a GPU the vGPU manager drives.
  // NvmlError NOT_SUPPORTED where the GPU has none (the default: MemoryHost).
  virtual bool vgpu_heterogeneous_mode();
  virtual void set_vgpu_heterogeneous_mode(bool heterogeneous);
};

class MigHost {
 public:
  virtual ~MigHost() = default;
  virtual std::string driver_version() = 0;
  virtual unsigned gpu_count() = 0;
  virtual MigGpu& gpu(unsigned index) = 0;
};

// The GPU of `host` at PCI address `address` (NVML's bus id compared as a
// BDF), or nullptr when the driver knows no GPU there.
MigGpu* find_gpu(MigHost& host, const Bdf& address);

}  // namespace gpuvm::mig
