// OpenNebula's VM XML as `gpuvm one vgpu` reads it (src/vgpu/one.cpp,
// parse_vm_xml): any text gives the vGPU entries or a gpuvm::Error.
#include "fuzz_support.h"
#include "vgpu/one.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gpuvm::fuzz::expect_ok_or_error([&] {
    (void)gpuvm::vgpu::one::parse_vm_xml(std::string(gpuvm::fuzz::as_text(data, size)), "vm.xml");
  });
  return 0;
}
