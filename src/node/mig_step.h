// The MIG part of node apply: MIG mode, GPU instances and the vGPU
// heterogeneous mode of the GPUs node.yaml gives them for, through NVML
// (the MIG part's MigHost). Checked against the host before anything
// changes; run as journaled steps. Internal to node.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <vector>

#include "core/sysfs.h"
#include "mig/backend.h"
#include "mig/solver.h"
#include "node/apply.h"
#include "node/config.h"
#include "node/journal.h"
#include "pci/probe.h"

namespace gpuvm::node {

class MigSteps {
 public:
  MigSteps(const NodeSpec& spec, const ApplyOptions& options);

  // Opens NVML (when the spec needs it) and checks every GPU's MIG and
  // heterogeneous-mode entries against it. kInvalidArgument, nothing
  // changed: a GPU without MIG, an unknown profile (naming those the GPU
  // has), a layout that does not fit (naming the GPU and the instance),
  // MIG-backed vGPUs without their GPU instances, a mode the GPU lacks, MIG
  // turned off on a GPU with VFs whose entry leaves SR-IOV alone.
  void check(const SysfsRoot& root);

  // Whether the MIG mode of `gpu` changes in this run: every vGPU on it must
  // go first (the driver refuses the change while one exists).
  bool mode_changes(const Bdf& gpu) const;

  // MIG mode. Turning it off destroys the GPU instances and, where the GPU
  // has VFs, disables them (the driver refuses -mig 0 with VFs); those GPUs
  // are added to `vfs_dropped`.
  void set_modes(Steps& steps, const SysfsRoot& root, std::set<Bdf>& vfs_dropped);

  // Closes NVML before SR-IOV changes: sriov-manage cannot unbind a GPU that
  // an NVML client holds (reference nvidia.md §8.10), and the rebind makes
  // old handles stale. The next call that needs NVML opens it again.
  void release() { host_.reset(); }

  // GPU instances, after the VFs (enabling VFs wipes them, §0.7). `wiped`:
  // GPUs whose VFs changed in this run (a dry run plans them from nothing).
  void layouts(Steps& steps, const SysfsRoot& root, const std::set<Bdf>& wiped);

  // vGPU heterogeneous (mixed-size) mode, after the VFs (sriov-manage
  // clears it) and before the first vGPU (IN_USE once one exists).
  void heterogeneous(Steps& steps, const SysfsRoot& root, const std::set<Bdf>& wiped);

  // Whether the GPU instances of `gpu` change (or would, in a dry run).
  bool layout_changes(const Bdf& gpu) const { return layout_changes_.count(gpu) != 0; }

 private:
  struct Target {
    const GpuSpec* gpu = nullptr;
    bool mode_change = false;
    std::optional<std::vector<mig::GiSpec>> specs;
    std::map<std::string, unsigned> counts;  // mig::device_counts of the specs
  };
  mig::MigGpu& gpu(const Bdf& address, const std::string& where);
  void destroy_vgpus_on(Steps& steps, const SysfsRoot& root, const Bdf& gpu,
                        const std::vector<uint32_t>& gis);

  const NodeSpec& spec_;
  const ApplyOptions& options_;
  std::unique_ptr<mig::MigHost> host_;
  std::vector<Target> targets_;
  std::set<Bdf> layout_changes_;
};

}  // namespace gpuvm::node
