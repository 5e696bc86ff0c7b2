#include "node/apply.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "pci/probe.h"
#include "sriov/sriov.h"
#include "vgpu/type_name.h"
#include "vgpu/vgpu.h"

namespace gpuvm::node {
namespace {

namespace fs = std::filesystem;

// Writes `text` to `path` atomically: a crash leaves the old or the new file.
void write_atomic(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  const std::string tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw_errno(errno, "cannot create", tmp);
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) throw_errno(err, "cannot write", tmp);
  fs::rename(tmp, path);
}

// The journal: every step, planned then done. Only for the operator and the
// next run's report: recovery re-plans from the host, which is the truth.
class Journal {
 public:
  Journal(fs::path path, bool enabled) : path_(std::move(path)), enabled_(enabled) {}
  bool found() const { return enabled_ && fs::exists(path_); }
  void plan(const std::string& step) {
    steps_.push_back({{"step", step}, {"done", false}});
    save();
  }
  void done() {
    steps_.back()["done"] = true;
    save();
  }
  void finish() {
    if (enabled_) fs::remove(path_);
  }

 private:
  void save() {
    if (enabled_) write_atomic(path_, nlohmann::json{{"steps", steps_}}.dump(1) + "\n");
  }
  fs::path path_;
  bool enabled_;
  nlohmann::json steps_ = nlohmann::json::array();
};

// Type name -> id per GPU, learned while the GPU lists its types: a full GPU
// lists none, and a second run must still recognize what it holds.
class TypeCache {
 public:
  TypeCache(fs::path path, bool writable) : path_(std::move(path)), writable_(writable) {
    if (fs::exists(path_)) {
      try {
        data_ = nlohmann::json::parse(read_attr(path_).value_or("{}"));
      } catch (const nlohmann::json::exception&) {
        data_ = nlohmann::json::object();  // a damaged cache is only a cache
      }
    }
  }
  std::optional<std::string> get(const Bdf& gpu, const std::string& name) const {
    const std::string key = gpu.str() + " " + name;
    if (data_.contains(key) && data_[key].is_string()) return data_[key].get<std::string>();
    return std::nullopt;
  }
  void put(const Bdf& gpu, const std::string& name, const std::string& id) {
    const std::string key = gpu.str() + " " + name;
    if (data_.contains(key) && data_[key] == id) return;
    data_[key] = id;
    if (writable_) write_atomic(path_, data_.dump(1) + "\n");
  }

 private:
  fs::path path_;
  bool writable_;
  nlohmann::json data_ = nlohmann::json::object();
};

const pci::Device* find(const pci::ProbeResult& p, const Bdf& b) {
  for (const auto& d : p.devices) {
    if (d.bdf == b) return &d;
  }
  return nullptr;
}

bool type_matches(const vgpu::Type& t, const std::string& want) {
  return t.id == want || t.name == want || t.short_name == want ||
         (t.id.rfind("nvidia-", 0) == 0 && t.id.substr(7) == want);
}

// The id of `want` on this GPU: from any parent's list, else the cache, else
// `want` itself when it is an id.
std::optional<std::string> resolve(const std::vector<vgpu::Parent>& parents, const Bdf& gpu,
                                   const std::string& want, TypeCache& cache) {
  for (const auto& p : parents) {
    if (p.pf.value_or(p.bdf) != gpu) continue;
    for (const auto& t : p.types) {
      if (type_matches(t, want)) {
        cache.put(gpu, want, t.id);
        return t.id;
      }
    }
  }
  if (auto id = cache.get(gpu, want)) return id;
  if (want.find_first_not_of("0123456789") == std::string::npos) return want;
  if (want.rfind("nvidia-", 0) == 0) return want;
  return std::nullopt;
}

void check_against_host(const pci::ProbeResult& probe, const NodeSpec& spec) {
  for (const auto& g : spec.gpus) {
    const pci::Device* d = find(probe, g.address);
    if (d == nullptr) throw_invalid(fmt::format("{}: no PCI device {}", g.where, g.address.str()));
    if (d->vendor_id != 0x10de || (d->class_code >> 16) != 0x03 ||
        d->sriov_role == pci::SriovRole::kVf) {
      throw_invalid(
          fmt::format("{}: {} is not an NVIDIA GPU (physical function)", g.where, g.address.str()));
    }
    const int total = d->sriov_totalvfs.value_or(0);
    if (g.vfs && *g.vfs > total) {
      throw_invalid(fmt::format("{}.sriov: {} VFs, but {} has sriov_totalvfs {}", g.where, *g.vfs,
                                g.address.str(), total));
    }
    const int vfs = g.vfs ? (*g.vfs < 0 ? total : *g.vfs) : d->sriov_numvfs.value_or(0);
    int wanted = 0;
    for (const auto& v : g.vgpus) {
      wanted += v.vf ? 1 : v.count;
      if (v.vf && *v.vf != g.address) {
        // A pinned VF must be one of this GPU's, by the SR-IOV offset/stride
        // rule the kernel uses for NVIDIA GPUs: function 4 onward.
        const pci::Device* vd = find(probe, *v.vf);
        const bool ours = vd ? vd->physfn == g.address
                             : (v.vf->domain == g.address.domain && v.vf->bus == g.address.bus);
        if (!ours) {
          throw_invalid(
              fmt::format("{}.vf: {} is not a VF of {}", v.where, v.vf->str(), g.address.str()));
        }
      }
    }
    // One vGPU per VF; a PF parent (pre-Ampere mdev) is checked by the driver.
    if (vfs > 0 && wanted > vfs) {
      throw_invalid(fmt::format("{}: {} vGPUs do not fit on {} VFs of {}", g.where, wanted, vfs,
                                g.address.str()));
    }
    if (vfs == 0 && wanted > 0 && !d->mdev_parent) {
      throw_invalid(
          fmt::format("{}: vGPUs need VFs on {} (add 'sriov: true') or a pre-Ampere "
                      "mdev GPU",
                      g.where, g.address.str()));
    }
  }
}

}  // namespace

fs::path journal_path(const fs::path& state_dir) {
  return state_dir / "node.journal";
}

ApplyReport apply(const SysfsRoot& root, const NodeSpec& spec, const ApplyOptions& options) {
  check_against_host(pci::probe(root), spec);
  ApplyReport report;
  Journal journal(journal_path(options.state_dir), !options.dry_run);
  report.resumed = journal.found();
  TypeCache cache(options.state_dir / "vgpu-types.json", !options.dry_run);

  // 1. SR-IOV (it wipes GPU instances and vGPUs: before anything else).
  for (const auto& g : spec.gpus) {
    if (!g.vfs) continue;
    sriov::Options so;
    so.state_dir = options.state_dir;
    so.dry_run = true;
    if (*g.vfs > 0) so.num_vfs = *g.vfs;
    const bool on = *g.vfs != 0;
    const sriov::Result plan =
        on ? sriov::enable(root, g.address, so) : sriov::disable(root, g.address, so);
    if (!plan.changed) continue;
    const std::string step =
        on ? fmt::format("enable {} VFs on {}", plan.vfs_after, g.address.str())
           : fmt::format("disable the VFs of {}", g.address.str());
    report.steps.push_back(step);
    if (options.dry_run) continue;
    journal.plan(step);
    so.dry_run = false;
    on ? sriov::enable(root, g.address, so) : sriov::disable(root, g.address, so);
    journal.done();
  }

  // 2. vGPUs, planned from the host as it is now.
  const std::vector<vgpu::Parent> parents = vgpu::parents(root);
  const std::vector<vgpu::Device> devices = vgpu::devices(root);
  std::set<Bdf> taken;  // parents given a vGPU by this plan
  for (const auto& g : spec.gpus) {
    if (g.vgpus.empty()) continue;
    std::vector<const vgpu::Parent*> mine;
    for (const auto& p : parents) {
      if (p.pf.value_or(p.bdf) == g.address) mine.push_back(&p);
    }
    if (mine.empty() && options.dry_run) {
      report.steps.push_back(fmt::format("then create the vGPUs of {} on its new VFs", g.where));
      continue;
    }
    auto holds = [&](const Bdf& parent) {
      for (const auto& d : devices) {
        if (d.parent == parent) return true;
      }
      return false;
    };
    // Pinned ones first, so that counted ones do not take their VFs.
    std::vector<std::pair<const VgpuSpec*, std::string>> resolved;
    for (const auto& v : g.vgpus) {
      auto id = resolve(parents, g.address, v.type, cache);
      if (!id) {
        throw Error(Errc::kConflict,
                    fmt::format("{}.type: {} is not offered by any parent of {} now{}", v.where,
                                v.type, g.address.str(), [&]() -> std::string {
                                  auto t = vgpu::parse_type_name(vgpu::short_type_name(v.type));
                                  return t && t->mig_backed()
                                             ? " (MIG-backed: needs GPU instances of profile " +
                                                   t->gi_profile() + ")"
                                             : "";
                                }()));
      }
      resolved.emplace_back(&v, *id);
      if (v.vf) taken.insert(*v.vf);
    }
    for (const auto& [v, id] : resolved) {
      struct Todo {
        const vgpu::Parent* parent;
        std::optional<Uuid> uuid;
      };
      std::vector<Todo> todo;
      auto parent_of = [&](const Bdf& b) -> const vgpu::Parent* {
        for (const auto* p : mine) {
          if (p->bdf == b) return p;
        }
        return nullptr;
      };
      if (v->vf) {
        bool ok = false;
        for (const auto& d : devices) {
          ok |= d.parent == *v->vf && d.type_id == id && (!v->uuid || d.uuid == *v->uuid);
        }
        if (!ok) {
          const vgpu::Parent* p = parent_of(*v->vf);
          if (p == nullptr) {
            throw Error(Errc::kConflict, fmt::format("{}.vf: {} is not a vGPU parent now (VFs "
                                                     "enabled?)",
                                                     v->where, v->vf->str()));
          }
          if (holds(p->bdf)) {
            throw Error(Errc::kConflict,
                        fmt::format("{}.vf: {} holds another vGPU; destroy it first (gpuvm vgpu "
                                    "destroy {})",
                                    v->where, p->bdf.str(), p->bdf.str()));
          }
          todo.push_back({p, v->uuid});
        }
      } else {
        int have = 0;
        for (const auto& d : devices) {
          if (d.pf.value_or(d.parent) == g.address && d.type_id == id && !taken.count(d.parent))
            ++have;
        }
        for (const auto* p : mine) {
          if (have >= v->count) break;
          const bool pf_parent = !p->pf.has_value();
          if (!pf_parent && (holds(p->bdf) || taken.count(p->bdf))) continue;
          todo.push_back({p, std::nullopt});
          if (!pf_parent) taken.insert(p->bdf);
          ++have;
          if (pf_parent) {
            // A pre-Ampere PF hosts them all: one request per missing device.
            while (have < v->count) {
              todo.push_back({p, std::nullopt});
              ++have;
            }
          }
        }
        if (have < v->count) {
          throw Error(Errc::kConflict,
                      fmt::format("{}: {} x {} do not fit on {}: no free parent left", v->where,
                                  v->count, v->type, g.address.str()));
        }
      }
      // One snapshot, many writes: the host lock keeps it true meanwhile.
      for (const auto& t : todo) {
        const std::string step =
            fmt::format("create a {} vGPU on {}", v->type, t.parent->bdf.str());
        report.steps.push_back(step);
        if (options.dry_run) continue;
        journal.plan(step);
        vgpu::create_planned(root, *t.parent, id, t.uuid);
        journal.done();
      }
    }
  }
  journal.finish();
  return report;
}

}  // namespace gpuvm::node
