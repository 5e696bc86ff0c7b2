#include "core/lockfile.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "core/error.h"
#include "core/files.h"

namespace gpuvm {
namespace {

// The pid the holder wrote (see the constructor), or "" when unreadable.
std::string holder_of(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return "";
  std::string text(buf, static_cast<size_t>(n));
  while (!text.empty() && text.back() == '\n') text.pop_back();
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) return "";
  return text;
}

}  // namespace

LockFile::LockFile(const std::filesystem::path& path, std::chrono::milliseconds timeout)
    : path_(path) {
  std::filesystem::path dir = path.parent_path();
  ensure_private_dir(dir);  // created 0700; refused if another user could plant links in it
  // O_NOFOLLOW: the pid is written into this file; a planted symlink must not
  // redirect that write (open(2): ELOOP).
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd_ < 0) throw_errno(errno, "cannot open lock file", path.string());
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) break;
    int err = errno;
    if (err != EWOULDBLOCK && err != EINTR) {
      ::close(fd_);
      throw_errno(err, "cannot lock", path.string());
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      const std::string holder = holder_of(fd_);
      ::close(fd_);
      throw Error(Errc::kBusy,
                  fmt::format("another gpuvm command{} holds the lock {} (waited {} ms); try "
                              "again when it has finished",
                              holder.empty() ? "" : " (held by pid " + holder + ")", path.string(),
                              timeout.count()),
                  EWOULDBLOCK);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // Who holds it, for the error of those who wait (flock(2) itself does not
  // tell). A stale pid after a crash is harmless: only a held flock counts.
  const std::string pid = fmt::format("{}\n", ::getpid());
  if (::ftruncate(fd_, 0) != 0 ||
      ::pwrite(fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    const int err = errno;
    ::close(fd_);
    throw_errno(err, "cannot write", path.string());
  }
}

LockFile::LockFile(LockFile&& other) noexcept : path_(std::move(other.path_)), fd_(other.fd_) {
  other.fd_ = -1;
}

LockFile::~LockFile() {
  if (fd_ >= 0) ::close(fd_);  // closing drops the flock
}

std::filesystem::path host_lock_path(const std::filesystem::path& state_dir) {
  return state_dir / "host.lock";
}

LockFile lock_host(const std::filesystem::path& state_dir, std::chrono::milliseconds timeout) {
  return LockFile(host_lock_path(state_dir), timeout);
}

}  // namespace gpuvm
