#include "vgpu/one.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/error.h"
#include "core/files.h"
#include "vgpu/xml_doc.h"

namespace gpuvm::vgpu::one {
namespace {

bool is_hex(const std::string& s, size_t max_len) {
  return !s.empty() && s.size() <= max_len &&
         s.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
}

// The parent as it is now, from the host's parents.
const Parent* find_parent(const std::vector<Parent>& ps, const Bdf& bdf) {
  for (const auto& p : ps) {
    if (p.bdf == bdf) return &p;
  }
  return nullptr;
}

// PROFILE as OpenNebula means it: an mdev type directory for legacy, "588" or
// "588 (NVIDIA A10-1B)" (first word) for nvidia mode; empty = first type.
std::string type_for(const Entry& e, const Parent& p) {
  std::string profile = e.profile;
  if (p.interface == Interface::kVendorSpecific) {
    profile = profile.substr(0, profile.find(' '));
  }
  if (!profile.empty()) return profile;
  if (p.types.empty()) {
    throw Error(Errc::kConflict,
                fmt::format("PCI {} (UUID {}): no PROFILE given and {} offers no vGPU type now",
                            e.address.str(), e.uuid.str(), p.bdf.str()));
  }
  return p.types.front().id;
}

// ^/var/lib/one//?datastores/[0-9]+/[0-9]+/vm\.xml$, the sudoers rule's
// regular expression, by hand.
bool is_datastore_vm_xml(std::string_view p) {
  for (std::string_view prefix : {"/var/lib/one//datastores/", "/var/lib/one/datastores/"}) {
    if (!p.starts_with(prefix)) continue;
    std::string_view rest = p.substr(prefix.size());
    for (int id = 0; id < 2; ++id) {
      const size_t digits = rest.find_first_not_of("0123456789");
      if (digits == 0 || digits == std::string_view::npos || rest[digits] != '/') return false;
      rest.remove_prefix(digits + 1);
    }
    return rest == "vm.xml";
  }
  return false;
}

}  // namespace

std::string read_vm_xml(const std::filesystem::path& path, const VmXmlPolicy& policy) {
  const std::string p = path.string();
  if (!path.is_absolute()) {
    throw_invalid(fmt::format("VM XML {}: expected an absolute path", p));
  }
  for (const auto& c : path) {
    if (c == "." || c == "..") {
      throw_invalid(fmt::format("VM XML {}: expected a path without '.' or '..' components", p));
    }
  }
  if (policy.datastores_only && !is_datastore_vm_xml(p)) {
    throw_invalid(
        fmt::format("VM XML {}: under sudo only OpenNebula's "
                    "/var/lib/one//datastores/<ds-id>/<vm-id>/vm.xml is accepted",
                    p));
  }
  try {
    return read_file_checked(path, "VM XML", {kMaxVmXmlBytes, policy.owner});
  } catch (const Error& e) {
    // A VM XML that is missing or unreadable is bad input too (exit 2).
    throw Error(Errc::kInvalidArgument, e.what(), e.sys_errno());
  }
}

std::vector<Entry> parse_vm_xml(const std::string& vm_xml, std::string_view source_name) {
  xml::DocPtr doc = xml::parse(vm_xml, source_name);
  xmlNode* root = xmlDocGetRootElement(doc.get());
  if (root == nullptr || std::string_view(reinterpret_cast<const char*>(root->name)) != "VM") {
    throw_invalid(
        fmt::format("{}: expected an OpenNebula VM XML (root element <VM>)", source_name));
  }
  std::vector<Entry> out;
  int index = 0;
  for (xmlNode* t = root->children; t != nullptr; t = t->next) {
    if (t->type != XML_ELEMENT_NODE ||
        std::string_view(reinterpret_cast<const char*>(t->name)) != "TEMPLATE")
      continue;
    for (xmlNode* pci = t->children; pci != nullptr; pci = pci->next) {
      if (pci->type != XML_ELEMENT_NODE ||
          std::string_view(reinterpret_cast<const char*>(pci->name)) != "PCI")
        continue;
      ++index;
      const std::string uuid = xml::child_text(pci, "UUID");
      if (uuid.empty()) continue;  // plain passthrough: nothing to create
      const std::string where = fmt::format("{}: PCI #{}", source_name, index);
      Entry e;
      auto u = Uuid::try_parse(uuid);
      if (!u) throw_invalid(fmt::format("{}: UUID '{}' is not a UUID", where, uuid));
      e.uuid = *u;
      const std::string domain = xml::child_text(pci, "DOMAIN");
      const std::string bus = xml::child_text(pci, "BUS");
      const std::string slot = xml::child_text(pci, "SLOT");
      const std::string function = xml::child_text(pci, "FUNCTION");
      if (!is_hex(domain, 4) || !is_hex(bus, 2) || !is_hex(slot, 2) || !is_hex(function, 1)) {
        throw_invalid(
            fmt::format("{}: DOMAIN/BUS/SLOT/FUNCTION '{}'/'{}'/'{}'/'{}' are not a PCI "
                        "address (hex, 4/2/2/1 digits)",
                        where, domain, bus, slot, function));
      }
      e.address = Bdf::parse(fmt::format("{}:{}:{}.{}", domain, bus, slot, function));
      e.profile = xml::child_text(pci, "PROFILE");
      if (!e.profile.empty()) {
        check_path_component(e.profile.substr(0, e.profile.find(' ')), where + " PROFILE");
      }
      e.mdev_mode = xml::child_text(pci, "MDEV_MODE");
      if (e.mdev_mode != "" && e.mdev_mode != "legacy" && e.mdev_mode != "nvidia") {
        throw_invalid(
            fmt::format("{}: MDEV_MODE '{}': expected legacy or nvidia", where, e.mdev_mode));
      }
      out.push_back(std::move(e));
    }
  }
  return out;
}

std::vector<Outcome> create_all(const SysfsRoot& root, const std::vector<Entry>& entries) {
  // Check every entry against the host before the first write.
  const std::vector<Parent> ps = parents(root);
  std::vector<CreateRequest> requests;
  for (const auto& e : entries) {
    const Parent* p = find_parent(ps, e.address);
    if (p == nullptr) {
      throw_invalid(fmt::format("PCI {} (UUID {}) is not a vGPU parent on this host",
                                e.address.str(), e.uuid.str()));
    }
    const bool nvidia_mode = e.mdev_mode == "nvidia";
    if (nvidia_mode != (p->interface == Interface::kVendorSpecific) && !e.mdev_mode.empty()) {
      throw_invalid(
          fmt::format("PCI {} (UUID {}): MDEV_MODE {} but the device uses the {} "
                      "interface",
                      e.address.str(), e.uuid.str(), e.mdev_mode, mdev_mode(p->interface)));
    }
    CreateRequest r;
    r.parent = e.address;
    r.type = type_for(e, *p);
    // In nvidia mode the UUID is only OpenNebula's lookup key.
    if (p->interface == Interface::kMdev) r.uuid = e.uuid;
    r.existing_ok = true;
    requests.push_back(std::move(r));
  }
  std::vector<Outcome> out;
  std::vector<Device> created;
  try {
    for (size_t i = 0; i < entries.size(); ++i) {
      const auto before = devices(root);
      Device d = create(root, requests[i]);
      const bool existed = std::any_of(before.begin(), before.end(), [&](const Device& b) {
        return b.parent == d.parent && b.uuid == d.uuid;
      });
      if (!existed) created.push_back(d);
      out.push_back({entries[i], fmt::format("{} {} ({}) on {}", existed ? "kept" : "created",
                                             d.uuid.str(), d.type_id, d.parent.str())});
    }
  } catch (const Error& e) {
    std::string rollback;
    for (auto it = created.rbegin(); it != created.rend(); ++it) {
      try {
        destroy(root, it->interface == Interface::kMdev ? it->uuid.str() : it->parent.str());
      } catch (const Error& again) {
        rollback += fmt::format("; removing {} failed too: {}", it->uuid.str(), again.what());
      }
    }
    throw Error(e.code(),
                fmt::format("{}{}", e.what(),
                            created.empty()    ? ""
                            : rollback.empty() ? "; this call's vGPUs were removed"
                                               : rollback),
                e.sys_errno());
  }
  return out;
}

std::vector<Outcome> delete_all(const SysfsRoot& root, const std::vector<Entry>& entries) {
  std::vector<Outcome> out;
  std::string failures;
  const std::vector<Device> present = devices(root);
  for (const auto& e : entries) {
    const Device* d = nullptr;
    for (const auto& p : present) {
      const bool match = p.interface == Interface::kMdev ? p.uuid == e.uuid : p.parent == e.address;
      if (match) d = &p;
    }
    if (d == nullptr) {
      out.push_back({e, fmt::format("{} on {}: already gone", e.uuid.str(), e.address.str())});
      continue;
    }
    try {
      destroy(root, d->interface == Interface::kMdev ? d->uuid.str() : d->parent.str());
      out.push_back(
          {e, fmt::format("removed {} ({}) on {}", d->uuid.str(), d->type_id, d->parent.str())});
    } catch (const Error& err) {
      failures += fmt::format("{}{}", failures.empty() ? "" : "; ", err.what());
    }
  }
  if (!failures.empty()) throw Error(Errc::kIo, failures);
  return out;
}

}  // namespace gpuvm::vgpu::one
