#include "mig/smi.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "mig/apply.h"
#include "mig/config.h"
#include "mig/format.h"
#include "mig/solver.h"

namespace gpuvm::mig {
namespace {

constexpr const char* kNoMigDevices = "No MIG-enabled devices found.\n";

// nvidia-smi's way out: the NVML text, and the NVML code as exit status.
SmiOutput nvml_failure(std::string out, nvmlReturn_t rc) {
  return {std::move(out), "", static_cast<int>(rc)};
}

bool parse_uint(const std::string& s, unsigned& v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

// "0000:06:00.0" and "00000000:06:00.0" name the same device.
bool same_bus_id(const std::string& a, const std::string& b) {
  unsigned d1, b1, s1, f1, d2, b2, s2, f2;
  if (std::sscanf(a.c_str(), "%x:%x:%x.%x", &d1, &b1, &s1, &f1) != 4) return false;
  if (std::sscanf(b.c_str(), "%x:%x:%x.%x", &d2, &b2, &s2, &f2) != 4) return false;
  return d1 == d2 && b1 == b2 && s1 == s2 && f1 == f2;
}

// -i values -> GPU indexes (all GPUs when none), or nullopt when one does
// not name a GPU (nvidia-smi: "No devices were found", NOT_FOUND).
std::optional<std::vector<unsigned>> select_gpus(MigHost& host,
                                                 const std::vector<std::string>& ids) {
  std::vector<unsigned> out;
  unsigned count = host.gpu_count();
  if (ids.empty()) {
    for (unsigned i = 0; i < count; ++i) out.push_back(i);
    return out;
  }
  for (const std::string& id : ids) {
    unsigned index = 0;
    std::optional<unsigned> found;
    if (parse_uint(id, index)) {
      if (index < count) found = index;
    } else {
      for (unsigned i = 0; i < count && !found; ++i) {
        const GpuIdentity& g = host.gpu(i).identity();
        if (g.uuid == id || same_bus_id(g.pci_bus_id, id)) found = i;
      }
    }
    if (!found) return std::nullopt;
    if (std::find(out.begin(), out.end(), *found) == out.end()) out.push_back(*found);
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool mig_current(MigGpu& gpu) {
  try {
    return gpu.mig_mode().current;
  } catch (const NvmlError& e) {
    if (e.rc() == NVML_ERROR_NOT_SUPPORTED) return false;  // no MIG on this GPU
    throw;
  }
}

// A profile given to -cgi: ID, "ID:START" (explicit placement) or name.
struct ProfileArg {
  const GiProfile* profile = nullptr;
  std::optional<Placement> placement;
};

std::optional<ProfileArg> resolve_gi_profile(const ProfileTable& t, const std::string& s) {
  ProfileArg out;
  std::string id_part = s;
  std::optional<unsigned> start;
  if (size_t colon = s.find(':'); colon != std::string::npos) {
    unsigned v = 0;
    if (!parse_uint(s.substr(colon + 1), v)) return std::nullopt;
    start = v;
    id_part = s.substr(0, colon);
  }
  unsigned id = 0;
  out.profile = parse_uint(id_part, id) ? t.find_id(id) : t.find_name(id_part);
  if (out.profile == nullptr) return std::nullopt;
  if (start) {
    uint32_t size = out.profile->placements.empty() ? 0 : out.profile->placements.front().size;
    out.placement = Placement{*start, size};
  }
  return out;
}

const CiProfile* resolve_ci_profile(const std::vector<CiProfile>& cps, const std::string& s) {
  unsigned id = 0;
  bool numeric = parse_uint(s, id);
  std::string_view name = s;
  if (name.starts_with("MIG ")) name.remove_prefix(4);
  for (const CiProfile& p : cps) {
    std::string_view pn = p.name;
    if (pn.starts_with("MIG ")) pn.remove_prefix(4);
    if (numeric ? p.id == id : pn == name) return &p;
  }
  return nullptr;
}

std::vector<GpuInstance> selected_gis(MigGpu& gpu,
                                      const std::optional<std::vector<unsigned>>& ids) {
  std::vector<GpuInstance> all = gpu.gpu_instances();
  if (!ids) return all;
  std::vector<GpuInstance> out;
  for (const GpuInstance& gi : all)
    if (std::find(ids->begin(), ids->end(), gi.id) != ids->end()) out.push_back(gi);
  return out;
}

SmiOutput list_profiles(MigHost& host, const std::vector<unsigned>& gpus, const SmiArgs& a) {
  std::vector<GpuProfiles> rows;
  for (unsigned i : gpus) {
    MigGpu& g = host.gpu(i);
    GpuProfiles p;
    p.index = i;
    try {
      p.table = g.profiles();
    } catch (const NvmlError& e) {
      if (e.rc() == NVML_ERROR_NOT_SUPPORTED) continue;  // not a MIG GPU
      throw;
    }
    if (p.table.gi.empty()) continue;
    for (const GiProfile& prof : p.table.gi) p.remaining[prof.id] = g.remaining_capacity(prof.id);
    rows.push_back(std::move(p));
  }
  if (rows.empty()) return nvml_failure(kNoMigDevices, NVML_ERROR_NOT_FOUND);
  if (a.json) return {json_profiles(rows), "", 0};
  return {a.verb == SmiVerb::kListGiProfiles ? format_lgip(rows) : format_lgipp(rows), "", 0};
}

SmiOutput list_gis(MigHost& host, const std::vector<unsigned>& gpus, const SmiArgs& a, bool cis) {
  std::vector<GpuInstances> rows;
  size_t n = 0;
  bool any_mig = false;
  for (unsigned i : gpus) {
    MigGpu& g = host.gpu(i);
    if (!mig_current(g)) continue;
    any_mig = true;
    GpuInstances r{i, g.profiles(), selected_gis(g, a.gi_ids)};
    for (const GpuInstance& gi : r.instances) n += cis ? gi.compute_instances.size() : 1;
    rows.push_back(std::move(r));
  }
  // Listing on a host without MIG-enabled GPUs is not an error for nvidia-smi:
  // the R580 driver's nvidia-smi prints the line and exits 0 (real H100).
  if (!any_mig) return {kNoMigDevices, "", 0};
  if (a.json) return {json_instances(rows), "", 0};
  if (n == 0)
    return nvml_failure(
        cis ? "No compute instances found: Not Found\n" : "No GPU instances found: Not Found\n",
        NVML_ERROR_NOT_FOUND);
  return {cis ? format_lci(rows) : format_lgi(rows), "", 0};
}

SmiOutput list_ci_profiles(MigHost& host, const std::vector<unsigned>& gpus, const SmiArgs& a) {
  std::vector<GiCiProfiles> rows;
  bool any_mig = false;
  for (unsigned i : gpus) {
    MigGpu& g = host.gpu(i);
    if (!mig_current(g)) continue;
    any_mig = true;
    for (const GpuInstance& gi : selected_gis(g, a.gi_ids)) {
      const GiProfile* p = g.profiles().find_id(gi.profile_id);
      rows.push_back({i, gi.id, p ? p->slice_count : 0, g.ci_profiles(gi.id)});
    }
  }
  if (!any_mig) return {kNoMigDevices, "", 0};  // exit 0, as -lgi above
  if (a.json) return {json_ci_profiles(rows), "", 0};
  if (rows.empty())
    return nvml_failure("No GPU instances found: Not Found\n", NVML_ERROR_NOT_FOUND);
  return {format_lcip(rows), "", 0};
}

SmiOutput create_gis(MigHost& host, const std::vector<unsigned>& gpus, const SmiArgs& a) {
  SmiOutput o;
  bool any_mig = false;
  for (unsigned i : gpus) {
    MigGpu& g = host.gpu(i);
    if (!mig_current(g)) continue;
    any_mig = true;
    for (const std::string& want : a.profiles) {
      std::optional<ProfileArg> p = resolve_gi_profile(g.profiles(), want);
      nvmlReturn_t rc = NVML_SUCCESS;
      std::string text;
      GpuInstance gi;
      if (!p) {
        rc = NVML_ERROR_INVALID_ARGUMENT;
        text = nvml_default_error_string(rc);
      } else {
        try {
          gi = g.create_gpu_instance(p->profile->id, p->placement);
        } catch (const NvmlError& e) {
          rc = e.rc();
          text = e.text();
        }
      }
      if (rc != NVML_SUCCESS) {
        o.out += fmt::format("Unable to create a GPU instance on GPU {:>2} using profile {}: {}\n",
                             i, want, text);
        o.out += fmt::format("Failed to create GPU instances: {}\n", text);
        o.exit_code = rc;
        return o;
      }
      o.out += msg_created_gi(i, gi.id, p->profile->name, p->profile->id);
      if (a.default_ci) {
        try {
          uint32_t ci_profile = ci_profile_for(g, gi.id, p->profile->slice_count);
          ComputeInstance ci = g.create_compute_instance(gi.id, ci_profile, std::nullopt);
          std::string name;
          for (const CiProfile& cp : g.ci_profiles(gi.id))
            if (cp.id == ci.profile_id) name = cp.name;
          o.out += msg_created_ci(i, gi.id, ci.id, name, ci.profile_id);
        } catch (const NvmlError& e) {
          o.out += fmt::format(
              "Unable to create a compute instance on GPU {:>2} GPU instance ID "
              "{:>2} using profile {}: {}\n",
              i, gi.id, want, e.text());
          o.out += fmt::format("Failed to create compute instances: {}\n", e.text());
          o.exit_code = e.rc();
          return o;
        }
      }
    }
  }
  if (!any_mig) return nvml_failure(kNoMigDevices, NVML_ERROR_NOT_FOUND);
  return o;
}

SmiOutput destroy_gis(MigHost& host, const std::vector<unsigned>& gpus, const SmiArgs& a) {
  SmiOutput o;
  bool any_mig = false, any = false;
  for (unsigned i : gpus) {
    MigGpu& g = host.gpu(i);
    if (!mig_current(g)) continue;
    any_mig = true;
    std::vector<unsigned> ids;
    if (a.gi_ids) {
      ids = *a.gi_ids;
    } else {
      for (const GpuInstance& gi : g.gpu_instances()) ids.push_back(gi.id);
    }
    for (unsigned id : ids) {
      any = true;
      try {
        g.destroy_gpu_instance(id);
        o.out += msg_destroyed_gi(i, id);
      } catch (const NvmlError& e) {
        o.out += fmt::format("Unable to destroy GPU instance ID {:>2} from GPU {:>2}: {}\n", id, i,
                             e.text());
        o.out += fmt::format("Failed to destroy GPU instances: {}\n", e.text());
        o.exit_code = e.rc();
        return o;
      }
    }
  }
  if (!any_mig) return nvml_failure(kNoMigDevices, NVML_ERROR_NOT_FOUND);
  if (!any) return nvml_failure("No GPU instances found: Not Found\n", NVML_ERROR_NOT_FOUND);
  return o;
}

SmiOutput create_cis(MigHost& host, const std::vector<unsigned>& gpus, const SmiArgs& a) {
  SmiOutput o;
  bool any_mig = false, any = false;
  for (unsigned i : gpus) {
    MigGpu& g = host.gpu(i);
    if (!mig_current(g)) continue;
    any_mig = true;
    for (const GpuInstance& gi : selected_gis(g, a.gi_ids)) {
      any = true;
      const GiProfile* gp = g.profiles().find_id(gi.profile_id);
      std::vector<CiProfile> cps = g.ci_profiles(gi.id);
      std::vector<std::string> wanted = a.profiles;
      if (wanted.empty()) {  // the default (full-GI) compute instance
        for (const CiProfile& cp : cps)
          if (gp && cp.slice_count == gp->slice_count) wanted.push_back(std::to_string(cp.id));
      }
      for (const std::string& w : wanted) {
        const CiProfile* cp = resolve_ci_profile(cps, w);
        try {
          if (cp == nullptr)
            throw NvmlError(NVML_ERROR_INVALID_ARGUMENT,
                            nvml_default_error_string(NVML_ERROR_INVALID_ARGUMENT), "bad profile");
          ComputeInstance ci = g.create_compute_instance(gi.id, cp->id, std::nullopt);
          o.out += msg_created_ci(i, gi.id, ci.id, cp->name, cp->id);
        } catch (const NvmlError& e) {
          o.out += fmt::format(
              "Unable to create a compute instance on GPU {:>2} GPU instance ID "
              "{:>2} using profile {}: {}\n",
              i, gi.id, w, e.text());
          o.out += fmt::format("Failed to create compute instances: {}\n", e.text());
          o.exit_code = e.rc();
          return o;
        }
      }
    }
  }
  if (!any_mig) return nvml_failure(kNoMigDevices, NVML_ERROR_NOT_FOUND);
  if (!any) return nvml_failure("No GPU instances found: Not Found\n", NVML_ERROR_NOT_FOUND);
  return o;
}

SmiOutput destroy_cis(MigHost& host, const std::vector<unsigned>& gpus, const SmiArgs& a) {
  SmiOutput o;
  bool any_mig = false, any = false;
  for (unsigned i : gpus) {
    MigGpu& g = host.gpu(i);
    if (!mig_current(g)) continue;
    any_mig = true;
    for (const GpuInstance& gi : selected_gis(g, a.gi_ids)) {
      for (const ComputeInstance& ci : gi.compute_instances) {
        if (a.ci_ids && std::find(a.ci_ids->begin(), a.ci_ids->end(), ci.id) == a.ci_ids->end())
          continue;
        any = true;
        try {
          g.destroy_compute_instance(gi.id, ci.id);
          o.out += msg_destroyed_ci(i, gi.id, ci.id);
        } catch (const NvmlError& e) {
          o.out += fmt::format(
              "Unable to destroy compute instance ID {:>2} from GPU {:>2} GPU "
              "instance ID {:>2}: {}\n",
              ci.id, i, gi.id, e.text());
          o.out += fmt::format("Failed to destroy compute instances: {}\n", e.text());
          o.exit_code = e.rc();
          return o;
        }
      }
    }
  }
  if (!any_mig) return nvml_failure(kNoMigDevices, NVML_ERROR_NOT_FOUND);
  if (!any) return nvml_failure("No compute instances found: Not Found\n", NVML_ERROR_NOT_FOUND);
  return o;
}

SmiOutput set_mode(MigHost& host, const std::vector<unsigned>& gpus, bool enable) {
  SmiOutput o;
  for (unsigned i : gpus) {
    MigGpu& g = host.gpu(i);
    const std::string& bus = g.identity().pci_bus_id;
    nvmlReturn_t activation = NVML_SUCCESS;
    try {
      activation = g.set_mig_mode(enable);
    } catch (const NvmlError& e) {
      o.out += fmt::format("Unable to {} MIG Mode for GPU {}: {}\n", enable ? "enable" : "disable",
                           bus, e.text());
      o.exit_code = e.rc();
      continue;
    }
    MigMode m = g.mig_mode();
    if (activation == NVML_SUCCESS && m.current == enable) {
      o.out += fmt::format("{} MIG Mode for GPU {}\n", enable ? "Enabled" : "Disabled", bus);
    } else {
      // Pending until a GPU reset (Ampere) or a VM reboot (passthrough).
      std::string why =
          activation == NVML_SUCCESS ? "Pending" : nvml_default_error_string(activation);
      o.out += fmt::format("Warning: MIG mode is in pending {} state for GPU {}:{}\n",
                           enable ? "enable" : "disable", bus, why);
      o.out += fmt::format(
          "Reboot the system or try nvidia-smi --gpu-reset to make MIG mode "
          "effective on GPU {}\n",
          bus);
    }
  }
  o.out += "All done.\n";
  return o;
}

}  // namespace

SmiOutput run_smi(MigHost& host, const SmiArgs& a) {
  std::optional<std::vector<unsigned>> gpus = select_gpus(host, a.gpus);
  if (!gpus) return nvml_failure("No devices were found\n", NVML_ERROR_NOT_FOUND);
  switch (a.verb) {
    case SmiVerb::kListGiProfiles:
    case SmiVerb::kListGiPlacements:
      return list_profiles(host, *gpus, a);
    case SmiVerb::kListGis:
      return list_gis(host, *gpus, a, false);
    case SmiVerb::kListCis:
      return list_gis(host, *gpus, a, true);
    case SmiVerb::kListCiProfiles:
      return list_ci_profiles(host, *gpus, a);
    case SmiVerb::kCreateGis:
      return create_gis(host, *gpus, a);
    case SmiVerb::kDestroyGis:
      return destroy_gis(host, *gpus, a);
    case SmiVerb::kCreateCis:
      return create_cis(host, *gpus, a);
    case SmiVerb::kDestroyCis:
      return destroy_cis(host, *gpus, a);
    case SmiVerb::kEnable:
      return set_mode(host, *gpus, true);
    case SmiVerb::kDisable:
      return set_mode(host, *gpus, false);
    case SmiVerb::kApply:
    case SmiVerb::kAssert:
      return run_config_verb(host, a);
    case SmiVerb::kNone:
    case SmiVerb::kHelp:
      break;
  }
  return {smi_usage(), "", 0};
}

namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_invalid(fmt::format("cannot read config file {}", path));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string gpu_label(const GpuIdentity& g) {
  return fmt::format("GPU {} ({}, {})", g.index, g.pci_bus_id, g.name);
}

// What the config wants from one GPU.
struct GpuTarget {
  unsigned index = 0;
  const MigConfigEntry* entry = nullptr;
};

}  // namespace

void check_config_file(const SmiArgs& a) {
  MigPartedConfig config = parse_mig_parted(read_text(a.config_file), a.config_file);
  select_config(config, a.selected_config, a.config_file);
}

SmiOutput run_config_verb(MigHost& host, const SmiArgs& a) {
  const bool apply = a.verb == SmiVerb::kApply;
  // The caller holds the host lock (gpuvm mig takes it for apply).
  MigPartedConfig config = parse_mig_parted(read_text(a.config_file), a.config_file);
  const std::vector<MigConfigEntry>& entries =
      select_config(config, a.selected_config, a.config_file);

  const unsigned count = host.gpu_count();
  for (const MigConfigEntry& e : entries)
    for (unsigned d : e.devices)
      if (d >= count)
        throw_invalid(fmt::format("{}: config '{}' names GPU {}, but this host has {} GPU(s)",
                                  a.config_file, a.selected_config, d, count));
  // mig-parted's walk: every entry in order, every GPU it matches; the last wins.
  std::map<unsigned, GpuTarget> targets;
  for (const MigConfigEntry& e : entries) {
    for (unsigned i = 0; i < count; ++i) {
      const GpuIdentity& id = host.gpu(i).identity();
      if (!device_filter_matches(e.device_filter, id.pci_device_id, id.pci_subsystem_id)) continue;
      if (!e.all_devices && std::find(e.devices.begin(), e.devices.end(), i) == e.devices.end())
        continue;
      targets[i] = {i, &e};
    }
  }
  if (!a.gpus.empty()) {
    std::optional<std::vector<unsigned>> only = select_gpus(host, a.gpus);
    if (!only) throw Error(Errc::kNotFound, "-i names no GPU of this host");
    for (auto it = targets.begin(); it != targets.end();)
      it = std::find(only->begin(), only->end(), it->first) == only->end() ? targets.erase(it)
                                                                           : std::next(it);
  }

  // Check every GPU first: nothing changes unless all of them can be done.
  struct Work {
    unsigned index;
    bool want_mig;
    std::vector<GiSpec> specs;
    std::map<std::string, unsigned> want_counts;
  };
  std::vector<Work> work;
  for (auto& [i, t] : targets) {
    MigGpu& g = host.gpu(i);
    Work w{i, t.entry->mig_enabled, {}, {}};
    MigMode mode{};
    bool capable = true;
    try {
      mode = g.mig_mode();
    } catch (const NvmlError& e) {
      if (e.rc() != NVML_ERROR_NOT_SUPPORTED) throw;
      capable = false;
    }
    if (!capable) {
      // mig-parted: "devices: all" skips GPUs without MIG; naming one is an error.
      if (w.want_mig && !t.entry->all_devices)
        throw_invalid(fmt::format("{} does not support MIG", gpu_label(g.identity())));
      continue;
    }
    (void)mode;
    if (w.want_mig) {
      const ProfileTable& table = g.profiles();
      w.specs = specs_for(table, t.entry->mig_devices, gpu_label(g.identity()));
      std::vector<uint32_t> ids;
      for (const GiSpec& s : w.specs) ids.push_back(s.profile_id);
      FitResult f = fit(table, ids);
      if (!f.ok)
        throw_invalid(fmt::format("config '{}' does not fit {}: {}", a.selected_config,
                                  gpu_label(g.identity()), f.why));
      w.want_counts = device_counts(table, t.entry->mig_devices);
    }
    work.push_back(std::move(w));
  }

  SmiOutput o;
  if (!apply) {  // assert
    std::vector<std::string> differ;
    for (const Work& w : work) {
      MigGpu& g = host.gpu(w.index);
      MigMode m = g.mig_mode();
      if (m.current != w.want_mig) {
        differ.push_back(fmt::format("{}: MIG mode is {}, the config wants it {}",
                                     gpu_label(g.identity()), m.current ? "enabled" : "disabled",
                                     w.want_mig ? "enabled" : "disabled"));
        continue;
      }
      if (!w.want_mig) continue;
      auto have = device_counts(g.profiles(), g.gpu_instances());
      if (have != w.want_counts) {
        auto fmt_counts = [](const std::map<std::string, unsigned>& c) {
          std::string s;
          for (const auto& [n, k] : c) s += fmt::format("{}{}: {}", s.empty() ? "" : ", ", n, k);
          return s.empty() ? std::string("none") : s;
        };
        differ.push_back(fmt::format("{}: has {}; the config wants {}", gpu_label(g.identity()),
                                     fmt_counts(have), fmt_counts(w.want_counts)));
      }
    }
    if (differ.empty()) {
      o.out = "Selected MIG configuration currently applied\n";
      return o;
    }
    for (const std::string& d : differ) o.err += d + "\n";
    o.err += "Assertion failure: selected configuration not currently applied\n";
    o.exit_code = 1;
    return o;
  }

  for (const Work& w : work) {
    MigGpu& g = host.gpu(w.index);
    const std::string label = gpu_label(g.identity());
    MigMode m = g.mig_mode();
    if (!w.want_mig) {
      if (!m.current && !m.pending) {
        o.out += fmt::format("GPU {:>2}: MIG disabled, as configured\n", w.index);
        continue;
      }
      if (a.dry_run) {
        o.out += fmt::format("GPU {:>2}: destroy every instance and disable MIG mode\n", w.index);
        continue;
      }
      if (m.current) execute_plan(g, plan_layout(g.profiles(), g.gpu_instances(), {}));
      nvmlReturn_t act = g.set_mig_mode(false);
      o.out += act == NVML_SUCCESS && !g.mig_mode().current
                   ? fmt::format("GPU {:>2}: MIG mode disabled\n", w.index)
                   : fmt::format(
                         "GPU {:>2}: MIG mode disable pending; reset the GPU (or reboot "
                         "the VM) to make it effective\n",
                         w.index);
      continue;
    }
    if (!m.current) {
      if (a.dry_run) {
        o.out += fmt::format("GPU {:>2}: enable MIG mode{}\n", w.index,
                             m.pending ? " (pending: needs a GPU reset)" : "");
        o.out += describe_plan(g.profiles(), plan_layout(g.profiles(), {}, w.specs), w.index);
        continue;
      }
      nvmlReturn_t act = g.set_mig_mode(true);
      if (act != NVML_SUCCESS || !g.mig_mode().current)
        throw Error(Errc::kConflict,
                    fmt::format("{}: MIG mode is pending enable ({}): reset the GPU or reboot "
                                "the VM, then apply again; no instance was created",
                                label, nvml_default_error_string(act)));
      o.out += fmt::format("GPU {:>2}: MIG mode enabled\n", w.index);
    }
    std::vector<GpuInstance> current = g.gpu_instances();
    if (device_counts(g.profiles(), current) == w.want_counts) {
      o.out += fmt::format("GPU {:>2}: already as configured, nothing to do\n", w.index);
      continue;
    }
    Plan plan = plan_layout(g.profiles(), current, w.specs);
    if (a.dry_run) {
      o.out += describe_plan(g.profiles(), plan, w.index);
      continue;
    }
    std::vector<std::string> log;
    execute_plan(g, plan, &log);
    for (const std::string& line : log) o.out += fmt::format("GPU {:>2}: {}\n", w.index, line);
  }
  if (!a.dry_run) o.out += "MIG configuration applied successfully\n";
  return o;
}

}  // namespace gpuvm::mig
