// Profile tables for tests and the benchmark: the H100 from the real capture
// (fixtures/h100-sxm5-passthrough/nvml-readonly.json) and the A100-40GB and
// H200 from reference/nvidia.md §5.2.
#pragma once

#include <filesystem>
#include <string>

#include "mig/format.h"
#include "mig/types.h"

namespace gpuvm::mig::test {

// GPU 0 of an nvml-readonly.json capture: profiles (in -lgip order) and the
// remaining capacities it recorded.
GpuProfiles profiles_from_capture(const std::filesystem::path& json);

ProfileTable h100_80gb();  // from the capture
ProfileTable a100_40gb();
ProfileTable h200_141gb();

// The canonical board tables of gpuvm-sim (src/sim/mig_profiles.h), e.g.
// "A100-SXM4-40GB", as gpuvm's ProfileTable: the same tables the mock NVML
// serves, so the solver is tested on exactly what system tests run against.
ProfileTable sim_table(const std::string& model_key);

}  // namespace gpuvm::mig::test
