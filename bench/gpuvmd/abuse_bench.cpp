// gpuvmd under abuse, measured (tests/server/abuse_test.cpp checks the same
// things without timing them):
//
//  1. latency of an operator read (GET /api/v1/hosts/NAME) and an agent's
//     unchanged push, with and without 1,000 slowloris clients attached
//     (the real gpuvmd binary, --threads 8, SQLite; one byte per client
//     every second), in the same run; the ratio is printed;
//  2. gpuvmd's peak RSS (VmHWM) before and after 16 concurrent 1 MiB bodies
//     of nested arrays (the issue measured 650 MB for these before the JSON
//     shape limits);
//  3. the CPU cost of one /metrics scrape at N hosts (default 10,000 x 8
//     GPUs, SQLite, in-process): before = what the handler did until now
//     (every host listed and its inventory parsed, capacity per GPU), after
//     = Metrics::render from Store::fleet_totals (refresh) and within the
//     cache's age (cached).
#include <fmt/format.h>
#include <httplib.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <thread>
#include <vector>

#include "server/api/metrics.h"
#include "server/fixtures.h"
#include "server/gpuvmd_process.h"
#include "server/scheduler/model_json.h"
#include "server/scheduler/scheduler.h"
#include "server/slow_clients.h"
#include "server/store/store.h"

using namespace gpuvm::server;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct Latency {
  double p50 = 0, p99 = 0, max = 0;
  int failed = 0;
};

// `n` requests one after the other on fresh connections (as the agent and
// the CLI do): a push of an unchanged inventory and a read, alternating.
Latency measure(const gpuvm::test::Gpuvmd& d, const std::string& push_body, int n,
                bool healthz_only = false) {
  std::vector<double> ms;
  Latency l;
  for (int i = 0; i < n; ++i) {
    auto c = d.client();
    auto t0 = Clock::now();
    auto r = healthz_only ? c->Get("/healthz")
             : i % 2      ? c->Get("/api/v1/hosts/node-0")
                          : c->Post("/api/v1/hosts", push_body, "application/json");
    ms.push_back(ms_since(t0));
    if (!r || r->status != 200) ++l.failed;
  }
  std::sort(ms.begin(), ms.end());
  l.p50 = ms[ms.size() / 2];
  l.p99 = ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
  l.max = ms.back();
  return l;
}

long vm_hwm_kb(pid_t pid) {
  std::string s = gpuvm::test::read_file("/proc/" + std::to_string(pid) + "/status");
  auto p = s.find("VmHWM:");
  return p == std::string::npos ? -1 : std::stol(s.substr(p + 6));
}

void latency_and_memory(int requests, int slow_n) {
  gpuvm::test::TempDir dir;
  gpuvm::test::Gpuvmd d("sqlite:" + (dir.path() / "gpuvmd.db").string(), dir.path(), 0,
                        {"--header-timeout", "3600", "--request-timeout", "3600"});
  const std::string body = to_json(test::h100_host("node-0", 8, {.mig = true, .vfs = 16}));
  auto c = d.client();
  c->Post("/api/v1/hosts", body, "application/json");
  measure(d, body, 20);  // warm up
  Latency idle = measure(d, body, requests), idle_h = measure(d, body, requests, true);
  Latency slow, slow_h;
  int attached = 0;
  {
    gpuvm::test::SlowClients slow_clients(d.port(), slow_n, std::chrono::milliseconds(1000));
    slow = measure(d, body, requests);
    slow_h = measure(d, body, requests, true);
    attached = slow_clients.open_count();
  }
  fmt::print(
      "1. request latency, {} requests each (push of an unchanged 8-GPU inventory / read of "
      "a host), 8 worker threads\n",
      requests);
  fmt::print("   {:<34} p50 {:7.2f} ms  p99 {:7.2f} ms  max {:7.2f} ms  failed {}\n",
             "no slow clients", idle.p50, idle.p99, idle.max, idle.failed);
  fmt::print("   {:<34} p50 {:7.2f} ms  p99 {:7.2f} ms  max {:7.2f} ms  failed {}\n",
             fmt::format("{} slow clients ({} attached)", slow_n, attached), slow.p50, slow.p99,
             slow.max, slow.failed);
  fmt::print("   ratio (slow / none): p50 {:.2f}x, p99 {:.2f}x\n", slow.p50 / idle.p50,
             slow.p99 / idle.p99);
  fmt::print(
      "   GET /healthz (transport only): p50 {:.2f} / {:.2f} ms, p99 {:.2f} / {:.2f} ms "
      "(none / slow), failed {} / {}\n",
      idle_h.p50, slow_h.p50, idle_h.p99, slow_h.p99, idle_h.failed, slow_h.failed);

  // 16 concurrent 1 MiB bodies of nested arrays.
  long before = vm_hwm_kb(d.pid());
  std::string bomb = std::string(512 * 1024 - 8, '[') + std::string(512 * 1024 - 8, ']');
  std::vector<std::thread> ts;
  std::vector<int> status(16);
  for (int t = 0; t < 16; ++t)
    ts.emplace_back([&, t] {
      auto r = d.client()->Post("/api/v1/hosts", bomb, "application/json");
      status[t] = r ? r->status : 0;
    });
  for (auto& t : ts) t.join();
  long after = vm_hwm_kb(d.pid());
  fmt::print(
      "2. 16 concurrent 1 MiB nested-array bodies: answered {} (x16: {}), gpuvmd peak RSS "
      "{:.1f} MB before, {:.1f} MB after (+{:.1f} MB; the issue measured 650 MB)\n",
      status[0], std::count(status.begin(), status.end(), status[0]), before / 1024.0,
      after / 1024.0, (after - before) / 1024.0);
}

// What the /metrics handler computed per scrape before the fleet totals: every host
// listed (its inventory parsed), capacity per GPU, summed.
size_t old_fleet_part(Store& store) {
  std::map<std::string, int> host_states;
  int gpus = 0, whole_free = 0;
  std::map<std::string, uint64_t> mig_free, vgpu_free;
  for (const HostRecord& h : store.list_hosts()) {
    ++host_states[h.state];
    for (const GpuCapacity& c : capacity(h.inventory, h.allocations)) {
      ++gpus;
      whole_free += c.whole_free;
      if (h.state != "ok") continue;
      for (const auto& [p, n] : c.mig_free) mig_free[p] += n;
      for (const auto& [t, n] : c.vgpu_free) vgpu_free[t] += n;
    }
  }
  StoreStats s = store.stats();
  return host_states.size() + gpus + whole_free + mig_free.size() + vgpu_free.size() +
         static_cast<size_t>(s.vms);
}

void scrape_cost(int hosts) {
  gpuvm::test::TempDir dir;
  auto store = Store::open("sqlite:" + (dir.path() / "metrics.db").string(), 4);
  auto t0 = Clock::now();
  for (int i = 0; i < hosts; ++i)
    store->put_host(test::h100_host(fmt::format("node-{}", i), 8, {.mig = i % 2 == 0, .vfs = 16}));
  fmt::print("3. /metrics at {} hosts x 8 GPUs (SQLite; {} hosts registered in {:.1f} s)\n", hosts,
             hosts, ms_since(t0) / 1000);
  auto cost = [](auto&& f, int n) {
    double c0 = cpu_ms();
    auto w0 = Clock::now();
    for (int i = 0; i < n; ++i) f();
    return std::pair{(cpu_ms() - c0) / n, ms_since(w0) / n};
  };
  auto [old_cpu, old_wall] = cost([&] { old_fleet_part(*store); }, 3);
  Metrics m;
  auto [cold_cpu, cold_wall] = cost([&] { m.render(*store, true, 0); }, 1);
  double refresh_cpu = 0, refresh_wall = 0;
  for (int i = 0; i < 3; ++i) {
    m.store_changed();  // as after a push: the next scrape past kFleetMinAge refreshes
    std::this_thread::sleep_for(Metrics::kFleetMinAge);
    auto [c, w] = cost([&] { m.render(*store, true, 0); }, 1);
    refresh_cpu += c / 3;
    refresh_wall += w / 3;
  }
  auto [cached_cpu, cached_wall] = cost([&] { m.render(*store, true, 0); }, 100);
  fmt::print("   before (every inventory parsed per scrape): {:9.2f} ms CPU {:9.2f} ms wall\n",
             old_cpu, old_wall);
  fmt::print("   after, first scrape (fills the caches):      {:9.2f} ms CPU {:9.2f} ms wall\n",
             cold_cpu, cold_wall);
  fmt::print("   after, refresh (nothing changed):            {:9.2f} ms CPU {:9.2f} ms wall\n",
             refresh_cpu, refresh_wall);
  fmt::print("   after, within the cache's age:               {:9.3f} ms CPU {:9.3f} ms wall\n",
             cached_cpu, cached_wall);
  fmt::print("   ratio before / refresh: {:.1f}x CPU; before / cached: {:.0f}x CPU\n",
             old_cpu / refresh_cpu, old_cpu / cached_cpu);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("gpuvmd under abuse: latency with slow clients, nested-body memory, scrape cost");
  int requests = 400, slow = 1000, hosts = 10000;
  app.add_option("--requests", requests, "requests per latency run")->capture_default_str();
  app.add_option("--slow", slow, "slow clients attached")->capture_default_str();
  app.add_option("--hosts", hosts, "hosts for the /metrics cost")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows when piped
  latency_and_memory(requests, slow);
  scrape_cost(hosts);
  return 0;
}
