// Plain values that describe MIG on one GPU: the profile table the driver
// reports (reference/nvidia.md §5) and the instances that exist. No NVML
// handles here, so the solver, the formatters and the tests work on values.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gpuvm::mig {

// A GPU-instance placement in memory slices (8 per board), or a
// compute-instance placement in compute slices of its GPU instance.
struct Placement {
  uint32_t start = 0;
  uint32_t size = 0;
  friend auto operator<=>(const Placement&, const Placement&) = default;
};

// One GPU-instance profile (nvmlGpuInstanceProfileInfo_v2_t plus placements).
struct GiProfile {
  uint32_t enum_index = 0;  // what nvmlDeviceGetGpuInstanceProfileInfo takes
  uint32_t id = 0;          // the profile ID every other call and nvidia-smi use
  std::string name;         // "MIG 1g.10gb", as the driver reports it
  bool p2p = false;
  uint32_t slice_count = 0;     // compute slices
  uint32_t instance_count = 0;  // most instances of this profile at once
  uint32_t sm_count = 0;
  uint32_t copy_engines = 0;
  uint32_t decoders = 0;
  uint32_t encoders = 0;
  uint32_t jpegs = 0;
  uint32_t ofas = 0;
  uint64_t memory_mb = 0;
  std::vector<Placement> placements;  // every possible one, in the driver's order

  // "1g.10gb" (name without the "MIG " prefix).
  std::string short_name() const;
};

// One compute-instance profile inside a GPU instance.
struct CiProfile {
  uint32_t enum_index = 0;
  uint32_t id = 0;
  std::string name;  // "MIG 1c.3g.40gb"; the full-GI one is named like the GI
  uint32_t slice_count = 0;
  uint32_t instance_count = 0;
  uint32_t sm_count = 0;
  uint32_t copy_engines = 0;
  uint32_t decoders = 0;
  uint32_t encoders = 0;
  uint32_t jpegs = 0;
  uint32_t ofas = 0;
  uint32_t remaining = 0;  // free instances in this GI right now
};

// Every GPU-instance profile of one GPU, in nvidia-smi's -lgip order
// (compute slices, then memory, then ID: 19, 20, 15, 14, 9, 5, 0).
struct ProfileTable {
  std::vector<GiProfile> gi;

  // Profile by ID (19) or by name ("1g.10gb" or "MIG 1g.10gb"); nullptr if none.
  const GiProfile* find_id(uint32_t id) const;
  const GiProfile* find_name(std::string_view name) const;
  // The compute slices of the whole board (the largest profile's count, 7).
  uint32_t compute_slices() const;
  // Memory slices of the whole board (end of the furthest placement, 8).
  uint32_t memory_slices() const;
  void sort_smi_order();
};

struct ComputeInstance {
  uint32_t id = 0;
  uint32_t profile_id = 0;
  uint32_t slice_count = 0;
  Placement placement;
};

struct GpuInstance {
  uint32_t id = 0;
  uint32_t profile_id = 0;
  Placement placement;
  std::vector<ComputeInstance> compute_instances;  // by CI ID
};

struct MigMode {
  bool current = false;
  bool pending = false;
};

struct GpuIdentity {
  unsigned index = 0;
  std::string name;               // "NVIDIA H100 80GB HBM3"
  std::string uuid;               // "GPU-c410912c-..."
  std::string pci_bus_id;         // "00000000:00:06.0", NVML's form
  uint32_t pci_device_id = 0;     // (device << 16) | vendor, for device-filter
  uint32_t pci_subsystem_id = 0;  // (subsystem device << 16) | subsystem vendor
  uint64_t memory_total = 0;      // bytes
};

}  // namespace gpuvm::mig
