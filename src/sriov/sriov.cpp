#include "sriov/sriov.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <thread>

#include "core/error.h"
#include "core/files.h"
#include "pci/probe.h"
#include "sriov/exec.h"

namespace gpuvm::sriov {
namespace {

constexpr uint16_t kNvidiaVendor = 0x10de;
constexpr std::string_view kNvidiaDriver = "nvidia";
constexpr std::string_view kStubDriver = "pci-pf-stub";

bool is_nvidia_gpu(const pci::Device& d) {
  return d.vendor_id == kNvidiaVendor && (d.class_code >> 16) == 0x03;
}

const pci::Device* find(const pci::ProbeResult& probe, const Bdf& bdf) {
  for (const auto& d : probe.devices) {
    if (d.bdf == bdf) return &d;
  }
  return nullptr;
}

// The PF as it is now; kInvalidArgument for anything that is not one.
pci::Device require_pf(const SysfsRoot& root, const pci::ProbeResult& probe, const Bdf& pf) {
  const pci::Device* d = find(probe, pf);
  if (d == nullptr) {
    throw_invalid(fmt::format("no PCI device {} in {}", pf.str(), root.pci_devices().string()));
  }
  if (d->sriov_role == pci::SriovRole::kVf) {
    throw_invalid(fmt::format("{} is a virtual function of {}: give its physical function",
                              pf.str(), d->physfn ? d->physfn->str() : "?"));
  }
  if (d->sriov_role != pci::SriovRole::kPf || d->sriov_totalvfs.value_or(0) <= 0) {
    throw_invalid(fmt::format("{} is not SR-IOV capable (no sriov_totalvfs)", pf.str()));
  }
  return *d;
}

// What a VF holds: "0000:41:00.4 (mdev 9b5b...)" or "" when nothing.
std::string vgpu_on(const pci::Device& vf) {
  if (!vf.mdevs.empty()) return fmt::format("{} (mdev {})", vf.bdf.str(), vf.mdevs.front().uuid);
  if (vf.current_vgpu_type.value_or(0) != 0) {
    return fmt::format("{} (current_vgpu_type {})", vf.bdf.str(), *vf.current_vgpu_type);
  }
  return {};
}

// Writes go through here so that a dry run and the report list the same steps.
class Writer {
 public:
  Writer(const SysfsRoot& root, const Options& options, Result& result)
      : root_(root), options_(options), result_(result) {}

  std::filesystem::path driver_file(std::string_view driver, std::string_view file) const {
    return root_.root() / "bus/pci/drivers" / driver / file;
  }

  bool dry_run() const { return options_.dry_run; }
  void note(std::string text) { result_.steps.push_back(std::move(text)); }

  void write(const std::filesystem::path& path, std::string_view value) {
    const std::string shown = value == "\n" ? "\\n" : std::string(value);
    result_.steps.push_back(fmt::format("write '{}' to {}", shown, path.string()));
    if (!options_.dry_run) write_attr(root_, path, value);
  }

  // nvidia's unbind blocks on other clients of the GPU; EBUSY is worth a retry.
  void write_retrying_busy(const std::filesystem::path& path, std::string_view value) {
    for (int attempt = 0;; ++attempt) {
      try {
        write(path, value);
        return;
      } catch (const Error& e) {
        if (e.code() != Errc::kBusy || attempt >= options_.busy_retries) throw;
        result_.steps.pop_back();
        std::this_thread::sleep_for(options_.busy_delay);
      }
    }
  }

 private:
  const SysfsRoot& root_;
  const Options& options_;
  Result& result_;
};

// sriov-manage binds every new VF to nvidia; autoprobe usually has already.
void bind_unbound_vfs(const SysfsRoot& root, const Bdf& pf, Writer& w) {
  const pci::ProbeResult now = pci::probe(root);
  const pci::Device* d = find(now, pf);
  if (d == nullptr) return;
  for (const Bdf& vf : d->virtfns) {
    const pci::Device* v = find(now, vf);
    if (v == nullptr || v->driver) continue;
    try {
      w.write(w.driver_file(kNvidiaDriver, "bind"), vf.str());
    } catch (const Error& e) {
      // nvidia takes VFs only with a vGPU manager; without one the VFs stay
      // unbound (usable for passthrough). Not a failure of the PF's sequence.
      w.note(fmt::format("{} left unbound: {}", vf.str(), e.what()));
    }
  }
}

// The sriov-manage sequence, done directly (see sriov.h). Starts from
// whatever driver the PF has now, so that a run interrupted between steps is
// completed by the next one; on failure it tries to hand the PF back to
// nvidia and says how that went.
void nvidia_set_numvfs(const SysfsRoot& root, const pci::ProbeResult& probe, const pci::Device& pf,
                       int n, Writer& w) {
  const std::string bdf = pf.bdf.str();
  if (n == 0) {
    // sriov-manage -d lets go of the VFs first (nvidia or vfio-pci).
    for (const Bdf& vf : pf.virtfns) {
      const pci::Device* d = find(probe, vf);
      if (d != nullptr && d->driver) w.write(w.driver_file(*d->driver, "unbind"), vf.str());
    }
  }
  // <PF>/driver_override (Documentation/ABI/testing/sysfs-bus-pci, 3.16+).
  const auto override_file = root.pci_device(pf.bdf) / "driver_override";
  const std::string driver = pf.driver.value_or("");
  // <drivers>/<name>/bind, unbind (drivers/base/bus.c bind_store/unbind_store).
  if (driver == kNvidiaDriver) w.write_retrying_busy(w.driver_file(kNvidiaDriver, "unbind"), bdf);
  bool on_stub = driver == kStubDriver;
  try {
    if (!on_stub) {
      w.write(override_file, kStubDriver);
      w.write(w.driver_file(kStubDriver, "bind"), bdf);
      on_stub = true;
    }
    // <PF>/sriov_numvfs (drivers/pci/iov.c sriov_numvfs_store): 0 first when
    // a different count is enabled, the kernel refuses N -> M with EBUSY.
    const int now = pf.sriov_numvfs.value_or(0);
    if (now != 0 && n != 0 && now != n) w.write(root.pci_device(pf.bdf) / "sriov_numvfs", "0");
    if (now != n) w.write(root.pci_device(pf.bdf) / "sriov_numvfs", std::to_string(n));
    w.write(w.driver_file(kStubDriver, "unbind"), bdf);
    on_stub = false;
    w.write(override_file, "\n");
    w.write(w.driver_file(kNvidiaDriver, "bind"), bdf);
    if (n > 0 && !w.dry_run()) bind_unbound_vfs(root, pf.bdf, w);
  } catch (const Error& e) {
    std::string recovery = "the GPU was handed back to nvidia";
    try {
      if (on_stub) write_attr(root, w.driver_file(kStubDriver, "unbind"), bdf);
      write_attr(root, override_file, "\n");
      write_attr(root, w.driver_file(kNvidiaDriver, "bind"), bdf);
    } catch (const Error& again) {
      recovery = fmt::format(
          "handing the GPU back to nvidia failed too ({}); run `gpuvm sriov "
          "enable|disable {}` again to finish",
          again.what(), bdf);
    }
    throw Error(e.code(), fmt::format("{}: {}; {}", bdf, e.what(), recovery), e.sys_errno());
  }
}

// The record of a run in progress (see Options::state_dir).
class Intent {
 public:
  Intent(const std::filesystem::path& state_dir, const Bdf& pf)
      : path_(state_dir.empty() ? std::filesystem::path() : state_dir / "sriov" / pf.str()) {}
  bool pending() const { return !path_.empty() && std::filesystem::exists(path_); }
  void record(int target) {
    if (path_.empty()) return;
    atomic_write_file(path_, fmt::format("{}\n", target));
  }
  void done() {
    if (!path_.empty()) std::filesystem::remove(path_);
  }

 private:
  std::filesystem::path path_;
};

// An NVIDIA PF left half-way by an interrupted run (ours or the script's):
// on pci-pf-stub, unbound with its override still set or with VFs, or with
// our intent record still there. The sequence must be finished even though
// the VF count may already be right.
bool parked(const SysfsRoot& root, const pci::Device& pf, const Intent& intent) {
  if (!is_nvidia_gpu(pf)) return false;
  if (intent.pending()) return true;
  const std::string driver = pf.driver.value_or("");
  if (driver == kStubDriver) return true;
  if (!driver.empty()) return false;
  // <PF>/driver_override: the kernel shows "(null)" when unset.
  const auto override_value = read_attr(root.pci_device(pf.bdf) / "driver_override");
  return override_value == kStubDriver || pf.sriov_numvfs.value_or(0) > 0;
}

Result finish(const SysfsRoot& root, Result result, bool dry_run) {
  if (dry_run) return result;
  const pci::ProbeResult after = pci::probe(root);
  const pci::Device* d = find(after, result.pf);
  if (d == nullptr) throw Error(Errc::kIo, fmt::format("{} disappeared", result.pf.str()));
  result.vfs = d->virtfns;
  result.vfs_after = static_cast<int>(d->virtfns.size());
  return result;
}

void run_sriov_manage(const std::filesystem::path& script, std::string_view flag, const Bdf& pf,
                      Result& result, bool dry_run) {
  result.steps.push_back(fmt::format("run {} {} {}", script.string(), flag, pf.str()));
  if (dry_run) return;
  const ExecResult r = run_program(script, {std::string(flag), pf.str()});
  if (r.exit_code != 0) {
    std::string out = r.output;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    throw Error(Errc::kDriver,
                fmt::format("{} {} {} exited with status {}{}{}", script.string(), flag, pf.str(),
                            r.exit_code, out.empty() ? "" : ": ", out));
  }
}

}  // namespace

std::vector<Bdf> nvidia_sriov_gpus(const SysfsRoot& root) {
  std::vector<Bdf> out;
  for (const auto& d : pci::probe(root).devices) {
    if (is_nvidia_gpu(d) && d.sriov_role == pci::SriovRole::kPf && d.sriov_totalvfs.value_or(0) > 0)
      out.push_back(d.bdf);
  }
  return out;
}

Result enable(const SysfsRoot& root, const Bdf& pf_bdf, const Options& options) {
  if (options.sriov_manage) check_trusted_program(*options.sriov_manage);
  const pci::ProbeResult probe = pci::probe(root);
  const pci::Device pf = require_pf(root, probe, pf_bdf);
  const int total = *pf.sriov_totalvfs;
  const int n = options.num_vfs.value_or(total);
  if (n < 1 || n > total) {
    throw_invalid(fmt::format("--num-vfs {} for {}: expected 1..{} (sriov_totalvfs)", n,
                              pf_bdf.str(), total));
  }
  Result result;
  result.pf = pf_bdf;
  result.vfs_before = pf.sriov_numvfs.value_or(0);
  result.vfs_after = result.vfs_before;
  result.vfs = pf.virtfns;
  Intent intent(options.state_dir, pf_bdf);
  const bool unfinished = parked(root, pf, intent);
  if (result.vfs_before == n && !unfinished) return result;  // no change

  const bool nvidia = is_nvidia_gpu(pf) && pf.driver.value_or("") != "vfio-pci";
  if (options.sriov_manage) {
    if (!is_nvidia_gpu(pf)) {
      throw_invalid(fmt::format("--sriov-manage is for NVIDIA GPUs; {} is {:04x}:{:04x}",
                                pf_bdf.str(), pf.vendor_id, pf.device_id));
    }
    if (n != total) {
      throw_invalid(fmt::format("sriov-manage enables all {} VFs of {}; drop --num-vfs {}", total,
                                pf_bdf.str(), n));
    }
  }
  if (result.vfs_before != 0 && result.vfs_before != n && !unfinished) {
    throw Error(Errc::kBusy, fmt::format("{} already has {} VFs, not {}: disable them first",
                                         pf_bdf.str(), result.vfs_before, n));
  }
  result.changed = true;
  Writer w(root, options, result);
  if (!options.dry_run) intent.record(n);
  if (options.sriov_manage) {
    run_sriov_manage(*options.sriov_manage, "-e", pf_bdf, result, options.dry_run);
  } else if (nvidia) {
    nvidia_set_numvfs(root, probe, pf, n, w);
  } else {
    // <PF>/sriov_numvfs (drivers/pci/iov.c): the PF driver's sriov_configure.
    w.write(root.pci_device(pf_bdf) / "sriov_numvfs", std::to_string(n));
  }
  if (!options.dry_run) intent.done();
  result.vfs_after = n;
  return finish(root, std::move(result), options.dry_run);
}

Result disable(const SysfsRoot& root, const Bdf& pf_bdf, const Options& options) {
  if (options.sriov_manage) check_trusted_program(*options.sriov_manage);
  const pci::ProbeResult probe = pci::probe(root);
  const pci::Device pf = require_pf(root, probe, pf_bdf);
  if (options.sriov_manage && !is_nvidia_gpu(pf)) {
    throw_invalid(fmt::format("--sriov-manage is for NVIDIA GPUs; {} is {:04x}:{:04x}",
                              pf_bdf.str(), pf.vendor_id, pf.device_id));
  }
  Result result;
  result.pf = pf_bdf;
  result.vfs_before = pf.sriov_numvfs.value_or(0);
  result.vfs = pf.virtfns;
  Intent intent(options.state_dir, pf_bdf);
  if (result.vfs_before == 0 && !parked(root, pf, intent)) return result;

  if (!options.force) {
    std::vector<std::string> busy;
    for (const Bdf& vf : pf.virtfns) {
      const pci::Device* d = find(probe, vf);
      if (d == nullptr) continue;
      if (std::string what = vgpu_on(*d); !what.empty()) busy.push_back(std::move(what));
    }
    if (!busy.empty()) {
      std::string list;
      for (const auto& b : busy) list += (list.empty() ? "" : ", ") + b;
      throw Error(Errc::kBusy,
                  fmt::format("{}: {} VF(s) hold a vGPU: {}; destroy them first (gpuvm vgpu "
                              "destroy) or pass --force",
                              pf_bdf.str(), busy.size(), list));
    }
  }
  result.changed = true;
  Writer w(root, options, result);
  const bool nvidia = is_nvidia_gpu(pf) && pf.driver.value_or("") != "vfio-pci";
  if (!options.dry_run) intent.record(0);
  if (options.sriov_manage) {
    run_sriov_manage(*options.sriov_manage, "-d", pf_bdf, result, options.dry_run);
  } else if (nvidia) {
    nvidia_set_numvfs(root, probe, pf, 0, w);
  } else {
    w.write(root.pci_device(pf_bdf) / "sriov_numvfs", "0");
  }
  if (!options.dry_run) intent.done();
  result.vfs_after = 0;
  result.vfs.clear();
  return finish(root, std::move(result), options.dry_run);
}

}  // namespace gpuvm::sriov
