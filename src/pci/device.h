// One PCI function as gpuvm probes it from sysfs: a plain value type, filled by
// pci::probe() (probe.h) and written out by the one/json/table writers. The JSON
// form is documented in docs/probe.md and is a stable interface: add fields,
// never rename or remove them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/bdf.h"

namespace gpuvm::pci {

// SR-IOV role, as OpenNebula's SRIOV field: a VF has `physfn`; a PF has
// `sriov_totalvfs` or `sriov_numvfs`; everything else is kNone.
enum class SriovRole { kNone, kPf, kVf };

// One vGPU type a device offers.
// Legacy mdev: a directory mdev_supported_types/<id>/ (id "nvidia-558").
// Vendor-specific: a line "<id> : <name>" of nvidia/creatable_vgpu_types (id "1145").
struct VgpuType {
  std::string id;
  std::string name;  // "NVIDIA A10-1B"; may be empty when the driver gives none
  // Legacy only (mdev_supported_types/<id>/available_instances, description,
  // device_api); std::nullopt/empty for vendor-specific types.
  std::optional<int64_t> available_instances;
  std::string description;
  std::string device_api;

  bool operator==(const VgpuType&) const = default;
};

// A mediated device that exists under a legacy mdev parent.
struct MdevInstance {
  std::string uuid;  // directory name under mdev_supported_types/<type>/devices/
  std::string type;  // the type directory it was created from ("nvidia-558")

  bool operator==(const MdevInstance&) const = default;
};

// PCIe link attributes (current_link_speed etc.); absent on conventional PCI
// and on most virtual devices.
struct PcieLink {
  std::optional<std::string> current_speed;  // "32.0 GT/s PCIe", as the kernel prints it
  std::optional<int> current_width;          // lanes
  std::optional<std::string> max_speed;
  std::optional<int> max_width;

  bool operator==(const PcieLink&) const = default;
};

struct Device {
  Bdf bdf;

  // Identity: <dev>/vendor, device, class, subsystem_vendor, subsystem_device,
  // revision (Documentation/ABI/testing/sysfs-bus-pci). class_code is the
  // 24-bit value: base class, subclass, prog-if.
  uint16_t vendor_id = 0;
  uint16_t device_id = 0;
  uint32_t class_code = 0;
  std::optional<uint16_t> subsystem_vendor_id;
  std::optional<uint16_t> subsystem_device_id;
  std::optional<uint8_t> revision;

  // Names from pci.ids through libpci, exactly as `lspci -mm` prints them
  // (without the " [id]" suffix of -nn): "Device", "Class", "Vendor" stand
  // in for unknown ids, as in lspci.
  std::string vendor_name;
  std::string device_name;
  std::string class_name;
  std::string subsystem_vendor_name;  // empty when there is no subsystem id
  std::string subsystem_device_name;

  std::optional<int> numa_node;       // <dev>/numa_node; nullopt for -1 or absent
  std::optional<std::string> driver;  // basename of the <dev>/driver link
  std::optional<int> iommu_group;     // basename of the <dev>/iommu_group link
  PcieLink link;

  // SR-IOV: <dev>/physfn, <dev>/virtfnN, sriov_totalvfs, sriov_numvfs.
  SriovRole sriov_role = SriovRole::kNone;
  std::optional<Bdf> physfn;  // set for VFs
  std::vector<Bdf> virtfns;   // PF: virtfn0, virtfn1, ... in index order
  std::optional<int> sriov_totalvfs;
  std::optional<int> sriov_numvfs;

  // Network interfaces: the entries of <dev>/net/, sorted by name.
  std::vector<std::string> net_interfaces;
  // The one OpenNebula reports as IFNAME: the only entry, or among several
  // the one whose phys_port_name is "p<N>" (a switchdev PF); nullopt if none.
  std::optional<std::string> primary_interface;

  // Legacy mdev parent: <root>/class/mdev_bus/<BDF> exists.
  bool mdev_parent = false;
  std::vector<VgpuType> mdev_types;  // sorted by id (byte order, as `ls` in the C locale)
  std::vector<MdevInstance> mdevs;   // sorted by type, then uuid

  // Vendor-specific vGPU interface: <dev>/nvidia/ (a VF bound to nvidia.ko).
  bool nvidia_vgpu_dir = false;
  std::vector<VgpuType> creatable_vgpu_types;  // nvidia/creatable_vgpu_types, file order
  std::optional<int> current_vgpu_type;        // nvidia/current_vgpu_type; 0 = none
  // The file as read, for OpenNebula's own parsing rules (pci.rb drops the whole
  // list on a line without ':'); nullopt when absent or unreadable.
  std::optional<std::string> creatable_vgpu_types_text;

  bool operator==(const Device&) const = default;
};

// Something the probe could not read, as data: the CLI prints it on stderr.
struct Warning {
  std::string path;     // the file, link or directory concerned
  std::string message;  // "skipped: vendor is not a hex number ('0xzz')"

  bool operator==(const Warning&) const = default;
};

struct ProbeResult {
  std::vector<Device> devices;  // sorted by address, as lspci lists them
  std::vector<Warning> warnings;
};

}  // namespace gpuvm::pci
