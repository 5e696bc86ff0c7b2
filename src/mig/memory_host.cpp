#include "mig/memory_host.h"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

namespace gpuvm::mig {
namespace {

uint64_t mask_of(const Placement& p) {
  return ((1ULL << p.size) - 1) << p.start;
}

uint32_t ci_profile_id(uint32_t slices) {
  switch (slices) {
    case 1:
      return NVML_COMPUTE_INSTANCE_PROFILE_1_SLICE;
    case 2:
      return NVML_COMPUTE_INSTANCE_PROFILE_2_SLICE;
    case 3:
      return NVML_COMPUTE_INSTANCE_PROFILE_3_SLICE;
    case 4:
      return NVML_COMPUTE_INSTANCE_PROFILE_4_SLICE;
    case 6:
      return NVML_COMPUTE_INSTANCE_PROFILE_6_SLICE;
    case 7:
      return NVML_COMPUTE_INSTANCE_PROFILE_7_SLICE;
    default:
      return NVML_COMPUTE_INSTANCE_PROFILE_8_SLICE;
  }
}

}  // namespace

std::vector<CiProfile> standard_ci_profiles(const GiProfile& gi) {
  std::vector<CiProfile> out;
  const uint32_t g = gi.slice_count;
  for (uint32_t c = 1; c <= g; ++c) {
    if (!(c == g || 2 * c <= g + 1)) continue;
    CiProfile p;
    p.id = p.enum_index = ci_profile_id(c);
    p.slice_count = c;
    p.instance_count = g / c;
    p.sm_count = g ? gi.sm_count * c / g : 0;
    p.copy_engines = gi.copy_engines;
    p.decoders = gi.decoders;
    p.encoders = gi.encoders;
    p.jpegs = gi.jpegs;
    p.ofas = gi.ofas;
    p.name = c == g ? gi.name : fmt::format("MIG {}c.{}", c, gi.short_name());
    out.push_back(std::move(p));
  }
  return out;
}

MemoryGpu::MemoryGpu(GpuIdentity identity, ProfileTable table, bool mig_enabled)
    : identity_(std::move(identity)), table_(std::move(table)), mode_{mig_enabled, mig_enabled} {}

void MemoryGpu::fail(nvmlReturn_t rc, std::string_view call) {
  ++counts_.failed;
  std::string text = nvml_default_error_string(rc);
  throw NvmlError(rc, text,
                  fmt::format("{} on GPU {} ({}): {} ({})", call, identity_.index,
                              identity_.pci_bus_id, text, nvml_return_name(rc)));
}

void MemoryGpu::maybe_inject(std::string_view call) {
  if (fail_at_ != 0 && counts_.create_gi + counts_.create_ci + 1 == fail_at_) {
    fail_at_ = 0;
    fail(fail_rc_, call);
  }
}

nvmlReturn_t MemoryGpu::set_mig_mode(bool enable) {
  if (mode_.current && !instances_.empty() && !enable)
    fail(NVML_ERROR_IN_USE, "nvmlDeviceSetMigMode");
  mode_.pending = enable;
  if (needs_reset_ && mode_.current != mode_.pending) return NVML_ERROR_RESET_REQUIRED;
  mode_.current = enable;
  return NVML_SUCCESS;
}

GpuInstance* MemoryGpu::find(uint32_t gi_id) {
  for (GpuInstance& gi : instances_)
    if (gi.id == gi_id) return &gi;
  return nullptr;
}

bool MemoryGpu::fits(const GiProfile& p, const Placement& pl) const {
  if (std::find(p.placements.begin(), p.placements.end(), pl) == p.placements.end()) return false;
  uint64_t occupied = 0;
  uint32_t compute = 0, same = 0;
  for (const GpuInstance& gi : instances_) {
    occupied |= mask_of(gi.placement);
    if (const GiProfile* q = table_.find_id(gi.profile_id)) compute += q->slice_count;
    if (gi.profile_id == p.id) ++same;
  }
  return (occupied & mask_of(pl)) == 0 && compute + p.slice_count <= table_.compute_slices() &&
         same < p.instance_count;
}

uint32_t MemoryGpu::remaining_with(const GiProfile& p, uint64_t occupied, uint32_t compute,
                                   const std::map<uint32_t, uint32_t>& used) const {
  uint32_t free = 0;
  for (const Placement& pl : p.placements)
    if ((mask_of(pl) & occupied) == 0) ++free;
  auto it = used.find(p.id);
  uint32_t have = it == used.end() ? 0 : it->second;
  uint32_t by_count = p.instance_count > have ? p.instance_count - have : 0;
  uint32_t budget = table_.compute_slices();
  uint32_t by_compute =
      p.slice_count ? (budget > compute ? budget - compute : 0) / p.slice_count : 0;
  return std::min({free, by_count, by_compute});
}

uint32_t MemoryGpu::remaining_capacity(uint32_t profile_id) {
  const GiProfile* p = table_.find_id(profile_id);
  if (p == nullptr) fail(NVML_ERROR_INVALID_ARGUMENT, "nvmlDeviceGetGpuInstanceRemainingCapacity");
  // The R580 driver answers for a GPU with MIG disabled as for an empty one
  // (the H100 capture: remaining 7 of 1g with MIG off).
  uint64_t occupied = 0;
  uint32_t compute = 0;
  std::map<uint32_t, uint32_t> used;
  for (const GpuInstance& gi : instances_) {
    occupied |= mask_of(gi.placement);
    if (const GiProfile* q = table_.find_id(gi.profile_id)) compute += q->slice_count;
    ++used[gi.profile_id];
  }
  return remaining_with(*p, occupied, compute, used);
}

std::vector<GpuInstance> MemoryGpu::gpu_instances() {
  if (!mode_.current) fail(NVML_ERROR_NOT_SUPPORTED, "nvmlDeviceGetGpuInstances");
  std::vector<GpuInstance> out = instances_;
  std::sort(out.begin(), out.end(),
            [](const GpuInstance& a, const GpuInstance& b) { return a.id < b.id; });
  return out;
}

GpuInstance MemoryGpu::create_gpu_instance(uint32_t profile_id,
                                           const std::optional<Placement>& placement) {
  const char* call =
      placement ? "nvmlDeviceCreateGpuInstanceWithPlacement" : "nvmlDeviceCreateGpuInstance";
  if (!mode_.current) fail(NVML_ERROR_NOT_SUPPORTED, call);
  const GiProfile* p = table_.find_id(profile_id);
  if (p == nullptr) fail(NVML_ERROR_INVALID_ARGUMENT, call);
  if (placement &&
      std::find(p->placements.begin(), p->placements.end(), *placement) == p->placements.end())
    fail(NVML_ERROR_INVALID_ARGUMENT, call);
  maybe_inject(call);
  std::optional<Placement> chosen = placement;
  if (!chosen) {
    // The driver's choice: for each free start, how many instances of every
    // profile (largest first) could still be created; keep the best, ties to
    // the lowest start (reference §5.3a).
    std::vector<const GiProfile*> by_size;
    for (const GiProfile& q : table_.gi) by_size.push_back(&q);
    std::stable_sort(by_size.begin(), by_size.end(), [](const GiProfile* a, const GiProfile* b) {
      return std::tie(a->slice_count, a->memory_mb) > std::tie(b->slice_count, b->memory_mb);
    });
    std::vector<uint32_t> best_score;
    for (const Placement& pl : p->placements) {
      if (!fits(*p, pl)) continue;
      uint64_t occupied = mask_of(pl);
      uint32_t compute = p->slice_count;
      std::map<uint32_t, uint32_t> used{{p->id, 1}};
      for (const GpuInstance& gi : instances_) {
        occupied |= mask_of(gi.placement);
        if (const GiProfile* q = table_.find_id(gi.profile_id)) compute += q->slice_count;
        ++used[gi.profile_id];
      }
      std::vector<uint32_t> score;
      for (const GiProfile* q : by_size)
        score.push_back(remaining_with(*q, occupied, compute, used));
      if (!chosen || score > best_score) {
        chosen = pl;
        best_score = score;
      }
    }
    if (!chosen) fail(NVML_ERROR_INSUFFICIENT_RESOURCES, call);
  } else if (!fits(*p, *chosen)) {
    fail(NVML_ERROR_INSUFFICIENT_RESOURCES, call);
  }
  ++counts_.create_gi;
  // IDs: the lowest unused one (the real driver's come from creation history;
  // gpuvm never derives anything from them).
  uint32_t id = 1;
  while (find(id) != nullptr) ++id;
  instances_.push_back({id, p->id, *chosen, {}});
  return instances_.back();
}

void MemoryGpu::destroy_gpu_instance(uint32_t gi_id) {
  GpuInstance* gi = find(gi_id);
  if (gi == nullptr) fail(NVML_ERROR_NOT_FOUND, "nvmlDeviceGetGpuInstanceById");
  if (!gi->compute_instances.empty()) fail(NVML_ERROR_IN_USE, "nvmlGpuInstanceDestroy");
  ++counts_.destroy_gi;
  instances_.erase(instances_.begin() + (gi - instances_.data()));
}

std::vector<CiProfile> MemoryGpu::ci_profiles(uint32_t gi_id) {
  GpuInstance* gi = find(gi_id);
  if (gi == nullptr) fail(NVML_ERROR_NOT_FOUND, "nvmlDeviceGetGpuInstanceById");
  const GiProfile* p = table_.find_id(gi->profile_id);
  std::vector<CiProfile> out = standard_ci_profiles(*p);
  for (CiProfile& c : out) {
    uint64_t occupied = 0;
    for (const ComputeInstance& ci : gi->compute_instances) occupied |= mask_of(ci.placement);
    c.remaining = 0;
    for (uint32_t s = 0; s + c.slice_count <= p->slice_count; s += c.slice_count)
      if ((mask_of({s, c.slice_count}) & occupied) == 0) ++c.remaining;
  }
  return out;
}

ComputeInstance MemoryGpu::create_compute_instance(uint32_t gi_id, uint32_t ci_profile_id,
                                                   const std::optional<Placement>& placement) {
  const char* call = placement ? "nvmlGpuInstanceCreateComputeInstanceWithPlacement"
                               : "nvmlGpuInstanceCreateComputeInstance";
  GpuInstance* gi = find(gi_id);
  if (gi == nullptr) fail(NVML_ERROR_NOT_FOUND, "nvmlDeviceGetGpuInstanceById");
  const GiProfile* p = table_.find_id(gi->profile_id);
  std::vector<CiProfile> cps = standard_ci_profiles(*p);
  auto cp = std::find_if(cps.begin(), cps.end(),
                         [&](const CiProfile& c) { return c.id == ci_profile_id; });
  if (cp == cps.end()) fail(NVML_ERROR_INVALID_ARGUMENT, call);
  maybe_inject(call);
  uint64_t occupied = 0;
  for (const ComputeInstance& ci : gi->compute_instances) occupied |= mask_of(ci.placement);
  std::optional<Placement> chosen;
  for (uint32_t s = 0; s + cp->slice_count <= p->slice_count; s += cp->slice_count) {
    Placement pl{s, cp->slice_count};
    if (placement && *placement != pl) continue;
    if ((mask_of(pl) & occupied) == 0) {
      chosen = pl;
      break;
    }
  }
  if (!chosen) fail(NVML_ERROR_INSUFFICIENT_RESOURCES, call);
  ++counts_.create_ci;
  uint32_t id = 0;
  auto taken = [&](uint32_t v) {
    return std::any_of(gi->compute_instances.begin(), gi->compute_instances.end(),
                       [&](const ComputeInstance& c) { return c.id == v; });
  };
  while (taken(id)) ++id;
  gi->compute_instances.push_back({id, cp->id, cp->slice_count, *chosen});
  std::sort(gi->compute_instances.begin(), gi->compute_instances.end(),
            [](const ComputeInstance& a, const ComputeInstance& b) { return a.id < b.id; });
  for (const ComputeInstance& c : gi->compute_instances)
    if (c.id == id) return c;
  return {};
}

void MemoryGpu::destroy_compute_instance(uint32_t gi_id, uint32_t ci_id) {
  GpuInstance* gi = find(gi_id);
  if (gi == nullptr) fail(NVML_ERROR_NOT_FOUND, "nvmlDeviceGetGpuInstanceById");
  auto it = std::find_if(gi->compute_instances.begin(), gi->compute_instances.end(),
                         [&](const ComputeInstance& c) { return c.id == ci_id; });
  if (it == gi->compute_instances.end())
    fail(NVML_ERROR_NOT_FOUND, "nvmlGpuInstanceGetComputeInstanceById");
  ++counts_.destroy_ci;
  gi->compute_instances.erase(it);
}

MemoryHost::MemoryHost(std::vector<ProfileTable> tables, bool mig_enabled) {
  for (size_t i = 0; i < tables.size(); ++i) {
    GpuIdentity id;
    id.index = static_cast<unsigned>(i);
    id.name = "in-memory GPU";
    id.uuid = fmt::format("GPU-00000000-0000-0000-0000-{:012x}", i);
    id.pci_bus_id = fmt::format("00000000:{:02X}:00.0", 0x10 + i);
    id.pci_device_id = 0x233010DE;
    gpus_.push_back(std::make_unique<MemoryGpu>(id, std::move(tables[i]), mig_enabled));
  }
}

MigGpu& MemoryHost::gpu(unsigned index) {
  if (index >= gpus_.size())
    throw Error(Errc::kNotFound, fmt::format("no GPU with index {}", index));
  return *gpus_[index];
}

}  // namespace gpuvm::mig
