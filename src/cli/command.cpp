#include "cli/command.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <exception>

#include "core/error.h"
#include "core/lockfile.h"
#include "core/sysfs.h"

#ifndef GPUVM_VERSION
#define GPUVM_VERSION "unknown"
#endif

namespace gpuvm::cli {
namespace {

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t subst = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, subst});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

void print_usage(std::FILE* out, std::string_view program, std::string_view description,
                 std::span<const Command> table) {
  fmt::print(out, "{}\n\nUsage: {} COMMAND [ARGS...]\n\nCommands:\n", description, program);
  for (const Command& c : table) fmt::print(out, "  {:<10} {}\n", c.name, c.summary);
  fmt::print(out, "\nRun '{} COMMAND --help' for the options of a command.\n", program);
}

}  // namespace

std::string did_you_mean(std::string_view name, std::span<const std::string_view> candidates) {
  std::string_view best;
  size_t best_distance = std::max<size_t>(2, name.size() / 3) + 1;
  for (std::string_view c : candidates) {
    size_t d = edit_distance(name, c);
    if (d < best_distance || (c.starts_with(name) && !name.empty())) {
      best = c;
      best_distance = std::min(d, best_distance);
    }
  }
  return std::string(best);
}

int run_main(std::string_view program, std::string_view description, std::span<const Command> table,
             int argc, char** argv) {
  if (argc < 2) {
    print_usage(stderr, program, description, table);
    return kExitUsage;
  }
  std::string_view name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_usage(stdout, program, description, table);
    return kExitOk;
  }
  if (name == "--version") {
    fmt::print("{} {}\n", program, GPUVM_VERSION);
    return kExitOk;
  }
  auto it =
      std::find_if(table.begin(), table.end(), [&](const Command& c) { return c.name == name; });
  if (it == table.end()) {
    std::vector<std::string_view> names;
    for (const Command& c : table) names.push_back(c.name);
    std::string hint = did_you_mean(name, names);
    fmt::print(stderr, "{}: unknown command '{}'{}\nRun '{} --help' for the list.\n", program, name,
               hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint), program);
    return kExitUsage;
  }
  std::vector<std::string> args(argv + 2, argv + argc);
  try {
    return it->run(args);
  } catch (const Error& e) {
    fmt::print(stderr, "{} {}: error: {}\n", program, it->name, e.what());
    return exit_code(e.code());
  } catch (const std::bad_alloc&) {
    fmt::print(stderr, "{} {}: error: out of memory\n", program, it->name);
    return kExitFailure;
  } catch (const std::exception& e) {
    // Anything else is a bug in gpuvm; say so instead of pretending it is the user's.
    fmt::print(stderr, "{} {}: internal error: {}\n", program, it->name, e.what());
    return kExitFailure;
  }
}

std::optional<int> parse_args(CLI::App& app, const std::vector<std::string>& args) {
  // CLI11 consumes a vector from the back.
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  return std::nullopt;
}

void add_sysfs_root_option(CLI::App& app, std::string& sysfs_root) {
  if (sysfs_root.empty()) sysfs_root = std::string(kDefaultSysfsRoot);
  app.add_option("--sysfs-root", sysfs_root, "Directory that stands for /sys")
      ->envname(std::string(kSysfsRootEnv))
      ->capture_default_str();
}

void add_state_dir_option(CLI::App& app, std::string& state_dir) {
  if (state_dir.empty()) state_dir = std::string(kDefaultStateDir);
  app.add_option("--state-dir", state_dir, "Directory for gpuvm's locks and journal")
      ->envname(std::string(kStateDirEnv))
      ->capture_default_str();
}

void add_nvml_lib_option(CLI::App& app, std::string& nvml_lib) {
  app.add_option("--nvml-lib", nvml_lib,
                 "NVML library to load instead of the system's libnvidia-ml.so.1")
      ->envname("GPUVM_NVML_LIB");
}

void add_server_options(CLI::App& app, ServerOptions& server) {
  server.url = "http://127.0.0.1:8080";
  app.add_option("--server", server.url, "gpuvmd URL")
      ->envname("GPUVM_SERVER")
      ->capture_default_str();
  app.add_option("--token", server.token, "API token (prefer the environment variable)")
      ->envname("GPUVM_TOKEN");
  app.add_option("--token-file", server.token_file, "File whose first line is the API token");
  app.add_option("--ca-file", server.ca_file, "PEM CA bundle to verify an https gpuvmd")
      ->envname("GPUVM_CA_FILE");
  app.add_flag("--insecure-http", server.insecure_http,
               "Allow plain http:// to a gpuvmd on another machine (the token travels in clear)")
      ->envname("GPUVM_INSECURE_HTTP");
}

}  // namespace gpuvm::cli
