// The host spec's `host:` section (what gpuvm check reads besides the PCI
// tree), `iommu_group_with`, the state file round trip and the /proc, /dev
// and /etc files `gpuvm-sim up` writes from it.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "core/error.h"
#include "sim/host_files.h"
#include "sim/spec.h"
#include "sim/sysfs_tree.h"
#include "support/test_support.h"

namespace gpuvm::sim {
namespace {

namespace fs = std::filesystem;

constexpr const char* kGpu = "gpus:\n  - {address: \"0000:41:00.0\", model: H100-SXM5-80GB}\n";

std::string invalid(const std::string& yaml) {
  try {
    parse_spec(yaml, "host.yaml");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kInvalidArgument);
    return e.what();
  }
  ADD_FAILURE() << "accepted: " << yaml;
  return "";
}

TEST(HostEnvSpec, DefaultsWhenAbsent) {
  const HostState s = parse_spec(kGpu, "host.yaml");
  EXPECT_EQ(s.env, HostEnv{});
  EXPECT_TRUE(s.env.iommu);
  EXPECT_FALSE(s.env.virtual_machine);
  const auto mods = host_modules(s);
  EXPECT_NE(std::find(mods.begin(), mods.end(), "vfio_pci"), mods.end());
  EXPECT_EQ(std::find(mods.begin(), mods.end(), "nvidia_vgpu_vfio"), mods.end());
  EXPECT_TRUE(host_services(s).empty());
}

TEST(HostEnvSpec, ParsesEveryKey) {
  const HostState s = parse_spec(std::string(kGpu) + R"(host:
  kernel: 6.1.0-27-amd64
  cmdline: "ro amd_iommu=on"
  cpu_vendor: AuthenticAMD
  virtual: true
  iommu: false
  modules: [nvidia, vfio]
  services: [nvidia-vgpu-mgr]
  vfio_mode: "0666"
  qemu_user: libvirt-qemu
  qemu_groups: []
)",
                                 "host.yaml");
  EXPECT_EQ(s.env.kernel_release, "6.1.0-27-amd64");
  EXPECT_EQ(s.env.cmdline, "ro amd_iommu=on");
  EXPECT_EQ(s.env.cpu_vendor, "AuthenticAMD");
  EXPECT_TRUE(s.env.virtual_machine);
  EXPECT_FALSE(s.env.iommu);
  EXPECT_EQ(s.env.modules, (std::vector<std::string>{"nvidia", "vfio"}));
  EXPECT_EQ(s.env.services, (std::vector<std::string>{"nvidia-vgpu-mgr"}));
  EXPECT_EQ(s.env.vfio_mode, 0666u);
  EXPECT_EQ(s.env.qemu_user, "libvirt-qemu");
  EXPECT_TRUE(s.env.qemu_groups.empty());
  // The state file keeps it.
  EXPECT_EQ(from_json(to_json(s), "state.json").env, s.env);
  // No IOMMU: no group links, an empty kernel/iommu_groups; no vfio-pci driver.
  const SysfsTree t = SysfsTree::build(s);
  EXPECT_EQ(t.find("devices/pci0000:41/0000:41:00.0/iommu_group"), nullptr);
  ASSERT_NE(t.find("kernel/iommu_groups"), nullptr);
  EXPECT_TRUE(t.find("kernel/iommu_groups")->children.empty());
  EXPECT_EQ(t.find("bus/pci/drivers/vfio-pci"), nullptr);
}

TEST(HostEnvSpec, RejectsBadValues) {
  EXPECT_NE(invalid(std::string(kGpu) + "host: {colour: red}\n").find("unknown key \"colour\""),
            std::string::npos);
  EXPECT_NE(invalid(std::string(kGpu) + "host: {vfio_mode: \"0999\"}\n").find("octal"),
            std::string::npos);
  EXPECT_NE(invalid(std::string(kGpu) + "host: {modules: [\"a b\"]}\n").find("single words"),
            std::string::npos);
  EXPECT_NE(invalid(std::string(kGpu) + "host: {modules: nvidia}\n").find("list"),
            std::string::npos);
  EXPECT_NE(invalid(std::string(kGpu) + "host: {virtual: maybe}\n").find("true or false"),
            std::string::npos);
  EXPECT_NE(invalid(std::string(kGpu) + "host: {qemu_user: \"a:b\"}\n").find("user name"),
            std::string::npos);
  EXPECT_NE(invalid(std::string(kGpu) + "host: {cmdline: \"a\\nb\"}\n").find("one line"),
            std::string::npos);
}

TEST(HostEnvSpec, IommuGroupWith) {
  const HostState s = parse_spec(std::string(kGpu) + R"(devices:
  - {address: "0000:41:00.1", vendor: 0x10de, device: 0x22a3, class: 0x040300, iommu_group_with: "0000:41:00.0"}
  - {address: "0000:42:00.0", type: nic}
  - {address: "0000:42:00.1", type: nic, iommu_group_with: "0000:42:00.0"}
)",
                                 "host.yaml");
  EXPECT_EQ(s.devices[0].iommu_group, s.gpus[0].iommu_group);
  EXPECT_NE(s.devices[1].iommu_group, s.gpus[0].iommu_group);
  EXPECT_EQ(s.devices[2].iommu_group, s.devices[1].iommu_group);
  const SysfsTree t = SysfsTree::build(s);
  const auto* members =
      t.find("kernel/iommu_groups/" + std::to_string(s.gpus[0].iommu_group) + "/devices");
  ASSERT_NE(members, nullptr);
  EXPECT_EQ(members->children, (std::set<std::string>{"0000:41:00.0", "0000:41:00.1"}));
  // Only devices listed before; an NVIDIA display-class device is still a GPU.
  EXPECT_NE(invalid(std::string(kGpu) +
                    "devices:\n  - {address: \"0000:42:00.0\", type: nic, iommu_group_with: "
                    "\"0000:43:00.0\"}\n")
                .find("not a GPU or device listed before it"),
            std::string::npos);
  EXPECT_NE(invalid(std::string(kGpu) +
                    "devices:\n  - {address: \"0000:42:00.0\", vendor: 0x10de, device: 0x2330, "
                    "class: 0x030200}\n")
                .find("go under \"gpus\""),
            std::string::npos);
}

TEST(HostEnvFiles, WritesProcDevEtc) {
  test::TempDir dir;
  HostState s = parse_spec(std::string(kGpu) +
                               "  - {address: \"0000:51:00.0\", model: "
                               "A100-SXM4-40GB, vgpu_mode: legacy}\n" +
                               "host: {vfio_mode: \"0666\", virtual: true}\n",
                           "host.yaml");
  const HostFileRoots r = write_host_files(s, dir.path());
  EXPECT_EQ(r.proc, dir.path() / "proc");
  EXPECT_EQ(test::read_file(r.proc / "cmdline"), HostEnv{}.cmdline + "\n");
  EXPECT_EQ(test::read_file(r.proc / "sys/kernel/osrelease"), "6.8.0-49-generic\n");
  const std::string mods = test::read_file(r.proc / "modules");
  EXPECT_NE(mods.find("nvidia_vgpu_vfio 16384 0 - Live 0x0000000000000000\n"), std::string::npos);
  EXPECT_NE(test::read_file(r.proc / "driver/nvidia/version").find("Kernel Module  580.159.04  "),
            std::string::npos);
  EXPECT_NE(test::read_file(r.proc / "cpuinfo").find(" hypervisor"), std::string::npos);
  EXPECT_EQ(test::read_file(r.proc / "1000/comm"), "nvidia-vgpud\n");
  EXPECT_EQ(test::read_file(r.proc / "1001/comm"), "nvidia-vgpu-mgr\n");
  struct stat st {};
  ASSERT_EQ(::stat((r.dev / "vfio/vfio").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0666u);
  ASSERT_EQ(::stat((r.dev / "vfio" / std::to_string(s.gpus[1].iommu_group)).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0666u);
  EXPECT_EQ(st.st_gid, ::getegid());
  EXPECT_NE(test::read_file(r.etc / "libvirt/qemu.conf").find("user = \"oneadmin\""),
            std::string::npos);
  EXPECT_NE(
      test::read_file(r.etc / "group").find("kvm:x:" + std::to_string(::getegid()) + ":oneadmin\n"),
      std::string::npos);
  // A second `up` replaces them.
  s.env.cmdline = "ro";
  write_host_files(s, dir.path());
  EXPECT_EQ(test::read_file(r.proc / "cmdline"), "ro\n");
}

}  // namespace
}  // namespace gpuvm::sim
