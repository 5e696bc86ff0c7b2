// MIG profile tables of the boards gpuvm-sim models: GPU instance (GI)
// profiles with the board's profile ids, engines, memory and placements, and
// the compute instance (CI) profiles inside each GI profile.
//
// Sources (reference/nvidia.md §5; "[verified]/[observed]/[inferred]" there):
//  - H100-SXM5-80GB: the real H100 in fixtures/h100-sxm5-passthrough
//    (nvml-readonly.json, driver 580.159.04): every number is hardware truth.
//  - A100-SXM4-40GB, A100-SXM4-80GB, A30-24GB, H100-NVL-94GB, H200-SXM-141GB:
//    MIG User Guide tables and published -lgip outputs; numbers that no
//    source gives are marked `verified = false` (and say why in the .cpp).
//  - B200: as published (MIG UG v580 Table 9); profile ids, SM counts and
//    memory sizes are not public: unverified.
//
// Two numberings (reference §5.1): `index` is the NVML enum value that
// nvmlDeviceGetGpuInstanceProfileInfo takes (NVML_GPU_INSTANCE_PROFILE_*);
// `id` is the board's profile id (19 for 1g on a 7-slice board) that every
// other call takes and nvidia-smi prints. CI profile ids equal the CI enum.
//
// Plain value types; no NVML header needed. The table of a model is found by
// its key, the same string the model catalog (sim/models.h) uses.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gpuvm::sim {

// A range of slices: memory slices for a GI placement, compute slices (inside
// the GI) for a CI placement. nvmlGpuInstancePlacement_t / ...Compute...
struct SliceRange {
  uint32_t start = 0;
  uint32_t size = 0;

  uint32_t end() const { return start + size; }
  bool overlaps(const SliceRange& o) const { return start < o.end() && o.start < end(); }
  bool operator==(const SliceRange&) const = default;
};

// Media-engine variant of a profile (reference §4.1): "+me" takes the board's
// single set of media extras (max one instance), "-me" has none, "+me.all"
// takes every media engine and only "-me" profiles may sit beside it.
enum class MediaVariant { kStandard, kPlusMe, kMinusMe, kPlusMeAll };

struct CiProfile {
  uint32_t id = 0;           // NVML_COMPUTE_INSTANCE_PROFILE_* (= the CI profile id)
  std::string name;          // "1c.3g.40gb"; the full-GI CI carries the GI's name "3g.40gb"
  uint32_t slice_count = 0;  // compute slices
  uint32_t instance_count = 0;
  uint32_t multiprocessor_count = 0;
  // Engines are shared by all CIs of a GI: the GI's counts.
  uint32_t shared_copy_engine_count = 0;
  uint32_t shared_decoder_count = 0;
  uint32_t shared_encoder_count = 0;
  uint32_t shared_jpeg_count = 0;
  uint32_t shared_ofa_count = 0;
  bool is_default = false;       // the full-GI profile, `*` in -lcip, what -C creates
  std::vector<uint32_t> starts;  // possible placements, each of slice_count slices
  bool verified = false;         // false: synthesised from the rules of §5.4

  std::vector<SliceRange> placements() const;
};

struct GiProfile {
  uint32_t index = 0;        // NVML_GPU_INSTANCE_PROFILE_* enum value
  uint32_t id = 0;           // the board's profile id (info.id, -lgip ID, -cgi argument)
  std::string name;          // "1g.10gb"; NVML reports "MIG 1g.10gb"
  uint32_t slice_count = 0;  // compute slices
  uint32_t instance_count = 0;
  uint32_t multiprocessor_count = 0;
  uint32_t copy_engine_count = 0;
  uint32_t decoder_count = 0;
  uint32_t encoder_count = 0;
  uint32_t jpeg_count = 0;
  uint32_t ofa_count = 0;
  uint64_t memory_size_mb = 0;
  bool p2p = false;
  MediaVariant media = MediaVariant::kStandard;
  uint32_t memory_slices = 0;          // placement size
  std::vector<uint32_t> starts;        // placement starts (memory slices), ascending
  std::vector<CiProfile> ci_profiles;  // by CI id
  bool verified = false;               // every number above confirmed by hardware or NVIDIA docs

  std::string nvml_name() const { return "MIG " + name; }
  std::vector<SliceRange> placements() const;
  const CiProfile* find_ci_profile(uint32_t ci_id) const;
};

struct MigModel {
  std::string key;              // "H100-SXM5-80GB": model catalog key
  uint32_t memory_slices = 0;   // 8 (A30: 4)
  uint32_t compute_slices = 0;  // 7 (A30: 4)
  // Ampere keeps a MIG mode change pending until a GPU reset; Hopper and
  // later apply it at once on a bare-metal host (reference §0.6, §1.5).
  bool mode_change_needs_reset = false;
  // GI ids are the driver's ids of memory-slice ranges (see gi_id_for);
  // A100 numbers its ranges starting from memory slice 4 (MIG UG examples:
  // 7 x 1g at slots 6,4,5,0,1,2,3 got ids 9,7,8,11,12,13,14; a lone 3g at
  // 4:4 got id 1). [inferred]
  uint32_t gi_id_rotation = 0;
  // GI profiles in nvidia-smi -lgip order (1g, 1g+me, 1g 2x memory, 2g, 3g,
  // 4g, full): smallest first.
  std::vector<GiProfile> gi_profiles;
  std::string source;  // where the numbers come from

  const GiProfile* find_by_index(uint32_t index) const;
  const GiProfile* find_by_id(uint32_t id) const;
  // The driver's GPU instance id for a GI placed at `range` (memory slices).
  uint32_t gi_id_for(const SliceRange& range) const;
  // nvmlDeviceGetMaxMigDeviceCount with MIG enabled: one per compute slice.
  uint32_t max_mig_devices() const { return compute_slices; }
};

// Every modelled MIG board.
std::span<const MigModel> mig_models();
// The table of `key`, nullptr when the board has no MIG (T4, V100) or the key is unknown.
const MigModel* find_mig_model(std::string_view key);
// As find_mig_model, but throws gpuvm::Error kNotFound naming the key and the known keys.
const MigModel& mig_model(std::string_view key);

}  // namespace gpuvm::sim
