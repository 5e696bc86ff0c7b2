// OpenNebula's monitoring template, as pci.rb (OpenNebula 7.4,
// src/im_mad/remotes/node-probes.d/pci.rb) prints it. Rules: docs/probe.md.
#include <fmt/format.h>

#include "core/uuid.h"
#include "pci/output.h"

namespace gpuvm::pci {
namespace {

// Ruby's String#strip: ASCII whitespace and NUL.
std::string_view ruby_strip(std::string_view s) {
  auto ws = [](char c) { return c == ' ' || (c >= '\t' && c <= '\r') || c == '\0'; };
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  return s;
}

bool ascii_iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 32);
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 32);
    if (x != y) return false;
  }
  return true;
}

// ` NAME = "value" `, the value escaped (pci.rb does not escape; see docs).
void field(std::string& out, bool& first, std::string_view name, std::string_view value) {
  if (!first) out += ",\n";
  first = false;
  out += ' ';
  out += name;
  out += " = \"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += "\" ";
}

void write_block(std::string& out, const OneFields& f) {
  bool first = true;
  out += "PCI = [\n";
  for (auto [name, value] : f.ordered()) field(out, first, name, value);
  out += "\n]\n";
}

}  // namespace

std::vector<std::string> one_nvidia_profiles(const std::optional<std::string>& text) {
  std::vector<std::string> out;
  if (!text) return out;  // File.read raised: rescue gives []
  std::string_view rest = *text;
  while (!rest.empty()) {
    // each_line: the line with its "\n".
    size_t nl = rest.find('\n');
    std::string_view line = nl == std::string_view::npos ? rest : rest.substr(0, nl + 1);
    rest.remove_prefix(line.size());
    // id, name = line.split(':'): the first two fields; Ruby drops trailing
    // empty fields, so "588 :" has no name. A missing name raises in strip!,
    // and the rescue turns the whole list into [].
    size_t c1 = line.find(':');
    if (c1 == std::string_view::npos) return {};
    std::string_view id = line.substr(0, c1);
    std::string_view after = line.substr(c1 + 1);
    size_t c2 = after.find(':');
    std::string_view name = c2 == std::string_view::npos ? after : after.substr(0, c2);
    if (name.empty()) {
      // An empty second field survives split only when a non-empty one follows.
      std::string_view tail = c2 == std::string_view::npos ? std::string_view() : after.substr(c2);
      if (tail.find_first_not_of(':') == std::string_view::npos) return {};
    }
    id = ruby_strip(id);
    name = ruby_strip(name);
    if (id.empty() || ascii_iequals(id, "ID") || name.empty()) continue;
    out.push_back(fmt::format("{} ({})", id, name));
  }
  return out;
}

OneView one_view(const Device& d, const Selection& sel) {
  OneView v;
  bool nvidia = sel.is_nvidia(d);
  // Rule 4: an NVIDIA PF whose VFs exist is hidden (its VFs are listed).
  if (nvidia && !d.virtfns.empty()) v.listed = false;
  // Rule 5 (7.4): any PF with VFs enabled.
  if (d.sriov_role == SriovRole::kPf && d.sriov_numvfs.value_or(0) > 0) v.listed = false;
  if (!nvidia) {
    v.device_name = d.device_name;
  } else if (d.sriov_role != SriovRole::kVf) {
    v.device_name = d.vendor_name + " " + d.device_name;
  } else {
    v.nvidia_vf = true;
    v.device_name = "NVIDIA vGPU device";
    v.uuid = Uuid::v5_x500(d.bdf.one_address()).str();
    // Legacy: the entries of mdev_supported_types; else the vendor-specific list.
    for (const VgpuType& t : d.mdev_types) v.profiles.push_back(t.id);
    if (v.profiles.empty()) v.profiles = one_nvidia_profiles(d.creatable_vgpu_types_text);
    v.mdev_mode = d.mdev_parent ? "legacy" : "nvidia";
  }
  return v;
}

OneFields one_fields(const Device& d, const OneView& v) {
  OneFields f;
  f.vendor = fmt::format("{:04x}", d.vendor_id);
  f.device = fmt::format("{:04x}", d.device_id);
  f.class_id = fmt::format("{:04x}", d.class_code >> 8);
  f.type = f.vendor + ":" + f.device + ":" + f.class_id;
  f.vendor_name = d.vendor_name;
  f.class_name = d.class_name;
  f.address = d.bdf.one_address();
  f.short_address = lspci_slot(d.bdf);
  f.domain = fmt::format("{:04x}", d.bdf.domain);
  f.bus = fmt::format("{:02x}", d.bdf.bus);
  f.slot = fmt::format("{:02x}", d.bdf.device);
  f.function = fmt::format("{:x}", d.bdf.function);
  f.numa_node = d.numa_node ? std::to_string(*d.numa_node) : "-";
  f.ifname = d.primary_interface.value_or("-");
  switch (d.sriov_role) {
    case SriovRole::kVf:
      f.sriov = "vf";
      break;
    case SriovRole::kPf:
      f.sriov = "pf";
      f.sriov_num = std::to_string(d.sriov_numvfs.value_or(0));
      break;
    case SriovRole::kNone:
      f.sriov = "no";
      break;
  }
  f.device_name = v.device_name;
  if (v.nvidia_vf) {
    f.uuid = v.uuid;
    std::string profiles;
    for (const std::string& p : v.profiles) {
      if (!profiles.empty()) profiles += ',';
      profiles += p;
    }
    f.profiles = std::move(profiles);
    f.mdev_mode = v.mdev_mode;
  }
  return f;
}

std::vector<std::pair<std::string_view, std::string_view>> OneFields::ordered() const {
  std::vector<std::pair<std::string_view, std::string_view>> out = {
      {"TYPE", type},
      {"VENDOR", vendor},
      {"VENDOR_NAME", vendor_name},
      {"DEVICE", device},
      {"CLASS", class_id},
      {"CLASS_NAME", class_name},
      {"ADDRESS", address},
      {"SHORT_ADDRESS", short_address},
      {"DOMAIN", domain},
      {"BUS", bus},
      {"SLOT", slot},
      {"FUNCTION", function},
      {"NUMA_NODE", numa_node},
      {"IFNAME", ifname},
      {"SRIOV", sriov}};
  if (sriov_num) out.emplace_back("SRIOV_NUM", *sriov_num);
  out.emplace_back("DEVICE_NAME", device_name);
  if (uuid) out.emplace_back("UUID", *uuid);
  if (profiles) out.emplace_back("PROFILES", *profiles);
  if (mdev_mode) out.emplace_back("MDEV_MODE", *mdev_mode);
  return out;
}

std::vector<OneEntry> one_entries(const ProbeResult& result, const Selection& sel) {
  std::vector<OneEntry> out;
  auto pass = [&](const IdFilter* filter) {
    for (const Device& d : result.devices) {
      if (filter && !filter->matches(d)) continue;
      if (!sel.selects_rest(d)) continue;
      OneView v = one_view(d, sel);
      if (!v.listed) continue;
      out.push_back({&d, std::move(v)});
    }
  };
  if (!sel.filters) {
    pass(nullptr);
  } else {
    // pci.rb runs one lspci per filter and prints each result: a device that
    // two filters match is printed twice (OpenNebula keeps one per ADDRESS).
    for (const IdFilter& f : *sel.filters) pass(&f);
  }
  return out;
}

std::string format_one(const ProbeResult& result, const Selection& sel) {
  std::string out;
  out.reserve(result.devices.size() * 600);
  for (const OneEntry& e : one_entries(result, sel))
    write_block(out, one_fields(*e.device, e.view));
  return out;
}

}  // namespace gpuvm::pci
