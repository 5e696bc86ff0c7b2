// gpuvm: the node tool. The table of subcommands is the whole main.
#include "cli/command.h"
#include "cli/commands.h"

namespace {

constexpr gpuvm::cli::Command kCommands[] = {
    {"probe", "List PCI devices from sysfs (OpenNebula pci.rb drop-in)", gpuvm::cli::run_probe},
    {"sriov", "Enable or disable SR-IOV virtual functions of GPUs", gpuvm::cli::run_sriov},
    {"vgpu", "vGPU types, devices and libvirt XML (mdev and vendor-specific)", gpuvm::cli::run_vgpu},
    {"one", "OpenNebula drop-ins: the KVM driver's vgpu action", gpuvm::cli::run_one},
    {"node", "The host's GPU layout from node.yaml: apply (at boot), status", gpuvm::cli::run_node},
    {"mig", "MIG: nvidia-smi mig verbs (same output), mig-parted apply/assert", gpuvm::cli::run_mig},
    {"check", "Is this host ready for GPU VMs: IOMMU, SR-IOV, driver, MIG, VFIO, node.yaml",
     gpuvm::cli::run_check},
    {"host", "Hosts known to gpuvmd: list, show (API client)", gpuvm::cli::run_host},
    {"vm", "VMs in gpuvmd: create with GPU requests, deploy, list (API client)", gpuvm::cli::run_vm},
    {"agent", "Report this host to gpuvmd and run the commands it queues", gpuvm::cli::run_agent},
};

}  // namespace

int main(int argc, char** argv) {
  return gpuvm::cli::run_main("gpuvm", "gpuvm: NVIDIA data-center GPUs for KVM virtual machines",
                              kCommands, argc, argv);
}
