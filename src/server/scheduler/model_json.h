// JSON forms of the domain model (docs/openapi.yaml describes them). Parsing
// is strict: unknown fields, wrong types and bad values throw
// kInvalidArgument naming the field, so nothing half-understood is stored.
// nlohmann/json stays inside model_json.cpp; callers see strings.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "server/scheduler/model.h"
#include "server/scheduler/scheduler.h"

namespace gpuvm::server {

// Host registration / monitoring push: {"name", "pci_devices": [...], "gpus": [...]}.
HostInventory parse_host_inventory(std::string_view json);
std::string to_json(const HostInventory& inv);

// {"name", "numa", "pci": [{"VENDOR", "DEVICE", "CLASS", "SHORT_ADDRESS", "PROFILE",
//  "MIG_PROFILE", "VGPU_TYPE"}]}; `name` goes to *vm_name.
VmRequest parse_vm_request(std::string_view json, std::string* vm_name);
std::string to_json(const VmRequest& req);

std::string to_json(const Allocation& a);
Allocation parse_allocation(std::string_view json);

// PCI_DEVICES as `onehost show -j` prints them ({"PCI": [ {FIELD: "value"} ]},
// alphabetical keys, VMID from the allocations) and as the template text
// (`PCI = [ TYPE = "...", ... ]`, the probe's field order).
std::string pci_devices_one_json(const HostInventory& inv, const std::vector<Allocation>& allocs);
std::string pci_devices_one_template(const HostInventory& inv,
                                     const std::vector<Allocation>& allocs);

// A host's command queue as GET /api/v1/hosts/NAME/commands answers it
// ({"commands": [...], "force_update"}), and the agent's report for one
// command (POST .../commands/ID/result: {"ok", "created", "message"}).
std::string to_json(const CommandQueue& queue);
CommandQueue parse_command_queue(std::string_view json);
CommandResult parse_command_result(std::string_view json);
std::string to_json(const CommandResult& result);

std::string to_json(const std::vector<GpuCapacity>& caps, const HostInventory& inv);

}  // namespace gpuvm::server
