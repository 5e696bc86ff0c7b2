// gpuvm probe (placeholder until the PCI inventory lands).
#include <CLI/CLI.hpp>

#include "cli/command.h"
#include "cli/commands.h"
#include "core/error.h"

namespace gpuvm::cli {

int run_probe(const std::vector<std::string>& args) {
  CLI::App app("List PCI devices from sysfs", "gpuvm probe");
  std::string sysfs_root;
  add_sysfs_root_option(app, sysfs_root);
  if (auto rc = parse_args(app, args)) return *rc;
  throw Error(Errc::kUnsupported, "gpuvm probe is not implemented yet");
}

}  // namespace gpuvm::cli
