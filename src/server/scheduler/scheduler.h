// GPU-aware placement: which devices of which host a VM gets. A pure function
// of the hosts' inventories and the allocations already made, so that the
// store can run it inside a transaction that holds the host's row lock and
// re-check the answer against what is committed (docs/scheduler.md).
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "server/scheduler/model.h"

namespace gpuvm::server {

// How good a placement is; smaller is better (compared member by member).
struct PlacementCost {
  int numa_split = 0;       // NUMA nodes spanned beyond the first
  int fresh_gpus = 0;       // GPUs that had no allocation before this VM
  int whole_gpus_left = 0;  // untouched GPUs left on the host: pack busy hosts first
  int free_units_left = 0;  // free VFs + free MIG memory slices on the GPUs it touched
  auto operator<=>(const PlacementCost&) const = default;
};

struct Placement {
  std::vector<Allocation> allocations;  // one per request, in request order
  PlacementCost cost;
};

struct PlaceResult {
  std::optional<Placement> placement;
  std::string reason;  // why not, when there is no placement
};

// Places every request of one VM on this host, or none (all-or-nothing).
// `existing` are the host's current allocations (of other VMs).
PlaceResult place_on_host(const HostInventory& host, std::span<const Allocation> existing,
                          const VmRequest& request, int64_t vm_id);

struct HostState {
  const HostInventory* inventory = nullptr;
  std::vector<Allocation> allocations;
};

struct HostCandidate {
  size_t host_index = 0;  // into the span given to rank_hosts
  Placement placement;
};

// What a host has free, in a form cheap to test against a request: lets a
// large fleet skip hosts that surely cannot fit before the full search.
struct HostSummary {
  int whole_free_gpus = 0;
  std::map<std::string, uint32_t> mig_free;      // summed over GPUs
  std::map<std::string, uint32_t> vgpu_free;     // summed over GPUs
  std::map<uint32_t, uint32_t> vgpu_free_by_id;  // the same by type id (PROFILE="1043")
  // Devices that could be passed through whole now, by TYPE "vvvv:dddd:cccc".
  std::map<std::string, uint32_t> whole_free_by_type;
};
HostSummary summarize(const HostInventory& host, std::span<const Allocation> existing);
// A necessary condition: false means place_on_host would fail. Requests by
// SHORT_ADDRESS are not judged here.
bool may_fit(const HostSummary& s, const VmRequest& request, std::string* why = nullptr);

struct RankOptions {
  // One summary per host (same order), or empty: no prefilter.
  std::span<const HostSummary> summaries;
  // Stop after this many hosts that fit: with summaries, hosts are visited
  // busiest first (fewest whole free GPUs), so the best few are among them.
  size_t max_candidates = SIZE_MAX;
};

// Every host that can take the VM (or the first max_candidates), best first
// (cost, then host name). When none can, `why_not` gets one reason per host
// (bounded).
std::vector<HostCandidate> rank_hosts(std::span<const HostState> hosts, const VmRequest& request,
                                      int64_t vm_id, std::string* why_not = nullptr,
                                      const RankOptions& options = {});

// What is free on one GPU now, for the API and /metrics.
struct GpuCapacity {
  std::string address;
  bool whole_free = false;                    // can be passed through as is
  std::map<std::string, uint32_t> mig_free;   // GIs of this profile that could still be had
  std::map<std::string, uint32_t> vgpu_free;  // vGPUs of this type that could still be created
  uint32_t free_memory_slices = 0;
  uint32_t vfs_total = 0, vfs_free = 0;
};
std::vector<GpuCapacity> capacity(const HostInventory& host, std::span<const Allocation> existing);

// The first-fit baseline the benchmark compares against: OpenNebula's rule
// (first free device in ADDRESS order matching VENDOR/DEVICE/CLASS, blind to
// PROFILE, MIG, NUMA and PF/VF). Name requests match any GPU PF or VF.
std::optional<std::vector<std::string>> first_fit_devices(const HostInventory& host,
                                                          std::span<const Allocation> existing,
                                                          const VmRequest& request);

}  // namespace gpuvm::server
