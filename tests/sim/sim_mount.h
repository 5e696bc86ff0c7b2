// A gpuvm-sim mount for one test: `gpuvm-sim up` in the test's own TempDir,
// `gpuvm-sim down` in the destructor (and a lazy unmount if that fails, so a
// failing test never leaves a stuck mount behind).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace gpuvm::test {

// Why FUSE tests cannot run here ("" when they can): no /dev/fuse, not
// root, or no fusermount3.
std::string fuse_unavailable_reason();

#define GPUVM_REQUIRE_FUSE()                                               \
  do {                                                                     \
    if (auto why = ::gpuvm::test::fuse_unavailable_reason(); !why.empty()) \
      GTEST_SKIP() << "FUSE tests need " << why;                           \
  } while (0)

class SimMount {
 public:
  // Writes `spec_yaml` to <dir>/host.yaml and mounts it at <dir>/sys.
  SimMount(const TempDir& dir, const std::string& spec_yaml);
  // Mounts an existing spec file at <dir>/sys.
  SimMount(const TempDir& dir, const std::filesystem::path& spec);
  SimMount(const SimMount&) = delete;
  SimMount& operator=(const SimMount&) = delete;
  ~SimMount();

  const std::filesystem::path& root() const { return root_; }
  const std::filesystem::path& state() const { return state_; }
  std::filesystem::path dev(const std::string& bdf) const {
    return root_ / "bus/pci/devices" / bdf;
  }
  const RunResult& up_result() const { return up_; }
  // Runs gpuvm-sim down; the destructor then does nothing.
  RunResult down();

 private:
  void mount(const std::filesystem::path& spec);
  std::filesystem::path root_;
  std::filesystem::path state_;
  RunResult up_;
  bool mounted_ = false;
};

// Enables (or, with 0, disables) `numvfs` VFs on the NVIDIA PF `pf` with the
// writes NVIDIA's sriov-manage script makes (reference nvidia.md §7):
// unbind nvidia, new_id (+ bind) pci-pf-stub, sriov_numvfs, unbind,
// remove_id, bind nvidia. `ids` is "10de 2330" for the PF's vendor/device.
void sriov_manage(const SimMount& m, const std::string& pf, const std::string& ids, int numvfs);

// The argv of `gpuvm ARGS --sysfs-root <the mount> --state-dir STATE_DIR`:
// the node tool pointed at this simulated host.
std::vector<std::string> gpuvm_argv(const SimMount& m, std::vector<std::string> args,
                                    const std::filesystem::path& state_dir);

// write(2) of `data` to `path` in one call, as `echo -n` does: 0 or the errno.
int sysfs_write(const std::filesystem::path& path, const std::string& data);
// The file's content, or nullopt with `err` set to the read errno.
std::optional<std::string> sysfs_read(const std::filesystem::path& path, int* err = nullptr);

}  // namespace gpuvm::test
