// gpuvm sriov enable|disable: SR-IOV VFs of GPUs (docs/node.md).
#include "sriov/sriov.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/command.h"
#include "cli/commands.h"
#include "core/error.h"
#include "node/lock.h"

namespace gpuvm::cli {
namespace {

std::string vf_range(const std::vector<Bdf>& vfs) {
  if (vfs.empty()) return "";
  if (vfs.size() == 1) return " (" + vfs.front().str() + ")";
  return fmt::format(" ({} .. {})", vfs.front().str(), vfs.back().str());
}

}  // namespace

int run_sriov(const std::vector<std::string>& args) {
  CLI::App app("Enable or disable the SR-IOV virtual functions of GPUs", "gpuvm sriov");
  app.require_subcommand(1);
  app.fallthrough();  // --sysfs-root etc. may follow the subcommand
  std::string sysfs_root, state_dir, format = "table", sriov_manage;
  std::vector<std::string> gpus;
  bool all = false, dry_run = false, force = false;
  std::optional<int> num_vfs;
  add_sysfs_root_option(app, sysfs_root);
  add_state_dir_option(app, state_dir);
  auto common = [&](CLI::App* sub) {
    sub->add_option("GPU", gpus, "PCI address of a GPU PF (DDDD:BB:DD.F)");
    sub->add_flag("--all", all, "Every NVIDIA GPU that is SR-IOV capable");
    sub->add_option("--sriov-manage", sriov_manage,
                    "Run NVIDIA's sriov-manage script (absolute path, root-owned) instead of its "
                    "sysfs writes");
    sub->add_flag("--dry-run", dry_run, "Print the steps, change nothing");
    sub->add_option("--format", format, "Output: table or json")
        ->check(CLI::IsMember({"table", "json"}));
  };
  CLI::App* enable = app.add_subcommand("enable", "Enable VFs (all of them unless --num-vfs)");
  common(enable);
  enable->add_option("--num-vfs", num_vfs, "Number of VFs (default sriov_totalvfs)");
  CLI::App* disable = app.add_subcommand("disable", "Disable VFs");
  common(disable);
  disable->add_flag("--force", force, "Go on even while a VF holds a vGPU (it is destroyed)");
  if (auto rc = parse_args(app, args)) return *rc;

  // Every argument is checked before anything is touched.
  if (all == !gpus.empty()) throw_invalid("give GPU addresses or --all (one of them)");
  std::vector<Bdf> targets;
  for (const auto& g : gpus) targets.push_back(Bdf::parse(g));
  sriov::Options options;
  if (!sriov_manage.empty()) options.sriov_manage = std::filesystem::path(sriov_manage);
  options.num_vfs = num_vfs;
  options.force = force;
  options.dry_run = dry_run;
  options.state_dir = state_dir;
  const SysfsRoot root{std::filesystem::path(sysfs_root)};
  if (all) targets = sriov::nvidia_sriov_gpus(root);

  std::optional<LockFile> lock;
  if (!dry_run) lock.emplace(node::lock_host(state_dir));
  const bool on = enable->parsed();
  nlohmann::json out = nlohmann::json::array();
  for (const Bdf& pf : targets) {
    const sriov::Result r =
        on ? sriov::enable(root, pf, options) : sriov::disable(root, pf, options);
    if (format == "json") {
      nlohmann::json j{{"pf", r.pf.str()},         {"vfs_before", r.vfs_before},
                       {"vfs_after", r.vfs_after}, {"changed", r.changed},
                       {"dry_run", dry_run},       {"steps", r.steps}};
      j["vfs"] = nlohmann::json::array();
      for (const Bdf& vf : r.vfs) j["vfs"].push_back(vf.str());
      out.push_back(std::move(j));
      continue;
    }
    for (const auto& s : r.steps) fmt::print("{}: {}{}\n", r.pf.str(), dry_run ? "would " : "", s);
    if (!r.changed) {
      fmt::print("{}: no change: {} VFs{}\n", r.pf.str(), r.vfs_before, vf_range(r.vfs));
    } else if (dry_run) {
      fmt::print("{}: would go from {} to {} VFs\n", r.pf.str(), r.vfs_before, r.vfs_after);
    } else {
      fmt::print("{}: {} VFs (was {}){}\n", r.pf.str(), r.vfs_after, r.vfs_before, vf_range(r.vfs));
    }
  }
  if (format == "json") fmt::print("{}\n", out.dump(2));
  if (targets.empty() && format != "json") fmt::print("no SR-IOV capable NVIDIA GPU found\n");
  return kExitOk;
}

}  // namespace gpuvm::cli
