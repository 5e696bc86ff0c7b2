// The placement solver: which memory slices each wanted GPU instance takes,
// and how to get from the GPU's current instances to a target with the fewest
// changes. Pure functions of a ProfileTable; no NVML, no I/O.
//
// The model (reference/nvidia.md §5.3): a GPU instance of a profile occupies
// one of the profile's placements (start, size in memory slices); placements
// of two instances must not overlap; the compute slices of all instances sum
// to at most the board's (7); a profile has at most instance_count instances.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mig/types.h"

namespace gpuvm::mig {

// One wanted GPU instance: its profile and the compute instances inside it,
// as compute-slice counts (a default full-GI CI is {slices of the GI}).
struct GiSpec {
  uint32_t profile_id = 0;
  std::vector<uint32_t> ci_slices;  // sorted descending; empty = no CI
  friend bool operator==(const GiSpec&, const GiSpec&) = default;
};

struct PlacedGi {
  uint32_t profile_id = 0;
  Placement placement;
};

struct FitResult {
  bool ok = false;
  std::vector<Placement> placements;  // parallel to the wanted list when ok
  std::string why;                    // when not ok: which instance, and why
};

// Places every wanted profile ID next to the `fixed` instances, or explains
// which one does not fit. Deterministic.
FitResult fit(const ProfileTable& table, const std::vector<uint32_t>& wanted,
              const std::vector<PlacedGi>& fixed = {});

// What `plan` decided, in the order it must run: destroy CIs, destroy GIs,
// create GIs (explicit placements), create CIs.
struct Plan {
  struct DestroyCi {
    uint32_t gi_id = 0;
    uint32_t ci_id = 0;
  };
  struct CreateGi {
    uint32_t profile_id = 0;
    Placement placement;
    std::vector<uint32_t> ci_slices;
  };
  struct CreateCi {
    uint32_t gi_id = 0;  // a kept GPU instance
    uint32_t slices = 0;
  };
  std::vector<uint32_t> keep_gis;      // existing GI IDs that stay as they are
  std::vector<DestroyCi> destroy_cis;  // every CI of a destroyed GI, and surplus CIs of kept GIs
  std::vector<uint32_t> destroy_gis;
  std::vector<CreateGi> create_gis;
  std::vector<CreateCi> create_cis;

  bool empty() const {
    return destroy_cis.empty() && destroy_gis.empty() && create_gis.empty() && create_cis.empty();
  }
};

// Plans the change from `current` to `target`. Keeps the largest possible
// set of existing GPU instances (same profile, a placement the target can
// live with), so nothing is destroyed that need not be; among equally large
// sets, the one whose compute instances already match. Throws
// gpuvm::Error(kInvalidArgument) naming the instance that does not fit.
Plan plan_layout(const ProfileTable& table, const std::vector<GpuInstance>& current,
                 const std::vector<GiSpec>& target);

// Human-readable plan, one step per line (for apply --dry-run).
std::string describe_plan(const ProfileTable& table, const Plan& plan, unsigned gpu);

}  // namespace gpuvm::mig
