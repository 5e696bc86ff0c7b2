// gpuvm vm create|list|show|deploy|undeploy|delete: VMs and their PCI
// requests, through gpuvmd's API.
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

using nlohmann::json;

// "KEY=VALUE,KEY=VALUE" -> {"KEY": "VALUE", ...}; the server checks the keys.
json parse_pci(const std::string& spec) {
  json r = json::object();
  size_t start = 0;
  while (start <= spec.size()) {
    size_t end = spec.find(',', start);
    std::string item =
        spec.substr(start, end == std::string::npos ? std::string::npos : end - start);
    auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size())
      throw_invalid(
          fmt::format("--pci '{}': expected KEY=VALUE[,KEY=VALUE...], e.g. MIG_PROFILE=3g.40gb or "
                      "VENDOR=10de,DEVICE=2330,PROFILE=1042",
                      spec));
    r[item.substr(0, eq)] = item.substr(eq + 1);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return r;
}

void print_vms(const json& vms, const std::string& format) {
  if (format == "json") {
    std::cout << vms.dump(2) << "\n";
    return;
  }
  std::cout << fmt::format("{:>6} {:<20} {:<10} {:<20} {}\n", "ID", "NAME", "STATE", "HOST",
                           "DEVICES");
  for (const auto& vm : vms) {
    std::string devices;
    for (const auto& a : vm["allocations"]) {
      std::string what = a["mig_profile"].get<std::string>().empty()
                             ? a["vgpu_type"].get<std::string>()
                             : a["mig_profile"].get<std::string>();
      devices += fmt::format("{}{}{}{}", devices.empty() ? "" : " ", a["device"].get<std::string>(),
                             what.empty() ? "" : ":", what);
    }
    std::cout << fmt::format("{:>6} {:<20} {:<10} {:<20} {}\n", vm["id"].get<int64_t>(),
                             vm["name"].get<std::string>(), vm["state"].get<std::string>(),
                             vm["host"].get<std::string>(), devices.empty() ? "-" : devices);
  }
}

}  // namespace

int run_vm(const std::vector<std::string>& args) {
  CLI::App app("VMs and their GPU requests in gpuvmd", "gpuvm vm");
  std::string format = "table", name, numa = "preferred";
  std::vector<std::string> pci;
  int64_t id = 0;
  bool deploy = false;
  ServerOptions api;
  add_server_options(app, api);
  app.require_subcommand(1);
  app.fallthrough();  // "gpuvm host list --server URL": the shared options after the verb too
  auto fmt_opt = [&](CLI::App* c) {
    c->add_option("--format", format, "table or json")
        ->check(CLI::IsMember({"table", "json"}))
        ->capture_default_str();
  };
  auto* create =
      app.add_subcommand("create", "Create a VM with PCI requests (and deploy it with --deploy)");
  create->add_option("NAME", name, "VM name")->required();
  create
      ->add_option("--pci", pci,
                   "a PCI request KEY=VALUE,...: VENDOR, DEVICE, CLASS, SHORT_ADDRESS, PROFILE, "
                   "MIG_PROFILE, VGPU_TYPE (repeat for several devices)")
      ->required();
  create->add_option("--numa", numa, "required, preferred or none")->capture_default_str();
  create->add_flag("--deploy", deploy, "place and allocate it at once");
  fmt_opt(create);
  auto* list = app.add_subcommand("list", "List VMs");
  fmt_opt(list);
  std::vector<CLI::App*> by_id;
  for (auto [cmd, help] : {std::pair{"show", "Show a VM"},
                           {"deploy", "Place and allocate all devices, or none"},
                           {"undeploy", "Release the VM's devices"},
                           {"delete", "Release and delete"}}) {
    auto* c = app.add_subcommand(cmd, help);
    c->add_option("ID", id, "VM id")->required();
    fmt_opt(c);
    by_id.push_back(c);
  }
  if (auto rc = parse_args(app, args)) return *rc;

  if (!api.token_file.empty()) api.token = server::read_token_file(api.token_file);
  server::ApiClient client(api.url, api.token, api.ca_file, api.insecure_http);
  if (*create) {
    json body = {{"name", name}, {"numa", numa}, {"pci", json::array()}};
    for (const auto& p : pci) body["pci"].push_back(parse_pci(p));
    json vm = json::parse(client.post("/api/v1/vms", body.dump()));
    if (deploy)
      vm = json::parse(
          client.post(fmt::format("/api/v1/vms/{}/deploy", vm["id"].get<int64_t>()), ""))["vm"];
    print_vms(json::array({vm}), format);
  } else if (*list) {
    print_vms(json::parse(client.get("/api/v1/vms")), format);
  } else if (*by_id[0]) {
    print_vms(json::array({json::parse(client.get(fmt::format("/api/v1/vms/{}", id)))}), format);
  } else if (*by_id[1]) {
    print_vms(
        json::array({json::parse(client.post(fmt::format("/api/v1/vms/{}/deploy", id), ""))["vm"]}),
        format);
  } else if (*by_id[2]) {
    print_vms(
        json::array({json::parse(client.post(fmt::format("/api/v1/vms/{}/undeploy", id), ""))}),
        format);
  } else if (*by_id[3]) {
    client.del(fmt::format("/api/v1/vms/{}", id));
  }
  return kExitOk;
}

}  // namespace gpuvm::cli
