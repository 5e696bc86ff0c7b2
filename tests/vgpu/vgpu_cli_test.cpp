// gpuvm vgpu / gpuvm one vgpu as operators and OpenNebula run them.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace gpuvm {
namespace {

namespace fs = std::filesystem;

class VgpuCliTest : public ::testing::Test {
 protected:
  test::RunResult gpuvm(std::vector<std::string> args) {
    args.insert(args.begin(), test::bin("gpuvm").string());
    args.push_back("--state-dir");
    args.push_back((dir_.path() / "state").string());
    return test::run(args);
  }
  std::string tree(const std::string& name) {
    return test::copy_sysfs_fixture(name, dir_.path() / "sys").string();
  }
  test::TempDir dir_;
};

TEST_F(VgpuCliTest, TypesAsJson) {
  const std::string root = tree("a100-legacy");
  auto r = gpuvm({"vgpu", "types", "0000:41:00.0", "--format", "json", "--sysfs-root", root});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 4u);
  EXPECT_EQ(j[0]["interface"], "mdev");
  EXPECT_EQ(j[0]["mdevs"][0], "9b5b2e1c-7f3a-4c55-a1f0-3d2b8c6e4a10");
  EXPECT_EQ(j[1]["types"][0]["gi_profile"], "1g.5gb");
  EXPECT_EQ(j[1]["types"][0]["available"], 1);
}

TEST_F(VgpuCliTest, ListAsJson) {
  const std::string root = tree("h100-vendor");
  auto r = gpuvm({"vgpu", "list", "--format", "json", "--sysfs-root", root});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["parent"], "0000:c1:00.4");
  EXPECT_EQ(j[0]["mdev_mode"], "nvidia");
}

TEST_F(VgpuCliTest, CreateThenXml) {
  const std::string root = tree("h100-vendor");
  auto r =
      gpuvm({"vgpu", "create", "--parent", "0000:c1:00.5", "--type", "1063", "--sysfs-root", root});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("0000:c1:00.5"), std::string::npos) << r.out;
  r = gpuvm({"vgpu", "xml", "0000:c1:00.5", "--sysfs-root", root});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("function='0x5'"), std::string::npos) << r.out;
}

TEST_F(VgpuCliTest, BadInputExitsTwoAndChangesNothing) {
  const std::string root = tree("a100-legacy");
  const std::vector<std::vector<std::string>> cases = {
      {"vgpu", "create", "--parent", "../../../../etc", "--type", "nvidia-474"},
      {"vgpu", "create", "--parent", "0000:41:00.5", "--type", "../../../../tmp/x"},
      {"vgpu", "create", "--parent", "0000:41:00.5", "--type", "nvidia-474/../../x"},
      {"vgpu", "create", "--parent", "0000:41:00.5", "--type", "A100-99C"},
      {"vgpu", "create", "--parent", "0000:41:00.5", "--type", "nvidia-474", "--uuid",
       "../../etc/passwd"},
      {"vgpu", "create", "--parent", "0000:41:00.5", "--type", "nvidia-474", "--uuid",
       "9b5b2e1c-7f3a-4c55-a1f0-3d2b8c6e4a10"},                                // in use
      {"vgpu", "create", "--parent", "0000:00:00.0", "--type", "nvidia-474"},  // not a GPU
      {"vgpu", "create", "--parent", "0000:99:00.0", "--type", "nvidia-474"},  // no device
      {"vgpu", "destroy", "../../bus/mdev/devices/x"},
      {"vgpu", "destroy", "00000000-0000-0000-0000-000000000001"},
      {"vgpu", "xml", "0000:41:00.5"},
      {"vgpu", "types", "../.."},
      {"vgpu", "xml", "9b5b2e1c-7f3a-4c55-a1f0-3d2b8c6e4a10", "--domain-xml", "/nonexistent"},
      {"one", "vgpu", "CREATE", "/nonexistent/vm.xml"},
      {"one", "vgpu", "create", "/nonexistent/vm.xml"},
  };
  for (auto args : cases) {
    args.push_back("--sysfs-root");
    args.push_back(root);
    auto r = gpuvm(args);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    EXPECT_EQ(r.exit_code, 2) << joined << "\n" << r.err;
    EXPECT_TRUE(r.out.empty()) << joined << r.out;
  }
  EXPECT_EQ(test::read_file(fs::path(root) /
                            "class/mdev_bus/0000:41:00.5/mdev_supported_types/nvidia-474/create"),
            "");
}

TEST_F(VgpuCliTest, OneVgpuCreate) {
  const std::string root = tree("a100-legacy");
  auto r = gpuvm({"one", "vgpu", "CREATE",
                  (test::source_dir() / "tests/vgpu/data/vm-legacy.xml").string(), "--sysfs-root",
                  root});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("created 0b0b4d0a-0000-5000-8000-000000000005 (nvidia-475) on 0000:41:00.5"),
            std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace gpuvm
