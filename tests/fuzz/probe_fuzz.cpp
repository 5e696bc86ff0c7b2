// The probe on mutated sysfs trees (src/pci/probe.cpp and the attribute
// parsers behind it), then the three output writers. The input is split at
// '|' into the contents of a small tree: a PF and one VF of it, with SR-IOV
// links, a legacy mdev type of the VF, its vendor-specific nvidia/ directory and a
// netdev. A field that is not there (a short input) is a file that is not
// there. The tree is rebuilt in one temporary directory for every input.
#include <filesystem>
#include <fstream>

#include "fuzz_support.h"
#include "pci/output.h"
#include "pci/probe.h"

namespace fs = std::filesystem;

namespace {

enum Field {
  kPfName,
  kVendor,
  kDevice,
  kClass,
  kNumaNode,
  kSriovNumvfs,
  kSriovTotalvfs,
  kSubsystemVendor,
  kSubsystemDevice,
  kRevision,
  kLinkSpeed,
  kLinkWidth,
  kDriverLink,
  kIommuGroupLink,
  kVirtfn0Link,
  kVfName,
  kVfVendor,
  kVfDevice,
  kVfClass,
  kVfPhysfnLink,
  kVfCreatableTypes,
  kVfCurrentType,
  kMdevTypeId,
  kMdevName,
  kMdevAvailable,
  kMdevDescription,
  kMdevDeviceApi,
  kNetName,
  kFieldCount
};

// A field used as a file name: something the file system takes, else `fallback`.
std::string name_of(const std::vector<std::string>& f, Field i, const char* fallback) {
  if (static_cast<size_t>(i) >= f.size()) return fallback;
  const std::string& s = f[i];
  if (s.empty() || s == "." || s == ".." || s.size() > 200 ||
      s.find_first_of(std::string("/\0", 2)) != std::string::npos)
    return fallback;
  return s;
}

void attr(const std::vector<std::string>& f, Field i, const fs::path& path) {
  if (static_cast<size_t>(i) >= f.size()) return;
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  std::ofstream(path, std::ios::binary) << f[i];
}

void link(const std::vector<std::string>& f, Field i, const fs::path& path) {
  if (static_cast<size_t>(i) >= f.size() || f[i].empty()) return;
  std::string target = f[i].substr(0, f[i].find('\0'));
  if (target.empty() || target.size() > 1000) return;
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  fs::create_symlink(target, path, ec);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gpuvm;
  const std::vector<std::string> f = fuzz::split(fuzz::as_text(data, size), '|');
  const fs::path root = fuzz::scratch_dir() / "sys";
  std::error_code ec;
  fs::remove_all(root, ec);
  const fs::path devices = root / "bus/pci/devices";
  fs::create_directories(devices);

  const std::string pf_name = name_of(f, kPfName, "0000:41:00.0");
  std::string vf_name = name_of(f, kVfName, "0000:41:00.4");
  if (vf_name == pf_name) vf_name += "x";
  const fs::path pf = devices / pf_name, vf = devices / vf_name;
  fs::create_directories(pf);
  fs::create_directories(vf);
  attr(f, kVendor, pf / "vendor");
  attr(f, kDevice, pf / "device");
  attr(f, kClass, pf / "class");
  attr(f, kNumaNode, pf / "numa_node");
  attr(f, kSriovNumvfs, pf / "sriov_numvfs");
  attr(f, kSriovTotalvfs, pf / "sriov_totalvfs");
  attr(f, kSubsystemVendor, pf / "subsystem_vendor");
  attr(f, kSubsystemDevice, pf / "subsystem_device");
  attr(f, kRevision, pf / "revision");
  attr(f, kLinkSpeed, pf / "current_link_speed");
  attr(f, kLinkWidth, pf / "current_link_width");
  link(f, kDriverLink, pf / "driver");
  link(f, kIommuGroupLink, pf / "iommu_group");
  link(f, kVirtfn0Link, pf / "virtfn0");
  attr(f, kVfVendor, vf / "vendor");
  attr(f, kVfDevice, vf / "device");
  attr(f, kVfClass, vf / "class");
  link(f, kVfPhysfnLink, vf / "physfn");
  attr(f, kVfCreatableTypes, vf / "nvidia/creatable_vgpu_types");
  attr(f, kVfCurrentType, vf / "nvidia/current_vgpu_type");
  if (static_cast<size_t>(kMdevTypeId) < f.size()) {
    const fs::path type = root / "class/mdev_bus" / vf_name / "mdev_supported_types" /
                          name_of(f, kMdevTypeId, "nvidia-474");
    fs::create_directories(type / "devices", ec);
    attr(f, kMdevName, type / "name");
    attr(f, kMdevAvailable, type / "available_instances");
    attr(f, kMdevDescription, type / "description");
    attr(f, kMdevDeviceApi, type / "device_api");
  }
  if (static_cast<size_t>(kNetName) < f.size())
    fs::create_directories(vf / "net" / name_of(f, kNetName, "eth0"), ec);

  fuzz::expect_ok_or_error([&] {
    const SysfsRoot sysfs(root);
    const pci::Selection all;  // the defaults: every device, NVIDIA is 10de
    pci::ProbeOptions full;
    const pci::ProbeResult r = pci::probe(sysfs, full);
    (void)pci::format_json(r, all, root.string());
    (void)pci::format_table(r, all);
    (void)pci::format_one(r, all);
    pci::ProbeOptions one;
    one.detail = pci::Detail::kOne;
    one.selection = &all;
    const pci::ProbeResult r1 = pci::probe(sysfs, one);
    (void)pci::format_one(r1, all);
    for (const pci::Device& d : r1.devices) {
      const pci::OneView v = pci::one_view(d, all);
      (void)pci::one_fields(d, v).ordered();
      (void)pci::one_nvidia_profiles(d.creatable_vgpu_types_text);
    }
  });
  return 0;
}
