// nvidia-smi's MIG tables and messages, byte for byte as the R580 driver
// prints them (reference/nvidia-smi-formats.md; -lgip/-lgipp checked against
// the H100 capture in fixtures/). Pure functions of values: no NVML here.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "mig/types.h"

namespace gpuvm::mig {

// One GPU's profiles as -lgip/-lgipp show them.
struct GpuProfiles {
  unsigned index = 0;
  ProfileTable table;
  std::map<uint32_t, uint32_t> remaining;  // profile ID -> free instances
};

struct GpuInstances {
  unsigned index = 0;
  ProfileTable table;  // for names and -lgip order
  std::vector<GpuInstance> instances;
};

// One GPU instance's CI profiles, for -lcip.
struct GiCiProfiles {
  unsigned gpu = 0;
  uint32_t gi_id = 0;
  uint32_t gi_slices = 0;  // the CI profile with this many slices is the default (*)
  std::vector<CiProfile> profiles;
};

std::string format_lgip(const std::vector<GpuProfiles>& gpus);
std::string format_lgipp(const std::vector<GpuProfiles>& gpus);
// Rows grouped by profile in -lgip order, then by GI ID (as nvidia-smi does).
std::string format_lgi(const std::vector<GpuInstances>& gpus);
std::string format_lcip(const std::vector<GiCiProfiles>& gis);
std::string format_lci(const std::vector<GpuInstances>& gpus);

// JSON (--format json) of the same data, stable keys for scripts.
std::string json_profiles(const std::vector<GpuProfiles>& gpus);
std::string json_instances(const std::vector<GpuInstances>& gpus);
std::string json_ci_profiles(const std::vector<GiCiProfiles>& gis);

// "-lgip" memory column: MiB / 1024 with two decimals ("%.2f", so 19.625
// prints 19.62 as nvidia-smi does).
std::string format_gib(uint64_t memory_mb);

// Messages of -cgi/-cci/-dgi/-dci (R470+ form, every number "%2d").
std::string msg_created_gi(unsigned gpu, uint32_t gi_id, const std::string& profile_name,
                           uint32_t profile_id);
std::string msg_created_ci(unsigned gpu, uint32_t gi_id, uint32_t ci_id,
                           const std::string& profile_name, uint32_t ci_profile_id);
std::string msg_destroyed_gi(unsigned gpu, uint32_t gi_id);
std::string msg_destroyed_ci(unsigned gpu, uint32_t gi_id, uint32_t ci_id);

}  // namespace gpuvm::mig
