// The checks of gpuvm check, one function each; docs/check.md lists them with
// the facts and fixes they rely on.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "agent/status_file.h"
#include "check/check.h"
#include "core/error.h"
#include "core/files.h"
#include "node/apply.h"
#include "node/config.h"

namespace gpuvm::check {

namespace fs = std::filesystem;

namespace {

Result make(std::string id, Status status, std::string seen, std::string fix = "",
            std::string gpu = "") {
  return Result{std::move(id), std::move(gpu), status, std::move(seen), std::move(fix)};
}

bool has_module(const HostView& h, std::string_view name) {
  return h.modules && h.modules->contains(std::string(name));
}

// Words of the kernel command line (Documentation/admin-guide/kernel-parameters.rst).
std::vector<std::string> cmdline_words(const std::string& cmdline) {
  std::vector<std::string> out;
  std::istringstream in(cmdline);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::string join(const std::vector<std::string>& items, std::string_view sep = ", ") {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : std::string(sep)) + i;
  return out;
}

std::string mode_str(mode_t m) {
  return fmt::format("{:04o}", static_cast<unsigned>(m));
}

bool same_slot(const Bdf& a, const Bdf& b) {
  return a.domain == b.domain && a.bus == b.bus && a.device == b.device;
}

}  // namespace

std::string_view status_name(Status s) {
  switch (s) {
    case Status::kOk:
      return "ok";
    case Status::kWarn:
      return "warn";
    case Status::kFail:
      return "fail";
  }
  return "?";
}

std::optional<std::pair<int, int>> kernel_version(std::string_view release) {
  int major = 0, minor = 0;
  const char* end = release.data() + release.size();
  auto [p, ec] = std::from_chars(release.data(), end, major);
  if (ec != std::errc() || p == end || *p != '.') return std::nullopt;
  auto [q, ec2] = std::from_chars(p + 1, end, minor);
  if (ec2 != std::errc() || q == p + 1) return std::nullopt;
  return std::make_pair(major, minor);
}

std::optional<std::string> nvidia_module_version(std::string_view text) {
  // "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.159.04  Release Build ..."
  // or "... Open Kernel Module for x86_64  580.95.05  ...": the first N.N[.N] word.
  const std::string first(text.substr(0, text.find('\n')));
  static const std::regex version(R"((^|\s)(\d+\.\d+(\.\d+)?)(\s|$))");
  std::smatch m;
  if (!std::regex_search(first, m, version)) return std::nullopt;
  return m[2].str();
}

std::optional<std::string> qemu_conf_value(std::string_view conf, std::string_view key) {
  // qemu.conf is libvirt's "key = value" format; '#' starts a comment.
  std::optional<std::string> value;
  std::istringstream in{std::string(conf)};
  for (std::string line; std::getline(in, line);) {
    line = line.substr(0, line.find('#'));
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    auto trim = [](std::string s) {
      const auto b = s.find_first_not_of(" \t");
      const auto e = s.find_last_not_of(" \t");
      return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
    };
    if (trim(line.substr(0, eq)) != key) continue;
    std::string v = trim(line.substr(eq + 1));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    value = v;  // the last assignment wins
  }
  return value;
}

std::optional<User> find_user(std::string_view name, std::string_view passwd,
                              std::string_view group) {
  auto fields = [](const std::string& line) {
    std::vector<std::string> f;
    size_t start = 0;
    for (;;) {
      const auto c = line.find(':', start);
      f.push_back(line.substr(start, c == std::string::npos ? std::string::npos : c - start));
      if (c == std::string::npos) return f;
      start = c + 1;
    }
  };
  auto number = [](const std::string& s) -> std::optional<unsigned> {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
  };
  // qemu.conf allows "+UID" for a numeric user.
  std::optional<unsigned> by_uid;
  if (name.starts_with('+')) by_uid = number(std::string(name.substr(1)));
  std::optional<User> user;
  std::istringstream pw{std::string(passwd)};
  for (std::string line; std::getline(pw, line);) {
    auto f = fields(line);  // passwd(5): name:password:UID:GID:GECOS:dir:shell
    if (f.size() < 4) continue;
    auto uid = number(f[2]), gid = number(f[3]);
    if (!uid || !gid) continue;
    if (by_uid ? *uid == *by_uid : f[0] == name) {
      user = User{f[0], static_cast<uid_t>(*uid), {static_cast<gid_t>(*gid)}};
      break;
    }
  }
  if (!user) return std::nullopt;
  std::istringstream gr{std::string(group)};
  for (std::string line; std::getline(gr, line);) {
    auto f = fields(line);  // group(5): name:password:GID:user_list
    if (f.size() < 4) continue;
    auto gid = number(f[2]);
    if (!gid) continue;
    std::istringstream members(f[3]);
    for (std::string m; std::getline(members, m, ',');)
      if (m == user->name) user->gids.insert(static_cast<gid_t>(*gid));
  }
  return user;
}

bool can_open_rw(const User& user, const VfioNode& node) {
  // The permission bits the kernel applies (path_resolution(7)): owner, else
  // group, else other. root is not the QEMU user we care about.
  mode_t bits = node.mode & 07;
  if (node.uid == user.uid)
    bits = (node.mode >> 6) & 07;
  else if (user.gids.contains(node.gid))
    bits = (node.mode >> 3) & 07;
  return (bits & 06) == 06;
}

Result check_host_kind(const HostView& h) {
  if (!h.is_vm()) {
    return make("host.kind", Status::kOk,
                h.cpu_hypervisor ? "bare metal (no hypervisor flag in /proc/cpuinfo)"
                                 : "bare metal (no virtio devices; /proc/cpuinfo not read)");
  }
  return make("host.kind", Status::kWarn,
              h.cpu_hypervisor ? "a virtual machine (/proc/cpuinfo has the hypervisor flag)"
                               : "a virtual machine (virtio PCI devices, vendor 1af4)",
              "GPU VMs inside a VM need a virtual IOMMU, and a passed-through GPU gets no "
              "SR-IOV and no reset from inside; run gpuvm on the bare-metal host");
}

Result check_iommu_enabled(const HostView& h) {
  const std::string where = h.roots.sysfs.iommu_groups().string();
  if (h.iommu_groups && !h.iommu_groups->empty()) {
    return make("iommu.enabled", Status::kOk,
                fmt::format("{} IOMMU groups in {}", h.iommu_groups->size(), where));
  }
  const bool intel = h.cpu_vendor == "GenuineIntel";
  std::string fix = h.is_vm()
                        ? "give the VM a virtual IOMMU (QEMU -device intel-iommu,caching-mode=on "
                          "or virtio-iommu), or run on the bare-metal host"
                        : fmt::format("enable {} in the firmware (BIOS/UEFI) and boot with {}",
                                      intel ? "VT-d" : "VT-d / AMD-Vi (IOMMU)",
                                      intel ? "intel_iommu=on iommu=pt" : "iommu=pt");
  return make(
      "iommu.enabled", Status::kFail,
      fmt::format("no IOMMU groups in {}: the IOMMU is off, VFIO cannot assign devices", where),
      std::move(fix));
}

Result check_iommu_cmdline(const HostView& h) {
  if (!h.cmdline) {
    return make("iommu.cmdline", Status::kWarn,
                fmt::format("{} not readable", (h.roots.proc / "cmdline").string()),
                "run gpuvm check where /proc is visible (or pass --proc-root)");
  }
  const auto words = cmdline_words(*h.cmdline);
  auto has = [&](std::string_view w) {
    return std::find(words.begin(), words.end(), w) != words.end();
  };
  auto prefixed = [&](std::string_view p) {
    for (const auto& w : words)
      if (w.starts_with(p)) return w;
    return std::string();
  };
  std::vector<std::string> seen;
  for (const char* p : {"intel_iommu=", "amd_iommu=", "iommu="})
    if (auto w = prefixed(p); !w.empty()) seen.push_back(w);
  const std::string shown = seen.empty() ? "no IOMMU options" : join(seen, " ");
  const bool groups = h.iommu_groups && !h.iommu_groups->empty();
  // kernel-parameters.rst: intel_iommu=off / amd_iommu=off / iommu=off disable it.
  if (has("intel_iommu=off") || has("amd_iommu=off") || has("iommu=off")) {
    return make("iommu.cmdline", Status::kFail, "kernel command line: " + shown,
                "remove the =off option and boot with intel_iommu=on iommu=pt (Intel) or "
                "iommu=pt (AMD)");
  }
  if (!groups && h.cpu_vendor == "GenuineIntel" && !has("intel_iommu=on")) {
    return make("iommu.cmdline", Status::kFail,
                "kernel command line: " + shown + " on an Intel CPU, and no IOMMU groups",
                "add intel_iommu=on iommu=pt to the kernel command line (GRUB_CMDLINE_LINUX in "
                "/etc/default/grub, then update-grub) and reboot");
  }
  if (!has("iommu=pt")) {
    return make("iommu.cmdline", Status::kWarn, "kernel command line: " + shown + " (no iommu=pt)",
                "add iommu=pt: host devices then bypass DMA translation (the setting NVIDIA's "
                "vGPU guide and OpenNebula use)");
  }
  return make("iommu.cmdline", Status::kOk, "kernel command line: " + shown);
}

std::vector<Result> check_iommu_groups(const HostView& h) {
  std::vector<Result> out;
  const bool groups = h.iommu_groups && !h.iommu_groups->empty();
  for (const pci::Device* g : h.gpus()) {
    const std::string bdf = g->bdf.str();
    if (!g->iommu_group) {
      if (groups)
        out.push_back(make("iommu.group", Status::kFail, "no iommu_group link",
                           "the IOMMU does not cover this GPU's slot: check the firmware's "
                           "IOMMU/ACS settings",
                           bdf));
      else
        out.push_back(make("iommu.group", Status::kFail, "no IOMMU group (IOMMU off)",
                           "see iommu.enabled", bdf));
      continue;
    }
    std::vector<std::string> functions, endpoints, bridges;
    if (h.iommu_groups) {
      auto it = h.iommu_groups->find(*g->iommu_group);
      if (it != h.iommu_groups->end()) {
        for (const std::string& m : it->second) {
          if (m == bdf) continue;
          const pci::Device* d = h.device(m);
          // VFs of this GPU have groups of their own; a member that is one is listed.
          if (d && d->physfn && *d->physfn == g->bdf) continue;
          if (d && (d->class_code >> 8) == 0x0604) {
            bridges.push_back(m);  // PCI bridge (class 0x0604): the switch port above it
          } else if (d && same_slot(d->bdf, g->bdf)) {
            functions.push_back(m);
          } else {
            endpoints.push_back(m);
          }
        }
      }
    }
    std::string seen = fmt::format("group {}", *g->iommu_group);
    if (functions.empty() && endpoints.empty()) {
      seen +=
          bridges.empty() ? ", the GPU alone" : ", with PCI bridges only (" + join(bridges) + ")";
      out.push_back(make("iommu.group", Status::kOk, seen, "", bdf));
      continue;
    }
    std::string fix;
    if (!functions.empty()) {
      seen += ", other functions of the GPU: " + join(functions);
      fix =
          "all functions of the GPU (its audio or USB function) go to the same VM: assign "
          "them together (bind them to vfio-pci)";
    }
    if (!endpoints.empty()) {
      seen += ", shared with: " + join(endpoints);
      fix += std::string(fix.empty() ? "" : "; ") +
             "every device of the group must go to the same VM or stay unbound: move the GPU "
             "to a slot behind an ACS-capable port, or enable ACS in the firmware";
    }
    out.push_back(make("iommu.group", Status::kWarn, seen, fix, bdf));
  }
  return out;
}

std::vector<Result> check_sriov(const HostView& h) {
  std::vector<Result> out;
  const bool vgpu = has_module(h, "nvidia_vgpu_vfio") ||
                    std::any_of(h.devices.begin(), h.devices.end(),
                                [](const pci::Device& d) { return d.nvidia_vgpu_dir; });
  for (const pci::Device* g : h.gpus()) {
    const std::string bdf = g->bdf.str();
    // drivers/pci/iov.c: sriov_totalvfs / sriov_numvfs exist when the kernel
    // set up the SR-IOV capability (resources assigned, ARI where needed).
    if (!g->sriov_totalvfs || *g->sriov_totalvfs == 0) {
      if (h.is_vm()) {
        out.push_back(make("sriov", Status::kOk,
                           "no SR-IOV (a GPU passed through to this VM shows none)", "", bdf));
      } else if (g->mdev_parent) {
        out.push_back(make("sriov", Status::kOk,
                           "no SR-IOV; vGPUs on the GPU itself (legacy mdev parent)", "", bdf));
      } else {
        out.push_back(make(
            "sriov", Status::kWarn, g->sriov_totalvfs ? "sriov_totalvfs is 0" : "no sriov_totalvfs",
            "Ampere and later data-center GPUs have SR-IOV: 0 or none usually means SR-IOV "
            "or ARI is off in the BIOS (enable both); older GPUs (T4, V100) have none",
            bdf));
      }
      continue;
    }
    const int total = *g->sriov_totalvfs, num = g->sriov_numvfs.value_or(0);
    if (num > 0) {
      out.push_back(
          make("sriov", Status::kOk, fmt::format("{}/{} VFs enabled", num, total), "", bdf));
    } else if (vgpu) {
      out.push_back(make("sriov", Status::kWarn,
                         fmt::format("0/{} VFs enabled (vGPUs live on VFs)", total),
                         fmt::format("gpuvm sriov enable {} (or sriov: true in node.yaml, "
                                     "applied at boot by gpuvm-node.service)",
                                     bdf),
                         bdf));
    } else {
      out.push_back(make(
          "sriov", Status::kOk,
          fmt::format("SR-IOV capable, 0/{} VFs enabled (needed for vGPU only)", total), "", bdf));
    }
  }
  return out;
}

Result check_nvidia_driver(const HostView& h) {
  const auto gpus = h.gpus();
  if (gpus.empty()) {
    return make("driver.nvidia", Status::kFail,
                fmt::format("no NVIDIA GPU in {}", h.roots.sysfs.pci_devices().string()),
                "check that the GPU is seated and powered, and shown by lspci");
  }
  std::vector<std::string> drivers;
  size_t on_vfio = 0, unbound = 0, on_nvidia = 0;
  for (const pci::Device* g : gpus) {
    drivers.push_back(g->bdf.str() + " " + g->driver.value_or("(none)"));
    if (g->driver == "vfio-pci") ++on_vfio;
    if (g->driver == "nvidia") ++on_nvidia;
    if (!g->driver) ++unbound;
  }
  const auto module = h.nvidia_version ? nvidia_module_version(*h.nvidia_version) : std::nullopt;
  if (!h.nvidia_version && !has_module(h, "nvidia") && on_nvidia == 0) {
    if (on_vfio == gpus.size()) {
      return make("driver.nvidia", Status::kOk,
                  "no NVIDIA driver; every GPU is on vfio-pci (whole-GPU passthrough only)");
    }
    return make("driver.nvidia", Status::kFail,
                fmt::format("nvidia.ko not loaded ({} missing); GPUs: {}",
                            (h.roots.proc / "driver/nvidia/version").string(), join(drivers)),
                "install the NVIDIA driver (the vGPU host driver for vGPU, the data-center "
                "driver for MIG) and load it: modprobe nvidia");
  }
  std::string seen =
      "NVIDIA kernel module " +
      module.value_or(h.nvidia_version
                          ? "(version unreadable)"
                          : "(no " + (h.roots.proc / "driver/nvidia/version").string() + ")");
  if (h.nvml) {
    std::string nvml_version;
    try {
      nvml_version = h.nvml->driver_version();
    } catch (const Error& e) {
      return make("driver.nvidia", Status::kFail, seen + "; NVML: " + e.what(),
                  "reload the driver or reboot: NVML does not answer");
    }
    // nvmlSystemGetDriverVersion: the user-space library's version; a
    // mismatch is NVML_ERROR_LIB_RM_VERSION_MISMATCH territory.
    if (module && nvml_version != *module) {
      return make("driver.nvidia", Status::kFail,
                  fmt::format("{}, but NVML (user space) is {}", seen, nvml_version),
                  "install the user-space libraries of the same driver version, or reboot "
                  "into the installed kernel module");
    }
    seen += ", NVML " + nvml_version;
  } else {
    return make("driver.nvidia", Status::kWarn, seen + "; NVML did not load: " + h.nvml_error,
                "install the driver's libnvidia-ml.so.1 (or pass --nvml-lib): MIG and vGPU "
                "types need NVML");
  }
  if (unbound > 0) {
    return make("driver.nvidia", Status::kWarn, seen + "; GPUs: " + join(drivers),
                "bind the unbound GPUs: echo ADDRESS > /sys/bus/pci/drivers/nvidia/bind");
  }
  return make("driver.nvidia", Status::kOk, seen + "; GPUs: " + join(drivers));
}

Result check_nouveau(const HostView& h) {
  std::vector<std::string> bound;
  for (const auto& d : h.devices)
    if (d.vendor_id == 0x10de && d.driver == "nouveau") bound.push_back(d.bdf.str());
  const std::string fix =
      "blacklist nouveau (echo 'blacklist nouveau' > /etc/modprobe.d/blacklist-nouveau.conf; "
      "update-initramfs -u) and reboot";
  if (!bound.empty())
    return make("driver.nouveau", Status::kFail, "nouveau drives " + join(bound), fix);
  if (has_module(h, "nouveau"))
    return make("driver.nouveau", Status::kWarn, "nouveau is loaded (no GPU bound to it)", fix);
  return make("driver.nouveau", Status::kOk, "nouveau not loaded");
}

Result check_vfio_pci(const HostView& h) {
  // vfio-pci as a module (/proc/modules) or built in (its bus/pci/drivers entry).
  std::error_code ec;
  const bool dir = fs::exists(h.roots.sysfs.root() / "bus/pci/drivers/vfio-pci", ec);
  if (has_module(h, "vfio_pci") || dir) {
    return make("driver.vfio-pci", Status::kOk,
                has_module(h, "vfio_pci") ? "vfio_pci loaded" : "vfio-pci driver registered");
  }
  return make("driver.vfio-pci", Status::kWarn, "vfio-pci not loaded",
              "modprobe vfio-pci (and list it in /etc/modules-load.d/): whole-GPU passthrough "
              "binds the GPU to it");
}

Result check_vgpu_manager(const HostView& h) {
  std::error_code ec;
  const bool legacy =
      has_module(h, "nvidia_vgpu_vfio") || fs::exists(h.roots.sysfs.root() / "class/mdev_bus", ec);
  size_t vendor_vfs = 0, vfs = 0;
  for (const auto& d : h.devices) {
    if (d.nvidia_vgpu_dir) ++vendor_vfs;
    if (d.vendor_id == 0x10de && d.sriov_role == pci::SriovRole::kVf) ++vfs;
  }
  const auto kver = h.kernel_release ? kernel_version(*h.kernel_release) : std::nullopt;
  const std::string kernel = h.kernel_release.value_or("unknown");
  const bool new_kernel = kver && *kver >= std::make_pair(6, 8);
  const bool mgr = h.processes.contains("nvidia-vgpu-mgr");
  if (legacy) {
    // The legacy (mdev) interface: nvidia-vgpu-mgr serves every vGPU
    // (NVIDIA vGPU user guide, "Verifying the installation").
    std::string seen = "legacy mdev vGPU manager (nvidia_vgpu_vfio)";
    if (!mgr) {
      return make("driver.vgpu", Status::kFail, seen + ", but nvidia-vgpu-mgr is not running",
                  "systemctl enable --now nvidia-vgpud.service nvidia-vgpu-mgr.service");
    }
    return make("driver.vgpu", Status::kOk,
                seen + ", nvidia-vgpu-mgr running" +
                    (h.processes.contains("nvidia-vgpud") ? ", nvidia-vgpud running" : ""));
  }
  if (vendor_vfs > 0) {
    // Vendor-specific VFIO (nvidia/creatable_vgpu_types on VFs) needs 6.8+.
    if (kver && !new_kernel) {
      return make("driver.vgpu", Status::kWarn,
                  fmt::format("vendor-specific vGPU on {} VFs, kernel {}", vendor_vfs, kernel),
                  "NVIDIA supports the vendor-specific VFIO interface on kernel 6.8 and later");
    }
    return make("driver.vgpu", Status::kOk,
                fmt::format("vendor-specific VFIO vGPU (nvidia/creatable_vgpu_types on {} VFs), "
                            "kernel {}",
                            vendor_vfs, kernel));
  }
  if (vfs > 0) {
    return make("driver.vgpu", Status::kWarn,
                fmt::format("{} VFs enabled but none has nvidia/creatable_vgpu_types and no mdev "
                            "bus (kernel {})",
                            vfs, kernel),
                new_kernel ? "install the NVIDIA vGPU host driver (vGPU 17+ for the "
                             "vendor-specific interface) and re-enable the VFs after it loads"
                           : "install the NVIDIA vGPU host driver (nvidia_vgpu_vfio on kernels "
                             "before 6.8)");
  }
  return make("driver.vgpu", Status::kOk,
              fmt::format("no vGPU manager: whole-GPU passthrough (and MIG), kernel {}", kernel));
}

std::vector<Result> check_mig(const HostView& h) {
  std::vector<Result> out;
  if (!h.nvml) {
    if (!h.gpus().empty())
      out.push_back(
          make("mig", Status::kWarn, "MIG unknown: NVML did not load", "see driver.nvidia"));
    return out;
  }
  for (const pci::Device* g : h.gpus()) {
    const std::string bdf = g->bdf.str();
    mig::MigGpu* gpu = nullptr;
    try {
      gpu = mig::find_gpu(*h.nvml, g->bdf);
    } catch (const Error& e) {
      out.push_back(make("mig", Status::kWarn, std::string("NVML: ") + e.what(), "", bdf));
      continue;
    }
    if (!gpu) {
      out.push_back(make("mig", Status::kWarn, "NVML does not list this GPU",
                         "bind it to nvidia (MIG needs the NVIDIA driver)", bdf));
      continue;
    }
    mig::MigMode mode;
    try {
      mode = gpu->mig_mode();  // nvmlDeviceGetMigMode: NOT_SUPPORTED without MIG
    } catch (const mig::NvmlError& e) {
      if (e.rc() == NVML_ERROR_NOT_SUPPORTED) {
        out.push_back(make("mig", Status::kOk, "not MIG-capable", "", bdf));
      } else {
        out.push_back(make("mig", Status::kWarn, std::string("NVML: ") + e.what(), "", bdf));
      }
      continue;
    }
    auto on = [](bool b) { return b ? "on" : "off"; };
    if (mode.current == mode.pending) {
      out.push_back(
          make("mig", Status::kOk, fmt::format("MIG-capable, MIG {}", on(mode.current)), "", bdf));
      continue;
    }
    const std::string seen = fmt::format("MIG {} now, {} pending (after a GPU reset)",
                                         on(mode.current), on(mode.pending));
    std::error_code ec;
    // pci-sysfs.c reset_store: present when the kernel has a reset method for it.
    const bool reset = fs::exists(h.roots.sysfs.pci_device(g->bdf) / "reset", ec);
    std::string fix;
    if (h.is_vm())
      fix = "a passed-through GPU cannot be reset from inside the VM: reboot the VM";
    else if (reset)
      fix =
          "stop the GPU's clients (nvidia-persistenced, nvidia-fabricmanager, DCGM, VMs) and "
          "reset it (nvidia-smi -r), or reboot";
    else
      fix = "the kernel has no reset method for this GPU: reboot";
    out.push_back(make("mig", Status::kWarn, seen, fix, bdf));
  }
  return out;
}

Result check_vfio_modes(const HostView& h) {
  const std::string where = (h.roots.dev / "vfio").string();
  if (!h.vfio) {
    if (has_module(h, "vfio"))
      return make("vfio.modes", Status::kWarn, "vfio is loaded but " + where + " does not exist",
                  "check udev (systemd-udevd running)");
    return make("vfio.modes", Status::kOk, "no " + where + " (no VFIO device yet)");
  }
  std::vector<std::string> world, listed;
  for (const VfioNode& n : *h.vfio) {
    listed.push_back(n.name + " " + mode_str(n.mode));
    // /dev/vfio/vfio, the container, is 0666 by the kernel's design: it holds
    // no device (Documentation/driver-api/vfio.rst).
    if (n.name != "vfio" && (n.mode & 0006) != 0) world.push_back(n.name + " " + mode_str(n.mode));
  }
  if (!world.empty()) {
    return make("vfio.modes", Status::kWarn,
                "world-accessible VFIO nodes in " + where + ": " + join(world),
                "any local user can open these and take or stall the device: use the rule "
                "SUBSYSTEM==\"vfio\", GROUP=\"kvm\", MODE=\"0660\" (packaging/udev/"
                "60-gpuvm-vfio.rules) instead of MODE=\"0666\", then udevadm trigger");
  }
  return make("vfio.modes", Status::kOk,
              listed.empty() ? where + " is empty" : where + ": " + join(listed));
}

Result check_qemu_access(const HostView& h) {
  std::string who;
  std::string source;
  if (h.qemu_conf) {
    if (auto u = qemu_conf_value(*h.qemu_conf, "user")) {
      who = *u;
      source = "libvirt/qemu.conf user";
    } else {
      who = "libvirt-qemu";  // Debian's libvirt build default (--with-qemu-user)
      source = "libvirt's default";
    }
  } else if (find_user("oneadmin", h.etc_passwd, h.etc_group)) {
    who = "oneadmin";  // OpenNebula's KVM driver runs QEMU as oneadmin
    source = "OpenNebula";
  } else {
    return make("vfio.qemu-user", Status::kOk,
                "no libvirt qemu.conf and no oneadmin user: QEMU's user not known, not checked");
  }
  auto user = find_user(who, h.etc_passwd, h.etc_group);
  if (!user) {
    return make("vfio.qemu-user", Status::kWarn,
                fmt::format("QEMU user '{}' ({}) is not in {}", who, source,
                            (h.roots.etc / "passwd").string()),
                "create the user, or fix user = in /etc/libvirt/qemu.conf");
  }
  std::vector<std::string> denied;
  size_t nodes = 0;
  for (const VfioNode& n : h.vfio.value_or(std::vector<VfioNode>{})) {
    if (n.name == "vfio") continue;
    ++nodes;
    if (!can_open_rw(*user, n))
      denied.push_back(fmt::format("{} ({} {}:{})", n.name, mode_str(n.mode), n.uid, n.gid));
  }
  const std::string seen = fmt::format("QEMU runs as {} ({})", who, source);
  if (denied.empty()) {
    return make("vfio.qemu-user", Status::kOk,
                nodes == 0 ? seen + "; no VFIO group nodes to open yet"
                           : fmt::format("{}; can open all {} VFIO nodes", seen, nodes));
  }
  // libvirt's dynamic_ownership (default 1) chowns a VM's nodes at its start.
  const bool relabels =
      !h.qemu_conf || qemu_conf_value(*h.qemu_conf, "dynamic_ownership").value_or("1") != "0";
  const std::string fix = fmt::format(
      "add {} to group kvm (usermod -aG kvm {}) with the 0660 "
      "kvm rule of packaging/udev/60-gpuvm-vfio.rules",
      who, who);
  if (relabels && h.qemu_conf) {
    return make("vfio.qemu-user", Status::kWarn,
                seen + " and cannot open " + join(denied) +
                    " (libvirt's dynamic_ownership relabels a VM's nodes when it starts)",
                fix);
  }
  return make("vfio.qemu-user", Status::kFail, seen + " and cannot open " + join(denied), fix);
}

Result check_node_config(const HostView& h, const Options& options) {
  fs::path file = options.node_config.value_or(h.roots.etc / "gpuvm/node.yaml");
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    return make("node.config", Status::kOk,
                fmt::format("no {}: gpuvm node apply not used", file.string()));
  }
  node::NodeSpec spec;
  try {
    spec = node::load_node_spec(file);
  } catch (const Error& e) {
    return make("node.config", Status::kFail, e.what(),
                "fix the file (docs/node.md); gpuvm-node.service fails at boot with it");
  }
  node::ApplyOptions apply_options;
  apply_options.state_dir = options.state_dir;
  apply_options.dry_run = true;
  apply_options.open_nvml = options.open_nvml;
  try {
    const node::ApplyReport report = node::apply(h.roots.sysfs, spec, apply_options);
    if (report.changed()) {
      std::string steps;
      for (size_t i = 0; i < report.steps.size() && i < 3; ++i)
        steps += (i ? "; " : "") + report.steps[i];
      if (report.steps.size() > 3) steps += fmt::format("; ... ({} more)", report.steps.size() - 3);
      return make("node.config", Status::kWarn,
                  fmt::format("{} not applied (drift, {} steps): {}", file.string(),
                              report.steps.size(), steps),
                  fmt::format("gpuvm node apply -f {}", file.string()));
    }
  } catch (const Error& e) {
    return make("node.config", Status::kFail,
                fmt::format("{} does not fit this host: {}", file.string(), e.what()),
                "fix the file for this host (docs/node.md)");
  }
  return make("node.config", Status::kOk, fmt::format("{} valid and applied", file.string()));
}

Result check_units(const HostView& h, const Options& options) {
  // systemctl enable links a unit WantedBy=multi-user.target here (systemd.unit(5)).
  const fs::path wants = h.roots.etc / "systemd/system/multi-user.target.wants";
  std::error_code ec;
  std::vector<std::string> missing, enabled;
  auto want = [&](const std::string& unit, bool needed) {
    if (fs::exists(wants / unit, ec) || fs::is_symlink(wants / unit, ec))
      enabled.push_back(unit);
    else if (needed)
      missing.push_back(unit);
  };
  const fs::path node_yaml = options.node_config.value_or(h.roots.etc / "gpuvm/node.yaml");
  want("gpuvm-node.service", fs::exists(node_yaml, ec));
  want("gpuvm-agent.service", fs::exists(h.roots.etc / "gpuvm/agent.token", ec));
  if (!missing.empty()) {
    return make(
        "gpuvm.units", Status::kWarn,
        fmt::format("not enabled: {} (in {})", join(missing), wants.string()),
        "systemctl enable " + join(missing, " ") + ": MIG, VFs and vGPUs are lost at every reboot");
  }
  return make("gpuvm.units", Status::kOk,
              enabled.empty() ? "no gpuvm unit needed (no node.yaml, no agent token)"
                              : "enabled: " + join(enabled));
}

namespace {

// agent.json as an object, or nullopt when absent or unreadable as JSON.
std::optional<nlohmann::json> agent_status(const HostView& h) {
  if (!h.agent_status) return std::nullopt;
  auto j = nlohmann::json::parse(*h.agent_status, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  return j;
}

std::optional<int64_t> int_field(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_number_integer()) return std::nullopt;
  return j[key].get<int64_t>();
}

std::string str_field(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

std::string ago(int64_t ms) {
  const int64_t s = std::max<int64_t>(ms, 0) / 1000;
  if (s < 120) return fmt::format("{} s ago", s);
  if (s < 7200) return fmt::format("{} min ago", s / 60);
  return fmt::format("{} h ago", s / 3600);
}

// The agent pushes at least every --interval (60 s by default); three
// intervals without one means gpuvmd is about to mark the host as error.
constexpr int64_t kAgentStaleMs = 10 * 60 * 1000;
// TLS certificates are checked against this host's clock (RFC 5280 4.1.2.5);
// a minute is far beyond what NTP leaves and well inside a certificate's life,
// but a host that far off also misreads gpuvmd's timestamps and its own logs.
constexpr int64_t kClockFailMs = 60 * 1000;
constexpr int64_t kClockWarnMs = 5 * 1000;

}  // namespace

Result check_agent(const HostView& h) {
  const auto j = agent_status(h);
  if (!h.agent_status)
    return make("gpuvm.agent", Status::kOk,
                "gpuvm agent has not run here (no agent.json in the state directory): this host "
                "is not reporting to gpuvmd");
  if (!j)
    return make("gpuvm.agent", Status::kWarn, "the agent's status file is not valid JSON",
                "restart gpuvm-agent; it rewrites the file after its next push");
  const std::string server = str_field(*j, "server");
  const auto reached = int_field(*j, "reached_at_ms");
  const std::string error = str_field(*j, "error");
  if (!error.empty()) {
    const auto since = int_field(*j, "error_at_ms");
    return make("gpuvm.agent", Status::kFail,
                fmt::format("gpuvm agent cannot reach gpuvmd at {}{}: {}{}", server,
                            since ? " since " + ago(h.now_ms - *since) : "", error,
                            reached ? "; last push " + ago(h.now_ms - *reached) : "; never pushed"),
                "check the agent's log (journalctl -u gpuvm-agent), the address, the token "
                "(gpuvmd token NAME --host HOST) and, for https, --ca-file");
  }
  if (!reached)
    return make("gpuvm.agent", Status::kWarn,
                fmt::format("gpuvm agent has not pushed to {} yet", server),
                "wait for its first round or see journalctl -u gpuvm-agent");
  if (h.now_ms - *reached > kAgentStaleMs)
    return make(
        "gpuvm.agent", Status::kWarn,
        fmt::format("gpuvm agent's last push to {} was {}", server, ago(h.now_ms - *reached)),
        "is gpuvm-agent running? systemctl status gpuvm-agent");
  return make("gpuvm.agent", Status::kOk,
              fmt::format("gpuvm agent reached {} {}", server, ago(h.now_ms - *reached)));
}

Result check_clock(const HostView& h) {
  const auto j = agent_status(h);
  const auto offset = j ? int_field(*j, "clock_offset_ms") : std::nullopt;
  if (!offset)
    return make("clock", Status::kOk,
                "not compared: no gpuvmd answer with a Date header recorded by gpuvm agent");
  const int64_t off = *offset, mag = off < 0 ? -off : off;
  const std::string seen =
      mag < 1000 ? std::string(
                       "this host's clock agrees with gpuvmd's to the second at the agent's "
                       "last push (HTTP Date)")
                 : fmt::format(
                       "this host's clock is {} s {} gpuvmd's at the agent's last push (HTTP "
                       "Date, 1 s resolution)",
                       mag / 1000, off > 0 ? "behind" : "ahead of");
  if (mag > kClockFailMs)
    return make("clock", Status::kFail, seen,
                "synchronise the clock (systemctl enable --now systemd-timesyncd, or chrony): TLS "
                "certificates are checked against it");
  if (mag > kClockWarnMs)
    return make("clock", Status::kWarn, seen, "check NTP (timedatectl timesync-status)");
  return make("clock", Status::kOk, seen);
}

std::vector<Result> run_all(const HostView& h, const Options& options) {
  std::vector<Result> out;
  auto add = [&](std::vector<Result> r) {
    for (auto& x : r) out.push_back(std::move(x));
  };
  out.push_back(check_host_kind(h));
  out.push_back(check_iommu_enabled(h));
  out.push_back(check_iommu_cmdline(h));
  add(check_iommu_groups(h));
  add(check_sriov(h));
  out.push_back(check_nvidia_driver(h));
  out.push_back(check_nouveau(h));
  out.push_back(check_vfio_pci(h));
  out.push_back(check_vgpu_manager(h));
  add(check_mig(h));
  out.push_back(check_vfio_modes(h));
  out.push_back(check_qemu_access(h));
  out.push_back(check_node_config(h, options));
  out.push_back(check_units(h, options));
  out.push_back(check_agent(h));
  out.push_back(check_clock(h));
  return out;
}

std::vector<Result> run_all(const Options& options) {
  if (options.node_config_explicit && options.node_config) {
    std::error_code ec;
    if (!fs::exists(*options.node_config, ec))
      throw_invalid(fmt::format("--node-config {}: no such file", options.node_config->string()));
  }
  HostView h = read_host(options.roots, options.open_nvml);
  if (!options.state_dir.empty()) {
    try {
      h.agent_status =
          read_file_checked(agent::status_path(options.state_dir), "the agent status",
                            {.max_bytes = agent::kMaxStatusBytes, .owner = std::nullopt});
    } catch (const Error& e) {
      // Absent: no agent ran here. Anything else (too large, not a regular
      // file): reported as unreadable by check_agent.
      if (e.code() != Errc::kNotFound) h.agent_status = std::string();
    }
  }
  h.now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  std::vector<Result> out = run_all(h, options);
  return out;
}

}  // namespace gpuvm::check
