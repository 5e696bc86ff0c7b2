// gpuvm node apply|status: the declarative per-host layout (docs/node.md).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/command.h"
#include "cli/commands.h"
#include "core/error.h"
#include "mig/nvml_host.h"
#include "node/apply.h"
#include "node/config.h"
#include "node/lock.h"
#include "pci/probe.h"
#include "vgpu/vgpu.h"

namespace gpuvm::cli {

int run_node(const std::vector<std::string>& args) {
  CLI::App app("The host's GPU layout from one declarative file", "gpuvm node");
  app.require_subcommand(1);
  app.fallthrough();  // --sysfs-root etc. may follow the subcommand
  std::string sysfs_root, state_dir, nvml_lib, file, format = "table";
  bool dry_run = false;
  add_sysfs_root_option(app, sysfs_root);
  add_state_dir_option(app, state_dir);
  CLI::App* apply = app.add_subcommand(
      "apply",
      "Bring the host to node.yaml (idempotent): undeclared vGPUs of the GPUs it lists with "
      "'vgpus' go, then MIG mode, VFs, GPU instances, heterogeneous mode, vGPUs");
  apply->add_option("-f,--file", file, "node.yaml")->required();
  apply->add_flag("--dry-run", dry_run, "Print the steps, change nothing");
  // Only a file with MIG or heterogeneous entries loads NVML.
  add_nvml_lib_option(*apply, nvml_lib);
  CLI::App* status = app.add_subcommand(
      "status",
      "GPUs: MIG mode and GPU instances (through NVML, when it loads), VFs, vGPUs, and "
      "an interrupted apply");
  status->add_option("--format", format, "Output: table or json")
      ->check(CLI::IsMember({"table", "json"}));
  add_nvml_lib_option(*status, nvml_lib);
  if (auto rc = parse_args(app, args)) return *rc;
  const SysfsRoot root{std::filesystem::path(sysfs_root)};

  if (apply->parsed()) {
    const node::NodeSpec spec = node::load_node_spec(file);
    std::optional<LockFile> lock;
    if (!dry_run) lock.emplace(node::lock_host(state_dir));
    node::ApplyOptions options;
    options.state_dir = state_dir;
    options.dry_run = dry_run;
    options.open_nvml = [&nvml_lib]() -> std::unique_ptr<mig::MigHost> {
      return std::make_unique<mig::NvmlHost>(nvml_lib);
    };
    const node::ApplyReport report = node::apply(root, spec, options);
    if (report.resumed) fmt::print("finishing an interrupted apply (journal found)\n");
    for (const auto& s : report.steps) fmt::print("{}{}\n", dry_run ? "would " : "", s);
    if (!report.changed()) fmt::print("no change: the host matches {}\n", file);
    return kExitOk;
  }

  // status
  const pci::ProbeResult probe = pci::probe(root);
  // MIG state is the driver's: without NVML (no driver yet) status still
  // shows what sysfs knows, and says MIG is unknown.
  std::unique_ptr<mig::NvmlHost> nvml;
  try {
    nvml = std::make_unique<mig::NvmlHost>(nvml_lib);
  } catch (const Error&) {
    if (!nvml_lib.empty()) throw;  // asked for a library that does not load
  }
  auto mig_of = [&](const Bdf& gpu) -> nlohmann::json {
    if (!nvml) return nullptr;
    try {
      mig::MigGpu& g = nvml->gpu(nvml->index_by_pci_bus_id(gpu.str()));
      const mig::MigMode mode = g.mig_mode();
      nlohmann::json gis = nlohmann::json::array();
      if (mode.current)
        for (const auto& gi : g.gpu_instances()) {
          const mig::GiProfile* p = g.profiles().find_id(gi.profile_id);
          gis.push_back({{"id", gi.id},
                         {"profile", p ? p->short_name() : std::to_string(gi.profile_id)},
                         {"start", gi.placement.start},
                         {"compute_instances", gi.compute_instances.size()}});
        }
      return {{"current", mode.current}, {"pending", mode.pending}, {"instances", gis}};
    } catch (const Error&) {
      return nullptr;  // NVML does not know it, or no MIG on this GPU
    }
  };
  const auto devices = vgpu::devices(root);
  const bool interrupted = std::filesystem::exists(node::journal_path(state_dir));
  nlohmann::json out{{"interrupted_apply", interrupted}, {"gpus", nlohmann::json::array()}};
  for (const auto& d : probe.devices) {
    if (d.vendor_id != 0x10de || (d.class_code >> 16) != 0x03 ||
        d.sriov_role == pci::SriovRole::kVf)
      continue;
    std::map<std::string, int> types;
    for (const auto& v : devices) {
      if (v.pf.value_or(v.parent) == d.bdf) ++types[v.type_id];
    }
    out["gpus"].push_back({{"address", d.bdf.str()},
                           {"driver", d.driver.value_or("")},
                           {"vfs", d.sriov_numvfs.value_or(0)},
                           {"mig", mig_of(d.bdf)},
                           {"vgpus", types}});
  }
  if (format == "json") {
    fmt::print("{}\n", out.dump(2));
    return kExitOk;
  }
  for (const auto& g : out["gpus"]) {
    std::string vg;
    for (const auto& [t, n] : g["vgpus"].items()) vg += fmt::format(" {}x{}", n.get<int>(), t);
    std::string mig = "MIG unknown";
    if (const auto& m = g["mig"]; !m.is_null()) {
      mig = m["current"].get<bool>() ? "MIG on" : "MIG off";
      if (m["pending"] != m["current"])
        mig += m["pending"].get<bool>() ? " (on after reset)" : " (off after reset)";
      for (const auto& gi : m["instances"])
        mig += fmt::format(" {}@{}", gi["profile"].get<std::string>(), gi["start"].get<int>());
    }
    fmt::print("{}  driver {}  {}  {} VFs  vGPUs:{}\n", g["address"].get<std::string>(),
               g["driver"].get<std::string>(), mig, g["vfs"].get<int>(), vg.empty() ? " none" : vg);
  }
  if (interrupted) fmt::print("an apply was interrupted: run gpuvm node apply again\n");
  return kExitOk;
}

}  // namespace gpuvm::cli
