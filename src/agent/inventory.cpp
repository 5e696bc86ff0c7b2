#include "agent/inventory.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "agent/nvml_vgpu.h"
#include "check/record.h"
#include "core/error.h"
#include "core/files.h"
#include "pci/names.h"
#include "pci/probe.h"
#include "server/scheduler/model_json_value.h"
#include "vgpu/type_name.h"

namespace gpuvm::agent {
namespace {

bool is_gpu_pf(const pci::Device& d, const pci::Selection& sel) {
  // PCI base class 0x03: display controller (VGA 0300, 3D 0302). NVIDIA's
  // other functions (HD audio 0403, NVSwitch 0680) are not GPUs.
  return sel.is_nvidia(d) && (d.class_code >> 16) == 0x03 && d.sriov_role != pci::SriovRole::kVf;
}

std::optional<uint64_t> to_uint(std::string_view s) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// "key=value, key=value" of NVIDIA's mdev description attribute
// ("num_heads=4, frl_config=60, framebuffer=10240M, ..., max_instance=8").
std::optional<std::string_view> description_value(std::string_view desc, std::string_view key) {
  while (!desc.empty()) {
    size_t comma = desc.find(',');
    std::string_view item = desc.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    if (item.size() > key.size() && item.substr(0, key.size()) == key && item[key.size()] == '=')
      return item.substr(key.size() + 1);
    if (comma == std::string_view::npos) break;
    desc.remove_prefix(comma + 1);
  }
  return std::nullopt;
}

// "GH100 [H100 SXM5 80GB]" -> "H100 SXM5 80GB": pci.ids puts the marketing
// name in brackets after the chip.
std::string model_from_pci_name(const pci::Device& d) {
  const std::string& n = d.device_name;
  size_t open = n.rfind('['), close = n.rfind(']');
  if (open != std::string::npos && close != std::string::npos && open < close)
    return n.substr(open + 1, close - open - 1);
  return n.empty() ? fmt::format("{:04x}:{:04x}", d.vendor_id, d.device_id) : n;
}

bool not_supported(const mig::NvmlError& e) {
  return e.rc() == NVML_ERROR_NOT_SUPPORTED;
}

// The NVML view of one GPU: model, memory, MIG mode, table and instances,
// mixed-size mode and vGPU types. NOT_SUPPORTED anywhere in MIG: no MIG.
void fill_from_nvml(server::Gpu& gpu, mig::MigHost& host, mig::MigGpu& g) {
  const mig::GpuIdentity& id = g.identity();
  std::string_view name = id.name;
  if (name.rfind("NVIDIA ", 0) == 0) name.remove_prefix(7);
  if (!name.empty()) gpu.model = std::string(name);
  gpu.framebuffer_mb = id.memory_total >> 20;
  try {
    const mig::MigMode mode = g.mig_mode();
    const mig::ProfileTable& table = g.profiles();
    gpu.mig = mig_table(table);
    gpu.mig_enabled = mode.current;
    // Instances exist only in MIG mode; the driver refuses the call otherwise.
    if (mode.current) {
      for (const mig::GpuInstance& gi : g.gpu_instances()) {
        const mig::GiProfile* p = table.find_id(gi.profile_id);
        if (p == nullptr || !gpu.mig.find(p->short_name())) continue;
        gpu.mig_instances.push_back({p->short_name(), gi.placement.start});
      }
    }
  } catch (const mig::NvmlError& e) {
    if (!not_supported(e)) throw;
    gpu.mig = {};
    gpu.mig_enabled = false;
    gpu.mig_instances.clear();
  }
  if (auto state = nvml_vgpu_state(host, g)) {
    gpu.heterogeneous = state->heterogeneous;
    for (const NvmlVgpuType& t : state->types) {
      server::VgpuType v;
      v.name = vgpu::short_type_name(t.name);
      v.id = t.id;
      v.max_instances = t.max_instances;
      v.framebuffer_mb = t.framebuffer_bytes >> 20;
      if (t.gi_profile_id) {
        // A MIG-backed type whose profile the board does not list (MIG off
        // on a board without a table) cannot be placed: left out.
        auto p =
            std::find_if(gpu.mig.profiles.begin(), gpu.mig.profiles.end(),
                         [&](const server::MigProfile& m) { return m.id == *t.gi_profile_id; });
        if (p == gpu.mig.profiles.end()) continue;
        v.mig_profile = p->name;
      }
      if (v.name.empty()) continue;
      gpu.vgpu_types.push_back(std::move(v));
    }
  }
}

}  // namespace

std::optional<server::HostCheck> recorded_check(const std::filesystem::path& state_dir) {
  std::string text;
  try {
    text = read_file_checked(check::record_path(state_dir), "the recorded check",
                             {.max_bytes = check::kMaxRecordBytes, .owner = std::nullopt});
  } catch (const Error&) {
    return std::nullopt;  // absent, too large or not a regular file: left out
  }
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  try {
    return server::parse_host_check(j, "check.json");
  } catch (const Error&) {
    return std::nullopt;
  }
}

server::PciDevice from_probe(const pci::Device& d, const pci::OneView& view) {
  pci::OneFields f = pci::one_fields(d, view);
  server::PciDevice p;
  p.address = std::move(f.address);
  p.short_address = std::move(f.short_address);
  p.vendor = std::move(f.vendor);
  p.device = std::move(f.device);
  p.class_id = std::move(f.class_id);
  p.vendor_name = std::move(f.vendor_name);
  p.device_name = std::move(f.device_name);
  p.class_name = std::move(f.class_name);
  p.numa_node = std::move(f.numa_node);
  p.uuid = f.uuid.value_or("");
  p.profiles = f.profiles.value_or("");
  p.mdev_mode = f.mdev_mode.value_or("");
  p.ifname = std::move(f.ifname);
  p.sriov = std::move(f.sriov);
  p.sriov_num = f.sriov_num.value_or("");
  if (d.physfn) p.physfn = d.physfn->one_address();
  return p;
}

server::MigTable mig_table(const mig::ProfileTable& table) {
  server::MigTable t;
  t.memory_slices = table.memory_slices();
  t.compute_slices = table.compute_slices();
  for (const mig::GiProfile& g : table.gi) {
    if (g.placements.empty()) continue;
    server::MigProfile p;
    p.name = g.short_name();
    p.id = g.id;
    p.compute_slices = g.slice_count;
    p.memory_slices = g.placements.front().size;
    p.max_count = g.instance_count;
    for (const mig::Placement& pl : g.placements) p.starts.push_back(pl.start);
    t.profiles.push_back(std::move(p));
  }
  if (t.profiles.empty()) return {};  // no board table: the model's defaults
  return t;
}

std::vector<server::VgpuType> sysfs_vgpu_types(const std::vector<const pci::Device*>& parents,
                                               const server::Gpu& gpu) {
  struct Seen {
    server::VgpuType type;
    std::optional<uint64_t> legacy_max;  // description's max_instance
    int64_t available = 0;               // legacy: available_instances over the parents
  };
  std::vector<Seen> seen;
  uint32_t vf_parents = 0;
  for (const pci::Device* p : parents) {
    if (p->sriov_role == pci::SriovRole::kVf) ++vf_parents;
    const bool legacy = p->mdev_parent;
    for (const pci::VgpuType& t : legacy ? p->mdev_types : p->creatable_vgpu_types) {
      // Legacy ids are "nvidia-558", vendor-specific ones "1145": one number space.
      std::string_view id_text = t.id;
      if (id_text.rfind("nvidia-", 0) == 0) id_text.remove_prefix(7);
      auto id = to_uint(id_text);
      std::string name = vgpu::short_type_name(t.name);
      if (!id || *id > UINT32_MAX || name.empty()) continue;
      auto it =
          std::find_if(seen.begin(), seen.end(), [&](const Seen& s) { return s.type.id == *id; });
      if (it == seen.end()) {
        Seen s;
        s.type.id = static_cast<uint32_t>(*id);
        s.type.name = std::move(name);
        it = seen.insert(seen.end(), std::move(s));
      }
      if (legacy) {
        if (auto m = description_value(t.description, "max_instance")) it->legacy_max = to_uint(*m);
        if (auto fb = description_value(t.description, "framebuffer");
            fb && fb->size() > 1 && fb->back() == 'M')
          if (auto mb = to_uint(fb->substr(0, fb->size() - 1))) it->type.framebuffer_mb = *mb;
        it->available += t.available_instances.value_or(0);
      }
    }
  }
  std::vector<server::VgpuType> out;
  for (Seen& s : seen) {
    server::VgpuType& v = s.type;
    std::optional<uint64_t> max = s.legacy_max;
    auto bound = [&](uint64_t b) { max = max ? std::min(*max, b) : b; };
    if (auto parsed = vgpu::parse_type_name(v.name)) {
      if (v.framebuffer_mb == 0)
        v.framebuffer_mb = parsed->framebuffer_gb > 0 ? uint64_t(parsed->framebuffer_gb) * 1024
                                                      : (parsed->mig_backed() ? 0 : 512);
      if (parsed->mig_backed()) {
        const server::MigProfile* p = gpu.mig.find(parsed->gi_profile());
        if (p == nullptr) continue;
        v.mig_profile = p->name;
        bound(p->max_count);
      } else if (!s.legacy_max && gpu.framebuffer_mb > 0 && v.framebuffer_mb > 0) {
        bound(gpu.framebuffer_mb / v.framebuffer_mb);
      }
    }
    if (vf_parents > 0) bound(vf_parents);  // one vGPU per VF
    if (!max && s.available > 0) bound(static_cast<uint64_t>(s.available));
    v.max_instances = static_cast<uint32_t>(std::min<uint64_t>(max.value_or(0), 4096));
    out.push_back(std::move(v));
  }
  return out;
}

namespace {

// The vGPUs that exist on the GPU's parents, from the same probe pass: a
// vendor-specific VF's current_vgpu_type, a legacy parent's mdevs.
std::vector<server::HostVgpu> host_vgpus(const std::vector<const pci::Device*>& parents,
                                         const server::Gpu& gpu) {
  auto name_of = [&](const pci::Device& p, const std::string& id) -> std::string {
    for (const auto& t : p.mdev_types)
      if (t.id == id && !t.name.empty()) return vgpu::short_type_name(t.name);
    for (const auto& t : p.creatable_vgpu_types)
      if (t.id == id && !t.name.empty()) return vgpu::short_type_name(t.name);
    // A VF that holds a vGPU lists no creatable types: NVML's list knows it.
    const std::string digits = id.rfind("nvidia-", 0) == 0 ? id.substr(7) : id;
    for (const auto& t : gpu.vgpu_types)
      if (std::to_string(t.id) == digits) return t.name;
    return id;
  };
  std::vector<server::HostVgpu> out;
  for (const pci::Device* p : parents) {
    const std::string address = p->bdf.one_address();
    if (p->current_vgpu_type.value_or(0) > 0)
      out.push_back({address, name_of(*p, std::to_string(*p->current_vgpu_type))});
    for (const auto& m : p->mdevs) out.push_back({address, name_of(*p, m.type)});
  }
  return out;
}

}  // namespace

server::HostInventory collect_inventory(const SysfsRoot& root, mig::MigHost* nvml,
                                        const std::string& host_name, pci::PciNames* names) {
  // `gpuvm probe --format one` without options: every device, NVIDIA = 10de.
  const pci::Selection selection;
  std::optional<pci::PciNames> own_names;
  if (names == nullptr) names = &own_names.emplace(std::nullopt);
  pci::ProbeOptions options;
  // Full detail: the template needs less, but the vGPU types need the names
  // of mdev types and the mdev parents among PFs (pre-Ampere), in this pass.
  options.detail = pci::Detail::kFull;
  options.selection = &selection;
  options.names = names;
  const pci::ProbeResult probe = pci::probe(root, options);

  std::map<Bdf, const pci::Device*> by_bdf;
  for (const pci::Device& d : probe.devices) by_bdf.emplace(d.bdf, &d);
  // What the template lists (once per address, as OpenNebula keeps it), then
  // the PFs it hides whose VFs it lists: every PHYSFN names a reported device.
  std::map<Bdf, pci::OneView> reported;
  for (pci::OneEntry& e : pci::one_entries(probe, selection))
    reported.try_emplace(e.device->bdf, std::move(e.view));
  std::vector<const pci::Device*> hidden_pfs;
  for (const auto& [bdf, view] : reported) {
    const pci::Device& d = *by_bdf.at(bdf);
    if (!d.physfn || reported.count(*d.physfn)) continue;
    if (auto pf = by_bdf.find(*d.physfn); pf != by_bdf.end()) hidden_pfs.push_back(pf->second);
  }
  for (const pci::Device* pf : hidden_pfs)
    reported.try_emplace(pf->bdf, pci::one_view(*pf, selection));

  server::HostInventory inv;
  inv.name = host_name;
  for (const auto& [bdf, view] : reported) {
    const pci::Device& d = *by_bdf.at(bdf);
    server::PciDevice p = from_probe(d, view);
    // A VF whose PF is not on the host (a broken physfn link) keeps no PHYSFN.
    if (d.physfn && !reported.count(*d.physfn)) p.physfn.clear();
    inv.pci.push_back(std::move(p));
  }

  // NVML's GPUs by PCI address.
  std::map<Bdf, mig::MigGpu*> nvml_gpus;
  if (nvml != nullptr) {
    for (unsigned i = 0, n = nvml->gpu_count(); i < n; ++i) {
      mig::MigGpu& g = nvml->gpu(i);
      if (auto bdf = Bdf::try_parse(g.identity().pci_bus_id)) nvml_gpus.emplace(*bdf, &g);
    }
  }
  for (const auto& [bdf, view] : reported) {
    const pci::Device& d = *by_bdf.at(bdf);
    if (!is_gpu_pf(d, selection)) continue;
    server::Gpu gpu;
    gpu.address = bdf.one_address();
    gpu.model = model_from_pci_name(d);
    auto g = nvml_gpus.find(bdf);
    if (g != nvml_gpus.end()) fill_from_nvml(gpu, *nvml, *g->second);
    // The GPU's vGPU parents: its VFs, or itself (pre-Ampere mdev on the PF).
    std::vector<const pci::Device*> parents;
    for (const pci::Device& p : probe.devices)
      if ((p.bdf == bdf || p.physfn == bdf) && (p.mdev_parent || p.nvidia_vgpu_dir))
        parents.push_back(&p);
    // NVML's list is complete; sysfs adds what NVML did not give (no NVML).
    for (server::VgpuType& t : sysfs_vgpu_types(parents, gpu)) {
      bool known = std::any_of(gpu.vgpu_types.begin(), gpu.vgpu_types.end(),
                               [&](const server::VgpuType& k) { return k.id == t.id; });
      if (!known) gpu.vgpu_types.push_back(std::move(t));
    }
    gpu.vgpus = host_vgpus(parents, gpu);
    inv.gpus.push_back(std::move(gpu));
  }
  return inv;
}

}  // namespace gpuvm::agent
