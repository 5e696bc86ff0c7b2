#include "server/scheduler/scheduler.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <tuple>

namespace gpuvm::server {
namespace {

constexpr const char* kNvidia = "10de";
// Bound on the backtracking search per host and NUMA choice: request sets are
// small (a handful of devices), this only stops pathological inputs.
constexpr int kSearchSteps = 20000;

// A GPU instance that exists or is allocated on one GPU.
struct Gi {
  std::string profile;
  uint32_t start = 0, size = 0, compute = 0;
  bool allocated = false;  // given to a VM (reported-but-free GIs can be reused)
};

struct GpuUse {
  const Gpu* gpu = nullptr;
  const PciDevice* pf = nullptr;
  std::vector<const PciDevice*> vfs;  // ADDRESS order
  bool passthrough = false;
  int users = 0;  // allocations on this GPU (PF, VF, vGPU, GI)
  std::vector<Gi> gis;
  std::map<std::string, uint32_t> vgpu_count;  // time-sliced vGPUs per type
  uint64_t fb_used = 0;
};

// The host as the scheduler sees it: inventory plus allocations.
struct Usage {
  const HostInventory* inv = nullptr;
  std::map<std::string, int64_t> device_vm;  // allocated PCI ADDRESS -> VM
  std::map<std::string, int> vfs_in_use;     // PF ADDRESS -> allocated VFs
  std::map<std::string, GpuUse> gpus;        // by PF ADDRESS
};

bool is_nvidia_vf(const PciDevice& d) {
  return d.vendor == kNvidia && !d.physfn.empty();
}

Usage make_usage(const HostInventory& inv) {
  Usage u;
  u.inv = &inv;
  for (const auto& g : inv.gpus) {
    GpuUse& gu = u.gpus[g.address];
    gu.gpu = &g;
    gu.pf = inv.find_pci(g.address);
    for (const auto& gi : g.mig_instances)
      if (const MigProfile* p = g.mig.find(gi.profile))
        gu.gis.push_back({gi.profile, gi.start, p->memory_slices, p->compute_slices, false});
  }
  for (const auto& d : inv.pci)
    if (!d.physfn.empty())
      if (auto it = u.gpus.find(d.physfn); it != u.gpus.end()) it->second.vfs.push_back(&d);
  for (auto& [addr, gu] : u.gpus)
    std::sort(gu.vfs.begin(), gu.vfs.end(),
              [](const PciDevice* a, const PciDevice* b) { return a->address < b->address; });
  return u;
}

const VgpuType* find_type(const Gpu& g, const std::string& name) {
  for (const auto& t : g.vgpu_types)
    if (t.name == name) return &t;
  return nullptr;
}

// Records an allocation in the usage. Also used to replay the allocations in
// the store, which may name devices the host no longer reports: those keep
// their device entry (so nobody else gets the address back) and nothing else.
void apply(Usage& u, const Allocation& a) {
  if (!a.device.empty()) {
    u.device_vm[a.device] = a.vm_id;
    if (const PciDevice* d = u.inv->find_pci(a.device); d && !d->physfn.empty())
      ++u.vfs_in_use[d->physfn];
  }
  auto it = u.gpus.find(a.gpu);
  if (it == u.gpus.end()) return;
  GpuUse& gu = it->second;
  ++gu.users;
  if (a.kind == AllocKind::kPassthrough) gu.passthrough = true;
  if (!a.mig_profile.empty()) {
    auto gi = std::find_if(gu.gis.begin(), gu.gis.end(), [&](const Gi& g) {
      return !g.allocated && g.profile == a.mig_profile && static_cast<int>(g.start) == a.mig_start;
    });
    if (gi != gu.gis.end()) {
      gi->allocated = true;
    } else if (const MigProfile* p = gu.gpu->mig.find(a.mig_profile)) {
      gu.gis.push_back({a.mig_profile, static_cast<uint32_t>(a.mig_start), p->memory_slices,
                        p->compute_slices, true});
    }
  } else if (a.kind == AllocKind::kVgpu) {
    ++gu.vgpu_count[a.vgpu_type];
    if (const VgpuType* t = find_type(*gu.gpu, a.vgpu_type)) gu.fb_used += t->framebuffer_mb;
  }
}

bool gi_fits(const GpuUse& gu, const MigProfile& p, uint32_t start) {
  const MigTable& t = gu.gpu->mig;
  uint32_t compute = p.compute_slices;
  uint32_t same = 0;
  for (const Gi& g : gu.gis) {
    if (start < g.start + g.size && g.start < start + p.memory_slices) return false;
    compute += g.compute;
    if (g.profile == p.name) ++same;
  }
  return compute <= t.compute_slices && (p.max_count == 0 || same < p.max_count);
}

// Profiles largest first: the order in which "room left" is compared.
std::vector<const MigProfile*> by_size(const MigTable& t) {
  std::vector<const MigProfile*> v;
  for (const auto& p : t.profiles) v.push_back(&p);
  std::sort(v.begin(), v.end(), [](const MigProfile* a, const MigProfile* b) {
    return std::tie(b->memory_slices, b->compute_slices, a->name) <
           std::tie(a->memory_slices, a->compute_slices, b->name);
  });
  return v;
}

// How many placements of each profile (largest first) are still open: the
// fragmentation measure. Lexicographically larger keeps more large slots.
std::vector<uint32_t> room(const GpuUse& gu) {
  std::vector<uint32_t> v;
  for (const MigProfile* p : by_size(gu.gpu->mig)) {
    uint32_t n = 0;
    for (uint32_t s : p->starts) n += gi_fits(gu, *p, s);
    v.push_back(n);
  }
  return v;
}

uint32_t free_memory_slices(const GpuUse& gu) {
  uint32_t used = 0;
  for (const Gi& g : gu.gis) used += g.size;
  uint32_t total = gu.gpu->mig.memory_slices;
  return used >= total ? 0 : total - used;
}

const PciDevice* first_free_vf(const Usage& u, const GpuUse& gu) {
  for (const PciDevice* vf : gu.vfs)
    if (!u.device_vm.count(vf->address)) return vf;
  return nullptr;
}

bool gpu_untouched(const Usage& u, const GpuUse& gu) {
  return gu.users == 0 && !u.vfs_in_use.count(gu.gpu->address);
}

// One way to satisfy one request, with the key that orders the ways.
struct Option {
  Allocation alloc;
  std::vector<int64_t> key;  // smaller first
};

std::string strip_vendor_prefix(std::string s) {
  for (const char* prefix : {"NVIDIA ", "GRID "})
    if (s.rfind(prefix, 0) == 0) s = s.substr(std::string(prefix).size());
  return s;
}

// PROFILE as OpenNebula writes it: "588", "588 (NVIDIA A10-1B)", "nvidia-588"
// (legacy mdev type dir) or a type name. Anchored matches only (ONE's
// unanchored grep let "59" match "590").
const VgpuType* resolve_profile(const Gpu& g, const std::string& profile) {
  std::string p = profile;
  if (p.rfind("nvidia-", 0) == 0) p = p.substr(7);
  std::string id_part = p.substr(0, p.find(' '));
  bool numeric = !id_part.empty() && std::all_of(id_part.begin(), id_part.end(),
                                                 [](unsigned char c) { return std::isdigit(c); });
  for (const auto& t : g.vgpu_types) {
    if (numeric && id_part.size() < 10 && std::to_string(t.id) == id_part) return &t;
    if (!numeric && strip_vendor_prefix(p) == t.name) return &t;
  }
  return nullptr;
}

class Search {
 public:
  Search(const HostInventory& inv, const VmRequest& req, int64_t vm_id)
      : inv_(inv), req_(req), vm_id_(vm_id) {}

  // Placement restricted to one NUMA node (numa >= -1), or unrestricted (numa = kAny).
  static constexpr int kAny = -2;
  std::optional<std::vector<Allocation>> run(const Usage& base, int numa) {
    numa_ = numa;
    steps_ = 0;
    order_.clear();
    for (size_t i = 0; i < req_.pci.size(); ++i) order_.push_back(i);
    // Most constrained first: fixed addresses, then named MIG/vGPU requests.
    std::stable_sort(order_.begin(), order_.end(),
                     [&](size_t a, size_t b) { return rank(req_.pci[a]) < rank(req_.pci[b]); });
    std::vector<Allocation> out(req_.pci.size());
    if (dfs(base, 0, out)) return out;
    return std::nullopt;
  }
  const std::string& reason() const { return reason_; }
  bool exhausted() const { return steps_ > kSearchSteps; }

 private:
  static int rank(const PciRequest& r) {
    if (!r.short_address.empty()) return 0;
    if (!r.mig_profile.empty() || !r.vgpu_type.empty()) return 1;
    if (!r.profile.empty()) return 2;
    return 3;
  }

  bool dfs(const Usage& u, size_t depth, std::vector<Allocation>& out) {
    if (depth == order_.size()) return true;
    if (++steps_ > kSearchSteps) {
      reason_ = "placement search limit reached";
      return false;
    }
    size_t idx = order_[depth];
    std::vector<Option> opts = options(u, idx);
    if (opts.empty()) return false;
    for (const Option& o : opts) {
      Usage next = u;
      apply(next, o.alloc);
      out[idx] = o.alloc;
      if (dfs(next, depth + 1, out)) return true;
      if (steps_ > kSearchSteps) return false;
    }
    return false;
  }

  bool numa_ok(int node) const { return numa_ == kAny || node == numa_; }

  void note(size_t idx, const std::string& why) {
    if (reason_.empty()) reason_ = fmt::format("request {}: {}", idx, why);
  }

  Allocation base_alloc(size_t idx) const {
    Allocation a;
    a.vm_id = vm_id_;
    a.request_index = static_cast<int>(idx);
    a.host = inv_.name;
    return a;
  }

  std::vector<Option> options(const Usage& u, size_t idx) {
    const PciRequest& r = req_.pci[idx];
    std::vector<Option> opts;
    if (!r.mig_profile.empty()) {
      for (const auto& [addr, gu] : u.gpus) mig_options(u, gu, idx, r.mig_profile, nullptr, opts);
      if (opts.empty()) note(idx, fmt::format("no GPU can give a MIG {} instance", r.mig_profile));
    } else if (!r.vgpu_type.empty()) {
      std::string want = strip_vendor_prefix(r.vgpu_type);
      for (const auto& [addr, gu] : u.gpus)
        if (const VgpuType* t = find_type(*gu.gpu, want))
          vgpu_options(u, gu, idx, *t, nullptr, opts);
      if (opts.empty()) note(idx, fmt::format("no GPU can create a vGPU of type {}", want));
    } else {
      device_options(u, idx, r, opts);
      if (opts.empty()) note(idx, "no free device matches");
    }
    std::stable_sort(opts.begin(), opts.end(),
                     [](const Option& a, const Option& b) { return a.key < b.key; });
    return opts;
  }

  // A GI of `profile` on this GPU, reused or newly placed; with a VF if the
  // GPU has them (the VM reaches a MIG slice through a MIG-backed vGPU).
  void mig_options(const Usage& u, const GpuUse& gu, size_t idx, const std::string& profile,
                   const PciDevice* fixed_vf, std::vector<Option>& opts) {
    const Gpu& g = *gu.gpu;
    const MigProfile* p = g.mig.find(profile);
    if (!p || !g.mig_enabled || gu.passthrough) return;
    const VgpuType* type = nullptr;
    for (const auto& t : g.vgpu_types)
      if (t.mig_profile == profile) type = &t;
    const PciDevice* vf = fixed_vf;
    if (!vf && !gu.vfs.empty()) {
      vf = first_free_vf(u, gu);
      if (!vf || !type) return;  // no VF free, or no vGPU type to reach the GI
    }
    int node = vf ? vf->numa() : (gu.pf ? gu.pf->numa() : -1);
    if (!numa_ok(node)) return;
    int64_t fresh = gpu_untouched(u, gu) ? 1 : 0;
    int64_t fit = free_memory_slices(gu);
    auto make = [&](uint32_t start, int64_t reuse, const std::vector<uint32_t>& after) {
      Option o{base_alloc(idx), {fresh, reuse, fit}};
      for (uint32_t n : after) o.key.push_back(-static_cast<int64_t>(n));
      o.key.push_back(start);
      o.alloc.kind = vf && fixed_vf ? AllocKind::kVgpu : AllocKind::kMig;
      o.alloc.device = vf ? vf->address : "";
      o.alloc.gpu = g.address;
      o.alloc.vgpu_type = vf && type ? type->name : "";
      o.alloc.mig_profile = profile;
      o.alloc.mig_start = static_cast<int>(start);
      o.alloc.numa_node = node;
      opts.push_back(std::move(o));
    };
    // A GI that exists and is free costs no layout change: use it first.
    std::set<uint32_t> reused;
    for (const Gi& gi : gu.gis)
      if (!gi.allocated && gi.profile == profile && reused.insert(gi.start).second)
        make(gi.start, 0, room(gu));
    for (uint32_t s : p->starts) {
      if (!gi_fits(gu, *p, s)) continue;
      GpuUse after = gu;
      after.gis.push_back({profile, s, p->memory_slices, p->compute_slices, true});
      make(s, 1, room(after));
    }
  }

  void vgpu_options(const Usage& u, const GpuUse& gu, size_t idx, const VgpuType& t,
                    const PciDevice* fixed_vf, std::vector<Option>& opts) {
    const Gpu& g = *gu.gpu;
    if (!t.mig_profile.empty()) {
      size_t before = opts.size();
      mig_options(u, gu, idx, t.mig_profile, fixed_vf, opts);
      for (size_t i = before; i < opts.size(); ++i) {
        opts[i].alloc.kind = AllocKind::kVgpu;
        opts[i].alloc.vgpu_type = t.name;
      }
      return;
    }
    if (g.mig_enabled || gu.passthrough) return;  // time-sliced types need MIG mode off
    uint32_t count = gu.vgpu_count.count(t.name) ? gu.vgpu_count.at(t.name) : 0;
    if (count >= t.max_instances) return;
    if (g.heterogeneous) {
      if (g.framebuffer_mb && gu.fb_used + t.framebuffer_mb > g.framebuffer_mb) return;
    } else {
      for (const auto& [name, n] : gu.vgpu_count)
        if (n > 0 && name != t.name) return;  // one vGPU type per GPU
    }
    const PciDevice* vf = fixed_vf;
    if (!vf && !gu.vfs.empty()) {
      vf = first_free_vf(u, gu);
      if (!vf) return;
    }
    int node = vf ? vf->numa() : (gu.pf ? gu.pf->numa() : -1);
    if (!numa_ok(node)) return;
    // Best fit: the GPU with the fewest instances of this type left.
    Option o{
        base_alloc(idx),
        {gpu_untouched(u, gu) ? 1 : 0, t.max_instances - count, static_cast<int64_t>(opts.size())}};
    o.alloc.kind = AllocKind::kVgpu;
    o.alloc.device = vf ? vf->address : "";
    o.alloc.gpu = g.address;
    o.alloc.vgpu_type = t.name;
    o.alloc.numa_node = node;
    opts.push_back(std::move(o));
  }

  // Devices matched by SHORT_ADDRESS or VENDOR/DEVICE/CLASS. Without PROFILE a
  // request means the whole device: an NVIDIA VF is only ever a vGPU, and its
  // type must be asked for (PROFILE) rather than guessed: ONE's vgpu script
  // takes the first type, which silently turns "a GPU" into the smallest
  // slice on a busy host (docs/scheduler.md).
  void device_options(const Usage& u, size_t idx, const PciRequest& r, std::vector<Option>& opts) {
    for (const PciDevice& d : inv_.pci) {
      if (!r.short_address.empty() ? d.short_address != r.short_address
                                   : (!r.vendor.empty() && r.vendor != d.vendor) ||
                                         (!r.device.empty() && r.device != d.device) ||
                                         (!r.class_id.empty() && r.class_id != d.class_id))
        continue;
      if (u.device_vm.count(d.address)) continue;
      if (is_nvidia_vf(d)) {
        auto g = u.gpus.find(d.physfn);
        if (g == u.gpus.end()) continue;  // a VF of a GPU we know nothing about
        if (u.device_vm.count(d.physfn)) continue;
        if (!r.profile.empty())
          if (const VgpuType* t = resolve_profile(*g->second.gpu, r.profile))
            vgpu_options(u, g->second, idx, *t, &d, opts);
        continue;
      }
      auto g = u.gpus.find(d.address);
      if (!r.profile.empty()) {
        // mdev on the PF (pre-SR-IOV boards): PROFILE picks the type.
        if (g != u.gpus.end() && g->second.vfs.empty())
          if (const VgpuType* t = resolve_profile(*g->second.gpu, r.profile))
            if (!u.device_vm.count(d.address)) vgpu_options(u, g->second, idx, *t, nullptr, opts);
        continue;
      }
      // Whole-device passthrough: never a PF while any of its VFs is in use,
      // never a VF while its PF is passed through, never a GPU with vGPUs/GIs.
      if (u.vfs_in_use.count(d.address)) continue;
      // A PF with VFs enabled belongs to the host's vGPU manager (ONE's probe
      // does not even list it): handing it to a VM would take the VFs away.
      if (!d.sriov_num.empty() && d.sriov_num != "0") continue;
      if (!d.physfn.empty() && u.device_vm.count(d.physfn)) continue;
      if (g != u.gpus.end() && g->second.users > 0) continue;
      if (!numa_ok(d.numa())) continue;
      Option o{base_alloc(idx), {g != u.gpus.end() ? 1 : 0, static_cast<int64_t>(opts.size())}};
      o.alloc.kind = AllocKind::kPassthrough;
      o.alloc.device = d.address;
      o.alloc.gpu = g != u.gpus.end() ? d.address : "";
      o.alloc.numa_node = d.numa();
      opts.push_back(std::move(o));
    }
  }

  const HostInventory& inv_;
  const VmRequest& req_;
  int64_t vm_id_;
  int numa_ = kAny;
  int steps_ = 0;
  std::vector<size_t> order_;
  std::string reason_;
};

// The host's own vGPUs (node.yaml's, or made by hand): their VFs are taken
// and they count against the GPU like allocated ones. After the allocations,
// so that a vGPU gpuvmd had made for a VM is not counted twice.
void apply_host_vgpus(Usage& u) {
  for (auto& [addr, gu] : u.gpus) {
    // mdevs on a pre-Ampere PF have no address of their own: only those
    // beyond what allocations account for are the host's.
    std::map<std::string, uint32_t> on_pf;
    for (const HostVgpu& v : gu.gpu->vgpus)
      if (v.device == addr) ++on_pf[v.type];
    for (auto& [type, n] : on_pf) {
      const uint32_t allocated = gu.vgpu_count.count(type) ? gu.vgpu_count.at(type) : 0;
      n = n > allocated ? n - allocated : 0;
    }
    for (const HostVgpu& v : gu.gpu->vgpus) {
      if (v.device == addr) {
        if (on_pf[v.type] == 0) continue;
        --on_pf[v.type];
      } else {
        if (u.device_vm.count(v.device)) continue;  // gpuvmd made it for a VM
        u.device_vm[v.device] = 0;                  // 0: the host's, no VM
        ++u.vfs_in_use[addr];
      }
      ++gu.users;
      const VgpuType* t = find_type(*gu.gpu, v.type);
      if (t && !t->mig_profile.empty()) continue;  // its GI is in the reported layout
      ++gu.vgpu_count[v.type];
      if (t) gu.fb_used += t->framebuffer_mb;
    }
  }
}

Usage usage_with(const HostInventory& host, std::span<const Allocation> existing) {
  Usage u = make_usage(host);
  for (const Allocation& a : existing) apply(u, a);
  apply_host_vgpus(u);
  return u;
}

PlacementCost cost_of(const Usage& before, const std::vector<Allocation>& allocs) {
  PlacementCost c;
  std::set<int> nodes;
  std::set<std::string> touched;
  for (const Allocation& a : allocs) {
    nodes.insert(a.numa_node);
    if (!a.gpu.empty()) touched.insert(a.gpu);
  }
  c.numa_split = static_cast<int>(nodes.size()) - 1;
  Usage after = before;
  for (const Allocation& a : allocs) apply(after, a);
  for (const auto& [addr, gu] : before.gpus) {
    if (touched.count(addr) && gpu_untouched(before, gu)) ++c.fresh_gpus;
    if (gpu_untouched(after, after.gpus.at(addr))) ++c.whole_gpus_left;
  }
  for (const std::string& addr : touched) {
    const GpuUse& gu = after.gpus.at(addr);
    for (const PciDevice* v : gu.vfs) c.free_units_left += !after.device_vm.count(v->address);
    if (gu.gpu->mig_enabled) c.free_units_left += static_cast<int>(free_memory_slices(gu));
  }
  return c;
}

}  // namespace

PlaceResult place_on_host(const HostInventory& host, std::span<const Allocation> existing,
                          const VmRequest& request, int64_t vm_id) {
  PlaceResult result;
  Usage base = usage_with(host, existing);
  Search search(host, request, vm_id);

  std::set<int> nodes;
  for (const auto& d : host.pci) nodes.insert(d.numa());
  std::optional<Placement> best;
  auto consider = [&](std::optional<std::vector<Allocation>> allocs) {
    if (!allocs) return;
    Placement p{std::move(*allocs), {}};
    p.cost = cost_of(base, p.allocations);
    if (!best || p.cost < best->cost) best = std::move(p);
  };
  if (request.numa != NumaPolicy::kNone) {
    for (int n : nodes) consider(search.run(base, n));
  }
  if (!best && request.numa != NumaPolicy::kRequired) consider(search.run(base, Search::kAny));
  if (best) {
    result.placement = std::move(best);
  } else {
    result.reason = search.reason().empty() ? "no placement" : search.reason();
    if (request.numa == NumaPolicy::kRequired) result.reason += " (all devices on one NUMA node)";
  }
  return result;
}

HostSummary summarize(const HostInventory& host, std::span<const Allocation> existing) {
  HostSummary s;
  Usage u = usage_with(host, existing);
  for (const PciDevice& d : host.pci) {
    if (is_nvidia_vf(d) || u.device_vm.count(d.address) || u.vfs_in_use.count(d.address)) continue;
    if (!d.physfn.empty() && u.device_vm.count(d.physfn)) continue;
    if (auto g = u.gpus.find(d.address); g != u.gpus.end() && g->second.users > 0) continue;
    ++s.whole_free_by_type[d.type()];
  }
  for (const GpuCapacity& c : capacity(host, existing)) {
    s.whole_free_gpus += c.whole_free;
    for (const auto& [p, n] : c.mig_free) s.mig_free[p] += n;
    for (const auto& [t, n] : c.vgpu_free) {
      s.vgpu_free[t] += n;
      if (const Gpu* g = host.find_gpu(c.address))
        if (const VgpuType* vt = find_type(*g, t)) s.vgpu_free_by_id[vt->id] += n;
    }
  }
  return s;
}

bool may_fit(const HostSummary& s, const VmRequest& request, std::string* why) {
  auto no = [&](std::string reason) {
    if (why) *why = std::move(reason);
    return false;
  };
  std::map<std::string, uint32_t> mig, vgpu;
  for (const PciRequest& r : request.pci) {
    if (!r.mig_profile.empty()) ++mig[r.mig_profile];
    if (!r.vgpu_type.empty()) ++vgpu[strip_vendor_prefix(r.vgpu_type)];
  }
  for (const PciRequest& r : request.pci) {
    if (r.profile.empty()) continue;
    // The PROFILE forms of resolve_profile: "1043", "1043 (NVIDIA X)", "nvidia-1043", a name.
    std::string p = r.profile.rfind("nvidia-", 0) == 0 ? r.profile.substr(7) : r.profile;
    std::string id = p.substr(0, p.find(' '));
    if (!id.empty() && id.size() < 10 && id.find_first_not_of("0123456789") == std::string::npos) {
      auto it = s.vgpu_free_by_id.find(static_cast<uint32_t>(std::stoul(id)));
      if (it == s.vgpu_free_by_id.end() || it->second == 0)
        return !why ? false
                    : no(fmt::format("no vGPU of type id {} can be created (PROFILE {})", id,
                                     r.profile));
    } else if (auto it = s.vgpu_free.find(strip_vendor_prefix(p));
               it == s.vgpu_free.end() || it->second == 0) {
      return !why ? false
                  : no(fmt::format("no vGPU of type {} can be created (PROFILE)",
                                   strip_vendor_prefix(p)));
    }
  }
  uint32_t whole = 0, whole_free = 0;
  for (const auto& [type, n] : s.whole_free_by_type) whole_free += n;
  for (const PciRequest& r : request.pci) {
    if (!r.short_address.empty() || !r.profile.empty() || !r.mig_profile.empty() ||
        !r.vgpu_type.empty())
      continue;
    ++whole;
    uint32_t match = 0;
    for (const auto& [type, n] : s.whole_free_by_type)
      if ((r.vendor.empty() || type.compare(0, 4, r.vendor) == 0) &&
          (r.device.empty() || type.compare(5, 4, r.device) == 0) &&
          (r.class_id.empty() || type.compare(10, 4, r.class_id) == 0))
        match += n;
    if (match == 0)
      return !why ? false
                  : no(fmt::format("no free whole device matches VENDOR={} DEVICE={} CLASS={}",
                                   r.vendor.empty() ? "*" : r.vendor,
                                   r.device.empty() ? "*" : r.device,
                                   r.class_id.empty() ? "*" : r.class_id));
  }
  if (whole > whole_free)
    return !why ? false : no(fmt::format("{} whole devices asked for, {} free", whole, whole_free));
  for (const auto& [p, n] : mig)
    if (auto it = s.mig_free.find(p); it == s.mig_free.end() || it->second < n)
      return !why ? false
                  : no(fmt::format("MIG {}: {} asked for, {} can be had", p, n,
                                   it == s.mig_free.end() ? 0 : it->second));
  for (const auto& [t, n] : vgpu)
    if (auto it = s.vgpu_free.find(t); it == s.vgpu_free.end() || it->second < n)
      return !why ? false
                  : no(fmt::format("vGPU {}: {} asked for, {} can be created", t, n,
                                   it == s.vgpu_free.end() ? 0 : it->second));
  return true;
}

std::vector<HostCandidate> rank_hosts(std::span<const HostState> hosts, const VmRequest& request,
                                      int64_t vm_id, std::string* why_not,
                                      const RankOptions& options) {
  std::vector<HostCandidate> out;
  int reasons = 0;
  std::vector<size_t> order(hosts.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  bool summarized = options.summaries.size() == hosts.size();
  if (summarized)
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return options.summaries[a].whole_free_gpus < options.summaries[b].whole_free_gpus;
    });
  for (size_t i : order) {
    if (out.size() >= options.max_candidates) break;
    if (summarized) {
      std::string reason;
      if (!may_fit(options.summaries[i], request, why_not && reasons < 5 ? &reason : nullptr)) {
        if (why_not && reasons < 5)
          *why_not +=
              fmt::format("{}host {}: {}", reasons++ ? "; " : "", hosts[i].inventory->name, reason);
        continue;
      }
    }
    PlaceResult r = place_on_host(*hosts[i].inventory, hosts[i].allocations, request, vm_id);
    if (r.placement) {
      out.push_back({i, std::move(*r.placement)});
    } else if (why_not && reasons < 5) {
      *why_not +=
          fmt::format("{}host {}: {}", reasons++ ? "; " : "", hosts[i].inventory->name, r.reason);
    }
  }
  std::stable_sort(out.begin(), out.end(), [&](const HostCandidate& a, const HostCandidate& b) {
    return std::tie(a.placement.cost, hosts[a.host_index].inventory->name) <
           std::tie(b.placement.cost, hosts[b.host_index].inventory->name);
  });
  return out;
}

std::vector<GpuCapacity> capacity(const HostInventory& host, std::span<const Allocation> existing) {
  Usage u = usage_with(host, existing);
  std::vector<GpuCapacity> out;
  for (const auto& g : host.gpus) {
    const GpuUse& gu = u.gpus.at(g.address);
    GpuCapacity c;
    c.address = g.address;
    c.whole_free = gpu_untouched(u, gu) && !u.device_vm.count(g.address);
    c.vfs_total = static_cast<uint32_t>(gu.vfs.size());
    for (const PciDevice* vf : gu.vfs) c.vfs_free += !u.device_vm.count(vf->address);
    if (g.mig_enabled) {
      c.free_memory_slices = free_memory_slices(gu);
      for (const auto& p : g.mig.profiles) {
        // Greedy count of further GIs of this profile alone, plus free existing ones.
        GpuUse sim = gu;
        uint32_t n = 0;
        for (const Gi& gi : gu.gis) n += !gi.allocated && gi.profile == p.name;
        for (bool placed = true; placed;) {
          placed = false;
          for (uint32_t s : p.starts)
            if (gi_fits(sim, p, s)) {
              sim.gis.push_back({p.name, s, p.memory_slices, p.compute_slices, true});
              ++n;
              placed = true;
              break;
            }
        }
        if (gu.passthrough) n = 0;
        c.mig_free[p.name] = n;
      }
    }
    for (const auto& t : g.vgpu_types) {
      uint32_t n = 0;
      if (!t.mig_profile.empty()) {
        n = g.mig_enabled ? c.mig_free[t.mig_profile] : 0;
      } else if (!g.mig_enabled && !gu.passthrough) {
        uint32_t used = gu.vgpu_count.count(t.name) ? gu.vgpu_count.at(t.name) : 0;
        bool other = false;
        for (const auto& [name, k] : gu.vgpu_count) other |= (k > 0 && name != t.name);
        n = (other && !g.heterogeneous) || used >= t.max_instances ? 0 : t.max_instances - used;
        if (g.heterogeneous && t.framebuffer_mb && g.framebuffer_mb)
          n = std::min<uint64_t>(
              n, (g.framebuffer_mb - std::min(g.framebuffer_mb, gu.fb_used)) / t.framebuffer_mb);
      }
      if (!gu.vfs.empty()) n = std::min(n, c.vfs_free);
      c.vgpu_free[t.name] = n;
    }
    out.push_back(std::move(c));
  }
  return out;
}

std::optional<std::vector<std::string>> first_fit_devices(const HostInventory& host,
                                                          std::span<const Allocation> existing,
                                                          const VmRequest& request) {
  std::set<std::string> used;
  for (const Allocation& a : existing)
    if (!a.device.empty()) used.insert(a.device);
  std::vector<const PciDevice*> sorted;
  for (const auto& d : host.pci) sorted.push_back(&d);
  std::sort(sorted.begin(), sorted.end(),
            [](const PciDevice* a, const PciDevice* b) { return a->address < b->address; });
  std::vector<std::string> out;
  for (const PciRequest& r : request.pci) {
    const PciDevice* pick = nullptr;
    for (const PciDevice* d : sorted) {
      if (used.count(d->address)) continue;
      bool match;
      if (!r.short_address.empty()) {
        match = d->short_address == r.short_address;
      } else if (!r.mig_profile.empty() || !r.vgpu_type.empty()) {
        match = d->vendor == kNvidia && (d->class_id == "0302" || d->class_id == "0300");
      } else {
        match = (r.vendor.empty() || r.vendor == d->vendor) &&
                (r.device.empty() || r.device == d->device) &&
                (r.class_id.empty() || r.class_id == d->class_id);
      }
      if (match) {
        pick = d;
        break;
      }
    }
    if (!pick) return std::nullopt;
    used.insert(pick->address);
    out.push_back(pick->address);
  }
  return out;
}

}  // namespace gpuvm::server
