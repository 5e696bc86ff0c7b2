#include "pci/filter.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "core/error.h"

extern "C" {
#include <pci/pci.h>
}

namespace gpuvm::pci {

IdFilter IdFilter::parse(std::string_view text) {
  // libpci's parser (pciutils 3.8+) writes into its argument and needs no
  // pci_access; a zeroed pci_filter with -1 fields is what pci_filter_init gives.
  struct pci_filter f;
  pci_filter_init(nullptr, &f);
  std::string buf(text);
  if (text.empty()) {
    throw_invalid(
        "invalid filter '': expected [vendor]:[device][:class] in hex, for example "
        "10de:* or 8086::0c03");
  }
  if (char* err = pci_filter_parse_id(&f, buf.data())) {
    throw_invalid(
        fmt::format("invalid filter '{}': {}; expected [vendor]:[device][:class] in "
                    "hex, for example 10de:* or 8086::0c03",
                    text, err));
  }
  IdFilter out;
  out.text = std::string(text);
  out.vendor = f.vendor;
  out.device = f.device;
  out.device_class = f.device_class;
  out.class_mask = f.device_class_mask;
  out.prog_if = f.prog_if;
  return out;
}

bool IdFilter::matches(uint16_t vendor_id, uint16_t device_id, uint32_t class_code) const {
  // As libpci's pci_filter_match(), on the ids we read ourselves.
  if (vendor >= 0 && vendor != vendor_id) return false;
  if (device >= 0 && device != device_id) return false;
  if (device_class >= 0 &&
      ((static_cast<unsigned>(device_class) ^ (class_code >> 8)) & class_mask) != 0)
    return false;
  if (prog_if >= 0 && prog_if != static_cast<int>(class_code & 0xff)) return false;
  return true;
}

std::vector<IdFilter> parse_filter_list(std::string_view list) {
  std::vector<IdFilter> out;
  size_t start = 0;
  for (;;) {
    size_t comma = list.find(',', start);
    out.push_back(IdFilter::parse(list.substr(start, comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

bool StringSet::contains(std::string_view s) const {
  if (std::find(items.begin(), items.end(), s) != items.end()) return true;
  return haystack && haystack->find(s) != std::string::npos;
}

NamePattern NamePattern::compile(std::string_view text) {
  // libstdc++'s std::regex compiles (and matches) groups by recursion: 40,000
  // nested groups overflowed the stack. Device-name patterns are short.
  constexpr size_t kMaxPattern = 1024;
  if (text.size() > kMaxPattern)
    throw_invalid(fmt::format("invalid device name pattern '{}...': longer than {} characters",
                              text.substr(0, 40), kMaxPattern));
  try {
    return NamePattern{std::string(text), std::regex(text.begin(), text.end(),
                                                     std::regex::ECMAScript | std::regex::icase)};
  } catch (const std::regex_error& e) {
    throw_invalid(
        fmt::format("invalid device name pattern '{}': {} (an ECMAScript regular "
                    "expression, matched case-insensitively)",
                    text, e.what()));
  }
}

bool Selection::may_select_ids(uint16_t vendor_id, uint16_t device_id, uint32_t class_code) const {
  if (!filters) return true;
  return std::any_of(filters->begin(), filters->end(), [&](const IdFilter& f) {
    return f.matches(vendor_id, device_id, class_code);
  });
}

bool Selection::selects_rest(const Device& d) const {
  if (!short_bdfs.empty() &&
      std::find(short_bdfs.begin(), short_bdfs.end(), d.bdf) == short_bdfs.end())
    return false;
  if (!short_addresses.empty() && !short_addresses.contains(lspci_slot(d.bdf))) return false;
  if (!device_names.empty() &&
      std::none_of(device_names.begin(), device_names.end(),
                   [&](const NamePattern& p) { return std::regex_search(d.device_name, p.re); }))
    return false;
  return true;
}

bool Selection::selects(const Device& d) const {
  return may_select_ids(d.vendor_id, d.device_id, d.class_code) && selects_rest(d);
}

bool Selection::is_nvidia(const Device& d) const {
  return nvidia_vendors.contains(fmt::format("{:04x}", d.vendor_id));
}

std::string lspci_slot(const Bdf& bdf) {
  // lspci -mm prints the domain only for devices off domain 0.
  return bdf.domain != 0 ? bdf.str() : bdf.short_str();
}

namespace {

[[noreturn]] void bad_conf(const std::filesystem::path& path, std::string_view what) {
  throw_invalid(fmt::format("invalid pci.conf {}: {}", path.string(), what));
}

// Bounds of what pci.rb flattens. YAML aliases let a list hold itself (Ruby's
// flatten raises "tried to flatten recursive array") or another list many
// times over: 413 bytes of aliases nested 7 deep were 10^7 filters. Real
// pci.conf lists are flat and a few entries long.
constexpr int kMaxListDepth = 16;
constexpr size_t kMaxListEntries = 4096;

// The scalars of a value that pci.rb flattens: a string, or a list (of lists)
// of strings. Scalars are taken as their text.
void collect_scalars(const YAML::Node& node, const std::filesystem::path& path,
                     std::string_view key, std::vector<std::string>& out, int depth = 0) {
  if (node.IsScalar()) {
    if (out.size() == kMaxListEntries)
      bad_conf(path, fmt::format("{} holds more than {} entries", key, kMaxListEntries));
    out.push_back(node.Scalar());
  } else if (node.IsSequence()) {
    if (depth == kMaxListDepth)
      bad_conf(path, fmt::format("{} nests lists deeper than {} (a list that holds itself?)", key,
                                 kMaxListDepth));
    for (const YAML::Node& item : node) collect_scalars(item, path, key, out, depth + 1);
  } else if (node.IsNull()) {
    // A null inside a list: Ruby's flatten keeps nil, lspci -d gets nothing.
    bad_conf(path, fmt::format("{} holds a null entry", key));
  } else {
    bad_conf(path, fmt::format("{} must be a string or a list of strings", key));
  }
}

// Ruby's String#split(','): trailing empty fields are dropped, "" gives none.
std::vector<std::string> ruby_split_commas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t comma = s.find(',', start);
    out.push_back(s.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  while (!out.empty() && out.back().empty()) out.pop_back();
  return out;
}

StringSet string_set(const YAML::Node& node, const std::filesystem::path& path,
                     std::string_view key) {
  StringSet set;
  if (node.IsNull()) return set;  // pci.rb would fail on nil; nothing is the kind reading
  if (node.IsScalar()) {
    set.haystack = node.Scalar();
    return set;
  }
  collect_scalars(node, path, key, set.items);
  return set;
}

}  // namespace

Selection load_pci_conf(const std::filesystem::path& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path.string());
  } catch (const YAML::BadFile&) {
    throw_invalid(fmt::format("cannot read pci.conf {}", path.string()));
  } catch (const YAML::Exception& e) {
    bad_conf(path, fmt::format("not YAML: {}", e.what()));
  }
  if (!root.IsMap()) {
    bad_conf(path,
             "expected a YAML mapping with the keys :filter, :short_address, "
             ":device_name, :nvidia_vendors");
  }
  Selection sel;
  sel.filters = std::vector<IdFilter>{IdFilter::parse("0:0")};  // pci.rb's default: nothing
  try {
    for (const auto& kv : root) {
      if (!kv.first.IsScalar()) continue;
      const std::string key = kv.first.Scalar();
      const YAML::Node& value = kv.second;
      if (key == ":filter") {
        if (value.IsNull()) {
          sel.filters.reset();  // `:filter: ~`: one unfiltered lspci, everything
          continue;
        }
        std::vector<std::string> scalars;
        collect_scalars(value, path, key, scalars);
        std::vector<IdFilter> filters;
        for (const std::string& s : scalars)
          for (const std::string& f : ruby_split_commas(s)) filters.push_back(IdFilter::parse(f));
        sel.filters = std::move(filters);
      } else if (key == ":short_address") {
        sel.short_addresses = string_set(value, path, key);
      } else if (key == ":device_name") {
        std::vector<std::string> patterns;
        if (!value.IsNull()) collect_scalars(value, path, key, patterns);
        for (const std::string& p : patterns) sel.device_names.push_back(NamePattern::compile(p));
      } else if (key == ":nvidia_vendors") {
        sel.nvidia_vendors = string_set(value, path, key);
      }
      // Other keys: pci.rb merges them and never reads them.
    }
  } catch (const Error& e) {
    if (std::string_view(e.what()).starts_with("invalid pci.conf")) throw;
    bad_conf(path, e.what());  // a malformed filter or pattern: say which file
  }
  return sel;
}

}  // namespace gpuvm::pci
