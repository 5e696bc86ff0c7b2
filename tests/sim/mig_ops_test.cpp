// The driver's MIG state machine: mode changes, default placement (reference
// §5.3a examples and its whole-board statistics), explicit placements,
// capacity and exclusivity rules, GI ids, destroy order, compute instances.
#include "sim/mig_ops.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <vector>

namespace gpuvm::sim {
namespace {

MigState enabled() {
  MigState s;
  s.current = s.pending = true;
  return s;
}

// Creates the profiles in order with the driver's default placement; returns
// the placements, or stops at the first failure and returns its code.
struct Outcome {
  std::vector<SliceRange> placements;
  std::vector<uint32_t> ids;
  std::optional<MigErrc> error;
};
Outcome create_all(MigState& s, const MigModel& m, const std::vector<uint32_t>& profiles) {
  Outcome out;
  for (uint32_t p : profiles) {
    try {
      const auto gi = create_gpu_instance(s, m, p, std::nullopt);
      out.placements.push_back({gi.start, gi.size});
      out.ids.push_back(gi.id);
    } catch (const MigError& e) {
      out.error = e.mig_code();
      break;
    }
  }
  return out;
}

MigErrc code_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const MigError& e) {
    return e.mig_code();
  }
  ADD_FAILURE() << "no MigError thrown";
  return MigErrc::kInvalidArgument;
}

const MigModel& h100() {
  return mig_model("H100-SXM5-80GB");
}
const MigModel& a100() {
  return mig_model("A100-SXM4-40GB");
}

// Seven 1g created one after another on an H100 land at 6,4,5,0,1,2,3 with
// ids 13,11,12,7,8,9,10 (reference §5.3a; nvidia-smi-formats.md).
TEST(MigOps, SevenOneSliceInstancesOnH100) {
  MigState s = enabled();
  const auto out = create_all(s, h100(), std::vector<uint32_t>(7, 19));
  ASSERT_FALSE(out.error);
  std::vector<uint32_t> starts;
  for (const auto& r : out.placements) starts.push_back(r.start);
  EXPECT_EQ(starts, (std::vector<uint32_t>{6, 4, 5, 0, 1, 2, 3}));
  EXPECT_EQ(out.ids, (std::vector<uint32_t>{13, 11, 12, 7, 8, 9, 10}));
  EXPECT_EQ(gi_remaining_capacity(s, h100(), 19), 0u);
  EXPECT_EQ(code_of([&] { create_gpu_instance(s, h100(), 19, std::nullopt); }),
            MigErrc::kInsufficientResources);
}

TEST(MigOps, SevenOneSliceInstancesOnA100GetTheA100Ids) {
  MigState s = enabled();
  const auto out = create_all(s, a100(), std::vector<uint32_t>(7, 19));
  ASSERT_FALSE(out.error);
  EXPECT_EQ(out.ids, (std::vector<uint32_t>{9, 7, 8, 11, 12, 13, 14}));
}

// First instance on an empty board: 1g at 6:1, 2g at 4:2, 3g at 4:4.
TEST(MigOps, FirstInstanceOnAnEmptyBoard) {
  for (const MigModel* m : {&h100(), &a100()}) {
    SCOPED_TRACE(m->key);
    for (auto [profile, want] : std::vector<std::pair<uint32_t, SliceRange>>{
             {19, {6, 1}}, {14, {4, 2}}, {9, {4, 4}}, {5, {0, 4}}, {0, {0, 8}}, {15, {6, 2}}}) {
      MigState s = enabled();
      EXPECT_EQ(gi_default_placement(s, *m, profile), want) << profile;
      const auto gi = create_gpu_instance(s, *m, profile, std::nullopt);
      EXPECT_EQ((SliceRange{gi.start, gi.size}), want);
    }
  }
  MigState s = enabled();
  EXPECT_EQ(create_gpu_instance(s, a100(), 9, std::nullopt).id, 1u);  // lone 3g: 4:4, id 1
}

// The MIG UG example: A100 `-cgi 19,19,14,9` fails, `-cgi 9,19,14,19` works.
TEST(MigOps, CreationOrderMattersOnA100) {
  MigState bad = enabled();
  const auto b = create_all(bad, a100(), {19, 19, 14, 9});
  EXPECT_EQ(b.placements.size(), 3u);
  ASSERT_TRUE(b.error);
  EXPECT_EQ(*b.error, MigErrc::kInsufficientResources);

  MigState good = enabled();
  const auto g = create_all(good, a100(), {9, 19, 14, 19});
  ASSERT_FALSE(g.error);
  EXPECT_EQ(g.placements, (std::vector<SliceRange>{{4, 4}, {0, 1}, {2, 2}, {1, 1}}));
  // The same layout with explicit placements always works.
  MigState planned = enabled();
  for (auto [p, r] : std::vector<std::pair<uint32_t, SliceRange>>{
           {19, {0, 1}}, {19, {1, 1}}, {14, {2, 2}}, {9, {4, 4}}}) {
    EXPECT_NO_THROW(create_gpu_instance(planned, a100(), p, r));
  }
}

// Reference §5.3a: over the 127 feasible GI multisets of a 7-slice board,
// creating smallest-first fails for 21; 420 of the 1,322 distinct creation
// orders fail. The A30 never fails.
TEST(MigOps, DefaultPlacementStatisticsOfTheWholeBoard) {
  struct Stats {
    int sets = 0, smallest_first_fail = 0, orders = 0, orders_fail = 0;
  };
  auto stats_of = [](const MigModel& m) {
    std::vector<uint32_t> ids;  // -lgip order = smallest first
    for (const auto& p : m.gi_profiles) ids.push_back(p.id);
    // Feasible multisets: some explicit placement of every member exists.
    std::function<bool(MigState&, const std::vector<uint32_t>&, size_t)> feasible =
        [&](MigState& s, const std::vector<uint32_t>& set, size_t i) {
          if (i == set.size()) return true;
          for (const SliceRange& r : gi_possible_placements(m, set[i])) {
            MigState next = s;
            try {
              create_gpu_instance(next, m, set[i], r);
            } catch (const MigError&) {
              continue;
            }
            if (feasible(next, set, i + 1)) return true;
          }
          return false;
        };
    Stats st;
    std::vector<uint32_t> set;
    std::function<void(size_t)> walk = [&](size_t from) {
      if (!set.empty()) {
        MigState empty = enabled();
        // Largest first: the search finds a packing at once or fails fast.
        const std::vector<uint32_t> largest_first(set.rbegin(), set.rend());
        if (!feasible(empty, largest_first, 0)) return;  // supersets are infeasible too
        ++st.sets;
        MigState s = enabled();
        if (create_all(s, m, set).error) ++st.smallest_first_fail;
        std::vector<size_t> order(set.size());
        for (size_t i = 0; i < set.size(); ++i) order[i] = i;
        std::vector<uint32_t> perm = set;
        std::sort(perm.begin(), perm.end());
        do {
          ++st.orders;
          MigState t = enabled();
          if (create_all(t, m, perm).error) ++st.orders_fail;
        } while (std::next_permutation(perm.begin(), perm.end()));
      }
      if (set.size() == m.compute_slices) return;
      for (size_t i = from; i < ids.size(); ++i) {
        set.push_back(ids[i]);
        walk(i);
        set.pop_back();
      }
    };
    walk(0);
    return st;
  };
  const Stats h = stats_of(h100());
  EXPECT_EQ(h.sets, 127);
  EXPECT_EQ(h.smallest_first_fail, 21);
  EXPECT_EQ(h.orders, 1322);
  EXPECT_EQ(h.orders_fail, 420);
  const Stats a = stats_of(a100());  // same geometry, same rule
  EXPECT_EQ(a.orders_fail, 420);
  const Stats a30 = stats_of(mig_model("A30-24GB"));
  EXPECT_GT(a30.sets, 0);
  EXPECT_EQ(a30.orders_fail, 0);
}

TEST(MigOps, ExplicitPlacementRules) {
  MigState s = enabled();
  const MigModel& m = h100();
  // Not one of the profile's placements: INVALID_ARGUMENT.
  EXPECT_EQ(code_of([&] {
              create_gpu_instance(s, m, 9, SliceRange{2, 4});
            }),
            MigErrc::kInvalidArgument);
  EXPECT_EQ(code_of([&] {
              create_gpu_instance(s, m, 19, SliceRange{7, 1});
            }),
            MigErrc::kInvalidArgument);
  EXPECT_EQ(code_of([&] {
              create_gpu_instance(s, m, 19, SliceRange{0, 2});
            }),
            MigErrc::kInvalidArgument);
  // Unknown profile ids: INVALID_ARGUMENT (real H100: ids 1 and 99).
  EXPECT_EQ(code_of([&] { create_gpu_instance(s, m, 1, std::nullopt); }),
            MigErrc::kInvalidArgument);
  EXPECT_EQ(code_of([&] { gi_remaining_capacity(s, m, 99); }), MigErrc::kInvalidArgument);
  // 3g@4 + 4g@0 = 7 compute slices: allowed since R510.
  EXPECT_EQ(create_gpu_instance(s, m, 9, SliceRange{4, 4}).id, 2u);
  EXPECT_EQ(create_gpu_instance(s, m, 5, SliceRange{0, 4}).id, 1u);
  EXPECT_EQ(gi_remaining_capacity(s, m, 19), 0u);
  // Overlap: INSUFFICIENT_RESOURCES.
  EXPECT_EQ(code_of([&] {
              create_gpu_instance(s, m, 19, SliceRange{5, 1});
            }),
            MigErrc::kInsufficientResources);
  destroy_gpu_instance(s, 2);
  EXPECT_EQ(code_of([&] { destroy_gpu_instance(s, 2); }), MigErrc::kNotFound);
  EXPECT_EQ(create_gpu_instance(s, m, 14, SliceRange{4, 2}).id, 5u);
  EXPECT_EQ(create_gpu_instance(s, m, 15, SliceRange{6, 2}).id, 6u);
  // 4 + 2 + 1 = 7 compute slices, all 8 memory slices: full.
  for (const auto& p : m.gi_profiles) EXPECT_EQ(gi_remaining_capacity(s, m, p.id), 0u) << p.name;
}

TEST(MigOps, OnlyOnePlusMeInstance) {
  MigState s = enabled();
  const MigModel& m = h100();
  EXPECT_EQ(gi_remaining_capacity(s, m, 20), 1u);
  create_gpu_instance(s, m, 20, SliceRange{0, 1});
  EXPECT_EQ(gi_remaining_capacity(s, m, 20), 0u);
  EXPECT_EQ(code_of([&] {
              create_gpu_instance(s, m, 20, SliceRange{1, 1});
            }),
            MigErrc::kInsufficientResources);
  // On the A30 the 1g+me and 2g+me share the one set of media extras.
  const MigModel& a30 = mig_model("A30-24GB");
  MigState t = enabled();
  create_gpu_instance(t, a30, 6, std::nullopt);
  EXPECT_EQ(gi_remaining_capacity(t, a30, 21), 0u);
  EXPECT_EQ(code_of([&] { create_gpu_instance(t, a30, 21, std::nullopt); }),
            MigErrc::kInsufficientResources);
}

// Real H100 with MIG off: remaining capacity answers the full counts, but
// nothing can be created (NOT_SUPPORTED).
TEST(MigOps, MigOffAnswersCapacityButCreatesNothing) {
  MigState s;
  const MigModel& m = h100();
  const std::map<uint32_t, uint32_t> counts{{19, 7}, {20, 1}, {15, 4}, {14, 3},
                                            {9, 2},  {5, 1},  {0, 1}};
  for (auto [id, n] : counts) EXPECT_EQ(gi_remaining_capacity(s, m, id), n) << id;
  EXPECT_EQ(code_of([&] { create_gpu_instance(s, m, 19, std::nullopt); }), MigErrc::kNotSupported);
  EXPECT_EQ(code_of([&] {
              create_gpu_instance(s, m, 19, SliceRange{0, 1});
            }),
            MigErrc::kNotSupported);
}

TEST(MigOps, ModeChangePendingOnAmpereImmediateOnHopper) {
  MigState a;
  EXPECT_EQ(set_mig_mode(a, a100(), true), MigModeActivation::kPendingReset);
  EXPECT_FALSE(a.current);
  EXPECT_TRUE(a.pending);
  EXPECT_EQ(code_of([&] { create_gpu_instance(a, a100(), 19, std::nullopt); }),
            MigErrc::kNotSupported);
  // Setting it back cancels the pending change.
  EXPECT_EQ(set_mig_mode(a, a100(), false), MigModeActivation::kApplied);
  EXPECT_FALSE(a.pending);
  set_mig_mode(a, a100(), true);
  reset_gpu(a);
  EXPECT_TRUE(a.current);
  EXPECT_TRUE(a.pending);

  MigState h;
  EXPECT_EQ(set_mig_mode(h, h100(), true), MigModeActivation::kApplied);
  EXPECT_TRUE(h.current);
  EXPECT_TRUE(h.pending);
  EXPECT_EQ(set_mig_mode(h, h100(), true), MigModeActivation::kApplied);  // no change
  create_gpu_instance(h, h100(), 0, std::nullopt);
  // Disabling with GIs: IN_USE; state unchanged.
  EXPECT_EQ(code_of([&] { set_mig_mode(h, h100(), false); }), MigErrc::kInUse);
  EXPECT_TRUE(h.current);
  EXPECT_TRUE(h.pending);
  // A reset drops every instance.
  reset_gpu(h);
  EXPECT_TRUE(h.gpu_instances.empty());
  EXPECT_EQ(set_mig_mode(h, h100(), false), MigModeActivation::kApplied);
  EXPECT_FALSE(h.current);
}

TEST(MigOps, DestroyOrderAndComputeInstances) {
  MigState s = enabled();
  const MigModel& m = h100();
  const auto gi = create_gpu_instance(s, m, 0, std::nullopt);  // 7g.80gb
  EXPECT_EQ(gi.id, 0u);
  const GiProfile& gp = gi_profile_of(m, find_gpu_instance(s, 0));
  EXPECT_EQ(ci_remaining_capacity(find_gpu_instance(s, 0), gp, 0), 7u);
  // Default CI: lowest free start, lowest free id.
  const auto c0 = create_compute_instance(s, m, 0, 2, std::nullopt);  // 3c
  EXPECT_EQ(c0.id, 0u);
  EXPECT_EQ((SliceRange{c0.start, c0.size}), (SliceRange{0, 3}));
  const auto c1 = create_compute_instance(s, m, 0, 0, std::nullopt);  // 1c
  EXPECT_EQ(c1.id, 1u);
  EXPECT_EQ(c1.start, 3u);
  EXPECT_EQ(ci_remaining_capacity(find_gpu_instance(s, 0), gp, 2), 0u);  // 3c@3 overlaps 1c@3
  EXPECT_EQ(ci_remaining_capacity(find_gpu_instance(s, 0), gp, 0), 3u);
  EXPECT_EQ(code_of([&] {
              create_compute_instance(s, m, 0, 2, SliceRange{3, 3});
            }),
            MigErrc::kInsufficientResources);
  EXPECT_EQ(code_of([&] {
              create_compute_instance(s, m, 0, 2, SliceRange{1, 3});
            }),
            MigErrc::kInvalidArgument);
  EXPECT_EQ(code_of([&] { create_compute_instance(s, m, 0, 6, std::nullopt); }),
            MigErrc::kInvalidArgument);  // 6c is not offered in a 7g GI
  EXPECT_EQ(code_of([&] { create_compute_instance(s, m, 3, 0, std::nullopt); }),
            MigErrc::kNotFound);
  // IN_USE while CIs exist; destroy them first.
  EXPECT_EQ(code_of([&] { destroy_gpu_instance(s, 0); }), MigErrc::kInUse);
  destroy_compute_instance(s, 0, 0);
  EXPECT_EQ(code_of([&] { destroy_compute_instance(s, 0, 0); }), MigErrc::kNotFound);
  EXPECT_EQ(create_compute_instance(s, m, 0, 0, std::nullopt).id, 0u);  // id 0 is free again
  destroy_compute_instance(s, 0, 0);
  destroy_compute_instance(s, 0, 1);
  EXPECT_NO_THROW(destroy_gpu_instance(s, 0));
  EXPECT_TRUE(s.gpu_instances.empty());
}

TEST(MigOps, ComputeInstanceCountsPerGpuInstance) {
  MigState s = enabled();
  const MigModel& m = h100();
  create_gpu_instance(s, m, 0, std::nullopt);
  for (int i = 0; i < 7; ++i) create_compute_instance(s, m, 0, 0, std::nullopt);
  EXPECT_EQ(code_of([&] { create_compute_instance(s, m, 0, 0, std::nullopt); }),
            MigErrc::kInsufficientResources);
  std::vector<uint32_t> starts;
  for (const auto& ci : find_gpu_instance(s, 0).compute_instances) starts.push_back(ci.start);
  EXPECT_EQ(starts, (std::vector<uint32_t>{0, 1, 2, 3, 4, 5, 6}));
  // 1g.20gb GI: only CI profile 7 (1_SLICE_REV1).
  MigState t = enabled();
  const auto gi = create_gpu_instance(t, m, 15, std::nullopt);
  EXPECT_EQ(code_of([&] { create_compute_instance(t, m, gi.id, 0, std::nullopt); }),
            MigErrc::kInvalidArgument);
  EXPECT_EQ(create_compute_instance(t, m, gi.id, 7, std::nullopt).profile_id, 7u);
}

TEST(MigOps, ErrorsCarryAGpuvmErrcAndAMessage) {
  MigState s;
  try {
    create_gpu_instance(s, h100(), 19, std::nullopt);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("1g.10gb"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace gpuvm::sim
