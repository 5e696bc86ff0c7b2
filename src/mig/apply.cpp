#include "mig/apply.h"

#include <fmt/format.h>

#include <map>
#include <variant>

namespace gpuvm::mig {
namespace {

struct CreatedGi {
  uint32_t gi_id;
};
struct CreatedCi {
  uint32_t gi_id;
  uint32_t ci_id;
};
struct DestroyedGi {
  uint32_t gi_id;  // the ID it had
  uint32_t profile_id;
  Placement placement;
};
struct DestroyedCi {
  uint32_t gi_id;
  uint32_t profile_id;
  Placement placement;
};
using Step = std::variant<CreatedGi, CreatedCi, DestroyedGi, DestroyedCi>;

std::string gpu_name(const MigGpu& gpu) {
  return fmt::format("GPU {} ({})", gpu.identity().index, gpu.identity().pci_bus_id);
}

std::string profile_name(MigGpu& gpu, uint32_t id) {
  const GiProfile* p = gpu.profiles().find_id(id);
  return p ? p->short_name() : fmt::format("profile {}", id);
}

// Undoes `journal` in reverse; returns what could not be restored.
std::vector<std::string> roll_back(MigGpu& gpu, const std::vector<Step>& journal) {
  std::vector<std::string> problems;
  std::map<uint32_t, uint32_t> new_id;  // destroyed GI ID -> ID of its re-creation
  for (auto it = journal.rbegin(); it != journal.rend(); ++it) {
    try {
      if (auto* c = std::get_if<CreatedCi>(&*it)) {
        gpu.destroy_compute_instance(c->gi_id, c->ci_id);
      } else if (auto* g = std::get_if<CreatedGi>(&*it)) {
        gpu.destroy_gpu_instance(g->gi_id);
      } else if (auto* d = std::get_if<DestroyedGi>(&*it)) {
        GpuInstance gi = gpu.create_gpu_instance(d->profile_id, d->placement);
        new_id[d->gi_id] = gi.id;
      } else if (auto* dc = std::get_if<DestroyedCi>(&*it)) {
        auto n = new_id.find(dc->gi_id);
        uint32_t gi = n == new_id.end() ? dc->gi_id : n->second;
        gpu.create_compute_instance(gi, dc->profile_id, dc->placement);
      }
    } catch (const Error& e) {
      problems.push_back(e.what());
    }
  }
  return problems;
}

}  // namespace

uint32_t ci_profile_for(MigGpu& gpu, uint32_t gi_id, uint32_t slices) {
  std::vector<CiProfile> profiles = gpu.ci_profiles(gi_id);
  for (const CiProfile& p : profiles)
    if (p.slice_count == slices) return p.id;
  std::string have;
  for (const CiProfile& p : profiles)
    have += fmt::format("{}{}c", have.empty() ? "" : ", ", p.slice_count);
  throw Error(Errc::kInvalidArgument,
              fmt::format("{}: GPU instance {} offers no {}-slice compute instance (it has: {})",
                          gpu_name(gpu), gi_id, slices, have));
}

void execute_plan(MigGpu& gpu, const Plan& plan, std::vector<std::string>* log) {
  std::vector<Step> journal;
  auto note = [&](std::string line) {
    if (log != nullptr) log->push_back(std::move(line));
  };
  std::string step;  // what was being done, for the error message
  try {
    std::map<uint32_t, GpuInstance> before;
    for (const GpuInstance& gi : gpu.gpu_instances()) before[gi.id] = gi;
    for (const Plan::DestroyCi& d : plan.destroy_cis) {
      step = fmt::format("destroying compute instance {} of GPU instance {}", d.ci_id, d.gi_id);
      ComputeInstance old{};
      for (const ComputeInstance& c : before[d.gi_id].compute_instances)
        if (c.id == d.ci_id) old = c;
      gpu.destroy_compute_instance(d.gi_id, d.ci_id);
      journal.push_back(DestroyedCi{d.gi_id, old.profile_id, old.placement});
      note(fmt::format("destroyed compute instance {} of GPU instance {}", d.ci_id, d.gi_id));
    }
    for (uint32_t id : plan.destroy_gis) {
      const GpuInstance& old = before[id];
      step =
          fmt::format("destroying GPU instance {} ({} at {}:{})", id,
                      profile_name(gpu, old.profile_id), old.placement.start, old.placement.size);
      gpu.destroy_gpu_instance(id);
      journal.push_back(DestroyedGi{id, old.profile_id, old.placement});
      note(fmt::format("destroyed GPU instance {} ({})", id, profile_name(gpu, old.profile_id)));
    }
    for (const Plan::CreateGi& c : plan.create_gis) {
      step = fmt::format("creating GPU instance {} at {}:{}", profile_name(gpu, c.profile_id),
                         c.placement.start, c.placement.size);
      GpuInstance gi = gpu.create_gpu_instance(c.profile_id, c.placement);
      journal.push_back(CreatedGi{gi.id});
      note(fmt::format("created GPU instance {} ({} at {}:{})", gi.id,
                       profile_name(gpu, c.profile_id), c.placement.start, c.placement.size));
      for (uint32_t s : c.ci_slices) {
        step = fmt::format("creating a {}-slice compute instance in GPU instance {}", s, gi.id);
        ComputeInstance ci =
            gpu.create_compute_instance(gi.id, ci_profile_for(gpu, gi.id, s), std::nullopt);
        journal.push_back(CreatedCi{gi.id, ci.id});
        note(fmt::format("created compute instance {} in GPU instance {}", ci.id, gi.id));
      }
    }
    for (const Plan::CreateCi& c : plan.create_cis) {
      step =
          fmt::format("creating a {}-slice compute instance in GPU instance {}", c.slices, c.gi_id);
      ComputeInstance ci = gpu.create_compute_instance(
          c.gi_id, ci_profile_for(gpu, c.gi_id, c.slices), std::nullopt);
      journal.push_back(CreatedCi{c.gi_id, ci.id});
      note(fmt::format("created compute instance {} in GPU instance {}", ci.id, c.gi_id));
    }
  } catch (const Error& e) {
    std::vector<std::string> problems = roll_back(gpu, journal);
    std::string rollback =
        problems.empty()
            ? (journal.empty()
                   ? std::string("nothing had changed")
                   : fmt::format("rolled back {} step(s), the GPU is as before", journal.size()))
            : fmt::format("rollback incomplete: {}", fmt::join(problems, "; "));
    // e.what() names the NVML call and code (NvmlError) or the bad input.
    throw Error(e.code(),
                fmt::format("{}: failed {}: {}; {}", gpu_name(gpu), step, e.what(), rollback));
  }
}

}  // namespace gpuvm::mig

namespace gpuvm::mig {

GpuInstance create_placed_gi(MigGpu& gpu, uint32_t profile_id) {
  const ProfileTable& table = gpu.profiles();
  const GiProfile* profile = table.find_id(profile_id);
  if (profile == nullptr) {
    throw_invalid(fmt::format("{} has no GPU instance profile {}", gpu_name(gpu), profile_id));
  }
  std::vector<PlacedGi> fixed;
  for (const GpuInstance& gi : gpu.gpu_instances()) fixed.push_back({gi.profile_id, gi.placement});
  const FitResult f = fit(table, {profile_id}, fixed);
  if (!f.ok) {
    throw Error(Errc::kConflict, fmt::format("{}: no room for a {} GPU instance: {}", gpu_name(gpu),
                                             profile->short_name(), f.why));
  }
  Plan plan;
  plan.create_gis.push_back({profile_id, f.placements.front(), {profile->slice_count}});
  execute_plan(gpu, plan);
  for (const GpuInstance& gi : gpu.gpu_instances()) {
    if (gi.profile_id == profile_id && gi.placement == f.placements.front()) return gi;
  }
  throw Error(Errc::kInternal, fmt::format("{}: the {} GPU instance created at {}:{} is not listed",
                                           gpu_name(gpu), profile->short_name(),
                                           f.placements.front().start, f.placements.front().size));
}

void destroy_gi(MigGpu& gpu, uint32_t gi_id) {
  Plan plan;
  for (const GpuInstance& gi : gpu.gpu_instances()) {
    if (gi.id != gi_id) continue;
    for (const ComputeInstance& ci : gi.compute_instances)
      plan.destroy_cis.push_back({gi_id, ci.id});
  }
  plan.destroy_gis.push_back(gi_id);
  execute_plan(gpu, plan);
}

}  // namespace gpuvm::mig
