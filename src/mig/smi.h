// The `gpuvm mig` verbs on a MigHost. They return the text nvidia-smi would
// print and its exit code (nvidia-smi exits with the NVML return code of a
// failed call: 23 for a full GPU, 6 for something not found); the handler
// prints it. Errors in gpuvm's own input (a bad config file) still throw
// gpuvm::Error, as everywhere in gpuvm.
#pragma once

#include <string>

#include "mig/backend.h"
#include "mig/smi_args.h"

namespace gpuvm::mig {

struct SmiOutput {
  std::string out;
  std::string err;
  int exit_code = 0;
};

// Every verb except apply/assert (see run_config_verb).
SmiOutput run_smi(MigHost& host, const SmiArgs& args);

// apply / assert: reads args.config_file, checks every selected GPU before
// changing any. The caller holds the host lock for apply (gpuvm mig does).
SmiOutput run_config_verb(MigHost& host, const SmiArgs& args);

// Reads and checks args.config_file and the selected config without any GPU
// (throws kInvalidArgument), so that bad input is reported before NVML loads.
void check_config_file(const SmiArgs& args);

}  // namespace gpuvm::mig
