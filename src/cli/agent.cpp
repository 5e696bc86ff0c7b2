// gpuvm agent: reports this host to gpuvmd and runs the commands gpuvmd
// queues for it (docs/agent.md). Runs until SIGINT/SIGTERM, or one round
// with --once.
#include "agent/agent.h"

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <memory>
#include <nlohmann/json.hpp>

#include "agent/inventory.h"
#include "cli/command.h"
#include "cli/commands.h"
#include "core/error.h"
#include "mig/nvml_host.h"
#include "server/api/client.h"
#include "server/scheduler/model_json.h"

namespace gpuvm::cli {
namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_stop_signal(int) {
  g_stop.store(true);
}

std::string default_host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "";
  std::string name = buf;
  return name.substr(0, name.find('.'));  // the short name, as OpenNebula's hosts
}

}  // namespace

int run_agent(const std::vector<std::string>& args) {
  CLI::App app(
      "Report this host to gpuvmd and run the commands it queues (create/destroy vGPUs and GPU "
      "instances). Pushes the inventory when it changes, every --interval seconds, and when an "
      "operator asks (forceupdate); polls the command queue every --poll seconds.",
      "gpuvm agent");
  std::string name = default_host_name(), sysfs_root, state_dir, nvml_lib;
  double interval = 60, poll = 3;
  bool once = false, dry_run = false;
  ServerOptions api;
  add_server_options(app, api);
  app.add_option("--name", name, "Name of this host in gpuvmd (default: the short host name)")
      ->envname("GPUVM_HOST_NAME")
      ->capture_default_str();
  app.add_option("--interval", interval, "Seconds between pushes of an unchanged inventory")
      ->check(CLI::Range(1.0, 86400.0))
      ->capture_default_str();
  app.add_option("--poll", poll, "Seconds between looks at the command queue and the host")
      ->check(CLI::Range(0.05, 3600.0))
      ->capture_default_str();
  app.add_flag("--once", once, "One round (push, run queued commands, push), then exit");
  app.add_flag("--dry-run", dry_run,
               "Print the inventory this host would report (JSON) and exit; gpuvmd is not "
               "contacted and nothing is changed");
  add_sysfs_root_option(app, sysfs_root);
  add_state_dir_option(app, state_dir);
  add_nvml_lib_option(app, nvml_lib);
  if (auto rc = parse_args(app, args)) return *rc;
  const SysfsRoot root{std::filesystem::path(sysfs_root)};
  if (dry_run) {
    std::unique_ptr<mig::NvmlHost> nvml;
    try {
      nvml = std::make_unique<mig::NvmlHost>(nvml_lib);
    } catch (const Error& e) {
      if (!nvml_lib.empty()) throw;  // asked for a library that does not load
      fmt::print(stderr, "gpuvm agent: NVML not available ({}); reporting without MIG\n", e.what());
    }
    server::HostInventory inv = agent::collect_inventory(root, nvml.get(), name);
    inv.check = agent::recorded_check(state_dir);  // as a push sends it
    fmt::print("{}\n", nlohmann::json::parse(server::to_json(inv)).dump(2));
    return kExitOk;
  }
  if (!api.token_file.empty()) api.token = server::read_token_file(api.token_file);

  agent::AgentOptions o;
  o.server = api.url;
  o.token = api.token;
  o.ca_file = api.ca_file;
  o.insecure_http = api.insecure_http;
  o.host_name = name;
  o.root = root;
  o.nvml_lib = nvml_lib;
  o.state_dir = state_dir;
  o.push_period = std::chrono::milliseconds(static_cast<int64_t>(interval * 1000));
  o.poll_period = std::chrono::milliseconds(static_cast<int64_t>(poll * 1000));
  agent::Agent agent(std::move(o), [](const std::string& line) {
    fmt::print(stderr, "gpuvm agent: {}\n", line);
    std::fflush(stderr);
  });
  if (once) {
    agent::RoundReport r = agent.round();
    fmt::print("{} {} command(s) done, {} failed\n", r.pushed ? "pushed;" : "no change;",
               r.commands_done, r.commands_failed);
    return r.commands_failed == 0 ? kExitOk : kExitFailure;
  }
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  fmt::print(stderr, "gpuvm agent: host {} reporting to {}\n", name, api.url);
  agent.run(g_stop);
  return kExitOk;
}

}  // namespace gpuvm::cli
