// gpuvm node apply: brings the host to a NodeSpec, in the order the hardware
// needs (a half-done SR-IOV sequence is finished, undeclared vGPUs go, then
// MIG mode, SR-IOV VFs, GPU instances, heterogeneous mode, vGPUs), changing
// only what differs, with a journal of
// planned and done steps in the state directory. A run killed at any point is completed by the
// next: every step is re-planned from the host's actual state, and the SR-IOV sequence keeps its
// own intent record (sriov.h). The caller holds the host lock.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/sysfs.h"
#include "mig/backend.h"
#include "node/config.h"

namespace gpuvm::node {

struct ApplyOptions {
  std::filesystem::path state_dir;
  bool dry_run = false;
  // Opens NVML (the MIG part's host) for a spec with MIG or heterogeneous
  // entries; called again after SR-IOV changes. Empty: such a spec fails.
  std::function<std::unique_ptr<mig::MigHost>()> open_nvml;
};

struct ApplyReport {
  std::vector<std::string> steps;  // done (or, dry run, planned), in order
  bool resumed = false;            // a journal of an interrupted run was found
  bool changed() const { return !steps.empty(); }
};

// <state-dir>/node.journal
std::filesystem::path journal_path(const std::filesystem::path& state_dir);

// Checks the whole spec against the host first (kInvalidArgument, nothing
// changed: unknown or non-GPU addresses, VFs beyond sriov_totalvfs, a pinned
// VF of another GPU, more vGPUs than the GPU has parents, MIG on a GPU
// without it, unknown MIG profiles, a GPU-instance layout that does not fit),
// then applies it. On a GPU whose entry has `vgpus`, vGPUs not declared are
// destroyed.
ApplyReport apply(const SysfsRoot& root, const NodeSpec& spec, const ApplyOptions& options);

}  // namespace gpuvm::node
