// An exclusive advisory lock (flock(2)) on a file in gpuvm's state directory.
// Serializes state-changing commands on one host; released by the kernel when
// the process dies, so a kill -9 never leaves a stale lock behind.
#pragma once

#include <chrono>
#include <filesystem>

namespace gpuvm {

inline constexpr std::string_view kDefaultStateDir = "/var/lib/gpuvm";
inline constexpr std::string_view kStateDirEnv = "GPUVM_STATE_DIR";

class LockFile {
 public:
  // Creates the directory (mode 0700) and the file (0600, never through a
  // symlink) as needed, then waits up to `timeout` for the lock and writes
  // this process's pid into the file. Throws kBusy naming the file and the
  // holder's pid when the lock is still held after the timeout, kIo on any
  // system error.
  LockFile(const std::filesystem::path& path, std::chrono::milliseconds timeout);
  LockFile(const LockFile&) = delete;
  LockFile& operator=(const LockFile&) = delete;
  LockFile(LockFile&& other) noexcept;
  LockFile& operator=(LockFile&&) = delete;
  ~LockFile();

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

// The host lock (docs/node.md, "The host lock"): every gpuvm command that
// changes GPU state (sriov, vgpu, one vgpu, node apply, mig's changing verbs,
// the agent's commands) holds <state-dir>/host.lock, so that two of them never
// interleave their sysfs writes or NVML calls. Here in core so that the
// standalone gpuvm-mig (tools/device) takes the same lock.
std::filesystem::path host_lock_path(const std::filesystem::path& state_dir);

// Waits up to `timeout` (boot units and OpenNebula hooks may race) and
// throws kBusy naming the lock file and its holder when another command
// still holds it.
LockFile lock_host(const std::filesystem::path& state_dir,
                   std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace gpuvm
