#include "sim/host_files.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include "core/error.h"
#include "core/unique_fd.h"

namespace gpuvm::sim {

namespace fs = std::filesystem;

namespace {

void make_dir(const fs::path& p) {
  std::error_code ec;
  fs::create_directories(p, ec);
  if (ec) throw_errno(ec.value(), "cannot create directory", p.string());
}

// A new file (replacing a previous run's) with `perm`; never follows a link
// (O_NOFOLLOW, and the old entry is unlinked first).
void put(const fs::path& p, const std::string& content, mode_t perm = 0644) {
  make_dir(p.parent_path());
  if (::unlink(p.c_str()) != 0 && errno != ENOENT) throw_errno(errno, "cannot replace", p.string());
  UniqueFd fd(::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, perm));
  if (fd.get() < 0) throw_errno(errno, "cannot create", p.string());
  if (::fchmod(fd.get(), perm) != 0) throw_errno(errno, "cannot chmod", p.string());  // umask
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw_errno(errno, "cannot write", p.string());
    done += static_cast<size_t>(n);
  }
}

bool any_gpu(const HostState& s, VgpuMode mode) {
  return std::any_of(s.gpus.begin(), s.gpus.end(),
                     [&](const GpuState& g) { return g.vgpu_mode == mode; });
}

}  // namespace

HostFileRoots host_file_roots(const fs::path& state_dir) {
  return {state_dir / "proc", state_dir / "dev", state_dir / "etc"};
}

std::vector<std::string> host_modules(const HostState& s) {
  if (s.env.modules) return *s.env.modules;
  // What a KVM GPU host with NVIDIA's driver has loaded.
  std::vector<std::string> m = {"nvidia",        "vfio", "vfio_iommu_type1", "vfio_pci",
                                "vfio_pci_core", "kvm",  "irqbypass"};
  m.push_back(s.env.cpu_vendor == "AuthenticAMD" ? "kvm_amd" : "kvm_intel");
  if (any_gpu(s, VgpuMode::kLegacy)) {
    m.push_back("nvidia_vgpu_vfio");  // the legacy vGPU manager's mdev driver
    m.push_back("mdev");
  }
  return m;
}

std::vector<std::string> host_services(const HostState& s) {
  if (s.env.services) return *s.env.services;
  // The legacy vGPU interface runs NVIDIA's daemons (vGPU user guide).
  if (any_gpu(s, VgpuMode::kLegacy)) return {"nvidia-vgpud", "nvidia-vgpu-mgr"};
  return {};
}

HostFileRoots write_host_files(const HostState& s, const fs::path& state_dir) {
  const HostFileRoots r = host_file_roots(state_dir);
  std::error_code ec;
  for (const fs::path& p : {r.proc, r.dev, r.etc}) {
    fs::remove_all(p, ec);  // a previous `up` in the same state directory
    if (ec) throw_errno(ec.value(), "cannot remove", p.string());
    make_dir(p);
  }
  const HostEnv& e = s.env;
  // proc(5)
  put(r.proc / "cmdline", e.cmdline + "\n", 0444);
  put(r.proc / "sys/kernel/osrelease", e.kernel_release + "\n", 0444);
  const auto modules = host_modules(s);
  std::string mods;  // kernel/module/procfs.c m_show: name size refcount deps state address
  for (const auto& m : modules) mods += fmt::format("{} 16384 0 - Live 0x0000000000000000\n", m);
  put(r.proc / "modules", mods, 0444);
  std::string flags = "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36";
  flags += e.cpu_vendor == "AuthenticAMD" ? " svm" : " vmx";
  if (e.virtual_machine) flags += " hypervisor";
  put(r.proc / "cpuinfo",
      fmt::format("processor\t: 0\nvendor_id\t: {}\nflags\t\t: {}\n\n", e.cpu_vendor, flags), 0444);
  const bool nvidia = std::find(modules.begin(), modules.end(), "nvidia") != modules.end();
  if (nvidia && !s.gpus.empty()) {
    // The NVIDIA kernel module's version file (first line as the driver prints it).
    put(r.proc / "driver/nvidia/version",
        fmt::format("NVRM version: NVIDIA UNIX x86_64 Kernel Module  {}  Release Build  "
                    "(gpuvm-sim)\nGCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n",
                    s.gpus.front().driver_version),
        0444);
  }
  int pid = 1000;
  for (const auto& svc : host_services(s))
    put(r.proc / std::to_string(pid++) / "comm", svc + "\n", 0444);

  // /dev/vfio (Documentation/driver-api/vfio.rst): the container, and one
  // group node per GPU as udev makes it once the group is bound to a VFIO
  // driver; owned by our group, which etc/group calls kvm.
  const bool vfio = std::find(modules.begin(), modules.end(), "vfio") != modules.end();
  if (vfio) {
    put(r.dev / "vfio/vfio", "", 0666);
    if (e.iommu) {
      for (const auto& g : s.gpus)
        put(r.dev / "vfio" / std::to_string(g.iommu_group), "", e.vfio_mode);
    }
  }

  // /etc: libvirt's qemu.conf, passwd(5) and group(5) for the QEMU user.
  put(r.etc / "libvirt/qemu.conf",
      fmt::format("# gpuvm-sim\nuser = \"{}\"\ngroup = \"{}\"\n", e.qemu_user, e.qemu_user));
  const unsigned kvm_gid = ::getegid();
  const unsigned user_id = kvm_gid == 9869 ? 9870 : 9869;
  put(r.etc / "passwd", fmt::format("{0}:x:{1}:{1}::/var/lib/{0}:/bin/sh\n", e.qemu_user, user_id));
  std::string groups;
  std::set<std::string> member(e.qemu_groups.begin(), e.qemu_groups.end());
  groups += fmt::format("kvm:x:{}:{}\n", kvm_gid, member.contains("kvm") ? e.qemu_user : "");
  groups += fmt::format("{0}:x:{1}:\n", e.qemu_user, user_id);
  put(r.etc / "group", groups);
  return r;
}

}  // namespace gpuvm::sim
