// write_attr stays beneath the sysfs root: a tree of planted symlinks (the
// issue's attack: root wrote digits or a UUID over the start of a root-only
// file) gets a refusal, and the file outside keeps its bytes.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <functional>

#include "core/error.h"
#include "core/sysfs.h"
#include "support/test_support.h"

namespace gpuvm {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSecret = "root-only secret line\n";

class SysfsWriteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    secret_ = dir_.path() / "outside/secret";
    fs::create_directories(secret_.parent_path());
    test::write_file(secret_, kSecret);
    ::chmod(secret_.c_str(), 0600);
    root_ = dir_.path() / "sys";
    // The shape of real sysfs: bus/pci/devices/<BDF> is a relative link into
    // devices/, and writes go through it.
    fs::create_directories(root_ / "devices/pci0000:40/0000:41:00.0/nvidia");
    test::write_file(root_ / "devices/pci0000:40/0000:41:00.0/sriov_numvfs", "0\n");
    test::write_file(root_ / "devices/pci0000:40/0000:41:00.0/nvidia/current_vgpu_type", "0\n");
    fs::create_directories(root_ / "bus/pci/devices");
    fs::create_symlink("../../../devices/pci0000:40/0000:41:00.0",
                       root_ / "bus/pci/devices/0000:41:00.0");
  }

  // The write is refused with kInvalidArgument, the message names the path
  // and holds nothing of the file, and the file is unchanged.
  // So is opening it by either method (the fallback for kernels without
  // openat2 keeps the same rule).
  void expect_refused(const fs::path& path, const std::string& value) {
    SCOPED_TRACE(path.string());
    auto check = [&](const std::function<void()>& f, const char* how) {
      SCOPED_TRACE(how);
      try {
        f();
        ADD_FAILURE() << "write to " << path << " was not refused";
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::kInvalidArgument) << e.what();
        EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
        EXPECT_EQ(std::string(e.what()).find("root-only"), std::string::npos) << e.what();
      }
    };
    const SysfsRoot root(root_);
    check([&] { write_attr(root, path, value); }, "write_attr");
    check([&] { open_attr_for_write(root, path, BeneathMethod::kOpenat2); }, "openat2");
    check([&] { open_attr_for_write(root, path, BeneathMethod::kProcfsCheck); }, "procfs");
    EXPECT_EQ(test::read_file(secret_), kSecret);
  }

  test::TempDir dir_;
  fs::path root_, secret_;
};

TEST_F(SysfsWriteTest, WritesThroughLinksThatStayUnderTheRoot) {
  const SysfsRoot root(root_);
  write_attr(root, root.pci_device(Bdf::parse("0000:41:00.0")) / "sriov_numvfs", "4");
  EXPECT_EQ(test::read_file(root_ / "devices/pci0000:40/0000:41:00.0/sriov_numvfs"), "4\n");
  write_attr(root, root.pci_device(Bdf::parse("0000:41:00.0")) / "nvidia/current_vgpu_type",
             "1332");
  for (auto method : {BeneathMethod::kOpenat2, BeneathMethod::kProcfsCheck}) {
    UniqueFd fd = open_attr_for_write(
        root, root.pci_device(Bdf::parse("0000:41:00.0")) / "nvidia/current_vgpu_type", method);
    EXPECT_TRUE(fd.ok());
  }
}

TEST_F(SysfsWriteTest, RefusesASymlinkAsTheAttribute) {
  // A link to the secret, absolute and relative, and one to a file inside.
  fs::create_symlink(secret_, root_ / "devices/pci0000:40/0000:41:00.0/remove");
  fs::create_symlink("../../../outside/secret", root_ / "devices/pci0000:40/0000:41:00.0/reset");
  fs::create_symlink("sriov_numvfs", root_ / "devices/pci0000:40/0000:41:00.0/numvfs_link");
  expect_refused(root_ / "bus/pci/devices/0000:41:00.0/remove", "1");
  expect_refused(root_ / "bus/pci/devices/0000:41:00.0/reset", "1");
  expect_refused(root_ / "bus/pci/devices/0000:41:00.0/numvfs_link", "4");
  EXPECT_EQ(test::read_file(root_ / "devices/pci0000:40/0000:41:00.0/sriov_numvfs"), "0\n");
}

TEST_F(SysfsWriteTest, RefusesADirectoryLinkThatLeadsOutOfTheRoot) {
  // The tree: mdev_bus/<BDF> and a device link pointing out of the
  // root, absolute and by `..`, with the attribute name the write expects.
  fs::create_symlink(secret_.parent_path(), root_ / "bus/pci/devices/0000:41:00.4");
  fs::create_directories(root_ / "class/mdev_bus");
  fs::create_symlink("../../../outside", root_ / "class/mdev_bus/0000:41:00.5");
  fs::create_symlink("../../../..", root_ / "bus/pci/devices/0000:41:00.6");
  expect_refused(root_ / "bus/pci/devices/0000:41:00.4/secret", "1332");
  expect_refused(root_ / "class/mdev_bus/0000:41:00.5/secret",
                 "9b5b2e1c-7f3a-4c55-a1f0-3d2b8c6e4a10");
  expect_refused(root_ / "bus/pci/devices/0000:41:00.6/outside/secret", "0");
}

TEST_F(SysfsWriteTest, RefusesAPathOutsideTheRoot) {
  expect_refused(secret_, "1");
  expect_refused(root_ / "../outside/secret", "1");
  expect_refused(root_ / "bus/../../outside/secret", "1");
}

TEST_F(SysfsWriteTest, AMissingAttributeIsNotFound) {
  try {
    write_attr(SysfsRoot(root_), root_ / "bus/pci/devices/0000:41:00.0/nope", "1");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kNotFound) << e.what();
  }
}

}  // namespace
}  // namespace gpuvm
