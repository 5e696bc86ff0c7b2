#include "core/sysfs.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "core/error.h"
#include "core/unique_fd.h"

namespace gpuvm {

std::optional<std::string> read_attr(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw_errno(errno, "cannot open", path.string());
  }
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno, "cannot read", path.string());
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    // sysfs attributes are at most one page; anything longer is not one.
    if (out.size() > (1u << 20)) {
      throw Error(Errc::kIo, fmt::format("cannot read {}: larger than 1 MiB, not a sysfs "
                                         "attribute",
                                         path.string()));
    }
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

namespace {

// openat2(2) (Linux 5.6): glibc 2.36 has no wrapper; the struct and flags
// come from <linux/openat2.h>.
int openat2_fd(int dirfd, const char* path, uint64_t flags, uint64_t resolve) {
  open_how how{};
  how.flags = flags;
  how.resolve = resolve;
  return static_cast<int>(::syscall(SYS_openat2, dirfd, path, &how, sizeof how));
}

// `path` relative to `root`, refused unless it lies lexically under it.
std::filesystem::path beneath(const SysfsRoot& root, const std::filesystem::path& path) {
  const std::filesystem::path rel =
      path.lexically_normal().lexically_relative(root.root().lexically_normal());
  if (rel.empty() || rel == "." || *rel.begin() == ".." || rel.is_absolute()) {
    throw_invalid(fmt::format("refusing to write {}: not under the sysfs root {}", path.string(),
                              root.root().string()));
  }
  return rel;
}

[[noreturn]] void outside(const SysfsRoot& root, const std::filesystem::path& path) {
  throw_invalid(fmt::format("refusing to write {}: it resolves outside the sysfs root {}",
                            path.string(), root.root().string()));
}

// The directory `fd` is, as the kernel names it (proc(5) /proc/self/fd).
std::string fd_path(int fd) {
  const std::string link = fmt::format("/proc/self/fd/{}", fd);
  char buf[4096];
  const ssize_t n = ::readlink(link.c_str(), buf, sizeof buf);
  if (n < 0 || static_cast<size_t>(n) >= sizeof buf) throw_errno(errno, "cannot read", link);
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace

UniqueFd open_attr_for_write(const SysfsRoot& root, const std::filesystem::path& path,
                             BeneathMethod method) {
  const std::filesystem::path rel = beneath(root, path);
  UniqueFd dir(::open(root.root().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir.ok()) throw_errno(errno, "cannot open the sysfs root", root.root().string());
  UniqueFd fd;
  if (method == BeneathMethod::kOpenat2) {
    // EAGAIN: a rename or mount anywhere raced a ".." of the lookup and the
    // kernel could not rule out an escape; openat2(2) says to retry.
    for (int attempt = 0; attempt < 100; ++attempt) {
      fd = UniqueFd(openat2_fd(dir.get(), rel.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
                               RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS));
      if (fd.ok() || errno != EAGAIN) break;
    }
  } else {
    // The parent is opened (links followed wherever they lead), then where
    // it really is is checked against where the root really is, on the
    // opened descriptor (no window between check and use); the attribute
    // is opened from it, O_NOFOLLOW.
    UniqueFd parent(::openat(dir.get(), rel.has_parent_path() ? rel.parent_path().c_str() : ".",
                             O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!parent.ok()) throw_errno(errno, "cannot open for writing", path.string());
    const std::string top = fd_path(dir.get()), where = fd_path(parent.get());
    if (where != top && !where.starts_with(top == "/" ? top : top + "/")) outside(root, path);
    fd =
        UniqueFd(::openat(parent.get(), rel.filename().c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
  }
  if (!fd.ok()) {
    const int err = errno;
    if (err == ELOOP) {
      throw_invalid(
          fmt::format("refusing to write {}: a symbolic link where a sysfs attribute "
                      "was expected",
                      path.string()));
    }
    if (err == EXDEV) outside(root, path);
    throw_errno(err, "cannot open for writing", path.string());
  }
  return fd;
}

void write_attr(const SysfsRoot& root, const std::filesystem::path& path, std::string_view value) {
  UniqueFd fd;
  try {
    fd = open_attr_for_write(root, path, BeneathMethod::kOpenat2);
  } catch (const Error& e) {
    // Linux < 5.6 (or a seccomp filter that hides openat2), or EAGAIN on
    // every try: the same rule, checked through /proc.
    if (e.sys_errno() != ENOSYS && e.sys_errno() != EAGAIN && e.sys_errno() != EPERM) throw;
    fd = open_attr_for_write(root, path, BeneathMethod::kProcfsCheck);
  }
  ssize_t n;
  do {
    n = ::write(fd.get(), value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    int err = errno;
    throw_errno(err, fmt::format("writing '{}' to", value), path.string());
  }
  if (static_cast<size_t>(n) != value.size()) {
    throw Error(Errc::kIo, fmt::format("short write of '{}' to {}", value, path.string()));
  }
}

std::optional<std::string> link_basename(const std::filesystem::path& link) {
  std::error_code ec;
  std::filesystem::path target = std::filesystem::read_symlink(link, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return std::nullopt;
    throw_errno(ec.value(), "cannot read link", link.string());
  }
  return target.filename().string();
}

void check_path_component(std::string_view component, std::string_view what) {
  if (component.empty() || component == "." || component == ".." ||
      component.find('/') != std::string_view::npos ||
      component.find('\0') != std::string_view::npos) {
    throw_invalid(
        fmt::format("invalid {} '{}': must be a single path component (no '/', not "
                    "'.' or '..')",
                    what, component));
  }
}

}  // namespace gpuvm
