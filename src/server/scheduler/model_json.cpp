#include "server/scheduler/model_json.h"

#include <fmt/format.h>

#include <cstdint>
#include <map>
#include <set>

#include "core/error.h"
#include "server/scheduler/model_json_value.h"

namespace gpuvm::server {

using nlohmann::json;

namespace {

// Parsed, JSON costs far more than its text: an array or object is a heap
// node per value (nlohmann::json: 16 bytes, a std::map node of ~96 per
// member), and "[[[[..." is one allocation per byte, recursed into. A scan of
// the text (no allocation) bounds nesting and the number of values before
// the parser sees it, so that one 1 MiB body costs at most a few MB parsed.
constexpr size_t kMaxJsonDepth = 32;
constexpr size_t kMaxJsonValues = 65536;

void check_json_shape(std::string_view text, const char* what) {
  size_t depth = 0, values = 1;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > kMaxJsonDepth)
          throw_invalid(fmt::format("{}: JSON nested deeper than {} levels", what, kMaxJsonDepth));
        ++values;
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      case ',':
        if (++values > kMaxJsonValues)
          throw_invalid(
              fmt::format("{}: more than {} JSON values in one document", what, kMaxJsonValues));
        break;
      default:
        break;
    }
  }
}

json parse(std::string_view text, const char* what) {
  check_json_shape(text, what);
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw_invalid(fmt::format("{}: malformed JSON", what));
  if (!j.is_object()) throw_invalid(fmt::format("{}: expected a JSON object", what));
  return j;
}

std::string get_string(const json& o, const char* key, const std::string& where,
                       bool required = false) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) {
    if (required) throw_invalid(fmt::format("{}: field '{}' is required", where, key));
    return {};
  }
  if (!it->is_string()) throw_invalid(fmt::format("{}: field '{}' must be a string", where, key));
  return it->get<std::string>();
}

uint64_t get_uint(const json& o, const char* key, const std::string& where, uint64_t dflt = 0,
                  uint64_t max = UINT32_MAX) {
  auto it = o.find(key);
  if (it == o.end()) return dflt;
  if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<int64_t>() >= 0))
    throw_invalid(fmt::format("{}: field '{}' must be a non-negative integer", where, key));
  uint64_t v = it->get<uint64_t>();
  if (v > max) throw_invalid(fmt::format("{}: field '{}' is larger than {}", where, key, max));
  return v;
}

bool get_bool(const json& o, const char* key, const std::string& where) {
  auto it = o.find(key);
  if (it == o.end()) return false;
  if (!it->is_boolean())
    throw_invalid(fmt::format("{}: field '{}' must be true or false", where, key));
  return it->get<bool>();
}

const json& get_array(const json& o, const char* key, const std::string& where, size_t max) {
  static const json empty = json::array();
  auto it = o.find(key);
  if (it == o.end()) return empty;
  if (!it->is_array()) throw_invalid(fmt::format("{}: field '{}' must be an array", where, key));
  if (it->size() > max)
    throw_invalid(fmt::format("{}: field '{}' has more than {} entries", where, key, max));
  return *it;
}

const json& get_object(const json& o, const char* key, const std::string& where) {
  static const json empty = json::object();
  auto it = o.find(key);
  if (it == o.end()) return empty;
  if (!it->is_object()) throw_invalid(fmt::format("{}: field '{}' must be an object", where, key));
  return *it;
}

// The probe's emission order (reference/opennebula.md §1 "Output format").
constexpr const char* kOneOrder[] = {
    "TYPE",      "VENDOR",        "VENDOR_NAME", "DEVICE",    "CLASS",       "CLASS_NAME",
    "ADDRESS",   "SHORT_ADDRESS", "DOMAIN",      "BUS",       "SLOT",        "FUNCTION",
    "NUMA_NODE", "IFNAME",        "SRIOV",       "SRIOV_NUM", "DEVICE_NAME", "UUID",
    "PROFILES",  "MDEV_MODE",     "PHYSFN",      "VMID"};

std::map<std::string, std::string> one_fields(const PciDevice& d, int64_t vmid) {
  std::map<std::string, std::string> f{{"TYPE", d.type()},
                                       {"VENDOR", d.vendor},
                                       {"VENDOR_NAME", d.vendor_name},
                                       {"DEVICE", d.device},
                                       {"CLASS", d.class_id},
                                       {"CLASS_NAME", d.class_name},
                                       {"ADDRESS", d.address},
                                       {"SHORT_ADDRESS", d.short_address},
                                       {"DOMAIN", d.domain()},
                                       {"BUS", d.bus()},
                                       {"SLOT", d.slot()},
                                       {"FUNCTION", d.function()},
                                       {"NUMA_NODE", d.numa_node},
                                       {"DEVICE_NAME", d.device_name},
                                       {"VMID", std::to_string(vmid)}};
  // IFNAME, SRIOV, SRIOV_NUM and PHYSFN only where the host reported them.
  for (auto [k, v] : {std::pair{"IFNAME", &d.ifname},
                      {"SRIOV", &d.sriov},
                      {"SRIOV_NUM", &d.sriov_num},
                      {"PHYSFN", &d.physfn}})
    if (!v->empty()) f[k] = *v;
  // An NVIDIA VF has all three, as the probe prints them (PROFILES may be "").
  if (!d.mdev_mode.empty()) {
    f["UUID"] = d.uuid;
    f["PROFILES"] = d.profiles;
    f["MDEV_MODE"] = d.mdev_mode;
  }
  return f;
}

std::map<std::string, int64_t> vmid_by_device(const std::vector<Allocation>& allocs) {
  std::map<std::string, int64_t> m;
  for (const auto& a : allocs)
    if (!a.device.empty())
      m[a.device] = a.vm_id;
    else if (!a.gpu.empty() && a.kind == AllocKind::kPassthrough)
      m[a.gpu] = a.vm_id;
  return m;
}

}  // namespace

void reject_unknown_fields(const json& obj, std::initializer_list<const char*> allowed,
                           const std::string& where) {
  for (const auto& [k, v] : obj.items()) {
    bool ok = false;
    for (const char* a : allowed) ok |= (k == a);
    if (!ok) {
      std::string list;
      for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      throw_invalid(fmt::format("{}: unknown field '{}' (expected one of: {})", where,
                                k.substr(0, 64), list));
    }
  }
}

HostInventory parse_host_inventory(std::string_view text) {
  json j = parse(text, "host");
  reject_unknown_fields(j, {"name", "pci_devices", "gpus", "check"}, "host");
  HostInventory inv;
  inv.name = get_string(j, "name", "host", true);
  std::string where = "host " + inv.name.substr(0, 64);
  for (const json& p : get_array(j, "pci_devices", where, 4096)) {
    std::string w = where + ": pci_devices[]";
    if (!p.is_object()) throw_invalid(w + ": expected an object");
    reject_unknown_fields(
        p, {"ADDRESS",     "SHORT_ADDRESS", "VENDOR",     "DEVICE",   "CLASS",     "TYPE",
            "VENDOR_NAME", "DEVICE_NAME",   "CLASS_NAME", "DOMAIN",   "BUS",       "SLOT",
            "FUNCTION",    "NUMA_NODE",     "UUID",       "PROFILES", "MDEV_MODE", "SRIOV",
            "SRIOV_NUM",   "IFNAME",        "PHYSFN",     "VMID"},
        w);
    PciDevice d;
    d.address = get_string(p, "ADDRESS", w, true);
    w = where + ": device " + d.address.substr(0, 32);
    d.short_address = get_string(p, "SHORT_ADDRESS", w, true);
    d.vendor = get_string(p, "VENDOR", w, true);
    d.device = get_string(p, "DEVICE", w, true);
    d.class_id = get_string(p, "CLASS", w, true);
    d.vendor_name = get_string(p, "VENDOR_NAME", w);
    d.device_name = get_string(p, "DEVICE_NAME", w);
    d.class_name = get_string(p, "CLASS_NAME", w);
    d.numa_node = get_string(p, "NUMA_NODE", w);
    if (d.numa_node.empty()) d.numa_node = "-";
    d.uuid = get_string(p, "UUID", w);
    d.profiles = get_string(p, "PROFILES", w);
    d.mdev_mode = get_string(p, "MDEV_MODE", w);
    d.sriov = get_string(p, "SRIOV", w);
    d.sriov_num = get_string(p, "SRIOV_NUM", w);
    d.ifname = get_string(p, "IFNAME", w);
    d.physfn = get_string(p, "PHYSFN", w);
    // TYPE, DOMAIN...FUNCTION are derived from the fields above; VMID is
    // the server's to decide, never the host's.
    if (auto t = get_string(p, "TYPE", w); !t.empty() && t != d.type())
      throw_invalid(
          fmt::format("{}: TYPE '{}' disagrees with VENDOR:DEVICE:CLASS {}", w, t, d.type()));
    inv.pci.push_back(std::move(d));
  }
  for (const json& g : get_array(j, "gpus", where, 256)) {
    std::string w = where + ": gpus[]";
    if (!g.is_object()) throw_invalid(w + ": expected an object");
    reject_unknown_fields(g, {"address", "model", "framebuffer_mb", "mig", "vgpu"}, w);
    Gpu gpu;
    gpu.address = get_string(g, "address", w, true);
    w = where + ": GPU " + gpu.address.substr(0, 32);
    gpu.model = get_string(g, "model", w);
    gpu.framebuffer_mb = get_uint(g, "framebuffer_mb", w, 0, 1ull << 40);
    const json& mig = get_object(g, "mig", w);
    reject_unknown_fields(
        mig, {"enabled", "memory_slices", "compute_slices", "profiles", "instances"}, w + ": mig");
    gpu.mig_enabled = get_bool(mig, "enabled", w + ": mig");
    gpu.mig.memory_slices =
        static_cast<uint32_t>(get_uint(mig, "memory_slices", w + ": mig", 8, 64));
    gpu.mig.compute_slices =
        static_cast<uint32_t>(get_uint(mig, "compute_slices", w + ": mig", 7, 64));
    for (const json& p : get_array(mig, "profiles", w + ": mig", 64)) {
      std::string pw = w + ": mig.profiles[]";
      if (!p.is_object()) throw_invalid(pw + ": expected an object");
      reject_unknown_fields(
          p, {"name", "id", "compute_slices", "memory_slices", "max_count", "placements"}, pw);
      MigProfile mp;
      mp.name = get_string(p, "name", pw, true);
      mp.id = static_cast<uint32_t>(get_uint(p, "id", pw));
      mp.compute_slices = static_cast<uint32_t>(get_uint(p, "compute_slices", pw, 0, 64));
      mp.memory_slices = static_cast<uint32_t>(get_uint(p, "memory_slices", pw, 0, 64));
      mp.max_count = static_cast<uint32_t>(get_uint(p, "max_count", pw, 0, 64));
      for (const json& s : get_array(p, "placements", pw, 64)) {
        if (!s.is_number_unsigned())
          throw_invalid(pw + ": placements must be non-negative integers");
        mp.starts.push_back(s.get<uint32_t>() > 64 ? 64 : s.get<uint32_t>());
      }
      gpu.mig.profiles.push_back(std::move(mp));
    }
    for (const json& i : get_array(mig, "instances", w + ": mig", 64)) {
      std::string iw = w + ": mig.instances[]";
      if (!i.is_object()) throw_invalid(iw + ": expected an object");
      reject_unknown_fields(i, {"profile", "start"}, iw);
      gpu.mig_instances.push_back({get_string(i, "profile", iw, true),
                                   static_cast<uint32_t>(get_uint(i, "start", iw, 0, 64))});
    }
    const json& vgpu = get_object(g, "vgpu", w);
    reject_unknown_fields(vgpu, {"heterogeneous", "types", "devices"}, w + ": vgpu");
    gpu.heterogeneous = get_bool(vgpu, "heterogeneous", w + ": vgpu");
    for (const json& t : get_array(vgpu, "types", w + ": vgpu", 512)) {
      std::string tw = w + ": vgpu.types[]";
      if (!t.is_object()) throw_invalid(tw + ": expected an object");
      reject_unknown_fields(t, {"name", "id", "max_instances", "framebuffer_mb", "mig_profile"},
                            tw);
      VgpuType vt;
      vt.name = get_string(t, "name", tw, true);
      vt.id = static_cast<uint32_t>(get_uint(t, "id", tw));
      vt.max_instances = static_cast<uint32_t>(get_uint(t, "max_instances", tw, 0, 4096));
      vt.framebuffer_mb = get_uint(t, "framebuffer_mb", tw, 0, 1ull << 40);
      vt.mig_profile = get_string(t, "mig_profile", tw);
      gpu.vgpu_types.push_back(std::move(vt));
    }
    for (const json& v : get_array(vgpu, "devices", w + ": vgpu", 4096)) {
      std::string vw = w + ": vgpu.devices[]";
      if (!v.is_object()) throw_invalid(vw + ": expected an object");
      reject_unknown_fields(v, {"device", "type"}, vw);
      gpu.vgpus.push_back({get_string(v, "device", vw, true), get_string(v, "type", vw)});
    }
    inv.gpus.push_back(std::move(gpu));
  }
  if (j.contains("check")) inv.check = parse_host_check(j.at("check"), where + ": check");
  validate(inv);
  return inv;
}

HostCheck parse_host_check(const json& c, const std::string& where) {
  if (!c.is_object()) throw_invalid(where + ": expected an object");
  // The document `gpuvm check --format json --record` writes (docs/check.md).
  reject_unknown_fields(c, {"status", "summary", "checked_at_ms", "results"}, where);
  auto status = [](const std::string& s, const std::string& w) {
    if (s != "ok" && s != "warn" && s != "fail")
      throw_invalid(w + ": field 'status' must be ok, warn or fail");
    return s;
  };
  auto bounded = [](std::string s, const std::string& w, const char* key) {
    if (s.size() > 4096) throw_invalid(fmt::format("{}: field '{}' is longer than 4096", w, key));
    return s;
  };
  HostCheck h;
  h.status = status(get_string(c, "status", where, true), where);
  h.checked_at_ms = static_cast<int64_t>(get_uint(c, "checked_at_ms", where, 0, INT64_MAX));
  for (const json& r : get_array(c, "results", where, 1024)) {
    const std::string w = where + ": results[]";
    if (!r.is_object()) throw_invalid(w + ": expected an object");
    reject_unknown_fields(r, {"id", "gpu", "status", "seen", "fix"}, w);
    HostCheckResult x;
    x.id = bounded(get_string(r, "id", w, true), w, "id");
    x.gpu = bounded(get_string(r, "gpu", w), w, "gpu");
    x.status = status(get_string(r, "status", w, true), w);
    x.seen = bounded(get_string(r, "seen", w), w, "seen");
    x.fix = bounded(get_string(r, "fix", w), w, "fix");
    h.results.push_back(std::move(x));
  }
  return h;
}

json host_check_value(const HostCheck& h) {
  json results = json::array();
  for (const auto& r : h.results) {
    json o{{"id", r.id}, {"status", r.status}, {"seen", r.seen}};
    if (!r.gpu.empty()) o["gpu"] = r.gpu;
    if (!r.fix.empty()) o["fix"] = r.fix;
    results.push_back(std::move(o));
  }
  return {{"status", h.status}, {"checked_at_ms", h.checked_at_ms}, {"results", results}};
}

json host_inventory_value(const HostInventory& inv) {
  json pci = json::array();
  for (const auto& d : inv.pci) {
    json o;
    for (const auto& [k, v] : one_fields(d, -1))
      if (k != "VMID") o[k] = v;
    pci.push_back(std::move(o));
  }
  json gpus = json::array();
  for (const auto& g : inv.gpus) {
    json profiles = json::array();
    for (const auto& p : g.mig.profiles)
      profiles.push_back({{"name", p.name},
                          {"id", p.id},
                          {"compute_slices", p.compute_slices},
                          {"memory_slices", p.memory_slices},
                          {"max_count", p.max_count},
                          {"placements", p.starts}});
    json instances = json::array();
    for (const auto& i : g.mig_instances)
      instances.push_back({{"profile", i.profile}, {"start", i.start}});
    json types = json::array();
    json devices = json::array();
    for (const auto& v : g.vgpus) devices.push_back({{"device", v.device}, {"type", v.type}});
    for (const auto& t : g.vgpu_types)
      types.push_back({{"name", t.name},
                       {"id", t.id},
                       {"max_instances", t.max_instances},
                       {"framebuffer_mb", t.framebuffer_mb},
                       {"mig_profile", t.mig_profile}});
    gpus.push_back(
        {{"address", g.address},
         {"model", g.model},
         {"framebuffer_mb", g.framebuffer_mb},
         {"mig",
          {{"enabled", g.mig_enabled},
           {"memory_slices", g.mig.memory_slices},
           {"compute_slices", g.mig.compute_slices},
           {"profiles", profiles},
           {"instances", instances}}},
         {"vgpu", {{"heterogeneous", g.heterogeneous}, {"types", types}, {"devices", devices}}}});
  }
  json out = {{"name", inv.name}, {"pci_devices", pci}, {"gpus", gpus}};
  if (inv.check) out["check"] = host_check_value(*inv.check);
  return out;
}

std::string to_json(const HostInventory& inv) {
  return host_inventory_value(inv).dump();
}

VmRequest parse_vm_request(std::string_view text, std::string* vm_name) {
  json j = parse(text, "VM");
  reject_unknown_fields(j, {"name", "numa", "pci"}, "VM");
  VmRequest req;
  std::string name = get_string(j, "name", "VM", true);
  if (name.empty() || name.size() > 128) throw_invalid("VM: name must be 1 to 128 characters");
  for (char c : name)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      throw_invalid("VM: name has control characters");
  if (vm_name) *vm_name = name;
  std::string numa = get_string(j, "numa", "VM");
  if (!numa.empty()) req.numa = parse_numa_policy(numa);
  for (const json& p : get_array(j, "pci", "VM " + name, 64)) {
    std::string w = "VM " + name + ": pci[]";
    if (!p.is_object()) throw_invalid(w + ": expected an object");
    reject_unknown_fields(
        p, {"VENDOR", "DEVICE", "CLASS", "SHORT_ADDRESS", "PROFILE", "MIG_PROFILE", "VGPU_TYPE"},
        w);
    PciRequest r;
    r.vendor = get_string(p, "VENDOR", w);
    r.device = get_string(p, "DEVICE", w);
    r.class_id = get_string(p, "CLASS", w);
    r.short_address = get_string(p, "SHORT_ADDRESS", w);
    r.profile = get_string(p, "PROFILE", w);
    r.mig_profile = get_string(p, "MIG_PROFILE", w);
    r.vgpu_type = get_string(p, "VGPU_TYPE", w);
    req.pci.push_back(std::move(r));
  }
  validate(req);
  return req;
}

json vm_request_value(const VmRequest& req) {
  json pci = json::array();
  for (const auto& r : req.pci) {
    json o = json::object();
    for (auto [k, v] : {std::pair{"VENDOR", &r.vendor},
                        {"DEVICE", &r.device},
                        {"CLASS", &r.class_id},
                        {"SHORT_ADDRESS", &r.short_address},
                        {"PROFILE", &r.profile},
                        {"MIG_PROFILE", &r.mig_profile},
                        {"VGPU_TYPE", &r.vgpu_type}})
      if (!v->empty()) o[k] = *v;
    pci.push_back(std::move(o));
  }
  return {{"numa", numa_policy_name(req.numa)}, {"pci", pci}};
}

std::string to_json(const VmRequest& req) {
  json j = vm_request_value(req);
  j["name"] = "-";  // the store keeps the name in its own column
  return j.dump();
}

json allocation_value(const Allocation& a) {
  return {{"vm_id", a.vm_id},         {"request_index", a.request_index},
          {"host", a.host},           {"kind", alloc_kind_name(a.kind)},
          {"device", a.device},       {"gpu", a.gpu},
          {"vgpu_type", a.vgpu_type}, {"mig_profile", a.mig_profile},
          {"mig_start", a.mig_start}, {"numa_node", a.numa_node}};
}

std::string to_json(const Allocation& a) {
  return allocation_value(a).dump();
}

namespace {

// A signed integer field in [lo, hi], `dflt` when absent: kInvalidArgument
// naming the field for another type (nlohmann's value() would throw its own
// type_error, which is no gpuvm::Error).
int64_t get_int(const json& o, const char* key, const std::string& where, int64_t dflt, int64_t lo,
                int64_t hi) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return dflt;
  if (!it->is_number_integer())
    throw_invalid(fmt::format("{}: field '{}' must be an integer", where, key));
  const int64_t v = it->is_number_unsigned() && it->get<uint64_t>() > uint64_t(INT64_MAX)
                        ? INT64_MAX
                        : it->get<int64_t>();
  if (v < lo || v > hi)
    throw_invalid(fmt::format("{}: field '{}' must be in [{}, {}]", where, key, lo, hi));
  return v;
}

}  // namespace

Allocation parse_allocation(std::string_view text) {
  json j = parse(text, "allocation");
  const std::string w = "allocation";
  Allocation a;
  a.vm_id = get_int(j, "vm_id", w, -1, -1, INT64_MAX);
  a.request_index = static_cast<int>(get_int(j, "request_index", w, 0, 0, INT32_MAX));
  a.host = get_string(j, "host", w);
  std::string kind = get_string(j, "kind", w);
  a.kind = parse_alloc_kind(kind.empty() ? "passthrough" : kind);
  a.device = get_string(j, "device", w);
  a.gpu = get_string(j, "gpu", w);
  a.vgpu_type = get_string(j, "vgpu_type", w);
  a.mig_profile = get_string(j, "mig_profile", w);
  a.mig_start = static_cast<int>(get_int(j, "mig_start", w, -1, -1, INT32_MAX));
  a.numa_node = static_cast<int>(get_int(j, "numa_node", w, -1, -1, INT32_MAX));
  return a;
}

json pci_device_one_value(const PciDevice& d, int64_t vmid) {
  json o = json::object();  // nlohmann orders keys: alphabetical, as `onehost show -j`
  for (const auto& [k, v] : one_fields(d, vmid)) o[k] = v;
  return o;
}

std::string pci_devices_one_json(const HostInventory& inv, const std::vector<Allocation>& allocs) {
  auto vm = vmid_by_device(allocs);
  json pci = json::array();
  for (const auto& d : inv.pci)
    pci.push_back(pci_device_one_value(d, vm.count(d.address) ? vm[d.address] : -1));
  return json{{"PCI_DEVICES", {{"PCI", pci}}}}.dump();
}

std::string pci_devices_one_template(const HostInventory& inv,
                                     const std::vector<Allocation>& allocs) {
  auto vm = vmid_by_device(allocs);
  std::string out;
  for (const auto& d : inv.pci) {
    auto f = one_fields(d, vm.count(d.address) ? vm[d.address] : -1);
    std::vector<std::string> parts;
    for (const char* k : kOneOrder) {
      auto it = f.find(k);
      if (it == f.end()) continue;
      // Unlike ONE's probe we escape, so a quote in a name cannot break the template.
      std::string v;
      for (char c : it->second) {
        if (c == '"' || c == '\\') v += '\\';
        v += c;
      }
      parts.push_back(fmt::format(" {} = \"{}\" ", k, v));
    }
    // pci.rb's layout, so that the text diffs cleanly against the host's probe.
    out += "PCI = [\n";
    for (size_t i = 0; i < parts.size(); ++i) out += parts[i] + (i + 1 < parts.size() ? ",\n" : "");
    out += "\n]\n";
  }
  return out;
}

json command_value(const HostCommand& c) {
  json j = {{"id", c.id},
            {"host", c.host},
            {"vm_id", c.vm_id},
            {"op", command_op_name(c.op)},
            {"state", c.state},
            {"created", c.created},
            {"message", c.message},
            {"created_at_ms", c.created_at_ms},
            {"updated_at_ms", c.updated_at_ms}};
  if (c.op == CommandOp::kVgpuCreate || c.op == CommandOp::kVgpuDestroy) {
    j["device"] = c.device;
    j["vgpu_type"] = c.vgpu_type;
    j["uuid"] = c.uuid;
  } else {
    j["gpu"] = c.gpu;
    j["mig_profile"] = c.mig_profile;
    j["mig_start"] = c.mig_start;
  }
  return j;
}

std::string to_json(const CommandQueue& queue) {
  json list = json::array();
  for (const auto& c : queue.commands) list.push_back(command_value(c));
  return json{{"commands", list}, {"force_update", queue.force_update}}.dump();
}

CommandQueue parse_command_queue(std::string_view text) {
  json j = parse(text, "command list");
  CommandQueue queue;
  queue.force_update = get_bool(j, "force_update", "command list");
  std::vector<HostCommand>& out = queue.commands;
  for (const json& c : get_array(j, "commands", "command list", 100000)) {
    if (!c.is_object()) throw_invalid("command list: every command must be an object");
    // The label only: get_uint below names a bad id (value() would throw nlohmann's own).
    const auto id = c.find("id");
    const std::string w = id != c.end() && id->is_number_unsigned()
                              ? fmt::format("command {}", id->get<uint64_t>())
                              : std::string("command");
    HostCommand h;
    h.id = static_cast<int64_t>(get_uint(c, "id", w, 0, INT64_MAX));
    h.host = get_string(c, "host", w);
    h.vm_id = static_cast<int64_t>(get_uint(c, "vm_id", w, 0, INT64_MAX));
    h.op = parse_command_op(get_string(c, "op", w, true));
    h.state = get_string(c, "state", w);
    h.created = get_bool(c, "created", w);
    h.message = get_string(c, "message", w);
    h.device = get_string(c, "device", w);
    h.vgpu_type = get_string(c, "vgpu_type", w);
    h.uuid = get_string(c, "uuid", w);
    h.gpu = get_string(c, "gpu", w);
    h.mig_profile = get_string(c, "mig_profile", w);
    h.mig_start = c.contains("mig_start") && c["mig_start"].is_number_integer()
                      ? c["mig_start"].get<int>()
                      : -1;
    out.push_back(std::move(h));
  }
  return queue;
}

CommandResult parse_command_result(std::string_view text) {
  json j = parse(text, "command result");
  reject_unknown_fields(j, {"ok", "created", "message"}, "command result");
  if (!j.contains("ok")) throw_invalid("command result: field 'ok' is required");
  CommandResult r;
  r.ok = get_bool(j, "ok", "command result");
  r.created = get_bool(j, "created", "command result");
  r.message = get_string(j, "message", "command result");
  if (r.message.size() > 4096) r.message.resize(4096);  // a report, not a log dump
  return r;
}

std::string to_json(const CommandResult& r) {
  return json{{"ok", r.ok}, {"created", r.created}, {"message", r.message}}.dump();
}

json capacity_value(const std::vector<GpuCapacity>& caps, const HostInventory& inv) {
  json out = json::array();
  for (const auto& c : caps) {
    const Gpu* g = inv.find_gpu(c.address);
    // Sizes in memory slices come from the host's profile table, so a client
    // draws the board without guessing from profile names; 0 = not reported.
    auto slices_of = [&](const std::string& profile) -> uint32_t {
      const MigProfile* p = g ? g->mig.find(profile) : nullptr;
      return p ? p->memory_slices : 0;
    };
    json instances = json::array();
    json profile_slices = json::object();
    json vgpus = json::array();
    if (g) {
      for (const auto& i : g->mig_instances)
        instances.push_back(
            {{"profile", i.profile}, {"start", i.start}, {"memory_slices", slices_of(i.profile)}});
      for (const auto& p : g->mig.profiles)
        if (p.memory_slices) profile_slices[p.name] = p.memory_slices;
      for (const auto& v : g->vgpus) vgpus.push_back({{"device", v.device}, {"type", v.type}});
    }
    out.push_back({{"address", c.address},
                   {"model", g ? g->model : ""},
                   {"mig_enabled", g && g->mig_enabled},
                   {"whole_free", c.whole_free},
                   // The board's size; 0 for a GPU without MIG profiles.
                   {"mig_memory_slices", g && !g->mig.profiles.empty() ? g->mig.memory_slices : 0},
                   {"free_memory_slices", c.free_memory_slices},
                   {"mig_profile_slices", profile_slices},
                   {"mig_instances", instances},
                   {"mig_free", c.mig_free},
                   {"vgpu_free", c.vgpu_free},
                   {"vgpus", vgpus},
                   {"vfs_total", c.vfs_total},
                   {"vfs_free", c.vfs_free}});
  }
  return out;
}

std::string to_json(const std::vector<GpuCapacity>& caps, const HostInventory& inv) {
  return capacity_value(caps, inv).dump();
}

}  // namespace gpuvm::server
