// Handlers of the gpuvm subcommands, one file each in this folder.
#pragma once

#include <string>
#include <vector>

namespace gpuvm::cli {

int run_probe(const std::vector<std::string>& args);  // probe.cpp

}  // namespace gpuvm::cli
