// Hosts for the server tests: H100 SXM5 80GB boards with the real MIG
// placement table (reference/nvidia.md §5.2/§5.3) and H100XM vGPU types
// (§7.3), built as the agent would report them.
#pragma once

#include <fmt/format.h>

#include <string>

#include "server/scheduler/model.h"

namespace gpuvm::server::test {

inline MigTable h100_mig_table() {
  MigTable t;
  t.memory_slices = 8;
  t.compute_slices = 7;
  t.profiles = {
      {"1g.10gb", 19, 1, 1, 7, {0, 1, 2, 3, 4, 5, 6}},
      {"1g.10gb+me", 20, 1, 1, 1, {0, 1, 2, 3, 4, 5, 6}},
      {"1g.20gb", 15, 1, 2, 4, {0, 2, 4, 6}},
      {"2g.20gb", 14, 2, 2, 3, {0, 2, 4}},
      {"3g.40gb", 9, 3, 4, 2, {0, 4}},
      {"4g.40gb", 5, 4, 4, 1, {0}},
      {"7g.80gb", 0, 7, 8, 1, {0}},
  };
  return t;
}

struct GpuSpec {
  bool mig = false;
  int vfs = 0;
  int numa = 0;
  bool heterogeneous = false;
};

// Adds GPU number `index` (bus 0x10 + index*0x10) with its VFs to `host`.
inline void add_h100(HostInventory& host, int index, const GpuSpec& spec) {
  int bus = 0x10 + index * 0x10;
  PciDevice pf;
  pf.address = fmt::format("0000:{:02x}:00:0", bus);
  pf.short_address = fmt::format("{:02x}:00.0", bus);
  pf.vendor = "10de";
  pf.device = "2330";
  pf.class_id = "0302";
  pf.vendor_name = "NVIDIA Corporation";
  pf.device_name = "NVIDIA Corporation GH100 [H100 SXM5 80GB]";
  pf.class_name = "3D controller";
  pf.numa_node = std::to_string(spec.numa);
  pf.sriov = "pf";
  host.pci.push_back(pf);
  for (int v = 0; v < spec.vfs; ++v) {
    PciDevice vf = pf;
    int fn = 4 + v;  // VFs from function 4, as on real boards
    vf.address = fmt::format("0000:{:02x}:{:02x}:{}", bus, fn / 8, fn % 8);
    vf.short_address = fmt::format("{:02x}:{:02x}.{}", bus, fn / 8, fn % 8);
    vf.device_name = "NVIDIA vGPU device";
    vf.sriov = "vf";
    vf.mdev_mode = "nvidia";
    vf.physfn = pf.address;
    host.pci.push_back(vf);
  }
  Gpu g;
  g.address = pf.address;
  g.model = "H100-SXM5-80GB";
  g.framebuffer_mb = 81920;
  g.mig_enabled = spec.mig;
  g.mig = h100_mig_table();
  g.heterogeneous = spec.heterogeneous;
  if (spec.mig) {
    g.vgpu_types = {{"H100XM-7-80C", 1030, 1, 81920, "7g.80gb"},
                    {"H100XM-4-40C", 1031, 1, 40960, "4g.40gb"},
                    {"H100XM-3-40C", 1032, 2, 40960, "3g.40gb"},
                    {"H100XM-2-20C", 1033, 3, 20480, "2g.20gb"},
                    {"H100XM-1-20C", 1034, 4, 20480, "1g.20gb"},
                    {"H100XM-1-10C", 1035, 7, 10240, "1g.10gb"},
                    {"H100XM-1-10CME", 1036, 1, 10240, "1g.10gb+me"}};
  } else {
    g.vgpu_types = {{"H100XM-80C", 1040, 1, 81920, ""},
                    {"H100XM-40C", 1041, 2, 40960, ""},
                    {"H100XM-20C", 1042, 4, 20480, ""},
                    {"H100XM-10C", 1043, 8, 10240, ""}};
  }
  host.gpus.push_back(std::move(g));
}

inline HostInventory h100_host(const std::string& name, int gpus, const GpuSpec& spec) {
  HostInventory h;
  h.name = name;
  for (int i = 0; i < gpus; ++i) {
    GpuSpec s = spec;
    if (gpus > 1) s.numa = i < gpus / 2 ? 0 : 1;
    add_h100(h, i, s);
  }
  return h;
}

inline PciRequest mig(const std::string& profile) {
  PciRequest r;
  r.mig_profile = profile;
  return r;
}

inline PciRequest vgpu(const std::string& type) {
  PciRequest r;
  r.vgpu_type = type;
  return r;
}

inline PciRequest by_id(const std::string& vendor, const std::string& device,
                        const std::string& profile = "") {
  PciRequest r;
  r.vendor = vendor;
  r.device = device;
  r.profile = profile;
  return r;
}

}  // namespace gpuvm::server::test
