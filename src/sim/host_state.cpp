#include "sim/host_state.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "core/unique_fd.h"

namespace gpuvm::sim {

namespace {

using nlohmann::json;

// ---- JSON ------------------------------------------------------------------

json mig_to_json(const MigState& mig) {
  json gis = json::array();
  for (const auto& gi : mig.gpu_instances) {
    json cis = json::array();
    for (const auto& ci : gi.compute_instances) {
      cis.push_back(
          {{"id", ci.id}, {"profile_id", ci.profile_id}, {"start", ci.start}, {"size", ci.size}});
    }
    gis.push_back({{"id", gi.id},
                   {"profile_id", gi.profile_id},
                   {"start", gi.start},
                   {"size", gi.size},
                   {"compute_instances", std::move(cis)}});
  }
  return {{"current", mig.current}, {"pending", mig.pending}, {"gpu_instances", std::move(gis)}};
}

MigState mig_from_json(const json& j) {
  MigState mig;
  mig.current = j.at("current").get<bool>();
  mig.pending = j.at("pending").get<bool>();
  for (const auto& g : j.at("gpu_instances")) {
    GpuInstanceState gi;
    gi.id = g.at("id").get<uint32_t>();
    gi.profile_id = g.at("profile_id").get<uint32_t>();
    gi.start = g.at("start").get<uint32_t>();
    gi.size = g.at("size").get<uint32_t>();
    for (const auto& c : g.at("compute_instances")) {
      ComputeInstanceState ci;
      ci.id = c.at("id").get<uint32_t>();
      ci.profile_id = c.at("profile_id").get<uint32_t>();
      ci.start = c.at("start").get<uint32_t>();
      ci.size = c.at("size").get<uint32_t>();
      gi.compute_instances.push_back(ci);
    }
    mig.gpu_instances.push_back(std::move(gi));
  }
  return mig;
}

Bdf bdf_from_json(const json& j) {
  return Bdf::parse(j.get<std::string>());
}

template <typename T>
json opt_to_json(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}
template <typename T>
std::optional<T> opt_from_json(const json& j, const char* key) {
  if (!j.contains(key) || j.at(key).is_null()) return std::nullopt;
  return j.at(key).get<T>();
}

json gpu_to_json(const GpuState& g) {
  json vfs = json::array();
  for (const auto& vf : g.vfs) {
    vfs.push_back({{"iommu_group", vf.iommu_group},
                   {"driver", vf.driver},
                   {"driver_override", vf.driver_override},
                   {"vgpu_type", vf.vgpu_type},
                   {"gpu_instance_id", opt_to_json(vf.gpu_instance_id)},
                   {"placement_id", opt_to_json(vf.placement_id)},
                   {"vgpu_params", vf.vgpu_params},
                   {"warm_update", vf.warm_update}});
  }
  json mdevs = json::array();
  for (const auto& m : g.mdevs) {
    mdevs.push_back({{"uuid", m.uuid},
                     {"type_id", m.type_id},
                     {"parent", m.parent.str()},
                     {"iommu_group", m.iommu_group},
                     {"gpu_instance_id", opt_to_json(m.gpu_instance_id)}});
  }
  return {{"bdf", g.bdf.str()},
          {"model", g.model},
          {"numa_node", g.numa_node},
          {"driver_version", g.driver_version},
          {"uuid", g.uuid},
          {"vgpu_mode", std::string(vgpu_mode_name(g.vgpu_mode))},
          {"sriov_totalvfs", g.sriov_totalvfs},
          {"iommu_group", g.iommu_group},
          {"driver", g.driver},
          {"driver_override", g.driver_override},
          {"vfs", std::move(vfs)},
          {"heterogeneous_mode", g.heterogeneous_mode},
          {"mdevs", std::move(mdevs)},
          {"mig", mig_to_json(g.mig)},
          {"fallen_off_bus", g.fallen_off_bus}};
}

GpuState gpu_from_json(const json& j) {
  GpuState g;
  g.bdf = bdf_from_json(j.at("bdf"));
  g.model = j.at("model").get<std::string>();
  g.numa_node = j.at("numa_node").get<int>();
  g.driver_version = j.at("driver_version").get<std::string>();
  g.uuid = j.at("uuid").get<std::string>();
  auto mode = parse_vgpu_mode(j.at("vgpu_mode").get<std::string>());
  if (!mode) throw_invalid("unknown vgpu_mode " + j.at("vgpu_mode").dump());
  g.vgpu_mode = *mode;
  g.sriov_totalvfs = j.at("sriov_totalvfs").get<uint32_t>();
  g.iommu_group = j.at("iommu_group").get<uint32_t>();
  g.driver = j.at("driver").get<std::string>();
  g.driver_override = j.at("driver_override").get<std::string>();
  for (const auto& v : j.at("vfs")) {
    VfState vf;
    vf.iommu_group = v.at("iommu_group").get<uint32_t>();
    vf.driver = v.at("driver").get<std::string>();
    vf.driver_override = v.at("driver_override").get<std::string>();
    vf.vgpu_type = v.at("vgpu_type").get<uint32_t>();
    vf.gpu_instance_id = opt_from_json<uint32_t>(v, "gpu_instance_id");
    vf.placement_id = opt_from_json<uint32_t>(v, "placement_id");
    vf.vgpu_params = v.at("vgpu_params").get<std::string>();
    vf.warm_update = v.at("warm_update").get<bool>();
    g.vfs.push_back(std::move(vf));
  }
  g.heterogeneous_mode = j.at("heterogeneous_mode").get<bool>();
  for (const auto& m : j.at("mdevs")) {
    MdevState md;
    md.uuid = m.at("uuid").get<std::string>();
    md.type_id = m.at("type_id").get<uint32_t>();
    md.parent = bdf_from_json(m.at("parent"));
    md.iommu_group = m.at("iommu_group").get<uint32_t>();
    md.gpu_instance_id = opt_from_json<uint32_t>(m, "gpu_instance_id");
    g.mdevs.push_back(std::move(md));
  }
  g.mig = mig_from_json(j.at("mig"));
  g.fallen_off_bus = j.at("fallen_off_bus").get<bool>();
  return g;
}

json device_to_json(const PciDeviceState& d) {
  return {{"bdf", d.bdf.str()},
          {"vendor", d.vendor},
          {"device", d.device},
          {"subsystem_vendor", d.subsystem_vendor},
          {"subsystem_device", d.subsystem_device},
          {"class", d.class_code},
          {"revision", d.revision},
          {"numa_node", d.numa_node},
          {"driver", d.driver},
          {"driver_override", d.driver_override},
          {"iommu_group", d.iommu_group},
          {"sriov_totalvfs", d.sriov_totalvfs}};
}

PciDeviceState device_from_json(const json& j) {
  PciDeviceState d;
  d.bdf = bdf_from_json(j.at("bdf"));
  d.vendor = j.at("vendor").get<uint16_t>();
  d.device = j.at("device").get<uint16_t>();
  d.subsystem_vendor = j.at("subsystem_vendor").get<uint16_t>();
  d.subsystem_device = j.at("subsystem_device").get<uint16_t>();
  d.class_code = j.at("class").get<uint32_t>();
  d.revision = j.at("revision").get<uint8_t>();
  d.numa_node = j.at("numa_node").get<int>();
  d.driver = j.at("driver").get<std::string>();
  d.driver_override = j.at("driver_override").get<std::string>();
  d.iommu_group = j.at("iommu_group").get<uint32_t>();
  d.sriov_totalvfs = j.at("sriov_totalvfs").get<uint32_t>();
  return d;
}

json env_to_json(const HostEnv& e) {
  auto list = [](const std::optional<std::vector<std::string>>& v) {
    return v ? json(*v) : json(nullptr);
  };
  return {{"kernel_release", e.kernel_release},
          {"cmdline", e.cmdline},
          {"cpu_vendor", e.cpu_vendor},
          {"virtual_machine", e.virtual_machine},
          {"iommu", e.iommu},
          {"modules", list(e.modules)},
          {"services", list(e.services)},
          {"vfio_mode", e.vfio_mode},
          {"qemu_user", e.qemu_user},
          {"qemu_groups", e.qemu_groups}};
}

HostEnv env_from_json(const json& j) {
  HostEnv e;
  e.kernel_release = j.at("kernel_release").get<std::string>();
  e.cmdline = j.at("cmdline").get<std::string>();
  e.cpu_vendor = j.at("cpu_vendor").get<std::string>();
  e.virtual_machine = j.at("virtual_machine").get<bool>();
  e.iommu = j.at("iommu").get<bool>();
  if (!j.at("modules").is_null()) e.modules = j.at("modules").get<std::vector<std::string>>();
  if (!j.at("services").is_null()) e.services = j.at("services").get<std::vector<std::string>>();
  e.vfio_mode = j.at("vfio_mode").get<uint32_t>();
  e.qemu_user = j.at("qemu_user").get<std::string>();
  e.qemu_groups = j.at("qemu_groups").get<std::vector<std::string>>();
  return e;
}

json fault_to_json(const FaultState& f) {
  return {{"call", f.call},
          {"nvml_return", opt_to_json(f.nvml_return)},
          {"errno", opt_to_json(f.err_no)},
          {"count", f.count},
          {"delay_ms", f.delay_ms},
          {"gpu", f.gpu ? json(f.gpu->str()) : json(nullptr)}};
}

FaultState fault_from_json(const json& j) {
  FaultState f;
  f.call = j.at("call").get<std::string>();
  f.nvml_return = opt_from_json<int>(j, "nvml_return");
  f.err_no = opt_from_json<int>(j, "errno");
  f.count = j.at("count").get<int>();
  f.delay_ms = j.at("delay_ms").get<uint32_t>();
  if (auto gpu = opt_from_json<std::string>(j, "gpu")) f.gpu = Bdf::parse(*gpu);
  return f;
}

// ---- files -----------------------------------------------------------------

// Holds flock(LOCK_EX) on "<state>.lock" for its lifetime. A separate lock
// file because the state file itself is replaced by rename on every write.
class ExclusiveLock {
 public:
  explicit ExclusiveLock(const std::filesystem::path& state_path)
      : fd_(::open((state_path.string() + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)) {
    const std::string lock_path = state_path.string() + ".lock";
    if (fd_.get() < 0) throw_errno(errno, "cannot open lock file", lock_path);
    while (::flock(fd_.get(), LOCK_EX) != 0) {
      if (errno != EINTR) throw_errno(errno, "cannot lock", lock_path);
    }
  }

 private:
  UniqueFd fd_;  // closing it releases the lock
};

std::string read_fd(int fd, const std::filesystem::path& path) {
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno, "cannot read simulator state file", path.string());
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

// Undoes the octal escapes (\040 for space...) of /proc/self/mountinfo fields.
std::string unescape_mountinfo(std::string_view field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    auto octal = [&](size_t k) { return field[k] >= '0' && field[k] <= '7'; };
    if (field[i] == '\\' && i + 3 < field.size() && octal(i + 1) && octal(i + 2) && octal(i + 3)) {
      int v = (field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 + (field[i + 3] - '0');
      out.push_back(static_cast<char>(v));
      i += 3;
    } else {
      out.push_back(field[i]);
    }
  }
  return out;
}

}  // namespace

std::string_view vgpu_mode_name(VgpuMode mode) {
  switch (mode) {
    case VgpuMode::kNone:
      return "none";
    case VgpuMode::kLegacy:
      return "legacy";
    case VgpuMode::kVendorSpecific:
      return "vendor-specific";
  }
  return "none";
}

std::optional<VgpuMode> parse_vgpu_mode(std::string_view text) {
  if (text == "none") return VgpuMode::kNone;
  if (text == "legacy") return VgpuMode::kLegacy;
  if (text == "vendor-specific") return VgpuMode::kVendorSpecific;
  return std::nullopt;
}

GpuState* HostState::find_gpu(const Bdf& bdf) {
  for (auto& g : gpus) {
    if (g.bdf == bdf) return &g;
  }
  return nullptr;
}

const GpuState* HostState::find_gpu(const Bdf& bdf) const {
  return const_cast<HostState*>(this)->find_gpu(bdf);
}

std::optional<HostState::FunctionRef> HostState::find_function(const Bdf& bdf) const {
  for (const auto& g : gpus) {
    if (g.bdf == bdf) return FunctionRef{&g, std::nullopt};
    for (uint32_t i = 0; i < g.sriov_numvfs(); ++i) {
      if (vf_bdf(g.bdf, i) == bdf) return FunctionRef{&g, i};
    }
  }
  return std::nullopt;
}

std::optional<FaultState> HostState::take_fault(std::string_view call,
                                                const std::optional<Bdf>& gpu) {
  for (auto it = faults.begin(); it != faults.end(); ++it) {
    if (it->call != call) continue;
    if (it->gpu && (!gpu || *it->gpu != *gpu)) continue;
    FaultState taken = *it;
    if (it->count > 0 && --it->count == 0) faults.erase(it);
    return taken;
  }
  return std::nullopt;
}

Bdf vf_bdf(const Bdf& pf, uint32_t index) {
  // Routing ID arithmetic: bus, device and function form one 16-bit number.
  uint32_t rid = (uint32_t{pf.bus} << 8) | (uint32_t{pf.device} << 3) | pf.function;
  rid += 4 + index;  // First VF Offset 4, VF Stride 1
  Bdf vf;
  vf.domain = pf.domain;
  vf.bus = static_cast<uint8_t>((rid >> 8) & 0xff);
  vf.device = static_cast<uint8_t>((rid >> 3) & 0x1f);
  vf.function = static_cast<uint8_t>(rid & 0x7);
  return vf;
}

std::string to_json(const HostState& state) {
  json gpus = json::array();
  for (const auto& g : state.gpus) gpus.push_back(gpu_to_json(g));
  json devices = json::array();
  for (const auto& d : state.devices) devices.push_back(device_to_json(d));
  json faults = json::array();
  for (const auto& f : state.faults) faults.push_back(fault_to_json(f));
  json ids = json::array();
  for (const auto& d : state.dynamic_ids) {
    ids.push_back({{"driver", d.driver}, {"vendor", d.vendor}, {"device", d.device}});
  }
  json j = {{"format", kStateFormatVersion},
            {"generation", state.generation},
            {"next_iommu_group", state.next_iommu_group},
            {"meta",
             {{"spec", state.meta.spec_path},
              {"mount", state.meta.mount},
              {"daemon_pid", state.meta.daemon_pid}}},
            {"dynamic_ids", std::move(ids)},
            {"env", env_to_json(state.env)},
            {"gpus", std::move(gpus)},
            {"devices", std::move(devices)},
            {"faults", std::move(faults)}};
  // Attribute values are bytes from writers; invalid UTF-8 becomes U+FFFD.
  return j.dump(1, ' ', false, json::error_handler_t::replace) + "\n";
}

HostState from_json(std::string_view text, std::string_view origin) {
  try {
    json j = json::parse(text);
    int format = j.at("format").get<int>();
    if (format != kStateFormatVersion) {
      throw_invalid(std::string(origin) + ": state format " + std::to_string(format) +
                    ", expected " + std::to_string(kStateFormatVersion));
    }
    HostState s;
    s.generation = j.at("generation").get<uint64_t>();
    s.next_iommu_group = j.at("next_iommu_group").get<uint32_t>();
    const auto& meta = j.at("meta");
    s.meta.spec_path = meta.at("spec").get<std::string>();
    s.meta.mount = meta.at("mount").get<std::string>();
    s.meta.daemon_pid = meta.at("daemon_pid").get<int>();
    for (const auto& d : j.at("dynamic_ids")) {
      s.dynamic_ids.push_back({d.at("driver").get<std::string>(), d.at("vendor").get<uint16_t>(),
                               d.at("device").get<uint16_t>()});
    }
    if (j.contains("env")) s.env = env_from_json(j.at("env"));  // absent in older files
    for (const auto& g : j.at("gpus")) s.gpus.push_back(gpu_from_json(g));
    for (const auto& d : j.at("devices")) s.devices.push_back(device_from_json(d));
    for (const auto& f : j.at("faults")) s.faults.push_back(fault_from_json(f));
    return s;
  } catch (const json::exception& e) {
    throw_invalid(std::string(origin) + ": not a gpuvm-sim state file: " + e.what());
  } catch (const Error& e) {
    if (std::string_view(e.what()).starts_with(origin)) throw;
    throw_invalid(std::string(origin) + ": " + e.what());
  }
}

std::optional<std::filesystem::path> state_path_for_mount(const std::filesystem::path& mount) {
  std::error_code ec;
  auto target = std::filesystem::weakly_canonical(mount, ec);
  if (ec) return std::nullopt;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  const std::string fstype = "fuse." + std::string(kFuseSubtype);
  std::optional<std::filesystem::path> found;
  while (std::getline(in, line)) {
    // id parent major:minor root mountpoint options [optional...] - fstype source superopts
    std::istringstream fields(line);
    std::string id, parent, dev, root, point;
    fields >> id >> parent >> dev >> root >> point;
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream tail(line.substr(dash + 3));
    std::string type, source;
    tail >> type >> source;
    if (type != fstype) continue;
    if (std::filesystem::path(unescape_mountinfo(point)) != target) continue;
    found = unescape_mountinfo(source);  // the last (topmost) mount wins
  }
  return found;
}

std::optional<std::filesystem::path> locate_state_file(
    const std::optional<std::filesystem::path>& sysfs_root) {
  if (auto env = StateFile::from_env()) return env;
  if (sysfs_root) return state_path_for_mount(*sysfs_root);
  return std::nullopt;
}

StateFile::StateFile(std::filesystem::path path) : path_(std::move(path)) {}

std::filesystem::path StateFile::path_in(const std::filesystem::path& state_dir) {
  return state_dir / kStateFileName;
}

std::optional<std::filesystem::path> StateFile::from_env() {
  const char* v = std::getenv(std::string(kSimStateEnv).c_str());
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::filesystem::path(v);
}

bool StateFile::exists() const {
  std::error_code ec;
  return std::filesystem::exists(path_, ec);
}

HostState StateFile::read() const {
  return read_ref();
}

void StateFile::HeldFile::reset(int new_fd) {
  if (fd >= 0) ::close(fd);
  fd = new_fd;
  dev = ino = 0;
  struct stat st {};
  if (fd >= 0 && ::fstat(fd, &st) == 0) {
    dev = st.st_dev;
    ino = st.st_ino;
  }
}

const HostState& StateFile::read_ref() const {
  struct stat st {};
  if (cached_state_ && held_.fd >= 0 && ::stat(path_.c_str(), &st) == 0 && st.st_dev == held_.dev &&
      st.st_ino == held_.ino) {
    return *cached_state_;
  }
  UniqueFd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) {
      throw Error(Errc::kNotFound,
                  "simulator state file " + path_.string() +
                      " does not exist (is the simulator up? see gpuvm-sim up)",
                  ENOENT);
    }
    throw_errno(errno, "cannot open simulator state file", path_.string());
  }
  std::string text = read_fd(fd.get(), path_);
  if (!cached_state_ || text != cached_text_) {
    cached_state_ = from_json(text, path_.string());
    cached_text_ = std::move(text);
  }
  held_.reset(fd.release());
  return *cached_state_;
}

void StateFile::write_locked(const HostState& state) const {
  const std::string text = to_json(state);
  const std::string tmp = path_.string() + ".tmp." + std::to_string(::getpid());
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (fd.get() < 0) throw_errno(errno, "cannot create", tmp);
    size_t done = 0;
    while (done < text.size()) {
      ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ::unlink(tmp.c_str());
        throw_errno(err, "cannot write", tmp);
      }
      done += static_cast<size_t>(n);
    }
  }
  if (::rename(tmp.c_str(), path_.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw_errno(err, "cannot replace simulator state file", path_.string());
  }
}

void StateFile::write(const HostState& state) {
  ExclusiveLock lock(path_);
  write_locked(state);
}

HostState StateFile::update(const std::function<void(HostState&)>& fn) {
  ExclusiveLock lock(path_);
  HostState state = read();
  fn(state);
  ++state.generation;
  write_locked(state);
  return state;
}

}  // namespace gpuvm::sim
