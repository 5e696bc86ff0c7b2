// What the kernel and the NVIDIA host driver do to the simulated host: the
// vGPU capacity rules (which types a VF or mdev parent may create now) and
// the lifecycle events (VFs appear/disappear, driver unbind, GPU reset,
// reboot). Shared by the FUSE tree and the mock NVML so that both answer
// alike (e.g. creatable_vgpu_types and nvmlDeviceGetCreatableVgpus).
//
// Errors are gpuvm::Error with the errno the kernel would return in
// sys_errno(); the FUSE layer returns that errno to the writer.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "sim/host_state.h"
#include "sim/models.h"

namespace gpuvm::sim {

// Throws gpuvm::Error carrying `err` (EINVAL, EBUSY, ...) and the message.
[[noreturn]] void fail_errno(int err, std::string message);

// ---- vendor-specific VFIO (nvidia/creatable_vgpu_types on VFs) ------------

// Types VF `vf` of `gpu` can create now, as its creatable_vgpu_types lists
// them: none while the VF has a vGPU or the PF is not bound to nvidia;
// with MIG on, the MIG-backed types that have a GI of their profile not used
// by another vGPU; with MIG off, time-sliced types that still fit, only the
// type already in use when heterogeneous mode is off (one type per GPU).
std::vector<const VgpuTypeInfo*> vf_creatable_types(const GpuState& gpu, uint32_t vf);

// nvidia/current_vgpu_type write of `type_id` (0 = destroy) on VF `vf`.
void set_vf_vgpu_type(GpuState& gpu, uint32_t vf, long long type_id);

// ---- legacy mdev (mdev_supported_types) ---------------------------------

// Whether this function (the PF when `vf` is nullopt) is a registered mdev
// parent: legacy vGPU mode, bound to nvidia, on the PF for pre-Ampere GPUs,
// on the VFs otherwise.
bool is_mdev_parent(const GpuState& gpu, std::optional<uint32_t> vf);
// The types listed under the parent's mdev_supported_types: the MIG-backed
// ones while MIG is on, the time-sliced ones otherwise.
std::vector<const VgpuTypeInfo*> mdev_parent_types(const GpuState& gpu);
// available_instances of `type` on `parent` (the PF or one of the VFs).
uint32_t mdev_available_instances(const GpuState& gpu, const Bdf& parent, const VgpuTypeInfo& type);
// mdev_supported_types/nvidia-<id>/create with `uuid` (canonical form) on `parent`.
void create_mdev(HostState& host, GpuState& gpu, const Bdf& parent, uint32_t type_id,
                 const std::string& uuid);
// <mdev>/remove: drops the mdev with this UUID; false when none.
bool remove_mdev(HostState& host, const std::string& uuid);

// ---- lifecycle ------------------------------------------------------------

// SR-IOV: creates `n` VFs (bound to nvidia when a vGPU manager drives the
// GPU) or removes all of them with their vGPUs. Like sriov-manage, changing
// VFs wipes the GPU's MIG instances and clears heterogeneous mode.
void set_numvfs(HostState& host, GpuState& gpu, uint32_t n);
// What the nvidia driver's remove does to a GPU PF (sriov-manage unbinds it):
// GPU/compute instances, vGPUs and heterogeneous mode are gone.
void nvidia_pf_teardown(GpuState& gpu);
// What unbinding a VF from nvidia does: its vGPU or mdevs are destroyed.
void nvidia_vf_teardown(GpuState& gpu, uint32_t vf);
// GPU reset (nvidia-smi -r, sysfs reset): the pending MIG mode becomes
// current and instances are dropped. EBUSY while vGPUs exist.
void reset_gpu(GpuState& gpu);
// Host reboot: VFs, vGPUs, GPU/compute instances, driver overrides, new_id
// entries and heterogeneous mode are gone; MIG mode stays where the model
// keeps it (the pending mode takes effect); a fallen-off GPU is back.
void reboot_host(HostState& host);

}  // namespace gpuvm::sim
