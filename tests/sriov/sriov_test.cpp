// gpuvm_sriov on copies of the hand-made fixture trees (tests/data/sysfs).
// A plain directory has no kernel behind it: a write lands in the file and
// nothing else happens (and, as sysfs ignores O_TRUNC, write_attr does not
// truncate, so a shorter value overwrites only the start of the file). These
// tests prove the decisions and the exact sequence of writes; the kernel's
// answers are proven on gpuvm-sim (sriov_sim_test).
#include "sriov/sriov.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "core/error.h"
#include "support/test_support.h"

namespace gpuvm::sriov {
namespace {

namespace fs = std::filesystem;
using test::read_file;
using test::write_file;

const Bdf kH100 = Bdf::parse("0000:c1:00.0");

class SriovTest : public ::testing::Test {
 protected:
  // Copies `name`, adds the driver bind/unbind files and driver_override
  // (write-only attributes the fixtures leave out).
  fs::path tree(const std::string& name) {
    const fs::path to = test::copy_sysfs_fixture(name, dir_.path() / "sys");
    for (const char* drv : {"nvidia", "pci-pf-stub", "vfio-pci"}) {
      fs::create_directories(to / "bus/pci/drivers" / drv);
      for (const char* f : {"bind", "unbind"}) write_file(to / "bus/pci/drivers" / drv / f, "");
    }
    for (const auto& e : fs::directory_iterator(to / "bus/pci/devices"))
      write_file(e.path() / "driver_override", "");
    return to;
  }
  // The H100 PF without its VFs (sriov_numvfs 0, no virtfn links).
  fs::path h100_without_vfs() {
    const fs::path root = tree("h100-vendor");
    const fs::path pf = root / "bus/pci/devices" / kH100.str();
    write_file(pf / "sriov_numvfs", "0\n");
    for (int i = 0; i < 4; ++i) fs::remove(pf / ("virtfn" + std::to_string(i)));
    return root;
  }
  static std::string head(const fs::path& p, size_t n) { return read_file(p).substr(0, n); }

  test::TempDir dir_;
};

TEST_F(SriovTest, EnableOnNvidiaDoesTheSriovManageSequenceInOrder) {
  const fs::path root = h100_without_vfs();
  Options o;
  const Result r = enable(SysfsRoot(root), kH100, o);
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(r.vfs_before, 0);
  const std::string d = (root / "bus/pci/devices/0000:c1:00.0").string();
  const std::string drivers = (root / "bus/pci/drivers").string();
  const std::vector<std::string> expected = {
      "write '0000:c1:00.0' to " + drivers + "/nvidia/unbind",
      "write 'pci-pf-stub' to " + d + "/driver_override",
      "write '0000:c1:00.0' to " + drivers + "/pci-pf-stub/bind",
      "write '32' to " + d + "/sriov_numvfs",
      "write '0000:c1:00.0' to " + drivers + "/pci-pf-stub/unbind",
      "write '\\n' to " + d + "/driver_override",
      "write '0000:c1:00.0' to " + drivers + "/nvidia/bind",
  };
  EXPECT_EQ(r.steps, expected);
  EXPECT_EQ(read_file(root / "bus/pci/drivers/nvidia/unbind"), "0000:c1:00.0");
  EXPECT_EQ(read_file(root / "bus/pci/drivers/pci-pf-stub/bind"), "0000:c1:00.0");
  EXPECT_EQ(read_file(root / "bus/pci/drivers/nvidia/bind"), "0000:c1:00.0");
  EXPECT_EQ(head(root / "bus/pci/devices/0000:c1:00.0/sriov_numvfs", 2), "32");
}

TEST_F(SriovTest, EnableWithNumVfsWritesThatCount) {
  const fs::path root = h100_without_vfs();
  Options o;
  o.num_vfs = 8;
  const Result r = enable(SysfsRoot(root), kH100, o);
  EXPECT_EQ(head(root / "bus/pci/devices/0000:c1:00.0/sriov_numvfs", 2), "8\n");
}

TEST_F(SriovTest, EnableIsANoOpWhenTheVfsAreThere) {
  const fs::path root = tree("h100-vendor");
  Options o;
  o.num_vfs = 4;
  const Result r = enable(SysfsRoot(root), kH100, o);
  EXPECT_FALSE(r.changed);
  EXPECT_TRUE(r.steps.empty());
  EXPECT_EQ(r.vfs.size(), 4u);
  EXPECT_EQ(r.vfs.front().str(), "0000:c1:00.4");
  EXPECT_EQ(read_file(root / "bus/pci/drivers/nvidia/unbind"), "");
}

TEST_F(SriovTest, EnableWithAnotherCountEnabledIsBusy) {
  const fs::path root = tree("h100-vendor");
  try {
    enable(SysfsRoot(root), kH100);  // 32 wanted, 4 there
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kBusy);
    EXPECT_NE(std::string(e.what()).find("already has 4 VFs"), std::string::npos) << e.what();
  }
}

TEST_F(SriovTest, AnInterruptedRunParkedOnTheStubIsFinished) {
  // kill -9 after sriov_numvfs: the PF sits on pci-pf-stub with its VFs.
  const fs::path root = tree("h100-vendor");
  const fs::path pf = root / "bus/pci/devices/0000:c1:00.0";
  fs::remove(pf / "driver");
  fs::create_directory_symlink("../../../../bus/pci/drivers/pci-pf-stub", pf / "driver");
  Options o;
  o.num_vfs = 4;
  const Result r = enable(SysfsRoot(root), kH100, o);
  EXPECT_TRUE(r.changed);
  ASSERT_EQ(r.steps.size(), 3u);
  EXPECT_NE(r.steps[0].find("pci-pf-stub/unbind"), std::string::npos);
  EXPECT_NE(r.steps[1].find("driver_override"), std::string::npos);
  EXPECT_NE(r.steps[2].find("nvidia/bind"), std::string::npos);
}

TEST_F(SriovTest, AnIntentRecordLeftBehindMakesTheNextRunFinish) {
  // Killed after nvidia/unbind... and after the override was cleared: sysfs
  // alone looks done (4 VFs, PF unbound is not visible here), the record says not.
  const fs::path root = tree("h100-vendor");
  const fs::path state = dir_.path() / "state";
  fs::create_directories(state / "sriov");
  write_file(state / "sriov/0000:c1:00.0", "4\n");
  Options o;
  o.num_vfs = 4;
  o.state_dir = state;
  const Result r = enable(SysfsRoot(root), kH100, o);
  EXPECT_TRUE(r.changed);
  EXPECT_FALSE(fs::exists(state / "sriov/0000:c1:00.0"));
  // A clean run records and removes its intent.
  const Result again = enable(SysfsRoot(root), kH100, o);
  EXPECT_FALSE(again.changed);
}

TEST_F(SriovTest, DisableRefusesWhileAVfHoldsAVendorSpecificVgpu) {
  const fs::path root = tree("h100-vendor");
  try {
    disable(SysfsRoot(root), kH100);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kBusy);
    EXPECT_NE(std::string(e.what()).find("0000:c1:00.4 (current_vgpu_type 1063)"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("--force"), std::string::npos);
  }
  EXPECT_EQ(read_file(root / "bus/pci/drivers/nvidia/unbind"), "");
  EXPECT_EQ(head(root / "bus/pci/devices/0000:c1:00.0/sriov_numvfs", 1), "4");
}

TEST_F(SriovTest, DisableRefusesWhileAVfHoldsAnMdev) {
  const fs::path root = tree("a100-legacy");
  try {
    disable(SysfsRoot(root), Bdf::parse("0000:41:00.0"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kBusy);
    EXPECT_NE(
        std::string(e.what()).find("0000:41:00.4 (mdev 9b5b2e1c-7f3a-4c55-a1f0-3d2b8c6e4a10)"),
        std::string::npos)
        << e.what();
  }
}

TEST_F(SriovTest, DisableWithForceGoesThroughTheStub) {
  const fs::path root = tree("h100-vendor");
  Options o;
  o.force = true;
  const Result r = disable(SysfsRoot(root), kH100, o);
  EXPECT_TRUE(r.changed);
  // The four VFs are let go first, then the PF's sequence with 0.
  ASSERT_EQ(r.steps.size(), 11u);
  EXPECT_NE(r.steps[0].find("write '0000:c1:00.4' to"), std::string::npos) << r.steps[0];
  EXPECT_NE(r.steps[0].find("nvidia/unbind"), std::string::npos) << r.steps[0];
  EXPECT_NE(r.steps[7].find("write '0' to"), std::string::npos) << r.steps[7];
  EXPECT_EQ(head(root / "bus/pci/devices/0000:c1:00.0/sriov_numvfs", 1), "0");
}

TEST_F(SriovTest, DryRunWritesNothing) {
  const fs::path root = h100_without_vfs();
  Options o;
  o.dry_run = true;
  const Result r = enable(SysfsRoot(root), kH100, o);
  EXPECT_EQ(r.steps.size(), 7u);
  EXPECT_EQ(read_file(root / "bus/pci/drivers/nvidia/unbind"), "");
  EXPECT_EQ(read_file(root / "bus/pci/devices/0000:c1:00.0/sriov_numvfs"), "0\n");
}

TEST_F(SriovTest, AFailedStepHandsTheGpuBackToNvidia) {
  const fs::path root = h100_without_vfs();
  fs::remove(root / "bus/pci/drivers/pci-pf-stub/bind");  // the stub driver is not loaded
  try {
    enable(SysfsRoot(root), kH100);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("pci-pf-stub/bind"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("handed back to nvidia"), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_file(root / "bus/pci/drivers/nvidia/bind"), "0000:c1:00.0");
}

TEST_F(SriovTest, OtherVendorsUseSriovNumvfsAlone) {
  const fs::path root = tree("host-mixed");
  const Bdf nic = Bdf::parse("0000:03:00.1");
  Options o;
  o.num_vfs = 2;
  const Result r = enable(SysfsRoot(root), nic, o);
  ASSERT_EQ(r.steps.size(), 1u);
  EXPECT_NE(r.steps[0].find("0000:03:00.1/sriov_numvfs"), std::string::npos);
  EXPECT_EQ(head(root / "bus/pci/devices/0000:03:00.1/sriov_numvfs", 1), "2");
  EXPECT_EQ(read_file(root / "bus/pci/drivers/pci-pf-stub/bind"), "");
}

TEST_F(SriovTest, BadTargetsAreInvalidAndChangeNothing) {
  const fs::path root = h100_without_vfs();
  const SysfsRoot r(root);
  auto code = [&](const Bdf& b, Options o = {}) {
    try {
      enable(r, b, o);
    } catch (const Error& e) {
      return e.code();
    }
    return Errc::kInternal;
  };
  EXPECT_EQ(code(Bdf::parse("0000:99:00.0")), Errc::kInvalidArgument);  // no such device
  EXPECT_EQ(code(Bdf::parse("0000:00:00.0")), Errc::kInvalidArgument);  // not SR-IOV capable
  EXPECT_EQ(code(Bdf::parse("0000:c1:00.4")), Errc::kInvalidArgument);  // a VF
  Options too_many;
  too_many.num_vfs = 33;
  EXPECT_EQ(code(kH100, too_many), Errc::kInvalidArgument);
  Options relative;
  relative.sriov_manage = "sriov-manage";
  EXPECT_EQ(code(kH100, relative), Errc::kInvalidArgument);
  EXPECT_EQ(read_file(root / "bus/pci/drivers/nvidia/unbind"), "");
}

TEST_F(SriovTest, NvidiaSriovGpusListsCapableNvidiaPfsOnly) {
  // The second H100 (0001:01:00.0) has no VFs yet; the PCIe bridges and
  // the VFs themselves are not listed.
  EXPECT_EQ(nvidia_sriov_gpus(SysfsRoot(tree("h100-vendor"))),
            (std::vector<Bdf>{kH100, Bdf::parse("0001:01:00.0")}));
}

// A stand-in for NVIDIA's script: records its arguments, exits with $RC.
fs::path fake_sriov_manage(const fs::path& dir, int rc) {
  const fs::path bin = dir / "bin";
  fs::create_directories(bin);
  ::chmod(bin.c_str(), 0755);
  const fs::path script = bin / "sriov-manage";
  write_file(script, "#!/bin/sh\necho \"$@\" > " + (dir / "args").string() +
                         "\necho 'Cannot obtain unbindLock' >&2\nexit " + std::to_string(rc) +
                         "\n");
  ::chmod(script.c_str(), 0755);
  return script;
}

TEST_F(SriovTest, SriovManageIsRunWithValidatedArgumentsAndNoShell) {
  const fs::path root = h100_without_vfs();
  Options o;
  o.sriov_manage = fake_sriov_manage(dir_.path(), 0);
  const Result r = enable(SysfsRoot(root), kH100, o);
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(read_file(dir_.path() / "args"), "-e 0000:c1:00.0\n");
  EXPECT_EQ(read_file(root / "bus/pci/drivers/nvidia/unbind"), "");  // the script did the work
}

TEST_F(SriovTest, SriovManageFailureCarriesItsOutput) {
  const fs::path root = h100_without_vfs();
  Options o;
  o.sriov_manage = fake_sriov_manage(dir_.path(), 3);
  try {
    enable(SysfsRoot(root), kH100, o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kDriver);
    EXPECT_NE(std::string(e.what()).find("exited with status 3: Cannot obtain unbindLock"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(SriovTest, AWritableSriovManageIsRefused) {
  const fs::path root = h100_without_vfs();
  Options o;
  o.sriov_manage = fake_sriov_manage(dir_.path(), 0);
  ::chmod(o.sriov_manage->c_str(), 0777);
  try {
    enable(SysfsRoot(root), kH100, o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("writable by group or others"), std::string::npos);
  }
  EXPECT_FALSE(fs::exists(dir_.path() / "args"));
}

}  // namespace
}  // namespace gpuvm::sriov
