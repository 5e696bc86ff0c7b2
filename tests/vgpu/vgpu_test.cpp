// gpuvm_vgpu on copies of the fixture trees. A plain directory has no kernel
// behind it: a write lands in the file (not truncated, as on sysfs) and
// nothing else happens; these tests prove the decisions and the writes.
#include "vgpu/vgpu.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "support/test_support.h"

namespace gpuvm::vgpu {
namespace {

namespace fs = std::filesystem;
using test::read_file;
using test::write_file;

class VgpuTest : public ::testing::Test {
 protected:
  fs::path tree(const std::string& name) {
    return test::copy_sysfs_fixture(name, dir_.path() / "sys");
  }
  static Errc code_of(const std::function<void()>& f) {
    try {
      f();
    } catch (const Error& e) {
      return e.code();
    }
    return Errc::kInternal;
  }
  test::TempDir dir_;
};

const char* kMdevUuid = "9b5b2e1c-7f3a-4c55-a1f0-3d2b8c6e4a10";

TEST_F(VgpuTest, VfUuidIsOpenNebulasUuidV5OfTheAddress) {
  // uuidgen --sha1 --namespace @x500 --name 0000:41:00:4
  const auto r =
      test::run({"/usr/bin/uuidgen", "--sha1", "--namespace", "@x500", "--name", "0000:41:00:4"});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(vf_uuid(Bdf::parse("0000:41:00.4")).str() + "\n", r.out);
}

TEST_F(VgpuTest, LegacyParentsAreTheVfsWithTheirTypes) {
  const auto ps = parents(SysfsRoot(tree("a100-legacy")));
  ASSERT_EQ(ps.size(), 4u);
  EXPECT_EQ(ps[0].bdf.str(), "0000:41:00.4");
  EXPECT_EQ(ps[0].interface, Interface::kMdev);
  EXPECT_EQ(ps[0].pf->str(), "0000:41:00.0");
  ASSERT_EQ(ps[0].mdevs.size(), 1u);
  EXPECT_EQ(ps[0].mdevs[0].str(), kMdevUuid);
  ASSERT_FALSE(ps[1].types.empty());
  EXPECT_EQ(ps[1].types[0].id, "nvidia-474");
  EXPECT_EQ(ps[1].types[0].short_name, "A100-1-5C");
  EXPECT_TRUE(ps[1].types[0].mig_backed);
  EXPECT_EQ(ps[1].types[0].gi_profile, "1g.5gb");
  EXPECT_EQ(ps[1].types[0].available, 1);
}

TEST_F(VgpuTest, ParentsOfOneGpuOrOneVf) {
  const SysfsRoot root(tree("h100-vendor"));
  EXPECT_EQ(parents(root, Bdf::parse("0000:c1:00.0")).size(), 4u);
  const auto one = parents(root, Bdf::parse("0000:c1:00.5"));
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].interface, Interface::kVendorSpecific);
  EXPECT_EQ(code_of([&] { parents(root, Bdf::parse("0000:99:00.0")); }), Errc::kInvalidArgument);
  EXPECT_EQ(code_of([&] { parents(root, Bdf::parse("0000:00:00.0")); }), Errc::kInvalidArgument);
}

TEST_F(VgpuTest, DevicesOnBothInterfaces) {
  auto legacy = devices(SysfsRoot(tree("a100-legacy")));
  ASSERT_EQ(legacy.size(), 1u);
  EXPECT_EQ(legacy[0].uuid.str(), kMdevUuid);
  EXPECT_EQ(legacy[0].type_id, "nvidia-476");
  EXPECT_EQ(legacy[0].type_name, "NVIDIA A100-3-20C");
}

TEST_F(VgpuTest, VendorSpecificDeviceIsTheVfWithItsUuidV5) {
  auto vendor = devices(SysfsRoot(tree("h100-vendor")));
  ASSERT_EQ(vendor.size(), 1u);
  EXPECT_EQ(vendor[0].parent.str(), "0000:c1:00.4");
  EXPECT_EQ(vendor[0].uuid, vf_uuid(vendor[0].parent));
  EXPECT_EQ(vendor[0].type_id, "1063");
  EXPECT_EQ(vendor[0].type_name, "NVIDIA H100XM-2-20C");
}

TEST_F(VgpuTest, CreateLegacyWritesTheUuidToCreate) {
  const fs::path root = tree("a100-legacy");
  CreateRequest req{Bdf::parse("0000:41:00.5"), "A100-2-10C", std::nullopt, false};
  const Device d = create(SysfsRoot(root), req);
  EXPECT_EQ(d.uuid, vf_uuid(req.parent));
  EXPECT_EQ(d.type_id, "nvidia-475");
  EXPECT_EQ(read_file(root / "class/mdev_bus/0000:41:00.5/mdev_supported_types/nvidia-475/create"),
            d.uuid.str());
}

TEST_F(VgpuTest, CreateAcceptsIdShortIdAndFullName) {
  for (const std::string t : {"nvidia-478", "478", "NVIDIA A100-7-40C", "A100-7-40C"}) {
    const fs::path root = tree("a100-legacy");
    const Device d = create(SysfsRoot(root), {Bdf::parse("0000:41:00.6"), t, std::nullopt, false});
    EXPECT_EQ(d.type_id, "nvidia-478") << t;
    fs::remove_all(root);
  }
}

TEST_F(VgpuTest, CreateLegacyRejectsBadInputBeforeWriting) {
  const fs::path root = tree("a100-legacy");
  const SysfsRoot r(root);
  const Bdf vf = Bdf::parse("0000:41:00.5");
  EXPECT_EQ(code_of([&] {
              create(r, {vf, "../../../../etc", std::nullopt, false});
            }),
            Errc::kInvalidArgument);
  EXPECT_EQ(code_of([&] {
              create(r, {vf, "nvidia-999", std::nullopt, false});
            }),
            Errc::kInvalidArgument);
  EXPECT_EQ(code_of([&] {
              create(r, {Bdf::parse("0000:41:00.0"), "nvidia-474", std::nullopt, false});
            }),
            Errc::kInvalidArgument);  // the PF of an SR-IOV GPU is not the parent
  EXPECT_EQ(code_of([&] {
              create(r, {Bdf::parse("0000:99:00.0"), "nvidia-474", std::nullopt, false});
            }),
            Errc::kInvalidArgument);
  // The UUID of the existing mdev.
  EXPECT_EQ(code_of([&] {
              create(r, {vf, "nvidia-474", Uuid::parse(kMdevUuid), false});
            }),
            Errc::kInvalidArgument);
  EXPECT_EQ(read_file(root / "class/mdev_bus/0000:41:00.5/mdev_supported_types/nvidia-474/create"),
            "");
}

TEST_F(VgpuTest, MigBackedTypeWithoutAGpuInstanceNamesTheProfile) {
  // 0000:41:00.4 already holds an mdev: available_instances is 0 there.
  const fs::path root = tree("a100-legacy");
  try {
    create(SysfsRoot(root), {Bdf::parse("0000:41:00.4"), "A100-1-5CME", std::nullopt, false});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kConflict);
    EXPECT_NE(std::string(e.what()).find("profile 1g.5gb+me on GPU 0000:41:00.0"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(VgpuTest, MigBackedTypeNotListedOnAVendorVfNamesTheProfile) {
  const fs::path root = tree("h100-vendor");
  try {
    create(SysfsRoot(root), {Bdf::parse("0000:c1:00.5"), "H100XM-3-40C", std::nullopt, false});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kConflict);
    EXPECT_NE(std::string(e.what()).find("profile 3g.40gb"), std::string::npos) << e.what();
  }
}

TEST_F(VgpuTest, CreateVendorSpecificWritesTheTypeId) {
  const fs::path root = tree("h100-vendor");
  const Device d =
      create(SysfsRoot(root), {Bdf::parse("0000:c1:00.5"), "H100XM-2-20C", std::nullopt, false});
  EXPECT_EQ(d.interface, Interface::kVendorSpecific);
  EXPECT_EQ(d.type_id, "1063");
  EXPECT_EQ(d.uuid, vf_uuid(Bdf::parse("0000:c1:00.5")));
  EXPECT_EQ(read_file(root / "bus/pci/devices/0000:c1:00.5/nvidia/current_vgpu_type"), "1063");
}

TEST_F(VgpuTest, CreateVendorSpecificRefusesABusyVfAndAForeignUuid) {
  const fs::path root = tree("h100-vendor");
  const SysfsRoot r(root);
  EXPECT_EQ(code_of([&] {
              create(r, {Bdf::parse("0000:c1:00.4"), "1063", std::nullopt, false});
            }),
            Errc::kBusy);
  EXPECT_EQ(code_of([&] {
              create(r, {Bdf::parse("0000:c1:00.5"), "1063", Uuid::parse(kMdevUuid), false});
            }),
            Errc::kInvalidArgument);
  EXPECT_EQ(code_of([&] {
              create(r, {Bdf::parse("0000:c1:00.5"), "H100XM-40C", std::nullopt, false});
            }),
            Errc::kConflict);  // listed nowhere while the GPU holds a vGPU: may not fit
  EXPECT_EQ(code_of([&] {
              create(r, {Bdf::parse("0000:c1:00.5"), "bogus", std::nullopt, false});
            }),
            Errc::kInvalidArgument);  // not a type name at all
  // Already there is success when asked for.
  const Device d = create(r, {Bdf::parse("0000:c1:00.4"), "1063", std::nullopt, true});
  EXPECT_EQ(d.type_id, "1063");
  EXPECT_EQ(read_file(root / "bus/pci/devices/0000:c1:00.5/nvidia/current_vgpu_type"), "0\n");
}

TEST_F(VgpuTest, FindDeviceByUuidOrAddress) {
  const SysfsRoot r(tree("a100-legacy"));
  EXPECT_EQ(find_device(r, kMdevUuid).parent.str(), "0000:41:00.4");
  EXPECT_EQ(find_device(r, "0000:41:00.4").uuid.str(), kMdevUuid);
  EXPECT_EQ(find_device(r, "41:00.4").uuid.str(), kMdevUuid);
  for (const char* bad : {"../../x", "0000:41:00.5", "00000000-0000-0000-0000-000000000001", ""}) {
    EXPECT_EQ(code_of([&] { find_device(r, bad); }), Errc::kInvalidArgument) << bad;
  }
}

TEST_F(VgpuTest, DestroyWritesRemoveOrZero) {
  const fs::path legacy = tree("a100-legacy");
  const Device d = destroy(SysfsRoot(legacy), kMdevUuid);
  EXPECT_EQ(d.type_id, "nvidia-476");
  EXPECT_EQ(read_file(legacy / "bus/mdev/devices" / kMdevUuid / "remove"), "1");
  fs::remove_all(legacy);
  const fs::path vendor = tree("h100-vendor");
  destroy(SysfsRoot(vendor), "0000:c1:00.4");
  // "0" over "1063\n": sysfs would hold "0"; a plain file keeps the tail.
  EXPECT_EQ(
      read_file(vendor / "bus/pci/devices/0000:c1:00.4/nvidia/current_vgpu_type").substr(0, 1),
      "0");
}

}  // namespace
}  // namespace gpuvm::vgpu
