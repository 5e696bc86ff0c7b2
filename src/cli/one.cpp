// gpuvm one vgpu CREATE|DELETE VM_XML: OpenNebula's KVM `vgpu` driver action
// (reference opennebula.md §2), run by the deploy/shutdown/cancel hooks.
#include "vgpu/one.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <sstream>

#include "cli/command.h"
#include "cli/commands.h"
#include "core/error.h"
#include "node/lock.h"

namespace gpuvm::cli {

int run_one(const std::vector<std::string>& args) {
  CLI::App app("OpenNebula drop-ins", "gpuvm one");
  app.require_subcommand(1);
  app.fallthrough();  // --sysfs-root etc. may follow the subcommand
  std::string sysfs_root, state_dir, action, vm_xml;
  add_sysfs_root_option(app, sysfs_root);
  add_state_dir_option(app, state_dir);
  CLI::App* vgpu = app.add_subcommand(
      "vgpu", "The KVM driver's vgpu action: create/remove the vGPUs of a VM's PCI entries");
  vgpu->add_option("ACTION", action, "CREATE or DELETE")
      ->required()
      ->check(CLI::IsMember({"CREATE", "DELETE"}));
  vgpu->add_option("VM_XML", vm_xml, "The VM's XML (vm.xml in the VM directory)")->required();
  if (auto rc = parse_args(app, args)) return *rc;

  std::ifstream in(vm_xml, std::ios::binary);
  if (!in) throw_invalid(fmt::format("cannot read {}", vm_xml));
  std::ostringstream text;
  text << in.rdbuf();
  const auto entries = vgpu::one::parse_vm_xml(text.str(), vm_xml);
  const SysfsRoot root{std::filesystem::path(sysfs_root)};
  LockFile lock = node::lock_host(state_dir);
  const auto outcomes = action == "CREATE" ? vgpu::one::create_all(root, entries)
                                           : vgpu::one::delete_all(root, entries);
  for (const auto& o : outcomes) fmt::print("{}\n", o.what);
  return kExitOk;
}

}  // namespace gpuvm::cli
