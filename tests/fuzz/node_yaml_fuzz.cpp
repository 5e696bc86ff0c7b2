// node.yaml (src/node/config.cpp): any text gives a NodeSpec or a gpuvm::Error.
#include "fuzz_support.h"
#include "node/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gpuvm::fuzz::expect_ok_or_error([&] {
    const auto spec =
        gpuvm::node::parse_node_spec(std::string(gpuvm::fuzz::as_text(data, size)), "node.yaml");
    (void)gpuvm::node::needs_nvml(spec);
  });
  return 0;
}
