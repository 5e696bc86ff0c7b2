// gpuvmd's scheduler against OpenNebula's first-fit on the same workload.
//
// 1. In memory, full scale (default 10,000 hosts x 8 H100, 100,000 mixed
//    requests): placements/s and per-decision p50/p99 for gpuvm's scheduler
//    (summary prefilter, full search on the 8 busiest hosts that may fit)
//    and for first-fit (first free device matching VENDOR/DEVICE/CLASS in
//    address order, blind to PROFILE, MIG, NUMA and PF/VF). Every first-fit
//    choice is then checked against the host's real rules: how many of its
//    placements would fail on the host.
// 2. Through the store (Store::deploy: transaction, row locks, re-check) on
//    SQLite and, with GPUVM_TEST_PG_URL, PostgreSQL, at a smaller scale
//    (--db-hosts, --db-requests): every deploy reads one short row per host
//    and re-reads only the hosts that changed since the last one; a SQLite
//    deploy includes its commit's fsync (synchronous=FULL).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "server/fixtures.h"
#include "server/scheduler/scheduler.h"
#include "server/store/store.h"

using namespace gpuvm::server;
using Clock = std::chrono::steady_clock;

namespace {

HostInventory make_host(int index, int gpus) {
  HostInventory h;
  h.name = fmt::format("host-{:05d}", index);
  for (int g = 0; g < gpus; ++g) {
    test::GpuSpec spec;
    spec.mig = g % 2 == 0;  // half the boards in MIG mode, half time-sliced
    spec.vfs = spec.mig ? 7 : 8;
    spec.numa = g < gpus / 2 ? 0 : 1;
    test::add_h100(h, g, spec);
  }
  return h;
}

VmRequest make_request(std::mt19937& rng) {
  VmRequest r;
  PciRequest p;
  int k = std::uniform_int_distribution<int>(0, 99)(rng);
  if (k < 20)
    p.mig_profile = "1g.10gb";
  else if (k < 30)
    p.mig_profile = "2g.20gb";
  else if (k < 40)
    p.mig_profile = "3g.40gb";
  else if (k < 45)
    p.mig_profile = "7g.80gb";
  else if (k < 60)
    p.vgpu_type = "H100XM-10C";
  else if (k < 70)
    p.vgpu_type = "H100XM-20C";
  else if (k < 80)
    p = test::by_id("10de", "2330", "1043");  // ONE style: H100XM-10C by id
  else if (k < 90)
    p = test::by_id("10de", "2330");  // a whole GPU
  else {
    r.pci = {test::mig("1g.10gb"), test::vgpu("H100XM-1-10C")};
    r.numa = NumaPolicy::kRequired;
    return r;
  }
  r.pci = {p};
  return r;
}

struct Stats {
  std::vector<double> us;
  int placed = 0, refused = 0, invalid = 0;
  double seconds = 0;
  std::string line(const std::string& name) const {
    std::vector<double> v = us;
    std::sort(v.begin(), v.end());
    auto pct = [&](double q) {
      return v.empty() ? 0.0 : v[std::min(v.size() - 1, size_t(q * v.size()))];
    };
    return fmt::format(
        "{:<18} placed {:>7}  refused {:>7}  would fail on host {:>7}  {:>9.0f} decisions/s  "
        "p50 {:>8.1f} us  p99 {:>8.1f} us",
        name, placed, refused, invalid, us.size() / seconds, pct(0.5), pct(0.99));
  }
};

// The first-fit choice of one request, pinned to the chosen devices, as the
// host would have to honour it: a PROFILE on the chosen VF, the MIG-backed
// type for a MIG request, nothing for a whole device.
VmRequest pinned(const HostInventory& h, const VmRequest& req,
                 const std::vector<std::string>& devices) {
  VmRequest out;
  out.numa = NumaPolicy::kNone;
  for (size_t i = 0; i < req.pci.size(); ++i) {
    const PciRequest& r = req.pci[i];
    const PciDevice* d = h.find_pci(devices[i]);
    PciRequest p;
    p.short_address = d->short_address;
    const Gpu* g = h.find_gpu(d->physfn.empty() ? d->address : d->physfn);
    std::string type = r.vgpu_type;
    if (!r.mig_profile.empty()) {
      type = "?";  // no MIG-backed type on this GPU: cannot be honoured
      if (g)
        for (const auto& t : g->vgpu_types)
          if (t.mig_profile == r.mig_profile) type = t.name;
    }
    if (!r.profile.empty())
      p.profile = r.profile;
    else if (!type.empty())
      p.profile = type;
    out.pci.push_back(p);
  }
  return out;
}

void run_memory(int n_hosts, int gpus, int n_requests) {
  fmt::print("in memory: {} hosts x {} H100 (half MIG, half time-sliced), {} mixed requests\n",
             n_hosts, gpus, n_requests);
  std::vector<HostInventory> invs;
  invs.reserve(n_hosts);
  for (int i = 0; i < n_hosts; ++i) invs.push_back(make_host(i, gpus));

  std::mt19937 rng(42);
  std::vector<VmRequest> reqs;
  for (int i = 0; i < n_requests; ++i) reqs.push_back(make_request(rng));

  {  // gpuvm
    std::vector<HostState> states;
    std::vector<HostSummary> sums;
    for (const auto& h : invs) {
      states.push_back({&h, {}});
      sums.push_back(summarize(h, {}));
    }
    Stats s;
    auto t0 = Clock::now();
    for (int i = 0; i < n_requests; ++i) {
      auto a = Clock::now();
      auto ranked =
          rank_hosts(states, reqs[i], i, nullptr, {.summaries = sums, .max_candidates = 8});
      if (ranked.empty()) {
        ++s.refused;
      } else {
        ++s.placed;
        HostState& st = states[ranked[0].host_index];
        for (const auto& al : ranked[0].placement.allocations) st.allocations.push_back(al);
        sums[ranked[0].host_index] = summarize(*st.inventory, st.allocations);
      }
      s.us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - a).count());
    }
    s.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    fmt::print("  {}\n", s.line("gpuvm"));
  }
  {  // first-fit, then checked against the real rules
    std::vector<std::vector<Allocation>> taken(n_hosts), real(n_hosts);
    Stats s;
    double check_s = 0;
    auto t0 = Clock::now();
    size_t first_open = 0;  // hosts before it have every device taken
    for (int i = 0; i < n_requests; ++i) {
      auto a = Clock::now();
      std::optional<std::vector<std::string>> devs;
      size_t host = first_open;
      for (; host < invs.size() && !devs; ++host)
        devs = first_fit_devices(invs[host], taken[host], reqs[i]);
      --host;
      s.us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - a).count());
      if (!devs) {
        ++s.refused;
        continue;
      }
      ++s.placed;
      auto c = Clock::now();
      PlaceResult ok = place_on_host(invs[host], real[host], pinned(invs[host], reqs[i], *devs), i);
      check_s += std::chrono::duration<double>(Clock::now() - c).count();
      if (!ok.placement) {
        ++s.invalid;  // the host refuses it: ONE's deploy fails, the device stays marked for the VM
      } else {
        for (const auto& al : ok.placement->allocations) real[host].push_back(al);
      }
      for (const auto& d : *devs) {
        Allocation al;
        al.vm_id = i;
        al.device = d;
        taken[host].push_back(al);
      }
      while (first_open < invs.size() && taken[first_open].size() >= invs[first_open].pci.size())
        ++first_open;
    }
    s.seconds = std::chrono::duration<double>(Clock::now() - t0).count() - check_s;
    fmt::print("  {}\n", s.line("first-fit (ONE)"));
  }
}

void run_store(const std::string& label, const std::string& url, int n_hosts, int gpus,
               int n_requests) {
  auto store = Store::open(url);
  for (int i = 0; i < n_hosts; ++i) store->put_host(make_host(i, gpus));
  std::mt19937 rng(7);
  std::vector<int64_t> ids;
  for (int i = 0; i < n_requests; ++i)
    ids.push_back(store->create_vm(fmt::format("vm{}", i), make_request(rng)).id);
  Stats s;
  auto t0 = Clock::now();
  for (int64_t id : ids) {
    auto a = Clock::now();
    auto d = store->deploy(id);
    s.us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - a).count());
    (d.outcome == DeployResult::Outcome::kPlaced ? s.placed : s.refused)++;
  }
  s.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  fmt::print("store {:<11} {} hosts x {} GPUs, {} deploys:\n  {}\n", label, n_hosts, gpus,
             n_requests, s.line("gpuvm + " + label));
}

int arg(int argc, char** argv, const std::string& name, int dflt) {
  for (int i = 1; i + 1 < argc; ++i)
    if (argv[i] == name) return std::atoi(argv[i + 1]);
  return dflt;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    int hosts = arg(argc, argv, "--hosts", 10000), gpus = arg(argc, argv, "--gpus", 8);
    int requests = arg(argc, argv, "--requests", 100000);
    int db_hosts = arg(argc, argv, "--db-hosts", 100),
        db_requests = arg(argc, argv, "--db-requests", 2000);
    run_memory(hosts, gpus, requests);
    if (db_requests > 0) {
      auto dir = std::filesystem::temp_directory_path() / fmt::format("gpuvm-bench-{}", getpid());
      std::filesystem::create_directories(dir);
      run_store("sqlite", "sqlite:" + (dir / "bench.db").string(), db_hosts, gpus, db_requests);
      std::filesystem::remove_all(dir);
      if (const char* pg = std::getenv("GPUVM_TEST_PG_URL"); pg && *pg) {
        // Uses the database in the URL as is: give it an empty one.
        run_store("postgresql", pg, db_hosts, gpus, db_requests);
      } else {
        fmt::print("store postgresql: skipped (set GPUVM_TEST_PG_URL to an empty database)\n");
      }
    }
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "scheduler_bench: error: {}\n", e.what());
    return 1;
  }
}
