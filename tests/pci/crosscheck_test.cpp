// Cross-check against the real lspci on every tree: ids, class, names,
// revision, prog-if, NUMA node and IOMMU group as `lspci -A linux-sysfs -D -nn
// -vmm` reads them from the same tree must match gpuvm's JSON.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "pci_test_util.h"

namespace gpuvm::pci {
namespace {

using Record = std::map<std::string, std::string>;

std::vector<Record> parse_vmm(const std::string& text) {
  std::vector<Record> out;
  Record cur;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
      continue;
    }
    auto tab = line.find('\t');
    cur[line.substr(0, tab - 1)] = line.substr(tab + 1);  // "Key:\tvalue"
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

void cross_check(const std::string& label, const std::filesystem::path& root) {
  const std::string lspci = "/usr/bin/lspci";
  auto l = test::run({lspci, "-A", "linux-sysfs", "-O", "sysfs.path=" + (root / "bus/pci").string(),
                      "-D", "-nn", "-vmm"});
  ASSERT_EQ(l.exit_code, 0) << label << ": " << l.err;
  auto g = test_util::probe({"--sysfs-root", root.string(), "--format", "json"});
  ASSERT_EQ(g.exit_code, 0) << label << ": " << g.err;
  auto records = parse_vmm(l.out);
  auto devices = nlohmann::json::parse(g.out)["devices"];
  ASSERT_EQ(records.size(), devices.size()) << label;
  auto with_id = [](const nlohmann::json& name, const nlohmann::json& id) {
    return name.get<std::string>() + " [" + id.get<std::string>() + "]";
  };
  for (size_t i = 0; i < records.size(); ++i) {
    Record& r = records[i];
    const auto& d = devices[i];
    SCOPED_TRACE(label + " " + r["Slot"]);
    EXPECT_EQ(r["Slot"], d["address"]);
    EXPECT_EQ(r["Class"], with_id(d["class_name"], d["class"]));
    EXPECT_EQ(r["Vendor"], with_id(d["vendor_name"], d["vendor_id"]));
    EXPECT_EQ(r["Device"], with_id(d["device_name"], d["device_id"]));
    if (d["subsystem_vendor_name"].is_null()) {
      EXPECT_FALSE(r.count("SVendor"));
    } else {
      EXPECT_EQ(r["SVendor"], with_id(d["subsystem_vendor_name"], d["subsystem_vendor_id"]));
      EXPECT_EQ(r["SDevice"], with_id(d["subsystem_device_name"], d["subsystem_device_id"]));
    }
    // lspci leaves out a zero revision.
    EXPECT_EQ(r.count("Rev") ? r["Rev"] : "00", d["revision"]);
    EXPECT_EQ(r["ProgIf"], d["prog_if"]);
    if (d["numa_node"].is_null())
      EXPECT_FALSE(r.count("NUMANode"));
    else
      EXPECT_EQ(r["NUMANode"], std::to_string(d["numa_node"].get<int>()));
    if (d["iommu_group"].is_null())
      EXPECT_FALSE(r.count("IOMMUGroup"));
    else
      EXPECT_EQ(r["IOMMUGroup"], std::to_string(d["iommu_group"].get<int>()));
  }
}

TEST(CrossCheckLspci, EveryTree) {
  if (!std::filesystem::exists("/usr/bin/lspci"))
    GTEST_SKIP() << "lspci (Debian package pciutils) is not installed";
  cross_check("h100-capture", test_util::capture_root());
  for (const std::string& n : test_util::tree_names()) cross_check(n, test_util::tree(n));
}

}  // namespace
}  // namespace gpuvm::pci
