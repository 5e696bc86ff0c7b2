// gpuvm check: is this host ready for GPU VMs (docs/check.md). Exit 0 when
// nothing fails (warnings allowed), 1 when a check fails, 2 on bad input.
#include "check/check.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <memory>

#include "check/format.h"
#include "check/record.h"
#include "cli/command.h"
#include "cli/commands.h"
#include "core/error.h"
#include "mig/nvml_host.h"

namespace gpuvm::cli {

int run_check(const std::vector<std::string>& args) {
  CLI::App app(
      "Check that this host is ready for GPU VMs: IOMMU and groups, SR-IOV, the NVIDIA "
      "driver and vGPU manager, MIG, /dev/vfio permissions, node.yaml drift. One line per "
      "check: ok, warn or fail, what was seen and what to do.",
      "gpuvm check");
  app.footer(
      "Examples:\n"
      "  gpuvm check                                  # this host\n"
      "  gpuvm check --format json                    # for automation\n"
      "  gpuvm check --node-config /etc/gpuvm/node.yaml\n"
      "  gpuvm check --record                         # keep it for gpuvm agent (gpuvmd)\n"
      "  gpuvm check --sysfs-root /tmp/host/sys --proc-root /tmp/host/proc \\\n"
      "              --dev-root /tmp/host/dev --etc-root /tmp/host/etc   # a copy or gpuvm-sim\n"
      "Exit status: 0 nothing failed (warnings allowed), 1 a check failed, 2 bad input.");
  std::string sysfs_root, state_dir, nvml_lib, format = "table", node_config;
  std::string proc_root(check::kDefaultProcRoot), dev_root(check::kDefaultDevRoot),
      etc_root(check::kDefaultEtcRoot);
  add_sysfs_root_option(app, sysfs_root);
  add_state_dir_option(app, state_dir);
  add_nvml_lib_option(app, nvml_lib);
  app.add_option("--proc-root", proc_root, "Directory that stands for /proc")
      ->envname(std::string(check::kProcRootEnv))
      ->capture_default_str();
  app.add_option("--dev-root", dev_root, "Directory that stands for /dev")
      ->envname(std::string(check::kDevRootEnv))
      ->capture_default_str();
  app.add_option("--etc-root", etc_root,
                 "Directory that stands for /etc (libvirt/qemu.conf, passwd, group, units)")
      ->envname(std::string(check::kEtcRootEnv))
      ->capture_default_str();
  app.add_option("--node-config", node_config,
                 "node.yaml to compare the host with (default: <etc-root>/gpuvm/node.yaml if "
                 "it exists)");
  bool record = false;
  app.add_flag("--record", record,
               "Also write the JSON result to <state-dir>/check.json, which gpuvm agent "
               "reports to gpuvmd");
  app.add_option("--format", format, "Output: table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  if (auto rc = parse_args(app, args)) return *rc;

  check::Options options;
  options.roots.sysfs = SysfsRoot(sysfs_root);
  options.roots.proc = proc_root;
  options.roots.dev = dev_root;
  options.roots.etc = etc_root;
  options.state_dir = state_dir;
  if (!node_config.empty()) {
    options.node_config = node_config;
    options.node_config_explicit = true;
  }
  options.open_nvml = [nvml_lib]() -> std::unique_ptr<mig::MigHost> {
    return std::make_unique<mig::NvmlHost>(nvml_lib);
  };
  const std::vector<check::Result> results = check::run_all(options);
  if (record) {
    nlohmann::json j = check::to_json(results);
    j["checked_at_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
    check::write_record(state_dir, j.dump() + "\n");
  }
  const std::string out =
      format == "json" ? check::to_json(results).dump(2) + "\n" : check::format_table(results);
  if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() || std::fflush(stdout) != 0)
    throw Error(Errc::kIo, "cannot write the output to stdout");
  return check::summarize(results).fail > 0 ? kExitFailure : kExitOk;
}

}  // namespace gpuvm::cli
