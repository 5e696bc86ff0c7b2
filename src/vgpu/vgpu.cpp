#include "vgpu/vgpu.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/error.h"
#include "pci/probe.h"
#include "vgpu/type_name.h"

namespace gpuvm::vgpu {
namespace {

Type make_type(const pci::VgpuType& t, bool mdev) {
  Type out;
  out.id = t.id;
  out.name = t.name;
  out.short_name = short_type_name(t.name);
  out.available = mdev ? t.available_instances.value_or(0) : 1;
  out.description = t.description;
  if (auto parsed = parse_type_name(out.short_name); parsed && parsed->mig_backed()) {
    out.mig_backed = true;
    out.gi_profile = parsed->gi_profile();
  }
  return out;
}

std::optional<Parent> as_parent(const pci::Device& d) {
  Parent p;
  p.bdf = d.bdf;
  p.pf = d.physfn;
  if (d.mdev_parent) {
    p.interface = Interface::kMdev;
    for (const auto& t : d.mdev_types) p.types.push_back(make_type(t, true));
    for (const auto& m : d.mdevs) {
      if (auto u = Uuid::try_parse(m.uuid)) p.mdevs.push_back(*u);
    }
    return p;
  }
  if (d.nvidia_vgpu_dir) {
    p.interface = Interface::kVendorSpecific;
    for (const auto& t : d.creatable_vgpu_types) p.types.push_back(make_type(t, false));
    p.current_vgpu_type = d.current_vgpu_type.value_or(0);
    return p;
  }
  return std::nullopt;
}

// The GPU a parent belongs to: its PF, or itself (pre-Ampere mdev on the PF).
Bdf gpu_of(const Parent& p) {
  return p.pf.value_or(p.bdf);
}

std::vector<Parent> all_parents(const pci::ProbeResult& probe) {
  std::vector<Parent> out;
  for (const auto& d : probe.devices) {
    if (auto p = as_parent(d)) out.push_back(std::move(*p));
  }
  return out;
}

bool matches(const Type& t, std::string_view text) {
  return t.id == text || t.name == text || t.short_name == text ||
         (t.id.rfind("nvidia-", 0) == 0 && t.id.substr(7) == text);
}

std::string list_types(const std::vector<Type>& types) {
  if (types.empty()) return "none";
  std::string out;
  for (const auto& t : types) {
    out += fmt::format("{}{} ({})", out.empty() ? "" : ", ", t.short_name, t.id);
  }
  return out;
}

[[noreturn]] void rethrow_with(const Error& e, std::string_view context) {
  throw Error(e.code(), fmt::format("{}: {}", context, e.what()), e.sys_errno());
}

}  // namespace

const char* mdev_mode(Interface i) {
  return i == Interface::kMdev ? "legacy" : "nvidia";
}

Uuid vf_uuid(const Bdf& vf) {
  return Uuid::v5_x500(vf.one_address());
}

std::vector<Parent> parents(const SysfsRoot& root, const std::optional<Bdf>& only) {
  const pci::ProbeResult probe = pci::probe(root);
  std::vector<Parent> all = all_parents(probe);
  if (!only) return all;
  const bool exists = std::any_of(probe.devices.begin(), probe.devices.end(),
                                  [&](const pci::Device& d) { return d.bdf == *only; });
  if (!exists) {
    throw_invalid(fmt::format("no PCI device {} in {}", only->str(), root.pci_devices().string()));
  }
  std::vector<Parent> out;
  for (auto& p : all) {
    if (p.bdf == *only || p.pf == *only) out.push_back(std::move(p));
  }
  if (out.empty()) {
    throw_invalid(
        fmt::format("{} hosts no vGPU: it is not an mdev parent, has no nvidia/ "
                    "directory, and has no VFs that are (SR-IOV off? gpuvm sriov enable)",
                    only->str()));
  }
  return out;
}

std::vector<Device> devices(const SysfsRoot& root) {
  const pci::ProbeResult probe = pci::probe(root);
  const std::vector<Parent> ps = all_parents(probe);
  std::map<std::pair<Bdf, std::string>, std::string> names;
  for (const auto& p : ps) {
    for (const auto& t : p.types) names[{gpu_of(p), t.id}] = t.name;
  }
  std::vector<Device> out;
  for (const auto& d : probe.devices) {
    if (d.mdev_parent) {
      for (const auto& m : d.mdevs) {
        auto uuid = Uuid::try_parse(m.uuid);
        if (!uuid) continue;
        Device dev;
        dev.interface = Interface::kMdev;
        dev.parent = d.bdf;
        dev.pf = d.physfn;
        dev.uuid = *uuid;
        dev.type_id = m.type;
        for (const auto& t : d.mdev_types) {
          if (t.id == m.type) dev.type_name = t.name;
        }
        out.push_back(std::move(dev));
      }
    } else if (d.nvidia_vgpu_dir && d.current_vgpu_type.value_or(0) != 0) {
      Device dev;
      dev.interface = Interface::kVendorSpecific;
      dev.parent = d.bdf;
      dev.pf = d.physfn;
      dev.uuid = vf_uuid(d.bdf);
      dev.type_id = std::to_string(*d.current_vgpu_type);
      if (auto it = names.find({d.physfn.value_or(d.bdf), dev.type_id}); it != names.end())
        dev.type_name = it->second;
      out.push_back(std::move(dev));
    }
  }
  return out;
}

Device find_device(const SysfsRoot& root, std::string_view text) {
  if (auto uuid = Uuid::try_parse(text)) {
    for (auto& d : devices(root)) {
      if (d.uuid == *uuid) return d;
    }
    throw_invalid(fmt::format("no vGPU with UUID {} (gpuvm vgpu list shows them)", uuid->str()));
  }
  if (auto bdf = Bdf::try_parse(text)) {
    std::vector<Device> found;
    for (auto& d : devices(root)) {
      if (d.parent == *bdf) found.push_back(d);
    }
    if (found.empty()) throw_invalid(fmt::format("{} holds no vGPU", bdf->str()));
    if (found.size() > 1) {
      std::string uuids;
      for (const auto& d : found) uuids += (uuids.empty() ? "" : ", ") + d.uuid.str();
      throw_invalid(
          fmt::format("{} holds {} vGPUs ({}): give the UUID", bdf->str(), found.size(), uuids));
    }
    return found.front();
  }
  throw_invalid(
      fmt::format("'{}': expected a vGPU UUID (8-4-4-4-12 hex digits) or a PCI address "
                  "(DDDD:BB:DD.F)",
                  text));
}

Device create(const SysfsRoot& root, const CreateRequest& req) {
  check_path_component(req.type, "vGPU type");
  const pci::ProbeResult probe = pci::probe(root);
  const std::vector<Parent> ps = all_parents(probe);
  const Parent* parent = nullptr;
  for (const auto& p : ps) {
    if (p.bdf == req.parent) parent = &p;
  }
  if (parent == nullptr) {
    const bool exists = std::any_of(probe.devices.begin(), probe.devices.end(),
                                    [&](const pci::Device& d) { return d.bdf == req.parent; });
    if (!exists) {
      throw_invalid(
          fmt::format("no PCI device {} in {}", req.parent.str(), root.pci_devices().string()));
    }
    throw_invalid(fmt::format(
        "{} is not a vGPU parent (no mdev_supported_types, no nvidia/ "
        "directory){}",
        req.parent.str(),
        std::any_of(ps.begin(), ps.end(), [&](const Parent& p) { return p.pf == req.parent; })
            ? ": give one of its VFs (gpuvm vgpu types " + req.parent.str() + ")"
            : ""));
  }
  const Bdf gpu = gpu_of(*parent);
  const Type* type = nullptr;
  for (const auto& t : parent->types) {
    if (matches(t, req.type)) type = &t;
  }
  const auto parsed = parse_type_name(short_type_name(req.type));
  auto mig_error = [&](std::string_view why) -> Error {
    return Error(Errc::kConflict,
                 fmt::format("vGPU type {} is MIG-backed and {} on {}: it needs MIG mode on and a "
                             "free GPU instance of profile {} on GPU {} (add --create-gi to "
                             "create one)",
                             req.type, why, req.parent.str(), parsed->gi_profile(), gpu.str()));
  };

  if (parent->interface == Interface::kMdev) {
    if (type == nullptr) {
      if (parsed && parsed->mig_backed()) throw mig_error("not offered now");
      throw_invalid(fmt::format("unknown vGPU type '{}' for {}: it offers {}", req.type,
                                req.parent.str(), list_types(parent->types)));
    }
    if (type->mig_backed && type->available <= 0) {
      throw Error(
          Errc::kConflict,
          fmt::format("vGPU type {} ({}) has no available instance on {}: it is MIG-backed "
                      "and needs a free GPU instance of profile {} on GPU {} (add "
                      "--create-gi to create one)",
                      type->short_name, type->id, req.parent.str(), type->gi_profile, gpu.str()));
    }
    const bool on_vf = parent->pf.has_value();
    const Uuid uuid = req.uuid ? *req.uuid : (on_vf ? vf_uuid(parent->bdf) : Uuid::random());
    for (const auto& d : devices(root)) {
      if (d.uuid != uuid) continue;
      if (req.existing_ok && d.parent == parent->bdf && d.type_id == type->id) return d;
      throw_invalid(fmt::format("UUID {} is already in use by the vGPU on {} (type {})", uuid.str(),
                                d.parent.str(), d.type_id));
    }
    // mdev_supported_types/<type>/create (drivers/vfio/mdev/mdev_sysfs.c create_store)
    const auto create_file =
        root.mdev_parent(parent->bdf) / "mdev_supported_types" / type->id / "create";
    try {
      write_attr(root, create_file, uuid.str());
    } catch (const Error& e) {
      rethrow_with(e, fmt::format("creating a {} vGPU ({}) on {} failed{}", type->short_name,
                                  type->id, req.parent.str(),
                                  type->available <= 0
                                      ? " (available_instances was 0: the GPU is full or holds "
                                        "another type)"
                                      : ""));
    }
    Device dev;
    dev.interface = Interface::kMdev;
    dev.parent = parent->bdf;
    dev.pf = parent->pf;
    dev.uuid = uuid;
    dev.type_id = type->id;
    dev.type_name = type->name;
    return dev;
  }

  // Vendor-specific: the VF itself becomes the vGPU.
  const Uuid uuid = vf_uuid(parent->bdf);
  if (req.uuid && *req.uuid != uuid) {
    throw_invalid(
        fmt::format("{} is a vendor-specific vGPU VF: its UUID is {} (UUIDv5 of its "
                    "address), not {}",
                    req.parent.str(), uuid.str(), req.uuid->str()));
  }
  // Ids and names the GPU knows: every VF's list and the types in use.
  std::set<std::string> known_ids;
  std::string id;
  std::string name;
  if (type != nullptr) {
    id = type->id;
    name = type->name;
  }
  for (const auto& p : ps) {
    if (p.interface != Interface::kVendorSpecific || gpu_of(p) != gpu) continue;
    if (p.current_vgpu_type != 0) known_ids.insert(std::to_string(p.current_vgpu_type));
    for (const auto& t : p.types) {
      known_ids.insert(t.id);
      if (id.empty() && matches(t, req.type)) {
        id = t.id;
        name = t.name;
      }
    }
  }
  if (id.empty() && known_ids.count(req.type) != 0) id = req.type;
  if (parent->current_vgpu_type != 0) {
    if (req.existing_ok && std::to_string(parent->current_vgpu_type) == id) {
      for (auto& d : devices(root)) {
        if (d.parent == parent->bdf) return d;
      }
    }
    throw Error(Errc::kBusy,
                fmt::format("{} already holds vGPU type {}: destroy it first "
                            "(gpuvm vgpu destroy {})",
                            req.parent.str(), parent->current_vgpu_type, req.parent.str()));
  }
  if (id.empty()) {
    if (parsed && parsed->mig_backed()) throw mig_error("not creatable now");
    // creatable_vgpu_types lists only what fits now: with vGPUs on the GPU,
    // a type listed nowhere may be a real one that no longer fits.
    std::map<int, int> in_use;
    for (const auto& p : ps) {
      if (p.interface == Interface::kVendorSpecific && gpu_of(p) == gpu && p.current_vgpu_type != 0)
        ++in_use[p.current_vgpu_type];
    }
    const bool numeric = req.type.find_first_not_of("0123456789") == std::string::npos;
    if (!in_use.empty() && (parsed || numeric)) {
      std::string held;
      for (const auto& [t, n] : in_use)
        held += fmt::format("{}{} of type {}", held.empty() ? "" : ", ", n, t);
      throw Error(Errc::kConflict,
                  fmt::format("vGPU type '{}' is not creatable on {} now: no VF of GPU {} lists it "
                              "(the GPU holds {}: it is full, or in equal-size mode holds another "
                              "type); {} offers {}",
                              req.type, req.parent.str(), gpu.str(), held, req.parent.str(),
                              list_types(parent->types)));
    }
    throw_invalid(fmt::format("unknown vGPU type '{}' for {}: it offers {}", req.type,
                              req.parent.str(), list_types(parent->types)));
  }
  // nvidia/current_vgpu_type (NVIDIA vGPU 17+ vendor-specific VFIO; kstrtol base 10)
  try {
    write_attr(root, root.pci_device(parent->bdf) / "nvidia/current_vgpu_type", id);
  } catch (const Error& e) {
    rethrow_with(
        e, fmt::format("creating vGPU type {}{} on {} failed{}", id,
                       name.empty() ? "" : " (" + short_type_name(name) + ")", req.parent.str(),
                       type == nullptr ? " (the VF does not list it as creatable now: "
                                         "the GPU is full or holds another type)"
                                       : ""));
  }
  Device dev;
  dev.interface = Interface::kVendorSpecific;
  dev.parent = parent->bdf;
  dev.pf = parent->pf;
  dev.uuid = uuid;
  dev.type_id = id;
  dev.type_name = name;
  return dev;
}

Device create_planned(const SysfsRoot& root, const Parent& parent, const std::string& type_id,
                      const std::optional<Uuid>& uuid) {
  check_path_component(type_id, "vGPU type id");
  Device dev;
  dev.interface = parent.interface;
  dev.parent = parent.bdf;
  dev.pf = parent.pf;
  dev.type_id = type_id;
  for (const auto& t : parent.types) {
    if (t.id == type_id) dev.type_name = t.name;
  }
  try {
    if (parent.interface == Interface::kMdev) {
      dev.uuid = uuid ? *uuid : (parent.pf ? vf_uuid(parent.bdf) : Uuid::random());
      // mdev_supported_types/<type>/create (drivers/vfio/mdev/mdev_sysfs.c)
      write_attr(root, root.mdev_parent(parent.bdf) / "mdev_supported_types" / type_id / "create",
                 dev.uuid.str());
    } else {
      dev.uuid = vf_uuid(parent.bdf);
      // nvidia/current_vgpu_type (NVIDIA vGPU 17+ vendor-specific VFIO)
      write_attr(root, root.pci_device(parent.bdf) / "nvidia/current_vgpu_type", type_id);
    }
  } catch (const Error& e) {
    rethrow_with(e, fmt::format("creating vGPU type {} on {} failed", type_id, parent.bdf.str()));
  }
  return dev;
}

Device destroy(const SysfsRoot& root, std::string_view uuid_or_bdf) {
  const Device dev = find_device(root, uuid_or_bdf);
  try {
    if (dev.interface == Interface::kMdev) {
      // <mdev>/remove (drivers/vfio/mdev/mdev_sysfs.c remove_store)
      write_attr(root, root.mdev_devices() / dev.uuid.str() / "remove", "1");
    } else {
      // nvidia/current_vgpu_type: 0 clears the VF's vGPU
      write_attr(root, root.pci_device(dev.parent) / "nvidia/current_vgpu_type", "0");
    }
  } catch (const Error& e) {
    rethrow_with(e,
                 fmt::format("destroying vGPU {} on {} failed", dev.uuid.str(), dev.parent.str()));
  }
  return dev;
}

}  // namespace gpuvm::vgpu
