// node.yaml: the whole GPU layout of one host, declared (docs/node.md).
//
//   version: v1
//   gpus:
//     - address: "0000:41:00.0"
//       mig: {enabled: true, devices: {"3g.40gb": 1, "1g.10gb": 2}}  # or mig: false
//       sriov: true              # all VFs (false: none; or a number)
//       heterogeneous: true      # vGPU mixed-size mode (time-sliced vGPUs only)
//       vgpus:
//         - {type: H100XM-10C, count: 8}         # on the first VFs that hold none
//         - {type: A100-20C, vf: "0000:41:00.5", uuid: "..."}  # one pinned vGPU
//
// Unknown keys are rejected naming the key and where it is; every value is
// checked (addresses, UUIDs, types as path components) before anything runs.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/bdf.h"
#include "core/uuid.h"

namespace gpuvm::node {

struct VgpuSpec {
  std::string type;          // id or name, as gpuvm vgpu create --type
  int count = 1;             // without `vf`: how many on this GPU
  std::optional<Bdf> vf;     // a pinned parent
  std::optional<Uuid> uuid;  // legacy mdev only, with `vf`
  std::string where;         // "gpus[0].vgpus[1]" for messages
};

// MIG on one GPU: the mode, and the GPU instances in mig-parted's
// mig-devices syntax ("3g.40gb": 2 is two 3g GPU instances with one full
// compute instance each; "1c.3g.40gb": 3 packs 1-slice compute instances).
struct MigSpec {
  bool enabled = false;
  // nullopt: leave the GPU instances alone (mode only); {} with `enabled`: none.
  std::optional<std::vector<std::pair<std::string, unsigned>>> devices;
  std::string where;  // "gpus[0].mig"
};

struct GpuSpec {
  Bdf address;
  std::optional<MigSpec> mig;         // nullopt: leave MIG alone
  std::optional<int> vfs;             // nullopt: leave SR-IOV alone; 0: disabled; -1: all
  std::optional<bool> heterogeneous;  // nullopt: leave the vGPU mixed-size mode alone
  // Declared (the key is there, even empty): vGPUs of this GPU not declared
  // are destroyed. Not declared: the GPU's vGPUs are left alone.
  bool vgpus_declared = false;
  std::vector<VgpuSpec> vgpus;
  std::string where;  // "gpus[0]"
};

struct NodeSpec {
  std::vector<GpuSpec> gpus;
};

// Whether applying `spec` needs the NVML library (MIG or heterogeneous mode).
bool needs_nvml(const NodeSpec& spec);

// Throws kInvalidArgument naming the file, the line and the key.
NodeSpec load_node_spec(const std::filesystem::path& file);
NodeSpec parse_node_spec(const std::string& yaml, const std::string& source_name);

}  // namespace gpuvm::node
