// gpuvm agent: the host side of gpuvmd. Each round it collects the host's
// inventory (inventory.h), pushes it when it changed, when the period is up
// or when an operator asked (forceupdate), then runs the commands gpuvmd
// queued for this host (executor.h) in order and reports each result. It
// replaces OpenNebula's monitoring probe plus its `vgpu` driver action,
// without a sudo-able script: the agent runs as root from a systemd unit
// (packaging/), talks to gpuvmd with a bearer token, and changes the host
// only through the node part's locked operations.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "core/sysfs.h"

namespace gpuvm::agent {

struct AgentOptions {
  std::string server;  // "http://HOST:PORT" or "https://..."
  std::string token;
  std::string ca_file;  // PEM bundle for https ("" = system default)
  // Plain http:// to a gpuvmd on another machine (the token in clear); refused
  // without it (server::ApiClient).
  bool insecure_http = false;
  std::string host_name;  // the name gpuvmd knows this host by
  SysfsRoot root{std::filesystem::path(kDefaultSysfsRoot)};
  std::string nvml_lib;  // "" = the system's; a host without NVML runs without MIG
  std::filesystem::path state_dir;
  std::chrono::milliseconds push_period{std::chrono::seconds(60)};
  std::chrono::milliseconds poll_period{std::chrono::seconds(3)};
};

struct RoundReport {
  bool pushed = false;
  int commands_done = 0;
  int commands_failed = 0;  // the host refused; reported to gpuvmd as such
};

class Agent {
 public:
  // Loads NVML if it can (a host without it is reported without MIG) and
  // checks the options; throws kInvalidArgument for bad ones.
  explicit Agent(AgentOptions options, std::function<void(const std::string&)> log = {});
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // One round. Throws gpuvm::Error when gpuvmd cannot be reached or refuses
  // (the caller retries next round); a command the host refuses is not an
  // error here but a failed result, sent to gpuvmd.
  RoundReport round();

  // Rounds every poll period until `stop`; errors are logged and retried.
  void run(const std::atomic<bool>& stop);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gpuvm::agent
