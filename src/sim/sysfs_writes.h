// What a write to a simulated sysfs attribute does: the kernel's and the
// NVIDIA driver's store() functions, including their errno. Runs inside
// StateFile::update, so it sees and changes the current shared state.
#pragma once

#include <string_view>

#include "sim/host_state.h"
#include "sim/sysfs_tree.h"

namespace gpuvm::sim {

// The fault-injection name of a write: "sysfs:<attribute file name>".
std::string fault_call_for(std::string_view path);
// The GPU a write concerns (for GPU-scoped faults), if any.
std::optional<Bdf> fault_gpu_for(const HostState& state, const SysfsNode& node);

// Applies `data` written to the attribute `node` (found at `path`). Throws
// gpuvm::Error whose sys_errno() is what write(2) fails with.
void apply_write(HostState& state, const SysfsNode& node, std::string_view path,
                 std::string_view data);

}  // namespace gpuvm::sim
