// MigHost in memory, with the driver's rules (reference/nvidia.md §5.3 and
// §9): placements from the profile table, no overlap, the compute-slice
// budget, per-profile instance limits, IN_USE for a GI that still holds CIs,
// and the driver's own choice of placement when none is given (§5.3a: the
// start that leaves the most room for larger profiles, ties to the lowest).
// For unit tests and the benchmark; system tests use gpuvm-sim's mock NVML.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "mig/backend.h"

namespace gpuvm::mig {

// What the in-memory driver counts, per GPU.
struct CallCounts {
  unsigned create_gi = 0;
  unsigned destroy_gi = 0;
  unsigned create_ci = 0;
  unsigned destroy_ci = 0;
  unsigned failed = 0;  // calls that returned an error
  unsigned changes() const { return create_gi + destroy_gi + create_ci + destroy_ci; }
};

class MemoryGpu : public MigGpu {
 public:
  MemoryGpu(GpuIdentity identity, ProfileTable table, bool mig_enabled = true);

  const GpuIdentity& identity() const override { return identity_; }
  MigMode mig_mode() override { return mode_; }
  nvmlReturn_t set_mig_mode(bool enable) override;
  const ProfileTable& profiles() override { return table_; }
  uint32_t remaining_capacity(uint32_t profile_id) override;
  std::vector<GpuInstance> gpu_instances() override;
  GpuInstance create_gpu_instance(uint32_t profile_id,
                                  const std::optional<Placement>& placement) override;
  void destroy_gpu_instance(uint32_t gi_id) override;
  std::vector<CiProfile> ci_profiles(uint32_t gi_id) override;
  ComputeInstance create_compute_instance(uint32_t gi_id, uint32_t ci_profile_id,
                                          const std::optional<Placement>& placement) override;
  void destroy_compute_instance(uint32_t gi_id, uint32_t ci_id) override;

  // Fault injection: the create call number `n` from now (1 = the next one)
  // fails with `rc` and changes nothing.
  void fail_create(unsigned n, nvmlReturn_t rc) {
    fail_at_ = counts_.create_gi + counts_.create_ci + n, fail_rc_ = rc;
  }
  // Instead of a reset: pending mode becomes current (the mock's reset hook).
  void reset() {
    mode_.current = mode_.pending;
    instances_.clear();
  }
  // When true, set_mig_mode only sets the pending mode (passthrough, Ampere).
  void set_needs_reset(bool v) { needs_reset_ = v; }
  const CallCounts& counts() const { return counts_; }
  void clear_counts() { counts_ = {}; }

 private:
  [[noreturn]] void fail(nvmlReturn_t rc, std::string_view call);
  bool fits(const GiProfile& p, const Placement& pl) const;
  uint32_t remaining_with(const GiProfile& p, uint64_t occupied, uint32_t compute,
                          const std::map<uint32_t, uint32_t>& used) const;
  void maybe_inject(std::string_view call);
  GpuInstance* find(uint32_t gi_id);

  GpuIdentity identity_;
  ProfileTable table_;
  MigMode mode_;
  bool needs_reset_ = false;
  std::vector<GpuInstance> instances_;
  CallCounts counts_;
  unsigned fail_at_ = 0;
  nvmlReturn_t fail_rc_ = NVML_SUCCESS;
};

class MemoryHost : public MigHost {
 public:
  explicit MemoryHost(std::vector<ProfileTable> tables, bool mig_enabled = true);
  std::string driver_version() override { return "580.159.04"; }
  unsigned gpu_count() override { return static_cast<unsigned>(gpus_.size()); }
  MigGpu& gpu(unsigned index) override;
  MemoryGpu& memory_gpu(unsigned index) { return *gpus_.at(index); }

 private:
  std::vector<std::unique_ptr<MemoryGpu>> gpus_;
};

// The CI profiles a GPU instance of `gi_slices` compute slices offers, with
// the 7-slice boards' IDs (reference §0.2): 1c..7c where C <= G and
// (C == G or 2C <= G+1).
std::vector<CiProfile> standard_ci_profiles(const GiProfile& gi);

}  // namespace gpuvm::mig
