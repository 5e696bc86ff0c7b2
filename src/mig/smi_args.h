// Arguments of `gpuvm mig`: nvidia-smi's verb set (-lgip, -cgi 19,19 -C,
// -i 0, ...), whose multi-letter single-dash options no ordinary option
// parser accepts, plus gpuvm's own words (enable, disable, apply, assert).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace gpuvm::mig {

enum class SmiVerb {
  kNone,
  kHelp,
  kListGiProfiles,    // -lgip
  kListGiPlacements,  // -lgipp
  kListGis,           // -lgi
  kCreateGis,         // -cgi LIST [-C]
  kDestroyGis,        // -dgi [-gi IDS]
  kListCiProfiles,    // -lcip [-gi IDS]
  kCreateCis,         // -cci [LIST] [-gi IDS]
  kDestroyCis,        // -dci [-ci IDS] [-gi IDS]
  kListCis,           // -lci [-gi IDS]
  kEnable,            // enable [-i GPUS]
  kDisable,           // disable [-i GPUS]
  kApply,             // apply -f FILE [-c NAME] [--dry-run]
  kAssert,            // assert -f FILE [-c NAME]
};

struct SmiArgs {
  SmiVerb verb = SmiVerb::kNone;
  std::vector<std::string> gpus;                // -i, comma lists joined; empty = all
  std::optional<std::vector<unsigned>> gi_ids;  // -gi
  std::optional<std::vector<unsigned>> ci_ids;  // -ci
  std::vector<std::string> profiles;            // -cgi / -cci list
  bool default_ci = false;                      // -C
  bool json = false;                            // --format json
  bool dry_run = false;                         // apply --dry-run
  std::string config_file;                      // -f (MIG_PARTED_CONFIG_FILE)
  std::string selected_config;                  // -c (MIG_PARTED_SELECTED_CONFIG)
  std::string nvml_lib;                         // --nvml-lib (GPUVM_NVML_LIB)
  std::string state_dir;                        // --state-dir (GPUVM_STATE_DIR)
};

// Parses `args` (everything after "mig"). `env` looks up an environment
// variable (std::getenv in the handler; a map in tests). Throws
// gpuvm::Error(kInvalidArgument) with a message that names the bad argument.
SmiArgs parse_smi_args(const std::vector<std::string>& args,
                       std::optional<std::string> (*env)(const char* name));

// Usage text for `gpuvm mig --help`.
const char* smi_usage();

}  // namespace gpuvm::mig
