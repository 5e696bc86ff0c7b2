// What a host reports to gpuvmd (POST /api/v1/hosts, docs/scheduler.md
// "Inputs"): the host's real state turned into server::HostInventory.
//
// PCI devices are exactly those `gpuvm probe --format one` lists with its
// default selection, with the same field values (pci::one_fields computes
// them for both), plus two things OpenNebula's probe does not show and the
// scheduler needs: PHYSFN on every VF, and the PFs the probe hides because
// their VFs are enabled (so that every PHYSFN and every GPU names a reported
// device). GPUs are the NVIDIA display-class PFs among those, with their MIG
// table and instances and their mixed-size vGPU mode from NVML, and their
// vGPU types from sysfs (merged with NVML's full list where NVML has one).
//
// Called every few seconds by `gpuvm agent`: one probe pass over sysfs and
// NVML reads only, nothing written.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/sysfs.h"
#include "mig/backend.h"
#include "pci/device.h"
#include "pci/filter.h"
#include "pci/output.h"
#include "server/scheduler/model.h"

namespace gpuvm::pci {
class PciNames;
}

namespace gpuvm::agent {

// Builds what this host reports to gpuvmd. `nvml` nullptr: no NVML (MIG
// fields empty, heterogeneous off, vGPU types from sysfs only). A GPU NVML
// does not know, or one without MIG (NVML_ERROR_NOT_SUPPORTED), is reported
// without MIG. `names` nullptr: pci.ids through libpci's default, loaded for
// this call (pass one to reuse it across calls). Throws kInvalidArgument when
// the sysfs root is not a sysfs tree, and NvmlError for NVML failures other
// than NOT_SUPPORTED; the result passes server::validate().
server::HostInventory collect_inventory(const SysfsRoot& root, mig::MigHost* nvml,
                                        const std::string& host_name,
                                        pci::PciNames* names = nullptr);

// The host's last `gpuvm check --record` (<state-dir>/check.json, docs/check.md),
// reported with the inventory; nullopt when there is none, or it is larger than
// check::kMaxRecordBytes or not a valid record (gpuvmd would refuse the push).
std::optional<server::HostCheck> recorded_check(const std::filesystem::path& state_dir);

// One probed device as gpuvmd stores it: the template's fields
// (pci::one_fields of `view`) plus PHYSFN for a VF.
server::PciDevice from_probe(const pci::Device& d, const pci::OneView& view);

// The MIG part of a GPU from NVML's profile table: every profile with at
// least one placement, its memory slices being the placement size.
server::MigTable mig_table(const mig::ProfileTable& table);

// The GPU's vGPU types as its parents (its VFs, or the PF itself for
// pre-Ampere mdev) list them in sysfs, one entry per type id, with what the
// type name tells (framebuffer, backing GI profile) and what bounds the
// instance count per GPU: a legacy type's max_instance, one vGPU per VF, the
// GI profile's count for MIG-backed types, the board's memory for
// time-sliced ones. A MIG-backed type whose profile `gpu.mig` lacks is left
// out (gpuvmd could not place it).
std::vector<server::VgpuType> sysfs_vgpu_types(const std::vector<const pci::Device*>& parents,
                                               const server::Gpu& gpu);

}  // namespace gpuvm::agent
