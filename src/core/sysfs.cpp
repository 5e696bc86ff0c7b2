#include "core/sysfs.h"

#include <fcntl.h>
#include <fmt/format.h>
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

void write_attr(const std::filesystem::path& path, std::string_view value) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (fd.get() < 0) throw_errno(errno, "cannot open for writing", path.string());
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
    throw_invalid(fmt::format("invalid {} '{}': must be a single path component (no '/', not "
                              "'.' or '..')",
                              what, component));
  }
}

}  // namespace gpuvm
