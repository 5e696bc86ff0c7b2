// gpuvm one vgpu CREATE|DELETE VM_XML: OpenNebula's KVM `vgpu` driver action
// (OpenNebula remotes/vmm/kvm/vgpu), run as root through sudo by the KVM
// driver's deploy, cancel and shutdown (docs/privileges.md).
#include "vgpu/one.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdlib>

#include "cli/command.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/lockfile.h"
#include "core/privilege.h"
#include "core/sysfs.h"
#include "node/lock.h"

namespace gpuvm::cli {

namespace {

// The overrides `gpuvm one` refuses when it runs as root for someone else
// (docs/privileges.md): option, variable.
struct Override {
  const CLI::Option* option;
  std::string_view variable;
};

void refuse_overrides_when_elevated(const Invoker& who, const std::vector<Override>& overrides) {
  if (!who.elevated) return;
  for (const auto& o : overrides) {
    const bool from_env = std::getenv(std::string(o.variable).c_str()) != nullptr;
    if ((o.option != nullptr && o.option->count() > 0) || from_env) {
      throw_invalid(fmt::format(
          "gpuvm one runs as root for another user here ({}): {} is not accepted; it uses "
          "{}, the system's NVML and {} (run it as yourself to point it elsewhere)",
          who.how, from_env ? std::string(o.variable) : o.option->get_name(), kDefaultSysfsRoot,
          kDefaultStateDir));
    }
  }
}

}  // namespace

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

  // Under sudo (oneadmin, packaging/sudoers/gpuvm-opennebula) the compiled
  // defaults only, the datastores' vm.xml only, and only the caller's file.
  const Invoker who = invoker();
  refuse_overrides_when_elevated(who, {{app.get_option("--sysfs-root"), kSysfsRootEnv},
                                       {app.get_option("--state-dir"), kStateDirEnv},
                                       {nullptr, "GPUVM_NVML_LIB"}});
  if (who.elevated && !who.uid) {
    throw_invalid(fmt::format("gpuvm one: cannot tell which user invoked it ({})", who.how));
  }
  const std::string text = vgpu::one::read_vm_xml(vm_xml, {who.elevated, who.uid});
  const auto entries = vgpu::one::parse_vm_xml(text, vm_xml);
  const SysfsRoot root{std::filesystem::path(sysfs_root)};
  LockFile lock = node::lock_host(state_dir);
  const auto outcomes = action == "CREATE" ? vgpu::one::create_all(root, entries)
                                           : vgpu::one::delete_all(root, entries);
  for (const auto& o : outcomes) fmt::print("{}\n", o.what);
  return kExitOk;
}

}  // namespace gpuvm::cli
