// The whole simulated host as plain data, and the one file it lives in.
//
// Separate processes see one host: the FUSE daemon that serves the sysfs
// tree, the mock libnvidia-ml.so.1 loaded into any process, gpuvm-sim
// commands and tests all read and change the same state file through
// StateFile. Nothing here depends on FUSE or CLI11: the mock NVML (a shared
// library) links this code too.
//
// How a process finds the state file (docs/simulator.md, "State file"):
//   1. env GPUVM_SIM_STATE=<path of state.json>, if set;
//   2. else from the sysfs root it was given: a gpuvm-sim mount is listed in
//      /proc/self/mountinfo with file-system type "fuse.gpuvm-sim" and the
//      absolute state file path as its source (libfuse fsname), so the mount
//      itself says where its state is and the tree shows nothing the kernel
//      would not. state_path_for_mount() does this lookup.
// The state file is <state dir>/state.json; `gpuvm-sim up` prints
//   export GPUVM_SYSFS_ROOT=<mount> GPUVM_NVML_LIB=<lib> GPUVM_SIM_STATE=<state>
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bdf.h"
#include "sim/mig_state.h"

namespace gpuvm::sim {

inline constexpr std::string_view kSimStateEnv = "GPUVM_SIM_STATE";
inline constexpr std::string_view kStateFileName = "state.json";
// Bumped when the JSON layout changes incompatibly; read() rejects others.
inline constexpr int kStateFormatVersion = 1;

// How the NVIDIA host driver exposes vGPU on this GPU (reference nvidia.md §7).
enum class VgpuMode {
  kNone,            // passthrough only: no vGPU manager
  kLegacy,          // mdev: mdev_supported_types on the PF (pre-Ampere) or on VFs
  kVendorSpecific,  // vendor-specific VFIO: nvidia/current_vgpu_type on VFs
};
std::string_view vgpu_mode_name(VgpuMode mode);  // "none", "legacy", "vendor-specific"
std::optional<VgpuMode> parse_vgpu_mode(std::string_view text);

// One enabled SR-IOV virtual function of a GPU.
struct VfState {
  uint32_t iommu_group = 0;       // allocated when the VF appears, as the kernel does
  std::string driver = "nvidia";  // bound driver ("" = none); VFs probe to nvidia
  std::string driver_override;    // <VF>/driver_override ("" = (null))
  // Vendor-specific mode: nvidia/current_vgpu_type (0 = no vGPU on this VF).
  uint32_t vgpu_type = 0;
  // For a MIG-backed vGPU: the GI it runs on (nvidia/gpu_instance_id).
  std::optional<uint32_t> gpu_instance_id;
  // nvidia/placement_id, assigned by the driver when the vGPU is created.
  std::optional<uint32_t> placement_id;
  std::string vgpu_params;   // nvidia/vgpu_params, "key=value,..." or ""
  bool warm_update = false;  // nvidia/warm_update
};

// A legacy mediated device (written UUID to mdev_supported_types/<type>/create).
struct MdevState {
  std::string uuid;      // canonical lower-case form
  uint32_t type_id = 0;  // nvidia-<type_id>
  Bdf parent;            // the PF (pre-Ampere) or a VF
  uint32_t iommu_group = 0;
  std::optional<uint32_t> gpu_instance_id;  // MIG-backed types: the GI it runs on
};

struct GpuState {
  Bdf bdf;
  std::string model;           // key into the model catalog (sim/models.h), e.g. "H100-SXM5-80GB"
  int numa_node = -1;          // -1 = no NUMA information, as the kernel prints it
  std::string driver_version;  // e.g. "580.159.04"
  std::string uuid;            // "GPU-xxxxxxxx-...", as NVML prints it
  VgpuMode vgpu_mode = VgpuMode::kNone;
  uint32_t sriov_totalvfs = 0;  // 0 = no SR-IOV capability
  uint32_t iommu_group = 0;
  std::string driver = "nvidia";  // PF driver: nvidia, pci-pf-stub (sriov-manage), vfio-pci, ""
  std::string driver_override;    // <PF>/driver_override ("" = (null))
  std::vector<VfState> vfs;       // enabled VFs: sriov_numvfs == vfs.size()
  // nvmlDeviceSetVgpuHeterogeneousMode: off by default; cleared by sriov-manage.
  bool heterogeneous_mode = false;
  std::vector<MdevState> mdevs;  // legacy mode only
  MigState mig;
  // The GPU fell off the bus (Xid 79): sysfs reads of it fail, NVML says GPU_IS_LOST.
  bool fallen_off_bus = false;

  uint32_t sriov_numvfs() const { return static_cast<uint32_t>(vfs.size()); }
};

// A PCI function that is not a simulated NVIDIA GPU: NICs, NVMe, bridges.
struct PciDeviceState {
  Bdf bdf;
  uint16_t vendor = 0;
  uint16_t device = 0;
  uint16_t subsystem_vendor = 0;
  uint16_t subsystem_device = 0;
  uint32_t class_code = 0;  // 24 bits: class, subclass, prog-if (0x020000 = Ethernet)
  uint8_t revision = 0;
  int numa_node = -1;
  std::string driver;  // bound driver name, "" = none
  std::string driver_override;
  uint32_t iommu_group = 0;
  uint32_t sriov_totalvfs = 0;  // sriov_totalvfs/sriov_numvfs shown when > 0 (numvfs stays 0)
};

// One injected fault: the next `count` calls of `call` on `gpu` fail (or are
// slow). `call` is an NVML function name ("nvmlDeviceCreateGpuInstance") or a
// sysfs write ("sysfs:sriov_numvfs", "sysfs:current_vgpu_type", "sysfs:create").
struct FaultState {
  std::string call;
  std::optional<int> nvml_return;  // NVML return code for NVML calls
  std::optional<int> err_no;       // errno for sysfs writes
  int count = 1;                   // remaining failures; -1 = every call
  uint32_t delay_ms = 0;           // sleep before answering (slow call)
  std::optional<Bdf> gpu;          // only calls on this GPU; none = any GPU
};

// The rest of the host that gpuvm check reads (docs/simulator.md, "Host
// environment"): the kernel, its command line and modules, the services that
// run, bare metal or VM, the IOMMU, /dev/vfio and the QEMU user. `gpuvm-sim up`
// writes the /proc, /dev and /etc parts as plain files in the state directory;
// only `iommu` changes the FUSE tree (no iommu_group links when off).
struct HostEnv {
  std::string kernel_release = "6.8.0-49-generic";
  std::string cmdline =
      "BOOT_IMAGE=/boot/vmlinuz-6.8.0-49-generic root=/dev/sda1 ro intel_iommu=on iommu=pt";
  std::string cpu_vendor = "GenuineIntel";
  bool virtual_machine = false;  // /proc/cpuinfo's hypervisor flag
  bool iommu = true;             // false: kernel/iommu_groups empty, no iommu_group links
  // /proc/modules; nullopt = derived from the GPUs (nvidia, vfio, vfio_pci,
  // nvidia_vgpu_vfio for legacy vGPU, ...).
  std::optional<std::vector<std::string>> modules;
  // /proc/<pid>/comm; nullopt = nvidia-vgpud and nvidia-vgpu-mgr for a legacy vGPU host.
  std::optional<std::vector<std::string>> services;
  uint32_t vfio_mode = 0660;                       // /dev/vfio/<group> of each GPU, group kvm
  std::string qemu_user = "oneadmin";              // libvirt qemu.conf user
  std::vector<std::string> qemu_groups = {"kvm"};  // its supplementary groups

  bool operator==(const HostEnv&) const = default;
};

// Bookkeeping of the running simulator (gpuvm-sim up/status/down).
struct SimMeta {
  std::string spec_path;
  std::string mount;
  int daemon_pid = 0;
};

// An ID added to a driver through bus/pci/drivers/<driver>/new_id.
struct DynamicId {
  std::string driver;
  uint16_t vendor = 0;
  uint16_t device = 0;
};

struct HostState {
  uint64_t generation = 0;        // incremented by every StateFile::update
  uint32_t next_iommu_group = 0;  // the next group a new device gets
  SimMeta meta;
  HostEnv env;
  std::vector<DynamicId> dynamic_ids;
  std::vector<GpuState> gpus;
  std::vector<PciDeviceState> devices;
  std::vector<FaultState> faults;

  GpuState* find_gpu(const Bdf& bdf);
  const GpuState* find_gpu(const Bdf& bdf) const;
  // The GPU whose PF or VF has this address, with the VF index (nullopt = the PF).
  struct FunctionRef {
    const GpuState* gpu = nullptr;
    std::optional<uint32_t> vf;
  };
  std::optional<FunctionRef> find_function(const Bdf& bdf) const;

  // Takes the next matching fault for `call` on `gpu` (decrementing its
  // count, dropping it when spent) and returns a copy, or nullopt. Call it
  // inside StateFile::update so that concurrent processes share the count.
  std::optional<FaultState> take_fault(std::string_view call, const std::optional<Bdf>& gpu);
};

// Address of VF `index` (0-based) of a PF: the SR-IOV capability's First VF
// Offset and VF Stride (PCIe spec §9.3.3.10). NVIDIA GPUs use offset 4,
// stride 1 (A10: PF 41:00.0 -> virtfn0 41:00.4 ... virtfn31 41:04.3).
Bdf vf_bdf(const Bdf& pf, uint32_t index);

// JSON (nlohmann) form of the state; the state file holds exactly this.
std::string to_json(const HostState& state);
// Throws kInvalidArgument naming `origin` and what is wrong.
HostState from_json(std::string_view text, std::string_view origin);

// The state file: one JSON document, replaced atomically (write a temporary
// file in the same directory, rename; no fsync: the simulated host need not
// survive a crash of the real one) under an exclusive flock(2) on
// "<path>.lock", so that concurrent read-modify-writes from several processes
// serialize and readers never see a half-written file.
// The state file of the gpuvm-sim FUSE tree mounted at `mount` (read from
// /proc/self/mountinfo); nullopt when `mount` is not a gpuvm-sim mount.
std::optional<std::filesystem::path> state_path_for_mount(const std::filesystem::path& mount);
inline constexpr std::string_view kFuseSubtype = "gpuvm-sim";  // fstype "fuse.gpuvm-sim"
// The lookup order above: GPUVM_SIM_STATE, else the state of the gpuvm-sim
// mount at `sysfs_root` (when given); nullopt when neither names one.
std::optional<std::filesystem::path> locate_state_file(
    const std::optional<std::filesystem::path>& sysfs_root);

class StateFile {
 public:
  explicit StateFile(std::filesystem::path path);

  // <dir>/state.json
  static std::filesystem::path path_in(const std::filesystem::path& state_dir);
  // The path from GPUVM_SIM_STATE; nullopt when unset or empty.
  static std::optional<std::filesystem::path> from_env();

  const std::filesystem::path& path() const { return path_; }
  bool exists() const;

  // The current state. Throws kNotFound when the file does not exist,
  // kInvalidArgument when it is not a valid state file. Parses again only
  // when the file's bytes changed since the last read through this object.
  HostState read() const;
  // As read(), without copying: the reference stays valid until the next
  // read through this object. For hot paths (the FUSE daemon).
  const HostState& read_ref() const;
  // Creates or replaces the file with `state` (under the lock).
  void write(const HostState& state);
  // Locked read-modify-write: `fn` changes the state; when it returns
  // normally, the new state (generation + 1) replaces the file. When `fn`
  // throws, nothing is written and the exception propagates. Returns the
  // state as written.
  HostState update(const std::function<void(HostState&)>& fn);

 private:
  std::filesystem::path path_;
  // read() cache: the bytes last parsed and their result, and the file they
  // came from, held open. Every write replaces the file (rename), never
  // changes one in place, and an inode held open cannot be reused: so while
  // the path still names the held inode, the content is unchanged and a
  // read costs one stat(2).
  class HeldFile {
   public:
    HeldFile() = default;
    HeldFile(const HeldFile&) {}  // a copy re-reads on its first read
    HeldFile& operator=(const HeldFile&) {
      reset(-1);
      return *this;
    }
    ~HeldFile() { reset(-1); }
    void reset(int fd);
    int fd = -1;
    unsigned long dev = 0, ino = 0;
  };
  mutable std::string cached_text_;
  mutable std::optional<HostState> cached_state_;
  mutable HeldFile held_;

  void write_locked(const HostState& state) const;
};

}  // namespace gpuvm::sim
