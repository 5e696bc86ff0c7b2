// The sysfs tree of a simulated host: every directory, attribute and link
// under the mount, derived from one HostState snapshot. The FUSE layer
// rebuilds it whenever the state file changes, so every read sees the
// current state, whichever process changed it.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "sim/host_state.h"

namespace gpuvm::sim {

// What a write to an attribute does (sysfs_writes.cpp).
enum class WriteOp {
  kNone,
  kSriovNumvfs,      // <PF>/sriov_numvfs
  kDriverBind,       // bus/pci/drivers/<drv>/bind
  kDriverUnbind,     // bus/pci/drivers/<drv>/unbind
  kDriverNewId,      // bus/pci/drivers/<drv>/new_id
  kDriverRemoveId,   // bus/pci/drivers/<drv>/remove_id
  kDriverOverride,   // <dev>/driver_override
  kReset,            // <PF>/reset
  kMdevCreate,       // <parent>/mdev_supported_types/nvidia-<id>/create
  kMdevRemove,       // <parent>/<uuid>/remove
  kCurrentVgpuType,  // <VF>/nvidia/current_vgpu_type
  kVgpuParams,       // <VF>/nvidia/vgpu_params
  kWarmUpdate,       // <VF>/nvidia/warm_update
  kBusRescan,        // bus/pci/rescan
  kUnsupported,      // writable in the kernel, not simulated: fails with EOPNOTSUPP
};

struct SysfsNode {
  enum class Kind { kDir, kFile, kLink };
  Kind kind = Kind::kDir;
  mode_t perm = 0755;             // permission bits as the kernel shows them
  std::string content;            // file bytes, or the link target
  std::optional<int> read_errno;  // reading fails with this (e.g. ENXIO)
  WriteOp write = WriteOp::kNone;
  std::string arg;                 // the write's object: a BDF, driver, type id or UUID
  std::set<std::string> children;  // directories: entry names
  size_t size = 4096;              // st_size: sysfs reports 4096 for attributes
};

class SysfsTree {
 public:
  static SysfsTree build(const HostState& state);
  // `path` relative to the mount: "" is the root, "bus/pci/devices" ...
  const SysfsNode* find(std::string_view path) const;
  size_t node_count() const { return nodes_.size(); }

 private:
  std::map<std::string, SysfsNode, std::less<>> nodes_;
  friend class TreeBuilder;
};

// PCI config space bytes of a simulated GPU function (exposed for tests).
std::string gpu_config_space(const GpuState& gpu, std::optional<uint32_t> vf);

}  // namespace gpuvm::sim
