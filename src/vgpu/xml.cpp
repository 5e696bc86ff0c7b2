#include "vgpu/xml.h"

#include <fmt/format.h>
#include <libxml/xmlsave.h>

#include <cstring>

#include "core/error.h"
#include "vgpu/xml_doc.h"

namespace gpuvm::vgpu {
namespace xml {

namespace {

// SAX internalSubset: called at <!DOCTYPE, before any declaration inside
// it is parsed (libxml2 parser.c xmlParseDocTypeDecl). gpuvm's inputs (an
// OpenNebula VM XML, a libvirt domain) never have one; refusing it here
// means no entity is ever declared, so none can be expanded, by the parser
// or by a later read of the text (billion laughs), and no DTD is loaded.
void refuse_doctype(void* ctx, const xmlChar*, const xmlChar*, const xmlChar*) {
  auto* ctxt = static_cast<xmlParserCtxtPtr>(ctx);
  *static_cast<bool*>(ctxt->_private) = true;
  xmlStopParser(ctxt);
}

}  // namespace

DocPtr parse(const std::string& text, std::string_view source_name) {
  xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
  if (ctxt == nullptr) throw Error(Errc::kInternal, "libxml2: out of memory");
  bool doctype = false;
  ctxt->_private = &doctype;
  ctxt->sax->internalSubset = refuse_doctype;
  // No XML_PARSE_NOENT (entities are not substituted), XML_PARSE_NONET, no
  // XML_PARSE_DTDLOAD/DTDATTR (libxml2 parserInternals: nothing external is read).
  xmlDoc* doc = xmlCtxtReadMemory(ctxt, text.data(), static_cast<int>(text.size()),
                                  std::string(source_name).c_str(), nullptr,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  std::string error;
  if (const xmlError* e = xmlCtxtGetLastError(ctxt); doc == nullptr && e && e->message) {
    error = fmt::format("line {}: {}", e->line, e->message);
    while (!error.empty() && error.back() == '\n') error.pop_back();
  }
  xmlFreeParserCtxt(ctxt);
  if (doctype) {
    xmlFreeDoc(doc);
    throw_invalid(
        fmt::format("{}: has a DOCTYPE; expected XML without a document type "
                    "declaration (no DTD, no entities)",
                    source_name));
  }
  if (doc == nullptr) {
    throw_invalid(
        fmt::format("{}: not well-formed XML{}{}", source_name, error.empty() ? "" : ": ", error));
  }
  return DocPtr(doc);
}

std::string child_text(xmlNode* node, std::string_view name) {
  for (xmlNode* c = node->children; c != nullptr; c = c->next) {
    if (c->type == XML_ELEMENT_NODE && name == reinterpret_cast<const char*>(c->name)) {
      // The element's own text and CDATA, as xmllint's text() gives it;
      // never xmlNodeGetContent, which expands entity references (and
      // walks every descendant).
      std::string out;
      for (xmlNode* t = c->children; t != nullptr; t = t->next) {
        if ((t->type == XML_TEXT_NODE || t->type == XML_CDATA_SECTION_NODE) &&
            t->content != nullptr) {
          out += reinterpret_cast<const char*>(t->content);
        }
      }
      return out;
    }
  }
  return {};
}

std::string dump(xmlDoc* doc, xmlNode* node) {
  xmlBufferPtr buf = xmlBufferCreate();
  xmlNodeDump(buf, doc, node, 0, 0);
  std::string out(reinterpret_cast<const char*>(xmlBufferContent(buf)),
                  static_cast<size_t>(xmlBufferLength(buf)));
  xmlBufferFree(buf);
  return out;
}

}  // namespace xml

namespace {

const xmlChar* X(const char* s) {
  return reinterpret_cast<const xmlChar*>(s);
}

std::string attr(xmlNode* n, const char* name) {
  xmlChar* v = xmlGetProp(n, X(name));
  std::string out = v ? reinterpret_cast<const char*>(v) : "";
  xmlFree(v);
  return out;
}

xmlNode* child(xmlNode* n, const char* name) {
  for (xmlNode* c = n->children; c != nullptr; c = c->next) {
    if (c->type == XML_ELEMENT_NODE &&
        std::strcmp(reinterpret_cast<const char*>(c->name), name) == 0)
      return c;
  }
  return nullptr;
}

// libvirt accepts decimal or 0x-hex in PCI address attributes.
std::optional<unsigned long> number(const std::string& s) {
  if (s.empty()) return std::nullopt;
  try {
    size_t used = 0;
    unsigned long v = std::stoul(s, &used, 0);
    if (used != s.size()) return std::nullopt;
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// Whether an existing <hostdev> already passes this vGPU.
bool same_hostdev(xmlNode* hostdev, const Device& d) {
  xmlNode* source = child(hostdev, "source");
  xmlNode* address = source ? child(source, "address") : nullptr;
  if (address == nullptr) return false;
  if (d.interface == Interface::kMdev) {
    auto u = Uuid::try_parse(attr(address, "uuid"));
    return attr(hostdev, "type") == "mdev" && u && *u == d.uuid;
  }
  return attr(hostdev, "type") == "pci" &&
         number(attr(address, "domain")).value_or(0) == d.parent.domain &&
         number(attr(address, "bus")) == d.parent.bus &&
         number(attr(address, "slot")) == d.parent.device &&
         number(attr(address, "function")) == d.parent.function;
}

}  // namespace

namespace {

// The element's lines, each after `indent` but the first.
std::string hostdev_text(const Device& d, std::string_view indent) {
  const std::string source =
      d.interface == Interface::kMdev
          ? fmt::format("<address uuid='{}'/>", d.uuid.str())
          : fmt::format(
                "<address domain='0x{:04x}' bus='0x{:02x}' slot='0x{:02x}' function='0x{:x}'/>",
                d.parent.domain, d.parent.bus, d.parent.device, d.parent.function);
  const std::string open = d.interface == Interface::kMdev
                               ? "<hostdev mode='subsystem' type='mdev' model='vfio-pci'>"
                               : "<hostdev mode='subsystem' type='pci' managed='no'>";
  return fmt::format("{0}\n{1}  <source>\n{1}    {2}\n{1}  </source>\n{1}</hostdev>", open, indent,
                     source);
}

}  // namespace

std::string hostdev_xml(const Device& d) {
  return hostdev_text(d, "") + "\n";
}

std::string insert_hostdev(const std::string& domain_xml, std::string_view source_name,
                           const Device& device) {
  xml::DocPtr doc = xml::parse(domain_xml, source_name);
  xmlNode* root = xmlDocGetRootElement(doc.get());
  if (root == nullptr || std::strcmp(reinterpret_cast<const char*>(root->name), "domain") != 0) {
    throw_invalid(
        fmt::format("{}: expected a libvirt <domain> definition, the root element is <{}>",
                    source_name, root ? reinterpret_cast<const char*>(root->name) : ""));
  }
  xmlNode* devices = child(root, "devices");
  if (devices == nullptr) {
    // Before the whitespace that closes <domain>, indented like its siblings.
    devices = xmlNewDocNode(doc.get(), nullptr, X("devices"), nullptr);
    xmlAddChild(devices, xmlNewDocText(doc.get(), X("\n  ")));
    if (root->last != nullptr && root->last->type == XML_TEXT_NODE) {
      xmlAddPrevSibling(root->last, devices);
      xmlAddPrevSibling(devices, xmlNewDocText(doc.get(), X("  ")));
    } else {
      xmlAddChild(root, devices);
    }
  }
  for (xmlNode* c = devices->children; c != nullptr; c = c->next) {
    if (c->type == XML_ELEMENT_NODE &&
        std::strcmp(reinterpret_cast<const char*>(c->name), "hostdev") == 0 &&
        same_hostdev(c, device)) {
      return xml::dump(doc.get(), root) + "\n";
    }
  }
  // Build the element from our own text so that both outputs agree.
  xml::DocPtr frag = xml::parse(hostdev_text(device, "    "), "<hostdev>");
  xmlNode* hostdev = xmlDocCopyNode(xmlDocGetRootElement(frag.get()), doc.get(), 1);
  if (hostdev == nullptr) throw Error(Errc::kInternal, "libxml2: cannot copy <hostdev>");
  // Between the last device and the whitespace before </devices>.
  if (devices->last != nullptr && devices->last->type == XML_TEXT_NODE) {
    xmlAddPrevSibling(devices->last, hostdev);
    xmlAddPrevSibling(hostdev, xmlNewDocText(doc.get(), X("  ")));
  } else {
    xmlAddChild(devices, hostdev);
  }
  return xml::dump(doc.get(), root) + "\n";
}

}  // namespace gpuvm::vgpu
