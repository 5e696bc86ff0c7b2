#include "vgpu/type_name.h"

#include <regex>

namespace gpuvm::vgpu {

std::string TypeName::gi_profile() const {
  if (!mig_backed()) return {};
  std::string p = std::to_string(slices) + "g." + std::to_string(framebuffer_gb) + "gb";
  if (attribute == "ME") p += "+me";
  if (attribute == "NOME") p += "-me";
  if (attribute == "MEALL") p += "+me.all";
  if (attribute == "GFX") p += "+gfx";
  return p;
}

std::string short_type_name(std::string_view full_name) {
  while (!full_name.empty() && (full_name.back() == ' ' || full_name.back() == '\n'))
    full_name.remove_suffix(1);
  const auto space = full_name.rfind(' ');
  return std::string(space == std::string_view::npos ? full_name : full_name.substr(space + 1));
}

std::optional<TypeName> parse_type_name(std::string_view short_name) {
  // The grammars of vgpu-device-manager's pkg/types (reference §2.2).
  static const std::regex mig(
      R"(^([A-Z0-9]+)-([1-9])-(0|[1-9][0-9]*)([ABCQ])(ME|NOME|MEALL|GFX)?$)");
  static const std::regex sliced(R"(^([A-Z0-9]+(?:-[a-zA-Z]+)*)-(0|[1-9][0-9]*)([ABCQ])$)");
  const std::string s(short_name);
  std::smatch m;
  TypeName t;
  if (std::regex_match(s, m, mig)) {
    if (m[3].length() > 4) return std::nullopt;
    t.board = m[1];
    t.slices = std::stoi(m[2]);
    t.framebuffer_gb = std::stoi(m[3]);
    t.series = m[4].str()[0];
    t.attribute = m[5];
    return t;
  }
  if (std::regex_match(s, m, sliced)) {
    if (m[2].length() > 4) return std::nullopt;
    t.board = m[1];
    t.framebuffer_gb = std::stoi(m[2]);
    t.series = m[3].str()[0];
    return t;
  }
  return std::nullopt;
}

}  // namespace gpuvm::vgpu
