#include "pci/probe.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/error.h"
#include "core/unique_fd.h"
#include "pci/names.h"

namespace gpuvm::pci {
namespace {


enum class Status { kOk, kMissing, kError };

struct ReadResult {
  Status status;
  int err = 0;
};

// Reads the attribute `name` under `dirfd` into `out` (trailing newlines
// removed), as core's read_attr() does, but relative to an open directory: one
// openat per attribute, no path building. sysfs attributes are at most a page.
ReadResult read_at(int dirfd, const char* name, std::string& out) {
  out.clear();
  // O_NONBLOCK changes nothing for sysfs attributes and regular files; a FIFO
  // or device node in a broken tree then fails instead of blocking forever.
  UniqueFd fd(::openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd.ok()) {
    if (errno == ENOENT || errno == ENOTDIR) return {Status::kMissing};
    return {Status::kError, errno};
  }
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return {Status::kError, errno};
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    // A short read of a regular file or sysfs attribute is its end: saves the
    // second read(2) that would return 0, on every attribute.
    if (static_cast<size_t>(n) < sizeof buf) break;
    if (out.size() > (1u << 20)) return {Status::kError, EFBIG};
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return {Status::kOk};
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// "0x10de" (the kernel's %#x / 0x%04x forms) or plain hex; 1..8 digits.
std::optional<uint32_t> parse_hex(std::string_view s) {
  s = trim(s);
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2);
  if (s.empty() || s.size() > 8) return std::nullopt;
  uint32_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return std::nullopt;
    v = v * 16 + static_cast<uint32_t>(d);
  }
  return v;
}

// A decimal int ("-1", "16"); nothing else.
std::optional<int> parse_int(std::string_view s) {
  s = trim(s);
  bool neg = !s.empty() && s[0] == '-';
  if (neg) s.remove_prefix(1);
  if (s.empty() || s.size() > 9) return std::nullopt;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return neg ? -v : v;
}

// A value from the tree for a message: quoted, at most 40 bytes, control
// bytes as \xNN (a broken tree can hold anything).
std::string quote_value(std::string_view s) {
  std::string out = "'";
  for (size_t i = 0; i < s.size() && i < 40; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f)
      out += fmt::format("\\x{:02x}", c);
    else
      out += static_cast<char>(c);
  }
  out += s.size() > 40 ? "'..." : "'";
  return out;
}

std::optional<std::string> read_link_at(int dirfd, const char* name, int& err) {
  char buf[4096];
  ssize_t n = ::readlinkat(dirfd, name, buf, sizeof buf - 1);
  if (n < 0) {
    err = errno;
    return std::nullopt;
  }
  err = 0;
  return std::string(buf, static_cast<size_t>(n));
}

std::string_view basename_of(std::string_view target) {
  while (!target.empty() && target.back() == '/') target.remove_suffix(1);
  size_t slash = target.rfind('/');
  return slash == std::string_view::npos ? target : target.substr(slash + 1);
}

// Follows links, as Ruby's File.exist? (a dangling link does not exist).
bool exists_at(int dirfd, const char* name, bool* is_dir = nullptr) {
  struct stat st;
  if (::fstatat(dirfd, name, &st, 0) != 0) return false;
  if (is_dir) *is_dir = S_ISDIR(st.st_mode);
  return true;
}

// Entry names of a directory under `dirfd`, sorted, dot entries left out.
// std::nullopt with `err` set when it cannot be opened (ENOENT: absent).
std::optional<std::vector<std::string>> list_dir_at(int dirfd, const char* name, int& err) {
  int fd = ::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    err = errno;
    return std::nullopt;
  }
  DIR* dir = ::fdopendir(fd);
  if (!dir) {
    err = errno;
    ::close(fd);
    return std::nullopt;
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    names.emplace_back(e->d_name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  err = 0;
  return names;
}

// One line of nvidia/creatable_vgpu_types, "1145  : NVIDIA L40S-1B" (the
// driver prints "%-5d : %s" under a header "ID    : vGPU Name").
std::vector<VgpuType> parse_creatable(std::string_view text) {
  std::vector<VgpuType> out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view id = trim(line.substr(0, colon));
    std::string_view name = trim(line.substr(colon + 1));
    if (id.empty() || !parse_int(id)) continue;  // the header, or not a type line
    VgpuType t;
    t.id = std::string(id);
    t.name = std::string(name);
    out.push_back(std::move(t));
  }
  return out;
}

// "p0", "p1": a switchdev PF's own netdev (its representors are "pf0vf0"...).
bool is_port_name(std::string_view s) {
  s = trim(s);
  if (s.size() < 2 || s[0] != 'p') return false;
  return std::all_of(s.begin() + 1, s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

class Prober {
 public:
  Prober(const SysfsRoot& root, const ProbeOptions& options, std::vector<Warning>& warnings)
      : root_(root), options_(options), warnings_(warnings) {}

  ProbeResult run();

 private:
  std::optional<Device> read_device(int devices_fd, const std::string& name, const Bdf& bdf);
  void read_sriov(int dfd, Device& d, const std::string& dir);
  void read_net(int dfd, Device& d, const std::string& dir);
  void read_mdev(Device& d, const std::string& name);
  void read_nvidia(int dfd, Device& d, const std::string& dir);
  void read_full(int dfd, Device& d, const std::string& dir);

  // An optional attribute; warns (and gives nullopt) when it exists but
  // cannot be read.
  std::optional<std::string> optional_attr(int dfd, const std::string& dir, const char* name,
                                           bool quiet = false);
  std::optional<int> int_attr(int dfd, const std::string& dir, const char* name);

  void warn(std::string path, std::string message) {
    warnings_.push_back(Warning{std::move(path), std::move(message)});
  }

  const SysfsRoot& root_;
  const ProbeOptions& options_;
  std::vector<Warning>& warnings_;
  UniqueFd root_fd_;
  std::string scratch_;
};

std::optional<std::string> Prober::optional_attr(int dfd, const std::string& dir, const char* name,
                                                 bool quiet) {
  std::string value;
  ReadResult r = read_at(dfd, name, value);
  if (r.status == Status::kOk) return value;
  if (r.status == Status::kError && !quiet)
    warn(dir + "/" + name, fmt::format("ignored: cannot read: {}", std::strerror(r.err)));
  return std::nullopt;
}

std::optional<int> Prober::int_attr(int dfd, const std::string& dir, const char* name) {
  auto s = optional_attr(dfd, dir, name);
  if (!s) return std::nullopt;
  auto v = parse_int(*s);
  if (!v) warn(dir + "/" + name, fmt::format("ignored: not a decimal number: {}", quote_value(*s)));
  return v;
}

ProbeResult Prober::run() {
  const std::filesystem::path devices_path = root_.pci_devices();
  root_fd_ = UniqueFd(::open(root_.root().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd_.ok()) {
    int err = errno;
    throw Error(Errc::kInvalidArgument,
                fmt::format("sysfs root {}: {}", root_.root().string(), std::strerror(err)), err);
  }
  int err = 0;
  auto names = list_dir_at(root_fd_.get(), "bus/pci/devices", err);
  if (!names) {
    throw Error(Errc::kInvalidArgument,
                fmt::format("sysfs root {} has no readable bus/pci/devices ({}): not a sysfs tree",
                            root_.root().string(), std::strerror(err)),
                err);
  }
  UniqueFd devices_fd(
      ::openat(root_fd_.get(), "bus/pci/devices", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!devices_fd.ok()) {
    err = errno;
    throw Error(Errc::kInvalidArgument,
                fmt::format("cannot open {}: {}", devices_path.string(), std::strerror(err)), err);
  }

  std::vector<std::pair<Bdf, std::string>> entries;
  entries.reserve(names->size());
  for (std::string& name : *names) {
    auto bdf = Bdf::try_parse(name);
    // The kernel's form only: one spelling per device, so no duplicates.
    if (!bdf || bdf->str() != name) {
      warn((devices_path / name).string(),
           "skipped: not a PCI address in the kernel's form DDDD:BB:DD.F");
      continue;
    }
    entries.emplace_back(*bdf, std::move(name));
  }
  std::sort(entries.begin(), entries.end());

  ProbeResult result;
  result.devices.reserve(entries.size());
  for (const auto& [bdf, name] : entries) {
    if (auto d = read_device(devices_fd.get(), name, bdf)) result.devices.push_back(std::move(*d));
  }
  if (options_.names) options_.names->fill_all(result.devices);
  return result;
}

std::optional<Device> Prober::read_device(int devices_fd, const std::string& name, const Bdf& bdf) {
  const std::string dir = (root_.pci_devices() / name).string();
  // Follows the bus/pci/devices link: ENOENT is a dangling link, ELOOP a
  // loop, ENOTDIR something that is not a device directory.
  UniqueFd dfd(::openat(devices_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd.ok()) {
    warn(dir, fmt::format("skipped: {}", std::strerror(errno)));
    return std::nullopt;
  }

  Device d;
  d.bdf = bdf;
  // vendor, device, class: sysfs-bus-pci, "0x%04x\n" / "0x%06x\n". Without
  // them the device cannot be named or filtered: skip it, one warning.
  struct Ident {
    const char* name;
    uint32_t max;
    uint32_t value = 0;
  } ident[] = {{"vendor", 0xffff}, {"device", 0xffff}, {"class", 0xffffff}};
  for (Ident& id : ident) {
    ReadResult r = read_at(dfd.get(), id.name, scratch_);
    if (r.status == Status::kMissing) {
      warn(dir + "/" + id.name, "skipped the device: missing");
      return std::nullopt;
    }
    if (r.status == Status::kError) {
      warn(dir + "/" + id.name,
           fmt::format("skipped the device: cannot read: {}", std::strerror(r.err)));
      return std::nullopt;
    }
    auto v = parse_hex(scratch_);
    if (!v || *v > id.max) {
      warn(dir + "/" + id.name, fmt::format("skipped the device: not a hex number up to {:#x}: {}",
                                            id.max, quote_value(scratch_)));
      return std::nullopt;
    }
    id.value = *v;
  }
  d.vendor_id = static_cast<uint16_t>(ident[0].value);
  d.device_id = static_cast<uint16_t>(ident[1].value);
  d.class_code = ident[2].value;
  if (options_.selection &&
      !options_.selection->may_select_ids(d.vendor_id, d.device_id, d.class_code))
    return std::nullopt;

  // numa_node: "%d\n", -1 when the platform does not say.
  if (auto numa = int_attr(dfd.get(), dir, "numa_node"); numa && *numa >= 0) d.numa_node = numa;
  read_sriov(dfd.get(), d, dir);
  read_net(dfd.get(), d, dir);
  // OpenNebula looks at vGPU data of VFs only; the JSON wants it everywhere.
  if (options_.detail == Detail::kFull || d.sriov_role == SriovRole::kVf) {
    read_mdev(d, name);
    read_nvidia(dfd.get(), d, dir);
  }
  if (options_.detail == Detail::kFull) read_full(dfd.get(), d, dir);
  return d;
}

void Prober::read_sriov(int dfd, Device& d, const std::string& dir) {
  // physfn (VFs) and virtfnN (PFs): links to the other function
  // (drivers/pci/iov.c). Existence as pci.rb tests it: File.exist? follows.
  int err = 0;
  auto physfn = read_link_at(dfd, "physfn", err);
  if (physfn || err != ENOENT) {
    if (!exists_at(dfd, "physfn")) {
      warn(dir + "/physfn", "ignored: dangling link");
    } else {
      d.sriov_role = SriovRole::kVf;
      auto pf = physfn ? Bdf::try_parse(basename_of(*physfn)) : std::nullopt;
      if (pf)
        d.physfn = pf;
      else
        warn(dir + "/physfn", "ignored: not a link to a PCI address");
    }
  }
  // A VF has no SR-IOV capability of its own; the template needs nothing more.
  if (d.sriov_role == SriovRole::kVf && options_.detail == Detail::kOne) return;
  // sriov_numvfs, sriov_totalvfs: "%u\n" on SR-IOV capable PFs.
  std::string value;
  for (const char* attr : {"sriov_numvfs", "sriov_totalvfs"}) {
    // For the template, sriov_numvfs alone says "pf" and SRIOV_NUM.
    if (attr[6] == 't' && options_.detail == Detail::kOne && d.sriov_role == SriovRole::kPf) break;
    ReadResult r = read_at(dfd, attr, value);
    if (r.status == Status::kMissing) continue;
    if (d.sriov_role == SriovRole::kNone) d.sriov_role = SriovRole::kPf;
    std::string path = dir + "/" + attr;
    if (r.status == Status::kError) {
      warn(path, fmt::format("ignored: cannot read: {}", std::strerror(r.err)));
      continue;
    }
    auto v = parse_int(value);
    if (!v || *v < 0) {
      warn(path, fmt::format("ignored: not a count: {}", quote_value(value)));
      continue;
    }
    (attr[6] == 't' ? d.sriov_totalvfs : d.sriov_numvfs) = v;
  }
  // All VFs for the JSON; the template only needs to know whether virtfn0 is there.
  const int max_vfs = options_.detail == Detail::kFull ? 4096 : 1;
  char link[32];
  for (int i = 0; i < max_vfs; ++i) {
    std::snprintf(link, sizeof link, "virtfn%d", i);
    auto target = read_link_at(dfd, link, err);
    if (!target) break;
    if (!exists_at(dfd, link)) {
      warn(dir + "/" + link, "ignored: dangling link");
      break;
    }
    auto vf = Bdf::try_parse(basename_of(*target));
    if (!vf) {
      warn(dir + "/" + link, "ignored: not a link to a PCI address");
      break;
    }
    d.virtfns.push_back(*vf);
  }
}

void Prober::read_net(int dfd, Device& d, const std::string& dir) {
  // net/<ifname>: the netdevs of a NIC function (one per port, plus
  // representors on a switchdev PF).
  int err = 0;
  auto names = list_dir_at(dfd, "net", err);
  if (!names) {
    if (err != ENOENT && err != ENOTDIR)
      warn(dir + "/net", fmt::format("ignored: cannot list: {}", std::strerror(err)));
    return;
  }
  d.net_interfaces = std::move(*names);
  if (d.net_interfaces.size() == 1) {
    d.primary_interface = d.net_interfaces.front();
  } else {
    std::string value;
    for (const std::string& ifname : d.net_interfaces) {
      // phys_port_name reads EOPNOTSUPP where the driver has none: not a match.
      std::string attr = "net/" + ifname + "/phys_port_name";
      if (read_at(dfd, attr.c_str(), value).status == Status::kOk && is_port_name(value)) {
        d.primary_interface = ifname;
        break;
      }
    }
  }
}

void Prober::read_mdev(Device& d, const std::string& name) {
  // <root>/class/mdev_bus/<BDF>: a legacy mdev parent
  // (Documentation/driver-api/vfio-mediated-device.rst).
  const std::string parent = "class/mdev_bus/" + name;
  if (!exists_at(root_fd_.get(), parent.c_str())) return;
  d.mdev_parent = true;
  const std::string types_rel = parent + "/mdev_supported_types";
  const std::string types_dir = (root_.root() / types_rel).string();
  int err = 0;
  auto types = list_dir_at(root_fd_.get(), types_rel.c_str(), err);
  if (!types) {
    if (err != ENOENT) warn(types_dir, fmt::format("ignored: cannot list: {}", std::strerror(err)));
    return;
  }
  UniqueFd types_fd(
      ::openat(root_fd_.get(), types_rel.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  for (std::string& id : *types) {
    VgpuType t;
    t.id = id;
    if (options_.detail == Detail::kFull && types_fd.ok()) {
      // mdev_supported_types/<type>/{name,available_instances,description,device_api}
      UniqueFd tfd(::openat(types_fd.get(), id.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      const std::string tdir = types_dir + "/" + id;
      if (tfd.ok()) {
        t.name = optional_attr(tfd.get(), tdir, "name").value_or("");
        t.available_instances = int_attr(tfd.get(), tdir, "available_instances");
        t.description = optional_attr(tfd.get(), tdir, "description").value_or("");
        t.device_api = optional_attr(tfd.get(), tdir, "device_api").value_or("");
        // devices/<uuid>: the mdevs created from this type.
        if (auto uuids = list_dir_at(tfd.get(), "devices", err)) {
          for (std::string& uuid : *uuids) d.mdevs.push_back(MdevInstance{std::move(uuid), id});
        }
      }
    }
    d.mdev_types.push_back(std::move(t));
  }
}

void Prober::read_nvidia(int dfd, Device& d, const std::string& dir) {
  // <VF>/nvidia/: NVIDIA's vendor-specific vGPU interface (vGPU 17+, kernel
  // 6.8+): creatable_vgpu_types (read), current_vgpu_type (read/write).
  if (options_.detail == Detail::kOne) {
    // The template only reads the list (one openat instead of a stat first).
    d.creatable_vgpu_types_text = optional_attr(dfd, dir, "nvidia/creatable_vgpu_types");
    d.nvidia_vgpu_dir = d.creatable_vgpu_types_text.has_value();
  } else {
    bool is_dir = false;
    if (!exists_at(dfd, "nvidia", &is_dir) || !is_dir) return;
    d.nvidia_vgpu_dir = true;
    d.creatable_vgpu_types_text = optional_attr(dfd, dir, "nvidia/creatable_vgpu_types");
  }
  if (d.creatable_vgpu_types_text)
    d.creatable_vgpu_types = parse_creatable(*d.creatable_vgpu_types_text);
  if (options_.detail == Detail::kFull)
    d.current_vgpu_type = int_attr(dfd, dir, "nvidia/current_vgpu_type");
}

void Prober::read_full(int dfd, Device& d, const std::string& dir) {
  // subsystem_vendor, subsystem_device ("0x%04x"), revision ("0x%02x").
  auto hex_attr = [&](const char* name, uint32_t max) -> std::optional<uint32_t> {
    auto s = optional_attr(dfd, dir, name);
    if (!s) return std::nullopt;
    auto v = parse_hex(*s);
    if (!v || *v > max) {
      warn(dir + "/" + name,
           fmt::format("ignored: not a hex number up to {:#x}: {}", max, quote_value(*s)));
      return std::nullopt;
    }
    return v;
  };
  if (auto v = hex_attr("subsystem_vendor", 0xffff)) d.subsystem_vendor_id = uint16_t(*v);
  if (auto v = hex_attr("subsystem_device", 0xffff)) d.subsystem_device_id = uint16_t(*v);
  if (auto v = hex_attr("revision", 0xff)) d.revision = uint8_t(*v);

  int err = 0;
  // driver -> .../bus/pci/drivers/<name>
  if (auto target = read_link_at(dfd, "driver", err)) {
    d.driver = std::string(basename_of(*target));
  }
  // iommu_group -> .../kernel/iommu_groups/<N>
  if (auto target = read_link_at(dfd, "iommu_group", err)) {
    auto group = parse_int(basename_of(*target));
    if (group && *group >= 0)
      d.iommu_group = group;
    else
      warn(dir + "/iommu_group",
           fmt::format("ignored: not a link to a group number: {}", quote_value(*target)));
  }
  // current_link_speed "32.0 GT/s PCIe", current_link_width "16" (PCIe only;
  // some devices fail the read with EINVAL, which says nothing worth a warning).
  d.link.current_speed = optional_attr(dfd, dir, "current_link_speed", true);
  d.link.max_speed = optional_attr(dfd, dir, "max_link_speed", true);
  if (auto w = optional_attr(dfd, dir, "current_link_width", true))
    d.link.current_width = parse_int(*w);
  if (auto w = optional_attr(dfd, dir, "max_link_width", true)) d.link.max_width = parse_int(*w);
}

}  // namespace

ProbeResult probe(const SysfsRoot& root, const ProbeOptions& options) {
  std::vector<Warning> warnings;
  Prober prober(root, options, warnings);
  ProbeResult result = prober.run();
  result.warnings = std::move(warnings);
  return result;
}

}  // namespace gpuvm::pci
