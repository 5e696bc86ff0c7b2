// gpuvm host list|show: the hosts gpuvmd knows, through its API.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/commands.h"
#include "core/error.h"
#include "server/api/client.h"

namespace gpuvm::cli {
namespace {

std::string ms_to_age(int64_t ms) {
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  int64_t s = std::max<int64_t>(0, (now - ms) / 1000);
  return s < 120    ? fmt::format("{}s", s)
         : s < 7200 ? fmt::format("{}m", s / 60)
                    : fmt::format("{}h", s / 3600);
}

}  // namespace

int run_host(const std::vector<std::string>& args) {
  CLI::App app("Hosts known to gpuvmd", "gpuvm host");
  std::string format = "table", name;
  ServerOptions api;
  add_server_options(app, api);
  app.require_subcommand(1);
  app.fallthrough();  // "gpuvm host list --server URL": the shared options after the verb too
  auto* list = app.add_subcommand("list", "List hosts");
  list->add_option("--format", format, "table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  auto* show =
      app.add_subcommand("show", "Show one host: its PCI devices as OpenNebula shows them, GPUs");
  show->add_option("NAME", name, "host name")->required();
  show->add_option("--format", format, "json or one (OpenNebula template text)")
      ->check(CLI::IsMember({"json", "one"}));
  if (auto rc = parse_args(app, args)) return *rc;

  if (!api.token_file.empty()) api.token = server::read_token_file(api.token_file);
  server::ApiClient client(api.url, api.token, api.ca_file, api.insecure_http);
  if (*list) {
    auto hosts = nlohmann::json::parse(client.get("/api/v1/hosts"));
    if (format == "json") {
      std::cout << hosts.dump(2) << "\n";
      return kExitOk;
    }
    std::cout << fmt::format("{:<24} {:<8} {:>4} {:>5} {:>6} {:>8}\n", "NAME", "STATE", "GPUS",
                             "PCI", "ALLOCS", "REPORTED");
    for (const auto& h : hosts)
      std::cout << fmt::format(
          "{:<24} {:<8} {:>4} {:>5} {:>6} {:>8}\n", h["name"].get<std::string>(),
          h["state"].get<std::string>(), h["gpus"].get<int>(), h["pci_devices"].get<int>(),
          h["allocations"].get<int>(), ms_to_age(h["updated_at_ms"].get<int64_t>()));
    return kExitOk;
  }
  if (format == "one") {
    std::cout << client.get("/api/v1/hosts/" + name + "?format=one");
  } else {
    if (name.find_first_not_of(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") !=
        std::string::npos)
      throw_invalid(fmt::format("host name '{}': only letters, digits, '.', '_', '-'", name));
    std::cout << nlohmann::json::parse(client.get("/api/v1/hosts/" + name)).dump(2) << "\n";
  }
  return kExitOk;
}

}  // namespace gpuvm::cli
