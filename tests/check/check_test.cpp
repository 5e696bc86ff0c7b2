// gpuvm check's checks, one by one, on HostViews made in the test: ok, warn
// and fail of each, and the parsers they use. No FUSE: the system tests on
// gpuvm-sim and the real H100 capture are in check_sim_test.cpp.
#include "check/check.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "check/format.h"
#include "check/record.h"
#include "mig/memory_host.h"
#include "mig/tables.h"
#include "support/test_support.h"

namespace gpuvm::check {
namespace {

namespace fs = std::filesystem;

pci::Device gpu(const std::string& bdf, std::optional<int> group = 1) {
  pci::Device d;
  d.bdf = Bdf::parse(bdf);
  d.vendor_id = 0x10de;
  d.device_id = 0x2330;
  d.class_code = 0x030200;
  d.driver = "nvidia";
  d.iommu_group = group;
  return d;
}

pci::Device other(const std::string& bdf, uint32_t class_code, int group,
                  uint16_t vendor = 0x15b3) {
  pci::Device d;
  d.bdf = Bdf::parse(bdf);
  d.vendor_id = vendor;
  d.class_code = class_code;
  d.iommu_group = group;
  return d;
}

// A bare-metal Intel host with one H100 alone in IOMMU group 1, the driver
// loaded, vfio-pci, 0660 group nodes the QEMU user can open.
class CheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    h_.roots.sysfs = SysfsRoot(dir_.path() / "sys");
    h_.roots.proc = dir_.path() / "proc";
    h_.roots.dev = dir_.path() / "dev";
    h_.roots.etc = dir_.path() / "etc";
    fs::create_directories(dir_.path() / "sys/bus/pci/devices");
    h_.devices = {gpu("0000:10:00.0")};
    h_.devices[0].sriov_totalvfs = 32;
    h_.devices[0].sriov_numvfs = 0;
    h_.cmdline = "BOOT_IMAGE=/vmlinuz ro intel_iommu=on iommu=pt";
    h_.kernel_release = "6.8.0-49-generic";
    h_.modules = std::set<std::string>{"nvidia", "vfio", "vfio_pci"};
    h_.nvidia_version =
        "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.159.04  Release Build\nGCC x\n";
    h_.cpu_vendor = "GenuineIntel";
    h_.cpu_hypervisor = false;
    h_.iommu_groups = std::map<int, std::vector<std::string>>{{1, {"0000:10:00.0"}}};
    h_.vfio = std::vector<VfioNode>{{"vfio", 0666, 0, 0}, {"1", 0660, 0, 36}};
    h_.qemu_conf = "user = \"libvirt-qemu\"\n";
    h_.etc_passwd =
        "root:x:0:0::/root:/bin/sh\nlibvirt-qemu:x:64055:108::/var/lib/libvirt:/bin/false\n";
    h_.etc_group = "root:x:0:\nkvm:x:36:libvirt-qemu\n";
    // MemoryHost's first GPU is at 0000:10:00.0, MIG off.
    h_.nvml = std::make_unique<mig::MemoryHost>(
        std::vector<mig::ProfileTable>{mig::test::h100_80gb()}, false);
  }

  Options options() const {
    Options o;
    o.roots = h_.roots;
    o.state_dir = dir_.path() / "state";
    return o;
  }

  test::TempDir dir_;
  HostView h_;
};

TEST_F(CheckTest, ReadyHostHasNoWarningOrFailure) {
  const auto results = run_all(h_, options());
  for (const Result& r : results)
    EXPECT_EQ(r.status, Status::kOk) << r.id << " " << r.gpu << ": " << r.seen;
  EXPECT_EQ(to_json(results)["status"], "ok");
}

TEST_F(CheckTest, HostKind) {
  EXPECT_EQ(check_host_kind(h_).status, Status::kOk);
  h_.cpu_hypervisor = true;
  EXPECT_EQ(check_host_kind(h_).status, Status::kWarn);
  // Without /proc/cpuinfo, virtio devices (vendor 1af4) say VM.
  h_.cpu_hypervisor.reset();
  EXPECT_EQ(check_host_kind(h_).status, Status::kOk);
  h_.devices.push_back(other("0000:00:01.0", 0x020000, 2, 0x1af4));
  EXPECT_EQ(check_host_kind(h_).status, Status::kWarn);
}

TEST_F(CheckTest, IommuEnabled) {
  EXPECT_EQ(check_iommu_enabled(h_).status, Status::kOk);
  h_.iommu_groups->clear();
  const Result r = check_iommu_enabled(h_);
  EXPECT_EQ(r.status, Status::kFail);
  EXPECT_NE(r.fix.find("intel_iommu=on"), std::string::npos) << r.fix;
  h_.cpu_hypervisor = true;
  EXPECT_NE(check_iommu_enabled(h_).fix.find("virtual IOMMU"), std::string::npos);
}

TEST_F(CheckTest, IommuCmdline) {
  EXPECT_EQ(check_iommu_cmdline(h_).status, Status::kOk);
  h_.cmdline = "ro intel_iommu=on";
  EXPECT_EQ(check_iommu_cmdline(h_).status, Status::kWarn);  // no iommu=pt
  h_.cmdline = "ro";
  h_.iommu_groups->clear();
  EXPECT_EQ(check_iommu_cmdline(h_).status, Status::kFail);  // Intel, no groups, no option
  h_.cmdline = "ro intel_iommu=off iommu=pt";
  EXPECT_EQ(check_iommu_cmdline(h_).status, Status::kFail);
  h_.cmdline.reset();
  EXPECT_EQ(check_iommu_cmdline(h_).status, Status::kWarn);
}

TEST_F(CheckTest, IommuGroups) {
  auto one = [&] {
    auto r = check_iommu_groups(h_);
    EXPECT_EQ(r.size(), 1u);
    return r.at(0);
  };
  EXPECT_EQ(one().status, Status::kOk);
  // A bridge in the group (the switch port above the GPU) is fine.
  h_.devices.push_back(other("0000:0f:03.1", 0x060400, 1, 0x1022));
  h_.iommu_groups->at(1) = {"0000:0f:03.1", "0000:10:00.0"};
  EXPECT_EQ(one().status, Status::kOk);
  EXPECT_NE(one().seen.find("bridges only"), std::string::npos) << one().seen;
  // The GPU's audio function must go with it.
  h_.devices.push_back(other("0000:10:00.1", 0x040300, 1, 0x10de));
  h_.iommu_groups->at(1).push_back("0000:10:00.1");
  Result r = one();
  EXPECT_EQ(r.status, Status::kWarn);
  EXPECT_NE(r.seen.find("other functions of the GPU: 0000:10:00.1"), std::string::npos) << r.seen;
  // Another endpoint in the group.
  h_.devices.push_back(other("0000:11:00.0", 0x020000, 1));
  h_.iommu_groups->at(1).push_back("0000:11:00.0");
  r = one();
  EXPECT_NE(r.seen.find("shared with: 0000:11:00.0"), std::string::npos) << r.seen;
  EXPECT_NE(r.fix.find("ACS"), std::string::npos);
  // No group at all.
  h_.devices[0].iommu_group.reset();
  EXPECT_EQ(one().status, Status::kFail);
}

TEST_F(CheckTest, Sriov) {
  auto one = [&] { return check_sriov(h_).at(0); };
  h_.devices[0].sriov_totalvfs = 32;
  h_.devices[0].sriov_numvfs = 0;
  EXPECT_EQ(one().status, Status::kOk);  // no vGPU manager: VFs not needed
  h_.modules->insert("nvidia_vgpu_vfio");
  EXPECT_EQ(one().status, Status::kWarn);
  EXPECT_NE(one().fix.find("gpuvm sriov enable 0000:10:00.0"), std::string::npos);
  h_.devices[0].sriov_numvfs = 32;
  EXPECT_EQ(one().status, Status::kOk);
  EXPECT_EQ(one().seen, "32/32 VFs enabled");
  // No SR-IOV capability on bare metal: BIOS/ARI.
  h_.devices[0].sriov_totalvfs.reset();
  h_.devices[0].sriov_numvfs.reset();
  EXPECT_EQ(one().status, Status::kWarn);
  EXPECT_NE(one().fix.find("ARI"), std::string::npos);
  h_.devices[0].mdev_parent = true;  // a T4-style mdev parent
  EXPECT_EQ(one().status, Status::kOk);
  h_.devices[0].mdev_parent = false;
  h_.cpu_hypervisor = true;  // a passed-through GPU
  EXPECT_EQ(one().status, Status::kOk);
}

TEST_F(CheckTest, NvidiaDriver) {
  Result r = check_nvidia_driver(h_);
  EXPECT_EQ(r.status, Status::kOk) << r.seen;
  EXPECT_NE(r.seen.find("580.159.04"), std::string::npos);
  // The kernel module and NVML disagree.
  h_.nvidia_version = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.90.07  Release\n";
  EXPECT_EQ(check_nvidia_driver(h_).status, Status::kFail);
  // NVML does not load.
  h_.nvidia_version.reset();
  h_.nvml.reset();
  h_.nvml_error = "no libnvidia-ml.so.1";
  EXPECT_EQ(check_nvidia_driver(h_).status, Status::kWarn);
  // No driver at all.
  h_.modules->erase("nvidia");
  h_.devices[0].driver.reset();
  EXPECT_EQ(check_nvidia_driver(h_).status, Status::kFail);
  // Every GPU on vfio-pci: passthrough without the driver is fine.
  h_.devices[0].driver = "vfio-pci";
  EXPECT_EQ(check_nvidia_driver(h_).status, Status::kOk);
  h_.devices.clear();
  EXPECT_EQ(check_nvidia_driver(h_).status, Status::kFail);
}

TEST_F(CheckTest, Nouveau) {
  EXPECT_EQ(check_nouveau(h_).status, Status::kOk);
  h_.modules->insert("nouveau");
  EXPECT_EQ(check_nouveau(h_).status, Status::kWarn);
  h_.devices[0].driver = "nouveau";
  EXPECT_EQ(check_nouveau(h_).status, Status::kFail);
}

TEST_F(CheckTest, VfioPci) {
  EXPECT_EQ(check_vfio_pci(h_).status, Status::kOk);
  h_.modules->erase("vfio_pci");
  EXPECT_EQ(check_vfio_pci(h_).status, Status::kWarn);
  fs::create_directories(h_.roots.sysfs.root() / "bus/pci/drivers/vfio-pci");  // built in
  EXPECT_EQ(check_vfio_pci(h_).status, Status::kOk);
}

TEST_F(CheckTest, VgpuManager) {
  EXPECT_EQ(check_vgpu_manager(h_).status, Status::kOk);  // passthrough host
  // Legacy mdev: nvidia-vgpu-mgr must run.
  h_.modules->insert("nvidia_vgpu_vfio");
  EXPECT_EQ(check_vgpu_manager(h_).status, Status::kFail);
  h_.processes.insert("nvidia-vgpu-mgr");
  EXPECT_EQ(check_vgpu_manager(h_).status, Status::kOk);
  h_.modules->erase("nvidia_vgpu_vfio");
  // VFs without any vGPU interface.
  pci::Device vf = gpu("0000:10:00.4");
  vf.sriov_role = pci::SriovRole::kVf;
  vf.physfn = Bdf::parse("0000:10:00.0");
  h_.devices.push_back(vf);
  EXPECT_EQ(check_vgpu_manager(h_).status, Status::kWarn);
  // Vendor-specific VFIO: fine on 6.8, warned before it.
  h_.devices.back().nvidia_vgpu_dir = true;
  EXPECT_EQ(check_vgpu_manager(h_).status, Status::kOk);
  h_.kernel_release = "6.1.0-27-amd64";
  EXPECT_EQ(check_vgpu_manager(h_).status, Status::kWarn);
}

// A GPU whose NVML says MIG is not supported (nvmlDeviceGetMigMode NOT_SUPPORTED).
class NoMigGpu : public mig::MemoryGpu {
 public:
  using MemoryGpu::MemoryGpu;
  mig::MigMode mig_mode() override {
    throw mig::NvmlError(NVML_ERROR_NOT_SUPPORTED, "Not Supported", "nvmlDeviceGetMigMode");
  }
};
class OneGpuHost : public mig::MigHost {
 public:
  explicit OneGpuHost(std::unique_ptr<mig::MigGpu> g) : gpu_(std::move(g)) {}
  std::string driver_version() override { return "580.159.04"; }
  unsigned gpu_count() override { return 1; }
  mig::MigGpu& gpu(unsigned) override { return *gpu_; }

 private:
  std::unique_ptr<mig::MigGpu> gpu_;
};

TEST_F(CheckTest, Mig) {
  auto host = std::make_unique<mig::MemoryHost>(
      std::vector<mig::ProfileTable>{mig::test::h100_80gb()}, false);
  mig::MemoryGpu& g = host->memory_gpu(0);
  h_.nvml = std::move(host);
  EXPECT_EQ(check_mig(h_).at(0).status, Status::kOk);
  EXPECT_EQ(check_mig(h_).at(0).seen, "MIG-capable, MIG off");
  // A pending change needs a reset; bare metal with a reset attribute: reset it.
  g.set_needs_reset(true);
  g.set_mig_mode(true);
  fs::create_directories(h_.roots.sysfs.pci_device(Bdf::parse("0000:10:00.0")));
  Result r = check_mig(h_).at(0);
  EXPECT_EQ(r.status, Status::kWarn);
  EXPECT_NE(r.fix.find("reboot"), std::string::npos);  // no reset attribute
  test::write_file(h_.roots.sysfs.pci_device(Bdf::parse("0000:10:00.0")) / "reset", "");
  EXPECT_NE(check_mig(h_).at(0).fix.find("nvidia-smi -r"), std::string::npos);
  h_.cpu_hypervisor = true;
  EXPECT_NE(check_mig(h_).at(0).fix.find("reboot the VM"), std::string::npos);
  // Not MIG-capable.
  mig::GpuIdentity id;
  id.pci_bus_id = "00000000:10:00.0";
  h_.nvml = std::make_unique<OneGpuHost>(std::make_unique<NoMigGpu>(id, mig::test::h100_80gb()));
  EXPECT_EQ(check_mig(h_).at(0).seen, "not MIG-capable");
  // NVML absent: one warning, not one per GPU.
  h_.nvml.reset();
  ASSERT_EQ(check_mig(h_).size(), 1u);
  EXPECT_EQ(check_mig(h_).at(0).status, Status::kWarn);
}

TEST_F(CheckTest, VfioModes) {
  EXPECT_EQ(check_vfio_modes(h_).status, Status::kOk);  // the container's 0666 is by design
  h_.vfio->push_back({"devices/vfio0", 0666, 0, 36});   // OpenNebula's MODE="0666" rule
  const Result r = check_vfio_modes(h_);
  EXPECT_EQ(r.status, Status::kWarn);
  EXPECT_NE(r.seen.find("devices/vfio0 0666"), std::string::npos) << r.seen;
  EXPECT_NE(r.fix.find("0660"), std::string::npos);
  h_.vfio.reset();
  EXPECT_EQ(check_vfio_modes(h_).status, Status::kWarn);  // vfio loaded, no /dev/vfio
  h_.modules->erase("vfio");
  EXPECT_EQ(check_vfio_modes(h_).status, Status::kOk);
}

TEST_F(CheckTest, QemuAccess) {
  EXPECT_EQ(check_qemu_access(h_).status, Status::kOk);
  // Not in group kvm: libvirt relabels at VM start (warn), unless it does not.
  h_.etc_group = "kvm:x:36:\n";
  EXPECT_EQ(check_qemu_access(h_).status, Status::kWarn);
  h_.qemu_conf = "user = \"libvirt-qemu\"\ndynamic_ownership = 0\n";
  Result r = check_qemu_access(h_);
  EXPECT_EQ(r.status, Status::kFail);
  EXPECT_NE(r.fix.find("usermod -aG kvm libvirt-qemu"), std::string::npos) << r.fix;
  // OpenNebula without qemu.conf: oneadmin.
  h_.qemu_conf.reset();
  h_.etc_passwd = "oneadmin:x:9869:9869::/var/lib/one:/bin/sh\n";
  h_.etc_group = "kvm:x:36:oneadmin\n";
  r = check_qemu_access(h_);
  EXPECT_EQ(r.status, Status::kOk);
  EXPECT_NE(r.seen.find("oneadmin"), std::string::npos);
  h_.etc_group = "kvm:x:36:\n";
  EXPECT_EQ(check_qemu_access(h_).status, Status::kFail);
  // The user qemu.conf names does not exist.
  h_.qemu_conf = "user = \"nobody-here\"\n";
  EXPECT_EQ(check_qemu_access(h_).status, Status::kWarn);
}

TEST_F(CheckTest, NodeConfigAndUnits) {
  Options o = options();
  EXPECT_EQ(check_node_config(h_, o).status, Status::kOk);  // none: not used
  EXPECT_EQ(check_units(h_, o).status, Status::kOk);
  const fs::path yaml = dir_.path() / "node.yaml";
  test::write_file(yaml, "version: v1\ngpus:\n  - address: nonsense\n");
  o.node_config = yaml;
  EXPECT_EQ(check_node_config(h_, o).status, Status::kFail);
  // Valid, but for a GPU this host does not have.
  test::write_file(yaml, "version: v1\ngpus:\n  - address: \"0000:99:00.0\"\n    sriov: true\n");
  Result r = check_node_config(h_, o);
  EXPECT_EQ(r.status, Status::kFail) << r.seen;
  // A node.yaml wants gpuvm-node.service enabled.
  EXPECT_EQ(check_units(h_, o).status, Status::kWarn);
  const fs::path wants = h_.roots.etc / "systemd/system/multi-user.target.wants";
  fs::create_directories(wants);
  fs::create_symlink("/lib/systemd/system/gpuvm-node.service", wants / "gpuvm-node.service");
  EXPECT_EQ(check_units(h_, o).status, Status::kOk);
  // A file given that does not exist is bad input.
  o.node_config = dir_.path() / "missing.yaml";
  o.node_config_explicit = true;
  try {
    run_all(o);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kInvalidArgument);
  }
}

TEST_F(CheckTest, AgentReachesGpuvmd) {
  h_.now_ms = 1'000'000'000;
  // No agent has run: fine for a host gpuvmd does not manage.
  EXPECT_EQ(check_agent(h_).status, Status::kOk);
  h_.agent_status = "not json";
  EXPECT_EQ(check_agent(h_).status, Status::kWarn);
  h_.agent_status = R"({"server":"https://gpuvmd:8443","reached_at_ms":999990000})";
  Result r = check_agent(h_);
  EXPECT_EQ(r.status, Status::kOk);
  EXPECT_NE(r.seen.find("https://gpuvmd:8443 10 s ago"), std::string::npos) << r.seen;
  // Stale: no push for more than 10 minutes.
  h_.agent_status = R"({"server":"https://gpuvmd:8443","reached_at_ms":998000000})";
  r = check_agent(h_);
  EXPECT_EQ(r.status, Status::kWarn);
  EXPECT_NE(r.seen.find("33 min ago"), std::string::npos) << r.seen;
  // The current error wins, with when it began and the last push.
  h_.agent_status =
      R"({"server":"https://gpuvmd:8443","reached_at_ms":999000000,)"
      R"("error":"GET /api/v1/hosts/h/commands https://gpuvmd:8443: Connection","error_at_ms":999940000})";
  r = check_agent(h_);
  EXPECT_EQ(r.status, Status::kFail);
  EXPECT_NE(r.seen.find("since 60 s ago"), std::string::npos) << r.seen;
  EXPECT_NE(r.seen.find("last push 16 min ago"), std::string::npos) << r.seen;
  EXPECT_NE(r.fix.find("--ca-file"), std::string::npos);
  h_.agent_status = R"({"server":"https://gpuvmd:8443"})";
  EXPECT_EQ(check_agent(h_).status, Status::kWarn);  // never pushed yet
}

TEST_F(CheckTest, ClockAgainstGpuvmd) {
  EXPECT_EQ(check_clock(h_).status, Status::kOk);  // nothing to compare with
  h_.agent_status = R"({"server":"https://g","reached_at_ms":1,"clock_offset_ms":-1000})";
  Result r = check_clock(h_);
  EXPECT_EQ(r.status, Status::kOk);
  EXPECT_NE(r.seen.find("1 s ahead of gpuvmd's"), std::string::npos) << r.seen;
  h_.agent_status = R"({"server":"https://g","reached_at_ms":1,"clock_offset_ms":30000})";
  r = check_clock(h_);
  EXPECT_EQ(r.status, Status::kWarn);
  EXPECT_NE(r.seen.find("30 s behind"), std::string::npos) << r.seen;
  h_.agent_status = R"({"server":"https://g","reached_at_ms":1,"clock_offset_ms":-3600000})";
  r = check_clock(h_);
  EXPECT_EQ(r.status, Status::kFail);
  EXPECT_NE(r.fix.find("TLS"), std::string::npos);
}

TEST(CheckParsers, KernelVersion) {
  EXPECT_EQ(kernel_version("6.8.0-49-generic"), std::make_pair(6, 8));
  EXPECT_EQ(kernel_version("6.18.44-fc-v657-gpu"), std::make_pair(6, 18));
  EXPECT_EQ(kernel_version("5.15"), std::make_pair(5, 15));
  EXPECT_FALSE(kernel_version("linux"));
  EXPECT_FALSE(kernel_version("6."));
  EXPECT_FALSE(kernel_version(""));
}

TEST(CheckParsers, NvidiaModuleVersion) {
  EXPECT_EQ(nvidia_module_version("NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.159.04  "
                                  "Release Build  (dvs-builder@U16)  Thu Oct  9 2025\nGCC ..."),
            "580.159.04");
  EXPECT_EQ(nvidia_module_version(
                "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.95.05  Release"),
            "580.95.05");
  EXPECT_FALSE(nvidia_module_version("garbage\n580.1.2"));
}

TEST(CheckParsers, UsersAndPermissions) {
  const std::string passwd = "a:x:1000:1000::/h:/bin/sh\nbad line\nb:x:1001:1001::/h:/bin/sh\n";
  const std::string group = "kvm:x:36:b,a\nvideo:x:44:b\n";
  auto a = find_user("a", passwd, group);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->uid, 1000u);
  EXPECT_EQ(a->gids, (std::set<gid_t>{1000, 36}));
  EXPECT_EQ(find_user("+1001", passwd, group)->name, "b");
  EXPECT_FALSE(find_user("c", passwd, group));
  EXPECT_TRUE(can_open_rw(*a, {"1", 0660, 0, 36}));
  EXPECT_FALSE(can_open_rw(*a, {"1", 0640, 0, 36}));
  EXPECT_FALSE(can_open_rw(*a, {"1", 0660, 0, 44}));
  EXPECT_TRUE(can_open_rw(*a, {"1", 0600, 1000, 44}));
  EXPECT_TRUE(can_open_rw(*a, {"1", 0666, 0, 0}));
  // Owner bits win over other bits (path_resolution(7)).
  EXPECT_FALSE(can_open_rw(*a, {"1", 0066, 1000, 0}));
  EXPECT_EQ(qemu_conf_value("#user = \"x\"\nuser = \"oneadmin\" # c\n", "user"), "oneadmin");
  EXPECT_FALSE(qemu_conf_value("#user = \"x\"\n", "user"));
}

TEST(CheckFormat, TableAndJson) {
  std::vector<Result> rs = {{"iommu.enabled", "", Status::kFail, "no groups", "enable it"},
                            {"sriov", "0000:10:00.0", Status::kOk, "32/32 VFs enabled", ""}};
  const std::string t = format_table(rs);
  EXPECT_NE(t.find("fail   iommu.enabled"), std::string::npos) << t;
  EXPECT_NE(t.find("fix: enable it"), std::string::npos) << t;
  EXPECT_NE(t.find("1 ok, 0 warn, 1 fail"), std::string::npos) << t;
  const auto j = to_json(rs);
  EXPECT_EQ(j["status"], "fail");
  EXPECT_EQ(j["results"][1]["gpu"], "0000:10:00.0");
  EXPECT_FALSE(j["results"][1].contains("fix"));
}

}  // namespace
}  // namespace gpuvm::check

namespace gpuvm::check {
namespace {

TEST(CheckRecord, AtomicAndNeverFollowsALink) {
  test::TempDir dir;
  const fs::path state = dir.path() / "state";
  write_record(state, "{\"status\":\"ok\"}\n");
  EXPECT_EQ(test::read_file(record_path(state)), "{\"status\":\"ok\"}\n");
  struct stat st {};
  ASSERT_EQ(::stat(record_path(state).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  // A link planted at check.json is replaced, its target left alone.
  const fs::path victim = dir.path() / "victim";
  test::write_file(victim, "keep");
  fs::remove(record_path(state));
  fs::create_symlink(victim, record_path(state));
  write_record(state, "{}\n");
  EXPECT_EQ(test::read_file(victim), "keep");
  EXPECT_FALSE(fs::is_symlink(record_path(state)));
  EXPECT_EQ(test::read_file(record_path(state)), "{}\n");
  EXPECT_EQ(std::distance(fs::directory_iterator(state), fs::directory_iterator()), 1);
}

}  // namespace
}  // namespace gpuvm::check
