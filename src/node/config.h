// node.yaml: the whole GPU layout of one host, declared (docs/node.md).
//
//   version: v1
//   gpus:
//     - address: "0000:41:00.0"
//       sriov: true              # all VFs (false: none; or a number)
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

struct GpuSpec {
  Bdf address;
  std::optional<int> vfs;  // nullopt: leave SR-IOV alone; 0: disabled; -1: all
  std::vector<VgpuSpec> vgpus;
  std::string where;  // "gpus[0]"
};

struct NodeSpec {
  std::vector<GpuSpec> gpus;
};

// Throws kInvalidArgument naming the file, the line and the key.
NodeSpec load_node_spec(const std::filesystem::path& file);
NodeSpec parse_node_spec(const std::string& yaml, const std::string& source_name);

}  // namespace gpuvm::node
