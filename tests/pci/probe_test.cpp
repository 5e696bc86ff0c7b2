// pci::probe() on the hand-made trees and the real H100 capture: the Device
// records, field by field.
#include "pci/probe.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/error.h"
#include "pci/names.h"
#include "pci/output.h"
#include "pci_test_util.h"

namespace gpuvm::pci {
namespace {

using test_util::tree;

// Debian 12's pci.ids, explicitly: names from that file alone (no udev hwdb).
const std::filesystem::path kIds = "/usr/share/misc/pci.ids";

const Device& find(const ProbeResult& r, const std::string& bdf) {
  auto it = std::find_if(r.devices.begin(), r.devices.end(),
                         [&](const Device& d) { return d.bdf.str() == bdf; });
  if (it == r.devices.end()) throw std::runtime_error("no device " + bdf);
  return *it;
}

ProbeResult probe_tree(const std::filesystem::path& root, Detail detail = Detail::kFull) {
  static PciNames names(kIds);
  ProbeOptions o;
  o.detail = detail;
  o.names = &names;
  return probe(SysfsRoot(root), o);
}

TEST(Probe, RealH100Capture) {
  ProbeResult r = probe_tree(test_util::capture_root());
  EXPECT_TRUE(r.warnings.empty());
  ASSERT_EQ(r.devices.size(), 7u);
  const Device& gpu = find(r, "0000:00:06.0");
  EXPECT_EQ(gpu.vendor_id, 0x10de);
  EXPECT_EQ(gpu.device_id, 0x2330);
  EXPECT_EQ(gpu.class_code, 0x030200u);
  EXPECT_EQ(gpu.subsystem_vendor_id, 0x10de);
  EXPECT_EQ(gpu.subsystem_device_id, 0x16c1);
  EXPECT_EQ(gpu.revision, 0xa1);
  EXPECT_EQ(gpu.vendor_name, "NVIDIA Corporation");
  EXPECT_EQ(gpu.class_name, "3D controller");
  EXPECT_EQ(gpu.subsystem_device_name, "Device");
  EXPECT_EQ(gpu.driver, "nvidia");
  EXPECT_FALSE(gpu.numa_node);  // -1 in a VM
  EXPECT_FALSE(gpu.iommu_group);
  EXPECT_EQ(gpu.link.current_speed, "32.0 GT/s PCIe");
  EXPECT_EQ(gpu.link.current_width, 16);
  EXPECT_EQ(gpu.link.max_width, 16);
  EXPECT_EQ(gpu.sriov_role, SriovRole::kNone);
  // The host bridge has subsystem 0000:0000: lspci shows no SVendor, nor do we.
  const Device& hb = find(r, "0000:00:00.0");
  EXPECT_EQ(hb.subsystem_vendor_id, 0);
  EXPECT_EQ(hb.subsystem_vendor_name, "");
  EXPECT_EQ(hb.device_name, "Device");  // 8086:0d57 is not in pci.ids
  EXPECT_EQ(find(r, "0000:00:04.0").class_name, "Unassigned class");
}

TEST(Probe, A100LegacyMdev) {
  ProbeResult r = probe_tree(tree("a100-legacy"));
  EXPECT_TRUE(r.warnings.empty());
  const Device& pf = find(r, "0000:41:00.0");
  EXPECT_EQ(pf.sriov_role, SriovRole::kPf);
  EXPECT_EQ(pf.sriov_totalvfs, 16);
  EXPECT_EQ(pf.sriov_numvfs, 4);
  ASSERT_EQ(pf.virtfns.size(), 4u);
  EXPECT_EQ(pf.virtfns[3].str(), "0000:41:00.7");
  EXPECT_FALSE(pf.mdev_parent);
  EXPECT_EQ(pf.iommu_group, 11);
  const Device& vf = find(r, "0000:41:00.4");
  EXPECT_EQ(vf.sriov_role, SriovRole::kVf);
  EXPECT_EQ(vf.physfn->str(), "0000:41:00.0");
  EXPECT_TRUE(vf.mdev_parent);
  ASSERT_EQ(vf.mdev_types.size(), 5u);
  EXPECT_EQ(vf.mdev_types[0].id, "nvidia-474");
  EXPECT_EQ(vf.mdev_types[0].name, "NVIDIA A100-1-5C");
  EXPECT_EQ(vf.mdev_types[0].available_instances, 0);
  EXPECT_EQ(vf.mdev_types[0].device_api, "vfio-pci");
  EXPECT_NE(vf.mdev_types[0].description.find("framebuffer=4096M"), std::string::npos);
  ASSERT_EQ(vf.mdevs.size(), 1u);
  EXPECT_EQ(vf.mdevs[0].uuid, "9b5b2e1c-7f3a-4c55-a1f0-3d2b8c6e4a10");
  EXPECT_EQ(vf.mdevs[0].type, "nvidia-476");
  EXPECT_EQ(find(r, "0000:41:00.5").mdev_types[2].available_instances, 1);
  EXPECT_EQ(vf.numa_node, 0);
  EXPECT_EQ(vf.driver, "nvidia");
}

TEST(Probe, H100VendorSpecific) {
  ProbeResult r = probe_tree(tree("h100-vendor"));
  EXPECT_TRUE(r.warnings.empty());
  const Device& vf0 = find(r, "0000:c1:00.4");
  EXPECT_TRUE(vf0.nvidia_vgpu_dir);
  EXPECT_FALSE(vf0.mdev_parent);
  EXPECT_EQ(vf0.current_vgpu_type, 1063);
  ASSERT_EQ(vf0.creatable_vgpu_types.size(), 6u);
  EXPECT_EQ(vf0.creatable_vgpu_types[0].id, "1061");
  EXPECT_EQ(vf0.creatable_vgpu_types[0].name, "NVIDIA H100XM-1-10C");
  EXPECT_EQ(find(r, "0000:c1:00.5").creatable_vgpu_types.size(), 1u);
  EXPECT_TRUE(find(r, "0000:c1:00.7").creatable_vgpu_types.empty());
  EXPECT_EQ(find(r, "0000:c1:00.7").current_vgpu_type, 0);
  const Device& other = find(r, "0001:01:00.0");
  EXPECT_EQ(other.sriov_role, SriovRole::kPf);
  EXPECT_EQ(other.sriov_numvfs, 0);
  EXPECT_TRUE(other.virtfns.empty());
  EXPECT_EQ(lspci_slot(other.bdf), "0001:01:00.0");
  EXPECT_EQ(lspci_slot(vf0.bdf), "c1:00.4");
  // lspci order: domain first.
  EXPECT_EQ(r.devices.back().bdf.str(), "0001:01:00.0");
}

TEST(Probe, HostWithNicsNvmeBridges) {
  ProbeResult r = probe_tree(tree("host-mixed"));
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_EQ(r.devices.size(), 15u);
  const Device& cx6 = find(r, "0000:03:00.0");
  EXPECT_EQ(cx6.net_interfaces,
            (std::vector<std::string>{"enp3s0f0np0", "enp3s0f0r0", "enp3s0f0r1"}));
  EXPECT_EQ(cx6.primary_interface, "enp3s0f0np0");  // phys_port_name p0
  EXPECT_EQ(find(r, "0000:02:00.1").primary_interface, "ens1f1");
  EXPECT_EQ(find(r, "0000:03:00.2").primary_interface, "enp3s0f0v0");
  EXPECT_FALSE(find(r, "0000:03:00.3").primary_interface);
  EXPECT_EQ(find(r, "0000:01:00.0").class_code, 0x010802u);
  EXPECT_EQ(find(r, "0000:01:00.0").device_name, "NVMe SSD Controller PM9A1/PM9A3/980PRO");
  EXPECT_EQ(find(r, "0000:04:01.0").class_name, "Unassigned class");
  EXPECT_EQ(find(r, "0000:04:01.0").device_name, "Device");
  EXPECT_EQ(find(r, "0000:00:01.0").link.current_speed, "16.0 GT/s PCIe");
}

TEST(Probe, OneDetailReadsLessButTheSameTemplate) {
  for (const std::string& name : test_util::tree_names()) {
    ProbeResult full = probe_tree(tree(name), Detail::kFull);
    ProbeResult one = probe_tree(tree(name), Detail::kOne);
    Selection all;
    EXPECT_EQ(format_one(full, all), format_one(one, all)) << name;
  }
}

TEST(Probe, SelectionSkipsDevicesItCannotList) {
  PciNames names(kIds);
  Selection sel;
  sel.filters = parse_filter_list("10de:*");
  ProbeOptions o;
  o.selection = &sel;
  o.names = &names;
  ProbeResult r = probe(SysfsRoot(tree("host-mixed")), o);
  EXPECT_TRUE(r.devices.empty());
  r = probe(SysfsRoot(tree("a100-legacy")), o);
  EXPECT_EQ(r.devices.size(), 5u);
}

TEST(Probe, MissingRootIsInvalidArgument) {
  test::TempDir dir;
  for (auto root : {dir.path() / "nope", dir.path()}) {
    try {
      probe(SysfsRoot(root));
      ADD_FAILURE() << root;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find(root.string()), std::string::npos) << e.what();
    }
  }
}

TEST(OneView, OpenNebulaRules) {
  ProbeResult r = probe_tree(tree("h100-vendor"));
  Selection sel;
  OneView pf = one_view(find(r, "0000:c1:00.0"), sel);
  EXPECT_FALSE(pf.listed);
  OneView vf = one_view(find(r, "0000:c1:00.4"), sel);
  EXPECT_TRUE(vf.listed);
  EXPECT_TRUE(vf.nvidia_vf);
  EXPECT_EQ(vf.device_name, "NVIDIA vGPU device");
  EXPECT_EQ(vf.mdev_mode, "nvidia");
  EXPECT_EQ(vf.uuid, "64ecfd81-9f2f-5f94-b906-89f9a4ce0d88");
  OneView other = one_view(find(r, "0001:01:00.0"), sel);
  EXPECT_TRUE(other.listed);
  EXPECT_EQ(other.device_name, "NVIDIA Corporation GH100[H100 SXM5 80GB]");
  // Without 10de among the NVIDIA vendors the VF is an ordinary device.
  sel.nvidia_vendors = {};
  OneView plain = one_view(find(r, "0000:c1:00.4"), sel);
  EXPECT_FALSE(plain.nvidia_vf);
  EXPECT_EQ(plain.device_name, "GH100[H100 SXM5 80GB]");
  // The PF is still hidden by rule 5 (a PF with VFs enabled).
  EXPECT_FALSE(one_view(find(r, "0000:c1:00.0"), sel).listed);
}

TEST(Names, AsLspciPrintsThem) {
  PciNames names(kIds);
  EXPECT_EQ(names.vendor(0x10de), "NVIDIA Corporation");
  EXPECT_EQ(names.device(0x10de, 0x2330), "GH100[H100 SXM5 80GB]");
  EXPECT_EQ(names.device_class(0x0302), "3D controller");
  EXPECT_EQ(names.device_class(0x03ee), "Display controller");  // unknown subclass
  EXPECT_EQ(names.device_class(0xee00), "Class");               // unknown class
  EXPECT_EQ(names.vendor(0x0002), "Vendor");
  EXPECT_EQ(names.device(0x10de, 0xfffe), "Device");
}

TEST(Names, OwnDatabase) {
  test::TempDir dir;
  auto ids = dir.path() / "pci.ids";
  test::write_file(ids, "# test\n10de  Quote \"Corp\"\n\t2330  Back\\slash GPU\nC 03  Display\n");
  PciNames names(ids);
  EXPECT_EQ(names.vendor(0x10de), "Quote \"Corp\"");
  EXPECT_EQ(names.device(0x10de, 0x2330), "Back\\slash GPU");
  EXPECT_EQ(names.device_class(0x0302), "Display");
  EXPECT_EQ(names.vendor(0x8086), "Vendor");
}

TEST(Names, BadDatabaseIsInvalidArgument) {
  test::TempDir dir;
  auto ids = dir.path() / "pci.ids";
  test::write_file(ids, "10de  NVIDIA\n\t\t\tdeep nesting\n");
  try {
    PciNames names(ids);
    names.vendor(0x10de);  // parsed on first use
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find(ids.string()), std::string::npos) << e.what();
  }
  EXPECT_THROW(PciNames(dir.path() / "missing.ids"), Error);
  // The next database loads fine after a failed one.
  test::write_file(ids, "10de  NVIDIA\n");
  EXPECT_EQ(PciNames(ids).vendor(0x10de), "NVIDIA");
}

}  // namespace
}  // namespace gpuvm::pci

namespace gpuvm::pci {
namespace {

TEST(Names, SubsetGivesTheSameNamesAsTheWholeFile) {
  std::vector<std::filesystem::path> roots = {test_util::capture_root()};
  for (const std::string& n : test_util::tree_names()) roots.push_back(tree(n));
  for (const auto& root : roots) {
    ProbeOptions o;  // no names
    std::vector<Device> subset = probe(SysfsRoot(root), o).devices;
    std::vector<Device> whole = subset;
    PciNames a(kIds);
    a.fill_all(subset);
    EXPECT_GT(a.loaded_lines(), 0u) << root;
    EXPECT_LT(a.loaded_lines(), 1000u) << root;
    PciNames b(kIds);
    for (Device& d : whole) b.fill(d);
    EXPECT_EQ(b.loaded_lines(), 0u);  // the whole file
    EXPECT_EQ(subset, whole) << root;
    // A lookup outside the subset falls back to the whole file.
    EXPECT_EQ(a.vendor(0x15b3), "Mellanox Technologies");
    EXPECT_EQ(a.device_class(0x0c03), "USB controller");
  }
}

TEST(Names, SubsetKeepsLibpcisErrors) {
  test::TempDir dir;
  auto ids = dir.path() / "pci.ids";
  // The bad line is in a block the subset would skip: libpci still sees it.
  test::write_file(ids, "10de  NVIDIA\n\t2330  GH100\nzzzz  Not an id\n");
  PciNames names(ids);
  std::vector<Device> devices(1);
  devices[0].vendor_id = 0x10de;
  devices[0].device_id = 0x2330;
  EXPECT_THROW(names.fill_all(devices), Error);
}

}  // namespace
}  // namespace gpuvm::pci
