// Runs the commands gpuvmd queues for this host (server::HostCommand) through
// the node part: vGPUs through src/vgpu, GPU instances through src/mig, under
// the host lock that every state-changing gpuvm command takes. Every command
// is idempotent: what is already as asked is success, so an agent that died
// mid-command, or a report the server never got, is repaired by running the
// command again.
#pragma once

#include <filesystem>
#include <string>

#include "core/sysfs.h"
#include "mig/backend.h"
#include "server/scheduler/model.h"

namespace gpuvm::agent {

struct ExecContext {
  SysfsRoot root;
  mig::MigHost* nvml = nullptr;  // nullptr: gi.* commands fail with a clear message
  std::filesystem::path state_dir;
};

// Never throws for what the host refuses: the outcome, with the driver's or
// gpuvm's message, is the result the agent reports.
server::CommandResult execute(const ExecContext& ctx, const server::HostCommand& command);

}  // namespace gpuvm::agent
