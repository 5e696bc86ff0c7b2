#include "mig/config.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>

#include "core/error.h"
#include "core/yaml.h"

namespace gpuvm::mig {
namespace {

// MIG devices one GPU can hold: at most 7 GPU instances, and 7 compute
// instances since each takes at least one of the 7 compute slices (NVIDIA
// MIG User Guide, "Supported MIG Profiles"; nvmlDeviceGetMaxMigDeviceCount).
// Bounding counts here keeps a typo from allocating without limit.
constexpr unsigned kMaxMigDevicesPerGpu = 7;

[[noreturn]] void bad(const std::string& source, const YAML::Node& node, std::string what) {
  yaml::fail(source, node, what);
}

bool parse_bool(const std::string& source, const YAML::Node& node, const std::string& key) {
  if (!node.IsScalar()) bad(source, node, fmt::format("{} must be true or false", key));
  const std::string& v = node.Scalar();
  if (v == "true" || v == "True" || v == "TRUE") return true;
  if (v == "false" || v == "False" || v == "FALSE") return false;
  bad(source, node, fmt::format("{} must be true or false, not '{}'", key, v));
}

unsigned parse_uint(const std::string& source, const YAML::Node& node, const std::string& what) {
  if (!node.IsScalar()) bad(source, node, fmt::format("{} must be a number", what));
  const std::string& v = node.Scalar();
  unsigned out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size())
    bad(source, node, fmt::format("{} must be a non-negative integer, not '{}'", what, v));
  return out;
}

MigConfigEntry parse_entry(const std::string& source, const std::string& label,
                           const YAML::Node& node) {
  if (!node.IsMap()) bad(source, node, fmt::format("entries of '{}' must be maps", label));
  MigConfigEntry e;
  bool have_devices = false, have_enabled = false, have_mig_devices = false;
  for (const auto& kv : node) {
    const std::string key = yaml::key(source, kv.first, fmt::format("config '{}'", label));
    const YAML::Node& v = kv.second;
    if (key == "device-filter") {
      if (v.IsScalar()) {
        e.device_filter.push_back(v.Scalar());
      } else if (v.IsSequence()) {
        for (const auto& f : v) {
          if (!f.IsScalar()) bad(source, f, "device-filter entries must be strings");
          e.device_filter.push_back(f.Scalar());
        }
      } else {
        bad(source, v, "device-filter must be a string or a list of strings");
      }
    } else if (key == "devices") {
      have_devices = true;
      if (v.IsScalar() && v.Scalar() == "all") {
        e.all_devices = true;
      } else if (v.IsSequence()) {
        for (const auto& d : v) e.devices.push_back(parse_uint(source, d, "a GPU index"));
      } else {
        bad(source, v, "devices must be 'all' or a list of GPU indexes");
      }
    } else if (key == "mig-enabled") {
      have_enabled = true;
      e.mig_enabled = parse_bool(source, v, "mig-enabled");
    } else if (key == "mig-devices") {
      have_mig_devices = true;
      if (v.IsNull()) continue;
      if (!v.IsMap()) bad(source, v, "mig-devices must be a map of profile name to count");
      unsigned total = 0;
      for (const auto& d : v) {
        std::string name =
            yaml::key(source, d.first, fmt::format("mig-devices of config '{}'", label));
        const unsigned count = parse_uint(source, d.second, fmt::format("the count of {}", name));
        if (count > kMaxMigDevicesPerGpu)
          bad(source, d.second,
              fmt::format("the count of {} is {}; a GPU holds at most {} MIG devices", name, count,
                          kMaxMigDevicesPerGpu));
        total += count;
        e.mig_devices.emplace_back(std::move(name), count);
      }
      if (total > kMaxMigDevicesPerGpu)
        bad(source, v,
            fmt::format("config '{}' asks for {} MIG devices; a GPU holds at most {}", label, total,
                        kMaxMigDevicesPerGpu));
    } else {
      bad(source, kv.first,
          fmt::format("unknown field '{}' in config '{}' (expected device-filter, devices, "
                      "mig-enabled, mig-devices)",
                      key, label));
    }
  }
  if (!have_devices)
    bad(source, node, fmt::format("config '{}': an entry has no 'devices'", label));
  if (!have_enabled)
    bad(source, node, fmt::format("config '{}': an entry has no 'mig-enabled'", label));
  if (e.mig_enabled) {
    if (!have_mig_devices)
      bad(source, node,
          fmt::format("config '{}': mig-enabled is true but there is no 'mig-devices'", label));
    if (!e.mig_devices.empty() && std::all_of(e.mig_devices.begin(), e.mig_devices.end(),
                                              [](const auto& d) { return d.second == 0; }))
      bad(source, node, fmt::format("config '{}': all counts in mig-devices are 0", label));
  } else if (!e.mig_devices.empty()) {
    bad(source, node,
        fmt::format("config '{}': mig-devices must be empty when mig-enabled is false", label));
  }
  return e;
}

uint32_t parse_hex(const std::string& s, bool& ok) {
  std::string_view v = s;
  if (v.starts_with("0x") || v.starts_with("0X")) v.remove_prefix(2);
  uint32_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out, 16);
  ok = ec == std::errc() && p == v.data() + v.size() && !v.empty();
  return out;
}

// "1c.3g.40gb" -> {1, "3g.40gb"}; "3g.40gb" -> {0, "3g.40gb"}.
std::pair<uint32_t, std::string> split_ci(std::string_view name) {
  if (name.starts_with("MIG ")) name.remove_prefix(4);
  size_t c = name.find("c.");
  if (c != std::string_view::npos && c > 0 &&
      std::all_of(name.begin(), name.begin() + static_cast<long>(c),
                  [](char ch) { return ch >= '0' && ch <= '9'; })) {
    uint32_t slices = 0;
    std::from_chars(name.data(), name.data() + c, slices);
    return {slices, std::string(name.substr(c + 2))};
  }
  return {0, std::string(name)};
}

std::string known_names(const ProfileTable& table) {
  std::string out;
  for (const GiProfile& p : table.gi)
    out += fmt::format("{}{}", out.empty() ? "" : ", ", p.short_name());
  return out;
}

}  // namespace

MigPartedConfig parse_mig_parted(const std::string& text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw_invalid(fmt::format("{}: not a YAML file: {}", source, e.what()));
  }
  if (!root.IsMap())
    throw_invalid(
        fmt::format("{}: not a mig-parted config (expected a map with 'version: v1' "
                    "and 'mig-configs')",
                    source));
  MigPartedConfig out;
  bool have_version = false, have_configs = false;
  for (const auto& kv : root) {
    const std::string key = yaml::key(source, kv.first, "the file");
    if (key == "version") {
      have_version = true;
      if (!kv.second.IsScalar() || kv.second.Scalar() != "v1")
        bad(source, kv.second,
            fmt::format("unsupported version '{}' (gpuvm reads mig-parted's version v1)",
                        kv.second.IsScalar() ? kv.second.Scalar() : "?"));
    } else if (key == "mig-configs") {
      have_configs = true;
      if (!kv.second.IsMap()) bad(source, kv.second, "mig-configs must be a map of names");
      for (const auto& c : kv.second) {
        const std::string label = yaml::key(source, c.first, "mig-configs");
        if (!c.second.IsSequence() || c.second.size() == 0)
          bad(source, c.second, fmt::format("config '{}' must be a non-empty list", label));
        std::vector<MigConfigEntry> entries;
        for (const auto& e : c.second) entries.push_back(parse_entry(source, label, e));
        out.configs[label] = std::move(entries);
      }
    } else {
      bad(source, kv.first, fmt::format("unknown top-level field '{}'", key));
    }
  }
  if (!have_version)
    throw_invalid(fmt::format("{}: no 'version' (expected 'version: v1')", source));
  if (!have_configs || out.configs.empty())
    throw_invalid(fmt::format("{}: no configs under 'mig-configs'", source));
  return out;
}

const std::vector<MigConfigEntry>& select_config(const MigPartedConfig& config,
                                                 const std::string& name,
                                                 const std::string& source) {
  if (name.empty()) {
    if (config.configs.size() == 1) return config.configs.begin()->second;
    std::string names;
    for (const auto& [n, e] : config.configs)
      names += fmt::format("{}{}", names.empty() ? "" : ", ", n);
    throw_invalid(fmt::format("{} has {} configs; choose one with -c ({})", source,
                              config.configs.size(), names));
  }
  auto it = config.configs.find(name);
  if (it == config.configs.end()) {
    std::string names;
    for (const auto& [n, e] : config.configs)
      names += fmt::format("{}{}", names.empty() ? "" : ", ", n);
    throw_invalid(fmt::format("{} has no config named '{}' (it has: {})", source, name, names));
  }
  return it->second;
}

bool device_filter_matches(const std::vector<std::string>& filters, uint32_t pci_device_id,
                           uint32_t pci_subsystem_id) {
  if (filters.empty()) return true;
  for (const std::string& f : filters) {
    std::string dev = f, sub;
    if (size_t colon = f.find(':'); colon != std::string::npos) {
      dev = f.substr(0, colon);
      sub = f.substr(colon + 1);
    }
    bool ok = false;
    uint32_t want = parse_hex(dev, ok);
    if (!ok) throw_invalid(fmt::format("device-filter '{}' is not of the form 0xDDDDVVVV", f));
    if (want != pci_device_id) continue;
    if (!sub.empty()) {
      uint32_t want_sub = parse_hex(sub, ok);
      if (!ok) throw_invalid(fmt::format("device-filter '{}': bad subsystem part", f));
      if (want_sub != pci_subsystem_id) continue;
    }
    return true;
  }
  return false;
}

std::vector<GiSpec> specs_for(const ProfileTable& table,
                              const std::vector<std::pair<std::string, unsigned>>& mig_devices,
                              const std::string& gpu) {
  std::vector<GiSpec> out;
  // Sub-GI compute instances per GI profile, packed after the whole-GI ones.
  std::map<uint32_t, std::vector<uint32_t>> partial;
  std::vector<uint32_t> partial_order;
  for (const auto& [name, count] : mig_devices) {
    auto [c, gi_name] = split_ci(name);
    const GiProfile* p = table.find_name(gi_name);
    if (p == nullptr)
      throw_invalid(fmt::format("unknown MIG profile '{}' for {} (it has: {})", name, gpu,
                                known_names(table)));
    if (c != 0 && (c > p->slice_count || !(c == p->slice_count || 2 * c <= p->slice_count + 1)))
      throw_invalid(
          fmt::format("MIG profile '{}': a {}-slice GPU instance has no {}-slice "
                      "compute instance",
                      name, p->slice_count, c));
    if (c == 0 || c == p->slice_count) {
      for (unsigned i = 0; i < count; ++i) out.push_back({p->id, {p->slice_count}});
    } else {
      if (!partial.count(p->id)) partial_order.push_back(p->id);
      for (unsigned i = 0; i < count; ++i) partial[p->id].push_back(c);
    }
  }
  for (uint32_t id : partial_order) {
    const GiProfile* p = table.find_id(id);
    std::vector<uint32_t>& cis = partial[id];
    std::sort(cis.rbegin(), cis.rend());
    // First-fit decreasing into GPU instances of p->slice_count compute slices.
    std::vector<GiSpec> bins;
    std::vector<uint32_t> room;
    for (uint32_t c : cis) {
      size_t b = 0;
      while (b < bins.size() && room[b] < c) ++b;
      if (b == bins.size()) {
        bins.push_back({id, {}});
        room.push_back(p->slice_count);
      }
      bins[b].ci_slices.push_back(c);
      room[b] -= c;
    }
    out.insert(out.end(), bins.begin(), bins.end());
  }
  return out;
}

namespace {

std::string device_name(const GiProfile& p, uint32_t ci_slices) {
  return ci_slices == p.slice_count ? p.short_name()
                                    : fmt::format("{}c.{}", ci_slices, p.short_name());
}

}  // namespace

std::map<std::string, unsigned> device_counts(const ProfileTable& table,
                                              const std::vector<GpuInstance>& instances) {
  std::map<std::string, unsigned> out;
  for (const GpuInstance& gi : instances) {
    const GiProfile* p = table.find_id(gi.profile_id);
    std::string gname = p ? p->short_name() : fmt::format("profile {}", gi.profile_id);
    if (gi.compute_instances.empty()) ++out[gname + " (no compute instance)"];
    for (const ComputeInstance& ci : gi.compute_instances)
      ++out[p ? device_name(*p, ci.slice_count) : gname];
  }
  return out;
}

std::map<std::string, unsigned> device_counts(
    const ProfileTable& table, const std::vector<std::pair<std::string, unsigned>>& mig_devices) {
  std::map<std::string, unsigned> out;
  for (const auto& [name, count] : mig_devices) {
    if (count == 0) continue;
    auto [c, gi_name] = split_ci(name);
    const GiProfile* p = table.find_name(gi_name);
    out[p ? device_name(*p, c == 0 ? p->slice_count : c) : name] += count;
  }
  return out;
}

}  // namespace gpuvm::mig
