// `gpuvm probe --format table`: one line per device, for people.
#include <fmt/format.h>

#include "pci/output.h"

namespace gpuvm::pci {

std::string format_table(const ProbeResult& result, const Selection& sel) {
  std::string out =
      fmt::format("{:<13} {:<5} {:<9} {:<14} {:<4} {:<5} {:<9} {:<22} {}\n", "ADDRESS", "CLASS",
                  "ID", "DRIVER", "NUMA", "IOMMU", "SRIOV", "VGPU", "NAME");
  for (const Device& d : result.devices) {
    if (!sel.selects(d)) continue;
    std::string sriov = "-";
    if (d.sriov_role == SriovRole::kVf) {
      sriov = "vf";
    } else if (d.sriov_role == SriovRole::kPf) {
      sriov = fmt::format("pf {}/{}", d.sriov_numvfs.value_or(0), d.sriov_totalvfs.value_or(0));
    }
    std::string vgpu = "-";
    if (d.mdev_parent) {
      vgpu = fmt::format("legacy {} types", d.mdev_types.size());
      if (!d.mdevs.empty()) vgpu += fmt::format(" {} mdev", d.mdevs.size());
    } else if (d.nvidia_vgpu_dir) {
      vgpu = d.current_vgpu_type.value_or(0) != 0
                 ? fmt::format("nvidia type {}", *d.current_vgpu_type)
                 : fmt::format("nvidia {} creatable", d.creatable_vgpu_types.size());
    }
    std::string name = d.vendor_name + " " + d.device_name;
    out += fmt::format("{:<13} {:04x}  {:04x}:{:04x} {:<14} {:<4} {:<5} {:<9} {:<22} {}\n",
                       d.bdf.str(), d.class_code >> 8, d.vendor_id, d.device_id,
                       d.driver.value_or("-"), d.numa_node ? std::to_string(*d.numa_node) : "-",
                       d.iommu_group ? std::to_string(*d.iommu_group) : "-", sriov, vgpu, name);
  }
  return out;
}

}  // namespace gpuvm::pci
