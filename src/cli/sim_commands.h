// Handlers of the gpuvm-sim subcommands (docs/simulator.md), one file each.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace gpuvm::cli {

int run_sim_up(const std::vector<std::string>& args);      // sim_up.cpp
int run_sim_down(const std::vector<std::string>& args);    // sim_down.cpp
int run_sim_status(const std::vector<std::string>& args);  // sim_status.cpp
int run_sim_reboot(const std::vector<std::string>& args);  // sim_reboot.cpp
int run_sim_reset(const std::vector<std::string>& args);   // sim_reboot.cpp

// The state file of the simulator mounted at `mount`, or `state_override`
// when given. Throws kNotFound naming the directory when it is not a
// gpuvm-sim mount (sim_status.cpp).
std::filesystem::path sim_state_for(const std::string& mount, const std::string& state_override);

}  // namespace gpuvm::cli
