// SR-IOV virtual functions of a PCI physical function.
//
// NVIDIA GPUs bound to nvidia.ko: the driver has no sriov_configure, so a
// plain write to sriov_numvfs fails (reference nvidia.md §2.4). VFs go
// through NVIDIA's sriov-manage path instead: either the script itself
// (Options::sriov_manage) or the same sysfs writes done here directly:
//   1. <drivers>/nvidia/unbind        <- PF   (the driver lets go of the GPU)
//   2. <PF>/driver_override           <- "pci-pf-stub"
//   3. <drivers>/pci-pf-stub/bind     <- PF   (a PF-only stub driver)
//   4. <PF>/sriov_numvfs              <- N    (pci-pf-stub has sriov_configure)
//   5. <drivers>/pci-pf-stub/unbind   <- PF
//   6. <PF>/driver_override           <- "\n" (cleared)
//   7. <drivers>/nvidia/bind          <- PF   (the vGPU manager takes it back)
//   8. <drivers>/nvidia/bind          <- each VF that autoprobe left unbound
// Disabling first unbinds every VF from its driver, then writes 0 the same
// way. Where the script writes "10de <device>" to pci-pf-stub/new_id, we set
// driver_override on this PF only: new_id would also bind every other
// unbound GPU of the same model. Not done here: the script's unbindLock in
// /proc/driver/nvidia (outside sysfs); a busy GPU shows up as EBUSY on
// nvidia/unbind, which is retried. Changing VFs this way wipes the
// GPU's MIG instances and heterogeneous mode (field note §8.4, §8.13), so it
// comes first at boot. Every other PF: sriov_numvfs alone.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/bdf.h"
#include "core/sysfs.h"

namespace gpuvm::sriov {

struct Options {
  // Run this sriov-manage script (checked with check_trusted_program) instead
  // of doing its sysfs writes directly. NVIDIA GPUs only.
  std::optional<std::filesystem::path> sriov_manage;
  // VFs to enable; default sriov_totalvfs (sriov-manage always enables all).
  std::optional<int> num_vfs;
  // disable: go on even while a VF holds a vGPU (the driver destroys it).
  bool force = false;
  // Compute and report the steps, write nothing.
  bool dry_run = false;
  // nvidia unbind fails with EBUSY while another client holds the GPU
  // ("Cannot obtain unbindLock", field note §8.10): retry this often.
  int busy_retries = 5;
  std::chrono::milliseconds busy_delay{1000};
  // Where the intent of a run in progress is recorded (<dir>/sriov/<PF>):
  // written before the first write, removed after the last. A run killed in
  // between leaves it, and the next run finishes the sequence even where sysfs
  // alone cannot tell (PF unbound, override cleared). Empty: no record.
  std::filesystem::path state_dir;
};

struct Result {
  Bdf pf;
  int vfs_before = 0;
  int vfs_after = 0;
  std::vector<Bdf> vfs;  // after the change, in virtfn order
  bool changed = false;
  std::vector<std::string> steps;  // what was (or, dry run, would be) done
};

// The PFs `gpuvm sriov ... --all` acts on: NVIDIA display-class PFs with
// sriov_totalvfs > 0, in address order.
std::vector<Bdf> nvidia_sriov_gpus(const SysfsRoot& root);

// Enables VFs on `pf`. No change when it already has the requested number.
// Throws kInvalidArgument (nothing changed) for a device that does not exist,
// is a VF, or is not SR-IOV capable; kBusy when VFs of another count exist.
Result enable(const SysfsRoot& root, const Bdf& pf, const Options& options = {});

// Disables the VFs of `pf`. Throws kBusy, naming the VFs, while any VF holds
// a vGPU (an mdev or a current_vgpu_type) unless options.force.
Result disable(const SysfsRoot& root, const Bdf& pf, const Options& options = {});

}  // namespace gpuvm::sriov
