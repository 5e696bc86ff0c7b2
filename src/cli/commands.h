// Handlers of the gpuvm subcommands, one file each in this folder.
#pragma once

#include <string>
#include <vector>

namespace gpuvm::cli {

int run_probe(const std::vector<std::string>& args);  // probe.cpp
int run_sriov(const std::vector<std::string>& args);  // sriov.cpp
int run_vgpu(const std::vector<std::string>& args);   // vgpu.cpp
int run_one(const std::vector<std::string>& args);    // one.cpp
int run_node(const std::vector<std::string>& args);   // node.cpp
int run_mig(const std::vector<std::string>& args);    // mig.cpp
int run_check(const std::vector<std::string>& args);  // check.cpp

int run_host(const std::vector<std::string>& args);   // host.cpp (gpuvmd API client)
int run_vm(const std::vector<std::string>& args);     // vm.cpp (gpuvmd API client)
int run_agent(const std::vector<std::string>& args);  // agent.cpp (reports to gpuvmd)

}  // namespace gpuvm::cli
