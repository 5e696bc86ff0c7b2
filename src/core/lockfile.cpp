#include "core/lockfile.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "core/error.h"

namespace gpuvm {

LockFile::LockFile(const std::filesystem::path& path, std::chrono::milliseconds timeout)
    : path_(path) {
  std::filesystem::path dir = path.parent_path();
  if (!dir.empty() && ::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    throw_errno(errno, "cannot create state directory", dir.string());
  }
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) throw_errno(errno, "cannot open lock file", path.string());
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return;
    int err = errno;
    if (err != EWOULDBLOCK && err != EINTR) {
      ::close(fd_);
      throw_errno(err, "cannot lock", path.string());
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::close(fd_);
      throw Error(Errc::kBusy,
                  fmt::format("another gpuvm command holds the lock {} (waited {} ms)",
                              path.string(), timeout.count()),
                  EWOULDBLOCK);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

LockFile::LockFile(LockFile&& other) noexcept : path_(std::move(other.path_)), fd_(other.fd_) {
  other.fd_ = -1;
}

LockFile::~LockFile() {
  if (fd_ >= 0) ::close(fd_);  // closing drops the flock
}

}  // namespace gpuvm
