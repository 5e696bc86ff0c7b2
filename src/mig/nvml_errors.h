// The text the NVIDIA driver's nvmlErrorString() gives for each return code.
// One table for the two places that need it without a real library at hand:
// gpuvm's messages when a library lacks the call (mig/backend.cpp) and the
// mock libnvidia-ml.so.1 of gpuvm-sim. No dependencies, so the mock can link it.
#pragma once

#include "mig/nvml_api.h"

namespace gpuvm::mig {

// As the R580 driver (580.159.04) answers, checked on a real H100
// (docs/device-checks.md); "Unknown Error" for codes it does not know.
const char* nvml_error_text(nvmlReturn_t rc);

}  // namespace gpuvm::mig
