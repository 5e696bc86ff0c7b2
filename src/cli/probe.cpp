// gpuvm probe: the PCI inventory (docs/probe.md). A drop-in for OpenNebula's
// pci.rb with --format one.
#include "pci/probe.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cctype>
#include <cstdio>

#include "cli/command.h"
#include "cli/commands.h"
#include "core/error.h"
#include "pci/filter.h"
#include "pci/names.h"
#include "pci/output.h"

namespace gpuvm::cli {
namespace {

// "a,b" given twice -> a, b, ...: every list option takes comma lists.
std::vector<std::string> split_commas(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const std::string& v : values) {
    size_t start = 0;
    for (;;) {
      size_t comma = v.find(',', start);
      out.push_back(
          v.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return out;
}

bool is_vendor_id(std::string_view s) {
  return s.size() == 4 && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace

int run_probe(const std::vector<std::string>& args) {
  CLI::App app(
      "List PCI devices from sysfs: OpenNebula's monitoring template (drop-in for pci.rb), "
      "JSON (schema in docs/probe.md) or a table",
      "gpuvm probe");
  std::string sysfs_root;
  add_sysfs_root_option(app, sysfs_root);
  std::string format = "table";
  app.add_option("--format", format, "Output: one (OpenNebula template), json, table")
      ->check(CLI::IsMember({"one", "json", "table"}))
      ->capture_default_str();
  std::string pci_ids;
  app.add_option("--pci-ids", pci_ids, "pci.ids file for names (default: libpci's)");
  std::vector<std::string> filters, short_addresses, device_names, vendors;
  std::string config;
  app.add_option("--filter", filters,
                 "lspci -d filter [vendor]:[device][:class], comma lists, '*' = any")
      ->take_all()
      ->expected(1);
  app.add_option("--short-address", short_addresses, "Only these addresses (BB:DD.F), comma lists")
      ->take_all()
      ->expected(1);
  app.add_option("--device-name", device_names,
                 "Only devices whose name matches one of these regexes (case-insensitive)")
      ->take_all()
      ->expected(1);
  app.add_option("--config", config, "OpenNebula pci.conf (YAML) to take the selection from");
  app.add_option("--nvidia-vendor", vendors, "Vendor ids treated as NVIDIA (default 10de)")
      ->take_all()
      ->expected(1);
  if (auto rc = parse_args(app, args)) return *rc;

  // Everything the user gave is checked before the tree is touched.
  pci::Selection selection;
  if (!config.empty()) selection = pci::load_pci_conf(config);
  if (app.count("--filter")) {
    std::vector<pci::IdFilter> list;
    for (const std::string& f : filters)
      for (pci::IdFilter& one : pci::parse_filter_list(f)) list.push_back(std::move(one));
    selection.filters = std::move(list);
  }
  if (app.count("--short-address")) {
    selection.short_addresses = {};
    selection.short_bdfs.clear();
    for (const std::string& a : split_commas(short_addresses))
      selection.short_bdfs.push_back(Bdf::parse(a));
  }
  if (app.count("--device-name")) {
    selection.device_names.clear();
    for (const std::string& p : device_names)
      selection.device_names.push_back(pci::NamePattern::compile(p));
  }
  if (app.count("--nvidia-vendor")) {
    selection.nvidia_vendors = {};
    for (std::string v : split_commas(vendors)) {
      for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (!is_vendor_id(v))
        throw_invalid(
            fmt::format("invalid --nvidia-vendor '{}': expected 4 hex digits, such as "
                        "10de",
                        v));
      selection.nvidia_vendors.items.push_back(v);
    }
  }

  std::optional<std::filesystem::path> ids;
  if (!pci_ids.empty()) ids = pci_ids;
  pci::PciNames names(ids);
  pci::ProbeOptions options;
  options.detail = format == "one" ? pci::Detail::kOne : pci::Detail::kFull;
  options.selection = &selection;
  options.names = &names;
  pci::ProbeResult result = pci::probe(SysfsRoot(sysfs_root), options);

  for (const pci::Warning& w : result.warnings)
    fmt::print(stderr, "gpuvm probe: warning: {}: {}\n", w.path, w.message);
  std::string out = format == "one"    ? pci::format_one(result, selection)
                    : format == "json" ? pci::format_json(result, selection, sysfs_root)
                                       : pci::format_table(result, selection);
  if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() || std::fflush(stdout) != 0)
    throw Error(Errc::kIo, "cannot write the output to stdout");
  return kExitOk;
}

}  // namespace gpuvm::cli
