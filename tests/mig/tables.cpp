#include "tables.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "sim/mig_profiles.h"

#ifndef GPUVM_SHARED_DIR
#error "GPUVM_SHARED_DIR must point at shared/ (tests/CMakeLists.txt sets it)"
#endif

namespace gpuvm::mig::test {

GpuProfiles profiles_from_capture(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  nlohmann::json doc = nlohmann::json::parse(in);
  const nlohmann::json& dev = doc.at("devices").at(0);
  GpuProfiles out;
  out.index = dev.at("index").get<unsigned>();
  for (const auto& [key, entry] : dev.at("gi_profiles").items()) {
    if (!entry.contains("info_v2")) continue;  // NOT_SUPPORTED / INVALID_ARGUMENT indexes
    const nlohmann::json& i = entry.at("info_v2");
    GiProfile p;
    p.enum_index = static_cast<uint32_t>(std::stoul(key));
    p.id = i.at("id");
    p.name = i.at("name");
    p.p2p = i.at("isP2pSupported").get<unsigned>() != 0;
    p.slice_count = i.at("sliceCount");
    p.instance_count = i.at("instanceCount");
    p.sm_count = i.at("multiprocessorCount");
    p.copy_engines = i.at("copyEngineCount");
    p.decoders = i.at("decoderCount");
    p.encoders = i.at("encoderCount");
    p.jpegs = i.at("jpegCount");
    p.ofas = i.at("ofaCount");
    p.memory_mb = i.at("memorySizeMB");
    for (const auto& pl : entry.at("placements"))
      p.placements.push_back({pl.at("start").get<uint32_t>(), pl.at("size").get<uint32_t>()});
    out.remaining[p.id] = entry.at("remaining");
    out.table.gi.push_back(std::move(p));
  }
  out.table.sort_smi_order();
  return out;
}

ProfileTable h100_80gb() {
  return profiles_from_capture(std::filesystem::path(GPUVM_SHARED_DIR) /
                               "fixtures/h100-sxm5-passthrough/nvml-readonly.json")
      .table;
}

namespace {

std::vector<Placement> starts(std::initializer_list<uint32_t> s, uint32_t size) {
  std::vector<Placement> out;
  for (uint32_t v : s) out.push_back({v, size});
  return out;
}

// enum, id, name, slices, count, sm, ce, dec, jpeg, ofa, MiB, placements
GiProfile gi(uint32_t e, uint32_t id, std::string name, uint32_t slices, uint32_t count,
             uint32_t sm, uint32_t ce, uint32_t dec, uint32_t jpeg, uint32_t ofa, uint64_t mb,
             std::vector<Placement> pl) {
  GiProfile p;
  p.enum_index = e;
  p.id = id;
  p.name = "MIG " + name;
  p.slice_count = slices;
  p.instance_count = count;
  p.sm_count = sm;
  p.copy_engines = ce;
  p.decoders = dec;
  p.jpegs = jpeg;
  p.ofas = ofa;
  p.memory_mb = mb;
  p.placements = std::move(pl);
  return p;
}

}  // namespace

ProfileTable a100_40gb() {
  ProfileTable t;
  t.gi = {
      gi(0, 19, "1g.5gb", 1, 7, 14, 1, 0, 0, 0, 4864, starts({0, 1, 2, 3, 4, 5, 6}, 1)),
      gi(7, 20, "1g.5gb+me", 1, 1, 14, 1, 1, 1, 1, 4864, starts({0, 1, 2, 3, 4, 5, 6}, 1)),
      gi(9, 15, "1g.10gb", 1, 4, 14, 1, 1, 0, 0, 9856, starts({0, 2, 4, 6}, 2)),
      gi(1, 14, "2g.10gb", 2, 3, 28, 2, 1, 0, 0, 9856, starts({0, 2, 4}, 2)),
      gi(2, 9, "3g.20gb", 3, 2, 42, 3, 2, 0, 0, 19968, starts({0, 4}, 4)),
      gi(3, 5, "4g.20gb", 4, 1, 56, 4, 2, 0, 0, 19968, starts({0}, 4)),
      gi(4, 0, "7g.40gb", 7, 1, 98, 7, 5, 1, 1, 40192, starts({0}, 8)),
  };
  t.sort_smi_order();
  return t;
}

ProfileTable h200_141gb() {
  ProfileTable t;
  t.gi = {
      gi(0, 19, "1g.18gb", 1, 7, 16, 1, 1, 1, 0, 16384, starts({0, 1, 2, 3, 4, 5, 6}, 1)),
      gi(7, 20, "1g.18gb+me", 1, 1, 16, 1, 1, 1, 1, 16384, starts({0, 1, 2, 3, 4, 5, 6}, 1)),
      gi(9, 15, "1g.35gb", 1, 4, 26, 1, 1, 1, 0, 33280, starts({0, 2, 4, 6}, 2)),
      gi(1, 14, "2g.35gb", 2, 3, 32, 2, 2, 2, 0, 33280, starts({0, 2, 4}, 2)),
      gi(2, 9, "3g.71gb", 3, 2, 60, 3, 3, 3, 0, 66816, starts({0, 4}, 4)),
      gi(3, 5, "4g.71gb", 4, 1, 64, 4, 4, 4, 0, 66816, starts({0}, 4)),
      gi(4, 0, "7g.141gb", 7, 1, 132, 8, 7, 7, 1, 143360, starts({0}, 8)),
  };
  t.sort_smi_order();
  return t;
}

ProfileTable sim_table(const std::string& model_key) {
  const sim::MigModel& m = sim::mig_model(model_key);
  ProfileTable t;
  for (const sim::GiProfile& s : m.gi_profiles) {
    GiProfile p;
    p.enum_index = s.index;
    p.id = s.id;
    p.name = s.nvml_name();
    p.p2p = s.p2p;
    p.slice_count = s.slice_count;
    p.instance_count = s.instance_count;
    p.sm_count = s.multiprocessor_count;
    p.copy_engines = s.copy_engine_count;
    p.decoders = s.decoder_count;
    p.encoders = s.encoder_count;
    p.jpegs = s.jpeg_count;
    p.ofas = s.ofa_count;
    p.memory_mb = s.memory_size_mb;
    for (const sim::SliceRange& r : s.placements()) p.placements.push_back({r.start, r.size});
    t.gi.push_back(std::move(p));
  }
  t.sort_smi_order();
  return t;
}

}  // namespace gpuvm::mig::test
