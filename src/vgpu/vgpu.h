// vGPU types and devices on the two kernel interfaces of the NVIDIA host
// driver (reference nvidia.md §7):
// - legacy mdev: parents under class/mdev_bus (the VFs of Ampere SR-IOV GPUs,
//   the PF of pre-Ampere ones); a device is an mdev created by writing its
//   UUID to mdev_supported_types/<type>/create, removed by writing 1 to
//   <mdev>/remove;
// - vendor-specific VFIO (vGPU 17+, Hopper and later): each VF has nvidia/;
//   writing a type id to nvidia/current_vgpu_type makes the VF the vGPU,
//   writing 0 clears it. The VF's UUID is OpenNebula's UUIDv5 of its address.
// Everything is read through pci::probe (no second sysfs reader); every
// argument that becomes a path component is validated first.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bdf.h"
#include "core/sysfs.h"
#include "core/uuid.h"

namespace gpuvm::vgpu {

enum class Interface { kMdev, kVendorSpecific };
// OpenNebula's MDEV_MODE values: "legacy" and "nvidia".
const char* mdev_mode(Interface i);

struct Type {
  std::string id;          // "nvidia-474" (mdev) or "1414" (vendor-specific)
  std::string name;        // "NVIDIA A100-1-5C"
  std::string short_name;  // "A100-1-5C"
  // mdev: available_instances; vendor-specific: 1 for every listed type
  // (creatable_vgpu_types lists only what the VF can create now).
  int64_t available = 0;
  bool mig_backed = false;
  std::string gi_profile;   // "1g.5gb" for MIG-backed types
  std::string description;  // mdev only
};

// A function that can host vGPUs.
struct Parent {
  Bdf bdf;
  Interface interface = Interface::kMdev;
  std::optional<Bdf> pf;  // set when the parent is a VF
  std::vector<Type> types;
  int current_vgpu_type = 0;  // vendor-specific: nvidia/current_vgpu_type
  std::vector<Uuid> mdevs;    // mdev: devices created on this parent
};

// A vGPU that exists.
struct Device {
  Interface interface = Interface::kMdev;
  Bdf parent;             // the mdev parent, or the VF
  std::optional<Bdf> pf;  // the GPU
  Uuid uuid;              // mdev UUID; vendor-specific: UUIDv5 of the VF address
  std::string type_id;
  std::string type_name;  // "" when the driver no longer lists the type
};

// UUIDv5 (X.500 namespace) of OpenNebula's ADDRESS form of `vf`, as
// OpenNebula's probe and core compute it.
Uuid vf_uuid(const Bdf& vf);

// The parents of the host, or those of one device: a GPU PF selects itself
// (pre-Ampere mdev) and its VFs; a VF selects itself. kInvalidArgument for a
// device that does not exist or hosts no vGPU.
std::vector<Parent> parents(const SysfsRoot& root, const std::optional<Bdf>& only = {});

// Every vGPU of the host, by parent address.
std::vector<Device> devices(const SysfsRoot& root);

// A vGPU by its mdev UUID, its VF's UUIDv5, or the address of its parent
// (which must then hold exactly one). kInvalidArgument when the text is
// neither a UUID nor an address; kNotFound when no vGPU matches.
Device find_device(const SysfsRoot& root, std::string_view uuid_or_bdf);

struct CreateRequest {
  Bdf parent;
  std::string type;  // id ("nvidia-474", "474", "1414"), name or short name
  std::optional<Uuid> uuid;
  // A device of this type and UUID on this parent already there is success,
  // not an error (OpenNebula's CREATE after a failed deploy).
  bool existing_ok = false;
};

// Creates one vGPU; nothing is written before every input is checked.
// kInvalidArgument: unknown parent or type, UUID in use, --uuid on a VF of
// the vendor-specific interface; kBusy: the VF already has a vGPU;
// kConflict: a MIG-backed type with no free GPU instance of its profile
// (the message names the profile); the driver's errno otherwise.
Device create(const SysfsRoot& root, const CreateRequest& request);

// Creates a vGPU of type `type_id` (an id the parent lists or the caller
// resolved) on `parent` as it was read by parents(), without reading the host
// again: for callers that planned many creates from one snapshot under the
// host lock (node apply). No checks beyond the driver's own.
Device create_planned(const SysfsRoot& root, const Parent& parent, const std::string& type_id,
                      const std::optional<Uuid>& uuid = {});

// Destroys a vGPU found as find_device does; returns what it was.
Device destroy(const SysfsRoot& root, std::string_view uuid_or_bdf);

}  // namespace gpuvm::vgpu
