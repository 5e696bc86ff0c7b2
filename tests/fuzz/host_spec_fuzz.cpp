// gpuvm-sim's host spec (src/sim/spec.cpp): any text gives a HostState or a
// gpuvm::Error; a parsed host survives its own state file's round trip.
#include "fuzz_support.h"
#include "sim/spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gpuvm::fuzz::expect_ok_or_error(
      [&] { (void)gpuvm::sim::parse_spec(gpuvm::fuzz::as_text(data, size), "host.yaml"); });
  return 0;
}
