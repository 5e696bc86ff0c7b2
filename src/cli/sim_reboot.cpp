// gpuvm-sim reboot DIR / reset DIR GPU: what a host reboot and a GPU reset do
// to the simulated host.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/command.h"
#include "cli/sim_commands.h"
#include "core/bdf.h"
#include "core/error.h"
#include "sim/host_ops.h"
#include "sim/host_state.h"
#include "sim/spec.h"

namespace gpuvm::cli {

int run_sim_reboot(const std::vector<std::string>& args) {
  CLI::App app(
      "Reboot the simulated host at DIR: VFs, vGPUs, GPU/compute instances are gone; the "
      "pending MIG mode takes effect where the model keeps MIG mode",
      "gpuvm-sim reboot");
  std::string mount, state_override;
  app.add_option("DIR", mount, "The mount point given to gpuvm-sim up")->required();
  app.add_option("--state", state_override, "Change this state file instead of the mount's");
  if (auto rc = parse_args(app, args)) return *rc;

  sim::StateFile file(sim_state_for(mount, state_override));
  file.update([](sim::HostState& s) {
    sim::reboot_host(s);
    // Devices come back with the drivers the spec binds at boot.
    try {
      const sim::HostState boot = sim::load_spec(s.meta.spec_path);
      for (auto& d : s.devices) {
        for (const auto& b : boot.devices) {
          if (b.bdf == d.bdf) d.driver = b.driver;
        }
      }
    } catch (const Error&) {
      // The spec moved away: keep the devices' drivers as they are.
    }
  });
  std::cout << "rebooted " << mount << "\n";
  return kExitOk;
}

int run_sim_reset(const std::vector<std::string>& args) {
  CLI::App app(
      "Reset one GPU of the simulated host at DIR (as nvidia-smi -r): the pending MIG mode "
      "becomes current, GPU/compute instances are dropped; refused while vGPUs exist",
      "gpuvm-sim reset");
  std::string mount, gpu_arg, state_override;
  app.add_option("DIR", mount, "The mount point given to gpuvm-sim up")->required();
  app.add_option("GPU", gpu_arg, "PCI address of the GPU (DDDD:BB:DD.F)")->required();
  app.add_option("--state", state_override, "Change this state file instead of the mount's");
  if (auto rc = parse_args(app, args)) return *rc;

  const Bdf bdf = Bdf::parse(gpu_arg);
  sim::StateFile file(sim_state_for(mount, state_override));
  bool mig = false;
  file.update([&](sim::HostState& s) {
    sim::GpuState* g = s.find_gpu(bdf);
    if (g == nullptr) throw Error(Errc::kNotFound, "no simulated GPU at " + bdf.str(), ENODEV);
    sim::reset_gpu(*g);
    mig = g->mig.current;
  });
  std::cout << "reset GPU " << bdf.str() << ": MIG mode " << (mig ? "enabled" : "disabled") << "\n";
  return kExitOk;
}

}  // namespace gpuvm::cli
