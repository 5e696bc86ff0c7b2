// Bad input: broken trees give one warning per broken device (naming the path)
// and the rest of the listing; bad arguments give exit code 2; never a crash.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "pci_test_util.h"

namespace gpuvm::pci {
namespace {

namespace fs = std::filesystem;

class Broken : public ::testing::Test {
 protected:
  void use(const std::string& tree) { root_ = test_util::copy_tree(tree, dir_.path()); }
  // The real directory of a device in the copy.
  fs::path dev(const std::string& bdf) { return fs::canonical(root_ / "bus/pci/devices" / bdf); }
  // The path warnings name: through bus/pci/devices, as probed.
  fs::path link(const std::string& bdf) { return root_ / "bus/pci/devices" / bdf; }
  test::RunResult run(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--sysfs-root", root_.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return test_util::probe(args);
  }
  // Runs --format json; checks exit 0, that stderr holds exactly the warnings
  // the JSON lists, and returns the JSON.
  nlohmann::json json() {
    auto r = run({"--format", "json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    std::string expected;
    for (const auto& w : j["warnings"])
      expected += "gpuvm probe: warning: " + w["path"].get<std::string>() + ": " +
                  w["message"].get<std::string>() + "\n";
    EXPECT_EQ(r.err, expected);
    return j;
  }
  static bool listed(const nlohmann::json& j, const std::string& bdf) {
    for (const auto& d : j["devices"])
      if (d["address"] == bdf) return true;
    return false;
  }
  static void expect_one_warning(const nlohmann::json& j, const fs::path& path,
                                 const std::string& what) {
    ASSERT_EQ(j["warnings"].size(), 1u) << j["warnings"].dump();
    EXPECT_EQ(j["warnings"][0]["path"], path.string());
    EXPECT_NE(j["warnings"][0]["message"].get<std::string>().find(what), std::string::npos)
        << j["warnings"][0]["message"];
  }

  test::TempDir dir_;
  fs::path root_;
};

TEST_F(Broken, MissingVendorSkipsTheDevice) {
  use("host-mixed");
  fs::remove(dev("0000:02:00.0") / "vendor");
  auto j = json();
  expect_one_warning(j, link("0000:02:00.0") / "vendor", "skipped the device: missing");
  EXPECT_FALSE(listed(j, "0000:02:00.0"));
  EXPECT_TRUE(listed(j, "0000:02:00.1"));
  EXPECT_EQ(j["devices"].size(), 14u);
}

TEST_F(Broken, EmptyAndGarbageIds) {
  use("host-mixed");
  test::write_file(dev("0000:02:00.0") / "class", "");
  test::write_file(dev("0000:02:00.1") / "device", "0xzzzz\n");
  test::write_file(dev("0000:01:00.0") / "vendor", "0x123456\n");
  auto j = json();
  ASSERT_EQ(j["warnings"].size(), 3u);
  EXPECT_EQ(j["devices"].size(), 12u);
  for (const auto& w : j["warnings"])
    EXPECT_NE(w["message"].get<std::string>().find("not a hex number"), std::string::npos);
  // Same in the template, and the template still parses for the others.
  auto r = run({"--format", "one"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.find("02:00.0"), std::string::npos);
  EXPECT_NE(r.out.find("03:00.1"), std::string::npos);
}

TEST_F(Broken, UnreadableAttributes) {
  use("host-mixed");
  // A directory where a file should be reads EISDIR, for root too.
  fs::remove(dev("0000:02:00.0") / "vendor");
  fs::create_directory(dev("0000:02:00.0") / "vendor");
  // A file larger than any sysfs attribute.
  test::write_file(dev("0000:02:00.1") / "device", std::string(2 << 20, '1'));
  bool as_root = ::geteuid() == 0;
  if (!as_root) fs::permissions(dev("0000:01:00.0") / "class", fs::perms::none);
  auto j = json();
  ASSERT_EQ(j["warnings"].size(), as_root ? 2u : 3u) << j["warnings"].dump();
  EXPECT_NE(j["warnings"][0]["message"].get<std::string>().find("Is a directory"),
            std::string::npos);
  EXPECT_NE(j["warnings"][1]["message"].get<std::string>().find("cannot read"), std::string::npos);
  EXPECT_FALSE(listed(j, "0000:02:00.0"));
  EXPECT_FALSE(listed(j, "0000:02:00.1"));
  EXPECT_EQ(listed(j, "0000:01:00.0"), as_root);
}

TEST_F(Broken, FifoAndDeviceNodesDoNotHang) {
  use("host-mixed");
  fs::remove(dev("0000:02:00.0") / "numa_node");
  ASSERT_EQ(::mkfifo((dev("0000:02:00.0") / "numa_node").c_str(), 0600), 0);
  fs::remove(dev("0000:02:00.1") / "vendor");
  fs::create_symlink("/dev/zero", dev("0000:02:00.1") / "vendor");
  auto j = json();
  // The FIFO reads empty (no writer): not a number, the device stays; /dev/zero
  // is larger than any attribute: the device goes.
  ASSERT_EQ(j["warnings"].size(), 2u) << j["warnings"].dump();
  EXPECT_NE(j["warnings"][0]["message"].get<std::string>().find("not a decimal number"),
            std::string::npos);
  EXPECT_NE(j["warnings"][1]["message"].get<std::string>().find("File too large"),
            std::string::npos);
  EXPECT_TRUE(listed(j, "0000:02:00.0"));
  EXPECT_FALSE(listed(j, "0000:02:00.1"));
}

TEST_F(Broken, DanglingAndLoopingDeviceLinks) {
  use("host-mixed");
  fs::create_symlink("../../../devices/pci0000:00/nowhere", root_ / "bus/pci/devices/0000:05:00.0");
  fs::create_symlink("0000:06:00.0", root_ / "bus/pci/devices/0000:06:00.0");
  auto j = json();
  ASSERT_EQ(j["warnings"].size(), 2u);
  EXPECT_EQ(j["warnings"][0]["path"], (root_ / "bus/pci/devices/0000:05:00.0").string());
  EXPECT_NE(j["warnings"][0]["message"].get<std::string>().find("No such file"), std::string::npos);
  EXPECT_NE(j["warnings"][1]["message"].get<std::string>().find("symbolic links"),
            std::string::npos);
  EXPECT_EQ(j["devices"].size(), 15u);
}

TEST_F(Broken, NamesThatAreNotAddresses) {
  use("host-mixed");
  for (const char* name : {"foo", "0000:00:1g.0", "0000:00:01.8", "00:01.0", "0000:00:01.0x"})
    fs::create_directory(root_ / "bus/pci/devices" / name);
  auto j = json();
  ASSERT_EQ(j["warnings"].size(), 5u);
  for (const auto& w : j["warnings"])
    EXPECT_NE(w["message"].get<std::string>().find("not a PCI address"), std::string::npos);
  EXPECT_EQ(j["devices"].size(), 15u);
}

TEST_F(Broken, GarbageOptionalValuesKeepTheDevice) {
  use("host-mixed");
  test::write_file(dev("0000:02:00.0") / "numa_node", "abc\n");
  test::write_file(dev("0000:03:00.0") / "sriov_numvfs", "-3\n");
  test::write_file(dev("0000:01:00.0") / "revision", "0xfff\n");
  auto j = json();
  ASSERT_EQ(j["warnings"].size(), 3u);
  EXPECT_EQ(j["devices"].size(), 15u);
  auto r = run({"--format", "one", "--short-address", "02:00.0,03:00.0"});
  EXPECT_NE(r.out.find(" NUMA_NODE = \"-\" ,\n IFNAME = \"ens1f0\""), std::string::npos) << r.out;
  // With sriov_numvfs unreadable the PF counts as having none (pci.rb's 0).
  EXPECT_NE(r.out.find(" SRIOV = \"pf\" ,\n SRIOV_NUM = \"0\""), std::string::npos) << r.out;
}

TEST_F(Broken, BrokenSriovAndVgpuLinks) {
  use("h100-vendor");
  fs::path vf = dev("0000:c1:00.5");
  fs::remove(vf / "physfn");
  fs::create_symlink("../0000:ff:00.0", vf / "physfn");  // dangling
  fs::path pf = dev("0000:c1:00.0");
  fs::remove(pf / "virtfn0");
  fs::create_symlink("virtfn0", pf / "virtfn0");  // a loop
  test::write_file(dev("0000:c1:00.6") / "nvidia/creatable_vgpu_types", "ID : vGPU Name\n\n");
  auto j = json();
  ASSERT_EQ(j["warnings"].size(), 2u) << j["warnings"].dump();
  EXPECT_EQ(j["warnings"][0]["path"], (link("0000:c1:00.0") / "virtfn0").string());
  EXPECT_EQ(j["warnings"][1]["path"], (link("0000:c1:00.5") / "physfn").string());
  // Without a readable virtfn0 pci.rb's rule 4 cannot hide the PF, but rule 5
  // (sriov_numvfs 4) still does.
  auto r = run({"--format", "one"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.find("\"c1:00.0\""), std::string::npos);
  EXPECT_NE(r.out.find("SHORT_ADDRESS = \"c1:00.5\" ,\n DOMAIN = \"0000\" ,\n BUS = \"c1\" ,\n"
                       " SLOT = \"00\" ,\n FUNCTION = \"5\" ,\n NUMA_NODE = \"1\" ,\n"
                       " IFNAME = \"-\" ,\n SRIOV = \"no\""),
            std::string::npos);
  EXPECT_NE(r.out.find("PROFILES = \"\" ,\n MDEV_MODE = \"nvidia\" \n]\n"), std::string::npos);
}

TEST_F(Broken, UnlistableMdevTypes) {
  use("a100-legacy");
  fs::path types = dev("0000:41:00.5") / "mdev_supported_types";
  fs::remove_all(types);
  test::write_file(types, "not a directory\n");
  auto j = json();
  ASSERT_EQ(j["warnings"].size(), 1u);
  EXPECT_NE(j["warnings"][0]["message"].get<std::string>().find("cannot list"), std::string::npos);
}

TEST(BadArguments, ExitTwoWithAClearMessage) {
  test::TempDir dir;
  auto root = test_util::tree("host-mixed").string();
  test::write_file(dir.path() / "bad.yaml", "{{{{ not yaml\n");
  test::write_file(dir.path() / "list.yaml", "- a\n- b\n");
  test::write_file(dir.path() / "bad.ids", "zzzz  Not an id\n");
  test::write_file(dir.path() / "file", "x\n");
  struct Case {
    std::vector<std::string> args;
    std::string says;
  } cases[] = {
      {{"--sysfs-root", (dir.path() / "nope").string()}, "No such file"},
      {{"--sysfs-root", (dir.path() / "file").string()}, "Not a directory"},
      {{"--sysfs-root", dir.path().string()}, "bus/pci/devices"},
      {{"--sysfs-root", root, "--filter", "zz:1"}, "invalid filter 'zz:1'"},
      {{"--sysfs-root", root, "--filter", "10de"}, "invalid filter '10de'"},
      {{"--sysfs-root", root, "--filter", "10de:*,"}, "invalid filter ''"},
      {{"--sysfs-root", root, "--device-name", "(open"}, "invalid device name pattern '(open'"},
      {{"--sysfs-root", root, "--short-address", "41:00"}, "invalid PCI address '41:00'"},
      {{"--sysfs-root", root, "--nvidia-vendor", "10d"}, "invalid --nvidia-vendor '10d'"},
      {{"--sysfs-root", root, "--config", (dir.path() / "bad.yaml").string()}, "not YAML"},
      {{"--sysfs-root", root, "--config", (dir.path() / "list.yaml").string()}, "mapping"},
      {{"--sysfs-root", root, "--config", (dir.path() / "none.yaml").string()}, "cannot read"},
      {{"--sysfs-root", root, "--pci-ids", (dir.path() / "none.ids").string()}, "--pci-ids"},
      {{"--sysfs-root", root, "--pci-ids", (dir.path() / "bad.ids").string()}, "Parse error"},
      {{"--sysfs-root", root, "--format", "xml"}, "xml"},
  };
  for (const Case& c : cases) {
    auto r = test_util::probe(c.args);
    std::string label = c.args.back();
    EXPECT_EQ(r.exit_code, 2) << label << ": " << r.err;
    EXPECT_EQ(r.out, "") << label;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << label << ": " << r.err;
  }
}

}  // namespace
}  // namespace gpuvm::pci
