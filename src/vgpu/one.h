// OpenNebula's KVM `vgpu` driver action (reference opennebula.md §2), as a
// library: reads /VM/TEMPLATE/PCI from the VM's XML and creates or removes
// the vGPU of every entry that has a UUID. Differences from the bash script,
// all on the safe side: every value is validated before any write; PROFILE
// is matched exactly (not a grep substring); CREATE of a device that is
// already there is success (a deploy retried after a failed `virsh create`);
// a CREATE that fails part-way removes what this call created; DELETE of a
// device that is gone is success.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/sysfs.h"
#include "vgpu/vgpu.h"

namespace gpuvm::vgpu::one {

// One PCI entry of the VM template that asks for a vGPU.
struct Entry {
  Uuid uuid;              // PCI/UUID
  Bdf address;            // PCI/DOMAIN, BUS, SLOT, FUNCTION
  std::string profile;    // PCI/PROFILE; "" = the parent's first type
  std::string mdev_mode;  // PCI/MDEV_MODE: "legacy", "nvidia", or "" (legacy)
};

// How far `read_vm_xml` trusts the path and the file it is given.
struct VmXmlPolicy {
  // Only <DATASTORE_LOCATION>/<ds-id>/<vm-id>/vm.xml with OpenNebula's
  // default DATASTORE_LOCATION (/var/lib/one//datastores, or with one slash),
  // as packaging/sudoers/gpuvm-opennebula allows: on for callers elevated
  // through sudo.
  bool datastores_only = false;
  // The file must belong to this uid (the invoking user); nullopt: anyone's.
  std::optional<uid_t> owner;
};

// Largest vm.xml accepted. OpenNebula's VM XML is a few KB to a few hundred
// (history records, a vTPM state in base64); a bound keeps root's memory small.
inline constexpr size_t kMaxVmXmlBytes = 8u << 20;

// The text of the VM XML at `path` as root may read it for another user:
// an absolute path without '.' or '..' components, allowed by `policy`, a
// regular file (O_NOFOLLOW|O_NONBLOCK, fstat) of the policy's owner, at most
// kMaxVmXmlBytes. kInvalidArgument naming the path and the rule otherwise.
std::string read_vm_xml(const std::filesystem::path& path, const VmXmlPolicy& policy);

// The vGPU entries of an OpenNebula VM XML; kInvalidArgument naming the
// entry and field for anything malformed (e.g. a BUS that is not hex), or a
// document with a DOCTYPE (no entity is ever declared, hence none expanded).
std::vector<Entry> parse_vm_xml(const std::string& vm_xml, std::string_view source_name);

struct Outcome {
  Entry entry;
  std::string what;  // "created nvidia-474 on 0000:41:00.4", "already there", ...
};

// CREATE: every entry's device; rolls back this call's devices on failure.
std::vector<Outcome> create_all(const SysfsRoot& root, const std::vector<Entry>& entries);
// DELETE: every entry's device; goes on after a failure and throws at the end
// naming every entry that failed.
std::vector<Outcome> delete_all(const SysfsRoot& root, const std::vector<Entry>& entries);

}  // namespace gpuvm::vgpu::one
