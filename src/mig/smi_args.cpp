#include "mig/smi_args.h"

#include <fmt/format.h>

#include <charconv>
#include <map>

#include "core/error.h"
#include "core/lockfile.h"

namespace gpuvm::mig {
namespace {

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t c = s.find(',', start);
    std::string part = s.substr(start, c == std::string::npos ? std::string::npos : c - start);
    // nvidia-smi accepts "MIG 1g.10gb" as well as "1g.10gb": keep inner spaces,
    // trim the ends.
    while (!part.empty() && part.front() == ' ') part.erase(part.begin());
    while (!part.empty() && part.back() == ' ') part.pop_back();
    if (part.empty()) throw_invalid(fmt::format("empty item in the list '{}'", s));
    out.push_back(part);
    if (c == std::string::npos) break;
    start = c + 1;
  }
  return out;
}

std::vector<unsigned> parse_ids(const std::string& option, const std::string& s) {
  std::vector<unsigned> out;
  for (const std::string& part : split_commas(s)) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    if (ec != std::errc() || p != part.data() + part.size())
      throw_invalid(fmt::format("{} takes a comma-separated list of IDs, not '{}'", option, s));
    out.push_back(v);
  }
  return out;
}

const std::map<std::string, SmiVerb>& verbs() {
  static const std::map<std::string, SmiVerb> m = {
      {"-lgip", SmiVerb::kListGiProfiles},
      {"--list-gpu-instance-profiles", SmiVerb::kListGiProfiles},
      {"-lgipp", SmiVerb::kListGiPlacements},
      {"--list-gpu-instance-possible-placements", SmiVerb::kListGiPlacements},
      {"-lgi", SmiVerb::kListGis},
      {"--list-gpu-instances", SmiVerb::kListGis},
      {"-cgi", SmiVerb::kCreateGis},
      {"--create-gpu-instance", SmiVerb::kCreateGis},
      {"-dgi", SmiVerb::kDestroyGis},
      {"--destroy-gpu-instance", SmiVerb::kDestroyGis},
      {"-lcip", SmiVerb::kListCiProfiles},
      {"--list-compute-instance-profiles", SmiVerb::kListCiProfiles},
      {"-cci", SmiVerb::kCreateCis},
      {"--create-compute-instance", SmiVerb::kCreateCis},
      {"-dci", SmiVerb::kDestroyCis},
      {"--destroy-compute-instance", SmiVerb::kDestroyCis},
      {"-lci", SmiVerb::kListCis},
      {"--list-compute-instances", SmiVerb::kListCis},
      {"enable", SmiVerb::kEnable},
      {"disable", SmiVerb::kDisable},
      {"apply", SmiVerb::kApply},
      {"assert", SmiVerb::kAssert},
      {"-h", SmiVerb::kHelp},
      {"--help", SmiVerb::kHelp},
      {"help", SmiVerb::kHelp},
  };
  return m;
}

}  // namespace

const char* smi_usage() {
  return "Usage: gpuvm mig [-i GPU[,GPU...]] VERB [OPTIONS]\n"
         "\n"
         "nvidia-smi mig verbs (same output, byte for byte):\n"
         "  -lgip                      list GPU instance profiles\n"
         "  -lgipp                     list their possible placements\n"
         "  -lgi                       list GPU instances\n"
         "  -cgi LIST [-C]             create GPU instances (profile IDs or names, comma list;\n"
         "                             ID:START for an explicit placement); -C adds the\n"
         "                             default compute instance to each\n"
         "  -dgi [-gi IDS]             destroy GPU instances (all when no -gi)\n"
         "  -lcip [-gi IDS]            list compute instance profiles\n"
         "  -cci [LIST] [-gi IDS]      create compute instances (default profile when no LIST)\n"
         "  -dci [-ci IDS] [-gi IDS]   destroy compute instances\n"
         "  -lci [-gi IDS]             list compute instances\n"
         "gpuvm verbs:\n"
         "  enable | disable           set MIG mode (says when a GPU reset is still needed)\n"
         "  apply -f FILE [-c NAME] [--dry-run]\n"
         "                             apply a mig-parted config: solver-placed, atomic per GPU\n"
         "  assert -f FILE [-c NAME]   exit 0 when the config is applied, 1 when not\n"
         "Options:\n"
         "  -i, --id GPU[,GPU]         GPU index, PCI bus id or UUID (default: all GPUs)\n"
         "  --format table|json        json for scripts (list verbs)\n"
         "  --nvml-lib FILE            NVML library (env GPUVM_NVML_LIB)\n"
         "  --state-dir DIR            where the host lock is (env GPUVM_STATE_DIR)\n";
}

SmiArgs parse_smi_args(const std::vector<std::string>& args,
                       std::optional<std::string> (*env)(const char* name)) {
  SmiArgs a;
  auto set_verb = [&](SmiVerb v, const std::string& word) {
    if (a.verb != SmiVerb::kNone && a.verb != v)
      throw_invalid(fmt::format("'{}': only one verb at a time", word));
    a.verb = v;
  };
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    std::optional<std::string> inline_value;
    if (arg.starts_with("--")) {
      if (size_t eq = arg.find('='); eq != std::string::npos) {
        inline_value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
      }
    }
    auto value = [&](const char* what) -> std::string {
      if (inline_value) return *inline_value;
      if (i + 1 >= args.size()) throw_invalid(fmt::format("{} needs {}", arg, what));
      return args[++i];
    };
    auto it = verbs().find(arg);
    if (it != verbs().end()) {
      if (it->second == SmiVerb::kHelp) {
        a.verb = SmiVerb::kHelp;
        return a;
      }
      set_verb(it->second, arg);
      if (it->second == SmiVerb::kCreateGis) {
        a.profiles = split_commas(value("a list of profiles (IDs or names)"));
      } else if (it->second == SmiVerb::kCreateCis) {
        // The list is optional: the next word is one unless it is an option.
        if (i + 1 < args.size() && !args[i + 1].starts_with("-"))
          a.profiles = split_commas(args[++i]);
      }
      continue;
    }
    if (arg == "-i" || arg == "--id") {
      for (std::string& g : split_commas(value("a GPU index, PCI bus id or UUID")))
        a.gpus.push_back(std::move(g));
    } else if (arg == "-gi" || arg == "--gpu-instance-id") {
      a.gi_ids = parse_ids(arg, value("GPU instance IDs"));
    } else if (arg == "-ci" || arg == "--compute-instance-id") {
      a.ci_ids = parse_ids(arg, value("compute instance IDs"));
    } else if (arg == "-C" || arg == "--default-compute-instance") {
      a.default_ci = true;
    } else if (arg == "--format") {
      std::string f = value("table or json");
      if (f != "json" && f != "table")
        throw_invalid(fmt::format("--format takes table or json, not '{}'", f));
      a.json = f == "json";
    } else if (arg == "-f" || arg == "--config-file") {
      a.config_file = value("a mig-parted config file");
    } else if (arg == "-c" || arg == "--selected-config") {
      a.selected_config = value("a config name");
    } else if (arg == "--dry-run") {
      a.dry_run = true;
    } else if (arg == "--nvml-lib") {
      a.nvml_lib = value("a library path");
    } else if (arg == "--state-dir") {
      a.state_dir = value("a directory");
    } else {
      throw_invalid(fmt::format("unknown argument '{}' (see gpuvm mig --help)", arg));
    }
  }
  if (a.verb == SmiVerb::kNone) throw_invalid("no verb given (see gpuvm mig --help)");
  if (a.default_ci && a.verb != SmiVerb::kCreateGis) throw_invalid("-C goes with -cgi");
  if (a.ci_ids && a.verb != SmiVerb::kDestroyCis) throw_invalid("-ci goes with -dci");
  if (a.dry_run && a.verb != SmiVerb::kApply) throw_invalid("--dry-run goes with apply");
  bool config_verb = a.verb == SmiVerb::kApply || a.verb == SmiVerb::kAssert;
  if (!config_verb && (!a.config_file.empty() || !a.selected_config.empty()))
    throw_invalid("-f and -c go with apply and assert");
  if (env != nullptr) {
    if (a.nvml_lib.empty()) a.nvml_lib = env("GPUVM_NVML_LIB").value_or("");
    if (a.state_dir.empty()) a.state_dir = env(std::string(kStateDirEnv).c_str()).value_or("");
    if (config_verb && a.config_file.empty())
      a.config_file = env("MIG_PARTED_CONFIG_FILE").value_or("");
    if (config_verb && a.selected_config.empty())
      a.selected_config = env("MIG_PARTED_SELECTED_CONFIG").value_or("");
  }
  if (a.state_dir.empty()) a.state_dir = std::string(kDefaultStateDir);
  if (config_verb && a.config_file.empty())
    throw_invalid(fmt::format("{} needs -f FILE (a mig-parted config)",
                              a.verb == SmiVerb::kApply ? "apply" : "assert"));
  return a;
}

}  // namespace gpuvm::mig
