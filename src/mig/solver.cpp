#include "mig/solver.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <map>
#include <numeric>

#include "core/error.h"

namespace gpuvm::mig {
namespace {

uint64_t mask_of(const Placement& p) {
  if (p.size >= 64) return ~0ULL;
  return ((1ULL << p.size) - 1) << p.start;
}

std::string name_of(const ProfileTable& t, uint32_t id) {
  const GiProfile* p = t.find_id(id);
  return p ? p->short_name() : fmt::format("profile {}", id);
}

struct Search {
  const ProfileTable& table;
  std::vector<const GiProfile*> items;  // in search order
  std::vector<Placement> chosen;
  std::map<uint32_t, uint32_t> used;  // profile ID -> instances placed
  uint32_t compute_budget = 0;

  bool place(size_t i, uint64_t occupied, uint32_t compute) {
    if (i == items.size()) return true;
    const GiProfile& p = *items[i];
    if (compute + p.slice_count > compute_budget) return false;
    if (used[p.id] + 1 > p.instance_count) return false;
    // Identical profiles in a row take increasing placements: the same set in
    // another order is the same layout, so never try it twice.
    uint32_t min_start = 0;
    if (i > 0 && items[i - 1]->id == p.id) min_start = chosen[i - 1].start + 1;
    for (const Placement& pl : p.placements) {
      if (pl.start < min_start || (mask_of(pl) & occupied) != 0) continue;
      chosen[i] = pl;
      ++used[p.id];
      if (place(i + 1, occupied | mask_of(pl), compute + p.slice_count)) return true;
      --used[p.id];
    }
    return false;
  }
};

}  // namespace

namespace {

FitResult fit_impl(const ProfileTable& table, const std::vector<uint32_t>& wanted,
                   const std::vector<PlacedGi>& fixed, bool explain) {
  FitResult result;
  uint64_t occupied = 0;
  uint32_t compute = 0;
  std::map<uint32_t, uint32_t> used;
  for (const PlacedGi& f : fixed) {
    const GiProfile* p = table.find_id(f.profile_id);
    if (p == nullptr) {
      result.why =
          fmt::format("existing GPU instance has profile {}, unknown on this GPU", f.profile_id);
      return result;
    }
    occupied |= mask_of(f.placement);
    compute += p->slice_count;
    ++used[p->id];
  }
  // Order: fewest placements first (most constrained), then largest, then ID.
  std::vector<size_t> order(wanted.size());
  std::iota(order.begin(), order.end(), 0);
  std::vector<const GiProfile*> profiles;
  for (uint32_t id : wanted) {
    const GiProfile* p = table.find_id(id);
    if (p == nullptr) {
      result.why = fmt::format("profile ID {} does not exist on this GPU", id);
      return result;
    }
    profiles.push_back(p);
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const GiProfile& x = *profiles[a];
    const GiProfile& y = *profiles[b];
    uint32_t xs = x.placements.empty() ? 0 : x.placements.front().size;
    uint32_t ys = y.placements.empty() ? 0 : y.placements.front().size;
    if (xs != ys) return xs > ys;
    if (x.slice_count != y.slice_count) return x.slice_count > y.slice_count;
    if (x.placements.size() != y.placements.size())
      return x.placements.size() < y.placements.size();
    return x.id < y.id;
  });

  // Cheap, explainable necessary conditions first.
  std::map<uint32_t, uint32_t> want_count;
  uint32_t want_compute = compute;
  for (const GiProfile* p : profiles) {
    ++want_count[p->id];
    want_compute += p->slice_count;
  }
  for (const auto& [id, n] : want_count) {
    const GiProfile* p = table.find_id(id);
    if (used[id] + n > p->instance_count) {
      result.why =
          fmt::format("{} x {} wanted{}, but the GPU allows at most {}", n, p->short_name(),
                      used[id] ? fmt::format(" besides {} kept", used[id]) : "", p->instance_count);
      return result;
    }
  }
  uint32_t budget = table.compute_slices();
  if (want_compute > budget) {
    result.why =
        fmt::format("the layout needs {} compute slices, the GPU has {}", want_compute, budget);
    return result;
  }

  Search s{table, {}, {}, used, budget};
  for (size_t i : order) s.items.push_back(profiles[i]);
  s.chosen.resize(s.items.size());
  if (s.place(0, occupied, compute)) {
    result.ok = true;
    result.placements.resize(wanted.size());
    for (size_t k = 0; k < order.size(); ++k) result.placements[order[k]] = s.chosen[k];
    return result;
  }
  if (!explain) {
    result.why = "does not fit";
    return result;
  }
  // Find the first instance (in search order) that makes it infeasible.
  size_t bad = s.items.size() - 1;
  for (size_t n = 1; n <= s.items.size(); ++n) {
    Search prefix{
        table, {s.items.begin(), s.items.begin() + static_cast<long>(n)}, {}, used, budget};
    prefix.chosen.resize(n);
    if (!prefix.place(0, occupied, compute)) {
      bad = n - 1;
      break;
    }
  }
  const GiProfile& p = *s.items[bad];
  std::string starts;
  for (const Placement& pl : p.placements)
    starts += fmt::format("{}{}", starts.empty() ? "" : ",", pl.start);
  std::string others;
  for (size_t k = 0; k < bad; ++k)
    others += fmt::format("{}{}", others.empty() ? "" : ", ", s.items[k]->short_name());
  for (const PlacedGi& f : fixed)
    others += fmt::format("{}{} at {}:{}", others.empty() ? "" : ", ", name_of(table, f.profile_id),
                          f.placement.start, f.placement.size);
  result.why =
      fmt::format("{} does not fit: its placements {{{}}}:{} all overlap memory slices taken by {}",
                  p.short_name(), starts, p.placements.empty() ? 0 : p.placements.front().size,
                  others.empty() ? "nothing (no placement at all)" : others);
  return result;
}

}  // namespace

FitResult fit(const ProfileTable& table, const std::vector<uint32_t>& wanted,
              const std::vector<PlacedGi>& fixed) {
  return fit_impl(table, wanted, fixed, true);
}

namespace {

std::vector<uint32_t> ci_slices_of(const GpuInstance& gi) {
  std::vector<uint32_t> s;
  for (const ComputeInstance& ci : gi.compute_instances) s.push_back(ci.slice_count);
  std::sort(s.rbegin(), s.rend());
  return s;
}

}  // namespace

Plan plan_layout(const ProfileTable& table, const std::vector<GpuInstance>& current,
                 const std::vector<GiSpec>& target) {
  std::vector<uint32_t> target_ids;
  std::map<uint32_t, uint32_t> target_count;
  for (const GiSpec& s : target) {
    target_ids.push_back(s.profile_id);
    ++target_count[s.profile_id];
  }
  // The target alone must fit an empty GPU, else no plan can reach it.
  FitResult alone = fit(table, target_ids);
  if (!alone.ok) throw_invalid(alone.why);

  // Candidates to keep: existing GIs whose profile the target wants.
  std::vector<size_t> cand;
  for (size_t i = 0; i < current.size(); ++i)
    if (target_count.count(current[i].profile_id)) cand.push_back(i);

  // Largest keepable subset (at most 7 GIs, so at most 128 subsets); among
  // equal sizes, most kept GIs whose CIs already match, then lowest IDs.
  const size_t n = cand.size();
  // A 7-slice board holds at most 7 GPU instances (A30: 4); anything near 2^20
  // subsets is not a real GPU's state.
  if (n > 20)
    throw Error(Errc::kInternal, fmt::format("{} GPU instances on one GPU: not a MIG layout", n));
  uint32_t best_mask = 0;
  int best_size = -1, best_match = -1;
  std::vector<Placement> best_new;
  std::vector<uint32_t> masks(1u << n);
  std::iota(masks.begin(), masks.end(), 0u);
  std::stable_sort(masks.begin(), masks.end(),
                   [](uint32_t a, uint32_t b) { return std::popcount(a) > std::popcount(b); });
  for (uint32_t m : masks) {
    int size = std::popcount(m);
    if (size < best_size) break;
    std::map<uint32_t, uint32_t> kept;
    std::vector<PlacedGi> fixed;
    bool ok = true;
    for (size_t k = 0; k < n && ok; ++k) {
      if (!(m & (1u << k))) continue;
      const GpuInstance& gi = current[cand[k]];
      if (++kept[gi.profile_id] > target_count[gi.profile_id]) ok = false;
      fixed.push_back({gi.profile_id, gi.placement});
    }
    if (!ok) continue;
    // Exact CI matches available to this subset.
    int match = 0;
    {
      std::vector<bool> used(target.size(), false);
      for (size_t k = 0; k < n; ++k) {
        if (!(m & (1u << k))) continue;
        const GpuInstance& gi = current[cand[k]];
        std::vector<uint32_t> s = ci_slices_of(gi);
        for (size_t t = 0; t < target.size(); ++t) {
          if (!used[t] && target[t].profile_id == gi.profile_id && target[t].ci_slices == s) {
            used[t] = true;
            ++match;
            break;
          }
        }
      }
    }
    if (size == best_size && match <= best_match) continue;
    std::vector<uint32_t> rest;
    std::map<uint32_t, uint32_t> left = kept;
    for (uint32_t id : target_ids) {
      if (left[id] > 0) {
        --left[id];
        continue;
      }
      rest.push_back(id);
    }
    FitResult f = fit_impl(table, rest, fixed, false);
    if (!f.ok) continue;
    best_mask = m;
    best_size = size;
    best_match = match;
    best_new = f.placements;
  }
  if (best_size < 0) throw Error(Errc::kInternal, "no plan although the target fits an empty GPU");

  Plan plan;
  // Assign kept GIs to target specs: exact CI layouts first, then any.
  std::vector<bool> spec_used(target.size(), false);
  std::vector<size_t> kept_idx;
  for (size_t k = 0; k < n; ++k)
    if (best_mask & (1u << k)) kept_idx.push_back(cand[k]);
  std::map<size_t, size_t> spec_of;  // current index -> target index
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t ci : kept_idx) {
      if (spec_of.count(ci)) continue;
      const GpuInstance& gi = current[ci];
      for (size_t t = 0; t < target.size(); ++t) {
        if (spec_used[t] || target[t].profile_id != gi.profile_id) continue;
        if (pass == 0 && target[t].ci_slices != ci_slices_of(gi)) continue;
        spec_used[t] = true;
        spec_of[ci] = t;
        break;
      }
    }
  }
  for (size_t i = 0; i < current.size(); ++i) {
    const GpuInstance& gi = current[i];
    auto it = spec_of.find(i);
    if (it == spec_of.end()) {
      for (const ComputeInstance& c : gi.compute_instances)
        plan.destroy_cis.push_back({gi.id, c.id});
      plan.destroy_gis.push_back(gi.id);
      continue;
    }
    plan.keep_gis.push_back(gi.id);
    // Reconcile CIs inside a kept GI: keep matching sizes, drop the surplus.
    std::vector<uint32_t> want = target[it->second].ci_slices;
    for (const ComputeInstance& c : gi.compute_instances) {
      auto w = std::find(want.begin(), want.end(), c.slice_count);
      if (w != want.end())
        want.erase(w);
      else
        plan.destroy_cis.push_back({gi.id, c.id});
    }
    for (uint32_t s : want) plan.create_cis.push_back({gi.id, s});
  }
  // New GIs: the target specs not taken by a kept GI, with the placements fit() found.
  std::vector<uint32_t> rest_ids;
  std::vector<size_t> rest_specs;
  for (size_t t = 0; t < target.size(); ++t)
    if (!spec_used[t]) rest_specs.push_back(t);
  // fit() was called with `rest` in target order minus kept ones, per profile:
  // rebuild the same order so placements line up.
  {
    std::map<uint32_t, uint32_t> left;
    for (size_t ci : kept_idx) ++left[current[ci].profile_id];
    std::vector<size_t> order;
    for (size_t t = 0; t < target.size(); ++t) {
      if (left[target[t].profile_id] > 0) {
        --left[target[t].profile_id];
        continue;
      }
      order.push_back(t);
    }
    // `order` and `rest_specs` hold the same multiset of profiles; pair them
    // by profile so each new GI gets one of the placements found for its profile.
    std::map<uint32_t, std::vector<Placement>> by_profile;
    for (size_t k = 0; k < order.size(); ++k)
      by_profile[target[order[k]].profile_id].push_back(best_new[k]);
    for (size_t t : rest_specs) {
      auto& v = by_profile[target[t].profile_id];
      Plan::CreateGi c{target[t].profile_id, v.front(), target[t].ci_slices};
      v.erase(v.begin());
      plan.create_gis.push_back(std::move(c));
    }
  }
  std::sort(plan.create_gis.begin(), plan.create_gis.end(),
            [](const Plan::CreateGi& a, const Plan::CreateGi& b) {
              return a.placement.start < b.placement.start;
            });
  return plan;
}

std::string describe_plan(const ProfileTable& table, const Plan& plan, unsigned gpu) {
  std::string out;
  if (plan.empty()) return fmt::format("GPU {:>2}: already as configured, nothing to do\n", gpu);
  for (uint32_t id : plan.keep_gis)
    out += fmt::format("GPU {:>2}: keep GPU instance {}\n", gpu, id);
  for (const auto& d : plan.destroy_cis)
    out += fmt::format("GPU {:>2}: destroy compute instance {} of GPU instance {}\n", gpu, d.ci_id,
                       d.gi_id);
  for (uint32_t id : plan.destroy_gis)
    out += fmt::format("GPU {:>2}: destroy GPU instance {}\n", gpu, id);
  for (const auto& c : plan.create_gis) {
    out += fmt::format("GPU {:>2}: create GPU instance {} (ID {}) at {}:{}", gpu,
                       name_of(table, c.profile_id), c.profile_id, c.placement.start,
                       c.placement.size);
    if (!c.ci_slices.empty()) {
      std::string cis;
      for (uint32_t s : c.ci_slices) cis += fmt::format("{}{}c", cis.empty() ? "" : ",", s);
      out += fmt::format(" with compute instances {}", cis);
    }
    out += "\n";
  }
  for (const auto& c : plan.create_cis)
    out += fmt::format("GPU {:>2}: create a {}-slice compute instance in GPU instance {}\n", gpu,
                       c.slices, c.gi_id);
  return out;
}

}  // namespace gpuvm::mig
