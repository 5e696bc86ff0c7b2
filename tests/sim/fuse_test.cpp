// System tests of the FUSE sysfs tree: the real gpuvm-sim binary mounts a
// spec in the test's own directory; real lspci and plain file I/O drive it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <set>
#include <sstream>

#include "sim/host_state.h"
#include "sim/sim_mount.h"
#include "support/test_support.h"

namespace gpuvm::test {
namespace {

namespace fs = std::filesystem;
using sim::HostState;
using sim::StateFile;

const char* kSmallHost = R"(
gpus:
  - {address: "0000:41:00.0", model: H100-SXM5-80GB, numa_node: 1, vgpu_mode: vendor-specific,
     sriov_totalvfs: 4}
  - {address: "0000:81:00.0", model: T4-16GB, vgpu_mode: legacy}
  - {address: "0000:a1:00.0", model: A100-SXM4-40GB, vgpu_mode: legacy, sriov_totalvfs: 2}
devices:
  - {address: "0000:c1:00.0", type: nic, sriov_totalvfs: 4}
)";

std::string link(const fs::path& p) {
  std::error_code ec;
  return fs::read_symlink(p, ec).string();
}

std::string rd(const fs::path& p) {
  return sysfs_read(p).value_or("<unreadable>");
}

// Adds a GPU instance to the state as the mock NVML would (another process).
void add_gi(const SimMount& m, const std::string& gpu, uint32_t id, uint32_t profile,
            uint32_t start, uint32_t size) {
  StateFile(m.state()).update([&](HostState& s) {
    auto* g = s.find_gpu(Bdf::parse(gpu));
    g->mig.gpu_instances.push_back({id, profile, start, size, {}});
  });
}

std::map<std::string, std::map<std::string, std::string>> lspci_vmm(const fs::path& root) {
  RunResult r = run({"/usr/bin/lspci", "-A", "linux-sysfs", "-O",
                     "sysfs.path=" + (root / "bus/pci").string(), "-D", "-nn", "-vmm"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, std::map<std::string, std::string>> out;
  std::map<std::string, std::string> cur;
  std::istringstream in(r.out + "\n");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) {
      if (cur.contains("Slot")) out[cur["Slot"]] = cur;
      cur.clear();
      continue;
    }
    auto tab = line.find(":\t");
    if (tab != std::string::npos) cur[line.substr(0, tab)] = line.substr(tab + 2);
  }
  return out;
}

class SimFuse : public ::testing::Test {
 protected:
  void SetUp() override { GPUVM_REQUIRE_FUSE(); }
  TempDir dir_;
};

TEST_F(SimFuse, LspciReadsWhatTheSpecSays) {
  SimMount m(dir_, source_dir() / "examples/hosts/mixed-8gpu.yaml");
  EXPECT_NE(m.up_result().out.find("export GPUVM_SYSFS_ROOT=" + m.root().string()),
            std::string::npos)
      << m.up_result().out;
  EXPECT_NE(m.up_result().out.find("GPUVM_SIM_STATE=" + m.state().string()), std::string::npos);
  auto devs = lspci_vmm(m.root());
  ASSERT_EQ(devs.size(), 13u);
  const auto& h100 = devs.at("0000:18:00.0");
  EXPECT_EQ(h100.at("Class"), "3D controller [0302]");
  EXPECT_EQ(h100.at("Vendor"), "NVIDIA Corporation [10de]");
  EXPECT_EQ(h100.at("Device"), "GH100[H100 SXM5 80GB] [2330]");
  EXPECT_EQ(h100.at("SVendor"), "NVIDIA Corporation [10de]");
  EXPECT_EQ(h100.at("SDevice"), "Device [16c1]");
  EXPECT_EQ(h100.at("Rev"), "a1");
  EXPECT_EQ(devs.at("0000:5d:00.0").at("Device"), "Device [2335]");  // H200: not in pci.ids 2023
  EXPECT_EQ(devs.at("0000:ba:00.0").at("Device"), "GA100GL [A30 PCIe] [20b7]");
  EXPECT_EQ(devs.at("0000:db:00.0").at("Device"), "TU104GL [Tesla T4] [1eb8]");
  EXPECT_EQ(devs.at("0000:17:00.0").at("Class"), "Ethernet controller [0200]");
  EXPECT_EQ(devs.at("0000:c1:00.0").at("Class"), "Non-Volatile memory controller [0108]");
  EXPECT_EQ(devs.at("0000:16:00.0").at("Class"), "PCI bridge [0604]");
  // The attributes gpuvm and pci.rb read, in the kernel's formats.
  EXPECT_EQ(rd(m.dev("0000:9a:00.0") / "numa_node"), "1\n");
  EXPECT_EQ(rd(m.dev("0000:18:00.0") / "class"), "0x030200\n");
  EXPECT_EQ(rd(m.dev("0000:18:00.0") / "sriov_totalvfs"), "32\n");
  EXPECT_EQ(rd(m.dev("0000:18:00.0") / "current_link_speed"), "32.0 GT/s PCIe\n");
  EXPECT_EQ(link(m.dev("0000:18:00.0") / "driver"), "../../../bus/pci/drivers/nvidia");
  EXPECT_EQ(link(m.root() / "bus/pci/devices/0000:18:00.0"),
            "../../../devices/pci0000:18/0000:18:00.0");
  EXPECT_TRUE(fs::is_directory(m.root() / "class/mdev_bus/0000:db:00.0/mdev_supported_types"));
  EXPECT_FALSE(fs::exists(m.dev("0000:db:00.0") / "sriov_totalvfs"));  // pre-Ampere: no SR-IOV
  struct stat st {};
  ASSERT_EQ(::stat((m.dev("0000:18:00.0") / "config").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 4096);
}

TEST_F(SimFuse, CapturedH100MatchesTheRealTree) {
  SimMount m(dir_, source_dir() / "examples/hosts/h100-passthrough.yaml");
  TempDir cap;
  extract_tarball(shared_dir() / "fixtures/h100-sxm5-passthrough/sysfs.tar.gz", cap.path());
  const fs::path real = cap.path() / "sysfs-snapshot/sys/devices/pci0000:00/0000:00:06.0";
  const fs::path sim = m.root() / "devices/pci0000:00/0000:00:06.0";
  for (const char* attr :
       {"vendor", "device", "subsystem_vendor", "subsystem_device", "class", "revision",
        "numa_node", "current_link_speed", "current_link_width", "max_link_speed", "max_link_width",
        "modalias", "uevent", "driver_override", "reset_method"}) {
    EXPECT_EQ(rd(sim / attr), read_file(real / attr)) << attr;
  }
  EXPECT_EQ(link(sim / "driver"), link(real / "driver"));
  EXPECT_EQ(link(sim / "subsystem"), link(real / "subsystem"));
  EXPECT_EQ(link(m.root() / "bus/pci/devices/0000:00:06.0"),
            link(cap.path() / "sysfs-snapshot/sys/bus/pci/devices/0000:00:06.0"));
  // The identity part of the config space (ids, class, subsystem) is the real one.
  const std::string real_cfg = read_file(real / "config");
  const std::string sim_cfg = rd(sim / "config");
  ASSERT_EQ(sim_cfg.size(), real_cfg.size());
  EXPECT_EQ(sim_cfg.substr(0, 4), real_cfg.substr(0, 4));
  EXPECT_EQ(sim_cfg.substr(8, 4), real_cfg.substr(8, 4));
  EXPECT_EQ(sim_cfg.substr(0x2c, 4), real_cfg.substr(0x2c, 4));
  EXPECT_EQ(sim_cfg.substr(0x6c, 4), real_cfg.substr(0x6c, 4));  // link capabilities
}

TEST_F(SimFuse, SriovEnableAndDisableThroughTheSriovManagePath) {
  SimMount m(dir_, std::string(kSmallHost));
  const std::string pf = "0000:41:00.0";
  add_gi(m, pf, 1, 19, 6, 1);  // runtime MIG state that sriov-manage wipes
  // A raw write under nvidia is refused as the driver does (no sriov_configure).
  EXPECT_EQ(sysfs_write(m.dev(pf) / "sriov_numvfs", "4"), ENOENT);
  EXPECT_EQ(sysfs_write(m.dev(pf) / "sriov_numvfs", "5"), ERANGE);  // > sriov_totalvfs
  sriov_manage(m, pf, "10de 2330", 4);
  EXPECT_EQ(rd(m.dev(pf) / "sriov_numvfs"), "4\n");
  EXPECT_EQ(link(m.dev(pf) / "driver"), "../../../bus/pci/drivers/nvidia");
  for (int i = 0; i < 4; ++i) {
    const std::string vf = "0000:41:00." + std::to_string(4 + i);
    EXPECT_EQ(link(m.dev(pf) / ("virtfn" + std::to_string(i))), "../" + vf);
    EXPECT_EQ(link(m.dev(vf) / "physfn"), "../" + pf);
    EXPECT_EQ(link(m.dev(vf) / "driver"), "../../../bus/pci/drivers/nvidia");
    EXPECT_TRUE(fs::exists(m.root() / "bus/pci/drivers/nvidia" / vf));
    EXPECT_EQ(rd(m.dev(vf) / "device"), "0x2330\n");
    EXPECT_TRUE(fs::exists(m.dev(vf) / "nvidia/creatable_vgpu_types"));
    const std::string group = fs::path(link(m.dev(vf) / "iommu_group")).filename();
    EXPECT_TRUE(fs::exists(m.root() / "kernel/iommu_groups" / group / "devices" / vf));
  }
  EXPECT_TRUE(StateFile(m.state()).read().gpus[0].mig.gpu_instances.empty());
  EXPECT_EQ(lspci_vmm(m.root()).size(), 4u + 3u + 1u);  // VFs, GPUs, NIC
  // Enabling again while enabled: EBUSY under pci-pf-stub (iov.c).
  ASSERT_EQ(sysfs_write(m.root() / "bus/pci/drivers/nvidia/unbind", pf), 0);
  ASSERT_EQ(sysfs_write(m.root() / "bus/pci/drivers/pci-pf-stub/new_id", "10de 2330"), 0);
  EXPECT_EQ(sysfs_write(m.dev(pf) / "sriov_numvfs", "2"), EBUSY);
  EXPECT_EQ(sysfs_write(m.root() / "bus/pci/drivers/pci-pf-stub/new_id", "10de 2330"), EEXIST);
  EXPECT_EQ(sysfs_write(m.root() / "bus/pci/drivers/pci-pf-stub/remove_id", "10de 2330"), 0);
  EXPECT_EQ(sysfs_write(m.root() / "bus/pci/drivers/pci-pf-stub/unbind", pf), 0);
  EXPECT_EQ(sysfs_write(m.root() / "bus/pci/drivers/nvidia/bind", pf), 0);
  // sriov-manage -d: the VFs leave their driver, then numvfs 0 the same way.
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(sysfs_write(m.root() / "bus/pci/drivers/nvidia/unbind",
                          "0000:41:00." + std::to_string(4 + i)),
              0);
  }
  sriov_manage(m, pf, "10de 2330", 0);
  EXPECT_EQ(rd(m.dev(pf) / "sriov_numvfs"), "0\n");
  EXPECT_FALSE(fs::exists(m.dev(pf) / "virtfn0"));
  EXPECT_FALSE(fs::exists(m.root() / "bus/pci/devices/0000:41:00.4"));
  EXPECT_EQ(lspci_vmm(m.root()).size(), 4u);
}

TEST_F(SimFuse, DriverBindingFollowsTheKernelRules) {
  SimMount m(dir_, std::string(kSmallHost));
  const fs::path drivers = m.root() / "bus/pci/drivers";
  EXPECT_EQ(sysfs_write(drivers / "vfio-pci/bind", "0000:41:00.0"), EBUSY);  // bound to nvidia
  EXPECT_EQ(sysfs_write(drivers / "vfio-pci/unbind", "0000:41:00.0"), ENODEV);
  EXPECT_EQ(sysfs_write(drivers / "nvidia/bind", "0000:99:00.0"), ENODEV);
  ASSERT_EQ(sysfs_write(drivers / "nvidia/unbind", "0000:41:00.0\n"), 0);
  EXPECT_FALSE(fs::exists(m.dev("0000:41:00.0") / "driver"));
  EXPECT_EQ(sysfs_write(drivers / "vfio-pci/bind", "0000:41:00.0"), ENODEV);  // no id, no override
  ASSERT_EQ(sysfs_write(m.dev("0000:41:00.0") / "driver_override", "vfio-pci\n"), 0);
  EXPECT_EQ(rd(m.dev("0000:41:00.0") / "driver_override"), "vfio-pci\n");
  EXPECT_EQ(sysfs_write(drivers / "nvidia/bind", "0000:41:00.0"), ENODEV);  // override wins
  ASSERT_EQ(sysfs_write(drivers / "vfio-pci/bind", "0000:41:00.0"), 0);
  EXPECT_EQ(link(m.dev("0000:41:00.0") / "driver"), "../../../bus/pci/drivers/vfio-pci");
  EXPECT_EQ(sysfs_write(m.dev("0000:41:00.0") / "sriov_numvfs", "1"),
            0);  // vfio-pci configures SR-IOV
  // A vendor-specific VF refuses vfio-pci: nvidia.ko is its VFIO driver.
  const std::string vf = "0000:41:00.4";
  ASSERT_EQ(sysfs_write(drivers / "nvidia/unbind", vf), 0);
  ASSERT_EQ(sysfs_write(m.dev(vf) / "driver_override", "vfio-pci"), 0);
  EXPECT_EQ(sysfs_write(drivers / "vfio-pci/bind", vf), EINVAL);
  EXPECT_EQ(sysfs_write(drivers / "pci-pf-stub/new_id", "10de"), EINVAL);
  EXPECT_EQ(sysfs_write(drivers / "pci-pf-stub/remove_id", "10de 2330"), ENODEV);
}

TEST_F(SimFuse, LegacyMdevCreateAndRemove) {
  SimMount m(dir_, std::string(kSmallHost));
  // T4: mdev types on the PF.
  const fs::path types = m.root() / "class/mdev_bus/0000:81:00.0/mdev_supported_types";
  const fs::path t4q = types / "nvidia-226";
  EXPECT_EQ(rd(t4q / "name"), "NVIDIA T4-4Q\n");
  EXPECT_EQ(rd(t4q / "device_api"), "vfio-pci\n");
  EXPECT_EQ(rd(t4q / "available_instances"), "4\n");
  int err = 0;
  EXPECT_FALSE(sysfs_read(t4q / "create", &err));
  EXPECT_EQ(err, EACCES);  // write-only
  const std::string uuid = "e4042b96-e63d-56cf-bcc8-4e6eecccc12e";
  ASSERT_EQ(sysfs_write(t4q / "create", uuid + "\n"), 0);
  EXPECT_EQ(rd(t4q / "available_instances"), "3\n");
  EXPECT_EQ(rd(types / "nvidia-225/available_instances"), "0\n");  // one type per GPU
  EXPECT_EQ(sysfs_write(types / "nvidia-225/create", "c3fcdd0a-cad3-5254-b4e8-6f6d4bb6cae9"),
            EUSERS);
  EXPECT_EQ(sysfs_write(t4q / "create", uuid), EEXIST);
  EXPECT_EQ(sysfs_write(t4q / "create", "not-a-uuid"), EINVAL);
  EXPECT_EQ(sysfs_write(t4q / "create", "e4042b96-e63d-56cf-bcc8-4e6eecccc12Z"), EINVAL);
  EXPECT_EQ(link(m.root() / "bus/mdev/devices" / uuid),
            "../../../devices/pci0000:81/0000:81:00.0/" + uuid);
  EXPECT_EQ(link(m.dev("0000:81:00.0") / uuid / "mdev_type"), "../mdev_supported_types/nvidia-226");
  EXPECT_TRUE(fs::exists(t4q / "devices" / uuid));
  const std::string group =
      fs::path(link(m.root() / "bus/mdev/devices" / uuid / "iommu_group")).filename();
  EXPECT_TRUE(fs::exists(m.root() / "kernel/iommu_groups" / group / "devices" / uuid));
  EXPECT_EQ(sysfs_write(m.root() / "bus/mdev/devices" / uuid / "remove", "x"), EINVAL);
  EXPECT_EQ(sysfs_write(m.root() / "bus/mdev/devices" / uuid / "remove", "0"), 0);  // no-op
  EXPECT_TRUE(fs::exists(m.root() / "bus/mdev/devices" / uuid));
  ASSERT_EQ(sysfs_write(m.root() / "bus/mdev/devices" / uuid / "remove", "1\n"), 0);
  EXPECT_FALSE(fs::exists(m.root() / "bus/mdev/devices" / uuid));
  EXPECT_EQ(rd(t4q / "available_instances"), "4\n");

  // A100 legacy: mdev parents are the VFs, one mdev each; MIG-backed types
  // only with MIG on and a GI of the profile.
  sriov_manage(m, "0000:a1:00.0", "10de 20b0", 2);
  const fs::path vf_types = m.root() / "class/mdev_bus/0000:a1:00.4/mdev_supported_types";
  EXPECT_EQ(rd(vf_types / "nvidia-471/available_instances"), "1\n");  // A100-10C
  EXPECT_FALSE(fs::exists(vf_types / "nvidia-474"));                  // A100-1-5C: MIG off
  ASSERT_EQ(sysfs_write(vf_types / "nvidia-471/create", uuid), 0);
  EXPECT_EQ(rd(vf_types / "nvidia-471/available_instances"), "0\n");
  EXPECT_EQ(rd(m.root() /
               "class/mdev_bus/0000:a1:00.5/mdev_supported_types/nvidia-471/available_instances"),
            "1\n");
  EXPECT_EQ(rd(m.root() /
               "class/mdev_bus/0000:a1:00.5/mdev_supported_types/nvidia-470/available_instances"),
            "0\n");
}

TEST_F(SimFuse, VendorSpecificTypesShrinkGrowAndFollowMig) {
  SimMount m(dir_, std::string(kSmallHost));
  const std::string pf = "0000:41:00.0";
  sriov_manage(m, pf, "10de 2330", 4);
  auto vf = [&](int i) { return m.dev("0000:41:00." + std::to_string(4 + i)) / "nvidia"; };
  const std::string all = rd(vf(0) / "creatable_vgpu_types");
  EXPECT_TRUE(all.starts_with("ID    : vGPU Name\n1327  : NVIDIA H100XM-4C\n")) << all;
  EXPECT_EQ(all.find("H100XM-1-10C"), std::string::npos);  // MIG off: no MIG-backed types
  int err = 0;
  EXPECT_FALSE(sysfs_read(vf(0) / "gpu_instance_id", &err));
  EXPECT_EQ(err, ENXIO);
  // 40C: two fit; the third VF is offered nothing else (one type per GPU).
  ASSERT_EQ(sysfs_write(vf(0) / "current_vgpu_type", "1333\n"), 0);
  EXPECT_EQ(rd(vf(0) / "current_vgpu_type"), "1333\n");
  EXPECT_EQ(rd(vf(0) / "creatable_vgpu_types"), "ID    : vGPU Name\n");
  EXPECT_EQ(rd(vf(1) / "creatable_vgpu_types"), "ID    : vGPU Name\n1333  : NVIDIA H100XM-40C\n");
  EXPECT_EQ(sysfs_write(vf(1) / "current_vgpu_type", "1330"), EIO);  // another type: refused
  ASSERT_EQ(sysfs_write(vf(1) / "current_vgpu_type", "1333"), 0);
  EXPECT_EQ(rd(vf(2) / "creatable_vgpu_types"), "ID    : vGPU Name\n");  // full
  EXPECT_EQ(sysfs_write(vf(2) / "current_vgpu_type", "1333"), EIO);
  EXPECT_EQ(sysfs_write(vf(0) / "current_vgpu_type", "1333"), EBUSY);
  EXPECT_EQ(sysfs_write(vf(2) / "current_vgpu_type", "4242"), EINVAL);  // not an H100 type
  ASSERT_EQ(sysfs_write(vf(0) / "current_vgpu_type", "0"), 0);
  ASSERT_EQ(sysfs_write(vf(1) / "current_vgpu_type", "0\n"), 0);
  EXPECT_EQ(rd(vf(2) / "creatable_vgpu_types"), all);  // grows back
  // Heterogeneous mode (set through NVML): mixed sizes within the framebuffer.
  StateFile(m.state()).update([](HostState& s) { s.gpus[0].heterogeneous_mode = true; });
  ASSERT_EQ(sysfs_write(vf(0) / "current_vgpu_type", "1333"), 0);    // 40C
  ASSERT_EQ(sysfs_write(vf(1) / "current_vgpu_type", "1332"), 0);    // 20C
  EXPECT_EQ(sysfs_write(vf(2) / "current_vgpu_type", "1333"), EIO);  // 40 + 20 + 40 > 80
  ASSERT_EQ(sysfs_write(vf(2) / "current_vgpu_type", "1332"), 0);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(sysfs_write(vf(i) / "current_vgpu_type", "0"), 0);
  // MIG on (mode change through NVML): MIG-backed types appear once a GI of
  // their profile exists (written by another process), one vGPU per GI.
  StateFile(m.state()).update(
      [](HostState& s) { s.gpus[0].mig.current = s.gpus[0].mig.pending = true; });
  EXPECT_EQ(rd(vf(0) / "creatable_vgpu_types"), "ID    : vGPU Name\n");
  EXPECT_EQ(sysfs_write(vf(0) / "current_vgpu_type", "1324"), EIO);  // no 3g GI yet
  add_gi(m, pf, 1, 9, 4, 4);                                         // 3g.40gb at 4:4
  EXPECT_EQ(rd(vf(0) / "creatable_vgpu_types"), "ID    : vGPU Name\n1324  : NVIDIA H100XM-3-40C\n");
  ASSERT_EQ(sysfs_write(vf(0) / "current_vgpu_type", "1324"), 0);
  EXPECT_EQ(rd(vf(0) / "gpu_instance_id"), "1\n");
  EXPECT_EQ(rd(vf(0) / "placement_id"), "4\n");
  EXPECT_EQ(rd(vf(1) / "creatable_vgpu_types"), "ID    : vGPU Name\n");  // the GI is taken
  // vgpu_params and warm_update.
  ASSERT_EQ(sysfs_write(vf(0) / "vgpu_params", "frame_rate_limiter=0,disable_vnc=1\n"), 0);
  EXPECT_EQ(rd(vf(0) / "vgpu_params"), "frame_rate_limiter=0,disable_vnc=1\n");
  ASSERT_EQ(sysfs_write(vf(0) / "vgpu_params", " "), 0);
  EXPECT_EQ(rd(vf(0) / "vgpu_params"), "");
  ASSERT_EQ(sysfs_write(vf(0) / "warm_update", "1"), 0);
  EXPECT_EQ(rd(vf(0) / "warm_update"), "1\n");
}

TEST_F(SimFuse, InjectedFaultsAndALostGpu) {
  SimMount m(dir_, std::string(kSmallHost) + R"(faults:
  - {call: "sysfs:current_vgpu_type", errno: EAGAIN, count: 1}
  - {call: "sysfs:create", gpu: "0000:81:00.0", errno: ENOSPC, count: 2}
)");
  sriov_manage(m, "0000:41:00.0", "10de 2330", 1);
  const fs::path cur = m.dev("0000:41:00.4") / "nvidia/current_vgpu_type";
  EXPECT_EQ(sysfs_write(cur, "1330"), EAGAIN);
  EXPECT_EQ(sysfs_write(cur, "1330"), 0);  // the fault was used up
  const fs::path create =
      m.root() / "class/mdev_bus/0000:81:00.0/mdev_supported_types/nvidia-226/create";
  EXPECT_EQ(sysfs_write(create, "e4042b96-e63d-56cf-bcc8-4e6eecccc12e"), ENOSPC);
  EXPECT_EQ(sysfs_write(create, "e4042b96-e63d-56cf-bcc8-4e6eecccc12e"), ENOSPC);
  EXPECT_EQ(sysfs_write(create, "e4042b96-e63d-56cf-bcc8-4e6eecccc12e"), 0);
  // The GPU falls off the bus: config space reads all ones, changes fail.
  StateFile(m.state()).update([](HostState& s) { s.gpus[0].fallen_off_bus = true; });
  EXPECT_EQ(rd(m.dev("0000:41:00.0") / "config").substr(0, 4), std::string(4, '\xff'));
  EXPECT_EQ(sysfs_write(cur, "0"), EIO);
}

TEST_F(SimFuse, GarbageWritesToEveryWritableAttributeFailCleanly) {
  SimMount m(dir_, std::string(kSmallHost));
  sriov_manage(m, "0000:41:00.0", "10de 2330", 2);
  sriov_manage(m, "0000:a1:00.0", "10de 20b0", 2);
  ASSERT_EQ(
      sysfs_write(m.root() / "class/mdev_bus/0000:81:00.0/mdev_supported_types/nvidia-226/create",
                  "e4042b96-e63d-56cf-bcc8-4e6eecccc12e"),
      0);
  std::vector<fs::path> writable;
  for (auto it = fs::recursive_directory_iterator(m.root());
       it != fs::recursive_directory_iterator(); ++it) {
    if (it->is_symlink() || !it->is_regular_file()) continue;
    if ((it->status().permissions() & fs::perms::owner_write) != fs::perms::none)
      writable.push_back(it->path());
  }
  ASSERT_GT(writable.size(), 50u);
  const std::vector<std::string> garbage = {"abc",
                                            "-1",
                                            "99999999999999999999999",
                                            "0x",
                                            "1 2",
                                            std::string("\0\x01\xff", 3),
                                            "e4042b96-e63d-56cf-bcc8-4e6eecccc12e-x",
                                            std::string(5000, 'A'),
                                            "\n\n",
                                            "+-5"};
  const std::set<int> clean = {EINVAL, ERANGE,     ENODEV, ENOENT, EBUSY,
                               EACCES, EOPNOTSUPP, EEXIST, EIO,    EUSERS};
  // driver_override takes any string (the kernel stores it); vgpu_params
  // accepts "key=value" only; everything else rejects these values.
  size_t checked = 0;
  for (const auto& p : writable) {
    for (const auto& g : garbage) {
      const int err = sysfs_write(p, g);
      if (p.filename() == "driver_override" && g.size() < 4096) {
        EXPECT_EQ(err, 0) << p;
        sysfs_write(p, "\n");
        continue;
      }
      if (p.filename() == "new_id" && g == "1 2") {  // a valid "vendor device" pair
        EXPECT_EQ(err, 0) << p;
        EXPECT_EQ(sysfs_write(p.parent_path() / "remove_id", g), 0);
        continue;
      }
      EXPECT_NE(err, 0) << p << " accepted " << g.substr(0, 40);
      EXPECT_TRUE(clean.contains(err))
          << p << " <- " << g.substr(0, 40) << ": " << std::strerror(err);
      ++checked;
    }
  }
  EXPECT_GT(checked, 500u);
  // The daemon is alive and nothing changed.
  EXPECT_EQ(rd(m.dev("0000:41:00.0") / "sriov_numvfs"), "2\n");
  EXPECT_TRUE(fs::exists(m.root() / "bus/mdev/devices/e4042b96-e63d-56cf-bcc8-4e6eecccc12e"));
}

TEST_F(SimFuse, ReadOnlyFilesAndTheTreeItselfCannotBeChanged) {
  SimMount m(dir_, std::string(kSmallHost));
  EXPECT_EQ(sysfs_write(m.dev("0000:41:00.0") / "vendor", "0x1234"), EACCES);
  EXPECT_EQ(sysfs_write(m.dev("0000:41:00.0") / "nonexistent", "1"), ENOENT);
  EXPECT_EQ(::mkdir((m.root() / "devices/x").c_str(), 0755), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(::unlink((m.root() / "bus/pci/devices/0000:41:00.0").c_str()), -1);
  EXPECT_EQ(::open((m.root() / "newfile").c_str(), O_CREAT | O_WRONLY, 0644), -1);
  EXPECT_EQ(errno, EACCES);
}

TEST_F(SimFuse, ChangesByAnotherProcessAreVisibleAtOnce) {
  SimMount m(dir_, std::string(kSmallHost));
  EXPECT_EQ(rd(m.dev("0000:41:00.0") / "sriov_numvfs"), "0\n");
  StateFile(m.state()).update([](HostState& s) { s.gpus[0].numa_node = 0; });
  EXPECT_EQ(rd(m.dev("0000:41:00.0") / "numa_node"), "0\n");
}

TEST_F(SimFuse, RefusesBusyDirectoriesAndTheRealSys) {
  fs::create_directories(dir_.path() / "full");
  write_file(dir_.path() / "full/file", "x");
  write_file(dir_.path() / "host.yaml", kSmallHost);
  const std::string sim = bin("gpuvm-sim").string();
  const std::string spec = (dir_.path() / "host.yaml").string();
  RunResult r = run({sim, "up", spec, "--mount", (dir_.path() / "full").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not empty"), std::string::npos) << r.err;
  r = run({sim, "up", spec, "--mount", "/sys"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("real /sys"), std::string::npos) << r.err;
  r = run({sim, "up", spec, "--mount", "/sys/bus/pci/devices"});
  EXPECT_EQ(r.exit_code, 2);
  r = run({sim, "up", spec, "--mount", (dir_.path() / "missing").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
  // A bad spec: exit 2, nothing mounted, the line named.
  write_file(dir_.path() / "bad.yaml",
             "gpus:\n  - address: \"0000:41:00.0\"\n    modle: T4-16GB\n");
  fs::create_directories(dir_.path() / "empty");
  r = run({sim, "up", (dir_.path() / "bad.yaml").string(), "--mount",
           (dir_.path() / "empty").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bad.yaml:3"), std::string::npos) << r.err;
  EXPECT_FALSE(sim::state_path_for_mount(dir_.path() / "empty"));
}

TEST_F(SimFuse, TwoUpOnOneDirectory) {
  SimMount m(dir_, std::string(kSmallHost));
  RunResult r =
      run({bin("gpuvm-sim").string(), "up", (dir_.path() / "host.yaml").string(), "--mount",
           m.root().string(), "--state-dir", (dir_.path() / "other").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("already a gpuvm-sim mount"), std::string::npos) << r.err;
  EXPECT_EQ(rd(m.dev("0000:41:00.0") / "vendor"), "0x10de\n");  // the first one still serves
}

TEST_F(SimFuse, DownWhileAFileIsHeldOpen) {
  SimMount m(dir_, std::string(kSmallHost));
  int fd = ::open((m.dev("0000:41:00.0") / "vendor").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  RunResult r = m.down();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("busy"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("EBUSY"), std::string::npos) << r.err;
  ::close(fd);
  r = m.down();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(sim::state_path_for_mount(m.root()));
  r = run({bin("gpuvm-sim").string(), "down", m.root().string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not a gpuvm-sim mount"), std::string::npos) << r.err;
}

TEST_F(SimFuse, RebootAndGpuReset) {
  SimMount m(dir_, std::string(kSmallHost));
  const std::string sim = bin("gpuvm-sim").string();
  sriov_manage(m, "0000:41:00.0", "10de 2330", 2);
  ASSERT_EQ(sysfs_write(m.dev("0000:41:00.4") / "nvidia/current_vgpu_type", "1330"), 0);
  // MIG enabled through NVML: pending until a reset; GPU reset refused with vGPUs.
  StateFile(m.state()).update([](HostState& s) { s.gpus[2].mig.pending = true; });
  add_gi(m, "0000:a1:00.0", 1, 19, 6, 1);
  RunResult r = run({sim, "reset", m.root().string(), "0000:41:00.0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("vGPUs"), std::string::npos) << r.err;
  r = run({sim, "reset", m.root().string(), "0000:a1:00.0"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  HostState s = StateFile(m.state()).read();
  EXPECT_TRUE(s.gpus[2].mig.current);
  EXPECT_TRUE(s.gpus[2].mig.gpu_instances.empty());
  add_gi(m, "0000:a1:00.0", 1, 19, 6, 1);
  r = run({sim, "reset", m.root().string(), "0000:ff:00.0"});
  EXPECT_EQ(r.exit_code, 1);
  r = run({sim, "reset", m.root().string(), "garbage"});
  EXPECT_EQ(r.exit_code, 2);
  r = run({sim, "reboot", m.root().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  s = StateFile(m.state()).read();
  EXPECT_EQ(s.gpus[0].sriov_numvfs(), 0u);
  EXPECT_TRUE(s.gpus[2].mig.current);  // A100 keeps MIG mode (InfoROM)
  EXPECT_TRUE(s.gpus[2].mig.gpu_instances.empty());
  EXPECT_FALSE(fs::exists(m.root() / "bus/pci/devices/0000:41:00.4"));
  r = run({sim, "status", m.root().string(), "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"generation\""), std::string::npos);
  r = run({sim, "status", m.root().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("0000:a1:00.0  A100-SXM4-40GB"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace gpuvm::test
