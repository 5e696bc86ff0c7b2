// The host spec: a YAML file describing a simulated host (docs/simulator.md,
// "Host spec"). Parsing it gives the host's power-on state.
#pragma once

#include <filesystem>
#include <string_view>

#include "sim/host_state.h"

namespace gpuvm::sim {

// Parses a spec. Throws kInvalidArgument naming `origin`, the line (1-based)
// and what was expected, for YAML syntax errors, unknown keys, bad values,
// unknown models, duplicate or malformed PCI addresses.
HostState parse_spec(std::string_view yaml_text, std::string_view origin);
HostState load_spec(const std::filesystem::path& path);

}  // namespace gpuvm::sim
