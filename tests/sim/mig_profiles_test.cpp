// The MIG profile tables: every board's GI table (ids, names, counts,
// placements) against reference/nvidia.md §5, the H100 table against the
// real H100 capture, CI tables against §5.4, and the GI id numbering.
#include "sim/mig_profiles.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "support/test_support.h"

namespace gpuvm::sim {
namespace {

using Starts = std::vector<uint32_t>;

// One expected GI row: id, name, count, memory slices per placement, starts.
struct Expect {
  uint32_t id;
  const char* name;
  uint32_t count;
  uint32_t size;
  Starts starts;
};

void expect_table(const std::string& key, const std::vector<Expect>& rows) {
  SCOPED_TRACE(key);
  const MigModel& m = mig_model(key);
  ASSERT_EQ(m.gi_profiles.size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const GiProfile& p = m.gi_profiles[i];  // -lgip order
    SCOPED_TRACE(rows[i].name);
    EXPECT_EQ(p.id, rows[i].id);
    EXPECT_EQ(p.name, rows[i].name);
    EXPECT_EQ(p.nvml_name(), std::string("MIG ") + rows[i].name);
    EXPECT_EQ(p.instance_count, rows[i].count);
    EXPECT_EQ(p.memory_slices, rows[i].size);
    EXPECT_EQ(p.starts, rows[i].starts);
    EXPECT_EQ(m.find_by_id(p.id), &p);
    EXPECT_EQ(m.find_by_index(p.index), &p);
  }
}

const Starts k1g{0, 1, 2, 3, 4, 5, 6};

TEST(MigProfiles, A100_40GB) {
  expect_table("A100-SXM4-40GB", {{19, "1g.5gb", 7, 1, k1g},
                                  {20, "1g.5gb+me", 1, 1, k1g},
                                  {15, "1g.10gb", 4, 2, {0, 2, 4, 6}},
                                  {14, "2g.10gb", 3, 2, {0, 2, 4}},
                                  {9, "3g.20gb", 2, 4, {0, 4}},
                                  {5, "4g.20gb", 1, 4, {0}},
                                  {0, "7g.40gb", 1, 8, {0}}});
  const MigModel& m = mig_model("A100-SXM4-40GB");
  EXPECT_EQ(m.find_by_id(0)->multiprocessor_count, 98u);
  EXPECT_EQ(m.find_by_id(19)->memory_size_mb, 4864u);
  EXPECT_TRUE(m.mode_change_needs_reset);
}

TEST(MigProfiles, A100_80GB) {
  expect_table("A100-SXM4-80GB", {{19, "1g.10gb", 7, 1, k1g},
                                  {20, "1g.10gb+me", 1, 1, k1g},
                                  {15, "1g.20gb", 4, 2, {0, 2, 4, 6}},
                                  {14, "2g.20gb", 3, 2, {0, 2, 4}},
                                  {9, "3g.40gb", 2, 4, {0, 4}},
                                  {5, "4g.40gb", 1, 4, {0}},
                                  {0, "7g.80gb", 1, 8, {0}}});
}

TEST(MigProfiles, A30) {
  expect_table("A30-24GB", {{14, "1g.6gb", 4, 1, {0, 1, 2, 3}},
                            {21, "1g.6gb+me", 1, 1, {0, 1, 2, 3}},
                            {5, "2g.12gb", 2, 2, {0, 2}},
                            {6, "2g.12gb+me", 1, 2, {0, 2}},
                            {0, "4g.24gb", 1, 4, {0}}});
  const MigModel& m = mig_model("A30-24GB");
  EXPECT_EQ(m.memory_slices, 4u);
  EXPECT_EQ(m.compute_slices, 4u);
  EXPECT_EQ(m.max_mig_devices(), 4u);
  // Enum indexes (reference §5.1): 4g=4_SLICE, 2g+me=2_SLICE_REV1, 1g+me=1_SLICE_REV1.
  EXPECT_EQ(m.find_by_index(0x3)->id, 0u);
  EXPECT_EQ(m.find_by_index(0x8)->id, 6u);
  EXPECT_EQ(m.find_by_index(0x7)->id, 21u);
  EXPECT_EQ(m.find_by_index(0x4), nullptr);
}

TEST(MigProfiles, H100_SXM5) {
  expect_table("H100-SXM5-80GB", {{19, "1g.10gb", 7, 1, k1g},
                                  {20, "1g.10gb+me", 1, 1, k1g},
                                  {15, "1g.20gb", 4, 2, {0, 2, 4, 6}},
                                  {14, "2g.20gb", 3, 2, {0, 2, 4}},
                                  {9, "3g.40gb", 2, 4, {0, 4}},
                                  {5, "4g.40gb", 1, 4, {0}},
                                  {0, "7g.80gb", 1, 8, {0}}});
  EXPECT_FALSE(mig_model("H100-SXM5-80GB").mode_change_needs_reset);
}

TEST(MigProfiles, H100_NVL) {
  expect_table("H100-NVL-94GB", {{19, "1g.12gb", 7, 1, k1g},
                                 {20, "1g.12gb+me", 1, 1, k1g},
                                 {15, "1g.24gb", 4, 2, {0, 2, 4, 6}},
                                 {14, "2g.24gb", 3, 2, {0, 2, 4}},
                                 {9, "3g.47gb", 2, 4, {0, 4}},
                                 {5, "4g.47gb", 1, 4, {0}},
                                 {0, "7g.94gb", 1, 8, {0}}});
}

TEST(MigProfiles, H200) {
  expect_table("H200-SXM-141GB", {{19, "1g.18gb", 7, 1, k1g},
                                  {20, "1g.18gb+me", 1, 1, k1g},
                                  {15, "1g.35gb", 4, 2, {0, 2, 4, 6}},
                                  {14, "2g.35gb", 3, 2, {0, 2, 4}},
                                  {9, "3g.71gb", 2, 4, {0, 4}},
                                  {5, "4g.71gb", 1, 4, {0}},
                                  {0, "7g.141gb", 1, 8, {0}}});
  const MigModel& m = mig_model("H200-SXM-141GB");
  EXPECT_FALSE(m.find_by_id(9)->verified);  // 3g numbers are inferred
  EXPECT_TRUE(m.find_by_id(0)->verified);
}

TEST(MigProfiles, B200IsMarkedUnverified) {
  expect_table("B200-180GB", {{19, "1g.23gb", 7, 1, k1g},
                              {20, "1g.23gb+me", 1, 1, k1g},
                              {15, "1g.45gb", 4, 2, {0, 2, 4, 6}},
                              {14, "2g.45gb", 3, 2, {0, 2, 4}},
                              {9, "3g.90gb", 2, 4, {0, 4}},
                              {5, "4g.90gb", 1, 4, {0}},
                              {0, "7g.180gb", 1, 8, {0}}});
  for (const auto& p : mig_model("B200-180GB").gi_profiles) EXPECT_FALSE(p.verified) << p.name;
}

// Geometry rules of §5.3 for every board: aligned, in range, ids unique,
// enough placements for the instance count, slices within the board.
TEST(MigProfiles, EveryTableKeepsThePlacementRules) {
  ASSERT_GE(mig_models().size(), 7u);
  for (const MigModel& m : mig_models()) {
    SCOPED_TRACE(m.key);
    EXPECT_EQ(find_mig_model(m.key), &m);
    std::set<uint32_t> ids, indexes;
    for (const GiProfile& p : m.gi_profiles) {
      SCOPED_TRACE(p.name);
      EXPECT_TRUE(ids.insert(p.id).second);
      EXPECT_TRUE(indexes.insert(p.index).second);
      EXPECT_LT(p.index, 0x11u);  // the R580 driver's COUNT
      EXPECT_LE(p.slice_count, m.compute_slices);
      EXPECT_GE(p.starts.size(), p.instance_count);
      for (const SliceRange& r : p.placements()) {
        EXPECT_EQ(r.start % r.size, 0u);
        EXPECT_LE(r.end(), m.memory_slices);
      }
      EXPECT_FALSE(p.ci_profiles.empty());
      EXPECT_EQ(p.ci_profiles.back().is_default || p.ci_profiles.front().is_default, true);
      EXPECT_EQ(p.media == MediaVariant::kPlusMe, p.name.ends_with("+me"));
    }
  }
  EXPECT_EQ(find_mig_model("T4-16GB"), nullptr);
  EXPECT_THROW(mig_model("V100"), Error);
}

// CI tables of §5.4: 7g: 1c x7, 2c x3, 3c x2, 4c x1, 7c x1; 4g: 1c 2c 4c; 3g: 1c 2c 3c ...
TEST(MigProfiles, ComputeInstanceProfiles) {
  const MigModel& m = mig_model("A100-SXM4-40GB");
  struct Ci {
    uint32_t id;
    const char* name;
    uint32_t count;
    uint32_t sm;
    Starts starts;
  };
  auto check = [&](uint32_t gi_id, const std::vector<Ci>& want) {
    const GiProfile* gi = m.find_by_id(gi_id);
    ASSERT_NE(gi, nullptr);
    SCOPED_TRACE(gi->name);
    ASSERT_EQ(gi->ci_profiles.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      const CiProfile& ci = gi->ci_profiles[i];
      EXPECT_EQ(ci.id, want[i].id);
      EXPECT_EQ(ci.name, want[i].name);
      EXPECT_EQ(ci.instance_count, want[i].count);
      EXPECT_EQ(ci.multiprocessor_count, want[i].sm);
      EXPECT_EQ(ci.starts, want[i].starts);
      EXPECT_EQ(ci.is_default, i + 1 == want.size());
      EXPECT_EQ(ci.shared_copy_engine_count, gi->copy_engine_count);
    }
  };
  check(0, {{0, "1c.7g.40gb", 7, 14, {0, 1, 2, 3, 4, 5, 6}},
            {1, "2c.7g.40gb", 3, 28, {0, 2, 4}},
            {2, "3c.7g.40gb", 2, 42, {0, 3}},
            {3, "4c.7g.40gb", 1, 56, {0}},
            {4, "7g.40gb", 1, 98, {0}}});
  check(5, {{0, "1c.4g.20gb", 4, 14, {0, 1, 2, 3}},
            {1, "2c.4g.20gb", 2, 28, {0, 2}},
            {3, "4g.20gb", 1, 56, {0}}});
  check(9, {{0, "1c.3g.20gb", 3, 14, {0, 1, 2}},
            {1, "2c.3g.20gb", 1, 28, {0}},
            {2, "3g.20gb", 1, 42, {0}}});
  check(14, {{0, "1c.2g.10gb", 2, 14, {0, 1}}, {1, "2g.10gb", 1, 28, {0}}});
  check(19, {{0, "1g.5gb", 1, 14, {0}}});
  // The 1g GI with twice the memory offers CI profile 1_SLICE_REV1 (id 7).
  check(15, {{7, "1g.10gb", 1, 14, {0}}});
  const GiProfile* h100_1g20 = mig_model("H100-SXM5-80GB").find_by_id(15);
  ASSERT_EQ(h100_1g20->ci_profiles.size(), 1u);
  EXPECT_EQ(h100_1g20->ci_profiles[0].id, 7u);
  EXPECT_EQ(h100_1g20->find_ci_profile(7)->multiprocessor_count, 26u);
  EXPECT_EQ(h100_1g20->find_ci_profile(0), nullptr);
}

// GI ids: the real H100 gave 7 x 1g at slots 6,4,5,0,1,2,3 the ids
// 13,11,12,7,8,9,10; the A100-40GB 9,7,8,11,12,13,14 (nvidia-smi-formats.md).
TEST(MigProfiles, GpuInstanceIdsOfRanges) {
  const MigModel& h100 = mig_model("H100-SXM5-80GB");
  const MigModel& a100 = mig_model("A100-SXM4-40GB");
  const Starts slots{6, 4, 5, 0, 1, 2, 3};
  const Starts h100_ids{13, 11, 12, 7, 8, 9, 10};
  const Starts a100_ids{9, 7, 8, 11, 12, 13, 14};
  for (size_t i = 0; i < slots.size(); ++i) {
    EXPECT_EQ(h100.gi_id_for({slots[i], 1}), h100_ids[i]);
    EXPECT_EQ(a100.gi_id_for({slots[i], 1}), a100_ids[i]);
  }
  EXPECT_EQ(h100.gi_id_for({0, 8}), 0u);
  EXPECT_EQ(a100.gi_id_for({0, 8}), 0u);
  EXPECT_EQ(a100.gi_id_for({4, 4}), 1u);  // a lone 3g on an empty A100: 4:4, id 1
  EXPECT_EQ(h100.gi_id_for({0, 4}), 1u);
  EXPECT_EQ(h100.gi_id_for({4, 2}), 5u);
  const MigModel& a30 = mig_model("A30-24GB");
  EXPECT_EQ(a30.gi_id_for({0, 4}), 0u);
  EXPECT_EQ(a30.gi_id_for({2, 2}), 2u);
  EXPECT_EQ(a30.gi_id_for({3, 1}), 6u);
}

// The H100 table field by field against the real driver's answers
// (nvml-readonly-probes.json): supported enum indexes, NOT_SUPPORTED ones.
TEST(MigProfiles, H100MatchesTheRealDriver) {
  const auto path = test::shared_dir() / "fixtures/h100-sxm5-passthrough/nvml-readonly-probes.json";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  const auto doc = nlohmann::json::parse(in);
  const auto& gips = doc.at("devices").at(0).at("gi_profiles");
  const MigModel& m = mig_model("H100-SXM5-80GB");
  for (uint32_t index = 0; index < 0x11; ++index) {
    SCOPED_TRACE(index);
    const auto& entry = gips.at(std::to_string(index));
    const GiProfile* p = m.find_by_index(index);
    if (entry.contains("error")) {
      EXPECT_EQ(entry.at("error"), "Not Supported");
      EXPECT_EQ(p, nullptr);
      continue;
    }
    ASSERT_NE(p, nullptr);
    const auto& info = entry.at("info_v2");
    EXPECT_EQ(info.at("id"), p->id);
    EXPECT_EQ(info.at("isP2pSupported"), p->p2p ? 1 : 0);
    EXPECT_EQ(info.at("sliceCount"), p->slice_count);
    EXPECT_EQ(info.at("instanceCount"), p->instance_count);
    EXPECT_EQ(info.at("multiprocessorCount"), p->multiprocessor_count);
    EXPECT_EQ(info.at("copyEngineCount"), p->copy_engine_count);
    EXPECT_EQ(info.at("decoderCount"), p->decoder_count);
    EXPECT_EQ(info.at("encoderCount"), p->encoder_count);
    EXPECT_EQ(info.at("jpegCount"), p->jpeg_count);
    EXPECT_EQ(info.at("ofaCount"), p->ofa_count);
    EXPECT_EQ(info.at("memorySizeMB"), p->memory_size_mb);
    EXPECT_EQ(info.at("name"), p->nvml_name());
    std::vector<SliceRange> placements;
    for (const auto& pl : entry.at("placements")) {
      placements.push_back({pl.at("start").get<uint32_t>(), pl.at("size").get<uint32_t>()});
    }
    EXPECT_EQ(placements, p->placements());
    EXPECT_TRUE(p->verified);
  }
}

}  // namespace
}  // namespace gpuvm::sim
