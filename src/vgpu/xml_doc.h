// RAII for libxml2 documents and the safe parse options gpuvm uses (private to
// gpuvm_vgpu: keeps libxml2's headers out of the public ones).
#pragma once

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <memory>
#include <string>
#include <string_view>

namespace gpuvm::vgpu::xml {

struct DocFree {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
using DocPtr = std::unique_ptr<xmlDoc, DocFree>;

// No network, no entity substitution, no DTD loading; errors are not printed
// by libxml2 but returned as kInvalidArgument naming `source_name`.
DocPtr parse(const std::string& text, std::string_view source_name);

// Text of the first child element `name` of `node`, "" when absent.
std::string child_text(xmlNode* node, std::string_view name);

// The element serialized without an XML declaration.
std::string dump(xmlDoc* doc, xmlNode* node);

}  // namespace gpuvm::vgpu::xml
