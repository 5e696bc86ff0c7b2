// OpenNebula's `vgpu` action contract on the fixture trees.
#include "vgpu/one.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "core/error.h"
#include "support/test_support.h"

namespace gpuvm::vgpu::one {
namespace {

namespace fs = std::filesystem;
using test::read_file;

std::string data(const std::string& name) {
  return read_file(test::source_dir() / "tests/vgpu/data" / name);
}

class OneVgpuTest : public ::testing::Test {
 protected:
  fs::path tree(const std::string& name) {
    return test::copy_sysfs_fixture(name, dir_.path() / "sys");
  }
  test::TempDir dir_;
};

TEST_F(OneVgpuTest, ParsesTheVgpuEntriesOnly) {
  const auto entries = parse_vm_xml(data("vm-legacy.xml"), "vm.xml");
  ASSERT_EQ(entries.size(), 2u);  // the third PCI has no UUID: plain passthrough
  EXPECT_EQ(entries[0].address.str(), "0000:41:00.5");
  EXPECT_EQ(entries[0].profile, "nvidia-475");
  EXPECT_EQ(entries[0].mdev_mode, "legacy");
  EXPECT_EQ(entries[1].profile, "");
}

TEST_F(OneVgpuTest, MalformedEntriesAreInvalid) {
  const std::string base = data("vm-nvidia.xml");
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string s = base;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  for (const std::string& bad :
       {replace("[c1]", "[../../x]"), replace("[0000]", "[00000]"),
        replace("1063 (NVIDIA", "../1063 (NVIDIA"), replace("[nvidia]", "[vendor]"),
        replace("0b0b4d0a", "zzzz"), std::string("<NOTVM/>"), std::string("<VM><TEMPLATE>")}) {
    try {
      parse_vm_xml(bad, "vm.xml");
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kInvalidArgument) << e.what();
    }
  }
}

TEST_F(OneVgpuTest, CreateLegacyUsesTheProfileOrTheFirstType) {
  const fs::path root = tree("a100-legacy");
  const auto out = create_all(SysfsRoot(root), parse_vm_xml(data("vm-legacy.xml"), "vm.xml"));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(read_file(root / "class/mdev_bus/0000:41:00.5/mdev_supported_types/nvidia-475/create"),
            "0b0b4d0a-0000-5000-8000-000000000005");
  // No PROFILE: the first type in `ls` order, as the bash script does.
  EXPECT_EQ(read_file(root / "class/mdev_bus/0000:41:00.6/mdev_supported_types/nvidia-474/create"),
            "0b0b4d0a-0000-5000-8000-000000000006");
}

TEST_F(OneVgpuTest, CreateNvidiaModeWritesTheProfilesFirstWord) {
  const fs::path root = tree("h100-vendor");
  create_all(SysfsRoot(root), parse_vm_xml(data("vm-nvidia.xml"), "vm.xml"));
  EXPECT_EQ(read_file(root / "bus/pci/devices/0000:c1:00.5/nvidia/current_vgpu_type"), "1063");
}

TEST_F(OneVgpuTest, CreateChecksEveryEntryBeforeWriting) {
  const fs::path root = tree("a100-legacy");
  std::string xml = data("vm-legacy.xml");
  xml.replace(xml.find("[6]"), 3, "[0]");  // second entry: the PF, not a parent
  EXPECT_THROW(create_all(SysfsRoot(root), parse_vm_xml(xml, "vm.xml")), Error);
  EXPECT_EQ(read_file(root / "class/mdev_bus/0000:41:00.5/mdev_supported_types/nvidia-475/create"),
            "");
}

TEST_F(OneVgpuTest, DeleteOfDevicesThatAreGoneSucceeds) {
  const fs::path root = tree("a100-legacy");
  const auto out = delete_all(SysfsRoot(root), parse_vm_xml(data("vm-legacy.xml"), "vm.xml"));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_NE(out[0].what.find("already gone"), std::string::npos);
}

TEST_F(OneVgpuTest, DeleteNvidiaModeWritesZero) {
  const fs::path root = tree("h100-vendor");
  std::string xml = data("vm-nvidia.xml");
  xml.replace(xml.find("[5]"), 3, "[4]");  // the VF that holds type 1063
  const auto out = delete_all(SysfsRoot(root), parse_vm_xml(xml, "vm.xml"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NE(out[0].what.find("removed"), std::string::npos) << out[0].what;
  EXPECT_EQ(read_file(root / "bus/pci/devices/0000:c1:00.4/nvidia/current_vgpu_type").substr(0, 1),
            "0");
}

// Field text is the element's own text and CDATA: an entity reference is
// never expanded (there can be none: a DOCTYPE is refused).
TEST_F(OneVgpuTest, ADoctypeIsRefusedAndNoEntityIsExpanded) {
  std::string xml = data("vm-legacy.xml");
  try {
    parse_vm_xml("<!DOCTYPE VM [<!ENTITY a \"nvidia-475\">]>\n" + xml, "vm.xml");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("vm.xml: has a DOCTYPE"), std::string::npos) << e.what();
  }
  // Predefined entities and character references are text, as in xmllint.
  const std::string profile = "<![CDATA[nvidia-475]]>";
  xml.replace(xml.find(profile), profile.size(), "nvidia&#45;475");
  EXPECT_EQ(parse_vm_xml(xml, "vm.xml")[0].profile, "nvidia-475");
}

TEST_F(OneVgpuTest, ReadVmXmlPolicy) {
  const fs::path vm = dir_.path() / "vm.xml";
  test::write_file(vm, data("vm-legacy.xml"));
  EXPECT_EQ(read_vm_xml(vm, {false, ::geteuid()}), data("vm-legacy.xml"));
  EXPECT_EQ(read_vm_xml(vm, {}), data("vm-legacy.xml"));
  auto refused = [](const fs::path& p, const VmXmlPolicy& policy, const std::string& needle) {
    SCOPED_TRACE(p.string());
    try {
      read_vm_xml(p, policy);
      ADD_FAILURE() << "not refused";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kInvalidArgument) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  refused(vm, {false, ::geteuid() + 1}, "owned by uid");
  refused(vm, {true, ::geteuid()}, "under sudo only");
  refused(dir_.path() / "missing.xml", {}, "missing.xml");
  refused("/var/lib/one//datastores/0/42/vm.xml", {true, ::geteuid()},
          "/var/lib/one//datastores/0/42/vm.xml");  // absent here: bad input, exit 2
  for (const char* p : {"/var/lib/one//datastores/0/42/../vm.xml", "/var/lib/one/./x/vm.xml"}) {
    refused(p, {}, "'..' components");
  }
  refused("datastores/0/42/vm.xml", {}, "absolute");
}

}  // namespace
}  // namespace gpuvm::vgpu::one
