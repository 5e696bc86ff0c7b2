// gpuvm-sim status DIR: the simulated host as it is now.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/sim_commands.h"
#include "core/error.h"
#include "sim/host_state.h"
#include "sim/models.h"

namespace gpuvm::cli {

std::filesystem::path sim_state_for(const std::string& mount, const std::string& state_override) {
  if (!state_override.empty()) return state_override;
  const auto abs = std::filesystem::absolute(mount).lexically_normal();
  if (auto p = sim::state_path_for_mount(abs)) return *p;
  throw Error(
      Errc::kNotFound,
      abs.string() + " is not a gpuvm-sim mount (give --state <state.json> for a stopped one)",
      ENOENT);
}

int run_sim_status(const std::vector<std::string>& args) {
  CLI::App app("Show the simulated host mounted at DIR", "gpuvm-sim status");
  std::string mount, state_override, format = "text";
  app.add_option("DIR", mount, "The mount point given to gpuvm-sim up")->required();
  app.add_option("--state", state_override, "Read this state file instead of the mount's");
  app.add_option("--format", format, "Output: text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  if (auto rc = parse_args(app, args)) return *rc;

  const auto path = sim_state_for(mount, state_override);
  const sim::HostState s = sim::StateFile(path).read();
  if (format == "json") {
    nlohmann::json j = {{"state", path.string()}, {"host", nlohmann::json::parse(sim::to_json(s))}};
    std::cout << j.dump(2) << "\n";
    return kExitOk;
  }
  fmt::print("state {}  mount {}  daemon pid {}  generation {}\n", path.string(),
             s.meta.mount.empty() ? "-" : s.meta.mount, s.meta.daemon_pid, s.generation);
  for (const auto& g : s.gpus) {
    fmt::print(
        "{}  {:<15} vgpu={:<15} driver={:<11} numa={:>2} VFs {}/{}  MIG {}{}{}\n", g.bdf.str(),
        g.model, sim::vgpu_mode_name(g.vgpu_mode), g.driver.empty() ? "-" : g.driver, g.numa_node,
        g.sriov_numvfs(), g.sriov_totalvfs, g.mig.current ? "on" : "off",
        g.mig.pending != g.mig.current ? (g.mig.pending ? " (pending on)" : " (pending off)") : "",
        g.fallen_off_bus ? "  FALLEN OFF THE BUS" : "");
    for (const auto& gi : g.mig.gpu_instances) {
      fmt::print("    GI {:>2} profile {:>2} placement {}:{}  CIs {}\n", gi.id, gi.profile_id,
                 gi.start, gi.size, gi.compute_instances.size());
    }
    const sim::GpuModel& m = sim::model(g.model);
    for (uint32_t i = 0; i < g.sriov_numvfs(); ++i) {
      if (g.vfs[i].vgpu_type == 0) continue;
      const auto* t = sim::find_vgpu_type(m.vendor_types, g.vfs[i].vgpu_type);
      fmt::print("    VF {} vGPU {} ({})\n", sim::vf_bdf(g.bdf, i).str(), g.vfs[i].vgpu_type,
                 t ? t->name : "?");
    }
    for (const auto& md : g.mdevs) {
      const auto* t = sim::find_vgpu_type(m.legacy_types, md.type_id);
      fmt::print("    mdev {} on {} nvidia-{} ({})\n", md.uuid, md.parent.str(), md.type_id,
                 t ? t->name : "?");
    }
  }
  for (const auto& d : s.devices) {
    fmt::print("{}  {:04x}:{:04x} class {:06x} driver={}\n", d.bdf.str(), d.vendor, d.device,
               d.class_code, d.driver.empty() ? "-" : d.driver);
  }
  return kExitOk;
}

}  // namespace gpuvm::cli
