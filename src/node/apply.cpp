#include "node/apply.h"

#include <fmt/format.h>

#include <set>

#include "core/error.h"
#include "node/journal.h"
#include "node/mig_step.h"
#include "pci/probe.h"
#include "sriov/sriov.h"
#include "vgpu/type_name.h"
#include "vgpu/vgpu.h"

namespace gpuvm::node {
namespace {

namespace fs = std::filesystem;

const pci::Device* find(const pci::ProbeResult& p, const Bdf& b) {
  for (const auto& d : p.devices) {
    if (d.bdf == b) return &d;
  }
  return nullptr;
}

bool type_matches(const vgpu::Type& t, const std::string& want) {
  return t.id == want || t.name == want || t.short_name == want ||
         (t.id.rfind("nvidia-", 0) == 0 && t.id.substr(7) == want);
}

// The id of `want` on this GPU: from any parent's list, else the cache, else
// `want` itself when it is an id.
std::optional<std::string> resolve(const std::vector<vgpu::Parent>& parents, const Bdf& gpu,
                                   const std::string& want, TypeCache& cache) {
  for (const auto& p : parents) {
    if (p.pf.value_or(p.bdf) != gpu) continue;
    for (const auto& t : p.types) {
      if (type_matches(t, want)) {
        cache.put(gpu, want, t.id);
        return t.id;
      }
    }
  }
  if (auto id = cache.get(gpu, want)) return id;
  if (want.find_first_not_of("0123456789") == std::string::npos) return want;
  if (want.rfind("nvidia-", 0) == 0) return want;
  return std::nullopt;
}

void check_against_host(const pci::ProbeResult& probe, const NodeSpec& spec) {
  for (const auto& g : spec.gpus) {
    const pci::Device* d = find(probe, g.address);
    if (d == nullptr) throw_invalid(fmt::format("{}: no PCI device {}", g.where, g.address.str()));
    if (d->vendor_id != 0x10de || (d->class_code >> 16) != 0x03 ||
        d->sriov_role == pci::SriovRole::kVf) {
      throw_invalid(
          fmt::format("{}: {} is not an NVIDIA GPU (physical function)", g.where, g.address.str()));
    }
    const int total = d->sriov_totalvfs.value_or(0);
    if (g.vfs && *g.vfs > total) {
      throw_invalid(fmt::format("{}.sriov: {} VFs, but {} has sriov_totalvfs {}", g.where, *g.vfs,
                                g.address.str(), total));
    }
    const int vfs = g.vfs ? (*g.vfs < 0 ? total : *g.vfs) : d->sriov_numvfs.value_or(0);
    int wanted = 0;
    for (const auto& v : g.vgpus) {
      wanted += v.vf ? 1 : v.count;
      if (v.vf && *v.vf != g.address) {
        // A pinned VF must be one of this GPU's, by the SR-IOV offset/stride
        // rule the kernel uses for NVIDIA GPUs: function 4 onward.
        const pci::Device* vd = find(probe, *v.vf);
        const bool ours = vd ? vd->physfn == g.address
                             : (v.vf->domain == g.address.domain && v.vf->bus == g.address.bus);
        if (!ours) {
          throw_invalid(
              fmt::format("{}.vf: {} is not a VF of {}", v.where, v.vf->str(), g.address.str()));
        }
      }
    }
    // One vGPU per VF; a PF parent (pre-Ampere mdev) is checked by the driver.
    if (vfs > 0 && wanted > vfs) {
      throw_invalid(fmt::format("{}: {} vGPUs do not fit on {} VFs of {}", g.where, wanted, vfs,
                                g.address.str()));
    }
    if (vfs == 0 && wanted > 0 && !d->mdev_parent) {
      throw_invalid(
          fmt::format("{}: vGPUs need VFs on {} (add 'sriov: true') or a pre-Ampere "
                      "mdev GPU",
                      g.where, g.address.str()));
    }
  }
}

// Whether the existing vGPU `d` is of type `want` (id `id` on its GPU).
bool device_is(const vgpu::Device& d, const std::string& want,
               const std::optional<std::string>& id) {
  if ((id && d.type_id == *id) || d.type_id == want) return true;
  if (!d.type_name.empty() && (d.type_name == want || vgpu::short_type_name(d.type_name) == want))
    return true;
  return d.type_id.rfind("nvidia-", 0) == 0 && d.type_id.substr(7) == want;
}

// Marks in `keep` the devices that `g` declares: a pinned entry its VF's
// vGPU, a counted one up to `count` of its type on VFs nobody pins.
void mark_declared(const GpuSpec& g, const std::vector<vgpu::Parent>& parents,
                   const std::vector<vgpu::Device>& devices, TypeCache& cache,
                   std::vector<bool>& keep) {
  std::set<Bdf> pinned;
  for (const auto& v : g.vgpus) {
    if (v.vf) pinned.insert(*v.vf);
  }
  for (const auto& v : g.vgpus) {
    const auto id = resolve(parents, g.address, v.type, cache);
    int left = v.vf ? 1 : v.count;
    for (size_t i = 0; i < devices.size() && left > 0; ++i) {
      const vgpu::Device& d = devices[i];
      if (keep[i] || d.pf.value_or(d.parent) != g.address || !device_is(d, v.type, id)) continue;
      if (v.vf ? d.parent != *v.vf || (v.uuid && d.uuid != *v.uuid) : pinned.count(d.parent) != 0)
        continue;
      keep[i] = true;
      --left;
    }
  }
}

// 1. vGPUs that are not declared, on the GPUs whose entry lists vGPUs, and
// every vGPU of a GPU whose MIG mode changes: they block GPU-instance
// destroys, MIG mode changes and VF disables. Removed from `devices`.
void prune(Steps& steps, const SysfsRoot& root, const NodeSpec& spec, const MigSteps& mig,
           std::vector<vgpu::Device>& devices, TypeCache& cache) {
  const std::vector<vgpu::Parent> parents = vgpu::parents(root);
  for (const auto& g : spec.gpus) {
    const bool all = mig.mode_changes(g.address);
    if (!g.vgpus_declared && !all) continue;
    std::vector<bool> keep(devices.size(), false);
    if (!all) mark_declared(g, parents, devices, cache, keep);
    std::vector<vgpu::Device> left;
    for (size_t i = 0; i < devices.size(); ++i) {
      const vgpu::Device& d = devices[i];
      if (keep[i] || d.pf.value_or(d.parent) != g.address) {
        left.push_back(d);
        continue;
      }
      steps.run(fmt::format("destroy vGPU {} ({}) on {}: {}", d.uuid.str(),
                            d.type_name.empty() ? d.type_id : vgpu::short_type_name(d.type_name),
                            d.parent.str(), all ? "the MIG mode changes" : "not declared"),
                [&] { vgpu::destroy(root, d.uuid.str()); });
    }
    devices = std::move(left);
  }
}

// 0. An SR-IOV sequence that a killed run (node apply's, gpuvm sriov's or
// NVIDIA's script) left half-way: the PF is on pci-pf-stub or unbound, where
// NVML does not see it, so the MIG and heterogeneous checks would refuse the
// GPU before the VF step that finishes the sequence. It is finished first,
// with the VF count the killed run reached (sriov::enable/disable finish a
// parked PF; with that count a dry run reports a change only for one), and
// the VF step then plans from there.
// Returns the GPUs it finished (or, dry run, would finish).
std::set<Bdf> finish_interrupted_sriov(Steps& steps, const SysfsRoot& root, const NodeSpec& spec,
                                       const ApplyOptions& options) {
  std::set<Bdf> parked;
  const pci::ProbeResult probe = pci::probe(root);
  for (const auto& g : spec.gpus) {
    const pci::Device* d = find(probe, g.address);
    if (d == nullptr || d->sriov_totalvfs.value_or(0) <= 0) continue;
    sriov::Options so;
    so.state_dir = options.state_dir;
    so.dry_run = true;
    const int vfs = d->sriov_numvfs.value_or(0);
    if (vfs > 0) so.num_vfs = vfs;
    auto run = [&] {
      return vfs > 0 ? sriov::enable(root, g.address, so) : sriov::disable(root, g.address, so);
    };
    if (!run().changed) continue;
    parked.insert(g.address);
    steps.run(
        fmt::format("finish the interrupted SR-IOV sequence of {} ({} VFs)", g.address.str(), vfs),
        [&] {
          so.dry_run = false;
          run();
        });
  }
  return parked;
}

// 3. SR-IOV VFs (they wipe GPU instances and heterogeneous mode). GPUs whose
// VFs change, or were dropped for a MIG mode change, are added to `changed`.
void set_vfs(Steps& steps, const SysfsRoot& root, const NodeSpec& spec, const ApplyOptions& options,
             std::set<Bdf>& changed) {
  for (const auto& g : spec.gpus) {
    if (!g.vfs) continue;
    sriov::Options so;
    so.state_dir = options.state_dir;
    so.dry_run = true;
    if (*g.vfs > 0) so.num_vfs = *g.vfs;
    const bool on = *g.vfs != 0;
    const sriov::Result plan =
        on ? sriov::enable(root, g.address, so) : sriov::disable(root, g.address, so);
    // A dry run did not drop them for the MIG mode: they come back here.
    const bool again = steps.dry_run() && on && changed.count(g.address) != 0;
    if (!plan.changed && !again) continue;
    changed.insert(g.address);
    const std::string step =
        on ? fmt::format("enable {} VFs on {}", plan.vfs_after, g.address.str())
           : fmt::format("disable the VFs of {}", g.address.str());
    steps.run(step, [&] {
      so.dry_run = false;
      on ? sriov::enable(root, g.address, so) : sriov::disable(root, g.address, so);
    });
  }
}

// 6. vGPUs, planned from the host as it is now.
void create_vgpus(Steps& steps, const SysfsRoot& root, const NodeSpec& spec,
                  const std::vector<vgpu::Device>& devices, TypeCache& cache,
                  const std::function<bool(const Bdf&)>& unsettled) {
  const std::vector<vgpu::Parent> parents = vgpu::parents(root);
  std::set<Bdf> taken;  // parents given a vGPU by this plan
  for (const auto& g : spec.gpus) {
    if (g.vgpus.empty()) continue;
    std::vector<const vgpu::Parent*> mine;
    for (const auto& p : parents) {
      if (p.pf.value_or(p.bdf) == g.address) mine.push_back(&p);
    }
    if (steps.dry_run() && (mine.empty() || unsettled(g.address))) {
      steps.note(
          fmt::format("then create the vGPUs of {} once its VFs and GPU instances exist", g.where));
      continue;
    }
    auto holds = [&](const Bdf& parent) {
      for (const auto& d : devices) {
        if (d.parent == parent) return true;
      }
      return false;
    };
    // Pinned ones first, so that counted ones do not take their VFs.
    std::vector<std::pair<const VgpuSpec*, std::string>> resolved;
    for (const auto& v : g.vgpus) {
      auto id = resolve(parents, g.address, v.type, cache);
      if (!id) {
        const auto t = vgpu::parse_type_name(vgpu::short_type_name(v.type));
        throw Error(Errc::kConflict,
                    fmt::format("{}.type: {} is not offered by any parent of {} now{}", v.where,
                                v.type, g.address.str(),
                                t && t->mig_backed()
                                    ? " (MIG-backed: needs free GPU instances of profile " +
                                          t->gi_profile() + ")"
                                    : ""));
      }
      resolved.emplace_back(&v, *id);
      if (v.vf) taken.insert(*v.vf);
    }
    for (const auto& [v, id] : resolved) {
      std::vector<std::pair<const vgpu::Parent*, std::optional<Uuid>>> todo;
      if (v->vf) {
        bool ok = false;
        for (const auto& d : devices) {
          ok |= d.parent == *v->vf && d.type_id == id && (!v->uuid || d.uuid == *v->uuid);
        }
        if (!ok) {
          const vgpu::Parent* p = nullptr;
          for (const auto* q : mine) {
            if (q->bdf == *v->vf) p = q;
          }
          if (p == nullptr) {
            throw Error(Errc::kConflict, fmt::format("{}.vf: {} is not a vGPU parent now (VFs "
                                                     "enabled?)",
                                                     v->where, v->vf->str()));
          }
          if (holds(p->bdf)) {
            throw Error(Errc::kConflict,
                        fmt::format("{}.vf: {} holds another vGPU; destroy it first (gpuvm vgpu "
                                    "destroy {})",
                                    v->where, p->bdf.str(), p->bdf.str()));
          }
          todo.emplace_back(p, v->uuid);
        }
      } else {
        int have = 0;
        for (const auto& d : devices) {
          if (d.pf.value_or(d.parent) == g.address && d.type_id == id && !taken.count(d.parent))
            ++have;
        }
        for (const auto* p : mine) {
          if (have >= v->count) break;
          const bool pf_parent = !p->pf.has_value();
          if (!pf_parent && (holds(p->bdf) || taken.count(p->bdf))) continue;
          todo.emplace_back(p, std::nullopt);
          if (!pf_parent) taken.insert(p->bdf);
          ++have;
          // A pre-Ampere PF hosts them all: one request per missing device.
          while (pf_parent && have < v->count) {
            todo.emplace_back(p, std::nullopt);
            ++have;
          }
        }
        if (have < v->count) {
          throw Error(Errc::kConflict,
                      fmt::format("{}: {} x {} do not fit on {}: no free parent left", v->where,
                                  v->count, v->type, g.address.str()));
        }
      }
      // One snapshot, many writes: the host lock keeps it true meanwhile.
      for (const auto& [parent, uuid] : todo) {
        steps.run(fmt::format("create a {} vGPU on {}", v->type, parent->bdf.str()),
                  [&] { vgpu::create_planned(root, *parent, id, uuid); });
      }
    }
  }
}

}  // namespace

fs::path journal_path(const fs::path& state_dir) {
  return state_dir / "node.journal";
}

ApplyReport apply(const SysfsRoot& root, const NodeSpec& spec, const ApplyOptions& options) {
  check_against_host(pci::probe(root), spec);
  ApplyReport report;
  Journal journal(journal_path(options.state_dir), !options.dry_run);
  report.resumed = journal.found();
  Steps steps(journal, report, options.dry_run);
  const std::set<Bdf> parked = finish_interrupted_sriov(steps, root, spec, options);  // 0.
  MigSteps mig(spec, options);
  try {
    mig.check(root);
  } catch (const Error& e) {
    // A dry run changed nothing: a GPU that step 0 would hand back to nvidia
    // is still invisible to NVML. Not bad input: say what to do.
    if (!options.dry_run || parked.empty()) throw;
    std::string gpus;
    for (const Bdf& b : parked) gpus += (gpus.empty() ? "" : ", ") + b.str();
    throw Error(Errc::kConflict,
                fmt::format("{}; an interrupted SR-IOV change left {} off the nvidia driver: run "
                            "gpuvm node apply without --dry-run to finish it, then plan again",
                            e.what(), gpus),
                e.sys_errno());
  }
  TypeCache cache(options.state_dir / "vgpu-types.json", !options.dry_run);

  std::vector<vgpu::Device> devices = vgpu::devices(root);
  prune(steps, root, spec, mig, devices, cache);  // 1.
  std::set<Bdf> vfs_changed;
  mig.set_modes(steps, root, vfs_changed);  // 2.
  mig.release();
  set_vfs(steps, root, spec, options, vfs_changed);  // 3.
  mig.layouts(steps, root, vfs_changed);             // 4.
  mig.heterogeneous(steps, root, vfs_changed);       // 5.
  mig.release();
  if (!options.dry_run) devices = vgpu::devices(root);
  create_vgpus(steps, root, spec, devices, cache, [&](const Bdf& gpu) {  // 6.
    return vfs_changed.count(gpu) != 0 || mig.mode_changes(gpu) || mig.layout_changes(gpu);
  });
  journal.finish();
  return report;
}

}  // namespace gpuvm::node
