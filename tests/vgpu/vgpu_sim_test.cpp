// gpuvm vgpu against gpuvm-sim hosts of every vGPU mode: the driver's rules
// (capacity, one type per GPU, MIG-backed types need a GI) and its errors.
// Skipped with a reason without FUSE; .ci/run provides it.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "sim/sim_mount.h"
#include "support/test_support.h"
#include "vgpu/vgpu.h"
#include "vgpu/xml.h"

namespace gpuvm {
namespace {

namespace fs = std::filesystem;

std::string host(const std::string& gpus) {
  return "driver_version: \"580.159.04\"\ngpus:\n" + gpus;
}

class VgpuSimTest : public ::testing::Test {
 protected:
  void mount(const std::string& spec) {
    GPUVM_REQUIRE_FUSE();
    sim_.emplace(dir_, spec);
  }
  test::RunResult gpuvm(std::vector<std::string> args) {
    return test::run(test::gpuvm_argv(*sim_, std::move(args), dir_.path() / "state"));
  }
  test::RunResult mig(std::vector<std::string> args) {
    args.insert(args.begin(), {test::bin("gpuvm").string(), "mig"});
    return test::run(args, {{"GPUVM_NVML_LIB",
                             (test::binary_dir() / "src/sim/nvml_mock/libnvidia-ml.so.1").string()},
                            {"GPUVM_SIM_STATE", sim_->state().string()},
                            {"GPUVM_STATE_DIR", (dir_.path() / "state").string()}});
  }
  nlohmann::json json(std::vector<std::string> args) {
    args.push_back("--format");
    args.push_back("json");
    auto r = gpuvm(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out.empty() ? "null" : r.out);
  }
  std::string probe_one() {
    return test::run({test::bin("gpuvm").string(), "probe", "--format", "one", "--filter",
                      "10de:", "--sysfs-root", sim_->root().string()})
        .out;
  }
  void expect_valid_domain_with(const std::string& device) {
    auto r = gpuvm({"vgpu", "xml", device, "--domain-xml",
                    (test::source_dir() / "tests/vgpu/data/domain.xml").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    test::write_file(dir_.path() / "domain.xml", r.out);
    auto v =
        test::run({"/usr/bin/virt-xml-validate", (dir_.path() / "domain.xml").string(), "domain"});
    EXPECT_EQ(v.exit_code, 0) << v.out << v.err << r.out;
  }

  test::TempDir dir_;
  std::optional<test::SimMount> sim_;
};

TEST_F(VgpuSimTest, H100VendorSpecificFillsToCapacityThenTheDriverSaysNo) {
  mount(
      host("  - {address: \"0000:41:00.0\", model: H100-SXM5-80GB, vgpu_mode: vendor-specific}\n"));
  ASSERT_EQ(gpuvm({"sriov", "enable", "0000:41:00.0"}).exit_code, 0);
  // H100XM-20C: 4 per GPU in equal-size mode (reference §7.3).
  const std::vector<std::string> vfs = {"0000:41:00.4", "0000:41:00.5", "0000:41:00.6",
                                        "0000:41:00.7", "0000:41:01.0"};
  for (size_t i = 0; i < 4; ++i) {
    auto r = gpuvm({"vgpu", "create", "--parent", vfs[i], "--type", "H100XM-20C"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string uuid = vgpu::vf_uuid(Bdf::parse(vfs[i])).str();
    EXPECT_NE(r.out.find(uuid), std::string::npos) << r.out;
    EXPECT_NE(probe_one().find("UUID = \"" + uuid + "\""), std::string::npos);
  }
  // By id: the write reaches the driver, which refuses (EIO), and we say why.
  auto r = gpuvm({"vgpu", "create", "--parent", vfs[4], "--type", "1332"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("Input/output error"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("the GPU is full or holds another type"), std::string::npos) << r.err;
  // By name: no VF lists it any more; the message says what the GPU holds.
  r = gpuvm({"vgpu", "create", "--parent", vfs[4], "--type", "H100XM-20C"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("holds 4 of type 1332"), std::string::npos) << r.err;
  EXPECT_EQ(*test::sysfs_read(sim_->dev(vfs[4]) / "nvidia/current_vgpu_type"), "0\n");

  auto list = json({"vgpu", "list"});
  ASSERT_EQ(list.size(), 4u);
  EXPECT_EQ(list[0]["type_id"], "1332");
  // Full: no VF lists the type any more, so sysfs alone cannot name it.
  EXPECT_EQ(list[0]["type_name"], "");
  expect_valid_domain_with(vfs[0]);

  for (size_t i = 0; i < 4; ++i) ASSERT_EQ(gpuvm({"vgpu", "destroy", vfs[i]}).exit_code, 0);
  EXPECT_TRUE(json({"vgpu", "list"}).empty());
  EXPECT_EQ(*test::sysfs_read(sim_->dev(vfs[0]) / "nvidia/current_vgpu_type"), "0\n");
}

TEST_F(VgpuSimTest, H100MigBackedTypeNeedsItsGpuInstance) {
  mount(
      host("  - {address: \"0000:41:00.0\", model: H100-SXM5-80GB, vgpu_mode: vendor-specific, "
           "mig_mode: enabled}\n"));
  ASSERT_EQ(gpuvm({"sriov", "enable", "0000:41:00.0"}).exit_code, 0);
  auto r = gpuvm({"vgpu", "create", "--parent", "0000:41:00.4", "--type", "H100XM-1-10C"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("needs MIG mode on and a free GPU instance of profile 1g.10gb on GPU "
                       "0000:41:00.0"),
            std::string::npos)
      << r.err;
  // The GI through the MIG part (mock NVML, same simulated host).
  auto m = mig({"-cgi", "1g.10gb", "-i", "0"});
  ASSERT_EQ(m.exit_code, 0) << m.out << m.err;
  auto types = json({"vgpu", "types", "0000:41:00.4"});
  bool listed = false;
  for (const auto& t : types[0]["types"]) listed |= t["short_name"] == "H100XM-1-10C";
  EXPECT_TRUE(listed) << types.dump();
  r = gpuvm({"vgpu", "create", "--parent", "0000:41:00.4", "--type", "H100XM-1-10C"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // One GI, one vGPU: the next VF cannot have one.
  r = gpuvm({"vgpu", "create", "--parent", "0000:41:00.5", "--type", "H100XM-1-10C"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("profile 1g.10gb"), std::string::npos) << r.err;
  ASSERT_EQ(gpuvm({"vgpu", "destroy", "0000:41:00.4"}).exit_code, 0);
}

TEST_F(VgpuSimTest, A100LegacyMdevOnVfs) {
  mount(host("  - {address: \"0000:41:00.0\", model: A100-SXM4-40GB, vgpu_mode: legacy}\n"));
  ASSERT_EQ(gpuvm({"sriov", "enable", "0000:41:00.0"}).exit_code, 0);
  auto parents = json({"vgpu", "types", "0000:41:00.0"});
  ASSERT_EQ(parents.size(), 20u);
  EXPECT_EQ(parents[0]["interface"], "mdev");
  // A100-20C: 2 per GPU.
  ASSERT_EQ(gpuvm({"vgpu", "create", "--parent", "0000:41:00.4", "--type", "A100-20C"}).exit_code,
            0);
  const std::string uuid2 = "11111111-2222-4333-8444-555555555555";
  ASSERT_EQ(
      gpuvm({"vgpu", "create", "--parent", "0000:41:00.5", "--type", "A100-20C", "--uuid", uuid2})
          .exit_code,
      0);
  auto r = gpuvm({"vgpu", "create", "--parent", "0000:41:00.6", "--type", "A100-20C"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("available_instances was 0"), std::string::npos) << r.err;
  // The same UUID twice is bad input, refused before the driver sees it.
  r = gpuvm({"vgpu", "create", "--parent", "0000:41:00.6", "--type", "A100-20C", "--uuid", uuid2});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(probe_one().find("UUID = \"" + vgpu::vf_uuid(Bdf::parse("0000:41:00.4")).str()),
            std::string::npos);
  auto list = json({"vgpu", "list"});
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1]["uuid"], uuid2);
  expect_valid_domain_with(uuid2);
  ASSERT_EQ(gpuvm({"vgpu", "destroy", uuid2}).exit_code, 0);
  ASSERT_EQ(gpuvm({"vgpu", "destroy", "0000:41:00.4"}).exit_code, 0);
  EXPECT_TRUE(json({"vgpu", "list"}).empty());
}

TEST_F(VgpuSimTest, T4PreAmpereMdevOnThePf) {
  mount(host("  - {address: \"0000:41:00.0\", model: T4-16GB, vgpu_mode: legacy}\n"));
  auto parents = json({"vgpu", "types"});
  ASSERT_EQ(parents.size(), 1u);
  EXPECT_EQ(parents[0]["parent"], "0000:41:00.0");
  // T4-8Q: 2 per GPU; the PF holds several mdevs (random UUIDs).
  for (int i = 0; i < 2; ++i)
    ASSERT_EQ(gpuvm({"vgpu", "create", "--parent", "0000:41:00.0", "--type", "T4-8Q"}).exit_code,
              0);
  auto r = gpuvm({"vgpu", "create", "--parent", "0000:41:00.0", "--type", "T4-8Q"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  r = gpuvm({"vgpu", "destroy", "0000:41:00.0"});
  EXPECT_EQ(r.exit_code, 2);  // two vGPUs on it: give the UUID
  EXPECT_NE(r.err.find("give the UUID"), std::string::npos) << r.err;
  for (const auto& d : json({"vgpu", "list"})) {
    ASSERT_EQ(gpuvm({"vgpu", "destroy", d["uuid"]}).exit_code, 0);
  }
  EXPECT_TRUE(json({"vgpu", "list"}).empty());
}

TEST_F(VgpuSimTest, OneVgpuActionOnAVendorSpecificHost) {
  mount(
      host("  - {address: \"0000:c1:00.0\", model: H100-SXM5-80GB, vgpu_mode: vendor-specific}\n"));
  ASSERT_EQ(gpuvm({"sriov", "enable", "0000:c1:00.0"}).exit_code, 0);
  const std::string vm = (test::source_dir() / "tests/vgpu/data/vm-nvidia.xml").string();
  // PROFILE 1063 is the fixture's id; here the time-sliced H100XM-20C is 1332.
  std::string xml = test::read_file(vm);
  xml.replace(xml.find("1063 (NVIDIA H100XM-2-20C)"), 26, "1332 (NVIDIA H100XM-20C)");
  test::write_file(dir_.path() / "vm.xml", xml);
  auto r = gpuvm({"one", "vgpu", "CREATE", (dir_.path() / "vm.xml").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(*test::sysfs_read(sim_->dev("0000:c1:00.5") / "nvidia/current_vgpu_type"), "1332\n");
  r = gpuvm({"one", "vgpu", "CREATE", (dir_.path() / "vm.xml").string()});  // a retried deploy
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("kept"), std::string::npos) << r.out;
  r = gpuvm({"one", "vgpu", "DELETE", (dir_.path() / "vm.xml").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(*test::sysfs_read(sim_->dev("0000:c1:00.5") / "nvidia/current_vgpu_type"), "0\n");
}

// Every type of every GPU of the mixed host, created and destroyed, through
// the library (the binary's per-call start-up would make this minutes long).
TEST_F(VgpuSimTest, MixedHostCreateAndDestroyEveryType) {
  // examples/hosts/mixed-8gpu.yaml with 4 VFs per GPU: the same models and
  // modes, a tree small enough to probe ~100 times in seconds.
  mount(host(
      R"(  - {address: "0000:18:00.0", model: H100-SXM5-80GB, vgpu_mode: vendor-specific, sriov_totalvfs: 4}
  - {address: "0000:2a:00.0", model: H100-SXM5-80GB, vgpu_mode: vendor-specific, sriov_totalvfs: 4,
     heterogeneous_mode: true}
  - {address: "0000:3a:00.0", model: H100-NVL-94GB, vgpu_mode: vendor-specific, sriov_totalvfs: 4}
  - {address: "0000:5d:00.0", model: H200-SXM-141GB, vgpu_mode: none, sriov_totalvfs: 4}
  - {address: "0000:9a:00.0", model: A100-SXM4-80GB, vgpu_mode: legacy, sriov_totalvfs: 4}
  - {address: "0000:ab:00.0", model: A100-SXM4-80GB, vgpu_mode: legacy, sriov_totalvfs: 4}
  - {address: "0000:ba:00.0", model: A30-24GB, vgpu_mode: legacy, sriov_totalvfs: 4}
  - {address: "0000:db:00.0", model: T4-16GB, vgpu_mode: legacy}
)"));
  ASSERT_EQ(gpuvm({"sriov", "enable", "--all"}).exit_code, 0);
  const SysfsRoot root(sim_->root());
  std::map<Bdf, const vgpu::Parent*> first_parent;
  const auto parents = vgpu::parents(root);
  for (const auto& p : parents) first_parent.try_emplace(p.pf.value_or(p.bdf), &p);
  EXPECT_GE(first_parent.size(), 6u);  // the H200 is passthrough
  int created = 0;
  for (const auto& [gpu, p] : first_parent) {
    for (const auto& t : p->types) {
      SCOPED_TRACE(p->bdf.str() + " " + t.id + " " + t.name);
      if (t.available <= 0) continue;  // MIG-backed without a GI
      const vgpu::Device d = vgpu::create(root, {p->bdf, t.id, std::nullopt, false});
      ++created;
      EXPECT_EQ(vgpu::devices(root).size(), 1u);
      const vgpu::Device gone = vgpu::destroy(root, d.uuid.str());
      EXPECT_EQ(gone.parent, p->bdf);
      EXPECT_TRUE(vgpu::devices(root).empty());
    }
  }
  // Every time-sliced type of the 7 vGPU-capable GPUs (MIG is off).
  EXPECT_GE(created, 34);
}

}  // namespace
}  // namespace gpuvm
