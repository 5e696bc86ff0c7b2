// nvidia-smi's MIG tables: the -lgip/-lgipp of the real H100 capture must come
// out byte for byte from the profile table NVML reported on that machine.
#include "mig/format.h"

#include <gtest/gtest.h>

#include <sstream>

#include "support/test_support.h"
#include "tables.h"

namespace {

using namespace gpuvm::mig;
namespace t = gpuvm::test;

std::filesystem::path fixture(const std::string& name) {
  return t::shared_dir() / "fixtures/h100-sxm5-passthrough" / name;
}

GpuProfiles h100() {
  return test::profiles_from_capture(fixture("nvml-readonly.json"));
}

TEST(MigFormat, LgipIsByteIdenticalToTheH100Capture) {
  EXPECT_EQ(format_lgip({h100()}), t::read_file(fixture("nvidia-smi-mig-lgip.txt")));
}

TEST(MigFormat, LgippIsByteIdenticalToTheH100Capture) {
  EXPECT_EQ(format_lgipp({h100()}), t::read_file(fixture("nvidia-smi-mig-lgipp.txt")));
}

TEST(MigFormat, ProfilesComeInNvidiaSmiOrder) {
  std::vector<uint32_t> ids;
  for (const GiProfile& p : h100().table.gi) ids.push_back(p.id);
  EXPECT_EQ(ids, (std::vector<uint32_t>{19, 20, 15, 14, 9, 5, 0}));
  ids.clear();
  for (const GiProfile& p : test::a100_40gb().gi) ids.push_back(p.id);
  EXPECT_EQ(ids, (std::vector<uint32_t>{19, 20, 15, 14, 9, 5, 0}));
}

TEST(MigFormat, GibRoundsLikeNvidiaSmi) {
  EXPECT_EQ(format_gib(9984), "9.75");
  EXPECT_EQ(format_gib(20096), "19.62");  // 19.625: printf rounds half to even here
  EXPECT_EQ(format_gib(9856), "9.62");
  EXPECT_EQ(format_gib(81152), "79.25");
  EXPECT_EQ(format_gib(4864), "4.75");
}

TEST(MigFormat, LgippSingularPlacement) {
  GpuProfiles g = h100();
  g.index = 7;
  std::string out = format_lgipp({g});
  EXPECT_NE(out.find("GPU  7 Profile ID  0 Placement : {0}:8\n"), std::string::npos) << out;
  EXPECT_NE(out.find("GPU  7 Profile ID 15 Placements: {0,2,4,6}:2\n"), std::string::npos);
}

TEST(MigFormat, LgiRowsGroupedByProfileThenId) {
  GpuInstances g{0, h100().table, {}};
  g.instances = {{1, 9, {4, 4}, {}}, {2, 19, {0, 1}, {}}, {3, 14, {2, 2}, {}}, {5, 19, {1, 1}, {}}};
  std::string expected =
      "+---------------------------------------------------------+\n"
      "| GPU instances:                                          |\n"
      "| GPU   Name               Profile  Instance   Placement  |\n"
      "|                            ID       ID       Start:Size |\n"
      "|=========================================================|\n"
      "|   0  MIG 1g.10gb           19        2          0:1     |\n"
      "+---------------------------------------------------------+\n"
      "|   0  MIG 1g.10gb           19        5          1:1     |\n"
      "+---------------------------------------------------------+\n"
      "|   0  MIG 2g.20gb           14        3          2:2     |\n"
      "+---------------------------------------------------------+\n"
      "|   0  MIG 3g.40gb            9        1          4:4     |\n"
      "+---------------------------------------------------------+\n";
  EXPECT_EQ(format_lgi({g}), expected);
}

TEST(MigFormat, EveryTableLineHasTheTableWidth) {
  GpuInstances g{0, h100().table, {}};
  g.instances = {{1, 9, {4, 4}, {{0, 2, 3, {0, 3}}}}};
  GiCiProfiles c{0, 1, 3, {}};
  CiProfile one;
  one.id = 0;
  one.name = "MIG 1c.3g.40gb";
  one.slice_count = 1;
  one.instance_count = 3;
  one.remaining = 3;
  one.sm_count = 20;
  CiProfile full = one;
  full.id = 2;
  full.name = "MIG 3g.40gb";
  full.slice_count = 3;
  full.instance_count = 1;
  full.remaining = 0;
  c.profiles = {one, full};
  struct Case {
    std::string text;
    size_t width;
  } cases[] = {{format_lgip({h100()}), 81},
               {format_lgi({g}), 59},
               {format_lci({g}), 72},
               {format_lcip({c}), 90}};
  for (const Case& k : cases) {
    std::istringstream in(k.text);
    std::string line;
    while (std::getline(in, line)) EXPECT_EQ(line.size(), k.width) << line;
  }
  std::string lcip = format_lcip({c});
  EXPECT_NE(lcip.find("MIG 3g.40gb            2*     0/1 "), std::string::npos) << lcip;
  EXPECT_NE(lcip.find("MIG 1c.3g.40gb         0      3/3 "), std::string::npos) << lcip;
}

TEST(MigFormat, Messages) {
  EXPECT_EQ(
      msg_created_gi(0, 2, "MIG 3g.20gb", 9),
      "Successfully created GPU instance ID  2 on GPU  0 using profile MIG 3g.20gb (ID  9)\n");
  EXPECT_EQ(msg_created_ci(0, 2, 0, "MIG 3g.20gb", 2),
            "Successfully created compute instance ID  0 on GPU  0 GPU instance ID  2 using "
            "profile MIG 3g.20gb (ID  2)\n");
  EXPECT_EQ(msg_destroyed_gi(7, 13), "Successfully destroyed GPU instance ID 13 from GPU  7\n");
  EXPECT_EQ(msg_destroyed_ci(0, 1, 0),
            "Successfully destroyed compute instance ID  0 from GPU  0 GPU instance ID  1\n");
}

TEST(MigFormat, JsonHasEveryProfile) {
  std::string j = json_profiles({h100()});
  EXPECT_NE(j.find("\"name\": \"1g.10gb+me\""), std::string::npos);
  EXPECT_NE(j.find("\"instances_free\": 7"), std::string::npos);
}

}  // namespace
