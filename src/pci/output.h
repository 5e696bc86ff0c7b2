// The three forms of `gpuvm probe`'s output (docs/probe.md): OpenNebula's
// monitoring template, the stable JSON schema, and a table for people. Each
// returns the whole text so that the CLI writes it with one call.
#pragma once

#include <string>
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
