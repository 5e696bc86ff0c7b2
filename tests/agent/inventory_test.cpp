// agent::collect_inventory on real trees: the H100 capture (no NVML) and the
// mixed 8-GPU gpuvm-sim host with the mock NVML. The PCI part must be what
// `gpuvm probe --format one` prints for the same root, plus PHYSFN and the
// PFs that template hides; the result must validate and survive the JSON
// round trip gpuvmd parses.
#include "agent/inventory.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <map>
#include <set>

#include "mig/nvml_host.h"
#include "pci/names.h"
#include "server/scheduler/model_json.h"
#include "sim/sim_mount.h"
#include "support/test_support.h"

namespace gpuvm::agent {
namespace {

namespace fs = std::filesystem;
using Fields = test::OneFields;

std::map<std::string, Fields> probe_one(const fs::path& root) {
  auto r = test::run(
      {test::bin("gpuvm").string(), "probe", "--format", "one", "--sysfs-root", root.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return test::parse_one_template(r.out);
}

// Every field the model carries agrees with the template; the devices are
// the template's plus the PFs it hides, each the PHYSFN of a reported VF.
void expect_matches_probe(const server::HostInventory& inv, const fs::path& root) {
  const auto one = probe_one(root);
  ASSERT_FALSE(one.empty());
  std::set<std::string> physfns;
  for (const auto& d : inv.pci)
    if (!d.physfn.empty()) physfns.insert(d.physfn);
  size_t listed = 0;
  for (const server::PciDevice& d : inv.pci) {
    auto it = one.find(d.address);
    if (it == one.end()) {
      EXPECT_EQ(d.sriov, "pf") << d.address << " is not in the template and not a hidden PF";
      EXPECT_TRUE(physfns.count(d.address)) << d.address << " is hidden but no VF names it";
      continue;
    }
    ++listed;
    const Fields& f = it->second;
    auto field = [&](const char* k) { return f.count(k) ? f.at(k) : std::string(); };
    EXPECT_EQ(d.type(), field("TYPE")) << d.address;
    EXPECT_EQ(d.short_address, field("SHORT_ADDRESS")) << d.address;
    EXPECT_EQ(d.vendor, field("VENDOR")) << d.address;
    EXPECT_EQ(d.device, field("DEVICE")) << d.address;
    EXPECT_EQ(d.class_id, field("CLASS")) << d.address;
    EXPECT_EQ(d.vendor_name, field("VENDOR_NAME")) << d.address;
    EXPECT_EQ(d.device_name, field("DEVICE_NAME")) << d.address;
    EXPECT_EQ(d.class_name, field("CLASS_NAME")) << d.address;
    EXPECT_EQ(d.domain(), field("DOMAIN")) << d.address;
    EXPECT_EQ(d.bus(), field("BUS")) << d.address;
    EXPECT_EQ(d.slot(), field("SLOT")) << d.address;
    EXPECT_EQ(d.function(), field("FUNCTION")) << d.address;
    EXPECT_EQ(d.numa_node, field("NUMA_NODE")) << d.address;
    EXPECT_EQ(d.sriov, field("SRIOV")) << d.address;
    EXPECT_EQ(d.uuid, field("UUID")) << d.address;
    EXPECT_EQ(d.profiles, field("PROFILES")) << d.address;
    EXPECT_EQ(d.mdev_mode, field("MDEV_MODE")) << d.address;
    EXPECT_EQ(d.sriov == "vf", !d.physfn.empty()) << d.address;
  }
  EXPECT_EQ(listed, one.size()) << "devices of the template missing from the inventory";
}

void expect_valid_and_round_trips(const server::HostInventory& inv) {
  EXPECT_NO_THROW(server::validate(inv));
  const std::string json = server::to_json(inv);
  server::HostInventory back = server::parse_host_inventory(json);
  EXPECT_EQ(server::to_json(back), json);
}

const server::Gpu& gpu(const server::HostInventory& inv, const std::string& address) {
  const server::Gpu* g = inv.find_gpu(address);
  if (g == nullptr) throw std::runtime_error("no GPU " + address);
  return *g;
}

const server::VgpuType* type(const server::Gpu& g, const std::string& name) {
  for (const auto& t : g.vgpu_types)
    if (t.name == name) return &t;
  return nullptr;
}

// The real H100 SXM5 capture: one GPU in passthrough, no NVML.
TEST(AgentInventory, H100CaptureWithoutNvmlIsTheProbesView) {
  test::TempDir dir;
  test::extract_tarball(test::shared_dir() / "fixtures/h100-sxm5-passthrough/sysfs.tar.gz",
                        dir.path());
  const fs::path root = dir.path() / "sysfs-snapshot/sys";
  server::HostInventory inv = collect_inventory(SysfsRoot(root), nullptr, "h100-capture");
  EXPECT_EQ(inv.name, "h100-capture");
  expect_matches_probe(inv, root);
  ASSERT_EQ(inv.gpus.size(), 1u);
  const server::Gpu& g = inv.gpus[0];
  EXPECT_EQ(inv.find_pci(g.address)->vendor, "10de");
  EXPECT_FALSE(g.model.empty());
  EXPECT_FALSE(g.mig_enabled);
  EXPECT_TRUE(g.mig.profiles.empty());
  EXPECT_TRUE(g.vgpu_types.empty());
  expect_valid_and_round_trips(inv);
}

TEST(AgentInventory, MigTableFromTheProfileTable) {
  mig::ProfileTable t;
  mig::GiProfile p;
  p.id = 9;
  p.name = "MIG 3g.40gb";
  p.slice_count = 3;
  p.instance_count = 2;
  p.placements = {{0, 4}, {4, 4}};
  t.gi.push_back(p);
  mig::GiProfile full;
  full.id = 0;
  full.name = "MIG 7g.80gb";
  full.slice_count = 7;
  full.instance_count = 1;
  full.placements = {{0, 8}};
  t.gi.push_back(full);
  mig::GiProfile none = p;  // a profile the board cannot place: left out
  none.id = 99;
  none.name = "MIG 9g.1gb";
  none.placements.clear();
  t.gi.push_back(none);
  server::MigTable m = mig_table(t);
  EXPECT_EQ(m.memory_slices, 8u);
  EXPECT_EQ(m.compute_slices, 7u);
  ASSERT_EQ(m.profiles.size(), 2u);
  EXPECT_EQ(m.profiles[0].name, "3g.40gb");
  EXPECT_EQ(m.profiles[0].id, 9u);
  EXPECT_EQ(m.profiles[0].compute_slices, 3u);
  EXPECT_EQ(m.profiles[0].memory_slices, 4u);
  EXPECT_EQ(m.profiles[0].max_count, 2u);
  EXPECT_EQ(m.profiles[0].starts, (std::vector<uint32_t>{0, 4}));
  EXPECT_TRUE(mig_table(mig::ProfileTable{}).profiles.empty());
}

class AgentInventorySim : public ::testing::Test {
 protected:
  void SetUp() override {
    GPUVM_REQUIRE_FUSE();
    sim_.emplace(dir_, test::source_dir() / "examples/hosts/mixed-8gpu.yaml");
    ::setenv("GPUVM_SIM_STATE", sim_->state().c_str(), 1);  // the mock's host
  }
  void TearDown() override { ::unsetenv("GPUVM_SIM_STATE"); }
  fs::path mock() const { return test::binary_dir() / "src/sim/nvml_mock/libnvidia-ml.so.1"; }
  test::RunResult gpuvm_mig(std::vector<std::string> args) {
    args.insert(args.begin(), {test::bin("gpuvm").string(), "mig"});
    return test::run(args, {{"GPUVM_NVML_LIB", mock().string()},
                            {"GPUVM_SIM_STATE", sim_->state().string()},
                            {"GPUVM_STATE_DIR", (dir_.path() / "state").string()}});
  }
  server::HostInventory collect(mig::MigHost* nvml) {
    return collect_inventory(SysfsRoot(sim_->root()), nvml, "mixed-8gpu");
  }

  test::TempDir dir_;
  std::optional<test::SimMount> sim_;
};

TEST_F(AgentInventorySim, MixedHostWithoutVfsOrNvml) {
  server::HostInventory inv = collect(nullptr);
  expect_matches_probe(inv, sim_->root());
  EXPECT_EQ(inv.gpus.size(), 8u);
  for (const auto& g : inv.gpus) {
    EXPECT_TRUE(g.mig.profiles.empty()) << g.address;
    EXPECT_EQ(g.framebuffer_mb, 0u) << g.address;
  }
  // The T4 is an mdev parent itself: its types come from sysfs, with the
  // description's framebuffer and max_instance.
  const server::Gpu& t4 = gpu(inv, "0000:db:00:0");
  ASSERT_FALSE(t4.vgpu_types.empty());
  for (const auto& t : t4.vgpu_types) {
    EXPECT_GT(t.max_instances, 0u) << t.name;
    EXPECT_GT(t.framebuffer_mb, 0u) << t.name;
    EXPECT_TRUE(t.mig_profile.empty()) << t.name;
  }
  expect_valid_and_round_trips(inv);
}

TEST_F(AgentInventorySim, MixedHostThroughTheMockNvml) {
  // VFs on an H100 (vendor-specific), an A100 (legacy mdev on VFs) and the
  // H100 NVL in MIG mode; a GPU instance carved through `gpuvm mig`.
  test::sriov_manage(*sim_, "0000:18:00.0", "10de 2330", 4);
  test::sriov_manage(*sim_, "0000:9a:00.0", "10de 20b2", 4);
  test::sriov_manage(*sim_, "0000:3a:00.0", "10de 2321", 4);
  auto r = gpuvm_mig({"-cgi", "9", "-i", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;

  mig::NvmlHost nvml(mock().string());
  server::HostInventory inv = collect(&nvml);
  expect_matches_probe(inv, sim_->root());
  expect_valid_and_round_trips(inv);
  ASSERT_EQ(inv.gpus.size(), 8u);

  // Hidden PFs are reported, VFs name them.
  const server::PciDevice* vf = inv.find_pci("0000:18:00:4");
  ASSERT_NE(vf, nullptr);
  EXPECT_EQ(vf->physfn, "0000:18:00:0");
  EXPECT_EQ(vf->mdev_mode, "nvidia");
  ASSERT_NE(inv.find_pci("0000:18:00:0"), nullptr);
  EXPECT_EQ(inv.find_pci("0000:18:00:0")->sriov, "pf");

  // H100 SXM5, vendor-specific, MIG off: time-sliced types from NVML.
  const server::Gpu& h100 = gpu(inv, "0000:18:00:0");
  EXPECT_EQ(h100.framebuffer_mb, 81559u) << "mock's H100 memory";
  EXPECT_FALSE(h100.mig_enabled);
  EXPECT_FALSE(h100.mig.profiles.empty());
  EXPECT_TRUE(h100.mig_instances.empty());
  EXPECT_FALSE(h100.heterogeneous);
  const server::VgpuType* t20 = type(h100, "H100XM-20C");
  ASSERT_NE(t20, nullptr);
  EXPECT_EQ(t20->framebuffer_mb, 20480u);
  EXPECT_EQ(t20->max_instances, 4u);
  EXPECT_TRUE(t20->mig_profile.empty());
  const server::VgpuType* mig10 = type(h100, "H100XM-1-10C");
  ASSERT_NE(mig10, nullptr) << "NVML lists MIG-backed types sysfs does not show yet";
  EXPECT_EQ(mig10->mig_profile, "1g.10gb");

  EXPECT_TRUE(gpu(inv, "0000:2a:00:0").heterogeneous);

  // H100 NVL in MIG mode with the GI carved above.
  const server::Gpu& nvl = gpu(inv, "0000:3a:00:0");
  EXPECT_TRUE(nvl.mig_enabled);
  EXPECT_EQ(nvl.mig.memory_slices, 8u);
  EXPECT_EQ(nvl.mig.compute_slices, 7u);
  const server::MigProfile* p9 = nullptr;
  for (const auto& p : nvl.mig.profiles)
    if (p.id == 9) p9 = &p;
  ASSERT_NE(p9, nullptr);
  EXPECT_EQ(p9->compute_slices, 3u);
  EXPECT_EQ(p9->memory_slices, 4u);
  EXPECT_EQ(p9->max_count, 2u);
  EXPECT_EQ(p9->starts, (std::vector<uint32_t>{0, 4}));
  ASSERT_EQ(nvl.mig_instances.size(), 1u);
  EXPECT_EQ(nvl.mig_instances[0].profile, p9->name);
  for (const auto& t : nvl.vgpu_types) EXPECT_FALSE(t.name.empty());

  // H200 in passthrough: NVML knows it, it has no vGPU manager.
  const server::Gpu& h200 = gpu(inv, "0000:5d:00:0");
  EXPECT_TRUE(h200.vgpu_types.empty());
  EXPECT_FALSE(h200.heterogeneous);

  // A100 legacy on VFs: the mdev types, one VF each.
  const server::Gpu& a100 = gpu(inv, "0000:9a:00:0");
  EXPECT_FALSE(a100.vgpu_types.empty());
  EXPECT_EQ(inv.find_pci("0000:9a:00:4")->mdev_mode, "legacy");

  // The same sysfs without NVML: the sysfs types, bounded by the VF count.
  server::HostInventory plain = collect(nullptr);
  expect_valid_and_round_trips(plain);
  const server::VgpuType* s20 = type(gpu(plain, "0000:18:00:0"), "H100XM-20C");
  ASSERT_NE(s20, nullptr);
  EXPECT_EQ(s20->framebuffer_mb, 20480u);
  EXPECT_EQ(s20->max_instances, 4u);
}

// Not a benchmark: how long one report takes on this host, for the log.
TEST_F(AgentInventorySim, TimingOfOneReport) {
  test::sriov_manage(*sim_, "0000:18:00.0", "10de 2330", 4);
  mig::NvmlHost nvml(mock().string());
  pci::PciNames names(std::nullopt);
  collect_inventory(SysfsRoot(sim_->root()), &nvml, "warm", &names);
  constexpr int kRuns = 10;
  using clock = std::chrono::steady_clock;
  auto t0 = clock::now();
  for (int i = 0; i < kRuns; ++i) collect_inventory(SysfsRoot(sim_->root()), &nvml, "h", &names);
  auto t1 = clock::now();
  for (int i = 0; i < kRuns; ++i) collect_inventory(SysfsRoot(sim_->root()), nullptr, "h");
  auto t2 = clock::now();
  auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count() / kRuns; };
  std::printf(
      "collect_inventory on mixed-8gpu (FUSE): %.1f ms with the mock NVML and a kept "
      "PciNames, %.1f ms without NVML and fresh names\n",
      ms(t1 - t0), ms(t2 - t1));
}

}  // namespace
}  // namespace gpuvm::agent
