#include "sim/mig_profiles.h"

#include <algorithm>
#include <string>
#include <utility>

#include "core/error.h"

namespace gpuvm::sim {

namespace {

// NVML_GPU_INSTANCE_PROFILE_* enum values (reference §4.1).
constexpr uint32_t k1Slice = 0x0, k2Slice = 0x1, k3Slice = 0x2, k4Slice = 0x3, k7Slice = 0x4;
constexpr uint32_t k1SliceRev1 = 0x7, k2SliceRev1 = 0x8, k1SliceRev2 = 0x9;
// NVML_COMPUTE_INSTANCE_PROFILE_* enum values = CI profile ids.
constexpr uint32_t kCi1Slice = 0x0, kCi2Slice = 0x1, kCi3Slice = 0x2, kCi4Slice = 0x3,
                   kCi7Slice = 0x4, kCi1SliceRev1 = 0x7;

// One row of a board's GI table, as the reference prints it.
struct Row {
  uint32_t index;
  uint32_t id;
  const char* name;
  uint32_t slices;
  uint32_t count;
  uint32_t sm;
  uint32_t ce;
  uint32_t dec;
  uint32_t enc;
  uint32_t jpeg;
  uint32_t ofa;
  uint64_t mb;
  MediaVariant media;
  uint32_t memory_slices;
  std::vector<uint32_t> starts;
  bool verified;
};

uint32_t ci_id_for_slices(uint32_t slices) {
  switch (slices) {
    case 1:
      return kCi1Slice;
    case 2:
      return kCi2Slice;
    case 3:
      return kCi3Slice;
    case 4:
      return kCi4Slice;
    case 7:
      return kCi7Slice;
  }
  throw Error(Errc::kInternal, "no CI profile for " + std::to_string(slices) + " compute slices");
}

// CI slice sizes a GI of `slices` compute slices offers (reference §5.4,
// observed -lcip): 7g: 1c 2c 3c 4c 7c; 4g: 1c 2c 4c; 3g: 1c 2c 3c; 2g: 1c 2c; 1g: 1c.
std::vector<uint32_t> ci_sizes_for(uint32_t slices) {
  switch (slices) {
    case 7:
      return {1, 2, 3, 4, 7};
    case 4:
      return {1, 2, 4};
    case 3:
      return {1, 2, 3};
    case 2:
      return {1, 2};
    case 1:
      return {1};
  }
  throw Error(Errc::kInternal, "no CI layout for a GI of " + std::to_string(slices) + " slices");
}

// The CI profiles of one GI profile. Counts, ids and names are observed
// (-lcip, reference §5.4); placements are end-to-end slots and the SM count
// of a partial CI is that of the board's plain GI profile of the same slice
// count (A100 3g: 14/28/42) -- both [inferred], hence verified = false.
std::vector<CiProfile> make_ci_profiles(const GiProfile& gi, const std::vector<Row>& rows) {
  std::vector<CiProfile> out;
  for (uint32_t c : ci_sizes_for(gi.slice_count)) {
    CiProfile ci;
    ci.slice_count = c;
    ci.id = ci_id_for_slices(c);
    // A 1-slice GI with 2 memory slices (1g.20gb on H100) offers CI profile
    // 1_SLICE_REV1 (id 7), not 1_SLICE: nvidia-smi -C creates CI profile 7
    // there (observed on H100/GH200, nvidia-smi-formats.md).
    if (gi.slice_count == 1 && gi.memory_slices == 2) ci.id = kCi1SliceRev1;
    ci.instance_count = gi.slice_count / c;
    ci.is_default = c == gi.slice_count;
    ci.name = ci.is_default ? gi.name : std::to_string(c) + "c." + gi.name;
    ci.multiprocessor_count = gi.multiprocessor_count;
    if (!ci.is_default) {
      for (const Row& r : rows) {
        if (r.slices == c && r.media == MediaVariant::kStandard) {  // first = least memory
          ci.multiprocessor_count = r.sm;
          break;
        }
      }
    }
    ci.shared_copy_engine_count = gi.copy_engine_count;
    ci.shared_decoder_count = gi.decoder_count;
    ci.shared_encoder_count = gi.encoder_count;
    ci.shared_jpeg_count = gi.jpeg_count;
    ci.shared_ofa_count = gi.ofa_count;
    for (uint32_t s = 0; s + c <= gi.slice_count; s += c) ci.starts.push_back(s);
    ci.verified = false;
    out.push_back(std::move(ci));
  }
  std::sort(out.begin(), out.end(),
            [](const CiProfile& a, const CiProfile& b) { return a.id < b.id; });
  return out;
}

MigModel make_model(std::string key, uint32_t memory_slices, uint32_t compute_slices,
                    bool needs_reset, uint32_t rotation, std::string source,
                    const std::vector<Row>& rows) {
  MigModel m;
  m.key = std::move(key);
  m.memory_slices = memory_slices;
  m.compute_slices = compute_slices;
  m.mode_change_needs_reset = needs_reset;
  m.gi_id_rotation = rotation;
  m.source = std::move(source);
  for (const Row& r : rows) {
    GiProfile p;
    p.index = r.index;
    p.id = r.id;
    p.name = r.name;
    p.slice_count = r.slices;
    p.instance_count = r.count;
    p.multiprocessor_count = r.sm;
    p.copy_engine_count = r.ce;
    p.decoder_count = r.dec;
    p.encoder_count = r.enc;
    p.jpeg_count = r.jpeg;
    p.ofa_count = r.ofa;
    p.memory_size_mb = r.mb;
    p.media = r.media;
    p.memory_slices = r.memory_slices;
    p.starts = r.starts;
    p.verified = r.verified;
    p.ci_profiles = make_ci_profiles(p, rows);
    m.gi_profiles.push_back(std::move(p));
  }
  return m;
}

using MV = MediaVariant;
const std::vector<uint32_t> kStarts1g{0, 1, 2, 3, 4, 5, 6};
const std::vector<uint32_t> kStarts2x{0, 2, 4, 6};
const std::vector<uint32_t> kStarts2g{0, 2, 4};
const std::vector<uint32_t> kStarts3g{0, 4};
const std::vector<uint32_t> kStartsFirst{0};

// A 7-slice board (A100, H100, H200, B200): 8 memory slices, the placement
// geometry of reference §5.3 and the common profile ids of §5.1.
std::vector<MigModel> build_models() {
  std::vector<MigModel> models;
  // Tables stay one row per profile, wider than 100 columns.
  // clang-format off

  // columns: index, id, name, slices, count, SM, CE, DEC, ENC, JPEG, OFA, MB, media, mem slices, starts, verified
  // A100-SXM4-40GB: MIG UG v580 Table 6, observed -lgip (SM 14/14/28/42/56/98,
  // GiB 4.75/9.62/19.50/39.25), MB from the -lgip GiB.
  models.push_back(make_model(
      "A100-SXM4-40GB", 8, 7, /*needs_reset=*/true, /*rotation=*/4,
      "MIG UG v580 Table 6; observed -lgip (reference nvidia.md 5.2)",
      {
          {k1Slice, 19, "1g.5gb", 1, 7, 14, 1, 0, 0, 0, 0, 4864, MV::kStandard, 1, kStarts1g, true},
          {k1SliceRev1, 20, "1g.5gb+me", 1, 1, 14, 1, 1, 0, 1, 1, 4864, MV::kPlusMe, 1, kStarts1g, true},
          {k1SliceRev2, 15, "1g.10gb", 1, 4, 14, 1, 1, 0, 0, 0, 9856, MV::kStandard, 2, kStarts2x, true},
          {k2Slice, 14, "2g.10gb", 2, 3, 28, 2, 1, 0, 0, 0, 9856, MV::kStandard, 2, kStarts2g, true},
          {k3Slice, 9, "3g.20gb", 3, 2, 42, 3, 2, 0, 0, 0, 19968, MV::kStandard, 4, kStarts3g, true},
          {k4Slice, 5, "4g.20gb", 4, 1, 56, 4, 2, 0, 0, 0, 19968, MV::kStandard, 4, kStartsFirst, true},
          {k7Slice, 0, "7g.40gb", 7, 1, 98, 7, 5, 0, 1, 1, 40192, MV::kStandard, 8, kStartsFirst, true},
      }));

  // A100-SXM4-80GB: same geometry and engines (observed -lgip A100 80GB); the
  // 1g size is reported as 9.50 and 9.75 GiB by different sources: 9.50 taken
  // (R470+), hence unverified.
  models.push_back(make_model(
      "A100-SXM4-80GB", 8, 7, /*needs_reset=*/true, /*rotation=*/4,
      "observed -lgip A100 80GB; mig-parted #97 (reference nvidia.md 5.2)",
      {
          {k1Slice, 19, "1g.10gb", 1, 7, 14, 1, 0, 0, 0, 0, 9728, MV::kStandard, 1, kStarts1g, false},
          {k1SliceRev1, 20, "1g.10gb+me", 1, 1, 14, 1, 1, 0, 1, 1, 9728, MV::kPlusMe, 1, kStarts1g, false},
          {k1SliceRev2, 15, "1g.20gb", 1, 4, 14, 1, 1, 0, 0, 0, 19968, MV::kStandard, 2, kStarts2x, true},
          {k2Slice, 14, "2g.20gb", 2, 3, 28, 2, 1, 0, 0, 0, 19968, MV::kStandard, 2, kStarts2g, true},
          {k3Slice, 9, "3g.40gb", 3, 2, 42, 3, 2, 0, 0, 0, 40192, MV::kStandard, 4, kStarts3g, true},
          {k4Slice, 5, "4g.40gb", 4, 1, 56, 4, 2, 0, 0, 0, 40192, MV::kStandard, 4, kStartsFirst, true},
          {k7Slice, 0, "7g.80gb", 7, 1, 98, 7, 5, 0, 1, 1, 80384, MV::kStandard, 8, kStartsFirst, true},
      }));

  // A30-24GB: 4 memory and 4 compute slices (reference §5.2 "A30"; -lgip
  // GiB 5.81/11.69/23.44; MIG UG A30 table for engines).
  models.push_back(make_model(
      "A30-24GB", 4, 4, /*needs_reset=*/true, /*rotation=*/0,
      "observed -lgip A30; MIG UG A30 table (reference nvidia.md 5.1, 5.2)",
      {
          {k1Slice, 14, "1g.6gb", 1, 4, 14, 1, 0, 0, 0, 0, 5952, MV::kStandard, 1, {0, 1, 2, 3}, true},
          {k1SliceRev1, 21, "1g.6gb+me", 1, 1, 14, 1, 1, 0, 1, 1, 5952, MV::kPlusMe, 1, {0, 1, 2, 3}, true},
          {k2Slice, 5, "2g.12gb", 2, 2, 28, 2, 2, 0, 0, 0, 11968, MV::kStandard, 2, {0, 2}, true},
          {k2SliceRev1, 6, "2g.12gb+me", 2, 1, 28, 2, 2, 0, 1, 1, 11968, MV::kPlusMe, 2, {0, 2}, true},
          {k4Slice, 0, "4g.24gb", 4, 1, 56, 4, 4, 0, 1, 1, 24000, MV::kStandard, 4, kStartsFirst, true},
      }));

  // H100-SXM5-80GB: the real H100 of fixtures/h100-sxm5-passthrough
  // (nvml-readonly.json, driver 580.159.04). Hardware truth.
  models.push_back(make_model(
      "H100-SXM5-80GB", 8, 7, /*needs_reset=*/false, /*rotation=*/0,
      "real H100 SXM5, driver 580.159.04 (fixtures/h100-sxm5-passthrough)",
      {
          {k1Slice, 19, "1g.10gb", 1, 7, 16, 1, 1, 0, 1, 0, 9984, MV::kStandard, 1, kStarts1g, true},
          {k1SliceRev1, 20, "1g.10gb+me", 1, 1, 16, 1, 1, 0, 1, 1, 9984, MV::kPlusMe, 1, kStarts1g, true},
          {k1SliceRev2, 15, "1g.20gb", 1, 4, 26, 1, 1, 0, 1, 0, 20096, MV::kStandard, 2, kStarts2x, true},
          {k2Slice, 14, "2g.20gb", 2, 3, 32, 2, 2, 0, 2, 0, 20096, MV::kStandard, 2, kStarts2g, true},
          {k3Slice, 9, "3g.40gb", 3, 2, 60, 3, 3, 0, 3, 0, 40448, MV::kStandard, 4, kStarts3g, true},
          {k4Slice, 5, "4g.40gb", 4, 1, 64, 4, 4, 0, 4, 0, 40448, MV::kStandard, 4, kStartsFirst, true},
          {k7Slice, 0, "7g.80gb", 7, 1, 132, 8, 7, 0, 7, 1, 81152, MV::kStandard, 8, kStartsFirst, true},
      }));

  // H100-NVL-94GB: observed -lgip (GiB 10.75/21.62/46.38/93.12) and -lgipp;
  // engines as the H100 SXM5. MB are the -lgip GiB (2 decimals) x 1024.
  models.push_back(make_model(
      "H100-NVL-94GB", 8, 7, /*needs_reset=*/false, /*rotation=*/0,
      "observed -lgip/-lgipp H100 NVL (reference nvidia.md 5.2, nvidia-smi-formats.md)",
      {
          {k1Slice, 19, "1g.12gb", 1, 7, 16, 1, 1, 0, 1, 0, 11008, MV::kStandard, 1, kStarts1g, true},
          {k1SliceRev1, 20, "1g.12gb+me", 1, 1, 16, 1, 1, 0, 1, 1, 11008, MV::kPlusMe, 1, kStarts1g, true},
          {k1SliceRev2, 15, "1g.24gb", 1, 4, 26, 1, 1, 0, 1, 0, 22144, MV::kStandard, 2, kStarts2x, true},
          {k2Slice, 14, "2g.24gb", 2, 3, 32, 2, 2, 0, 2, 0, 22144, MV::kStandard, 2, kStarts2g, true},
          {k3Slice, 9, "3g.47gb", 3, 2, 60, 3, 3, 0, 3, 0, 47488, MV::kStandard, 4, kStarts3g, true},
          {k4Slice, 5, "4g.47gb", 4, 1, 64, 4, 4, 0, 4, 0, 47488, MV::kStandard, 4, kStartsFirst, true},
          {k7Slice, 0, "7g.94gb", 7, 1, 132, 8, 7, 0, 7, 1, 95360, MV::kStandard, 8, kStartsFirst, true},
      }));

  // H200-SXM-141GB: MIG UG v580 Table 8; -lgip seen for 1g (16.00 GiB), 2g
  // (32.50) and 7g (140.00). 1g.35gb/3g/4g SMs, ids and sizes follow the
  // common 7-slice numbering and the H100 engine layout [inferred].
  models.push_back(make_model(
      "H200-SXM-141GB", 8, 7, /*needs_reset=*/false, /*rotation=*/0,
      "MIG UG v580 Table 8; partial observed -lgip (reference nvidia.md 5.2)",
      {
          {k1Slice, 19, "1g.18gb", 1, 7, 16, 1, 1, 0, 1, 0, 16384, MV::kStandard, 1, kStarts1g, true},
          {k1SliceRev1, 20, "1g.18gb+me", 1, 1, 16, 1, 1, 0, 1, 1, 16384, MV::kPlusMe, 1, kStarts1g, true},
          {k1SliceRev2, 15, "1g.35gb", 1, 4, 26, 1, 1, 0, 1, 0, 33280, MV::kStandard, 2, kStarts2x, false},
          {k2Slice, 14, "2g.35gb", 2, 3, 32, 2, 2, 0, 2, 0, 33280, MV::kStandard, 2, kStarts2g, true},
          {k3Slice, 9, "3g.71gb", 3, 2, 60, 3, 3, 0, 3, 0, 66560, MV::kStandard, 4, kStarts3g, false},
          {k4Slice, 5, "4g.71gb", 4, 1, 64, 4, 4, 0, 4, 0, 66560, MV::kStandard, 4, kStartsFirst, false},
          {k7Slice, 0, "7g.141gb", 7, 1, 132, 8, 7, 0, 7, 1, 143360, MV::kStandard, 8, kStartsFirst, true},
      }));

  // B200 (180 GB): MIG UG v580 Table 9 gives names, counts, slices and
  // engines only. Profile ids (the 7-slice numbering), SM counts (18 per
  // slice) and memory sizes are NOT public: all unverified (reference §5.1:
  // "do not assume 19/14/9/5/0 on B200 without hardware confirmation").
  models.push_back(make_model(
      "B200-180GB", 8, 7, /*needs_reset=*/false, /*rotation=*/0,
      "MIG UG v580 Table 9 as published; ids, SMs and sizes unverified",
      {
          {k1Slice, 19, "1g.23gb", 1, 7, 18, 2, 1, 0, 1, 0, 23552, MV::kStandard, 1, kStarts1g, false},
          {k1SliceRev1, 20, "1g.23gb+me", 1, 1, 18, 2, 1, 0, 1, 1, 23552, MV::kPlusMe, 1, kStarts1g, false},
          {k1SliceRev2, 15, "1g.45gb", 1, 4, 18, 2, 1, 0, 1, 0, 46080, MV::kStandard, 2, kStarts2x, false},
          {k2Slice, 14, "2g.45gb", 2, 3, 36, 3, 1, 0, 1, 0, 46080, MV::kStandard, 2, kStarts2g, false},
          {k3Slice, 9, "3g.90gb", 3, 2, 54, 6, 1, 0, 1, 0, 92160, MV::kStandard, 4, kStarts3g, false},
          {k4Slice, 5, "4g.90gb", 4, 1, 72, 8, 1, 0, 1, 0, 92160, MV::kStandard, 4, kStartsFirst, false},
          {k7Slice, 0, "7g.180gb", 7, 1, 144, 16, 1, 0, 1, 1, 184320, MV::kStandard, 8, kStartsFirst, false},
      }));

  // clang-format on
  return models;
}

const std::vector<MigModel>& all_models() {
  static const std::vector<MigModel> models = build_models();
  return models;
}

std::vector<SliceRange> ranges(const std::vector<uint32_t>& starts, uint32_t size) {
  std::vector<SliceRange> out;
  out.reserve(starts.size());
  for (uint32_t s : starts) out.push_back({s, size});
  return out;
}

}  // namespace

std::vector<SliceRange> CiProfile::placements() const {
  return ranges(starts, slice_count);
}

std::vector<SliceRange> GiProfile::placements() const {
  return ranges(starts, memory_slices);
}

const CiProfile* GiProfile::find_ci_profile(uint32_t ci_id) const {
  for (const auto& ci : ci_profiles) {
    if (ci.id == ci_id) return &ci;
  }
  return nullptr;
}

const GiProfile* MigModel::find_by_index(uint32_t index) const {
  for (const auto& p : gi_profiles) {
    if (p.index == index) return &p;
  }
  return nullptr;
}

const GiProfile* MigModel::find_by_id(uint32_t id) const {
  for (const auto& p : gi_profiles) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

// The driver numbers memory-slice ranges as a binary tree, root first:
// 0 = the whole board, 1-2 = halves, 3-6 = quarters, 7-14 = single slices
// (A30: 0, 1-2, 3-6). The real H100 gave 7 x 1g at slots 6,4,5,0,1,2,3 the
// ids 13,11,12,7,8,9,10 (nvidia-smi-formats.md, "Ordering and IDs").
uint32_t MigModel::gi_id_for(const SliceRange& range) const {
  if (range.size == 0 || memory_slices % range.size != 0) {
    throw Error(Errc::kInternal, "GI range " + std::to_string(range.start) + ":" +
                                     std::to_string(range.size) + " does not fit " + key);
  }
  const uint32_t physical = (range.start + gi_id_rotation) % memory_slices;
  return memory_slices / range.size - 1 + physical / range.size;
}

std::span<const MigModel> mig_models() {
  return all_models();
}

const MigModel* find_mig_model(std::string_view key) {
  for (const auto& m : all_models()) {
    if (m.key == key) return &m;
  }
  return nullptr;
}

const MigModel& mig_model(std::string_view key) {
  if (const MigModel* m = find_mig_model(key)) return *m;
  std::string known;
  for (const auto& m : all_models()) known += (known.empty() ? "" : ", ") + m.key;
  throw Error(Errc::kNotFound,
              "no MIG table for model '" + std::string(key) + "' (known: " + known + ")");
}

}  // namespace gpuvm::sim
