// NVIDIA mig-parted's configuration file (reference/nvidia.md §1.2), read
// unchanged so existing files work:
//
//   version: v1
//   mig-configs:
//     all-1g.10gb:
//       - devices: all            # or [0, 1]
//         device-filter: "0x233010DE"   # optional, string or list
//         mig-enabled: true
//         mig-devices: {"1g.10gb": 7}
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "mig/solver.h"
#include "mig/types.h"

namespace gpuvm::mig {

struct MigConfigEntry {
  std::vector<std::string> device_filter;  // empty = every GPU
  bool all_devices = false;
  std::vector<unsigned> devices;  // GPU indexes when !all_devices
  bool mig_enabled = false;
  std::vector<std::pair<std::string, unsigned>> mig_devices;  // in file order
};

struct MigPartedConfig {
  std::map<std::string, std::vector<MigConfigEntry>> configs;
};

// Parses the text of a config file; `source` names it in errors. Throws
// kInvalidArgument for: not YAML, version other than v1, unknown keys,
// missing fields, bad values.
MigPartedConfig parse_mig_parted(const std::string& text, const std::string& source);

// The entries of config `name`; `name` may be empty when the file has exactly
// one config. Throws kInvalidArgument listing the names the file has.
const std::vector<MigConfigEntry>& select_config(const MigPartedConfig& config,
                                                 const std::string& name,
                                                 const std::string& source);

// device-filter match: "0xDDDDVVVV" against (device << 16 | vendor), with an
// optional ":0xSSSSssss" subsystem part that must match too when present.
bool device_filter_matches(const std::vector<std::string>& filters, uint32_t pci_device_id,
                           uint32_t pci_subsystem_id);

// The GPU instances (with their compute instances) that mig-devices asks
// for on a GPU with `table`: "3g.40gb: 2" is two 3g GPU instances with one
// full compute instance each; "1c.3g.40gb: 3" packs three 1-slice compute
// instances into as few 3g GPU instances as hold them. Throws
// kInvalidArgument for a profile this GPU does not have (naming those it has).
std::vector<GiSpec> specs_for(const ProfileTable& table,
                              const std::vector<std::pair<std::string, unsigned>>& mig_devices,
                              const std::string& gpu);

// mig-parted's view of a layout: MIG device name ("1g.10gb", "1c.3g.40gb")
// -> count of compute instances. A GPU instance without any compute instance
// counts as "<name> (no compute instance)", so it never matches a config.
std::map<std::string, unsigned> device_counts(const ProfileTable& table,
                                              const std::vector<GpuInstance>& instances);
std::map<std::string, unsigned> device_counts(
    const ProfileTable& table, const std::vector<std::pair<std::string, unsigned>>& mig_devices);

}  // namespace gpuvm::mig
