#include "node/config.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/sysfs.h"
#include "core/yaml.h"

namespace gpuvm::node {
namespace {

struct Ctx {
  std::string source;
  [[noreturn]] void fail(const YAML::Node& n, const std::string& what) const {
    yaml::fail(source, n, what);
  }
  void keys(const YAML::Node& map, const std::string& where, std::set<std::string> allowed) const {
    if (!map.IsMap()) fail(map, where + ": expected a mapping");
    for (const auto& kv : map) {
      const std::string k = yaml::key(source, kv.first, where);
      if (allowed.count(k) == 0) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        fail(kv.first, fmt::format("unknown key '{}' in {} (allowed: {})", k, where, list));
      }
    }
  }
  std::string str(const YAML::Node& n, const std::string& where) const {
    if (!n.IsScalar()) fail(n, where + ": expected a string");
    return n.as<std::string>();
  }
  int integer(const YAML::Node& n, const std::string& where, int lo, int hi) const {
    int v = 0;
    try {
      v = n.as<int>();
    } catch (const YAML::Exception&) {
      fail(n, fmt::format("{}: expected a number {}..{}", where, lo, hi));
    }
    if (v < lo || v > hi) fail(n, fmt::format("{}: {} is out of range {}..{}", where, v, lo, hi));
    return v;
  }
  bool boolean(const YAML::Node& n, const std::string& where) const {
    const std::string text = str(n, where);
    if (text == "true") return true;
    if (text == "false") return false;
    fail(n, where + ": expected true or false");
  }
  // mig: false | true | {enabled: BOOL, devices: {PROFILE: COUNT, ...}}
  MigSpec mig(const YAML::Node& n, const std::string& where) const {
    MigSpec m;
    m.where = where;
    if (n.IsScalar()) {
      m.enabled = boolean(n, where);
      return m;
    }
    keys(n, where, {"enabled", "devices"});
    if (!n["enabled"]) fail(n, where + ": 'enabled' is required");
    m.enabled = boolean(n["enabled"], where + ".enabled");
    if (const YAML::Node d = n["devices"]) {
      if (!m.enabled) fail(d, where + ".devices: GPU instances need 'enabled: true'");
      if (!d.IsMap()) fail(d, where + ".devices: expected a mapping of MIG profile to count");
      m.devices.emplace();
      for (const auto& kv : d) {
        const std::string profile = yaml::key(source, kv.first, where + ".devices");
        const int count = integer(kv.second, where + ".devices." + profile, 0, 7);
        if (count > 0) m.devices->emplace_back(profile, static_cast<unsigned>(count));
      }
    }
    return m;
  }
  template <typename T, typename F>
  T parsed(const YAML::Node& n, const std::string& where, F f) const {
    const std::string text = str(n, where);
    try {
      return f(text);
    } catch (const Error& e) {
      fail(n, fmt::format("{}: {}", where, e.what()));
    }
  }
};

}  // namespace

NodeSpec parse_node_spec(const std::string& yaml, const std::string& source_name) {
  Ctx c{source_name};
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    throw_invalid(fmt::format("{}:{}: not valid YAML: {}", source_name, e.mark.line + 1, e.msg));
  }
  c.keys(root, "the file", {"version", "gpus"});
  if (!root["version"] || c.str(root["version"], "version") != "v1") {
    throw_invalid(fmt::format("{}: expected 'version: v1'", source_name));
  }
  NodeSpec spec;
  const YAML::Node gpus = root["gpus"];
  if (!gpus) return spec;
  if (!gpus.IsSequence()) c.fail(gpus, "gpus: expected a list");
  std::set<Bdf> seen;
  for (size_t i = 0; i < gpus.size(); ++i) {
    const YAML::Node g = gpus[i];
    GpuSpec gs;
    gs.where = fmt::format("gpus[{}]", i);
    c.keys(g, gs.where, {"address", "mig", "sriov", "heterogeneous", "vgpus"});
    if (!g["address"]) c.fail(g, gs.where + ": 'address' is required");
    gs.address = c.parsed<Bdf>(g["address"], gs.where + ".address",
                               [](const std::string& t) { return Bdf::parse(t); });
    if (!seen.insert(gs.address).second) {
      c.fail(g["address"], fmt::format("{}: {} is listed twice", gs.where, gs.address.str()));
    }
    if (const YAML::Node s = g["sriov"]) {
      const std::string text = c.str(s, gs.where + ".sriov");
      if (text == "true") {
        gs.vfs = -1;
      } else if (text == "false") {
        gs.vfs = 0;
      } else {
        gs.vfs = c.integer(s, gs.where + ".sriov", 0, 65535);
      }
    }
    if (const YAML::Node m = g["mig"]) gs.mig = c.mig(m, gs.where + ".mig");
    if (const YAML::Node h = g["heterogeneous"]) {
      gs.heterogeneous = c.boolean(h, gs.where + ".heterogeneous");
      if (*gs.heterogeneous && gs.mig && gs.mig->enabled) {
        // nvml.h: SetVgpuHeterogeneousMode is NOT_SUPPORTED with MIG on.
        c.fail(h, gs.where +
                      ".heterogeneous: mixed-size mode is for time-sliced vGPUs; it "
                      "cannot be on with MIG enabled");
      }
    }
    if (const YAML::Node vs = g["vgpus"]) {
      if (!vs.IsSequence()) c.fail(vs, gs.where + ".vgpus: expected a list");
      gs.vgpus_declared = true;
      for (size_t j = 0; j < vs.size(); ++j) {
        const YAML::Node v = vs[j];
        VgpuSpec s;
        s.where = fmt::format("{}.vgpus[{}]", gs.where, j);
        c.keys(v, s.where, {"type", "count", "vf", "uuid"});
        if (!v["type"]) c.fail(v, s.where + ": 'type' is required");
        s.type = c.str(v["type"], s.where + ".type");
        try {
          check_path_component(s.type, s.where + ".type");
        } catch (const Error& e) {
          c.fail(v["type"], e.what());
        }
        if (v["vf"]) {
          s.vf = c.parsed<Bdf>(v["vf"], s.where + ".vf",
                               [](const std::string& t) { return Bdf::parse(t); });
          if (v["count"]) c.fail(v["count"], s.where + ": 'count' and 'vf' exclude each other");
        }
        if (v["count"]) s.count = c.integer(v["count"], s.where + ".count", 1, 1024);
        if (v["uuid"]) {
          if (!s.vf) c.fail(v["uuid"], s.where + ": 'uuid' needs 'vf'");
          s.uuid = c.parsed<Uuid>(v["uuid"], s.where + ".uuid",
                                  [](const std::string& t) { return Uuid::parse(t); });
        }
        gs.vgpus.push_back(std::move(s));
      }
    }
    spec.gpus.push_back(std::move(gs));
  }
  return spec;
}

bool needs_nvml(const NodeSpec& spec) {
  for (const auto& g : spec.gpus) {
    if (g.mig || g.heterogeneous) return true;
  }
  return false;
}

NodeSpec load_node_spec(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw_invalid(fmt::format("cannot read {}", file.string()));
  std::ostringstream s;
  s << in.rdbuf();
  return parse_node_spec(s.str(), file.string());
}

}  // namespace gpuvm::node
