// Every XML gpuvm produces is checked with libvirt's own validator
// (virt-xml-validate, Debian libvirt-clients, schemas from libvirt0).
#include "vgpu/xml.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "support/test_support.h"

namespace gpuvm::vgpu {
namespace {

namespace fs = std::filesystem;

Device legacy() {
  Device d;
  d.interface = Interface::kMdev;
  d.parent = Bdf::parse("0000:41:00.4");
  d.uuid = Uuid::parse("9b5b2e1c-7f3a-4c55-a1f0-3d2b8c6e4a10");
  return d;
}

Device vendor() {
  Device d;
  d.interface = Interface::kVendorSpecific;
  d.parent = Bdf::parse("0001:c1:1f.7");
  d.uuid = vf_uuid(d.parent);
  return d;
}

std::string data(const std::string& name) {
  return test::read_file(test::source_dir() / "tests/vgpu/data" / name);
}

// virt-xml-validate FILE domain: exit 0 and "validates".
void expect_valid_domain(const std::string& xml) {
  if (!fs::exists("/usr/bin/virt-xml-validate") ||
      !fs::exists("/usr/share/libvirt/schemas/domain.rng")) {
    GTEST_SKIP() << "virt-xml-validate or libvirt's schemas missing (scripts/install-deps.sh)";
  }
  test::TempDir dir;
  const fs::path file = dir.path() / "domain.xml";
  test::write_file(file, xml);
  const auto r = test::run({"/usr/bin/virt-xml-validate", file.string(), "domain"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err << xml;
}

TEST(HostdevXml, LegacyIsAnMdevHostdevWithTheUuid) {
  EXPECT_EQ(hostdev_xml(legacy()),
            "<hostdev mode='subsystem' type='mdev' model='vfio-pci'>\n"
            "  <source>\n"
            "    <address uuid='9b5b2e1c-7f3a-4c55-a1f0-3d2b8c6e4a10'/>\n"
            "  </source>\n"
            "</hostdev>\n");
}

TEST(HostdevXml, VendorSpecificIsAnUnmanagedPciHostdevOfTheVf) {
  EXPECT_EQ(hostdev_xml(vendor()),
            "<hostdev mode='subsystem' type='pci' managed='no'>\n"
            "  <source>\n"
            "    <address domain='0x0001' bus='0xc1' slot='0x1f' function='0x7'/>\n"
            "  </source>\n"
            "</hostdev>\n");
}

TEST(HostdevXml, InsertedIntoADomainBothValidate) {
  for (const Device& d : {legacy(), vendor()}) {
    const std::string out = insert_hostdev(data("domain.xml"), "domain.xml", d);
    EXPECT_NE(out.find("<disk"), std::string::npos);
    EXPECT_NE(out.find("<hostdev"), std::string::npos);
    expect_valid_domain(out);
  }
}

TEST(HostdevXml, ADomainWithoutDevicesGetsThem) {
  const std::string out = insert_hostdev(data("domain-no-devices.xml"), "d.xml", vendor());
  EXPECT_NE(out.find("<devices>"), std::string::npos) << out;
  expect_valid_domain(out);
}

TEST(HostdevXml, InsertingTwiceIsIdempotent) {
  const std::string once = insert_hostdev(data("domain.xml"), "d.xml", legacy());
  const std::string twice = insert_hostdev(once, "d.xml", legacy());
  EXPECT_EQ(once, twice);
  const std::string both = insert_hostdev(once, "d.xml", vendor());
  EXPECT_NE(both, once);
  EXPECT_EQ(insert_hostdev(both, "d.xml", vendor()), both);
  expect_valid_domain(both);
}

TEST(HostdevXml, MalformedOrForeignXmlIsInvalidInput) {
  for (const std::string& bad :
       {std::string("<domain><devices>"), std::string("<VM/>"), std::string(""),
        std::string("<?xml version='1.0'?><!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>"
                    "<domain>&x;</domain>")}) {
    try {
      const std::string out = insert_hostdev(bad, "bad.xml", legacy());
      // An external entity must never be expanded.
      EXPECT_EQ(out.find("root:"), std::string::npos) << out;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kInvalidArgument) << e.what();
      EXPECT_NE(std::string(e.what()).find("bad.xml"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace gpuvm::vgpu
