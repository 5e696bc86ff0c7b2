#include "sim/models.h"

#include <string>

#include "core/error.h"

namespace gpuvm::sim {

namespace {

// Time-sliced type: id, name, framebuffer, max per GPU (equal size), max mixed.
VgpuTypeInfo ts(uint32_t id, std::string_view name, uint32_t fb_mib, uint32_t max,
                uint32_t max_mixed = 0) {
  VgpuTypeInfo t;
  t.id = id;
  t.name = name;
  t.framebuffer_mib = fb_mib;
  t.max_instances = max;
  t.max_instances_mixed = max_mixed;
  t.series = name.back();
  return t;
}

// MIG-backed type: one vGPU per GPU instance of profile `gi_profile`; `max`
// is that profile's instance count (reference §7.3 pairs).
VgpuTypeInfo mig(uint32_t id, std::string_view name, uint32_t fb_mib, uint32_t max,
                 uint32_t gi_profile) {
  VgpuTypeInfo t = ts(id, name, fb_mib, max);
  t.gi_profile_id = gi_profile;
  t.series = 'C';
  return t;
}

std::vector<GpuModel> build_catalog() {
  std::vector<GpuModel> m;

  // ---- A100 SXM4 40GB (GA100). Legacy mdev on SR-IOV VFs (Ampere). --------
  {
    GpuModel g;
    g.key = "A100-SXM4-40GB";
    g.device_id = 0x20b0;         // reference §5.2
    g.subsystem_device = 0x134f;  // [inferred] DGX A100 40GB board id
    g.pci_name = "GA100 [A100 SXM4 40GB]";
    g.nvml_name = "NVIDIA A100-SXM4-40GB";
    g.memory_mib = 40960;
    g.sriov_totalvfs = 20;  // DGX A100: 160 VFs over 8 GPUs (reference §7.2)
    g.link_speed = "16.0 GT/s PCIe";
    g.mig_profiles = "A100-SXM4-40GB";
    g.mig_mode_persistent = true;  // InfoROM (reference §8.2)
    g.compute_capability_major = 8;
    // Ids 468..478 and 706 from reference §7.1 (GRID A100, older driver names
    // "GRID A100-..."; 580 drivers print "NVIDIA ..."). Max instances: memory / fb.
    g.legacy_types = {
        ts(468, "NVIDIA A100-4C", 4096, 10),        ts(469, "NVIDIA A100-5C", 5120, 8),
        ts(470, "NVIDIA A100-8C", 8192, 5),         ts(471, "NVIDIA A100-10C", 10240, 4),
        ts(472, "NVIDIA A100-20C", 20480, 2),       ts(473, "NVIDIA A100-40C", 40960, 1),
        mig(474, "NVIDIA A100-1-5C", 4864, 7, 19),  mig(475, "NVIDIA A100-2-10C", 9856, 3, 14),
        mig(476, "NVIDIA A100-3-20C", 19968, 2, 9), mig(477, "NVIDIA A100-4-20C", 19968, 1, 5),
        mig(478, "NVIDIA A100-7-40C", 40192, 1, 0), mig(706, "NVIDIA A100-1-5CME", 4864, 1, 20),
    };
    m.push_back(g);
  }

  // ---- A100 SXM4 80GB (GA100). "A100D" board code (reference §7.3). ---------
  {
    GpuModel g;
    g.key = "A100-SXM4-80GB";
    g.device_id = 0x20b2;
    g.subsystem_device = 0x1463;  // [inferred]
    g.pci_name = "GA100 [A100 SXM4 80GB]";
    g.nvml_name = "NVIDIA A100-SXM4-80GB";
    g.memory_mib = 81920;
    g.sriov_totalvfs = 20;
    g.link_speed = "16.0 GT/s PCIe";
    g.mig_profiles = "A100-SXM4-80GB";
    g.mig_mode_persistent = true;
    g.compute_capability_major = 8;
    // Reference §7.1 gives the range nvidia-692..703 plus 707 (A100D-1-10CME)
    // but not which id is which: [inferred] MIG-backed first, then time-sliced.
    g.legacy_types = {
        mig(692, "NVIDIA A100D-1-10C", 9856, 7, 19),   mig(693, "NVIDIA A100D-2-20C", 19968, 3, 14),
        mig(694, "NVIDIA A100D-3-40C", 40192, 2, 9),   mig(695, "NVIDIA A100D-4-40C", 40192, 1, 5),
        mig(696, "NVIDIA A100D-7-80C", 80384, 1, 0),   ts(697, "NVIDIA A100D-4C", 4096, 20),
        ts(698, "NVIDIA A100D-8C", 8192, 10),          ts(699, "NVIDIA A100D-10C", 10240, 8),
        ts(700, "NVIDIA A100D-16C", 16384, 5),         ts(701, "NVIDIA A100D-20C", 20480, 4),
        ts(702, "NVIDIA A100D-40C", 40960, 2),         ts(703, "NVIDIA A100D-80C", 81920, 1),
        mig(707, "NVIDIA A100D-1-10CME", 9856, 1, 20),
    };
    m.push_back(g);
  }

  // ---- A30 24GB (GA100GL). 4-slice MIG board (reference §5.1: 4g=0, 2g=5,
  // 2g+me=6, 1g=14, 1g+me=21). -------------------------------------------------
  {
    GpuModel g;
    g.key = "A30-24GB";
    g.device_id = 0x20b7;
    g.subsystem_device = 0x1532;  // [inferred]
    g.pci_name = "GA100GL [A30 PCIe]";
    g.nvml_name = "NVIDIA A30";
    g.memory_mib = 24576;
    g.sriov_totalvfs = 16;  // [inferred]
    g.link_speed = "16.0 GT/s PCIe";
    g.mig_profiles = "A30-24GB";
    g.mig_mode_persistent = true;
    g.compute_capability_major = 8;
    // The reference lists no A30 type ids: [inferred] 679..686, 709, 710.
    g.legacy_types = {
        mig(679, "NVIDIA A30-1-6C", 5836, 4, 14),   mig(680, "NVIDIA A30-2-12C", 11748, 2, 5),
        mig(681, "NVIDIA A30-4-24C", 23744, 1, 0),  ts(682, "NVIDIA A30-4C", 4096, 6),
        ts(683, "NVIDIA A30-6C", 6144, 4),          ts(684, "NVIDIA A30-8C", 8192, 3),
        ts(685, "NVIDIA A30-12C", 12288, 2),        ts(686, "NVIDIA A30-24C", 24576, 1),
        mig(709, "NVIDIA A30-1-6CME", 5836, 1, 21), mig(710, "NVIDIA A30-2-12CME", 11748, 1, 6),
    };
    m.push_back(g);
  }

  // ---- H100 SXM5 80GB (GH100). Ground truth: the capture (0x2330, subsystem
  // 0x16c1, rev a1, 32.0 GT/s x16, 81559 MiB). Vendor-specific VFIO (Hopper). --
  {
    GpuModel g;
    g.key = "H100-SXM5-80GB";
    g.device_id = 0x2330;
    g.subsystem_device = 0x16c1;
    g.pci_name = "GH100[H100 SXM5 80GB]";
    g.nvml_name = "NVIDIA H100 80GB HBM3";
    g.memory_mib = 81559;
    g.sriov_totalvfs = 32;  // [inferred] (reference §7.2: read sriov_totalvfs)
    g.link_speed = "32.0 GT/s PCIe";
    g.mig_profiles = "H100-SXM5-80GB";
    g.mig_mode_persistent = true;  // [conflict] reference §8.2
    g.compute_capability_major = 9;
    // Names, GI pairs and max counts: reference §7.3 (H100XM). Ids are not in
    // the reference: [inferred] 1320..1334. 16C: 5, as vgpu-device-manager.
    g.vendor_types = {
        mig(1320, "NVIDIA H100XM-1-10C", 9984, 7, 19),
        mig(1321, "NVIDIA H100XM-1-10CME", 9984, 1, 20),
        mig(1322, "NVIDIA H100XM-1-20C", 20096, 4, 15),
        mig(1323, "NVIDIA H100XM-2-20C", 20096, 3, 14),
        mig(1324, "NVIDIA H100XM-3-40C", 40320, 2, 9),
        mig(1325, "NVIDIA H100XM-4-40C", 40320, 1, 5),
        mig(1326, "NVIDIA H100XM-7-80C", 81152, 1, 0),
        ts(1327, "NVIDIA H100XM-4C", 4096, 20, 16),
        ts(1328, "NVIDIA H100XM-5C", 5120, 16, 16),
        ts(1329, "NVIDIA H100XM-8C", 8192, 10, 8),
        ts(1330, "NVIDIA H100XM-10C", 10240, 8, 8),
        ts(1331, "NVIDIA H100XM-16C", 16384, 5, 4),
        ts(1332, "NVIDIA H100XM-20C", 20480, 4, 4),
        ts(1333, "NVIDIA H100XM-40C", 40960, 2, 2),
        ts(1334, "NVIDIA H100XM-80C", 81920, 1, 1),
    };
    m.push_back(g);
  }

  // ---- H100 NVL 94GB (GH100, 0x2321). "H100L" board code. --------------------
  {
    GpuModel g;
    g.key = "H100-NVL-94GB";
    g.device_id = 0x2321;
    g.subsystem_device = 0x1839;  // [inferred]
    g.pci_name = "GH100";
    g.nvml_name = "NVIDIA H100 NVL";
    g.memory_mib = 95830;
    g.sriov_totalvfs = 32;  // [inferred]
    g.link_speed = "32.0 GT/s PCIe";
    g.mig_profiles = "H100-NVL-94GB";
    g.mig_mode_persistent = true;
    g.compute_capability_major = 9;
    // Reference §7.3 (H100L); ids [inferred] 1380..1393.
    g.vendor_types = {
        mig(1380, "NVIDIA H100L-1-12C", 11264, 7, 19),
        mig(1381, "NVIDIA H100L-1-12CME", 11264, 1, 20),
        mig(1382, "NVIDIA H100L-1-24C", 22528, 4, 15),
        mig(1383, "NVIDIA H100L-2-24C", 22528, 3, 14),
        mig(1384, "NVIDIA H100L-3-47C", 47232, 2, 9),
        mig(1385, "NVIDIA H100L-4-47C", 47232, 1, 5),
        mig(1386, "NVIDIA H100L-7-94C", 94848, 1, 0),
        ts(1387, "NVIDIA H100L-4C", 4096, 23, 16),
        ts(1388, "NVIDIA H100L-6C", 6144, 15, 8),
        ts(1389, "NVIDIA H100L-11C", 11264, 8, 8),
        ts(1390, "NVIDIA H100L-15C", 15360, 6, 4),
        ts(1391, "NVIDIA H100L-23C", 23552, 4, 4),
        ts(1392, "NVIDIA H100L-47C", 48128, 2, 2),
        ts(1393, "NVIDIA H100L-94C", 96256, 1, 1),
    };
    m.push_back(g);
  }

  // ---- H200 SXM 141GB (GH100, 0x2335; not in Debian 12's pci.ids, so lspci
  // prints "Device 2335"). "H200X" board code. ----------------------------------
  {
    GpuModel g;
    g.key = "H200-SXM-141GB";
    g.device_id = 0x2335;
    g.subsystem_device = 0x18be;  // [inferred]
    g.pci_name = "Device 2335";
    g.nvml_name = "NVIDIA H200";
    g.memory_mib = 143771;
    g.sriov_totalvfs = 32;  // [inferred]; H200X-4C allows 32 vGPUs
    g.link_speed = "32.0 GT/s PCIe";
    g.mig_profiles = "H200-SXM-141GB";
    g.mig_mode_persistent = true;
    g.compute_capability_major = 9;
    // 1414 (H200X-1-18C) and 1428 (H200X-141C) are real (reference §2.4/§7.1);
    // the others are [inferred] around them. Max counts: reference §7.3.
    g.vendor_types = {
        mig(1414, "NVIDIA H200X-1-18C", 16384, 7, 19),
        mig(1415, "NVIDIA H200X-1-18CME", 16384, 1, 20),
        mig(1416, "NVIDIA H200X-1-35C", 33280, 4, 15),
        mig(1417, "NVIDIA H200X-2-35C", 33280, 3, 14),
        mig(1418, "NVIDIA H200X-3-71C", 71680, 2, 9),
        mig(1419, "NVIDIA H200X-4-71C", 71680, 1, 5),
        mig(1420, "NVIDIA H200X-7-141C", 143360, 1, 0),
        ts(1421, "NVIDIA H200X-4C", 4096, 32),
        ts(1422, "NVIDIA H200X-7C", 7168, 20),
        ts(1423, "NVIDIA H200X-8C", 8192, 16),
        ts(1424, "NVIDIA H200X-14C", 14336, 10),
        ts(1425, "NVIDIA H200X-17C", 17408, 8),
        ts(1426, "NVIDIA H200X-28C", 28672, 5),
        ts(1427, "NVIDIA H200X-35C", 35840, 4),
        ts(1428, "NVIDIA H200X-141C", 144384, 1),
        ts(1429, "NVIDIA H200X-70C", 71680, 2),
    };
    m.push_back(g);
  }

  // ---- Tesla T4 (TU104GL). Pre-Ampere: no SR-IOV, no MIG; legacy mdev types
  // on the PF itself (reference §7.1, opennebula.md "Pre-Ampere"). -------------
  {
    GpuModel g;
    g.key = "T4-16GB";
    g.device_id = 0x1eb8;
    g.subsystem_device = 0x12a2;  // [inferred]
    g.pci_name = "TU104GL [Tesla T4]";
    g.nvml_name = "Tesla T4";
    g.memory_mib = 15360;
    g.sriov_totalvfs = 0;
    g.link_speed = "8.0 GT/s PCIe";
    g.mdev_on_pf = true;
    g.compute_capability_major = 7;
    g.compute_capability_minor = 5;
    // The reference lists no T4 ids: [inferred] 222..233 (B, Q and C series).
    g.legacy_types = {
        ts(222, "NVIDIA T4-1B", 1024, 16),  ts(223, "NVIDIA T4-2B", 2048, 8),
        ts(224, "NVIDIA T4-1Q", 1024, 16),  ts(225, "NVIDIA T4-2Q", 2048, 8),
        ts(226, "NVIDIA T4-4Q", 4096, 4),   ts(227, "NVIDIA T4-8Q", 8192, 2),
        ts(228, "NVIDIA T4-16Q", 16384, 1), ts(229, "NVIDIA T4-1A", 1024, 16),
        ts(230, "NVIDIA T4-4C", 4096, 4),   ts(231, "NVIDIA T4-8C", 8192, 2),
        ts(232, "NVIDIA T4-16C", 16384, 1),
    };
    m.push_back(g);
  }
  return m;
}

}  // namespace

std::string_view VgpuTypeInfo::short_name() const {
  auto pos = name.rfind(' ');
  return pos == std::string_view::npos ? name : name.substr(pos + 1);
}

std::span<const GpuModel> gpu_models() {
  static const std::vector<GpuModel> catalog = build_catalog();
  return catalog;
}

const GpuModel* find_model(std::string_view key) {
  for (const auto& m : gpu_models()) {
    if (m.key == key) return &m;
  }
  return nullptr;
}

const GpuModel& model(std::string_view key) {
  if (const GpuModel* m = find_model(key)) return *m;
  std::string known;
  for (const auto& m : gpu_models()) {
    if (!known.empty()) known += ", ";
    known += m.key;
  }
  throw_invalid("unknown GPU model \"" + std::string(key) + "\" (known: " + known + ")");
}

const VgpuTypeInfo* find_vgpu_type(std::span<const VgpuTypeInfo> types, uint32_t id) {
  for (const auto& t : types) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

}  // namespace gpuvm::sim
