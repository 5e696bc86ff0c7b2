// The /proc, /dev and /etc parts of a simulated host (HostEnv), written by
// `gpuvm-sim up` as plain files in the state directory: <state>/proc,
// <state>/dev, <state>/etc. gpuvm check reads them through --proc-root,
// --dev-root and --etc-root (docs/simulator.md, "Host environment"). They
// show the host at power-on; later binds do not change them.
#pragma once

#include <filesystem>

#include "sim/host_state.h"

namespace gpuvm::sim {

struct HostFileRoots {
  std::filesystem::path proc, dev, etc;
};

HostFileRoots host_file_roots(const std::filesystem::path& state_dir);

// The modules and services of `state` (HostEnv's lists, or the ones its GPUs imply).
std::vector<std::string> host_modules(const HostState& state);
std::vector<std::string> host_services(const HostState& state);

// (Re)creates the three trees under `state_dir`. Throws Error naming the path.
HostFileRoots write_host_files(const HostState& state, const std::filesystem::path& state_dir);

}  // namespace gpuvm::sim
