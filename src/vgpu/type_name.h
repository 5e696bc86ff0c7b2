// NVIDIA vGPU type names (reference nvidia.md §2.2, §7.3):
//   time-sliced  <board>-<GB><series>                 A100-40C, RTX6000-Ada-2Q
//   MIG-backed   <board>-<G>-<GB><series>[attribute]  H100XM-1-10C, A100-1-5CME
// The sysfs/NVML name carries a prefix ("NVIDIA ", older drivers "GRID "):
// the short name is the last space-separated token.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace gpuvm::vgpu {

struct TypeName {
  std::string board;       // "H100XM"
  int slices = 0;          // G of a MIG-backed type; 0 for time-sliced
  int framebuffer_gb = 0;  // 0 means 512 MB on time-sliced types (M60-0Q)
  char series = 'C';       // A, B, C or Q
  std::string attribute;   // "", "ME", "NOME", "MEALL", "GFX"

  bool mig_backed() const { return slices > 0; }
  // The GPU-instance profile a MIG-backed type needs, in mig-parted's form:
  // "1g.10gb", "1g.10gb+me", "1g.10gb-me", "1g.10gb+me.all", "1g.24gb+gfx".
  std::string gi_profile() const;
};

// "NVIDIA A100-4C" -> "A100-4C"
std::string short_type_name(std::string_view full_name);

// Parses a short name; std::nullopt when it follows neither grammar.
std::optional<TypeName> parse_type_name(std::string_view short_name);

}  // namespace gpuvm::vgpu
