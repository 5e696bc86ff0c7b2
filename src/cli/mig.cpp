// gpuvm mig: nvidia-smi's MIG verbs (same output, byte for byte) and the
// declarative apply/assert of mig-parted configs. The work is in src/mig;
// this handler parses, opens NVML and prints.
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <optional>

#include "cli/command.h"
#include "cli/commands.h"
#include "core/lockfile.h"
#include "mig/nvml_host.h"
#include "mig/smi.h"
#include "mig/smi_args.h"

namespace gpuvm::cli {
namespace {

std::optional<std::string> getenv_opt(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

// The verbs that change the GPUs take the host lock (docs/node.md), as every
// other state-changing gpuvm command does; the list verbs and assert do not.
bool changes_state(const mig::SmiArgs& a) {
  switch (a.verb) {
    case mig::SmiVerb::kCreateGis:
    case mig::SmiVerb::kDestroyGis:
    case mig::SmiVerb::kCreateCis:
    case mig::SmiVerb::kDestroyCis:
    case mig::SmiVerb::kEnable:
    case mig::SmiVerb::kDisable:
      return true;
    case mig::SmiVerb::kApply:
      return !a.dry_run;
    default:
      return false;
  }
}

}  // namespace

int run_mig(const std::vector<std::string>& args) {
  mig::SmiArgs a = mig::parse_smi_args(args, getenv_opt);
  if (a.verb == mig::SmiVerb::kHelp) {
    fmt::print("{}", mig::smi_usage());
    return kExitOk;
  }
  const bool config_verb = a.verb == mig::SmiVerb::kApply || a.verb == mig::SmiVerb::kAssert;
  // A bad config file is bad input (exit 2) whether or not NVML loads.
  if (config_verb) mig::check_config_file(a);
  // Before NVML opens: what the host looks like is read under the lock.
  std::optional<LockFile> lock;
  if (changes_state(a)) lock.emplace(lock_host(a.state_dir));
  mig::NvmlHost host(a.nvml_lib);
  mig::SmiOutput o = config_verb ? mig::run_config_verb(host, a) : mig::run_smi(host, a);
  std::fwrite(o.out.data(), 1, o.out.size(), stdout);
  std::fflush(stdout);
  std::fwrite(o.err.data(), 1, o.err.size(), stderr);
  return o.exit_code;
}

}  // namespace gpuvm::cli
