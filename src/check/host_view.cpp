// Reading the host once for gpuvm check: sysfs through pci::probe and the
// IOMMU group directories, /proc, /dev/vfio and /etc through their roots.
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <sstream>
#include <system_error>

#include "check/check.h"
#include "core/error.h"
#include "pci/probe.h"

namespace gpuvm::check {

namespace fs = std::filesystem;

namespace {

// A file's content, nullopt when absent or unreadable (the check that needs
// it says what it could not see).
std::optional<std::string> read_opt(const fs::path& path) {
  try {
    return read_attr(path);
  } catch (const Error&) {
    return std::nullopt;
  }
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::vector<std::string> sorted_entries(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    out.push_back(it->path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<VfioNode> stat_node(const fs::path& path, std::string name) {
  struct stat st {};
  // lstat: a link in /dev/vfio is not what udev makes; it is left out.
  if (::lstat(path.c_str(), &st) != 0 || S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode))
    return std::nullopt;
  return VfioNode{std::move(name), static_cast<mode_t>(st.st_mode & 07777), st.st_uid, st.st_gid};
}

}  // namespace

std::vector<const pci::Device*> HostView::gpus() const {
  std::vector<const pci::Device*> out;
  for (const auto& d : devices) {
    // NVIDIA (0x10de), PCI base class 0x03 (display: VGA 0x0300, 3D 0x0302).
    if (d.vendor_id == 0x10de && (d.class_code >> 16) == 0x03 &&
        d.sriov_role != pci::SriovRole::kVf)
      out.push_back(&d);
  }
  return out;
}

const pci::Device* HostView::device(const std::string& bdf) const {
  for (const auto& d : devices)
    if (d.bdf.str() == bdf) return &d;
  return nullptr;
}

bool HostView::is_vm() const {
  if (cpu_hypervisor) return *cpu_hypervisor;
  // No /proc/cpuinfo: virtio devices (vendor 0x1af4, virtio spec 4.1.2) are a VM's.
  return std::any_of(devices.begin(), devices.end(),
                     [](const pci::Device& d) { return d.vendor_id == 0x1af4; });
}

HostView read_host(const Roots& roots, std::function<std::unique_ptr<mig::MigHost>()> open_nvml) {
  HostView h;
  h.roots = roots;
  h.devices = pci::probe(roots.sysfs).devices;  // kInvalidArgument: not a sysfs tree

  // proc(5): /proc/cmdline, /proc/sys/kernel/osrelease, /proc/modules (first
  // column: module name), /proc/cpuinfo ("vendor_id", "flags").
  h.cmdline = read_opt(roots.proc / "cmdline");
  h.kernel_release = read_opt(roots.proc / "sys/kernel/osrelease");
  if (auto m = read_opt(roots.proc / "modules")) {
    std::set<std::string> mods;
    std::istringstream in(*m);
    for (std::string line; std::getline(in, line);) {
      const std::string name = line.substr(0, line.find(' '));
      if (!name.empty()) mods.insert(name);
    }
    h.modules = std::move(mods);
  }
  // The NVIDIA kernel module's version file (NVIDIA driver README, "procfs").
  h.nvidia_version = read_opt(roots.proc / "driver/nvidia/version");
  if (auto c = read_opt(roots.proc / "cpuinfo")) {
    std::istringstream in(*c);
    bool hypervisor = false, flags_seen = false;
    for (std::string line; std::getline(in, line);) {
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string key = line.substr(0, colon);
      while (!key.empty() && std::isspace(static_cast<unsigned char>(key.back()))) key.pop_back();
      std::string value = line.substr(colon + 1);
      if (!value.empty() && value[0] == ' ') value.erase(0, 1);
      if (key == "vendor_id" && !h.cpu_vendor) h.cpu_vendor = value;
      if (key == "flags" && !flags_seen) {
        flags_seen = true;
        // CPUID.1:ECX[31], shown as "hypervisor" (arch/x86/include/asm/cpufeatures.h).
        std::istringstream f(value);
        for (std::string flag; f >> flag;) hypervisor = hypervisor || flag == "hypervisor";
      }
    }
    if (flags_seen) h.cpu_hypervisor = hypervisor;
  }
  // proc(5) /proc/<pid>/comm: the services that run (nvidia-vgpu-mgr ...).
  for (const std::string& e : sorted_entries(roots.proc)) {
    if (!all_digits(e)) continue;
    if (auto comm = read_opt(roots.proc / e / "comm")) h.processes.insert(*comm);
  }

  // Documentation/ABI/testing/sysfs-kernel-iommu_groups: one directory per
  // group, its members linked under devices/.
  const fs::path groups = roots.sysfs.iommu_groups();
  std::error_code ec;
  if (fs::is_directory(groups, ec)) {
    std::map<int, std::vector<std::string>> g;
    for (const std::string& e : sorted_entries(groups)) {
      int n = 0;
      auto [p, err] = std::from_chars(e.data(), e.data() + e.size(), n);
      if (err != std::errc() || p != e.data() + e.size()) continue;
      g[n] = sorted_entries(groups / e / "devices");
    }
    h.iommu_groups = std::move(g);
  }

  // Documentation/driver-api/vfio.rst: /dev/vfio/vfio (container),
  // /dev/vfio/<group>, and the per-device cdevs /dev/vfio/devices/vfioN.
  const fs::path vfio = roots.dev / "vfio";
  if (fs::is_directory(vfio, ec)) {
    std::vector<VfioNode> nodes;
    for (const std::string& e : sorted_entries(vfio)) {
      if (auto n = stat_node(vfio / e, e)) nodes.push_back(std::move(*n));
    }
    for (const std::string& e : sorted_entries(vfio / "devices")) {
      if (auto n = stat_node(vfio / "devices" / e, "devices/" + e)) nodes.push_back(std::move(*n));
    }
    h.vfio = std::move(nodes);
  }

  // libvirt's qemu.conf (user/group QEMU runs as), passwd(5), group(5).
  h.qemu_conf = read_opt(roots.etc / "libvirt/qemu.conf");
  h.etc_passwd = read_opt(roots.etc / "passwd").value_or("");
  h.etc_group = read_opt(roots.etc / "group").value_or("");

  if (open_nvml) {
    try {
      h.nvml = open_nvml();
    } catch (const Error& e) {
      h.nvml_error = e.what();
    }
  } else {
    h.nvml_error = "no NVML library given";
  }
  return h;
}

}  // namespace gpuvm::check
