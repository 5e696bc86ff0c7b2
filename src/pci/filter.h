// Which devices `gpuvm probe` lists: OpenNebula pci.conf's semantics
// (:filter, :short_address, :device_name, :nvidia_vendors), from the command
// line or from the YAML file itself. See docs/probe.md "Selection".
#pragma once

#include <filesystem>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "core/bdf.h"
#include "pci/device.h"

namespace gpuvm::pci {

// One lspci -d filter: [vendor]:[device][:class[:prog-if]], hex, "*" or empty
// for any, "x" digits in the class as wildcards (libpci's own parser, so the
// syntax is exactly lspci's).
struct IdFilter {
  std::string text;  // as given
  int vendor = -1;   // -1: any
  int device = -1;
  int device_class = -1;  // base class << 8 | subclass
  unsigned class_mask = ~0u;
  int prog_if = -1;

  // Throws kInvalidArgument naming the text and libpci's reason.
  static IdFilter parse(std::string_view text);
  bool matches(uint16_t vendor_id, uint16_t device_id, uint32_t class_code) const;
  bool matches(const Device& d) const { return matches(d.vendor_id, d.device_id, d.class_code); }
};

// A comma-separated list of filters ("10de:*,8086::0c03"); every element must
// be a valid filter. Throws kInvalidArgument.
std::vector<IdFilter> parse_filter_list(std::string_view list);

// A set of strings as pci.rb tests membership with Ruby's include?: a YAML
// list is exact membership, a single YAML string is substring search.
struct StringSet {
  std::vector<std::string> items;
  std::optional<std::string> haystack;

  bool empty() const { return items.empty() && (!haystack || haystack->empty()); }
  bool contains(std::string_view s) const;
};

// A device-name pattern: case-insensitive ECMAScript regex, unanchored.
struct NamePattern {
  std::string text;
  std::regex re;
  // Throws kInvalidArgument naming the pattern and why it does not compile.
  static NamePattern compile(std::string_view text);
};

struct Selection {
  // nullopt: no filter, everything (also OpenNebula's `:filter: ~`). A list,
  // even an empty one, is what pci.rb runs lspci -d with, one pass each.
  std::optional<std::vector<IdFilter>> filters;
  // Exact lspci slot strings ("41:00.4"); from the command line these are
  // parsed addresses instead (any spelling of the address matches).
  StringSet short_addresses;
  std::vector<Bdf> short_bdfs;
  std::vector<NamePattern> device_names;  // empty: all
  StringSet nvidia_vendors{{"10de"}, std::nullopt};

  // Every id filter matches (or there are none): used by the probe to skip
  // reading devices that can never be listed.
  bool may_select_ids(uint16_t vendor_id, uint16_t device_id, uint32_t class_code) const;
  // Filters 2 and 3 of pci.rb (short address, device name); the id filter is
  // the caller's (format one makes one pass per filter).
  bool selects_rest(const Device& d) const;
  // Any id filter, then selects_rest: what JSON and the table list.
  bool selects(const Device& d) const;
  bool is_nvidia(const Device& d) const;
};

// Reads OpenNebula's pci.conf. Defaults as pci.rb: :filter '0:0',
// :short_address [], :device_name [], :nvidia_vendors ['10de'].
// Throws kInvalidArgument when the file cannot be read, is not YAML, is not a
// mapping, or holds values of the wrong shape or malformed filters/patterns.
Selection load_pci_conf(const std::filesystem::path& path);

// lspci's slot string: "41:00.4", or "0001:41:00.4" off domain 0 (lspci -mm).
std::string lspci_slot(const Bdf& bdf);

}  // namespace gpuvm::pci
