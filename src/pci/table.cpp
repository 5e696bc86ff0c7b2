// `gpuvm probe --format table`: one line per device, for people.
#include <fmt/format.h>

#include "pci/output.h"

namespace gpuvm::pci {
namespace {

std::string sriov_cell(const Device& d) {
  switch (d.sriov_role) {
    case SriovRole::kVf:
      return "vf";
    case SriovRole::kPf:
      return fmt::format("pf {}/{}", d.sriov_numvfs.value_or(0), d.sriov_totalvfs.value_or(0));
    case SriovRole::kNone:
      break;
  }
  return "-";
}

std::string vgpu_cell(const Device& d) {
  if (d.mdev_parent) {
    return fmt::format("legacy {} types{}", d.mdev_types.size(),
                       d.mdevs.empty() ? "" : fmt::format(" {} mdev", d.mdevs.size()));
  }
  if (d.nvidia_vgpu_dir) {
    int current = d.current_vgpu_type.value_or(0);
    return current != 0 ? fmt::format("nvidia type {}", current)
                        : fmt::format("nvidia {} creatable", d.creatable_vgpu_types.size());
  }
  return "-";
}

std::string number_or_dash(const std::optional<int>& v) {
  return v ? std::to_string(*v) : "-";
}

}  // namespace

std::string format_table(const ProbeResult& result, const Selection& sel) {
  std::string out =
      fmt::format("{:<13} {:<5} {:<9} {:<14} {:<4} {:<5} {:<9} {:<22} {}\n", "ADDRESS", "CLASS",
                  "ID", "DRIVER", "NUMA", "IOMMU", "SRIOV", "VGPU", "NAME");
  for (const Device& d : result.devices) {
    if (!sel.selects(d)) continue;
    out += fmt::format("{:<13} {:04x}  {:04x}:{:04x} {:<14} {:<4} {:<5} {:<9} {:<22} {} {}\n",
                       d.bdf.str(), d.class_code >> 8, d.vendor_id, d.device_id,
                       d.driver.value_or("-"), number_or_dash(d.numa_node),
                       number_or_dash(d.iommu_group), sriov_cell(d), vgpu_cell(d), d.vendor_name,
                       d.device_name);
  }
  return out;
}

}  // namespace gpuvm::pci
