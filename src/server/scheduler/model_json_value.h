// The same conversions as model_json.h, as nlohmann::json values, for the
// few .cpp files that already include nlohmann (the API handlers). Do not
// include from headers: it pulls in nlohmann/json.hpp.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "server/scheduler/model.h"
#include "server/scheduler/scheduler.h"

namespace gpuvm::server {

nlohmann::json host_inventory_value(const HostInventory& inv);
// The inventory's "check" (a `gpuvm check --record` document): throws
// kInvalidArgument naming `where`; and back.
HostCheck parse_host_check(const nlohmann::json& check, const std::string& where);
nlohmann::json host_check_value(const HostCheck& check);
nlohmann::json vm_request_value(const VmRequest& req);
nlohmann::json allocation_value(const Allocation& a);
nlohmann::json pci_device_one_value(const PciDevice& d, int64_t vmid);
nlohmann::json command_value(const HostCommand& c);
nlohmann::json capacity_value(const std::vector<GpuCapacity>& caps, const HostInventory& inv);

// Strict field access for request bodies: throws kInvalidArgument naming `where`.
void reject_unknown_fields(const nlohmann::json& obj, std::initializer_list<const char*> allowed,
                           const std::string& where);

}  // namespace gpuvm::server
