// gpuvm probe, the binary: golden templates (checked byte for byte against
// OpenNebula's pci.rb when they were made, see docs/probe.md), JSON, options.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "pci_test_util.h"

namespace gpuvm::pci {
namespace {

using test_util::probe;
using test_util::tree;

// Goldens name devices from Debian 12's pci.ids alone (an explicit --pci-ids
// turns off udev's hwdb, which a host may or may not have).
const std::string kIds = "/usr/share/misc/pci.ids";

struct Case {
  std::string name;
  std::filesystem::path root;
};

std::vector<Case> all_trees() {
  std::vector<Case> out{{"h100-capture", test_util::capture_root()}};
  for (const std::string& n : test_util::tree_names()) out.push_back({n, tree(n)});
  return out;
}

TEST(ProbeGolden, OneEverything) {
  for (const Case& c : all_trees()) {
    auto r = probe({"--sysfs-root", c.root.string(), "--format", "one", "--pci-ids", kIds});
    ASSERT_EQ(r.exit_code, 0) << c.name << ": " << r.err;
    EXPECT_EQ(r.err, "") << c.name;
    EXPECT_EQ(r.out, test_util::golden(c.name + ".one", r.out)) << c.name;
  }
}

TEST(ProbeGolden, OneNvidiaFilter) {
  for (const Case& c : all_trees()) {
    auto r = probe({"--sysfs-root", c.root.string(), "--format", "one", "--filter", "10de:*",
                    "--pci-ids", kIds});
    ASSERT_EQ(r.exit_code, 0) << c.name << ": " << r.err;
    EXPECT_EQ(r.out, test_util::golden(c.name + "-10de.one", r.out)) << c.name;
  }
}

TEST(ProbeGolden, Json) {
  for (const Case& c : all_trees()) {
    auto r = probe({"--sysfs-root", c.root.string(), "--format", "json", "--pci-ids", kIds});
    ASSERT_EQ(r.exit_code, 0) << c.name << ": " << r.err;
    // The root differs per checkout; everything else is fixed.
    auto actual = nlohmann::ordered_json::parse(r.out);
    actual["sysfs_root"] = "ROOT";
    std::string text = actual.dump(2) + "\n";
    EXPECT_EQ(text, test_util::golden(c.name + ".json", text)) << c.name;
  }
}

TEST(ProbeJson, FreeInstancesAndRelations) {
  auto r = probe({"--sysfs-root", tree("h100-vendor").string(), "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["schema_version"], 1);
  const auto& pf = j["devices"][2];
  EXPECT_EQ(pf["address"], "0000:c1:00.0");
  EXPECT_EQ(pf["sriov"]["virtfns"].size(), 4u);
  EXPECT_EQ(pf["opennebula"]["listed"], false);
  // VF 0 is in use; VFs 1 and 2 offer only 2-20C; VF 3 nothing.
  ASSERT_EQ(pf["vgpu"]["free"].size(), 6u);
  EXPECT_EQ(pf["vgpu"]["free"][2]["id"], "1063");
  EXPECT_EQ(pf["vgpu"]["free"][2]["instances"], 2);
  EXPECT_EQ(pf["vgpu"]["free"][0]["instances"], 0);
  const auto& vf = j["devices"][3];
  EXPECT_EQ(vf["sriov"]["physfn"], "0000:c1:00.0");
  EXPECT_EQ(vf["vgpu"]["mode"], "nvidia");
  EXPECT_EQ(vf["vgpu"]["current_type"], 1063);
  EXPECT_EQ(vf["opennebula"]["mdev_mode"], "nvidia");

  r = probe({"--sysfs-root", tree("a100-legacy").string(), "--format", "json"});
  j = nlohmann::json::parse(r.out);
  const auto& a100 = j["devices"][2];
  // nvidia-476 (3-20C): VF 0 holds one and has 0 left, VFs 1..3 one each.
  EXPECT_EQ(a100["vgpu"]["free"][2]["id"], "nvidia-476");
  EXPECT_EQ(a100["vgpu"]["free"][2]["instances"], 3);
  const auto& vf0 = j["devices"][3];
  EXPECT_EQ(vf0["vgpu"]["mode"], "legacy");
  EXPECT_EQ(vf0["vgpu"]["mdevs"][0]["type"], "nvidia-476");
  EXPECT_EQ(vf0["opennebula"]["profiles"].size(), 5u);
}

TEST(ProbeCli, SysfsRootFromEnvironment) {
  auto r = probe({"--format", "one", "--pci-ids", kIds},
                 {{"GPUVM_SYSFS_ROOT", tree("a100-legacy").string()}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, test::read_file(test::source_dir() / "tests/pci/golden/a100-legacy.one"));
}

TEST(ProbeCli, TwoFiltersPrintADeviceTwiceAsPciRb) {
  auto root = tree("host-mixed").string();
  auto once = probe({"--sysfs-root", root, "--format", "one", "--filter", "8086:1572"});
  auto twice = probe({"--sysfs-root", root, "--format", "one", "--filter", "8086:1572,*:1572"});
  ASSERT_EQ(twice.exit_code, 0) << twice.err;
  EXPECT_EQ(twice.out, once.out + once.out);
  // JSON lists each device once.
  auto j = nlohmann::json::parse(probe({"--sysfs-root", root, "--format", "json", "--filter",
                                        "8086:1572", "--filter", "*:1572"})
                                     .out);
  EXPECT_EQ(j["devices"].size(), 2u);
}

TEST(ProbeCli, ShortAddressAndDeviceName) {
  auto root = tree("host-mixed").string();
  auto r = probe({"--sysfs-root", root, "--format", "json", "--short-address", "02:00.1,03:00.2",
                  "--short-address", "0000:01:00.0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["devices"].size(), 3u);
  EXPECT_EQ(j["devices"][0]["address"], "0000:01:00.0");
  r = probe({"--sysfs-root", root, "--format", "json", "--device-name", "VIRTUAL function",
             "--device-name", "^nvme"});
  j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["devices"].size(), 3u);
  EXPECT_EQ(j["devices"][0]["address"], "0000:01:00.0");
  EXPECT_EQ(j["devices"][2]["address"], "0000:03:00.3");
}

TEST(ProbeCli, ConfigFileSemantics) {
  test::TempDir dir;
  auto conf = dir.path() / "pci.conf";
  auto root = tree("h100-vendor").string();
  // The shipped file: '0:0', nothing listed.
  test::write_file(conf, ":filter: '0:0'\n:short_address: []\n:device_name: []\n");
  auto r = probe({"--sysfs-root", root, "--format", "one", "--config", conf.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  // No :filter key at all: the default '0:0' as well.
  test::write_file(conf, ":device_name: ['H100']\n");
  EXPECT_EQ(probe({"--sysfs-root", root, "--format", "one", "--config", conf.string()}).out, "");
  // The NVIDIA filter and a short address list.
  test::write_file(conf, ":filter: ['10de:*']\n:short_address: ['c1:00.5', '0001:01:00.0']\n");
  r = probe({"--sysfs-root", root, "--format", "one", "--config", conf.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("c1:00.5"), std::string::npos);
  EXPECT_NE(r.out.find("0001:01:00.0"), std::string::npos);
  EXPECT_EQ(r.out.find("c1:00.4"), std::string::npos);
  // A command-line filter replaces the file's.
  r = probe(
      {"--sysfs-root", root, "--format", "one", "--config", conf.string(), "--filter", "1022:*"});
  EXPECT_EQ(r.out, "");
  // :nvidia_vendors without 10de: the VFs lose UUID/PROFILES/MDEV_MODE.
  test::write_file(conf, ":filter: ~\n:nvidia_vendors: ['1234']\n");
  r = probe({"--sysfs-root", root, "--format", "one", "--config", conf.string()});
  EXPECT_EQ(r.out.find("UUID"), std::string::npos);
  EXPECT_NE(r.out.find("DEVICE_NAME = \"GH100[H100 SXM5 80GB]\""), std::string::npos);
}

TEST(ProbeCli, EscapesQuotesAndBackslashes) {
  test::TempDir dir;
  auto ids = dir.path() / "pci.ids";
  test::write_file(ids, "10de  Quote \"Corp\"\n\t2330  Back\\slash GPU\n");
  auto r = probe({"--sysfs-root", test_util::capture_root().string(), "--format", "one", "--filter",
                  "10de:*", "--pci-ids", ids.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(" VENDOR_NAME = \"Quote \\\"Corp\\\"\" ,\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" DEVICE_NAME = \"Quote \\\"Corp\\\" Back\\\\slash GPU\" \n]\n"),
            std::string::npos)
      << r.out;
}

TEST(ProbeCli, Table) {
  auto r = probe({"--sysfs-root", tree("a100-legacy").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("0000:41:00.0  0302  10de:20f1 nvidia"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("legacy 5 types 1 mdev"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("pf 4/16"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace gpuvm::pci
