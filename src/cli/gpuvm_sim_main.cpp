// gpuvm-sim: a simulated NVIDIA GPU host (docs/simulator.md). The table of
// subcommands is the whole main.
#include "cli/command.h"
#include "cli/sim_commands.h"

namespace {

constexpr gpuvm::cli::Command kCommands[] = {
    {"up", "Mount a simulated host's /sys from a host spec, in the background",
     gpuvm::cli::run_sim_up},
    {"down", "Unmount a simulated host", gpuvm::cli::run_sim_down},
    {"status", "Show a simulated host: GPUs, VFs, vGPUs, MIG", gpuvm::cli::run_sim_status},
    {"reboot", "Reboot a simulated host (runtime state is lost)", gpuvm::cli::run_sim_reboot},
    {"reset", "Reset one GPU of a simulated host (nvidia-smi -r)", gpuvm::cli::run_sim_reset},
};

}  // namespace

int main(int argc, char** argv) {
  return gpuvm::cli::run_main("gpuvm-sim",
                              "gpuvm-sim: a simulated NVIDIA GPU host (FUSE sysfs + mock NVML)",
                              kCommands, argc, argv);
}
