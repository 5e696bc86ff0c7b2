// The placement solver and the planner, exhaustively over every feasible
// GPU-instance multiset of the H100-80GB, A100-40GB and H200 tables, applied
// on the in-memory driver (MemoryHost), which enforces the driver's rules.
#include "mig/solver.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <map>
#include <tuple>

#include "core/error.h"
#include "mig/apply.h"
#include "mig/memory_host.h"
#include "tables.h"

namespace {

using namespace gpuvm::mig;
using Counts = std::map<uint32_t, uint32_t>;  // profile ID -> instances

uint64_t mask_of(const Placement& p) {
  return ((1ULL << p.size) - 1) << p.start;
}

// An independent feasibility check, built differently from the solver: scan
// memory slices left to right, at each free slice either leave it empty or
// start an instance of a still-wanted profile there.
class Scanner {
 public:
  explicit Scanner(const ProfileTable& t)
      : t_(t), memory_(t.memory_slices()), compute_(t.compute_slices()) {}

  bool feasible(const Counts& want, uint64_t occupied = 0, uint32_t compute = 0) {
    ids_.clear();
    left_.clear();
    uint32_t need_compute = compute;
    for (const auto& [id, n] : want) {
      if (n == 0) continue;
      ids_.push_back(t_.find_id(id));
      left_.push_back(n);
      need_compute += n * ids_.back()->slice_count;
    }
    if (need_compute > compute_) return false;
    return scan(0, occupied);
  }

 private:
  bool scan(uint32_t slice, uint64_t occupied) {
    if (slice >= memory_)
      return std::all_of(left_.begin(), left_.end(), [](uint32_t n) { return n == 0; });
    if (occupied & (1ULL << slice)) return scan(slice + 1, occupied);
    for (size_t i = 0; i < ids_.size(); ++i) {
      if (left_[i] == 0) continue;
      for (const Placement& pl : ids_[i]->placements) {
        if (pl.start != slice || (mask_of(pl) & occupied)) continue;
        --left_[i];
        bool ok = scan(slice + 1, occupied | mask_of(pl));
        ++left_[i];
        if (ok) return true;
      }
    }
    return scan(slice + 1, occupied);  // leave this slice empty
  }

  const ProfileTable& t_;
  uint32_t memory_, compute_;
  std::vector<const GiProfile*> ids_;
  std::vector<uint32_t> left_;
};

bool feasible_scan(const ProfileTable& t, const Counts& want, uint64_t occupied = 0,
                   uint32_t compute = 0) {
  return Scanner(t).feasible(want, occupied, compute);
}

// Every multiset within the per-profile limits (non-empty), feasible or not.
std::vector<Counts> bounded_multisets(const ProfileTable& t) {
  std::vector<Counts> out{{}};
  for (const GiProfile& p : t.gi) {
    std::vector<Counts> next;
    for (const Counts& c : out)
      for (uint32_t n = 0; n <= p.instance_count; ++n) {
        Counts d = c;
        if (n) d[p.id] = n;
        next.push_back(d);
      }
    out = std::move(next);
  }
  out.erase(out.begin());  // the empty one
  return out;
}

std::vector<Counts> feasible_multisets(const ProfileTable& t) {
  std::vector<Counts> out;
  for (const Counts& c : bounded_multisets(t))
    if (feasible_scan(t, c)) out.push_back(c);
  return out;
}

std::vector<GiSpec> specs(const Counts& c, bool with_ci = false, const ProfileTable* t = nullptr) {
  std::vector<GiSpec> out;
  for (const auto& [id, n] : c)
    for (uint32_t i = 0; i < n; ++i)
      out.push_back({id, with_ci ? std::vector<uint32_t>{t->find_id(id)->slice_count}
                                 : std::vector<uint32_t>{}});
  return out;
}

Counts counts_of(const std::vector<GpuInstance>& gis) {
  Counts c;
  for (const GpuInstance& gi : gis) ++c[gi.profile_id];
  return c;
}

std::string str(const Counts& c) {
  std::string s;
  for (const auto& [id, n] : c) s += std::to_string(n) + "x" + std::to_string(id) + " ";
  return s;
}

struct Board {
  const char* name;
  ProfileTable table;
};

std::vector<Board> boards() {
  // H100 from the real capture; A100-40GB and H200 as gpuvm-sim serves them.
  return {{"H100-80GB", test::h100_80gb()},
          {"A100-40GB", test::sim_table("A100-SXM4-40GB")},
          {"H200-141GB", test::sim_table("H200-SXM-141GB")}};
}

TEST(MigSolver, FitAgreesWithAnIndependentCheckOnEveryBoundedMultiset) {
  for (const Board& b : boards()) {
    size_t feasible = 0, total = 0;
    for (const Counts& c : bounded_multisets(b.table)) {
      std::vector<uint32_t> ids;
      for (const GiSpec& s : specs(c)) ids.push_back(s.profile_id);
      FitResult f = fit(b.table, ids);
      ASSERT_EQ(f.ok, feasible_scan(b.table, c)) << b.name << " " << str(c);
      ++total;
      if (f.ok) {
        ++feasible;
        // The placements found really are disjoint and allowed.
        uint64_t occ = 0;
        for (size_t i = 0; i < ids.size(); ++i) {
          const GiProfile* p = b.table.find_id(ids[i]);
          ASSERT_NE(std::find(p->placements.begin(), p->placements.end(), f.placements[i]),
                    p->placements.end());
          ASSERT_EQ(occ & mask_of(f.placements[i]), 0u) << str(c);
          occ |= mask_of(f.placements[i]);
        }
      } else {
        EXPECT_FALSE(f.why.empty());
      }
    }
    // 7-slice boards: the same geometry, so the same count on all three.
    EXPECT_GT(feasible, 100u) << b.name;
    RecordProperty(std::string(b.name) + "_feasible", static_cast<int>(feasible));
    std::printf("%s: %zu feasible of %zu bounded GPU-instance multisets\n", b.name, feasible,
                total);
  }
}

TEST(MigSolver, FromEmptyEveryTargetTakesExactlyOneCreatePerInstance) {
  for (const Board& b : boards()) {
    for (const Counts& c : feasible_multisets(b.table)) {
      MemoryGpu gpu({}, b.table);
      Plan plan = plan_layout(b.table, {}, specs(c, true, &b.table));
      EXPECT_TRUE(plan.destroy_gis.empty());
      execute_plan(gpu, plan);
      std::vector<GpuInstance> after = gpu.gpu_instances();
      ASSERT_EQ(counts_of(after), c) << b.name;
      unsigned n = 0;
      for (const auto& [id, k] : c) n += k;
      EXPECT_EQ(gpu.counts().create_gi, n) << b.name << " " << str(c);
      EXPECT_EQ(gpu.counts().create_ci, n);
      EXPECT_EQ(gpu.counts().destroy_gi + gpu.counts().destroy_ci, 0u);
      EXPECT_EQ(gpu.counts().failed, 0u);
      for (const GpuInstance& gi : after) EXPECT_EQ(gi.compute_instances.size(), 1u);
    }
  }
}

TEST(MigSolver, FromEveryLayoutToEveryOtherWithoutAnUnneededDestroy) {
  for (const Board& b : boards()) {
    std::vector<Counts> all = feasible_multisets(b.table);
    size_t pairs = 0;
    for (size_t fi = 0; fi < all.size(); ++fi) {
      const Counts& from = all[fi];
      // The "from" layout: every other one as nvidia-smi/mig-parted leave it
      // (largest first, the driver placing each: 1g lands at 6, 4, 5, ...),
      // the rest with the solver's placements (packed from slice 0).
      MemoryGpu start({}, b.table);
      if (fi % 2 == 0) {
        std::vector<uint32_t> ids;
        for (const GiProfile& p : b.table.gi)  // -lgip order reversed: largest first
          for (uint32_t k = 0; from.count(p.id) && k < from.at(p.id); ++k)
            ids.insert(ids.begin(), p.id);
        for (uint32_t id : ids) start.create_gpu_instance(id, std::nullopt);
      } else {
        execute_plan(start, plan_layout(b.table, {}, specs(from)));
      }
      const std::vector<GpuInstance> before = start.gpu_instances();
      for (const Counts& to : all) {
        MemoryGpu gpu = start;
        gpu.clear_counts();
        Plan plan = plan_layout(b.table, before, specs(to));
        execute_plan(gpu, plan);
        ASSERT_EQ(counts_of(gpu.gpu_instances()), to) << str(from) << "-> " << str(to);
        unsigned n_to = 0;
        for (const auto& [id, k] : to) n_to += k;
        EXPECT_EQ(gpu.counts().create_gi, n_to - plan.keep_gis.size());
        EXPECT_EQ(gpu.counts().destroy_gi, before.size() - plan.keep_gis.size());
        // No unneeded destroy: keeping any destroyed GI as well would make
        // the target unreachable (checked with the independent scan).
        Counts kept;
        uint64_t occ = 0;
        uint32_t compute = 0;
        for (const GpuInstance& gi : before)
          if (std::find(plan.keep_gis.begin(), plan.keep_gis.end(), gi.id) != plan.keep_gis.end()) {
            ++kept[gi.profile_id];
            occ |= mask_of(gi.placement);
            compute += b.table.find_id(gi.profile_id)->slice_count;
          }
        for (uint32_t id : plan.destroy_gis) {
          const GpuInstance& g = *std::find_if(before.begin(), before.end(),
                                               [&](const GpuInstance& x) { return x.id == id; });
          Counts rest = to;
          bool possible = true;
          for (const auto& [pid, k] : kept) rest[pid] -= k;
          if (rest[g.profile_id] == 0 || (occ & mask_of(g.placement))) possible = false;
          if (possible) {
            --rest[g.profile_id];
            possible = feasible_scan(b.table, rest, occ | mask_of(g.placement),
                                     compute + b.table.find_id(g.profile_id)->slice_count);
          }
          EXPECT_FALSE(possible) << "destroyed GI " << id << " could have stayed: " << str(from)
                                 << "-> " << str(to);
        }
        ++pairs;
      }
    }
    std::printf("%s: %zu layout pairs planned and applied\n", b.name, pairs);
  }
}

TEST(MigSolver, SameLayoutIsANoOp) {
  ProfileTable t = test::h100_80gb();
  MemoryGpu gpu({}, t);
  execute_plan(gpu, plan_layout(t, {}, {{9, {3}}, {14, {2}}, {19, {1}}, {19, {1}}}));
  Plan again = plan_layout(t, gpu.gpu_instances(), {{19, {1}}, {9, {3}}, {19, {1}}, {14, {2}}});
  EXPECT_TRUE(again.empty()) << describe_plan(t, again, 0);
  EXPECT_EQ(again.keep_gis.size(), 4u);
}

TEST(MigSolver, ExplainsWhatDoesNotFit) {
  ProfileTable t = test::h100_80gb();
  auto why = [&](std::vector<uint32_t> ids) { return fit(t, ids).why; };
  EXPECT_EQ(why({19, 19, 19, 19, 19, 19, 19, 19}),
            "8 x 1g.10gb wanted, but the GPU allows at most 7");
  EXPECT_EQ(why({9, 9, 5}), "the layout needs 10 compute slices, the GPU has 7");
  std::string w = why({5, 15, 15, 15});
  EXPECT_NE(w.find("1g.20gb does not fit: its placements {0,2,4,6}:2 all overlap"),
            std::string::npos)
      << w;
  EXPECT_NE(why({77}).find("profile ID 77 does not exist"), std::string::npos);
  try {
    plan_layout(t, {}, {{0, {}}, {19, {}}});
    FAIL();
  } catch (const gpuvm::Error& e) {
    EXPECT_EQ(e.code(), gpuvm::Errc::kInvalidArgument);
  }
}

TEST(MigSolver, SimTablesAgreeWithTheReferenceTables) {
  // The placement geometry gpuvm tests against is the one of reference §5.2.
  auto geometry = [](const ProfileTable& t) {
    std::vector<std::tuple<uint32_t, uint32_t, uint32_t, std::vector<Placement>>> g;
    for (const GiProfile& p : t.gi)
      g.emplace_back(p.id, p.slice_count, p.instance_count, p.placements);
    return g;
  };
  EXPECT_EQ(geometry(test::sim_table("A100-SXM4-40GB")), geometry(test::a100_40gb()));
  EXPECT_EQ(geometry(test::sim_table("H200-SXM-141GB")), geometry(test::h200_141gb()));
  EXPECT_EQ(geometry(test::sim_table("H100-SXM5-80GB")), geometry(test::h100_80gb()));
}

TEST(MigSolver, A100OrderThatFailsWithDefaultPlacementWorksForGpuvmInAnyOrder) {
  ProfileTable t = test::sim_table("A100-SXM4-40GB");
  {  // nvidia-smi -cgi 19,19,14,9: the driver places each one, the 3g finds no room.
    MemoryGpu gpu({}, t);
    gpu.create_gpu_instance(19, std::nullopt);
    gpu.create_gpu_instance(19, std::nullopt);
    gpu.create_gpu_instance(14, std::nullopt);
    try {
      gpu.create_gpu_instance(9, std::nullopt);
      FAIL() << "the driver's default placement should leave no room for the 3g";
    } catch (const NvmlError& e) {
      EXPECT_EQ(e.rc(), NVML_ERROR_INSUFFICIENT_RESOURCES);
      EXPECT_EQ(e.text(), "Insufficient Resources");
    }
  }
  {  // -cgi 9,19,14,19 works with default placement.
    MemoryGpu gpu({}, t);
    for (uint32_t id : {9u, 19u, 14u, 19u}) gpu.create_gpu_instance(id, std::nullopt);
    EXPECT_EQ(gpu.gpu_instances().size(), 4u);
  }
  std::vector<uint32_t> order{19, 19, 14, 9};
  std::sort(order.begin(), order.end());
  do {
    MemoryGpu gpu({}, t);
    std::vector<GiSpec> target;
    for (uint32_t id : order) target.push_back({id, {}});
    execute_plan(gpu, plan_layout(t, {}, target));
    EXPECT_EQ(gpu.counts().create_gi, 4u);
    EXPECT_EQ(gpu.counts().failed, 0u);
  } while (std::next_permutation(order.begin(), order.end()));
}

TEST(MigSolver, DefaultPlacementMatchesTheObservedDriver) {
  // Seven 1g on an empty H100 land at 6,4,5,0,1,2,3 (reference §5.3a).
  ProfileTable t = test::h100_80gb();
  MemoryGpu gpu({}, t);
  std::vector<uint32_t> starts;
  for (int i = 0; i < 7; ++i)
    starts.push_back(gpu.create_gpu_instance(19, std::nullopt).placement.start);
  EXPECT_EQ(starts, (std::vector<uint32_t>{6, 4, 5, 0, 1, 2, 3}));
  MemoryGpu g2({}, t);
  EXPECT_EQ(g2.create_gpu_instance(14, std::nullopt).placement.start, 4u);
  MemoryGpu g3({}, t);
  EXPECT_EQ(g3.create_gpu_instance(9, std::nullopt).placement.start, 4u);
}

using Shape = std::vector<std::tuple<uint32_t, uint32_t, std::vector<uint32_t>>>;
Shape shape(const std::vector<GpuInstance>& gis) {
  Shape s;
  for (const GpuInstance& gi : gis) {
    std::vector<uint32_t> cis;
    for (const ComputeInstance& c : gi.compute_instances) cis.push_back(c.slice_count);
    std::sort(cis.begin(), cis.end());
    s.emplace_back(gi.profile_id, gi.placement.start, cis);
  }
  std::sort(s.begin(), s.end());
  return s;
}

TEST(MigApply, AFailureAtAnyCreateLeavesTheGpuAsBefore) {
  ProfileTable t = test::h100_80gb();
  // Before: 3g@4 with one CI, 2g@0 with two 1c CIs, 1g@2, 1g@3 (no CI).
  MemoryGpu base({}, t);
  execute_plan(base, plan_layout(t, {}, {{9, {3}}, {14, {1, 1}}, {19, {}}, {19, {}}}));
  const Shape before = shape(base.gpu_instances());
  // Target: the 3g stays, the rest becomes 4 x 1g with CIs... which needs the
  // 2g and its CIs gone, then 4 creates of GIs and 4 of CIs.
  std::vector<GiSpec> target{{9, {3}}, {19, {1}}, {19, {1}}, {19, {1}}, {19, {1}}};
  Plan plan = plan_layout(t, base.gpu_instances(), target);
  ASSERT_FALSE(plan.destroy_gis.empty());
  unsigned creates = static_cast<unsigned>(plan.create_gis.size() * 2 + plan.create_cis.size());
  for (unsigned k = 1; k <= creates; ++k) {
    MemoryGpu gpu = base;
    gpu.fail_create(k, NVML_ERROR_INSUFFICIENT_RESOURCES);
    try {
      execute_plan(gpu, plan);
      FAIL() << "create " << k << " should have failed";
    } catch (const gpuvm::Error& e) {
      std::string what = e.what();
      EXPECT_NE(what.find("GPU 0"), std::string::npos) << what;
      EXPECT_NE(what.find("NVML_ERROR_INSUFFICIENT_RESOURCES"), std::string::npos) << what;
      EXPECT_NE(what.find("the GPU is as before"), std::string::npos) << what;
    }
    EXPECT_EQ(shape(gpu.gpu_instances()), before) << "after a failure at create " << k;
  }
  MemoryGpu ok = base;
  execute_plan(ok, plan);
  EXPECT_EQ(counts_of(ok.gpu_instances()), (Counts{{9, 1}, {19, 4}}));
}

}  // namespace
