#include "core/yaml.h"

#include <fmt/format.h>

#include "core/error.h"

namespace gpuvm::yaml {

std::string where(std::string_view source, const YAML::Node& node) {
  // Mark() throws on an invalid (zombie) node: ask IsDefined() first.
  if (!node.IsDefined()) return std::string(source);
  const YAML::Mark mark = node.Mark();
  if (mark.is_null() || mark.line < 0) return std::string(source);
  return fmt::format("{}:{}:{}", source, mark.line + 1, mark.column + 1);
}

void fail(std::string_view source, const YAML::Node& node, std::string_view what) {
  throw_invalid(fmt::format("{}: {}", where(source, node), what));
}

std::string key(std::string_view source, const YAML::Node& key_node, std::string_view in) {
  if (!key_node.IsScalar()) {
    const char* shape = key_node.IsMap() ? "a mapping" : key_node.IsSequence() ? "a list" : "null";
    fail(source, key_node, fmt::format("a key in {} is {}; expected a plain name", in, shape));
  }
  return key_node.Scalar();
}

}  // namespace gpuvm::yaml
