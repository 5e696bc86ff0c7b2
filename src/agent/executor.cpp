#include "agent/executor.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "core/bdf.h"
#include "core/error.h"
#include "core/uuid.h"
#include "mig/apply.h"
#include "node/lock.h"
#include "vgpu/vgpu.h"

namespace gpuvm::agent {
namespace {

using server::CommandOp;
using server::CommandResult;
using server::HostCommand;

// gpuvmd names devices by OpenNebula's ADDRESS ("0000:41:00:4"); sysfs and
// NVML by the kernel's form ("0000:41:00.4").
Bdf from_one_address(const std::string& address, const char* field) {
  std::string text = address;
  const size_t last = text.rfind(':');
  if (last != std::string::npos && std::count(text.begin(), text.end(), ':') == 3) text[last] = '.';
  auto b = Bdf::try_parse(text);
  if (!b)
    throw_invalid(fmt::format("command field {} '{}': expected a PCI ADDRESS such as 0000:41:00:4",
                              field, address.substr(0, 32)));
  return *b;
}

mig::MigGpu& gpu_at(const ExecContext& ctx, const Bdf& gpu) {
  if (ctx.nvml == nullptr)
    throw Error(Errc::kUnsupported,
                fmt::format("GPU instances on {} need NVML, and this agent has none loaded "
                            "(--nvml-lib)",
                            gpu.str()));
  if (mig::MigGpu* g = mig::find_gpu(*ctx.nvml, gpu)) return *g;
  throw Error(Errc::kNotFound, fmt::format("NVML knows no GPU at {}", gpu.str()));
}

const mig::GiProfile& profile_of(mig::MigGpu& g, const HostCommand& c, const Bdf& gpu) {
  const mig::GiProfile* p = g.profiles().find_name(c.mig_profile);
  if (p == nullptr)
    throw_invalid(fmt::format("GPU {} has no MIG profile {}", gpu.str(), c.mig_profile));
  return *p;
}

const mig::GpuInstance* instance_at(const std::vector<mig::GpuInstance>& gis, uint32_t profile_id,
                                    int start) {
  for (const auto& gi : gis)
    if (gi.profile_id == profile_id && static_cast<int>(gi.placement.start) == start) return &gi;
  return nullptr;
}

CommandResult create_gi(const ExecContext& ctx, const HostCommand& c) {
  const Bdf gpu = from_one_address(c.gpu, "gpu");
  mig::MigGpu& g = gpu_at(ctx, gpu);
  const mig::GiProfile& p = profile_of(g, c, gpu);
  const auto gis = g.gpu_instances();
  if (const auto* gi = instance_at(gis, p.id, c.mig_start)) {
    // A run killed between the two creates left the GI without its CI.
    if (gi->compute_instances.empty())
      g.create_compute_instance(gi->id, mig::ci_profile_for(g, gi->id, p.slice_count), {});
    return {true, false,
            fmt::format("GPU instance {} ({} at slice {}) was already there", gi->id, c.mig_profile,
                        c.mig_start)};
  }
  std::optional<mig::Placement> placement;
  for (const auto& pl : p.placements)
    if (static_cast<int>(pl.start) == c.mig_start) placement = pl;
  if (!placement)
    throw_invalid(fmt::format("MIG profile {} cannot start at memory slice {} on {}", c.mig_profile,
                              c.mig_start, gpu.str()));
  // The exact placement the scheduler chose: never the driver's own pick,
  // which could take the room another allocation was given.
  mig::GpuInstance gi = g.create_gpu_instance(p.id, placement);
  // A MIG-backed vGPU needs the GI's full compute instance made on the host
  // too (reference nvidia.md §2.1); without it, no half change.
  try {
    g.create_compute_instance(gi.id, mig::ci_profile_for(g, gi.id, p.slice_count), {});
  } catch (...) {
    mig::destroy_gi(g, gi.id);
    throw;
  }
  return {true, true,
          fmt::format("created GPU instance {} ({} at slice {}) on {}", gi.id, c.mig_profile,
                      c.mig_start, gpu.str())};
}

CommandResult destroy_gi(const ExecContext& ctx, const HostCommand& c) {
  const Bdf gpu = from_one_address(c.gpu, "gpu");
  mig::MigGpu& g = gpu_at(ctx, gpu);
  const mig::GiProfile& p = profile_of(g, c, gpu);
  const auto gis = g.gpu_instances();
  const auto* gi = instance_at(gis, p.id, c.mig_start);
  if (gi == nullptr)
    return {true, false,
            fmt::format("no {} GPU instance at slice {}: nothing to destroy", c.mig_profile,
                        c.mig_start)};
  mig::destroy_gi(g, gi->id);
  return {true, false,
          fmt::format("destroyed GPU instance {} ({} at slice {}) on {}", gi->id, c.mig_profile,
                      c.mig_start, gpu.str())};
}

CommandResult create_vgpu(const ExecContext& ctx, const HostCommand& c) {
  vgpu::CreateRequest r;
  r.parent = from_one_address(c.device, "device");
  r.type = c.vgpu_type;
  if (!c.uuid.empty()) r.uuid = Uuid::parse(c.uuid);
  r.existing_ok = true;  // a repeated command finds its device: success
  const vgpu::Device d = vgpu::create(ctx.root, r);
  return {true, true,
          fmt::format("vGPU {} ({}) on {}", d.uuid.str(),
                      d.type_name.empty() ? c.vgpu_type : d.type_name, d.parent.str())};
}

// An undo: a vGPU that is already gone (destroyed by a run that died before
// it reported, by an operator, or with its VF) is success, not a failure that
// gpuvmd would raise as host.command_failed.
CommandResult destroy_vgpu(const ExecContext& ctx, const HostCommand& c) {
  // By UUID where there is one (an mdev on a PF), else by the VF it sits on.
  std::optional<Uuid> uuid;
  std::optional<Bdf> parent;
  if (!c.uuid.empty())
    uuid = Uuid::parse(c.uuid);
  else
    parent = from_one_address(c.device, "device");
  const std::string which = uuid ? uuid->str() : parent->str();
  const auto all = vgpu::devices(ctx.root);
  const bool there = std::any_of(all.begin(), all.end(), [&](const vgpu::Device& d) {
    return uuid ? d.uuid == *uuid : d.parent == *parent;
  });
  if (!there) return {true, false, fmt::format("no vGPU {}: nothing to destroy", which)};
  const vgpu::Device d = vgpu::destroy(ctx.root, which);
  return {true, false, fmt::format("destroyed vGPU {} on {}", d.uuid.str(), d.parent.str())};
}

}  // namespace

CommandResult execute(const ExecContext& ctx, const HostCommand& c) {
  try {
    LockFile lock = node::lock_host(ctx.state_dir);
    switch (c.op) {
      case CommandOp::kGiCreate:
        return create_gi(ctx, c);
      case CommandOp::kGiDestroy:
        return destroy_gi(ctx, c);
      case CommandOp::kVgpuCreate:
        return create_vgpu(ctx, c);
      case CommandOp::kVgpuDestroy:
        return destroy_vgpu(ctx, c);
    }
    return {false, false, "unknown command"};
  } catch (const std::exception& e) {
    return {false, false, e.what()};
  }
}

}  // namespace gpuvm::agent
