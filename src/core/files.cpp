#include "core/files.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "core/error.h"
#include "core/unique_fd.h"

namespace gpuvm {
namespace fs = std::filesystem;

namespace {

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISLNK(mode)) return "a symbolic link";
  return "not a regular file";
}

void write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw_errno(n < 0 ? errno : EIO, "cannot write", path);
    data.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

std::string read_file_checked(const fs::path& path, std::string_view what,
                              const ReadChecks& checks) {
  // O_NONBLOCK: opening a FIFO for reading would wait for a writer forever
  // (fifo(7)); O_NOFOLLOW: a symlink as the last component fails with ELOOP.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (!fd.ok()) {
    if (errno == ELOOP) {
      throw_invalid(
          fmt::format("{} {}: is a symbolic link; expected a regular file", what, path.string()));
    }
    throw_errno(errno, fmt::format("cannot open {}", what), path.string());
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_errno(errno, "cannot stat", path.string());
  if (!S_ISREG(st.st_mode)) {
    throw_invalid(fmt::format("{} {}: is {}; expected a regular file", what, path.string(),
                              kind_of(st.st_mode)));
  }
  if (checks.owner && st.st_uid != *checks.owner) {
    throw_invalid(
        fmt::format("{} {}: is owned by uid {}; expected a file of uid {} (the "
                    "invoking user)",
                    what, path.string(), st.st_uid, *checks.owner));
  }
  if (static_cast<unsigned long long>(st.st_size) > checks.max_bytes) {
    throw_invalid(fmt::format("{} {}: {} bytes; expected at most {}", what, path.string(),
                              st.st_size, checks.max_bytes));
  }
  std::string out;
  out.resize(checks.max_bytes + 1);
  size_t used = 0;
  // Bounded even if the file grows after fstat.
  while (used < out.size()) {
    const ssize_t n = ::read(fd.get(), out.data() + used, out.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno(errno, fmt::format("cannot read {}", what), path.string());
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  if (used > checks.max_bytes) {
    throw_invalid(
        fmt::format("{} {}: larger than {} bytes", what, path.string(), checks.max_bytes));
  }
  out.resize(used);
  return out;
}

void ensure_private_dir(const fs::path& dir) {
  if (dir.empty()) return;
  if (::mkdir(dir.c_str(), 0700) != 0) {
    const int err = errno;
    if (err == ENOENT) {
      ensure_private_dir(dir.parent_path());
      if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
        throw_errno(errno, "cannot create directory", dir.string());
      }
    } else if (err != EEXIST) {
      throw_errno(err, "cannot create directory", dir.string());
    }
  }
  // O_NOFOLLOW|O_DIRECTORY: the directory itself, not what a link names.
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.ok()) {
    if (errno == ELOOP || errno == ENOTDIR) {
      throw_invalid(
          fmt::format("state directory {}: is not a directory (a symbolic link or a "
                      "file); expected a directory owned by uid {}, mode 0700",
                      dir.string(), ::geteuid()));
    }
    throw_errno(errno, "cannot open directory", dir.string());
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_errno(errno, "cannot stat", dir.string());
  if (st.st_uid != ::geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    throw_invalid(
        fmt::format("state directory {}: owned by uid {}, mode {:04o}; expected owner "
                    "uid {} and no write for group or others (chown/chmod 0700 it)",
                    dir.string(), st.st_uid, st.st_mode & 07777, ::geteuid()));
  }
}

void atomic_write_file(const fs::path& path, std::string_view data) {
  const fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  ensure_private_dir(dir);
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dfd.ok()) throw_errno(errno, "cannot open directory", dir.string());
  const std::string name = path.filename().string();
  const std::string tmp_name = name + ".tmp";
  const std::string tmp = (dir / tmp_name).string();
  const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  UniqueFd fd(::openat(dfd.get(), tmp_name.c_str(), flags, 0600));
  if (!fd.ok() && errno == EEXIST) {
    // Left by a crash (the directory is ours alone): unlinkat removes a
    // symlink itself, never its target.
    if (::unlinkat(dfd.get(), tmp_name.c_str(), 0) != 0 && errno != ENOENT) {
      throw_errno(errno, "cannot remove stale", tmp);
    }
    fd = UniqueFd(::openat(dfd.get(), tmp_name.c_str(), flags, 0600));
  }
  if (!fd.ok()) throw_errno(errno, "cannot create", tmp);
  try {
    write_all(fd.get(), data, tmp);
    if (::fsync(fd.get()) != 0) throw_errno(errno, "cannot fsync", tmp);
    fd = UniqueFd();
    if (::renameat(dfd.get(), tmp_name.c_str(), dfd.get(), name.c_str()) != 0) {
      throw_errno(errno, fmt::format("cannot rename {} to", tmp), path.string());
    }
  } catch (const Error&) {
    ::unlinkat(dfd.get(), tmp_name.c_str(), 0);
    throw;
  }
  // The rename is durable once the directory is (rename(2), fsync(2)).
  if (::fsync(dfd.get()) != 0) throw_errno(errno, "cannot fsync", dir.string());
}

}  // namespace gpuvm
