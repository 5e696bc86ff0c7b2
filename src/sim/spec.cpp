#include "sim/spec.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/uuid.h"
#include "core/yaml.h"
#include "sim/models.h"

namespace gpuvm::sim {

namespace {

constexpr std::string_view kDefaultDriverVersion = "580.159.04";  // the capture's driver

// Error context: the spec's name, and the line of the node at fault.
class Ctx {
 public:
  explicit Ctx(std::string_view origin) : origin_(origin) {}

  [[noreturn]] void fail(const YAML::Node& node, const std::string& what) const {
    yaml::fail(origin_, node, what);
  }

  // Rejects keys of map `node` not in `allowed`, naming the key and its line.
  void check_keys(const YAML::Node& node, std::string_view what,
                  std::initializer_list<std::string_view> allowed) const {
    if (!node.IsMap()) fail(node, std::string(what) + " must be a mapping");
    for (const auto& kv : node) {
      const std::string key = yaml::key(origin_, kv.first, what);
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::string list;
        for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        fail(kv.first, "unknown key \"" + key + "\" in " + std::string(what) +
                           " (expected one of: " + list + ")");
      }
    }
  }

  std::string str(const YAML::Node& node, std::string_view key) const {
    if (!node.IsScalar()) fail(node, "\"" + std::string(key) + "\" must be a string");
    return node.Scalar();
  }

  // Decimal or 0x-hex integer within [lo, hi].
  long long integer(const YAML::Node& node, std::string_view key, long long lo,
                    long long hi) const {
    if (!node.IsScalar()) fail(node, "\"" + std::string(key) + "\" must be an integer");
    const std::string& s = node.Scalar();
    long long v = 0;
    std::string_view digits = s;
    bool neg = false;
    if (digits.starts_with('-')) {
      neg = true;
      digits.remove_prefix(1);
    }
    int base = 10;
    if (digits.starts_with("0x") || digits.starts_with("0X")) {
      base = 16;
      digits.remove_prefix(2);
    }
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
    if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size()) {
      fail(node, "\"" + std::string(key) + "\" must be an integer, got \"" + s + "\"");
    }
    if (neg) v = -v;
    if (v < lo || v > hi) {
      fail(node, "\"" + std::string(key) + "\" = " + s + " is out of range [" + std::to_string(lo) +
                     ", " + std::to_string(hi) + "]");
    }
    return v;
  }

  bool boolean(const YAML::Node& node, std::string_view key) const {
    if (node.IsScalar()) {
      const std::string& s = node.Scalar();
      if (s == "true" || s == "yes" || s == "on") return true;
      if (s == "false" || s == "no" || s == "off") return false;
    }
    fail(node, "\"" + std::string(key) + "\" must be true or false");
  }

  Bdf address(const YAML::Node& node) const {
    auto bdf = Bdf::try_parse(str(node, "address"));
    if (!bdf) {
      fail(node, "\"address\" must be a PCI address DDDD:BB:DD.F, got \"" + node.Scalar() + "\"");
    }
    return *bdf;
  }

 private:
  std::string origin_;
};

// NVML return codes by name (reference nvidia.md §4.2).
const std::map<std::string_view, int>& nvml_codes() {
  static const std::map<std::string_view, int> codes = {
      {"SUCCESS", 0},
      {"UNINITIALIZED", 1},
      {"INVALID_ARGUMENT", 2},
      {"NOT_SUPPORTED", 3},
      {"NO_PERMISSION", 4},
      {"ALREADY_INITIALIZED", 5},
      {"NOT_FOUND", 6},
      {"INSUFFICIENT_SIZE", 7},
      {"INSUFFICIENT_POWER", 8},
      {"DRIVER_NOT_LOADED", 9},
      {"TIMEOUT", 10},
      {"IRQ_ISSUE", 11},
      {"LIBRARY_NOT_FOUND", 12},
      {"FUNCTION_NOT_FOUND", 13},
      {"CORRUPTED_INFOROM", 14},
      {"GPU_IS_LOST", 15},
      {"RESET_REQUIRED", 16},
      {"OPERATING_SYSTEM", 17},
      {"LIB_RM_VERSION_MISMATCH", 18},
      {"IN_USE", 19},
      {"MEMORY", 20},
      {"NO_DATA", 21},
      {"VGPU_ECC_NOT_SUPPORTED", 22},
      {"INSUFFICIENT_RESOURCES", 23},
      {"FREQ_NOT_SUPPORTED", 24},
      {"ARGUMENT_VERSION_MISMATCH", 25},
      {"DEPRECATED", 26},
      {"NOT_READY", 27},
      {"GPU_NOT_FOUND", 28},
      {"INVALID_STATE", 29},
      {"RESET_TYPE_NOT_SUPPORTED", 30},
      {"UNKNOWN", 999},
  };
  return codes;
}

const std::map<std::string_view, int>& errno_codes() {
  static const std::map<std::string_view, int> codes = {
      {"EPERM", EPERM},   {"ENOENT", ENOENT}, {"EIO", EIO},
      {"ENXIO", ENXIO},   {"EAGAIN", EAGAIN}, {"ENOMEM", ENOMEM},
      {"EACCES", EACCES}, {"EBUSY", EBUSY},   {"EEXIST", EEXIST},
      {"ENODEV", ENODEV}, {"EINVAL", EINVAL}, {"ENOSPC", ENOSPC},
      {"ERANGE", ERANGE}, {"EUSERS", EUSERS}, {"ETIMEDOUT", ETIMEDOUT},
  };
  return codes;
}

int nvml_return(const Ctx& ctx, const YAML::Node& node) {
  if (node.IsScalar()) {
    std::string s = node.Scalar();
    std::string name = s.starts_with("NVML_ERROR_") ? s.substr(11)
                       : s.starts_with("NVML_")     ? s.substr(5)
                                                    : s;
    auto it = nvml_codes().find(name);
    if (it != nvml_codes().end()) return it->second;
    if (!s.empty() && std::isdigit(static_cast<unsigned char>(s[0]))) {
      return static_cast<int>(ctx.integer(node, "nvml_return", 0, 999));
    }
  }
  ctx.fail(node, "\"nvml_return\" must be an NVML return code (e.g. NVML_ERROR_IN_USE or 19)");
}

int errno_value(const Ctx& ctx, const YAML::Node& node) {
  if (node.IsScalar()) {
    auto it = errno_codes().find(node.Scalar());
    if (it != errno_codes().end()) return it->second;
    if (!node.Scalar().empty() && std::isdigit(static_cast<unsigned char>(node.Scalar()[0]))) {
      return static_cast<int>(ctx.integer(node, "errno", 1, 4095));
    }
  }
  ctx.fail(node, "\"errno\" must be an errno name (EIO, EBUSY, EINVAL, ENODEV, ...) or number");
}

// Presets for other PCI devices; explicit keys override them.
struct DevicePreset {
  uint16_t vendor, device, subsystem_vendor, subsystem_device;
  uint32_t class_code;
  uint8_t revision;
  std::string_view driver;
};

const std::map<std::string_view, DevicePreset>& device_presets() {
  static const std::map<std::string_view, DevicePreset> presets = {
      // Mellanox ConnectX-6 Dx (MT2892), Ethernet controller
      {"nic", {0x15b3, 0x101d, 0x15b3, 0x0016, 0x020000, 0x00, "mlx5_core"}},
      // Samsung PM173X NVMe, Non-Volatile memory controller (NVM Express)
      {"nvme", {0x144d, 0xa824, 0x144d, 0xa801, 0x010802, 0x00, "nvme"}},
      // PLX/Broadcom PEX 89xxx PCIe switch port, PCI bridge (normal decode)
      {"bridge", {0x1000, 0xc030, 0x1000, 0x100b, 0x060400, 0xb0, "pcieport"}},
  };
  return presets;
}

GpuState parse_gpu(const Ctx& ctx, const YAML::Node& n, const std::string& default_driver) {
  ctx.check_keys(n, "a GPU",
                 {"address", "model", "numa_node", "driver_version", "vgpu_mode", "sriov_totalvfs",
                  "mig_mode", "heterogeneous_mode", "uuid", "fallen_off_bus"});
  if (!n["address"]) ctx.fail(n, "a GPU needs \"address\"");
  if (!n["model"]) ctx.fail(n, "a GPU needs \"model\"");
  GpuState g;
  g.bdf = ctx.address(n["address"]);
  const std::string key = ctx.str(n["model"], "model");
  const GpuModel* m = find_model(key);
  if (m == nullptr) {
    try {
      model(key);
    } catch (const Error& e) {
      ctx.fail(n["model"], e.what());
    }
  }
  g.model = key;
  if (n["numa_node"])
    g.numa_node = static_cast<int>(ctx.integer(n["numa_node"], "numa_node", -1, 63));
  g.driver_version =
      n["driver_version"] ? ctx.str(n["driver_version"], "driver_version") : default_driver;
  if (n["vgpu_mode"]) {
    auto mode = parse_vgpu_mode(ctx.str(n["vgpu_mode"], "vgpu_mode"));
    if (!mode) ctx.fail(n["vgpu_mode"], "\"vgpu_mode\" must be none, legacy or vendor-specific");
    g.vgpu_mode = *mode;
  }
  if (g.vgpu_mode == VgpuMode::kLegacy && m->legacy_types.empty()) {
    ctx.fail(n["vgpu_mode"],
             "model " + key + " has no legacy (mdev) vGPU types; use vendor-specific");
  }
  if (g.vgpu_mode == VgpuMode::kVendorSpecific && m->vendor_types.empty()) {
    ctx.fail(n["vgpu_mode"], "model " + key + " has no vendor-specific vGPU support; use legacy");
  }
  g.sriov_totalvfs = m->sriov_totalvfs;
  if (n["sriov_totalvfs"]) {
    g.sriov_totalvfs = static_cast<uint32_t>(
        ctx.integer(n["sriov_totalvfs"], "sriov_totalvfs", 0, m->sriov_totalvfs));
  }
  if (g.vgpu_mode == VgpuMode::kVendorSpecific && g.sriov_totalvfs == 0) {
    ctx.fail(n, "vendor-specific vGPU needs SR-IOV VFs: sriov_totalvfs must be > 0");
  }
  if (n["mig_mode"]) {
    const std::string mig = ctx.str(n["mig_mode"], "mig_mode");
    if (mig != "enabled" && mig != "disabled") {
      ctx.fail(n["mig_mode"], "\"mig_mode\" must be enabled or disabled");
    }
    if (mig == "enabled" && !m->mig_capable()) {
      ctx.fail(n["mig_mode"], "model " + key + " is not MIG-capable");
    }
    g.mig.current = g.mig.pending = (mig == "enabled");
  }
  if (n["heterogeneous_mode"]) {
    g.heterogeneous_mode = ctx.boolean(n["heterogeneous_mode"], "heterogeneous_mode");
  }
  if (n["uuid"]) {
    std::string u = ctx.str(n["uuid"], "uuid");
    if (!u.starts_with("GPU-") || !Uuid::try_parse(std::string_view(u).substr(4))) {
      ctx.fail(n["uuid"], "\"uuid\" must look like GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx");
    }
    g.uuid = u;
  } else {
    // Stable per address, so that the same spec always gives the same GPU.
    g.uuid = "GPU-" + Uuid::v5_x500("gpuvm-sim:" + g.bdf.str()).str();
  }
  if (n["fallen_off_bus"]) g.fallen_off_bus = ctx.boolean(n["fallen_off_bus"], "fallen_off_bus");
  return g;
}

PciDeviceState parse_device(const Ctx& ctx, const YAML::Node& n) {
  ctx.check_keys(
      n, "a device",
      {"address", "type", "vendor", "device", "class", "subsystem_vendor", "subsystem_device",
       "revision", "numa_node", "driver", "sriov_totalvfs", "iommu_group_with"});
  if (!n["address"]) ctx.fail(n, "a device needs \"address\"");
  PciDeviceState d;
  d.bdf = ctx.address(n["address"]);
  if (n["type"]) {
    const std::string type = ctx.str(n["type"], "type");
    auto it = device_presets().find(type);
    if (it == device_presets().end()) ctx.fail(n["type"], "\"type\" must be nic, nvme or bridge");
    const DevicePreset& p = it->second;
    d.vendor = p.vendor;
    d.device = p.device;
    d.subsystem_vendor = p.subsystem_vendor;
    d.subsystem_device = p.subsystem_device;
    d.class_code = p.class_code;
    d.revision = p.revision;
    d.driver = p.driver;
  } else if (!n["vendor"] || !n["device"] || !n["class"]) {
    ctx.fail(n, "a device needs \"type\" (nic, nvme, bridge) or vendor, device and class");
  }
  auto u16 = [&](const char* key, uint16_t& out) {
    if (n[key]) out = static_cast<uint16_t>(ctx.integer(n[key], key, 0, 0xffff));
  };
  u16("vendor", d.vendor);
  u16("device", d.device);
  u16("subsystem_vendor", d.subsystem_vendor);
  u16("subsystem_device", d.subsystem_device);
  if (n["class"])
    d.class_code = static_cast<uint32_t>(ctx.integer(n["class"], "class", 0, 0xffffff));
  // A GPU's other functions (HDMI audio 0x0403, USB 0x0c03) are NVIDIA devices too.
  if (d.vendor == 0x10de && (d.class_code >> 16) == 0x03) {
    ctx.fail(n["vendor"], "NVIDIA GPUs go under \"gpus\" with a model, not under \"devices\"");
  }
  if (n["revision"])
    d.revision = static_cast<uint8_t>(ctx.integer(n["revision"], "revision", 0, 0xff));
  if (n["numa_node"])
    d.numa_node = static_cast<int>(ctx.integer(n["numa_node"], "numa_node", -1, 63));
  if (n["driver"]) {
    d.driver = ctx.str(n["driver"], "driver");
    if (d.driver.find('/') != std::string::npos || d.driver == "." || d.driver == "..") {
      ctx.fail(n["driver"], "\"driver\" must be a driver name");
    }
  }
  if (n["sriov_totalvfs"]) {
    d.sriov_totalvfs =
        static_cast<uint32_t>(ctx.integer(n["sriov_totalvfs"], "sriov_totalvfs", 0, 255));
  }
  return d;
}

// host: what gpuvm check reads besides the PCI tree (sim/host_state.h HostEnv).
HostEnv parse_host_env(const Ctx& ctx, const YAML::Node& n) {
  ctx.check_keys(n, "host",
                 {"kernel", "cmdline", "cpu_vendor", "virtual", "iommu", "modules", "services",
                  "vfio_mode", "qemu_user", "qemu_groups"});
  HostEnv e;
  auto names = [&](const YAML::Node& list, std::string_view key) {
    if (!list.IsSequence()) ctx.fail(list, "\"" + std::string(key) + "\" must be a list of names");
    std::vector<std::string> out;
    for (const auto& item : list) {
      std::string v = ctx.str(item, key);
      // Each becomes a line of /proc/modules or a /proc/<pid>/comm: one word.
      if (v.empty() || v.size() > 64 || v.find_first_of(" \t\n/") != std::string::npos)
        ctx.fail(item, "\"" + std::string(key) + "\" entries must be single words");
      out.push_back(std::move(v));
    }
    return out;
  };
  auto line = [&](const YAML::Node& node, std::string_view key) {
    std::string v = ctx.str(node, key);
    if (v.find('\n') != std::string::npos || v.size() > 4096)
      ctx.fail(node, "\"" + std::string(key) + "\" must be one line");
    return v;
  };
  if (n["kernel"]) e.kernel_release = line(n["kernel"], "kernel");
  if (n["cmdline"]) e.cmdline = line(n["cmdline"], "cmdline");
  if (n["cpu_vendor"]) e.cpu_vendor = line(n["cpu_vendor"], "cpu_vendor");
  if (n["virtual"]) e.virtual_machine = ctx.boolean(n["virtual"], "virtual");
  if (n["iommu"]) e.iommu = ctx.boolean(n["iommu"], "iommu");
  if (n["modules"]) e.modules = names(n["modules"], "modules");
  if (n["services"]) e.services = names(n["services"], "services");
  if (n["vfio_mode"]) {
    const std::string m = ctx.str(n["vfio_mode"], "vfio_mode");
    unsigned v = 0;
    auto [p, ec] = std::from_chars(m.data(), m.data() + m.size(), v, 8);
    if (m.empty() || ec != std::errc() || p != m.data() + m.size() || v > 0777)
      ctx.fail(n["vfio_mode"], "\"vfio_mode\" must be octal permission bits such as \"0660\"");
    e.vfio_mode = v;
  }
  if (n["qemu_user"]) {
    e.qemu_user = line(n["qemu_user"], "qemu_user");
    if (e.qemu_user.empty() || e.qemu_user.find_first_of(": ") != std::string::npos)
      ctx.fail(n["qemu_user"], "\"qemu_user\" must be a user name");
  }
  if (n["qemu_groups"]) e.qemu_groups = names(n["qemu_groups"], "qemu_groups");
  return e;
}

FaultState parse_fault(const Ctx& ctx, const YAML::Node& n) {
  ctx.check_keys(n, "a fault", {"call", "gpu", "nvml_return", "errno", "count", "delay_ms"});
  if (!n["call"]) ctx.fail(n, "a fault needs \"call\" (an NVML function or sysfs:<attribute>)");
  FaultState f;
  f.call = ctx.str(n["call"], "call");
  const bool sysfs = f.call.starts_with("sysfs:");
  if (!sysfs && !f.call.starts_with("nvml")) {
    ctx.fail(n["call"], "\"call\" must be an NVML function (nvml...) or sysfs:<attribute>");
  }
  if (n["nvml_return"]) {
    if (sysfs) ctx.fail(n["nvml_return"], "a sysfs fault takes \"errno\", not \"nvml_return\"");
    f.nvml_return = nvml_return(ctx, n["nvml_return"]);
  }
  if (n["errno"]) {
    if (!sysfs) ctx.fail(n["errno"], "an NVML fault takes \"nvml_return\", not \"errno\"");
    f.err_no = errno_value(ctx, n["errno"]);
  }
  if (n["count"]) f.count = static_cast<int>(ctx.integer(n["count"], "count", -1, 1000000));
  if (f.count == 0) ctx.fail(n["count"], "\"count\" must be > 0, or -1 for every call");
  if (n["delay_ms"]) {
    f.delay_ms = static_cast<uint32_t>(ctx.integer(n["delay_ms"], "delay_ms", 0, 600000));
  }
  if (!f.nvml_return && !f.err_no && f.delay_ms == 0) {
    ctx.fail(n, "a fault needs nvml_return, errno or delay_ms");
  }
  if (n["gpu"]) f.gpu = ctx.address(n["gpu"]);
  return f;
}

}  // namespace

HostState parse_spec(std::string_view yaml_text, std::string_view origin) {
  Ctx ctx(origin);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    throw_invalid(std::string(origin) + ":" + std::to_string(e.mark.line + 1) +
                  ": not valid YAML: " + e.msg);
  }
  if (!root.IsDefined() || root.IsNull()) throw_invalid(std::string(origin) + ": empty host spec");
  ctx.check_keys(root, "the host spec", {"driver_version", "gpus", "devices", "faults", "host"});

  HostState s;
  std::string driver(kDefaultDriverVersion);
  if (root["driver_version"]) driver = ctx.str(root["driver_version"], "driver_version");

  // Every PCI address the host will ever show, with the line that claimed it.
  std::map<Bdf, int> taken;
  auto claim = [&](const Bdf& bdf, const YAML::Node& node, const std::string& what) {
    auto [it, fresh] = taken.emplace(bdf, node.Mark().line + 1);
    if (!fresh) {
      ctx.fail(node, what + " " + bdf.str() + " collides with the device on line " +
                         std::to_string(it->second));
    }
  };

  const YAML::Node gpus = root["gpus"];
  if (!gpus || !gpus.IsSequence() || gpus.size() == 0) {
    ctx.fail(gpus ? gpus : root, "\"gpus\" must be a non-empty list");
  }
  for (const auto& n : gpus) {
    GpuState g = parse_gpu(ctx, n, driver);
    claim(g.bdf, n["address"], "GPU");
    for (uint32_t i = 0; i < g.sriov_totalvfs; ++i) {
      claim(vf_bdf(g.bdf, i), n["address"], "VF " + std::to_string(i) + " of the GPU at");
    }
    g.iommu_group = s.next_iommu_group++;
    s.gpus.push_back(std::move(g));
  }
  if (const YAML::Node devices = root["devices"]) {
    if (!devices.IsSequence()) ctx.fail(devices, "\"devices\" must be a list");
    for (const auto& n : devices) {
      PciDeviceState d = parse_device(ctx, n);
      claim(d.bdf, n["address"], "device");
      if (n["iommu_group_with"]) {
        // Shares the group of a GPU or device listed before it (no ACS between them).
        const Bdf other = ctx.address(n["iommu_group_with"]);
        std::optional<uint32_t> group;
        if (const GpuState* g = s.find_gpu(other)) group = g->iommu_group;
        for (const auto& e : s.devices)
          if (e.bdf == other) group = e.iommu_group;
        if (!group) {
          ctx.fail(n["iommu_group_with"], "\"iommu_group_with\" names " + other.str() +
                                              ", which is not a GPU or device listed before it");
        }
        d.iommu_group = *group;
      } else {
        d.iommu_group = s.next_iommu_group++;
      }
      s.devices.push_back(std::move(d));
    }
  }
  if (const YAML::Node host = root["host"]) s.env = parse_host_env(ctx, host);
  if (const YAML::Node faults = root["faults"]) {
    if (!faults.IsSequence()) ctx.fail(faults, "\"faults\" must be a list");
    for (const auto& n : faults) {
      FaultState f = parse_fault(ctx, n);
      if (f.gpu && s.find_gpu(*f.gpu) == nullptr) {
        ctx.fail(n["gpu"], "fault names GPU " + f.gpu->str() + ", which is not in \"gpus\"");
      }
      s.faults.push_back(std::move(f));
    }
  }
  return s;
}

HostState load_spec(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw_errno(errno, "cannot read host spec", path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return parse_spec(text.str(), path.string());
}

}  // namespace gpuvm::sim
