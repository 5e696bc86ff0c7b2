// The control plane's domain model: what a host reports (its PCI devices as
// OpenNebula shows them, and per GPU the MIG and vGPU state), what a VM asks
// for, and what the scheduler hands out. Plain value types; no I/O, no JSON
// (model_json.h converts), so the scheduler is a pure function of them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gpuvm::server {

// One `PCI = [ ... ]` entry of OpenNebula's PCI_DEVICES (reference/opennebula.md
// §1 "Field computation"). Values are kept as ONE prints them (strings).
struct PciDevice {
  std::string address;        // ADDRESS "0000:41:00:4" (colon before F): the key
  std::string short_address;  // SHORT_ADDRESS, lspci's slot "41:00.4"
  std::string vendor;         // VENDOR, 4 lowercase hex digits
  std::string device;         // DEVICE
  std::string class_id;       // CLASS (class+subclass, no prog-if)
  std::string vendor_name, device_name, class_name;
  std::string numa_node = "-";  // NUMA_NODE: a number or "-" when unknown
  std::string ifname;           // IFNAME: the network interface or "-" ("" = not reported)
  // UUID, PROFILES and MDEV_MODE: NVIDIA VFs only, all three (PROFILES may be
  // empty); a non-empty MDEV_MODE marks such a VF.
  std::string uuid;       // UUID: UUIDv5 of ADDRESS
  std::string profiles;   // PROFILES: comma-joined vGPU types
  std::string mdev_mode;  // MDEV_MODE: "legacy" | "nvidia"
  std::string sriov;      // SRIOV (ONE 7.4): "vf" | "pf" | "no"
  std::string sriov_num;  // SRIOV_NUM: a PF's enabled VFs ("" = not reported)
  // gpuvm extension (not in ONE): ADDRESS of the physical function when this is
  // a VF. The scheduler needs the PF<->VF relation that ONE's probe hides.
  std::string physfn;

  std::string type() const { return vendor + ":" + device + ":" + class_id; }
  std::string domain() const;  // DOMAIN/BUS/SLOT/FUNCTION split from ADDRESS
  std::string bus() const;
  std::string slot() const;
  std::string function() const;
  // NUMA node as a number, -1 when unknown.
  int numa() const;
};

// One GPU-instance profile of a MIG board with its legal placements, in memory
// slices (reference/nvidia.md §5.3). The agent reports the board's table.
struct MigProfile {
  std::string name;              // "3g.40gb"
  uint32_t id = 0;               // NVML profile id (19, 14, 9, 5, 0...)
  uint32_t compute_slices = 0;   // the "3" of 3g
  uint32_t memory_slices = 0;    // placement size: 1, 2, 4 or 8
  uint32_t max_count = 0;        // instance count on an empty board (e.g. 1 for +me)
  std::vector<uint32_t> starts;  // legal placement starts, e.g. {0, 4}
};

struct MigTable {
  uint32_t memory_slices = 8;
  uint32_t compute_slices = 7;
  std::vector<MigProfile> profiles;

  const MigProfile* find(const std::string& name) const;
};

// A GPU instance that exists on the board (created by the node config or for
// an earlier allocation).
struct MigInstance {
  std::string profile;  // "3g.40gb"
  uint32_t start = 0;   // memory-slice placement start
};

// A vGPU type the GPU (or its VFs) offers.
struct VgpuType {
  std::string name;            // short name "H100XM-2-20C" (no "NVIDIA " prefix)
  uint32_t id = 0;             // type id as in creatable_vgpu_types ("1414")
  uint32_t max_instances = 0;  // per GPU
  uint64_t framebuffer_mb = 0;
  std::string mig_profile;  // GI profile backing a MIG-backed type; "" = time-sliced
};

// A vGPU that exists on the host now, as the agent reports it.
struct HostVgpu {
  std::string device;  // ONE ADDRESS of its VF (or of the PF, pre-Ampere mdev)
  std::string type;    // short type name, "H100XM-10C"
};

struct Gpu {
  std::string address;  // ONE ADDRESS of the physical function
  std::string model;    // e.g. "H100-SXM5-80GB"
  uint64_t framebuffer_mb = 0;
  bool mig_enabled = false;
  MigTable mig;                            // empty profiles: not MIG-capable
  std::vector<MigInstance> mig_instances;  // GIs that exist now
  std::vector<VgpuType> vgpu_types;
  // Several time-sliced vGPU types on one GPU at once (mixed-size mode); off,
  // one type per GPU, as the driver enforces by default.
  bool heterogeneous = false;
  // vGPUs on the host. Those no allocation accounts for (node.yaml's, or
  // made by hand) keep their VF and count against the GPU's capacity.
  std::vector<HostVgpu> vgpus;
};

// Everything a host reports: the monitoring push of the agent.
// One line of the host's last `gpuvm check` (docs/check.md), as the agent reports it.
struct HostCheckResult {
  std::string id, gpu, status, seen, fix;  // status: ok | warn | fail; gpu, fix may be ""
};
struct HostCheck {
  std::string status;  // the worst result: ok | warn | fail
  int64_t checked_at_ms = 0;
  std::vector<HostCheckResult> results;
};

struct HostInventory {
  std::string name;
  std::vector<PciDevice> pci;
  std::vector<Gpu> gpus;
  // The host's last recorded `gpuvm check` (optional: older agents, hosts never checked).
  std::optional<HostCheck> check;

  const PciDevice* find_pci(const std::string& address) const;
  const Gpu* find_gpu(const std::string& address) const;
};

// A host name gpuvmd accepts: 1-253 letters, digits, '-', '.', '_' (it is a
// path component of the API's URLs).
bool valid_host_name(std::string_view name);

// Throws kInvalidArgument naming the host/device/field when the inventory is
// inconsistent: duplicate or malformed addresses, a GPU that is not among the
// PCI devices, a PHYSFN that does not exist, bad MIG tables.
void validate(const HostInventory& inv);

enum class NumaPolicy { kNone, kPreferred, kRequired };
const char* numa_policy_name(NumaPolicy p);
NumaPolicy parse_numa_policy(const std::string& text);  // throws kInvalidArgument

// One PCI request of a VM: OpenNebula's attributes (VENDOR, DEVICE, CLASS,
// SHORT_ADDRESS, PROFILE) or by name (MIG profile, vGPU type).
struct PciRequest {
  std::string vendor{}, device{}, class_id{};  // 4 hex digits each, "" = any
  std::string short_address{};
  std::string
      profile{};  // vGPU type for a VF: id "588", "588 (NVIDIA A10-1B)", name or "nvidia-558"
  std::string mig_profile{};  // by name: a GPU instance such as "3g.40gb"
  std::string vgpu_type{};    // by name: "H100XM-2-20C"
};

struct VmRequest {
  std::vector<PciRequest> pci;
  NumaPolicy numa = NumaPolicy::kPreferred;
};

// Throws kInvalidArgument naming request N and the field, following ONE's
// rules (hex ids; SHORT_ADDRESS xor VENDOR/DEVICE/CLASS) plus ours (a name
// request stands alone).
void validate(const VmRequest& req);

enum class AllocKind { kPassthrough, kVgpu, kMig };
const char* alloc_kind_name(AllocKind k);
AllocKind parse_alloc_kind(const std::string& text);

// What one request of one VM got.
struct Allocation {
  int64_t vm_id = -1;
  int request_index = 0;
  std::string host;
  AllocKind kind = AllocKind::kPassthrough;
  std::string device;     // PCI ADDRESS handed to the VM (PF, VF, any device); "" for mdev on a PF
  std::string gpu;        // the GPU (PF ADDRESS) it lives on; "" for a non-GPU device
  std::string vgpu_type;  // vGPU type name, kVgpu/kMig with a VF
  std::string mig_profile;  // kMig and MIG-backed vGPU types
  int mig_start = -1;       // memory-slice start of the GI
  int numa_node = -1;
};

// Something gpuvmd asks a host's agent to do so that a VM's allocation
// exists on the host (docs/gpuvmd.md "Host commands"). Each op is idempotent
// on the host: an agent that dies mid-command runs it again on restart.
enum class CommandOp { kVgpuCreate, kVgpuDestroy, kGiCreate, kGiDestroy };
const char* command_op_name(CommandOp op);            // "vgpu.create", "gi.destroy", ...
CommandOp parse_command_op(const std::string& text);  // throws kInvalidArgument

struct HostCommand {
  int64_t id = 0;
  std::string host;
  int64_t vm_id = 0;
  CommandOp op = CommandOp::kVgpuCreate;
  std::string device;       // vgpu.*: the parent ADDRESS (a VF, or a pre-Ampere PF)
  std::string vgpu_type;    // vgpu.create: the type name ("H100XM-2-20C")
  std::string uuid;         // vgpu.* on a PF parent: the mdev UUID; "" on a VF
  std::string gpu;          // gi.*: the GPU's ADDRESS
  std::string mig_profile;  // gi.*: "3g.40gb"
  int mig_start = -1;       // gi.*: memory-slice placement start
  // queued -> done | failed; queued -> cancelled (the VM went away first);
  // done -> reverted (its undo was queued).
  std::string state = "queued";
  bool created = false;  // done: the host made something new (not a GI that was there)
  std::string message;   // the host's report
  int64_t created_at_ms = 0, updated_at_ms = 0;
};

// The commands that make a VM's allocations real on its host, in the order
// the hardware needs: each GPU instance before the vGPU that lives on it.
// Passthrough needs none.
std::vector<HostCommand> deploy_commands(const std::vector<Allocation>& allocs);
// The command that undoes a done one: a destroy for a create. nullopt when
// there is nothing to undo (a destroy, or a GI that existed before the VM).
std::optional<HostCommand> undo_command(const HostCommand& done);

// What GET /api/v1/hosts/NAME/commands answers: the queued commands, oldest
// first, and whether an operator asked for a fresh report.
struct CommandQueue {
  std::vector<HostCommand> commands;
  bool force_update = false;
};

// What an agent reports for one command.
struct CommandResult {
  bool ok = false;
  bool created = false;
  std::string message;
};

}  // namespace gpuvm::server
