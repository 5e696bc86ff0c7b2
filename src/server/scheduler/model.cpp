#include "server/scheduler/model.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "core/error.h"
#include "core/uuid.h"

namespace gpuvm::server {
namespace {

// ADDRESS is "DDDD:BB:SS:F" (reference/opennebula.md §1): four colon-separated
// hex fields.
std::vector<std::string> split_address(const std::string& a) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (true) {
    size_t next = a.find(':', pos);
    parts.push_back(a.substr(pos, next == std::string::npos ? std::string::npos : next - pos));
    if (next == std::string::npos) break;
    pos = next + 1;
  }
  return parts;
}

bool is_hex(const std::string& s, size_t len) {
  return s.size() == len && std::all_of(s.begin(), s.end(), [](unsigned char c) {
           return std::isdigit(c) || (c >= 'a' && c <= 'f');
         });
}

bool valid_address(const std::string& a) {
  auto p = split_address(a);
  return p.size() == 4 && is_hex(p[0], 4) && is_hex(p[1], 2) && is_hex(p[2], 2) && is_hex(p[3], 1);
}

std::string part(const std::string& address, size_t i) {
  auto p = split_address(address);
  return i < p.size() ? p[i] : std::string();
}

}  // namespace

std::string PciDevice::domain() const {
  return part(address, 0);
}
std::string PciDevice::bus() const {
  return part(address, 1);
}
std::string PciDevice::slot() const {
  return part(address, 2);
}
std::string PciDevice::function() const {
  return part(address, 3);
}

int PciDevice::numa() const {
  if (numa_node.empty() || numa_node == "-") return -1;
  int n = 0;
  for (char c : numa_node) {
    if (!std::isdigit(static_cast<unsigned char>(c)) || n > 4096) return -1;
    n = n * 10 + (c - '0');
  }
  return n;
}

const MigProfile* MigTable::find(const std::string& name) const {
  for (const auto& p : profiles)
    if (p.name == name) return &p;
  return nullptr;
}

const PciDevice* HostInventory::find_pci(const std::string& address) const {
  for (const auto& d : pci)
    if (d.address == address) return &d;
  return nullptr;
}

const Gpu* HostInventory::find_gpu(const std::string& address) const {
  for (const auto& g : gpus)
    if (g.address == address) return &g;
  return nullptr;
}

bool valid_host_name(std::string_view name) {
  return !name.empty() && name.size() <= 253 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
  });
}

void validate(const HostInventory& inv) {
  if (inv.name.empty() || inv.name.size() > 253)
    throw_invalid("host name must be 1 to 253 characters");
  if (!valid_host_name(inv.name))
    throw_invalid(
        fmt::format("host name '{}': only letters, digits, '-', '.', '_' allowed", inv.name));
  std::set<std::string> seen;
  for (const auto& d : inv.pci) {
    if (!valid_address(d.address))
      throw_invalid(fmt::format("host {}: PCI ADDRESS '{}' is not DDDD:BB:SS:F (lowercase hex)",
                                inv.name, d.address));
    if (!seen.insert(d.address).second)
      throw_invalid(fmt::format("host {}: PCI ADDRESS {} reported twice", inv.name, d.address));
    if (!is_hex(d.vendor, 4) || !is_hex(d.device, 4) || !is_hex(d.class_id, 4))
      throw_invalid(
          fmt::format("host {}: device {}: VENDOR, DEVICE and CLASS must be 4 lowercase hex digits",
                      inv.name, d.address));
    if (d.numa_node != "-" && d.numa() < 0)
      throw_invalid(fmt::format("host {}: device {}: NUMA_NODE '{}' is neither a number nor '-'",
                                inv.name, d.address, d.numa_node));
  }
  for (const auto& d : inv.pci) {
    if (d.physfn.empty()) continue;
    const PciDevice* pf = inv.find_pci(d.physfn);
    if (!pf || !pf->physfn.empty())
      throw_invalid(
          fmt::format("host {}: device {}: PHYSFN {} is not a physical function on this host",
                      inv.name, d.address, d.physfn));
  }
  std::set<std::string> gpus;
  for (const auto& g : inv.gpus) {
    const PciDevice* d = inv.find_pci(g.address);
    if (!d)
      throw_invalid(
          fmt::format("host {}: GPU {} is not among the host's PCI devices", inv.name, g.address));
    if (!d->physfn.empty())
      throw_invalid(
          fmt::format("host {}: GPU {} is a VF; GPUs are listed by their PF", inv.name, g.address));
    if (!gpus.insert(g.address).second)
      throw_invalid(fmt::format("host {}: GPU {} reported twice", inv.name, g.address));
    const MigTable& t = g.mig;
    if (t.memory_slices == 0 || t.memory_slices > 64 || t.compute_slices == 0)
      throw_invalid(
          fmt::format("host {}: GPU {}: MIG table needs 1..64 memory slices and >0 compute slices",
                      inv.name, g.address));
    std::set<std::string> names;
    for (const auto& p : t.profiles) {
      if (p.name.empty() || !names.insert(p.name).second)
        throw_invalid(fmt::format("host {}: GPU {}: MIG profile name '{}' empty or repeated",
                                  inv.name, g.address, p.name));
      if (p.memory_slices == 0 || p.compute_slices == 0 || p.compute_slices > t.compute_slices ||
          p.starts.empty())
        throw_invalid(fmt::format(
            "host {}: GPU {}: MIG profile {} needs memory/compute slices and placements", inv.name,
            g.address, p.name));
      for (uint32_t s : p.starts)
        if (s + p.memory_slices > t.memory_slices)
          throw_invalid(fmt::format(
              "host {}: GPU {}: MIG profile {} placement {}:{} exceeds {} memory slices", inv.name,
              g.address, p.name, s, p.memory_slices, t.memory_slices));
    }
    for (const auto& gi : g.mig_instances) {
      const MigProfile* p = t.find(gi.profile);
      if (!p || std::find(p->starts.begin(), p->starts.end(), gi.start) == p->starts.end())
        throw_invalid(
            fmt::format("host {}: GPU {}: GPU instance {}@{} is not in the board's placement table",
                        inv.name, g.address, gi.profile, gi.start));
    }
    if (!g.mig_instances.empty() && !g.mig_enabled)
      throw_invalid(fmt::format("host {}: GPU {} reports GPU instances with MIG mode off", inv.name,
                                g.address));
    std::set<std::string> types;
    for (const auto& v : g.vgpu_types) {
      if (v.name.empty() || !types.insert(v.name).second)
        throw_invalid(fmt::format("host {}: GPU {}: vGPU type name '{}' empty or repeated",
                                  inv.name, g.address, v.name));
      if (!v.mig_profile.empty() && !t.find(v.mig_profile))
        throw_invalid(
            fmt::format("host {}: GPU {}: vGPU type {} is backed by unknown MIG profile {}",
                        inv.name, g.address, v.name, v.mig_profile));
    }
  }
}

const char* numa_policy_name(NumaPolicy p) {
  switch (p) {
    case NumaPolicy::kNone:
      return "none";
    case NumaPolicy::kPreferred:
      return "preferred";
    case NumaPolicy::kRequired:
      return "required";
  }
  return "?";
}

NumaPolicy parse_numa_policy(const std::string& text) {
  if (text == "none") return NumaPolicy::kNone;
  if (text == "preferred") return NumaPolicy::kPreferred;
  if (text == "required") return NumaPolicy::kRequired;
  throw_invalid(fmt::format("numa policy '{}': expected none, preferred or required", text));
}

void validate(const VmRequest& req) {
  if (req.pci.empty()) throw_invalid("a VM needs at least one PCI request");
  if (req.pci.size() > 64) throw_invalid("a VM may ask for at most 64 PCI devices");
  for (size_t i = 0; i < req.pci.size(); ++i) {
    const PciRequest& r = req.pci[i];
    auto bad = [&](const std::string& what) {
      throw_invalid(fmt::format("PCI request {}: {}", i, what));
    };
    for (auto [name, value] :
         {std::pair{"VENDOR", &r.vendor}, {"DEVICE", &r.device}, {"CLASS", &r.class_id}})
      if (!value->empty() && !is_hex(*value, 4))
        bad(fmt::format("{} '{}' must be 4 lowercase hex digits", name, *value));
    bool by_attr = !r.vendor.empty() || !r.device.empty() || !r.class_id.empty();
    bool by_addr = !r.short_address.empty();
    bool by_name = !r.mig_profile.empty() || !r.vgpu_type.empty();
    if (by_name && (by_attr || by_addr || !r.profile.empty()))
      bad("MIG_PROFILE/VGPU_TYPE stand alone: no VENDOR, DEVICE, CLASS, SHORT_ADDRESS or PROFILE "
          "with them");
    if (!r.mig_profile.empty() && !r.vgpu_type.empty())
      bad("give MIG_PROFILE or VGPU_TYPE, not both");
    if (by_attr && by_addr)
      bad("give SHORT_ADDRESS or VENDOR/DEVICE/CLASS, not both (as OpenNebula)");
    if (!by_attr && !by_addr && !by_name)
      bad("needs SHORT_ADDRESS, VENDOR/DEVICE/CLASS, MIG_PROFILE or VGPU_TYPE");
    for (const std::string* s : {&r.short_address, &r.profile, &r.mig_profile, &r.vgpu_type})
      if (s->size() > 128) bad("a value is longer than 128 characters");
  }
}

const char* alloc_kind_name(AllocKind k) {
  switch (k) {
    case AllocKind::kPassthrough:
      return "passthrough";
    case AllocKind::kVgpu:
      return "vgpu";
    case AllocKind::kMig:
      return "mig";
  }
  return "?";
}

AllocKind parse_alloc_kind(const std::string& text) {
  if (text == "passthrough") return AllocKind::kPassthrough;
  if (text == "vgpu") return AllocKind::kVgpu;
  if (text == "mig") return AllocKind::kMig;
  throw Error(Errc::kInternal, fmt::format("unknown allocation kind '{}' in the store", text));
}

const char* command_op_name(CommandOp op) {
  switch (op) {
    case CommandOp::kVgpuCreate:
      return "vgpu.create";
    case CommandOp::kVgpuDestroy:
      return "vgpu.destroy";
    case CommandOp::kGiCreate:
      return "gi.create";
    case CommandOp::kGiDestroy:
      return "gi.destroy";
  }
  return "?";
}

CommandOp parse_command_op(const std::string& text) {
  for (CommandOp op : {CommandOp::kVgpuCreate, CommandOp::kVgpuDestroy, CommandOp::kGiCreate,
                       CommandOp::kGiDestroy})
    if (text == command_op_name(op)) return op;
  throw_invalid(
      fmt::format("command op '{}': expected vgpu.create, vgpu.destroy, gi.create or gi.destroy",
                  text.substr(0, 32)));
}

std::vector<HostCommand> deploy_commands(const std::vector<Allocation>& allocs) {
  std::vector<HostCommand> out;
  for (const Allocation& a : allocs) {
    if (a.kind == AllocKind::kPassthrough) continue;
    HostCommand base;
    base.host = a.host;
    base.vm_id = a.vm_id;
    if (!a.mig_profile.empty()) {
      HostCommand gi = base;
      gi.op = CommandOp::kGiCreate;
      gi.gpu = a.gpu;
      gi.mig_profile = a.mig_profile;
      gi.mig_start = a.mig_start;
      out.push_back(std::move(gi));
    }
    if (a.vgpu_type.empty()) continue;  // a bare GPU instance (no VFs on this GPU)
    HostCommand v = base;
    v.op = CommandOp::kVgpuCreate;
    v.vgpu_type = a.vgpu_type;
    if (!a.device.empty()) {
      v.device = a.device;  // a VF: its UUID is OpenNebula's UUIDv5 of the address
    } else {
      // A pre-Ampere PF hosts many mdevs: this one needs a UUID of its own,
      // fixed here so that a retried command finds the device it made.
      v.device = a.gpu;
      v.uuid = Uuid::random().str();
    }
    out.push_back(std::move(v));
  }
  return out;
}

std::optional<HostCommand> undo_command(const HostCommand& done) {
  HostCommand u = done;
  u.id = 0;
  u.state = "queued";
  u.created = false;
  u.message.clear();
  switch (done.op) {
    case CommandOp::kVgpuCreate:
      u.op = CommandOp::kVgpuDestroy;
      return u;
    case CommandOp::kGiCreate:
      if (!done.created) return std::nullopt;  // the layout's own GI: keep it
      u.op = CommandOp::kGiDestroy;
      return u;
    case CommandOp::kVgpuDestroy:
    case CommandOp::kGiDestroy:
      break;
  }
  return std::nullopt;
}

}  // namespace gpuvm::server
