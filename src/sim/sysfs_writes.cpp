#include "sim/sysfs_writes.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <functional>
#include <limits>

#include "core/error.h"
#include "core/uuid.h"
#include "sim/host_ops.h"
#include "sim/models.h"

namespace gpuvm::sim {

namespace {

constexpr size_t kPageSize = 4096;

// sysfs_streq / kstrto*: one trailing newline is part of the usual "echo".
std::string_view strip_newline(std::string_view s) {
  if (!s.empty() && s.back() == '\n') s.remove_suffix(1);
  return s;
}

std::string shown(std::string_view data) {
  std::string out;
  for (char c : data.substr(0, 40)) {
    out += std::isprint(static_cast<unsigned char>(c)) ? std::string(1, c) : std::string("?");
  }
  return "\"" + out + (data.size() > 40 ? "...\"" : "\"");
}

// lib/kstrtox.c kstrtoull: optional '+', base 0 picks 0x/0 prefixes, one
// trailing newline, nothing else. EINVAL for garbage, ERANGE on overflow.
uint64_t kstrtoull(std::string_view data, unsigned base, std::string_view what) {
  std::string_view s = strip_newline(data);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (base == 0) {
    if (s.size() > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && s.size() > 2 &&
        std::isxdigit(static_cast<unsigned char>(s[2]))) {
      base = 16;
      s.remove_prefix(2);
    } else if (s.size() > 1 && s[0] == '0') {
      base = 8;
    } else {
      base = 10;
    }
  } else if (base == 16 && s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
  }
  if (s.empty()) fail_errno(EINVAL, std::string(what) + ": " + shown(data) + " is not a number");
  uint64_t v = 0;
  for (char c : s) {
    unsigned digit;
    if (c >= '0' && c <= '9') {
      digit = static_cast<unsigned>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<unsigned>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      digit = static_cast<unsigned>(c - 'A' + 10);
    } else {
      fail_errno(EINVAL, std::string(what) + ": " + shown(data) + " is not a number");
    }
    if (digit >= base)
      fail_errno(EINVAL, std::string(what) + ": " + shown(data) + " is not a number");
    if (v > (std::numeric_limits<uint64_t>::max() - digit) / base) {
      fail_errno(ERANGE, std::string(what) + ": " + shown(data) + " is out of range");
    }
    v = v * base + digit;
  }
  return v;
}

// kstrtoll: as above with an optional '-'.
long long kstrtoll(std::string_view data, unsigned base, std::string_view what) {
  std::string_view s = strip_newline(data);
  const bool neg = !s.empty() && s.front() == '-';
  if (neg) s.remove_prefix(1);
  if (!s.empty() && s.front() == '+')
    fail_errno(EINVAL, std::string(what) + ": " + shown(data) + " is not a number");
  uint64_t v = kstrtoull(s, base, what);
  if (v > static_cast<uint64_t>(std::numeric_limits<long long>::max())) {
    fail_errno(ERANGE, std::string(what) + ": " + shown(data) + " is out of range");
  }
  return neg ? -static_cast<long long>(v) : static_cast<long long>(v);
}

// One PCI function of the host, whichever kind it is.
struct FnRef {
  GpuState* gpu = nullptr;           // a GPU PF or VF
  std::optional<uint32_t> vf;        // the VF index
  PciDeviceState* device = nullptr;  // another device
  std::string& driver() {
    if (device) return device->driver;
    return vf ? gpu->vfs[*vf].driver : gpu->driver;
  }
  std::string& driver_override() {
    if (device) return device->driver_override;
    return vf ? gpu->vfs[*vf].driver_override : gpu->driver_override;
  }
  uint16_t vendor() const { return device ? device->vendor : 0x10de; }
  uint16_t device_id() const { return device ? device->device : model(gpu->model).device_id; }
  uint32_t class_code() const { return device ? device->class_code : model(gpu->model).class_code; }
};

std::optional<FnRef> find_fn(HostState& s, std::string_view name) {
  for (auto& g : s.gpus) {
    if (g.bdf.str() == name) return FnRef{&g, std::nullopt, nullptr};
    for (uint32_t i = 0; i < g.sriov_numvfs(); ++i) {
      if (vf_bdf(g.bdf, i).str() == name) return FnRef{&g, i, nullptr};
    }
  }
  for (auto& d : s.devices) {
    if (d.bdf.str() == name) return FnRef{nullptr, std::nullopt, &d};
  }
  return std::nullopt;
}

FnRef require_fn(HostState& s, std::string_view name) {
  auto fn = find_fn(s, name);
  if (!fn) fail_errno(ENODEV, "no PCI device " + std::string(name));
  return *fn;
}

GpuState& require_gpu_alive(FnRef& fn) {
  if (fn.gpu->fallen_off_bus) {
    fail_errno(EIO, "GPU " + fn.gpu->bdf.str() + " has fallen off the bus");
  }
  return *fn.gpu;
}

// The in-kernel ID table of the drivers the simulator knows (pci_match_id on
// their static tables): nvidia claims NVIDIA display-class functions.
bool static_match(std::string_view drv, uint16_t vendor, uint32_t class_code) {
  if (drv == "nvidia") return vendor == 0x10de && (class_code >> 16) == 0x03;
  if (drv == "nvme") return (class_code >> 8) == 0x0108;
  if (drv == "mlx5_core") return vendor == 0x15b3;
  if (drv == "pcieport") return (class_code >> 8) == 0x0604;
  return false;  // vfio-pci, pci-pf-stub: only new_id or driver_override
}

bool id_match(const HostState& s, std::string_view drv, uint16_t vendor, uint16_t device,
              uint32_t class_code) {
  for (const auto& id : s.dynamic_ids) {
    if (id.driver == drv && id.vendor == vendor && id.device == device) return true;
  }
  return static_match(drv, vendor, class_code);
}

// pci-driver.c pci_bus_match: driver_override wins over every ID table.
bool driver_matches(const HostState& s, std::string_view drv, FnRef& fn) {
  if (!fn.driver_override().empty()) return fn.driver_override() == drv;
  return id_match(s, drv, fn.vendor(), fn.device_id(), fn.class_code());
}

// The driver's probe(): 0 = bound, else its errno.
int probe(std::string_view drv, FnRef& fn) {
  if (fn.gpu && fn.vf) {
    // nvidia.ko is the VFIO provider of vendor-specific VFs: vfio-pci's probe
    // fails with -EINVAL (reference §2.4). Without a vGPU manager, nvidia
    // does not take VFs.
    if (drv == "vfio-pci" && fn.gpu->vgpu_mode == VgpuMode::kVendorSpecific) return EINVAL;
    if (drv == "nvidia" && fn.gpu->vgpu_mode == VgpuMode::kNone) return ENODEV;
  }
  return 0;
}

void do_unbind(FnRef& fn) {
  if (fn.gpu && fn.driver() == "nvidia") {
    if (fn.vf) {
      nvidia_vf_teardown(*fn.gpu, *fn.vf);
    } else {
      nvidia_pf_teardown(*fn.gpu);
    }
  }
  fn.driver().clear();
}

void all_functions(HostState& s, const std::function<void(FnRef&)>& f) {
  for (auto& g : s.gpus) {
    FnRef pf{&g, std::nullopt, nullptr};
    f(pf);
    for (uint32_t i = 0; i < g.sriov_numvfs(); ++i) {
      FnRef vf{&g, i, nullptr};
      f(vf);
    }
  }
  for (auto& d : s.devices) {
    FnRef fn{nullptr, std::nullopt, &d};
    f(fn);
  }
}

// pci-driver.c new_id_store/remove_id_store: "vendor device [subvendor
// subdevice [class class_mask [driver_data]]]" in hex, at least two fields.
struct NewId {
  uint32_t vendor = 0, device = 0, class_code = 0;
};
NewId parse_new_id(std::string_view data, std::string_view what) {
  std::vector<uint64_t> fields;
  std::string_view s = strip_newline(data);
  while (!s.empty()) {
    auto start = s.find_first_not_of(" \t");
    if (start == std::string_view::npos) break;
    s.remove_prefix(start);
    auto end = s.find_first_of(" \t");
    std::string_view tok = s.substr(0, end);
    fields.push_back(kstrtoull(tok, 16, what));
    s.remove_prefix(end == std::string_view::npos ? s.size() : end);
    if (fields.size() == 7) break;
  }
  if (fields.size() < 2) {
    fail_errno(EINVAL,
               std::string(what) + ": " + shown(data) + " needs at least \"vendor device\" in hex");
  }
  NewId id;
  id.vendor = static_cast<uint32_t>(fields[0]);
  id.device = static_cast<uint32_t>(fields[1]);
  if (fields.size() >= 5) id.class_code = static_cast<uint32_t>(fields[4]);
  return id;
}

void write_sriov_numvfs(HostState& s, FnRef fn, std::string_view data) {
  GpuState& g = require_gpu_alive(fn);
  const std::string what = g.bdf.str() + "/sriov_numvfs";
  // iov.c sriov_numvfs_store: kstrtou16(buf, 0), then the checks in order.
  const uint64_t n = kstrtoull(data, 0, what);
  if (n > 0xffff) fail_errno(ERANGE, what + ": " + shown(data) + " is out of range");
  if (n > g.sriov_totalvfs) {
    fail_errno(ERANGE, what + ": " + std::to_string(n) + " > sriov_totalvfs " +
                           std::to_string(g.sriov_totalvfs));
  }
  if (n == g.sriov_numvfs()) return;
  if (g.driver.empty())
    fail_errno(ENOENT, what + ": no driver bound to device; cannot configure SR-IOV");
  if (g.driver == "nvidia") {
    // nvidia.ko has no sriov_configure: VFs go through sriov-manage, which
    // moves the PF to pci-pf-stub first (reference §2.4).
    fail_errno(ENOENT,
               what +
                   ": driver nvidia does not support SR-IOV configuration via sysfs "
                   "(use sriov-manage: unbind nvidia, bind pci-pf-stub, write sriov_numvfs)");
  }
  if (n == 0) {
    set_numvfs(s, g, 0);
    return;
  }
  if (g.sriov_numvfs() != 0) {
    fail_errno(EBUSY, what + ": " + std::to_string(g.sriov_numvfs()) +
                          " VFs already enabled; disable before enabling " + std::to_string(n));
  }
  set_numvfs(s, g, static_cast<uint32_t>(n));
}

void write_bind(HostState& s, const std::string& drv, std::string_view data) {
  const std::string name(strip_newline(data));
  auto fn = find_fn(s, name);
  if (!fn) fail_errno(ENODEV, "bus/pci/drivers/" + drv + "/bind: no PCI device " + shown(data));
  if (!fn->driver().empty()) {
    fail_errno(EBUSY, "bus/pci/drivers/" + drv + "/bind: " + name + " is already bound to " +
                          fn->driver());
  }
  if (!driver_matches(s, drv, *fn)) {
    fail_errno(ENODEV, "bus/pci/drivers/" + drv + "/bind: " + drv + " does not match " + name +
                           " (no ID table entry, new_id or driver_override)");
  }
  if (int err = probe(drv, *fn)) {
    fail_errno(err, "bus/pci/drivers/" + drv + "/bind: probe of " + name + " failed");
  }
  fn->driver() = drv;
}

void write_new_id(HostState& s, const std::string& drv, std::string_view data) {
  const NewId id = parse_new_id(data, "bus/pci/drivers/" + drv + "/new_id");
  if (id_match(s, drv, static_cast<uint16_t>(id.vendor), static_cast<uint16_t>(id.device),
               id.class_code)) {
    fail_errno(EEXIST,
               "bus/pci/drivers/" + drv + "/new_id: " + drv + " already handles " + shown(data));
  }
  s.dynamic_ids.push_back(
      {drv, static_cast<uint16_t>(id.vendor), static_cast<uint16_t>(id.device)});
  // driver_attach(): probe every unbound matching device.
  all_functions(s, [&](FnRef& fn) {
    if (fn.driver().empty() && driver_matches(s, drv, fn) && probe(drv, fn) == 0) fn.driver() = drv;
  });
}

void write_remove_id(HostState& s, const std::string& drv, std::string_view data) {
  const NewId id = parse_new_id(data, "bus/pci/drivers/" + drv + "/remove_id");
  auto it = std::find_if(s.dynamic_ids.begin(), s.dynamic_ids.end(), [&](const DynamicId& d) {
    return d.driver == drv && d.vendor == id.vendor && d.device == id.device;
  });
  if (it == s.dynamic_ids.end()) {
    fail_errno(ENODEV, "bus/pci/drivers/" + drv + "/remove_id: no dynamic id " + shown(data));
  }
  s.dynamic_ids.erase(it);
}

void write_vgpu_params(FnRef fn, std::string_view data) {
  GpuState& g = require_gpu_alive(fn);
  std::string_view v = strip_newline(data);
  VfState& vf = g.vfs.at(*fn.vf);
  if (v == " " || v.empty()) {  // a blank clears the parameters
    vf.vgpu_params.clear();
    return;
  }
  // key=value[,key=value...]: keys [a-z_0-9], values printable without ',' or spaces.
  size_t pos = 0;
  while (pos <= v.size()) {
    size_t comma = v.find(',', pos);
    std::string_view item =
        v.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    size_t eq = item.find('=');
    bool ok = eq != std::string_view::npos && eq > 0 && eq + 1 < item.size();
    for (size_t i = 0; ok && i < item.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(item[i]);
      ok = i < eq ? (std::islower(c) || std::isdigit(c) || c == '_') : (i == eq || std::isgraph(c));
    }
    if (!ok) {
      fail_errno(EINVAL, vf_bdf(g.bdf, *fn.vf).str() + "/nvidia/vgpu_params: " + shown(data) +
                             " is not key=value[,key=value...]");
    }
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  vf.vgpu_params = std::string(v);
}

}  // namespace

std::string fault_call_for(std::string_view path) {
  auto slash = path.rfind('/');
  return "sysfs:" + std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::optional<Bdf> fault_gpu_for(const HostState& state, const SysfsNode& node) {
  std::string_view arg = node.arg;
  if (auto slash = arg.find('/'); slash != std::string_view::npos) arg = arg.substr(0, slash);
  auto bdf = Bdf::try_parse(arg);
  if (!bdf) return std::nullopt;
  if (auto ref = state.find_function(*bdf)) return ref->gpu->bdf;
  return std::nullopt;
}

void apply_write(HostState& s, const SysfsNode& node, std::string_view path,
                 std::string_view data) {
  const std::string p(path);
  if (data.size() >= kPageSize && node.write != WriteOp::kNone) {
    fail_errno(EINVAL, p + ": write of " + std::to_string(data.size()) + " bytes is too long");
  }
  switch (node.write) {
    case WriteOp::kNone:
      fail_errno(EACCES, p + " is read-only");
    case WriteOp::kUnsupported:
      fail_errno(EOPNOTSUPP, p + ": writing this attribute is not simulated by gpuvm-sim");
    case WriteOp::kSriovNumvfs:
      write_sriov_numvfs(s, require_fn(s, node.arg), data);
      return;
    case WriteOp::kDriverBind:
      write_bind(s, node.arg, data);
      return;
    case WriteOp::kDriverUnbind: {
      const std::string name(strip_newline(data));
      auto fn = find_fn(s, name);
      if (!fn || fn->driver() != node.arg) {
        fail_errno(ENODEV, p + ": " + shown(data) + " is not bound to " + node.arg);
      }
      do_unbind(*fn);
      return;
    }
    case WriteOp::kDriverNewId:
      write_new_id(s, node.arg, data);
      return;
    case WriteOp::kDriverRemoveId:
      write_remove_id(s, node.arg, data);
      return;
    case WriteOp::kDriverOverride: {
      FnRef fn = require_fn(s, node.arg);
      // driver_set_override: kstrndup stops at a NUL; one trailing newline goes.
      std::string_view v = data.substr(0, data.find('\0'));
      fn.driver_override() = std::string(strip_newline(v));
      return;
    }
    case WriteOp::kReset: {
      FnRef fn = require_fn(s, node.arg);
      const uint64_t v = kstrtoull(data, 0, p);
      if (v != 1) fail_errno(EINVAL, p + ": write 1 to reset, got " + shown(data));
      reset_gpu(require_gpu_alive(fn));
      return;
    }
    case WriteOp::kMdevCreate: {
      // mdev_sysfs.c create_store: exactly a UUID (36 chars, +1 for "\n").
      if (data.size() < 36 || data.size() > 37) {
        fail_errno(EINVAL, p + ": " + shown(data) + " is not a UUID");
      }
      auto uuid = Uuid::try_parse(data.substr(0, 36));
      if (!uuid) fail_errno(EINVAL, p + ": " + shown(data) + " is not a UUID");
      const auto slash = node.arg.find('/');
      FnRef fn = require_fn(s, node.arg.substr(0, slash));
      GpuState& g = require_gpu_alive(fn);
      if (!is_mdev_parent(g, fn.vf)) fail_errno(ENODEV, p + ": the parent is gone");
      const Bdf parent = fn.vf ? vf_bdf(g.bdf, *fn.vf) : g.bdf;
      create_mdev(s, g, parent, static_cast<uint32_t>(std::stoul(node.arg.substr(slash + 1))),
                  uuid->str());
      return;
    }
    case WriteOp::kMdevRemove: {
      // mdev_sysfs.c remove_store: kstrtoul(buf, 0); 0 does nothing.
      if (kstrtoull(data, 0, p) != 0 && !remove_mdev(s, node.arg)) {
        fail_errno(ENODEV, p + ": mdev " + node.arg + " is gone");
      }
      return;
    }
    case WriteOp::kCurrentVgpuType: {
      FnRef fn = require_fn(s, node.arg);
      GpuState& g = require_gpu_alive(fn);
      // nvidia: kstrtol(buf, 10) (reference §2.4)
      const long long id = kstrtoll(data, 10, p);
      set_vf_vgpu_type(g, *fn.vf, id);
      return;
    }
    case WriteOp::kVgpuParams:
      write_vgpu_params(require_fn(s, node.arg), data);
      return;
    case WriteOp::kWarmUpdate: {
      FnRef fn = require_fn(s, node.arg);
      const uint64_t v = kstrtoull(data, 0, p);
      if (v > 1) fail_errno(EINVAL, p + ": write 0 or 1, got " + shown(data));
      require_gpu_alive(fn).vfs.at(*fn.vf).warm_update = v == 1;
      return;
    }
    case WriteOp::kBusRescan:
      kstrtoull(data, 0, p);  // rescan_store: any number rescans; nothing new appears
      return;
  }
  fail_errno(EINVAL, p + ": unknown write");
}

}  // namespace gpuvm::sim
