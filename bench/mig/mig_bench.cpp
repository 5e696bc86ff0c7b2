// gpuvm's planned MIG apply against the two strategies operators use today,
// over every feasible GPU-instance layout of a board:
//  (a) nvidia-smi mig -cgi in the config's order, the driver choosing each
//      placement (one create per instance; stops at the first failure);
//  (b) mig-parted: sort largest first, then try unique orderings until one
//      works, clearing what a failed attempt created.
// The driver is the in-memory one (src/mig/memory_host.h): the same
// placement rules and default-placement rule (reference §5.3a) as the
// gpuvm-sim mock. Counted: state-changing NVML calls (create + destroy).
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "mig/apply.h"
#include "mig/memory_host.h"
#include "mig/solver.h"
#include "mig/tables.h"

using namespace gpuvm::mig;

namespace {

using Counts = std::map<uint32_t, uint32_t>;

std::vector<std::vector<uint32_t>> feasible_layouts(const ProfileTable& t) {
  std::vector<Counts> all{{}};
  for (const GiProfile& p : t.gi) {
    std::vector<Counts> next;
    for (const Counts& c : all)
      for (uint32_t n = 0; n <= p.instance_count; ++n) {
        Counts d = c;
        if (n) d[p.id] = n;
        next.push_back(d);
      }
    all = std::move(next);
  }
  std::vector<std::vector<uint32_t>> out;
  for (const Counts& c : all) {
    std::vector<uint32_t> ids;
    for (const auto& [id, n] : c) ids.insert(ids.end(), n, id);
    if (!ids.empty() && fit(t, ids).ok) out.push_back(ids);
  }
  return out;
}

// Creates in `order` with the driver's placement; returns (ok, calls made),
// destroying what it made on failure when `clean_up`.
std::pair<bool, unsigned> create_in_order(MemoryGpu& gpu, const std::vector<uint32_t>& order,
                                          bool clean_up) {
  unsigned calls = 0;
  std::vector<uint32_t> made;
  for (uint32_t id : order) {
    ++calls;
    try {
      made.push_back(gpu.create_gpu_instance(id, std::nullopt).id);
    } catch (const NvmlError&) {
      if (clean_up)
        for (uint32_t gi : made) {
          gpu.destroy_gpu_instance(gi);
          ++calls;
        }
      return {false, calls};
    }
  }
  return {true, calls};
}

// Rank for mig-parted's Flatten(): larger profiles first.
std::vector<uint32_t> largest_first(const ProfileTable& t, std::vector<uint32_t> ids) {
  std::stable_sort(ids.begin(), ids.end(), [&](uint32_t a, uint32_t b) {
    const GiProfile* x = t.find_id(a);
    const GiProfile* y = t.find_id(b);
    return std::tie(x->slice_count, x->memory_mb) > std::tie(y->slice_count, y->memory_mb);
  });
  return ids;
}

struct Row {
  std::string board;
  // From every feasible layout to every feasible layout (changes of config).
  size_t pairs = 0, pair_gpuvm_calls = 0, pair_gpuvm_destroys = 0, pair_parted_calls = 0,
         pair_parted_destroys = 0;
  size_t layouts = 0;
  size_t gpuvm_ok = 0, gpuvm_calls = 0;
  size_t smi_ok = 0, smi_calls = 0;  // smallest first, config order
  size_t orders = 0, orders_ok = 0;  // every distinct order
  size_t parted_ok = 0, parted_calls = 0, parted_max_calls = 0, parted_max_attempts = 0;
};

Row run(const std::string& board, const ProfileTable& t) {
  Row r;
  r.board = board;
  const std::vector<std::vector<uint32_t>> layouts = feasible_layouts(t);
  // Re-configuration: gpuvm keeps what it can; mig-parted clears the GPU
  // (every GI destroyed) and creates the new layout, unless it is already there.
  std::vector<MemoryGpu> made;
  for (const auto& ids : layouts) {
    MemoryGpu g({}, t);
    std::vector<GiSpec> target;
    for (uint32_t id : ids) target.push_back({id, {}});
    execute_plan(g, plan_layout(t, {}, target));
    g.clear_counts();
    made.push_back(std::move(g));
  }
  for (size_t a = 0; a < layouts.size(); ++a) {
    for (size_t b = 0; b < layouts.size(); ++b) {
      ++r.pairs;
      MemoryGpu g = made[a];
      std::vector<GiSpec> target;
      for (uint32_t id : layouts[b]) target.push_back({id, {}});
      execute_plan(g, plan_layout(t, g.gpu_instances(), target));
      r.pair_gpuvm_calls += g.counts().changes();
      r.pair_gpuvm_destroys += g.counts().destroy_gi;
      if (a != b) {  // same multiset: mig-parted's assert finds nothing to do
        r.pair_parted_calls += layouts[a].size() + layouts[b].size();
        r.pair_parted_destroys += layouts[a].size();
      }
    }
  }
  for (const std::vector<uint32_t>& ids : layouts) {
    ++r.layouts;
    {  // gpuvm: plan once, create each instance with its placement.
      MemoryGpu gpu({}, t);
      std::vector<GiSpec> target;
      for (uint32_t id : ids) target.push_back({id, {}});
      try {
        execute_plan(gpu, plan_layout(t, {}, target));
        ++r.gpuvm_ok;
      } catch (const gpuvm::Error&) {
      }
      r.gpuvm_calls += gpu.counts().create_gi + gpu.counts().destroy_gi + gpu.counts().failed;
    }
    {  // (a) nvidia-smi in the config's order: smallest profile first, as configs list them.
      MemoryGpu gpu({}, t);
      std::vector<uint32_t> order = largest_first(t, ids);
      std::reverse(order.begin(), order.end());
      auto [ok, calls] = create_in_order(gpu, order, false);
      r.smi_ok += ok;
      r.smi_calls += calls;
      std::sort(order.begin(), order.end());
      do {
        MemoryGpu g2({}, t);
        ++r.orders;
        r.orders_ok += create_in_order(g2, order, false).first;
      } while (std::next_permutation(order.begin(), order.end()));
    }
    {  // (b) mig-parted: largest first, then every unique ordering until one works.
      MemoryGpu gpu({}, t);
      std::vector<uint32_t> first = largest_first(t, ids);
      std::vector<uint32_t> order = first;
      std::sort(order.begin(), order.end());
      std::vector<std::vector<uint32_t>> orderings{first};
      do {
        if (order != first) orderings.push_back(order);
      } while (std::next_permutation(order.begin(), order.end()));
      unsigned calls = 0, attempts = 0;
      bool ok = false;
      for (const auto& o : orderings) {
        ++attempts;
        auto [done, c] = create_in_order(gpu, o, true);
        calls += c;
        if (done) {
          ok = true;
          break;
        }
      }
      r.parted_ok += ok;
      r.parted_calls += calls;
      r.parted_max_calls = std::max<size_t>(r.parted_max_calls, calls);
      r.parted_max_attempts = std::max<size_t>(r.parted_max_attempts, attempts);
    }
  }
  return r;
}

}  // namespace

int main() {
  std::vector<Row> rows = {run("H100-80GB", test::h100_80gb()),
                           run("A100-40GB", test::sim_table("A100-SXM4-40GB")),
                           run("H200-141GB", test::sim_table("H200-SXM-141GB"))};
  fmt::print(
      "MIG apply over every feasible GPU-instance layout (in-memory driver, default-placement "
      "rule of reference §5.3a)\n");
  fmt::print("calls = state-changing NVML calls (GI create + destroy, failed ones included)\n\n");
  fmt::print("{:<11} {:>7} | {:>13} {:>10} | {:>19} {:>10} {:>17} | {:>13} {:>10} {:>9} {:>12}\n",
             "board", "layouts", "gpuvm ok", "avg calls", "nvidia-smi ok", "avg calls", "orders ok",
             "mig-parted ok", "avg calls", "max calls", "max attempts");
  for (const Row& r : rows) {
    auto pct = [](size_t a, size_t b) {
      return fmt::format("{}/{} ({:.1f}%)", a, b, 100.0 * a / b);
    };
    fmt::print(
        "{:<11} {:>7} | {:>13} {:>10.2f} | {:>19} {:>10.2f} {:>17} | {:>13} {:>10.2f} {:>9} "
        "{:>12}\n",
        r.board, r.layouts, pct(r.gpuvm_ok, r.layouts), double(r.gpuvm_calls) / r.layouts,
        pct(r.smi_ok, r.layouts), double(r.smi_calls) / r.layouts, pct(r.orders_ok, r.orders),
        pct(r.parted_ok, r.layouts), double(r.parted_calls) / r.layouts, r.parted_max_calls,
        r.parted_max_attempts);
  }
  fmt::print(
      "\nChanging the layout, from every feasible layout to every feasible layout "
      "(mig-parted: clear the GPU, then create; its first ordering always worked above):\n");
  fmt::print("{:<11} {:>7} | {:>15} {:>15} | {:>15} {:>15}\n", "board", "pairs", "gpuvm calls",
             "gpuvm destroys", "mig-parted calls", "mp destroys");
  for (const Row& r : rows)
    fmt::print("{:<11} {:>7} | {:>15.2f} {:>15.2f} | {:>15.2f} {:>15.2f}\n", r.board, r.pairs,
               double(r.pair_gpuvm_calls) / r.pairs, double(r.pair_gpuvm_destroys) / r.pairs,
               double(r.pair_parted_calls) / r.pairs, double(r.pair_parted_destroys) / r.pairs);
  fmt::print(
      "\nnvidia-smi ok: the config's order, smallest profile first; orders ok: every distinct "
      "creation order of every layout.\n");
  return 0;
}
