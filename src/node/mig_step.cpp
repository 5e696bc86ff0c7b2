#include "node/mig_step.h"

#include <fmt/format.h>

#include "core/error.h"
#include "mig/apply.h"
#include "mig/config.h"
#include "sriov/sriov.h"
#include "vgpu/type_name.h"
#include "vgpu/vgpu.h"

namespace gpuvm::node {
namespace {

std::string profile_name(const mig::ProfileTable& table, uint32_t id) {
  const mig::GiProfile* p = table.find_id(id);
  return p ? p->short_name() : fmt::format("profile {}", id);
}

// [[noreturn]] rethrow of an error about `where` with its text first.
[[noreturn]] void rethrow_at(const Error& e, const std::string& where) {
  throw Error(e.code(), fmt::format("{}: {}", where, e.what()), e.sys_errno());
}

// sriov_numvfs (PCI core) > 0.
bool has_vfs(const SysfsRoot& root, const Bdf& gpu) {
  const std::string n = read_attr(root.pci_device(gpu) / "sriov_numvfs").value_or("0");
  return n.find_first_not_of("0\n") != std::string::npos;
}

}  // namespace

MigSteps::MigSteps(const NodeSpec& spec, const ApplyOptions& options)
    : spec_(spec), options_(options) {}

mig::MigGpu& MigSteps::gpu(const Bdf& address, const std::string& where) {
  if (!host_) {
    if (!options_.open_nvml) {
      throw Error(Errc::kUnsupported, fmt::format("{} needs the NVML library, and none is given "
                                                  "(--nvml-lib, GPUVM_NVML_LIB)",
                                                  where));
    }
    try {
      host_ = options_.open_nvml();
    } catch (const Error& e) {
      rethrow_at(e, where + " needs the NVML library (--nvml-lib, GPUVM_NVML_LIB)");
    }
  }
  if (mig::MigGpu* g = mig::find_gpu(*host_, address)) return *g;
  throw_invalid(fmt::format("{}: NVML sees no GPU {} (is it bound to the nvidia driver?)", where,
                            address.str()));
}

void MigSteps::check(const SysfsRoot& root) {
  for (const GpuSpec& g : spec_.gpus) {
    if (!g.mig && !g.heterogeneous) continue;
    Target t;
    t.gpu = &g;
    const std::string addr = g.address.str();
    if (g.mig) {
      mig::MigGpu& mg = gpu(g.address, g.mig->where);
      const std::string label = fmt::format("{} ({})", addr, mg.identity().name);
      mig::MigMode mode;
      try {
        mode = mg.mig_mode();  // NOT_SUPPORTED: a GPU without MIG
      } catch (const mig::NvmlError& e) {
        if (e.rc() != NVML_ERROR_NOT_SUPPORTED) throw;
        throw_invalid(fmt::format("{}: {} does not support MIG", g.mig->where, label));
      }
      t.mode_change = mode.current != g.mig->enabled;
      if (t.mode_change && !g.mig->enabled && !g.vfs && has_vfs(root, g.address)) {
        throw_invalid(
            fmt::format("{}: turning MIG off needs the VFs of {} disabled first; say "
                        "what SR-IOV should be afterwards ('sriov: true|false|N')",
                        g.mig->where, addr));
      }
      for (const VgpuSpec& v : g.vgpus) {
        const auto parsed = vgpu::parse_type_name(vgpu::short_type_name(v.type));
        if (parsed && parsed->mig_backed() != g.mig->enabled) {
          throw_invalid(fmt::format("{}.type: {} is {}, and {} has MIG {}", v.where, v.type,
                                    parsed->mig_backed() ? "MIG-backed" : "time-sliced", g.where,
                                    g.mig->enabled ? "enabled" : "disabled"));
        }
      }
      if (g.mig->devices) {
        const mig::ProfileTable& table = mg.profiles();
        const std::string where = g.mig->where + ".devices";
        try {
          t.specs = mig::specs_for(table, *g.mig->devices, label);
        } catch (const Error& e) {
          rethrow_at(e, where);
        }
        std::vector<uint32_t> ids;
        std::map<uint32_t, unsigned> have;
        for (const mig::GiSpec& s : *t.specs) {
          ids.push_back(s.profile_id);
          ++have[s.profile_id];
        }
        const mig::FitResult fit = mig::fit(table, ids);
        if (!fit.ok) throw_invalid(fmt::format("{}: does not fit {}: {}", where, label, fit.why));
        t.counts = mig::device_counts(table, *g.mig->devices);
        // A MIG-backed vGPU takes one GPU instance of its profile.
        std::map<uint32_t, unsigned> need;
        for (const VgpuSpec& v : g.vgpus) {
          const auto parsed = vgpu::parse_type_name(vgpu::short_type_name(v.type));
          if (!parsed) continue;
          const mig::GiProfile* p = table.find_name(parsed->gi_profile());
          if (p == nullptr) {
            throw_invalid(
                fmt::format("{}.type: {} needs GPU instances of profile {}, which {} "
                            "does not have",
                            v.where, v.type, parsed->gi_profile(), label));
          }
          need[p->id] += v.vf ? 1 : v.count;
        }
        for (const auto& [id, n] : need) {
          if (n > have[id]) {
            throw_invalid(
                fmt::format("{}: {} MIG-backed vGPU(s) need {} GPU instance(s) of {}, "
                            "and {} has {}",
                            g.where, n, n, profile_name(table, id), where, have[id]));
          }
        }
      }
    }
    if (g.heterogeneous) {
      const std::string where = g.where + ".heterogeneous";
      mig::MigGpu& mg = gpu(g.address, where);
      try {
        (void)mg.vgpu_heterogeneous_mode();
      } catch (const mig::NvmlError& e) {
        if (e.rc() != NVML_ERROR_NOT_SUPPORTED) throw;
        throw_invalid(
            fmt::format("{}: {} has no vGPU heterogeneous mode (no vGPU manager?)", where, addr));
      }
      if (*g.heterogeneous && !g.mig) {
        bool mig_on = false;
        try {
          mig_on = mg.mig_mode().current;
        } catch (const mig::NvmlError&) {
        }
        if (mig_on) {
          throw_invalid(
              fmt::format("{}: mixed-size mode is for time-sliced vGPUs, and {} has "
                          "MIG enabled",
                          where, addr));
        }
      }
    }
    targets_.push_back(std::move(t));
  }
}

bool MigSteps::mode_changes(const Bdf& address) const {
  for (const Target& t : targets_) {
    if (t.gpu->address == address) return t.mode_change;
  }
  return false;
}

void MigSteps::set_modes(Steps& steps, const SysfsRoot& root, std::set<Bdf>& vfs_dropped) {
  for (const Target& t : targets_) {
    if (!t.mode_change) continue;
    const GpuSpec& g = *t.gpu;
    const std::string addr = g.address.str();
    const bool enable = g.mig->enabled;
    if (!enable) {
      mig::MigGpu& mg = gpu(g.address, g.mig->where);
      const std::vector<mig::GpuInstance> current = mg.gpu_instances();
      if (!current.empty()) {
        steps.run(fmt::format("destroy the {} GPU instance(s) of {}", current.size(), addr),
                  [&] { mig::execute_plan(mg, mig::plan_layout(mg.profiles(), current, {})); });
      }
      // The driver refuses -mig 0 while VFs exist (reference nvidia.md §8.13).
      if (has_vfs(root, g.address)) {
        steps.run(fmt::format("disable the VFs of {} (MIG mode changes only without VFs)", addr),
                  [&] {
                    release();
                    sriov::Options so;
                    so.state_dir = options_.state_dir;
                    sriov::disable(root, g.address, so);
                  });
        vfs_dropped.insert(g.address);
      }
    }
    steps.run(fmt::format("{} MIG mode on {}", enable ? "enable" : "disable", addr), [&] {
      mig::MigGpu& mg = gpu(g.address, g.mig->where);
      const nvmlReturn_t activation = mg.set_mig_mode(enable);
      if (activation != NVML_SUCCESS || mg.mig_mode().current != enable) {
        throw Error(Errc::kConflict,
                    fmt::format("{}: MIG mode {} is pending ({}): reset the GPU or reboot the "
                                "host, then apply again",
                                addr, enable ? "enable" : "disable",
                                mig::nvml_default_error_string(activation)));
      }
    });
  }
}

void MigSteps::destroy_vgpus_on(Steps& steps, const SysfsRoot& root, const Bdf& address,
                                const std::vector<uint32_t>& gis) {
  const std::set<uint32_t> doomed(gis.begin(), gis.end());
  for (const vgpu::Device& d : vgpu::devices(root)) {
    if (d.pf.value_or(d.parent) != address) continue;
    // Legacy mdevs show no GPU instance here: every one of the GPU goes.
    bool on = true;
    if (d.interface == vgpu::Interface::kVendorSpecific) {
      try {
        // nvidia/gpu_instance_id (vendor-specific VFIO): the GI the VF's vGPU sits on.
        const auto gi = read_attr(root.pci_device(d.parent) / "nvidia/gpu_instance_id");
        on = !gi || doomed.count(static_cast<uint32_t>(std::stoul(*gi))) != 0;
      } catch (const std::exception&) {
        on = true;  // unreadable: it may block the destroy, so it goes
      }
    }
    if (!on) continue;
    steps.run(fmt::format("destroy vGPU {} ({}) on {}: its GPU instance goes", d.uuid.str(),
                          d.type_name.empty() ? d.type_id : d.type_name, d.parent.str()),
              [&] { vgpu::destroy(root, d.uuid.str()); });
  }
}

void MigSteps::layouts(Steps& steps, const SysfsRoot& root, const std::set<Bdf>& wiped) {
  for (const Target& t : targets_) {
    const GpuSpec& g = *t.gpu;
    // An entry with heterogeneous: alone has no mig: (no layout).
    if (!g.mig || !g.mig->enabled || !t.specs) continue;
    mig::MigGpu& mg = gpu(g.address, g.mig->where);
    const mig::ProfileTable& table = mg.profiles();
    const std::string addr = g.address.str();
    // A dry run has changed nothing: plan as the run would find the GPU.
    const bool from_nothing = steps.dry_run() && (t.mode_change || wiped.count(g.address) != 0);
    const std::vector<mig::GpuInstance> current =
        from_nothing ? std::vector<mig::GpuInstance>{} : mg.gpu_instances();
    if (mig::device_counts(table, current) == t.counts) continue;
    layout_changes_.insert(g.address);
    const mig::Plan plan = mig::plan_layout(table, current, *t.specs);
    if (!plan.destroy_gis.empty()) destroy_vgpus_on(steps, root, g.address, plan.destroy_gis);
    // One journal step per instance; each runs (and rolls back) on its own.
    auto run = [&](const std::string& step, const mig::Plan& one) {
      steps.run(fmt::format("{} on {}", step, addr), [&] { mig::execute_plan(mg, one); });
    };
    const std::set<uint32_t> destroyed(plan.destroy_gis.begin(), plan.destroy_gis.end());
    for (uint32_t id : plan.destroy_gis) {
      mig::Plan one;
      for (const auto& d : plan.destroy_cis) {
        if (d.gi_id == id) one.destroy_cis.push_back(d);
      }
      one.destroy_gis = {id};
      std::string profile = "?";
      for (const auto& gi : current) {
        if (gi.id == id) profile = profile_name(table, gi.profile_id);
      }
      run(fmt::format("destroy GPU instance {} ({})", id, profile), one);
    }
    for (const auto& d : plan.destroy_cis) {
      if (destroyed.count(d.gi_id) != 0) continue;
      mig::Plan one;
      one.destroy_cis = {d};
      run(fmt::format("destroy compute instance {} of GPU instance {}", d.ci_id, d.gi_id), one);
    }
    for (const auto& c : plan.create_gis) {
      mig::Plan one;
      one.create_gis = {c};
      std::string cis;
      for (uint32_t s : c.ci_slices) cis += fmt::format("{}{}c", cis.empty() ? "" : ",", s);
      run(fmt::format("create GPU instance {} at {}:{}{}", profile_name(table, c.profile_id),
                      c.placement.start, c.placement.size,
                      cis.empty() ? "" : " with compute instance(s) " + cis),
          one);
    }
    for (const auto& c : plan.create_cis) {
      mig::Plan one;
      one.create_cis = {c};
      run(fmt::format("create a {}-slice compute instance in GPU instance {}", c.slices, c.gi_id),
          one);
    }
  }
}

void MigSteps::heterogeneous(Steps& steps, const SysfsRoot& root, const std::set<Bdf>& wiped) {
  for (const Target& t : targets_) {
    const GpuSpec& g = *t.gpu;
    if (!g.heterogeneous) continue;
    const std::string where = g.where + ".heterogeneous";
    const std::string addr = g.address.str();
    mig::MigGpu& mg = gpu(g.address, where);
    // sriov-manage clears the mode: a dry run finds it off after a VF change.
    const bool now =
        steps.dry_run() && wiped.count(g.address) != 0 ? false : mg.vgpu_heterogeneous_mode();
    if (now == *g.heterogeneous) continue;
    if (!steps.dry_run()) {
      for (const vgpu::Device& d : vgpu::devices(root)) {
        if (d.pf.value_or(d.parent) != g.address) continue;
        throw Error(Errc::kConflict,
                    fmt::format("{}: the mode can change only while {} holds no vGPU, and it "
                                "holds {} on {}: destroy it (or drop it from the file) first",
                                where, addr, d.uuid.str(), d.parent.str()));
      }
    }
    steps.run(
        fmt::format("set vGPU {} mode on {}",
                    *g.heterogeneous ? "heterogeneous (mixed-size)" : "homogeneous (equal-size)",
                    addr),
        [&] { mg.set_vgpu_heterogeneous_mode(*g.heterogeneous); });
  }
}

}  // namespace gpuvm::node
