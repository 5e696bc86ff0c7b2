#include "sim/sysfs_tree.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>

#include "sim/host_ops.h"
#include "sim/models.h"

namespace gpuvm::sim {

namespace {

// Mount-relative directory of a host bridge and of a function below it. The
// simulated topology puts every function directly under a root bus named
// after its (PF's) bus, as on the capture (devices/pci0000:00/0000:00:06.0).
std::string root_bus_dir(const Bdf& pf) {
  return fmt::format("devices/pci{:04x}:{:02x}", pf.domain, pf.bus);
}
std::string function_dir(const Bdf& pf, const Bdf& fn) {
  return root_bus_dir(pf) + "/" + fn.str();
}

// PCIe Link Capabilities/Status speed codes (PCIe spec 7.5.3.6).
uint32_t link_speed_code(std::string_view text) {
  if (text.starts_with("2.5")) return 1;
  if (text.starts_with("5.0")) return 2;
  if (text.starts_with("8.0")) return 3;
  if (text.starts_with("16.0")) return 4;
  if (text.starts_with("32.0")) return 5;
  return 0;
}

// Identity of one PCI function, whatever kind of device it is.
struct Function {
  Bdf bdf;
  Bdf pf;  // the function itself, or the PF of a VF (chooses the parent dir)
  uint16_t vendor = 0, device = 0, subsystem_vendor = 0, subsystem_device = 0;
  uint32_t class_code = 0;
  uint8_t revision = 0;
  int numa_node = -1;
  std::string driver;
  std::string driver_override;
  uint32_t iommu_group = 0;
  std::string link_speed;  // "" = not a link we know: "Unknown"
  uint32_t link_width = 0;
  std::string config;
  bool is_vf = false;
  bool iommu = true;  // HostEnv::iommu: no group when the IOMMU is off
};

class ConfigSpace {
 public:
  explicit ConfigSpace(size_t size) : bytes_(size, '\0') {}
  void u8(size_t off, uint32_t v) { bytes_[off] = static_cast<char>(v & 0xff); }
  void u16(size_t off, uint32_t v) {
    u8(off, v);
    u8(off + 1, v >> 8);
  }
  void u32(size_t off, uint32_t v) {
    u16(off, v);
    u16(off + 2, v >> 16);
  }
  std::string take() { return std::move(bytes_); }

 private:
  std::string bytes_;
};

// A type-0 (or type-1 for bridges) header with PM, MSI, PCI Express and
// MSI-X capabilities, laid out as on the captured H100 (0x40, 0x48, 0x60, 0xb0).
ConfigSpace base_config(uint16_t vendor, uint16_t device, uint32_t class_code, uint8_t rev,
                        uint16_t sub_vendor, uint16_t sub_device, uint32_t speed_code,
                        uint32_t width, const Bdf& bdf) {
  ConfigSpace c(4096);
  c.u16(0x00, vendor);
  c.u16(0x02, device);
  c.u16(0x04, 0x0406);  // command: memory space, bus master, INTx disabled
  c.u16(0x06, 0x0010);  // status: capabilities list
  c.u8(0x08, rev);
  c.u8(0x09, class_code);
  c.u8(0x0a, class_code >> 8);
  c.u8(0x0b, class_code >> 16);
  const bool bridge = (class_code >> 8) == 0x0604;
  c.u8(0x0e, bridge ? 0x01 : 0x00);
  if (bridge) {
    c.u8(0x18, bdf.bus);
    c.u8(0x19, bdf.bus + 1);
    c.u8(0x1a, bdf.bus + 1);
  } else {
    c.u32(0x10, 0x0000000c | (uint32_t{bdf.bus} << 24));  // BAR0 64-bit prefetchable
    c.u16(0x2c, sub_vendor);
    c.u16(0x2e, sub_device);
  }
  c.u8(0x34, 0x40);
  c.u8(0x3c, 0xff);
  c.u8(0x3d, 0x01);
  c.u16(0x40, 0x4801);  // PM, next 0x48
  c.u16(0x42, 0x0003);
  c.u16(0x48, 0x6005);  // MSI, next 0x60
  c.u16(0x60, 0xb010);  // PCI Express, next 0xb0
  c.u16(0x62, bridge ? 0x0062 : 0x0002);
  // Link Capabilities: ASPM L1, exit latencies, clock PM as on the capture.
  c.u32(0x6c, 0x00457800 | (width << 4) | speed_code);
  c.u16(0x72, speed_code | (width << 4) | 0x1000);  // Link Status (slot clock)
  c.u16(0xb0, 0x0011);                              // MSI-X, end of list
  return c;
}

std::string other_config(const PciDeviceState& d) {
  return base_config(d.vendor, d.device, d.class_code, d.revision, d.subsystem_vendor,
                     d.subsystem_device, 4, 16, d.bdf)
      .take();
}

std::string local_cpulist(int numa_node) {
  // The simulated host has two NUMA nodes of 16 CPUs each.
  if (numa_node == 0) return "0-15\n";
  if (numa_node == 1) return "16-31\n";
  return "0-31\n";
}

}  // namespace

std::string gpu_config_space(const GpuState& gpu, std::optional<uint32_t> vf) {
  if (gpu.fallen_off_bus) return std::string(4096, '\xff');  // reads of a lost device: all ones
  const GpuModel& m = model(gpu.model);
  const uint32_t speed = vf ? 0 : link_speed_code(m.link_speed);
  const uint32_t width = vf ? 0 : m.link_width;
  // A VF's Vendor/Device ID registers read 0xffff (SR-IOV spec 3.4.1.1, 3.4.1.2);
  // the kernel's vendor/device attributes come from the PF's SR-IOV capability.
  ConfigSpace c = base_config(vf ? 0xffff : 0x10de, vf ? 0xffff : m.device_id, m.class_code,
                              m.revision, m.subsystem_vendor, m.subsystem_device, speed, width,
                              vf ? vf_bdf(gpu.bdf, *vf) : gpu.bdf);
  if (!vf && gpu.sriov_totalvfs > 0) {
    // SR-IOV Extended Capability (PCIe spec 9.3.3) at 0x100.
    c.u32(0x100, 0x00010010);
    c.u16(0x108, gpu.sriov_numvfs() ? 0x0009 : 0x0000);  // VF Enable, VF MSE
    c.u16(0x10c, gpu.sriov_totalvfs);                    // InitialVFs
    c.u16(0x10e, gpu.sriov_totalvfs);                    // TotalVFs
    c.u16(0x110, gpu.sriov_numvfs());                    // NumVFs
    c.u16(0x114, 4);                                     // First VF Offset
    c.u16(0x116, 1);                                     // VF Stride
    c.u16(0x11a, m.device_id);                           // VF Device ID
    c.u32(0x11c, 0x00000553);                            // Supported Page Sizes
    c.u32(0x120, 0x00000001);                            // System Page Size
  }
  return c.take();
}

class TreeBuilder {
 public:
  explicit TreeBuilder(SysfsTree& tree) : tree_(tree) { tree_.nodes_[""] = SysfsNode{}; }

  SysfsNode& dir(const std::string& path) {
    auto it = tree_.nodes_.find(path);
    if (it != tree_.nodes_.end()) return it->second;
    attach(path);
    return tree_.nodes_[path];
  }
  SysfsNode& file(const std::string& path, std::string content, mode_t perm = 0444,
                  WriteOp write = WriteOp::kNone, std::string arg = "") {
    attach(path);
    SysfsNode& n = tree_.nodes_[path];
    n.kind = SysfsNode::Kind::kFile;
    n.perm = perm;
    n.content = std::move(content);
    n.write = write;
    n.arg = std::move(arg);
    return n;
  }
  // Write-only attribute (0200): reading it fails as in sysfs (no show()).
  void wo(const std::string& path, WriteOp write, std::string arg = "") {
    file(path, "", 0200, write, std::move(arg));
  }
  void link(const std::string& path, std::string target) {
    attach(path);
    SysfsNode& n = tree_.nodes_[path];
    n.kind = SysfsNode::Kind::kLink;
    n.perm = 0777;
    n.content = std::move(target);
    n.size = n.content.size();
  }

 private:
  void attach(const std::string& path) {
    auto slash = path.rfind('/');
    const std::string parent = slash == std::string::npos ? "" : path.substr(0, slash);
    const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
    dir(parent).children.insert(name);
  }
  SysfsTree& tree_;
};

namespace {

// One PCI function's directory: the attributes every PCI device has
// (drivers/pci/pci-sysfs.c), its driver/iommu_group/subsystem links, and the
// matching entries under bus/pci, kernel/iommu_groups.
void add_function(TreeBuilder& b, const Function& f) {
  const std::string d = function_dir(f.pf, f.bdf);
  const std::string up3 = "../../../";
  b.dir(d);
  // pci-sysfs.c vendor_show/device_show...: "0x%04x\n"
  b.file(d + "/vendor", fmt::format("0x{:04x}\n", f.vendor));
  b.file(d + "/device", fmt::format("0x{:04x}\n", f.device));
  b.file(d + "/subsystem_vendor", fmt::format("0x{:04x}\n", f.subsystem_vendor));
  b.file(d + "/subsystem_device", fmt::format("0x{:04x}\n", f.subsystem_device));
  // pci-sysfs.c class_show: "0x%06x\n"; revision_show: "0x%02x\n"
  b.file(d + "/class", fmt::format("0x{:06x}\n", f.class_code));
  b.file(d + "/revision", fmt::format("0x{:02x}\n", f.revision));
  // pci-sysfs.c numa_node_show: "%d\n" (-1 without NUMA information); 0644,
  // the store (an override that taints the kernel) is not simulated
  b.file(d + "/numa_node", fmt::format("{}\n", f.numa_node), 0644, WriteOp::kUnsupported);
  // pci-sysfs.c local_cpulist_show: cpulist of the device's node
  b.file(d + "/local_cpulist", local_cpulist(f.numa_node));
  // pci-sysfs.c config: binary config space (root reads all 4096 bytes)
  SysfsNode& cfg = b.file(d + "/config", f.config, 0644, WriteOp::kUnsupported);
  cfg.size = f.config.size();
  // pci-sysfs.c modalias_show
  const std::string modalias =
      fmt::format("pci:v{:08X}d{:08X}sv{:08X}sd{:08X}bc{:02X}sc{:02X}i{:02X}", f.vendor, f.device,
                  f.subsystem_vendor, f.subsystem_device, f.class_code >> 16,
                  (f.class_code >> 8) & 0xff, f.class_code & 0xff);
  b.file(d + "/modalias", modalias + "\n");
  // pci-driver.c pci_uevent + driver core: DRIVER= only while bound
  std::string uevent;
  if (!f.driver.empty()) uevent += "DRIVER=" + f.driver + "\n";
  uevent += fmt::format("PCI_CLASS={:X}\nPCI_ID={:04X}:{:04X}\nPCI_SUBSYS_ID={:04X}:{:04X}\n",
                        f.class_code, f.vendor, f.device, f.subsystem_vendor, f.subsystem_device);
  uevent += "PCI_SLOT_NAME=" + f.bdf.str() + "\nMODALIAS=" + modalias + "\n";
  b.file(d + "/uevent", uevent, 0644, WriteOp::kUnsupported);  // uevent_store: synthetic events
  // pci-sysfs.c driver_override_show: "%s\n", "(null)" when unset
  b.file(d + "/driver_override", (f.driver_override.empty() ? "(null)" : f.driver_override) + "\n",
         0644, WriteOp::kDriverOverride, f.bdf.str());
  // pci-sysfs.c irq_show "%u\n"; enable/d3cold_allowed (writes not simulated)
  b.file(d + "/irq", fmt::format("{}\n", 32 + (f.iommu_group % 200)));
  b.file(d + "/enable", f.driver.empty() ? "0\n" : "1\n", 0644, WriteOp::kUnsupported);
  b.file(d + "/d3cold_allowed", "1\n", 0644, WriteOp::kUnsupported);
  // pci-sysfs.c resource_show: start end flags per BAR, ROM and SR-IOV BARs
  std::string resource;
  for (int i = 0; i < 13; ++i) {
    if (i == 0 && f.vendor != 0xffff) {
      const uint64_t base = 0x0000100000000000ull | (uint64_t{f.bdf.bus} << 32) |
                            (uint64_t{f.bdf.device} << 27) | (uint64_t{f.bdf.function} << 24);
      resource += fmt::format("0x{:016x} 0x{:016x} 0x{:016x}\n", base, base + 0xffffff, 0x14220c);
    } else {
      resource += fmt::format("0x{:016x} 0x{:016x} 0x{:016x}\n", 0, 0, 0);
    }
  }
  b.file(d + "/resource", resource);
  // pci-sysfs.c current/max_link_speed, _width (PCIe devices)
  const std::string speed = f.link_speed.empty() ? "Unknown" : f.link_speed;
  b.file(d + "/current_link_speed", speed + "\n");
  b.file(d + "/current_link_width", fmt::format("{}\n", f.link_width));
  b.file(d + "/max_link_speed", speed + "\n");
  b.file(d + "/max_link_width", fmt::format("{}\n", f.link_width));
  // driver core: subsystem -> bus, driver -> bound driver
  b.link(d + "/subsystem", up3 + "bus/pci");
  if (!f.driver.empty()) {
    b.link(d + "/driver", up3 + "bus/pci/drivers/" + f.driver);
    b.link("bus/pci/drivers/" + f.driver + "/" + f.bdf.str(), "../../../../" + d);
  }
  // drivers/iommu/iommu.c: iommu_group link and kernel/iommu_groups/<n>/devices
  // (only with an IOMMU: without one, kernel/iommu_groups stays empty)
  if (f.iommu) {
    const std::string group = fmt::format("kernel/iommu_groups/{}", f.iommu_group);
    b.link(d + "/iommu_group", up3 + group);
    b.link(group + "/devices/" + f.bdf.str(), "../../../../" + d);
    b.file(group + "/type", "DMA\n");  // iommu.c iommu_group_show_type
    b.file(group + "/reserved_regions", "0x00000000fee00000 0x00000000feefffff msi\n");
  }
  // bus/pci/devices/<BDF> (driver core, bus.c)
  b.link("bus/pci/devices/" + f.bdf.str(), up3 + d);
  b.file(root_bus_dir(f.pf) + "/uevent", "");
}

// SR-IOV attributes of a PF (drivers/pci/iov.c).
void add_sriov(TreeBuilder& b, const std::string& d, uint32_t total, uint32_t num,
               uint16_t vf_device, bool numvfs_simulated, const std::string& bdf) {
  b.file(d + "/sriov_totalvfs", fmt::format("{}\n", total));   // iov.c sriov_totalvfs_show "%u\n"
  b.file(d + "/sriov_numvfs", fmt::format("{}\n", num), 0664,  // iov.c sriov_numvfs_show/store
         numvfs_simulated ? WriteOp::kSriovNumvfs : WriteOp::kUnsupported, bdf);
  b.file(d + "/sriov_offset", "4\n");                                // iov.c sriov_offset_show
  b.file(d + "/sriov_stride", "1\n");                                // iov.c sriov_stride_show
  b.file(d + "/sriov_vf_device", fmt::format("{:x}\n", vf_device));  // iov.c "%x\n"
  b.file(d + "/sriov_drivers_autoprobe", "1\n", 0644, WriteOp::kUnsupported);
}

// mdev parent (drivers/vfio/mdev/mdev_sysfs.c): mdev_supported_types/<type>/...
void add_mdev_parent(TreeBuilder& b, const GpuState& gpu, const Bdf& parent, const std::string& d) {
  b.link("class/mdev_bus/" + parent.str(), "../../" + d);
  const std::string types = d + "/mdev_supported_types";
  b.dir(types);
  for (const VgpuTypeInfo* t : mdev_parent_types(gpu)) {
    const std::string td = fmt::format("{}/nvidia-{}", types, t->id);
    b.file(td + "/name", std::string(t->name) + "\n");  // mdev type "name" (NVIDIA driver)
    // NVIDIA's description attribute: display and framebuffer parameters.
    const bool display = t->series == 'Q' || t->series == 'B';
    b.file(td + "/description",
           fmt::format("num_heads={}, frl_config={}, framebuffer={}M, max_resolution={}, "
                       "max_instance={}\n",
                       display ? 4 : 1, t->series == 'B' ? 45 : 60, t->framebuffer_mib,
                       t->series == 'Q' ? "7680x4320"
                       : display        ? "5120x2880"
                                        : "4096x2160",
                       t->max_instances));
    b.file(td + "/available_instances",  // mdev_sysfs.c available_instances_show "%u\n"
           fmt::format("{}\n", mdev_available_instances(gpu, parent, *t)));
    b.file(td + "/device_api", "vfio-pci\n");  // VFIO_DEVICE_API_PCI_STRING
    b.wo(td + "/create", WriteOp::kMdevCreate, fmt::format("{}/{}", parent.str(), t->id));
    b.dir(td + "/devices");
  }
  for (const auto& md : gpu.mdevs) {
    if (md.parent != parent) continue;
    const std::string md_dir = d + "/" + md.uuid;
    const std::string up4 = "../../../../";
    b.link(fmt::format("{}/nvidia-{}/devices/{}", types, md.type_id, md.uuid),
           "../../../" + md.uuid);
    b.link(md_dir + "/mdev_type", fmt::format("../mdev_supported_types/nvidia-{}", md.type_id));
    b.link(md_dir + "/driver", up4 + "bus/mdev/drivers/vfio_mdev");
    b.link(md_dir + "/subsystem", up4 + "bus/mdev");
    b.link(md_dir + "/iommu_group", up4 + fmt::format("kernel/iommu_groups/{}", md.iommu_group));
    b.wo(md_dir + "/remove", WriteOp::kMdevRemove, md.uuid);  // mdev_sysfs.c remove_store
    b.file(md_dir + "/uevent",
           "DRIVER=vfio_mdev\nMDEV_TYPE=nvidia-" + std::to_string(md.type_id) + "\n");
    b.link("bus/mdev/devices/" + md.uuid, "../../../" + md_dir);
    b.link("bus/mdev/drivers/vfio_mdev/" + md.uuid, up4 + md_dir);
    const std::string group = fmt::format("kernel/iommu_groups/{}", md.iommu_group);
    b.link(group + "/devices/" + md.uuid, up4 + md_dir);
    b.file(group + "/type", "DMA\n");
    b.file(group + "/reserved_regions", "");
  }
}

// Vendor-specific VFIO per-VF files (reference nvidia.md §7.2), created by
// nvidia.ko when it binds the VF.
void add_vf_nvidia_dir(TreeBuilder& b, const GpuState& gpu, uint32_t vf, const std::string& d,
                       uint32_t vfio_index) {
  const VfState& v = gpu.vfs[vf];
  const std::string bdf = vf_bdf(gpu.bdf, vf).str();
  const std::string n = d + "/nvidia";
  // creatable_vgpu_types: header, then "%-5d : %s" per type (reference §2.4)
  std::string creatable = "ID    : vGPU Name\n";
  for (const VgpuTypeInfo* t : vf_creatable_types(gpu, vf)) {
    creatable += fmt::format("{:<5} : {}\n", t->id, t->name);
  }
  b.file(n + "/creatable_vgpu_types", creatable);
  // current_vgpu_type: "%d\n", 0 = none; write id to create, 0 to destroy
  b.file(n + "/current_vgpu_type", fmt::format("{}\n", v.vgpu_type), 0644,
         WriteOp::kCurrentVgpuType, bdf);
  // vgpu_params: "key=value,..." applied at the next VM start
  b.file(n + "/vgpu_params", v.vgpu_params.empty() ? "" : v.vgpu_params + "\n", 0644,
         WriteOp::kVgpuParams, bdf);
  // gpu_instance_id / placement_id: filled by the driver; ENXIO until a vGPU exists
  SysfsNode& gi = b.file(n + "/gpu_instance_id",
                         v.gpu_instance_id ? fmt::format("{}\n", *v.gpu_instance_id) : "");
  if (!v.gpu_instance_id) gi.read_errno = ENXIO;
  SysfsNode& pl =
      b.file(n + "/placement_id", v.placement_id ? fmt::format("{}\n", *v.placement_id) : "");
  if (!v.placement_id) pl.read_errno = ENXIO;
  b.file(n + "/warm_update", v.warm_update ? "1\n" : "0\n", 0644, WriteOp::kWarmUpdate, bdf);
  // nvidia.ko is the VFIO provider: the VF's vfio cdev (vfio_pci_core)
  b.file(fmt::format("{}/vfio-dev/vfio{}/dev", d, vfio_index), fmt::format("511:{}\n", vfio_index));
}

void add_gpu(TreeBuilder& b, const GpuState& gpu, uint32_t& vfio_index, bool iommu) {
  const GpuModel& m = model(gpu.model);
  Function pf;
  pf.bdf = pf.pf = gpu.bdf;
  pf.vendor = 0x10de;
  pf.device = m.device_id;
  pf.subsystem_vendor = m.subsystem_vendor;
  pf.subsystem_device = m.subsystem_device;
  pf.class_code = m.class_code;
  pf.revision = m.revision;
  pf.numa_node = gpu.numa_node;
  pf.driver = gpu.driver;
  pf.driver_override = gpu.driver_override;
  pf.iommu_group = gpu.iommu_group;
  pf.link_speed = std::string(m.link_speed);
  pf.link_width = m.link_width;
  pf.config = gpu_config_space(gpu, std::nullopt);
  pf.iommu = iommu;
  add_function(b, pf);
  const std::string d = function_dir(gpu.bdf, gpu.bdf);
  // pci-sysfs.c reset_method_show/store (0644; choosing methods is not simulated)
  b.file(d + "/reset_method", "flr\n", 0644, WriteOp::kUnsupported);
  b.wo(d + "/reset", WriteOp::kReset, gpu.bdf.str());  // pci-sysfs.c reset_store
  if (gpu.sriov_totalvfs > 0) {
    add_sriov(b, d, gpu.sriov_totalvfs, gpu.sriov_numvfs(), m.device_id, true, gpu.bdf.str());
  }
  if (is_mdev_parent(gpu, std::nullopt)) add_mdev_parent(b, gpu, gpu.bdf, d);

  for (uint32_t i = 0; i < gpu.sriov_numvfs(); ++i) {
    const VfState& v = gpu.vfs[i];
    Function vf = pf;
    vf.bdf = vf_bdf(gpu.bdf, i);
    vf.driver = v.driver;
    vf.driver_override = v.driver_override;
    vf.iommu_group = v.iommu_group;
    vf.link_speed.clear();
    vf.link_width = 0;
    vf.config = gpu_config_space(gpu, i);
    vf.is_vf = true;
    add_function(b, vf);
    const std::string vd = function_dir(gpu.bdf, vf.bdf);
    b.link(vd + "/physfn", "../" + gpu.bdf.str());                   // iov.c: VF -> PF
    b.link(fmt::format("{}/virtfn{}", d, i), "../" + vf.bdf.str());  // iov.c: PF -> VF n
    if (v.driver == "nvidia" && gpu.vgpu_mode == VgpuMode::kVendorSpecific) {
      add_vf_nvidia_dir(b, gpu, i, vd, vfio_index++);
    }
    if (is_mdev_parent(gpu, i)) add_mdev_parent(b, gpu, vf.bdf, vd);
  }
}

void add_driver_dir(TreeBuilder& b, const std::string& name) {
  const std::string d = "bus/pci/drivers/" + name;
  b.dir(d);
  // drivers/base/bus.c bind_store/unbind_store; pci-driver.c new_id/remove_id
  b.wo(d + "/bind", WriteOp::kDriverBind, name);
  b.wo(d + "/unbind", WriteOp::kDriverUnbind, name);
  b.wo(d + "/new_id", WriteOp::kDriverNewId, name);
  b.wo(d + "/remove_id", WriteOp::kDriverRemoveId, name);
  b.wo(d + "/uevent", WriteOp::kUnsupported, name);
}

}  // namespace

SysfsTree SysfsTree::build(const HostState& state) {
  SysfsTree tree;
  TreeBuilder b(tree);
  b.dir("devices");
  b.dir("bus/pci/devices");
  b.dir("kernel/iommu_groups");
  b.wo("bus/pci/rescan", WriteOp::kBusRescan);  // pci-sysfs.c rescan_store
  b.file("bus/pci/drivers_autoprobe", "1\n", 0644, WriteOp::kUnsupported);
  // Drivers a GPU host has loaded, and those of the other devices.
  for (const char* drv : {"nvidia", "vfio-pci", "pci-pf-stub"}) {
    // vfio-pci registers its driver only once loaded (HostEnv::modules).
    const auto& mods = state.env.modules;
    if (std::string_view(drv) == "vfio-pci" && mods &&
        std::find(mods->begin(), mods->end(), "vfio_pci") == mods->end())
      continue;
    add_driver_dir(b, drv);
  }
  for (const auto& d : state.devices) {
    if (!d.driver.empty()) add_driver_dir(b, d.driver);
  }
  bool mdev = false;
  uint32_t vfio_index = 0;
  for (const auto& g : state.gpus) {
    add_gpu(b, g, vfio_index, state.env.iommu);
    mdev = mdev || g.vgpu_mode == VgpuMode::kLegacy;
  }
  if (mdev) {
    // The mdev bus exists once a legacy vGPU manager is loaded.
    b.dir("class/mdev_bus");
    b.dir("bus/mdev/devices");
    b.dir("bus/mdev/drivers/vfio_mdev");
  }
  for (const auto& d : state.devices) {
    Function f;
    f.bdf = f.pf = d.bdf;
    f.vendor = d.vendor;
    f.device = d.device;
    f.subsystem_vendor = d.subsystem_vendor;
    f.subsystem_device = d.subsystem_device;
    f.class_code = d.class_code;
    f.revision = d.revision;
    f.numa_node = d.numa_node;
    f.driver = d.driver;
    f.driver_override = d.driver_override;
    f.iommu_group = d.iommu_group;
    f.link_speed = "16.0 GT/s PCIe";
    f.link_width = 16;
    f.config = other_config(d);
    f.iommu = state.env.iommu;
    add_function(b, f);
    if (d.sriov_totalvfs > 0) {
      // NIC VFs are not simulated: sriov_numvfs writes fail with EOPNOTSUPP.
      add_sriov(b, function_dir(d.bdf, d.bdf), d.sriov_totalvfs, 0, d.device, false, d.bdf.str());
    }
  }
  return tree;
}

const SysfsNode* SysfsTree::find(std::string_view path) const {
  auto it = nodes_.find(path);
  return it == nodes_.end() ? nullptr : &it->second;
}

}  // namespace gpuvm::sim
