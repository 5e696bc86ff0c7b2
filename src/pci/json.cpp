// `gpuvm probe --format json`: schema version 1, docs/probe.md. Keys are
// written in the documented order (ordered_json); absent facts are null.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "pci/output.h"

namespace gpuvm::pci {
namespace {

using Json = nlohmann::ordered_json;

template <typename T>
Json opt(const std::optional<T>& v) {
  return v ? Json(*v) : Json(nullptr);
}

Json hex_or_null(const std::optional<uint16_t>& v, int digits) {
  return v ? Json(fmt::format("{:0{}x}", *v, digits)) : Json(nullptr);
}

struct FreeType {
  std::string id;
  std::string name;
  int64_t instances = 0;
};

// Free vGPU instances per type offered by the device itself.
void own_free(const Device& d, std::vector<FreeType>& out) {
  for (const VgpuType& t : d.mdev_types)
    out.push_back({t.id, t.name, t.available_instances.value_or(0)});
  if (d.nvidia_vgpu_dir) {
    // Each VF holds at most one vGPU: a type listed as creatable is one free
    // instance while the VF is empty.
    bool empty = d.current_vgpu_type.value_or(0) == 0;
    for (const VgpuType& t : d.creatable_vgpu_types) out.push_back({t.id, t.name, empty ? 1 : 0});
  }
}

void merge(std::vector<FreeType>& into, const std::vector<FreeType>& add) {
  for (const FreeType& f : add) {
    auto it =
        std::find_if(into.begin(), into.end(), [&](const FreeType& x) { return x.id == f.id; });
    if (it == into.end())
      into.push_back(f);
    else
      it->instances += f.instances;
  }
}

Json vgpu_json(const Device& d, const std::map<Bdf, const Device*>& by_bdf) {
  Json v;
  v["mode"] = d.mdev_parent ? Json("legacy") : d.nvidia_vgpu_dir ? Json("nvidia") : Json(nullptr);
  Json types = Json::array();
  for (const VgpuType& t : d.mdev_types) {
    types.push_back(Json{{"id", t.id},
                         {"name", t.name},
                         {"available_instances", opt(t.available_instances)},
                         {"description", t.description},
                         {"device_api", t.device_api}});
  }
  v["mdev_types"] = std::move(types);
  Json mdevs = Json::array();
  for (const MdevInstance& m : d.mdevs) mdevs.push_back(Json{{"uuid", m.uuid}, {"type", m.type}});
  v["mdevs"] = std::move(mdevs);
  Json creatable = Json::array();
  for (const VgpuType& t : d.creatable_vgpu_types)
    creatable.push_back(Json{{"id", t.id}, {"name", t.name}});
  v["creatable_types"] = std::move(creatable);
  v["current_type"] = opt(d.current_vgpu_type);
  std::vector<FreeType> free;
  own_free(d, free);
  for (const Bdf& vf : d.virtfns) {
    auto it = by_bdf.find(vf);
    if (it == by_bdf.end()) continue;
    std::vector<FreeType> vf_free;
    own_free(*it->second, vf_free);
    merge(free, vf_free);
  }
  Json free_json = Json::array();
  for (const FreeType& f : free)
    free_json.push_back(Json{{"id", f.id}, {"name", f.name}, {"instances", f.instances}});
  v["free"] = std::move(free_json);
  return v;
}

Json device_json(const Device& d, const Selection& sel,
                 const std::map<Bdf, const Device*>& by_bdf) {
  Json j;
  j["address"] = d.bdf.str();
  j["short_address"] = lspci_slot(d.bdf);
  j["one_address"] = d.bdf.one_address();
  j["vendor_id"] = fmt::format("{:04x}", d.vendor_id);
  j["device_id"] = fmt::format("{:04x}", d.device_id);
  j["class"] = fmt::format("{:04x}", d.class_code >> 8);
  j["prog_if"] = fmt::format("{:02x}", d.class_code & 0xff);
  j["subsystem_vendor_id"] = hex_or_null(d.subsystem_vendor_id, 4);
  j["subsystem_device_id"] = hex_or_null(d.subsystem_device_id, 4);
  j["revision"] = d.revision ? Json(fmt::format("{:02x}", *d.revision)) : Json(nullptr);
  j["vendor_name"] = d.vendor_name;
  j["device_name"] = d.device_name;
  j["class_name"] = d.class_name;
  bool has_subsys = !d.subsystem_vendor_name.empty();
  j["subsystem_vendor_name"] = has_subsys ? Json(d.subsystem_vendor_name) : Json(nullptr);
  j["subsystem_device_name"] = has_subsys ? Json(d.subsystem_device_name) : Json(nullptr);
  j["numa_node"] = opt(d.numa_node);
  j["driver"] = opt(d.driver);
  j["iommu_group"] = opt(d.iommu_group);
  j["link"] = Json{{"current_speed", opt(d.link.current_speed)},
                   {"current_width", opt(d.link.current_width)},
                   {"max_speed", opt(d.link.max_speed)},
                   {"max_width", opt(d.link.max_width)}};
  Json virtfns = Json::array();
  for (const Bdf& vf : d.virtfns) virtfns.push_back(vf.str());
  const char* role = d.sriov_role == SriovRole::kVf   ? "vf"
                     : d.sriov_role == SriovRole::kPf ? "pf"
                                                      : "none";
  j["sriov"] = Json{{"role", role},
                    {"physfn", d.physfn ? Json(d.physfn->str()) : Json(nullptr)},
                    {"virtfns", std::move(virtfns)},
                    {"totalvfs", opt(d.sriov_totalvfs)},
                    {"numvfs", opt(d.sriov_numvfs)}};
  j["net_interfaces"] = d.net_interfaces;
  j["primary_interface"] = opt(d.primary_interface);
  j["vgpu"] = vgpu_json(d, by_bdf);
  OneView v = one_view(d, sel);
  j["opennebula"] = Json{{"listed", v.listed},
                         {"device_name", v.device_name},
                         {"uuid", v.nvidia_vf ? Json(v.uuid) : Json(nullptr)},
                         {"profiles", v.nvidia_vf ? Json(v.profiles) : Json(nullptr)},
                         {"mdev_mode", v.nvidia_vf ? Json(v.mdev_mode) : Json(nullptr)}};
  return j;
}

}  // namespace

std::string format_json(const ProbeResult& result, const Selection& sel,
                        const std::string& sysfs_root) {
  std::map<Bdf, const Device*> by_bdf;
  for (const Device& d : result.devices) by_bdf.emplace(d.bdf, &d);
  Json doc;
  doc["schema_version"] = 1;
  doc["sysfs_root"] = sysfs_root;
  Json devices = Json::array();
  for (const Device& d : result.devices)
    if (sel.selects(d)) devices.push_back(device_json(d, sel, by_bdf));
  doc["devices"] = std::move(devices);
  Json warnings = Json::array();
  for (const Warning& w : result.warnings)
    warnings.push_back(Json{{"path", w.path}, {"message", w.message}});
  doc["warnings"] = std::move(warnings);
  // Invalid UTF-8 from a broken tree is replaced, never a throw.
  return doc.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace gpuvm::pci
