// gpuvm vgpu types|list|create|destroy|xml: vGPUs on both kernel interfaces
// (docs/node.md).
#include "vgpu/vgpu.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "cli/command.h"
#include "cli/commands.h"
#include "core/error.h"
#include "mig/apply.h"
#include "mig/nvml_host.h"
#include "node/lock.h"
#include "vgpu/type_name.h"
#include "vgpu/xml.h"

namespace gpuvm::cli {
namespace {

const char* interface_name(vgpu::Interface i) {
  return i == vgpu::Interface::kMdev ? "mdev" : "vendor-specific";
}

nlohmann::json device_json(const vgpu::Device& d) {
  return {{"uuid", d.uuid.str()},
          {"parent", d.parent.str()},
          {"gpu", d.pf.value_or(d.parent).str()},
          {"interface", interface_name(d.interface)},
          {"mdev_mode", vgpu::mdev_mode(d.interface)},
          {"type_id", d.type_id},
          {"type_name", d.type_name}};
}

void print_devices(const std::vector<vgpu::Device>& devs, const std::string& format) {
  if (format == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& d : devs) out.push_back(device_json(d));
    fmt::print("{}\n", out.dump(2));
    return;
  }
  fmt::print("{:<36}  {:<12}  {:<12}  {:<15}  {:<10}  {}\n", "UUID", "PARENT", "GPU", "INTERFACE",
             "TYPE", "NAME");
  for (const auto& d : devs) {
    fmt::print("{:<36}  {:<12}  {:<12}  {:<15}  {:<10}  {}\n", d.uuid.str(), d.parent.str(),
               d.pf.value_or(d.parent).str(), interface_name(d.interface), d.type_id,
               d.type_name.empty() ? "-" : d.type_name);
  }
}

std::string read_small_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_invalid(fmt::format("cannot read {}", path));
  std::ostringstream s;
  s << in.rdbuf();
  if (s.str().size() > (16u << 20)) throw_invalid(fmt::format("{}: larger than 16 MiB", path));
  return s.str();
}

// gpuvm vgpu create --create-gi: the vGPU of MIG-backed type `req.type`
// after creating the GPU instance it needs; if the vGPU create then fails,
// the instance goes again (no half change). Called after a create failed
// for want of a free instance (kConflict).
vgpu::Device create_with_gi(const SysfsRoot& root, const vgpu::CreateRequest& req,
                            const std::string& nvml_lib) {
  const auto type = vgpu::parse_type_name(vgpu::short_type_name(req.type));
  const auto ps = vgpu::parents(root, req.parent);
  const Bdf gpu = ps.front().pf.value_or(ps.front().bdf);
  mig::NvmlHost host(nvml_lib);
  mig::MigGpu& g = host.gpu(host.index_by_pci_bus_id(gpu.str()));
  if (!g.mig_mode().current) {
    throw Error(Errc::kConflict,
                fmt::format("--create-gi: GPU {} has MIG mode off; enable it first (gpuvm node "
                            "apply with 'mig: true' for it)",
                            gpu.str()));
  }
  const mig::GiProfile* profile = g.profiles().find_name(type->gi_profile());
  if (profile == nullptr) {
    std::string have;
    for (const auto& p : g.profiles().gi) have += (have.empty() ? "" : ", ") + p.short_name();
    throw_invalid(
        fmt::format("--create-gi: {} needs MIG profile {}, which GPU {} does not have "
                    "(it has: {})",
                    req.type, type->gi_profile(), gpu.str(), have));
  }
  const mig::GpuInstance gi = mig::create_placed_gi(g, profile->id);
  std::fprintf(stderr, "created GPU instance %u (%s at %u:%u) on %s\n", gi.id,
               profile->short_name().c_str(), gi.placement.start, gi.placement.size,
               gpu.str().c_str());
  try {
    return vgpu::create(root, req);
  } catch (const Error& e) {
    try {
      mig::destroy_gi(g, gi.id);
    } catch (const Error& undo) {
      throw Error(e.code(),
                  fmt::format("{}; the GPU instance {} created for it could not be destroyed "
                              "again: {}",
                              e.what(), gi.id, undo.what()),
                  e.sys_errno());
    }
    throw Error(
        e.code(),
        fmt::format("{}; the GPU instance {} created for it was destroyed again", e.what(), gi.id),
        e.sys_errno());
  }
}

}  // namespace

int run_vgpu(const std::vector<std::string>& args) {
  CLI::App app("vGPU types and devices (legacy mdev and NVIDIA vendor-specific VFIO)",
               "gpuvm vgpu");
  app.require_subcommand(1);
  app.fallthrough();  // --sysfs-root etc. may follow the subcommand
  std::string sysfs_root, state_dir, format = "table";
  add_sysfs_root_option(app, sysfs_root);
  add_state_dir_option(app, state_dir);
  auto add_format = [&](CLI::App* sub) {
    sub->add_option("--format", format, "Output: table or json")
        ->check(CLI::IsMember({"table", "json"}));
  };
  std::string device_arg, parent_arg, type_arg, uuid_arg, domain_xml, nvml_lib;
  bool create_gi = false;
  CLI::App* types = app.add_subcommand("types", "vGPU types each parent can create now");
  types->add_option("DEVICE", device_arg, "A GPU (its VFs) or one parent");
  add_format(types);
  CLI::App* list = app.add_subcommand("list", "vGPUs that exist");
  add_format(list);
  CLI::App* create = app.add_subcommand("create", "Create a vGPU");
  create->add_option("--parent", parent_arg, "The mdev parent or VF (DDDD:BB:DD.F)")->required();
  create->add_option("--type", type_arg, "Type id (nvidia-474, 1414) or name (A100-1-5C)")
      ->required();
  create->add_option("--uuid", uuid_arg,
                     "mdev UUID (default: UUIDv5 of the VF's address, as OpenNebula)");
  create->add_flag("--create-gi", create_gi,
                   "MIG-backed type (by name) and no free GPU instance of its profile: create "
                   "one, with its compute instance, placed next to the existing ones; destroyed "
                   "again if the vGPU create fails");
  add_nvml_lib_option(*create, nvml_lib);
  add_format(create);
  CLI::App* destroy = app.add_subcommand("destroy", "Destroy a vGPU");
  destroy->add_option("DEVICE", device_arg, "vGPU UUID or parent address")->required();
  CLI::App* xml = app.add_subcommand("xml", "libvirt <hostdev> for a vGPU");
  xml->add_option("DEVICE", device_arg, "vGPU UUID or parent address")->required();
  xml->add_option("--domain-xml", domain_xml,
                  "Insert the <hostdev> into this libvirt domain definition and print it");
  if (auto rc = parse_args(app, args)) return *rc;
  const SysfsRoot root{std::filesystem::path(sysfs_root)};

  if (types->parsed()) {
    std::optional<Bdf> only;
    if (!device_arg.empty()) only = Bdf::parse(device_arg);
    const auto ps = vgpu::parents(root, only);
    if (format == "json") {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& p : ps) {
        nlohmann::json j{{"parent", p.bdf.str()},
                         {"gpu", p.pf.value_or(p.bdf).str()},
                         {"interface", interface_name(p.interface)},
                         {"mdev_mode", vgpu::mdev_mode(p.interface)},
                         {"current_vgpu_type", p.current_vgpu_type},
                         {"mdevs", nlohmann::json::array()},
                         {"types", nlohmann::json::array()}};
        for (const auto& u : p.mdevs) j["mdevs"].push_back(u.str());
        for (const auto& t : p.types) {
          j["types"].push_back({{"id", t.id},
                                {"name", t.name},
                                {"short_name", t.short_name},
                                {"available", t.available},
                                {"mig_backed", t.mig_backed},
                                {"gi_profile", t.gi_profile}});
        }
        out.push_back(std::move(j));
      }
      fmt::print("{}\n", out.dump(2));
      return kExitOk;
    }
    fmt::print("{:<12}  {:<12}  {:<15}  {:<10}  {:<20}  {:>9}  {}\n", "PARENT", "GPU", "INTERFACE",
               "TYPE", "NAME", "AVAILABLE", "MIG PROFILE");
    for (const auto& p : ps) {
      if (p.types.empty()) {
        fmt::print("{:<12}  {:<12}  {:<15}  {:<10}  {:<20}  {:>9}  {}\n", p.bdf.str(),
                   p.pf.value_or(p.bdf).str(), interface_name(p.interface), "-",
                   p.current_vgpu_type ? fmt::format("(holds {})", p.current_vgpu_type) : "(none)",
                   0, "-");
      }
      for (const auto& t : p.types) {
        fmt::print("{:<12}  {:<12}  {:<15}  {:<10}  {:<20}  {:>9}  {}\n", p.bdf.str(),
                   p.pf.value_or(p.bdf).str(), interface_name(p.interface), t.id, t.short_name,
                   t.available, t.mig_backed ? t.gi_profile : "-");
      }
    }
    return kExitOk;
  }
  if (list->parsed()) {
    print_devices(vgpu::devices(root), format);
    return kExitOk;
  }
  if (xml->parsed()) {
    const vgpu::Device d = vgpu::find_device(root, device_arg);
    const std::string out = domain_xml.empty()
                                ? vgpu::hostdev_xml(d)
                                : vgpu::insert_hostdev(read_small_file(domain_xml), domain_xml, d);
    fmt::print("{}", out);
    return kExitOk;
  }
  if (create->parsed()) {
    vgpu::CreateRequest req;
    req.parent = Bdf::parse(parent_arg);
    check_path_component(type_arg, "--type");
    req.type = type_arg;
    if (!uuid_arg.empty()) req.uuid = Uuid::parse(uuid_arg);
    if (create_gi) {
      const auto t = vgpu::parse_type_name(vgpu::short_type_name(type_arg));
      if (!t || !t->mig_backed()) {
        throw_invalid(
            fmt::format("--create-gi needs a MIG-backed type by name (H100XM-3-40C), "
                        "not '{}'",
                        type_arg));
      }
    }
    LockFile lock = node::lock_host(state_dir);
    std::optional<vgpu::Device> made;
    try {
      made = vgpu::create(root, req);
    } catch (const Error& e) {
      // kConflict: a MIG-backed type without a free GPU instance of its profile.
      if (!create_gi || e.code() != Errc::kConflict) throw;
      made = create_with_gi(root, req, nvml_lib);
    }
    print_devices({*made}, format);
    return kExitOk;
  }
  // destroy
  LockFile lock = node::lock_host(state_dir);
  const vgpu::Device d = vgpu::destroy(root, device_arg);
  fmt::print("destroyed {} ({}) on {}\n", d.uuid.str(), d.type_id, d.parent.str());
  return kExitOk;
}

}  // namespace gpuvm::cli
