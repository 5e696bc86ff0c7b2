// The host lock: every gpuvm command that changes GPU state (sriov, vgpu,
// one vgpu, node apply) holds it, so two of them never interleave their
// sysfs writes. flock(2), released by the kernel if the process dies.
#pragma once

#include <chrono>
#include <filesystem>

#include "core/lockfile.h"

namespace gpuvm::node {

// <state-dir>/host.lock
std::filesystem::path host_lock_path(const std::filesystem::path& state_dir);

// Waits up to `timeout` (boot units and OpenNebula hooks may race) and
// throws kBusy naming the lock file when another command still holds it.
LockFile lock_host(const std::filesystem::path& state_dir,
                   std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace gpuvm::node
