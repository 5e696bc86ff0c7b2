// Reading yaml-cpp documents with gpuvm's error model: every place a parser
// of ours takes a key or reports a bad node goes through these, so that bad
// input gives kInvalidArgument naming "file:line:column" and what was
// expected, never a yaml-cpp exception (an "internal error", exit 1).
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>

namespace gpuvm::yaml {

// "source:line:column" of `node` (1-based, as editors count), or just
// "source" when the node has no position (undefined, or made by yaml-cpp).
std::string where(std::string_view source, const YAML::Node& node);

// Throws kInvalidArgument "<where(source, node)>: <what>".
[[noreturn]] void fail(std::string_view source, const YAML::Node& node, std::string_view what);

// The text of a mapping key. YAML allows any node as a key (`[a]: 1`,
// `{a: b}: 1`, `? - x`); our files only have scalar keys, so anything else
// is rejected here at the key's position, saying which mapping (`in`) it is in.
std::string key(std::string_view source, const YAML::Node& key_node, std::string_view in);

}  // namespace gpuvm::yaml
