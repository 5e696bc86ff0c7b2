// Subcommands of the gpuvm binaries come from one table: name, one-line
// summary, and a handler that parses its own arguments and returns an exit
// code (ninja's "tools" pattern). The handlers live one per file in this
// folder; library code never prints errors, the handler's caller does.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}

namespace gpuvm::cli {

// Exit codes shared by every command.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the operation failed
inline constexpr int kExitUsage = 2;    // bad input: arguments, files, values

struct Command {
  std::string_view name;
  std::string_view summary;
  // args: everything after the command name. Throws gpuvm::Error on failure.
  int (*run)(const std::vector<std::string>& args);
};

// Runs the command named by argv[1] from `table`: prints the table for
// --help/no arguments, "did you mean" for unknown names, --version, and turns
// a gpuvm::Error escaping the handler into "<program>: error: ..." on stderr
// and its exit code.
int run_main(std::string_view program, std::string_view description, std::span<const Command> table,
             int argc, char** argv);

// Parses `args` with a CLI11 app configured by the caller. Returns
// std::nullopt when the command should go on; otherwise the exit code to
// return at once (0 after --help, 2 after a usage error, already printed).
std::optional<int> parse_args(CLI::App& app, const std::vector<std::string>& args);

// Common options, so that every command spells them the same way and reads
// the same environment variables (documented in docs/environment.md).
void add_sysfs_root_option(CLI::App& app, std::string& sysfs_root);
void add_state_dir_option(CLI::App& app, std::string& state_dir);
void add_nvml_lib_option(CLI::App& app, std::string& nvml_lib);
// How a client verb reaches gpuvmd: --server (GPUVM_SERVER, default
// http://127.0.0.1:8080), --token (GPUVM_TOKEN: the environment keeps it out
// of `ps`) or --token-file, --ca-file (GPUVM_CA_FILE) and --insecure-http
// (GPUVM_INSECURE_HTTP) for plain http:// to another machine.
struct ServerOptions {
  std::string url;
  std::string token;
  std::string token_file;  // read by the caller once parsing succeeded
  std::string ca_file;
  bool insecure_http = false;
};
void add_server_options(CLI::App& app, ServerOptions& server);

// Closest name in `candidates` to `name` by edit distance, or "" if none is
// close enough to suggest.
std::string did_you_mean(std::string_view name, std::span<const std::string_view> candidates);

}  // namespace gpuvm::cli
