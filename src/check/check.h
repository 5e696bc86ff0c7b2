// gpuvm check: is this host ready for GPU VMs (docs/check.md). Each check is a
// small function over a HostView (everything read once, through the injectable
// roots) returning results: an id, ok/warn/fail, what was seen and what to do.
// Library code never prints; the CLI (src/cli/check.cpp) formats the results.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/sysfs.h"
#include "mig/backend.h"
#include "pci/device.h"

namespace gpuvm::check {

// The roots besides sysfs; the real system's paths appear only here, as defaults.
inline constexpr std::string_view kDefaultProcRoot = "/proc";
inline constexpr std::string_view kProcRootEnv = "GPUVM_PROC_ROOT";
inline constexpr std::string_view kDefaultDevRoot = "/dev";
inline constexpr std::string_view kDevRootEnv = "GPUVM_DEV_ROOT";
inline constexpr std::string_view kDefaultEtcRoot = "/etc";
inline constexpr std::string_view kEtcRootEnv = "GPUVM_ETC_ROOT";

enum class Status { kOk, kWarn, kFail };
std::string_view status_name(Status s);  // "ok", "warn", "fail"

struct Result {
  std::string id;   // "iommu.enabled", "iommu.group", "sriov", ... (docs/check.md)
  std::string gpu;  // the GPU's address for per-GPU checks, "" for host-wide ones
  Status status = Status::kOk;
  std::string seen;  // what was found, with the paths/values it came from
  std::string fix;   // what to do; "" when nothing needs doing
};

struct Roots {
  SysfsRoot sysfs{std::filesystem::path(kDefaultSysfsRoot)};
  std::filesystem::path proc{kDefaultProcRoot};
  std::filesystem::path dev{kDefaultDevRoot};
  std::filesystem::path etc{kDefaultEtcRoot};
};

// One entry of <dev>/vfio (stat(2) of it; no open).
struct VfioNode {
  std::string name;  // "vfio", "12", "devices/vfio0"
  mode_t mode = 0;   // permission bits
  uid_t uid = 0;
  gid_t gid = 0;
};

// A local user as <etc>/passwd and <etc>/group describe it.
struct User {
  std::string name;
  uid_t uid = 0;
  std::set<gid_t> gids;  // primary and supplementary
};

// Everything the checks look at, read once. Fields are nullopt where the
// file was absent, so that a check can tell "not there" from "empty".
struct HostView {
  Roots roots;
  std::vector<pci::Device> devices;              // pci::probe, sorted by address
  std::optional<std::string> cmdline;            // <proc>/cmdline
  std::optional<std::string> kernel_release;     // <proc>/sys/kernel/osrelease
  std::optional<std::set<std::string>> modules;  // <proc>/modules, first column
  std::optional<std::string> nvidia_version;     // <proc>/driver/nvidia/version
  std::optional<std::string> cpu_vendor;         // <proc>/cpuinfo vendor_id
  std::optional<bool> cpu_hypervisor;            // <proc>/cpuinfo "hypervisor" flag
  std::set<std::string> processes;               // <proc>/<pid>/comm
  std::optional<std::map<int, std::vector<std::string>>> iommu_groups;  // group -> members
  std::optional<std::vector<VfioNode>> vfio;  // <dev>/vfio, nullopt: no dir
  std::optional<std::string> qemu_conf;       // <etc>/libvirt/qemu.conf
  std::string etc_passwd, etc_group;          // "" when absent
  // <state-dir>/agent.json as gpuvm agent left it (agent/status_file.h);
  // nullopt when absent. now_ms: this host's clock when the view was read.
  std::optional<std::string> agent_status;
  int64_t now_ms = 0;
  // NVML: the host, or why it did not open.
  std::unique_ptr<mig::MigHost> nvml;
  std::string nvml_error;

  // The devices that are NVIDIA GPUs (vendor 0x10de, display class), PFs only.
  std::vector<const pci::Device*> gpus() const;
  const pci::Device* device(const std::string& bdf) const;
  // Bare metal or a VM: the CPU's hypervisor flag, else virtio devices.
  bool is_vm() const;
};

struct Options {
  Roots roots;
  // Opens NVML; an exception (gpuvm::Error) is recorded in nvml_error.
  std::function<std::unique_ptr<mig::MigHost>()> open_nvml;
  // node.yaml to compare the host against; nullopt: <etc>/gpuvm/node.yaml if
  // it exists. A file given here that does not exist is bad input (kInvalidArgument).
  std::optional<std::filesystem::path> node_config;
  bool node_config_explicit = false;
  std::filesystem::path state_dir;  // for node apply's dry run (journal)
};

// Reads the host. Throws kInvalidArgument when the sysfs root is not a sysfs tree.
HostView read_host(const Roots& roots, std::function<std::unique_ptr<mig::MigHost>()> open_nvml);

// The checks, one small function each (docs/check.md lists them).
Result check_host_kind(const HostView& h);
Result check_iommu_enabled(const HostView& h);
Result check_iommu_cmdline(const HostView& h);
std::vector<Result> check_iommu_groups(const HostView& h);
std::vector<Result> check_sriov(const HostView& h);
Result check_nvidia_driver(const HostView& h);
Result check_nouveau(const HostView& h);
Result check_vfio_pci(const HostView& h);
Result check_vgpu_manager(const HostView& h);
std::vector<Result> check_mig(const HostView& h);
Result check_vfio_modes(const HostView& h);
Result check_qemu_access(const HostView& h);
// node.yaml valid and applied (a dry run of gpuvm node apply finds nothing to do).
Result check_node_config(const HostView& h, const Options& options);
Result check_units(const HostView& h, const Options& options);
// gpuvm agent reaches gpuvmd (its last push, its current error), and this
// host's clock against gpuvmd's as the agent last saw it.
Result check_agent(const HostView& h);
Result check_clock(const HostView& h);

// Every check, in the order docs/check.md lists them.
std::vector<Result> run_all(const Options& options);
std::vector<Result> run_all(const HostView& h, const Options& options);

// Helpers exposed for tests.
// "6.8.0-49-generic" -> {6, 8}; nullopt when it does not start with N.N.
std::optional<std::pair<int, int>> kernel_version(std::string_view release);
// The version in /proc/driver/nvidia/version's first line ("580.159.04").
std::optional<std::string> nvidia_module_version(std::string_view text);
// The user named `name` from passwd/group texts; nullopt when unknown.
std::optional<User> find_user(std::string_view name, std::string_view passwd,
                              std::string_view group);
// Whether `user` may open `node` for reading and writing (owner, group, other bits).
bool can_open_rw(const User& user, const VfioNode& node);
// libvirt's qemu.conf `user = "..."`; nullopt when the key is absent.
std::optional<std::string> qemu_conf_value(std::string_view conf, std::string_view key);

}  // namespace gpuvm::check
