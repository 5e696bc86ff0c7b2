#include "sim/mig_ops.h"

#include <algorithm>
#include <string>
#include <utility>

namespace gpuvm::sim {

namespace {

Errc errc_of(MigErrc code) {
  switch (code) {
    case MigErrc::kInvalidArgument:
      return Errc::kInvalidArgument;
    case MigErrc::kNotSupported:
      return Errc::kUnsupported;
    case MigErrc::kNotFound:
      return Errc::kNotFound;
    case MigErrc::kInUse:
      return Errc::kBusy;
    case MigErrc::kInsufficientResources:
      return Errc::kConflict;
  }
  return Errc::kInternal;
}

[[noreturn]] void fail(MigErrc code, std::string message) {
  throw MigError(code, std::move(message));
}

std::string range_str(const SliceRange& r) {
  return std::to_string(r.start) + ":" + std::to_string(r.size);
}

// One existing GI as the capacity rules see it.
struct Occupied {
  const GiProfile* profile;
  SliceRange range;
};

std::vector<Occupied> occupied_of(const MigState& state, const MigModel& model) {
  std::vector<Occupied> out;
  out.reserve(state.gpu_instances.size());
  for (const auto& gi : state.gpu_instances) {
    out.push_back({&gi_profile_of(model, gi), {gi.start, gi.size}});
  }
  return out;
}

// Why a GI of `p` cannot be added at all (count, compute slices, +me), or
// nullptr when only the memory placement remains to be checked.
const char* blocked_reason(const std::vector<Occupied>& occ, const MigModel& model,
                           const GiProfile& p) {
  uint32_t same = 0, compute = 0, plus_me = 0;
  for (const auto& o : occ) {
    if (o.profile == &p) ++same;
    compute += o.profile->slice_count;
    if (o.profile->media == MediaVariant::kPlusMe) ++plus_me;
  }
  if (same >= p.instance_count) return "its instance count is reached";
  if (compute + p.slice_count > model.compute_slices) return "not enough free compute slices";
  // The board has one set of media extras (JPEG/OFA): one +me GI at a time.
  if (p.media == MediaVariant::kPlusMe && plus_me > 0) return "the +me engines are taken";
  return nullptr;
}

bool range_free(const std::vector<Occupied>& occ, const SliceRange& r) {
  return std::none_of(occ.begin(), occ.end(),
                      [&](const Occupied& o) { return o.range.overlaps(r); });
}

std::vector<SliceRange> free_placements(const std::vector<Occupied>& occ, const GiProfile& p) {
  std::vector<SliceRange> out;
  for (const SliceRange& r : p.placements()) {
    if (range_free(occ, r)) out.push_back(r);
  }
  return out;
}

uint32_t remaining(const std::vector<Occupied>& occ, const MigModel& model, const GiProfile& p) {
  if (blocked_reason(occ, model, p) != nullptr) return 0;
  uint32_t same = 0, compute = 0;
  for (const auto& o : occ) {
    if (o.profile == &p) ++same;
    compute += o.profile->slice_count;
  }
  // Placements of one profile never overlap each other (aligned, equal
  // sizes), so every free one can be used at once, up to the other limits.
  uint32_t free_count = 0;
  for (uint32_t start : p.starts) {
    if (range_free(occ, {start, p.memory_slices})) ++free_count;
  }
  uint32_t n = std::min(free_count, p.instance_count - same);
  n = std::min(n, (model.compute_slices - compute) / p.slice_count);
  if (p.media == MediaVariant::kPlusMe) n = std::min(n, 1u);
  return n;
}

std::optional<SliceRange> default_placement(const std::vector<Occupied>& occ, const MigModel& model,
                                            const GiProfile& p) {
  if (blocked_reason(occ, model, p) != nullptr) return std::nullopt;
  std::optional<SliceRange> best;
  std::vector<uint32_t> best_key;
  for (const SliceRange& r : free_placements(occ, p)) {
    std::vector<Occupied> after = occ;
    after.push_back({&p, r});
    // Largest profile first: the reverse of the -lgip (smallest first) order.
    std::vector<uint32_t> key;
    for (auto it = model.gi_profiles.rbegin(); it != model.gi_profiles.rend(); ++it) {
      key.push_back(remaining(after, model, *it));
    }
    if (!best || key > best_key) {  // strictly better: ties keep the lower start
      best = r;
      best_key = std::move(key);
    }
  }
  return best;
}

GpuInstanceState* find_gi(MigState& state, uint32_t gi_id) {
  for (auto& gi : state.gpu_instances) {
    if (gi.id == gi_id) return &gi;
  }
  return nullptr;
}

}  // namespace

MigError::MigError(MigErrc code, std::string message)
    : Error(errc_of(code), std::move(message)), mig_code_(code) {}

MigModeActivation set_mig_mode(MigState& state, const MigModel& model, bool enable) {
  // The driver refuses a mode change while GPU instances exist (they must be
  // destroyed first, as mig-parted does).
  if (!enable && !state.gpu_instances.empty()) {
    fail(MigErrc::kInUse, "cannot disable MIG mode on a " + model.key + ": " +
                              std::to_string(state.gpu_instances.size()) +
                              " GPU instance(s) exist");
  }
  state.pending = enable;
  if (model.mode_change_needs_reset && state.current != enable) {
    return MigModeActivation::kPendingReset;  // Ampere: effective after a GPU reset
  }
  state.current = enable;  // Hopper+ applies it at once (reference §0.6)
  return MigModeActivation::kApplied;
}

void reset_gpu(MigState& state) {
  state.current = state.pending;
  state.drop_instances();
}

const GiProfile& gi_profile_by_id(const MigModel& model, uint32_t profile_id) {
  if (const GiProfile* p = model.find_by_id(profile_id)) return *p;
  fail(MigErrc::kInvalidArgument,
       "no GPU instance profile id " + std::to_string(profile_id) + " on a " + model.key);
}

std::vector<SliceRange> gi_possible_placements(const MigModel& model, uint32_t profile_id) {
  return gi_profile_by_id(model, profile_id).placements();
}

uint32_t gi_remaining_capacity(const MigState& state, const MigModel& model, uint32_t profile_id) {
  const GiProfile& p = gi_profile_by_id(model, profile_id);
  return remaining(occupied_of(state, model), model, p);
}

std::optional<SliceRange> gi_default_placement(const MigState& state, const MigModel& model,
                                               uint32_t profile_id) {
  const GiProfile& p = gi_profile_by_id(model, profile_id);
  return default_placement(occupied_of(state, model), model, p);
}

GpuInstanceState create_gpu_instance(MigState& state, const MigModel& model, uint32_t profile_id,
                                     const std::optional<SliceRange>& placement) {
  const GiProfile& p = gi_profile_by_id(model, profile_id);
  const std::string what = "GPU instance " + p.name + " (profile " + std::to_string(p.id) + ")";
  if (!state.current) fail(MigErrc::kNotSupported, "cannot create " + what + ": MIG mode is off");
  if (placement) {
    const auto offered = p.placements();
    if (std::find(offered.begin(), offered.end(), *placement) == offered.end()) {
      fail(MigErrc::kInvalidArgument,
           "placement " + range_str(*placement) + " is not one of " + what + "'s");
    }
  }
  const auto occ = occupied_of(state, model);
  if (const char* why = blocked_reason(occ, model, p)) {
    fail(MigErrc::kInsufficientResources, "cannot create " + what + ": " + why);
  }
  std::optional<SliceRange> where = placement;
  if (where) {
    if (!range_free(occ, *where)) {
      fail(MigErrc::kInsufficientResources,
           "cannot create " + what + " at " + range_str(*where) + ": overlaps a GPU instance");
    }
  } else {
    where = default_placement(occ, model, p);
    if (!where) fail(MigErrc::kInsufficientResources, "no free placement for " + what);
  }
  GpuInstanceState gi;
  gi.id = model.gi_id_for(*where);
  gi.profile_id = p.id;
  gi.start = where->start;
  gi.size = where->size;
  state.gpu_instances.push_back(gi);
  return gi;
}

void destroy_gpu_instance(MigState& state, uint32_t gi_id) {
  auto it = std::find_if(state.gpu_instances.begin(), state.gpu_instances.end(),
                         [&](const GpuInstanceState& gi) { return gi.id == gi_id; });
  if (it == state.gpu_instances.end()) {
    fail(MigErrc::kNotFound, "no GPU instance " + std::to_string(gi_id));
  }
  // nvml.h: IN_USE while compute instances (or processes) exist.
  if (!it->compute_instances.empty()) {
    fail(MigErrc::kInUse, "GPU instance " + std::to_string(gi_id) + " still holds " +
                              std::to_string(it->compute_instances.size()) +
                              " compute instance(s)");
  }
  state.gpu_instances.erase(it);
}

const GpuInstanceState& find_gpu_instance(const MigState& state, uint32_t gi_id) {
  for (const auto& gi : state.gpu_instances) {
    if (gi.id == gi_id) return gi;
  }
  fail(MigErrc::kNotFound, "no GPU instance " + std::to_string(gi_id));
}

std::vector<GpuInstanceState> gpu_instances_by_id(const MigState& state) {
  auto out = state.gpu_instances;
  std::sort(out.begin(), out.end(),
            [](const GpuInstanceState& a, const GpuInstanceState& b) { return a.id < b.id; });
  return out;
}

const GiProfile& gi_profile_of(const MigModel& model, const GpuInstanceState& gi) {
  if (const GiProfile* p = model.find_by_id(gi.profile_id)) return *p;
  throw Error(Errc::kInternal, "GPU instance " + std::to_string(gi.id) + " has profile id " +
                                   std::to_string(gi.profile_id) + ", unknown on a " + model.key);
}

const CiProfile& ci_profile_by_id(const GiProfile& gi_profile, uint32_t ci_profile_id) {
  if (const CiProfile* ci = gi_profile.find_ci_profile(ci_profile_id)) return *ci;
  fail(MigErrc::kInvalidArgument, "no compute instance profile id " +
                                      std::to_string(ci_profile_id) + " in a " + gi_profile.name +
                                      " GPU instance");
}

namespace {

bool ci_range_free(const GpuInstanceState& gi, const SliceRange& r) {
  return std::none_of(gi.compute_instances.begin(), gi.compute_instances.end(),
                      [&](const ComputeInstanceState& ci) {
                        return SliceRange{ci.start, ci.size}.overlaps(r);
                      });
}

uint32_t ci_count(const GpuInstanceState& gi, uint32_t ci_profile_id) {
  return static_cast<uint32_t>(std::count_if(
      gi.compute_instances.begin(), gi.compute_instances.end(),
      [&](const ComputeInstanceState& ci) { return ci.profile_id == ci_profile_id; }));
}

}  // namespace

uint32_t ci_remaining_capacity(const GpuInstanceState& gi, const GiProfile& gi_profile,
                               uint32_t ci_profile_id) {
  const CiProfile& cp = ci_profile_by_id(gi_profile, ci_profile_id);
  const uint32_t used = ci_count(gi, cp.id);
  if (used >= cp.instance_count) return 0;
  uint32_t free = 0;
  for (const SliceRange& r : cp.placements()) {
    if (ci_range_free(gi, r)) ++free;
  }
  return std::min(free, cp.instance_count - used);
}

ComputeInstanceState create_compute_instance(MigState& state, const MigModel& model, uint32_t gi_id,
                                             uint32_t ci_profile_id,
                                             const std::optional<SliceRange>& placement) {
  GpuInstanceState* gi = find_gi(state, gi_id);
  if (gi == nullptr) fail(MigErrc::kNotFound, "no GPU instance " + std::to_string(gi_id));
  const GiProfile& gp = gi_profile_of(model, *gi);
  const CiProfile& cp = ci_profile_by_id(gp, ci_profile_id);
  const std::string what = "compute instance " + cp.name + " (profile " + std::to_string(cp.id) +
                           ") in GPU instance " + std::to_string(gi_id);
  if (placement) {
    const auto offered = cp.placements();
    if (std::find(offered.begin(), offered.end(), *placement) == offered.end()) {
      fail(MigErrc::kInvalidArgument,
           "placement " + range_str(*placement) + " is not one of " + what + "'s");
    }
  }
  if (ci_count(*gi, cp.id) >= cp.instance_count) {
    fail(MigErrc::kInsufficientResources, "cannot create " + what + ": instance count reached");
  }
  std::optional<SliceRange> where = placement;
  if (where) {
    if (!ci_range_free(*gi, *where)) {
      fail(MigErrc::kInsufficientResources,
           "cannot create " + what + " at " + range_str(*where) + ": overlaps a compute instance");
    }
  } else {
    for (const SliceRange& r : cp.placements()) {
      if (ci_range_free(*gi, r)) {
        where = r;
        break;
      }
    }
    if (!where) fail(MigErrc::kInsufficientResources, "no free placement for " + what);
  }
  ComputeInstanceState ci;
  ci.id = 0;
  while (std::any_of(gi->compute_instances.begin(), gi->compute_instances.end(),
                     [&](const ComputeInstanceState& c) { return c.id == ci.id; })) {
    ++ci.id;
  }
  ci.profile_id = cp.id;
  ci.start = where->start;
  ci.size = where->size;
  gi->compute_instances.push_back(ci);
  return ci;
}

void destroy_compute_instance(MigState& state, uint32_t gi_id, uint32_t ci_id) {
  GpuInstanceState* gi = find_gi(state, gi_id);
  if (gi == nullptr) fail(MigErrc::kNotFound, "no GPU instance " + std::to_string(gi_id));
  auto& cis = gi->compute_instances;
  auto it = std::find_if(cis.begin(), cis.end(),
                         [&](const ComputeInstanceState& c) { return c.id == ci_id; });
  if (it == cis.end()) {
    fail(MigErrc::kNotFound, "no compute instance " + std::to_string(ci_id) + " in GPU instance " +
                                 std::to_string(gi_id));
  }
  cis.erase(it);
}

}  // namespace gpuvm::sim
