// Every JSON body gpuvmd and the agent accept (src/server/scheduler/
// model_json.cpp): a host inventory push, a VM request, a command result
// (gpuvmd), a command queue (the agent), an allocation (the store). The first
// byte picks the parser. What parses is written back and must parse again.
#include "fuzz_support.h"
#include "server/scheduler/model_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gpuvm::server;
  if (size == 0) return 0;
  const std::string_view json = gpuvm::fuzz::as_text(data + 1, size - 1);
  gpuvm::fuzz::expect_ok_or_error([&] {
    switch (data[0] % 5) {
      case 0: {
        HostInventory inv = parse_host_inventory(json);
        (void)parse_host_inventory(to_json(inv));
        (void)pci_devices_one_json(inv, {});
        (void)pci_devices_one_template(inv, {});
        break;
      }
      case 1: {
        std::string name;
        VmRequest r = parse_vm_request(json, &name);
        (void)parse_vm_request(to_json(r), &name);
        break;
      }
      case 2: {
        CommandResult r = parse_command_result(json);
        (void)parse_command_result(to_json(r));
        break;
      }
      case 3: {
        CommandQueue q = parse_command_queue(json);
        (void)parse_command_queue(to_json(q));
        break;
      }
      case 4: {
        Allocation a = parse_allocation(json);
        (void)parse_allocation(to_json(a));
        break;
      }
    }
  });
  return 0;
}
