#include "core/sysfs.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "support/test_support.h"

namespace gpuvm {
namespace {

TEST(Sysfs, BuildsPathsFromRoot) {
  SysfsRoot root("/tmp/x");
  Bdf b = Bdf::parse("0000:41:00.4");
  EXPECT_EQ(root.pci_device(b), "/tmp/x/bus/pci/devices/0000:41:00.4");
  EXPECT_EQ(root.mdev_parent(b), "/tmp/x/class/mdev_bus/0000:41:00.4");
}

TEST(Sysfs, ReadAttrTrimsNewlineAndReportsMissing) {
  test::TempDir dir;
  test::write_file(dir.path() / "vendor", "0x10de\n");
  EXPECT_EQ(read_attr(dir.path() / "vendor"), "0x10de");
  EXPECT_EQ(read_attr(dir.path() / "absent"), std::nullopt);
  test::write_file(dir.path() / "empty", "");
  EXPECT_EQ(read_attr(dir.path() / "empty"), "");
}

TEST(Sysfs, ReadAttrOfUnreadableFileNamesThePath) {
  // Root reads a mode-000 file anyway; /proc/self/mem fails read(2) at offset
  // 0 (EIO) for every user, like a sysfs attribute whose show() errors out.
  test::TempDir dir;
  std::filesystem::path path = dir.path() / "secret";
  if (geteuid() == 0) {
    path = "/proc/self/mem";
  } else {
    test::write_file(path, "x");
    chmod(path.c_str(), 0);
  }
  try {
    read_attr(path);
    FAIL() << path;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
  }
}

TEST(Sysfs, ReadAttrOfDirectoryFails) {
  test::TempDir dir;
  EXPECT_THROW(read_attr(dir.path()), Error);
}

TEST(Sysfs, WriteAttrWritesAndReportsErrno) {
  test::TempDir dir;
  test::write_file(dir.path() / "attr", "");
  write_attr(SysfsRoot(dir.path()), dir.path() / "attr", "4");
  EXPECT_EQ(read_attr(dir.path() / "attr"), "4");
  try {
    write_attr(SysfsRoot(dir.path()), dir.path() / "missing/attr", "1");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kNotFound);
    EXPECT_EQ(e.sys_errno(), ENOENT);
  }
}

TEST(Sysfs, LinkBasename) {
  test::TempDir dir;
  std::filesystem::create_symlink("../../../bus/pci/drivers/nvidia", dir.path() / "driver");
  EXPECT_EQ(link_basename(dir.path() / "driver"), "nvidia");
  EXPECT_EQ(link_basename(dir.path() / "nope"), std::nullopt);
}

TEST(Sysfs, PathComponentValidation) {
  EXPECT_NO_THROW(check_path_component("nvidia-558", "type"));
  for (const char* bad : {"", ".", "..", "../x", "a/b"}) {
    EXPECT_THROW(check_path_component(bad, "type"), Error) << bad;
  }
  EXPECT_THROW(check_path_component(std::string_view("a\0b", 3), "type"), Error);
}

}  // namespace
}  // namespace gpuvm
