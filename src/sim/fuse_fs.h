// The FUSE file system (libfuse3) that stands for /sys on a simulated host.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

namespace gpuvm::sim {

// Refuses a mount point that is not an empty, unmounted directory, or that is
// (or is inside) the real /sys, /proc or /dev. Throws gpuvm::Error naming
// the directory and the reason (kInvalidArgument, kBusy for an existing
// mount, kNotFound when it does not exist).
void check_mount_point(const std::filesystem::path& mount);

// Holds an exclusive flock(2) on the mount directory itself, so that two
// `gpuvm-sim up` on one directory cannot both mount. Throws kBusy.
class MountPointLock {
 public:
  explicit MountPointLock(const std::filesystem::path& mount);
  MountPointLock(const MountPointLock&) = delete;
  MountPointLock& operator=(const MountPointLock&) = delete;
  ~MountPointLock();

 private:
  int fd_ = -1;
};

// Mounts the tree of the host in `state_file` at `mount` and serves it until
// it is unmounted (fusermount3 -u) or the process gets SIGTERM/SIGINT.
// `on_mounted` runs once the mount is in place, before serving (the caller
// detaches from its terminal and reports success there); if it throws, the
// mount is undone. Throws gpuvm::Error when mounting fails.
void serve(const std::filesystem::path& mount, const std::filesystem::path& state_file,
           const std::function<void()>& on_mounted);

}  // namespace gpuvm::sim
