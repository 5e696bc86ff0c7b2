#include "node/lock.h"

namespace gpuvm::node {

std::filesystem::path host_lock_path(const std::filesystem::path& state_dir) {
  return state_dir / "host.lock";
}

LockFile lock_host(const std::filesystem::path& state_dir, std::chrono::milliseconds timeout) {
  return LockFile(host_lock_path(state_dir), timeout);
}

}  // namespace gpuvm::node
