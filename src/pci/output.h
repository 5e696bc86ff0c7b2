// The three forms of `gpuvm probe`'s output (docs/probe.md): OpenNebula's
// monitoring template, the stable JSON schema, and a table for people. Each
// returns the whole text so that the CLI writes it with one call.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pci/device.h"
#include "pci/filter.h"

namespace gpuvm::pci {

// OpenNebula's view of a device, by pci.rb's rules (7.4).
struct OneView {
  bool listed = true;  // false: an NVIDIA PF with virtfn0, or any PF with sriov_numvfs > 0
  bool nvidia_vf = false;
  std::string device_name;            // DEVICE_NAME
  std::string uuid;                   // NVIDIA VFs: UUIDv5(X.500, ADDRESS)
  std::vector<std::string> profiles;  // NVIDIA VFs: PROFILES, one entry each
  std::string mdev_mode;              // NVIDIA VFs: "legacy" or "nvidia"
};
OneView one_view(const Device& d, const Selection& selection);

// The values of one `PCI = [ ... ]` block, as pci.rb computes them: the
// template writer prints them and the agent reports them (agent/inventory.h),
// so that gpuvmd sees exactly what OpenNebula's probe shows. A field that is
// std::nullopt is not printed at all.
struct OneFields {
  std::string type;                         // TYPE "10de:2330:0302"
  std::string vendor;                       // VENDOR "10de"
  std::string vendor_name;                  // VENDOR_NAME
  std::string device;                       // DEVICE "2330"
  std::string class_id;                     // CLASS "0302" (no prog-if)
  std::string class_name;                   // CLASS_NAME
  std::string address;                      // ADDRESS "0000:41:00:4"
  std::string short_address;                // SHORT_ADDRESS, lspci's slot "41:00.4"
  std::string domain, bus, slot, function;  // DOMAIN "0000", BUS "41", SLOT "00", FUNCTION "4"
  std::string numa_node;                    // NUMA_NODE: a number or "-"
  std::string ifname;                       // IFNAME or "-"
  std::string sriov;                        // SRIOV (7.4): "vf", "pf" or "no"
  std::optional<std::string> sriov_num;     // SRIOV_NUM: PFs only
  std::string device_name;                  // DEVICE_NAME
  // NVIDIA VFs only (OneView::nvidia_vf).
  std::optional<std::string> uuid;       // UUID
  std::optional<std::string> profiles;   // PROFILES, comma-joined (may be empty)
  std::optional<std::string> mdev_mode;  // MDEV_MODE

  // (NAME, value) in pci.rb's order, absent fields left out.
  std::vector<std::pair<std::string_view, std::string_view>> ordered() const;
};
OneFields one_fields(const Device& d, const OneView& view);

// What format_one lists: one pass per id filter, in lspci order, so a device
// that two filters match comes twice (as pci.rb prints it; OpenNebula keeps
// one per ADDRESS). Pointers into `result`.
struct OneEntry {
  const Device* device;
  OneView view;
};
std::vector<OneEntry> one_entries(const ProbeResult& result, const Selection& selection);

// pci.rb's PROFILES from nvidia/creatable_vgpu_types: its own parsing, quirks
// included (a line without ':' empties the whole list).
std::vector<std::string> one_nvidia_profiles(const std::optional<std::string>& text);

// The template for the selected devices: one pass per id filter, in lspci order.
std::string format_one(const ProbeResult& result, const Selection& selection);

// Schema version 1 of docs/probe.md; `devices` already selected by the caller.
std::string format_json(const ProbeResult& result, const Selection& selection,
                        const std::string& sysfs_root);

std::string format_table(const ProbeResult& result, const Selection& selection);

}  // namespace gpuvm::pci
