// Running a Plan on one GPU, atomically: if a step fails, what this run
// created is destroyed and what it destroyed is re-created at the same
// placement (new IDs: the driver assigns them), then the error is thrown.
#pragma once

#include <string>
#include <vector>

#include "mig/backend.h"
#include "mig/solver.h"

namespace gpuvm::mig {

// Runs `plan` on `gpu`; appends one line per step done to `log` (if given).
// On failure throws an Error whose message names the GPU, the instance, the
// NVML code and what the rollback restored (or could not).
void execute_plan(MigGpu& gpu, const Plan& plan, std::vector<std::string>* log = nullptr);

// Creates one GPU instance of `profile_id` with one full compute instance
// (what a MIG-backed vGPU needs, reference nvidia.md §2.1) where the solver
// places it next to the existing instances, not where the driver would.
// Throws kConflict naming the GPU, the profile and why when it does not fit.
GpuInstance create_placed_gi(MigGpu& gpu, uint32_t profile_id);

// Destroys GPU instance `gi_id` with its compute instances (as execute_plan).
void destroy_gi(MigGpu& gpu, uint32_t gi_id);

// The CI profile ID of a `slices`-slice compute instance in GPU instance
// `gi_id` (walks the GI's CI profiles; on H100 a 1g.20gb's default CI is
// profile 7, not 0, so the ID is never derived from the slice count).
uint32_t ci_profile_for(MigGpu& gpu, uint32_t gi_id, uint32_t slices);

}  // namespace gpuvm::mig
