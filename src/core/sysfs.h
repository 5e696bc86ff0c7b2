// Every sysfs path gpuvm touches is built here, from one root. The real
// system's "/sys" appears only as kDefaultSysfsRoot; tests and the simulator
// pass another root (--sysfs-root / GPUVM_SYSFS_ROOT).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "core/bdf.h"
#include "core/unique_fd.h"

namespace gpuvm {

inline constexpr std::string_view kDefaultSysfsRoot = "/sys";
inline constexpr std::string_view kSysfsRootEnv = "GPUVM_SYSFS_ROOT";

class SysfsRoot {
 public:
  explicit SysfsRoot(std::filesystem::path root) : root_(std::move(root)) {}

  const std::filesystem::path& root() const { return root_; }

  // <root>/bus/pci/devices: one link per PCI function (kernel ABI,
  // Documentation/ABI/testing/sysfs-bus-pci).
  std::filesystem::path pci_devices() const { return root_ / "bus/pci/devices"; }
  // <root>/bus/pci/devices/<BDF>
  std::filesystem::path pci_device(const Bdf& bdf) const { return pci_devices() / bdf.str(); }
  // <root>/class/mdev_bus/<BDF>: present when the device is a legacy mdev
  // parent (Documentation/driver-api/vfio-mediated-device.rst).
  std::filesystem::path mdev_parent(const Bdf& bdf) const {
    return root_ / "class/mdev_bus" / bdf.str();
  }
  // <root>/bus/mdev/devices: every mediated device.
  std::filesystem::path mdev_devices() const { return root_ / "bus/mdev/devices"; }
  // <root>/kernel/iommu_groups: one directory per IOMMU group, members under
  // devices/ (Documentation/ABI/testing/sysfs-kernel-iommu_groups).
  std::filesystem::path iommu_groups() const { return root_ / "kernel/iommu_groups"; }

 private:
  std::filesystem::path root_;
};

// Reads a sysfs attribute: the whole file, trailing newline(s) removed.
// std::nullopt when the file does not exist; throws Error (naming the path and
// errno) when it exists but cannot be read.
std::optional<std::string> read_attr(const std::filesystem::path& path);

// How an attribute is opened for writing beneath the root. kOpenat2:
// openat2(2) with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS (the symlinks sysfs
// is made of, such as bus/pci/devices/<BDF> -> ../../../devices/..., are
// followed only while they stay under the root). kProcfsCheck, for kernels
// without openat2: the parent directory is opened and the path the kernel
// gives its descriptor (/proc/self/fd) must lie under the root's. Both open
// the attribute itself O_NOFOLLOW.
enum class BeneathMethod { kOpenat2, kProcfsCheck };

// The attribute `path` (under `root`) open for writing. kInvalidArgument for a
// path outside the root, a symlink as the last component, or a directory
// link that leads out; otherwise Error naming the path and the errno.
UniqueFd open_attr_for_write(const SysfsRoot& root, const std::filesystem::path& path,
                             BeneathMethod method);

// Writes `value` to the sysfs attribute `path` (under `root`) in one
// write(2), as `echo -n` would, opened by open_attr_for_write (kOpenat2;
// kProcfsCheck where openat2 is missing or keeps answering EAGAIN). Errors
// name the path, the value and the kernel's errno, never what the file holds.
void write_attr(const SysfsRoot& root, const std::filesystem::path& path, std::string_view value);

// The last component of a symlink's target (`driver` -> ".../drivers/nvidia"
// gives "nvidia"); std::nullopt when the link does not exist.
std::optional<std::string> link_basename(const std::filesystem::path& link);

// Rejects a path component taken from user input that could escape the
// directory it is joined to ("", ".", "..", or containing '/' or NUL).
// `what` names the argument in the error.
void check_path_component(std::string_view component, std::string_view what);

}  // namespace gpuvm
