#include "sim/sim_mount.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <stdexcept>

namespace gpuvm::test {

std::string fuse_unavailable_reason() {
  if (::access("/dev/fuse", R_OK | W_OK) != 0) return "/dev/fuse (modprobe fuse)";
  if (::geteuid() != 0) return "root (FUSE mounts with allow_other and sysfs-like permissions)";
  if (::access("/usr/bin/fusermount3", X_OK) != 0 && ::access("/bin/fusermount3", X_OK) != 0) {
    return "fusermount3 (apt-get install fuse3)";
  }
  return "";
}

SimMount::SimMount(const TempDir& dir, const std::string& spec_yaml) : root_(dir.path() / "sys") {
  write_file(dir.path() / "host.yaml", spec_yaml);
  mount(dir.path() / "host.yaml");
}

SimMount::SimMount(const TempDir& dir, const std::filesystem::path& spec)
    : root_(dir.path() / "sys") {
  mount(spec);
}

void SimMount::mount(const std::filesystem::path& spec) {
  std::filesystem::create_directories(root_);
  state_ = root_.string() + ".state/state.json";
  up_ = run({bin("gpuvm-sim").string(), "up", spec.string(), "--mount", root_.string()});
  mounted_ = up_.exit_code == 0;
  if (!mounted_) {
    throw std::runtime_error("gpuvm-sim up failed (" + std::to_string(up_.exit_code) +
                             "): " + up_.err);
  }
}

RunResult SimMount::down() {
  RunResult r = run({bin("gpuvm-sim").string(), "down", root_.string()});
  if (r.exit_code == 0) mounted_ = false;
  return r;
}

SimMount::~SimMount() {
  if (!mounted_) return;
  if (down().exit_code != 0) {
    // Last resort so that the TempDir can go: detach the mount.
    ::umount2(root_.c_str(), MNT_DETACH);
  }
}

int sysfs_write(const std::filesystem::path& path, const std::string& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  ssize_t n = ::write(fd, data.data(), data.size());
  int err = n < 0 ? errno : 0;
  ::close(fd);
  return err;
}

std::optional<std::string> sysfs_read(const std::filesystem::path& path, int* err) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (err) *err = errno;
    return std::nullopt;
  }
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (err) *err = errno;
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  if (err) *err = 0;
  return out;
}

void sriov_manage(const SimMount& m, const std::string& pf, const std::string& ids, int numvfs) {
  const std::filesystem::path drivers = m.root() / "bus/pci/drivers";
  ASSERT_EQ(sysfs_write(drivers / "nvidia/unbind", pf), 0);
  ASSERT_EQ(sysfs_write(drivers / "pci-pf-stub/new_id", ids), 0);
  if (!std::filesystem::exists(drivers / "pci-pf-stub" / pf)) {
    ASSERT_EQ(sysfs_write(drivers / "pci-pf-stub/bind", pf), 0);
  }
  ASSERT_EQ(sysfs_write(m.dev(pf) / "sriov_numvfs", std::to_string(numvfs) + "\n"), 0);
  ASSERT_EQ(sysfs_write(drivers / "pci-pf-stub/unbind", pf), 0);
  ASSERT_EQ(sysfs_write(drivers / "pci-pf-stub/remove_id", ids), 0);
  ASSERT_EQ(sysfs_write(drivers / "nvidia/bind", pf), 0);
}

std::vector<std::string> gpuvm_argv(const SimMount& m, std::vector<std::string> args,
                                    const std::filesystem::path& state_dir) {
  args.insert(args.begin(), bin("gpuvm").string());
  for (const std::string& a : {std::string("--sysfs-root"), m.root().string(),
                               std::string("--state-dir"), state_dir.string()})
    args.push_back(a);
  return args;
}

}  // namespace gpuvm::test
