#include "server/api/metrics.h"

#include <fmt/format.h>

#include <iterator>
#include <map>

namespace gpuvm::server {

void Metrics::count_request(int status) {
  if (status >= 500)
    ++requests_5xx_;
  else if (status >= 400)
    ++requests_4xx_;
  else
    ++requests_2xx_;
}

void Metrics::observe_deploy(double seconds, const std::string& outcome) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < kBuckets.size(); ++i)
    if (seconds <= kBuckets[i]) ++bucket_counts_[i];
  ++deploy_count_;
  deploy_sum_ += seconds;
  if (outcome == "placed")
    ++placed_;
  else if (outcome == "already_placed")
    ++already_;
  else if (outcome == "no_capacity")
    ++no_capacity_;
  else
    ++errors_;
}

namespace {

// Every op, so that each series exists (at 0) from the first scrape.
constexpr CommandOp kOps[] = {CommandOp::kGiCreate, CommandOp::kGiDestroy, CommandOp::kVgpuCreate,
                              CommandOp::kVgpuDestroy};
static_assert(std::size(kOps) == Metrics::kCommandOps);

size_t op_index(CommandOp op) {
  for (size_t i = 0; i < std::size(kOps); ++i)
    if (kOps[i] == op) return i;
  return 0;  // unreachable: kOps lists every CommandOp
}

// Label values are escaped as the exposition format asks (\\, \", \n).
std::string label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}
}  // namespace

void Metrics::observe_command_result(CommandOp op, bool ok, bool rolled_back) {
  std::lock_guard lock(mu_);
  ++command_results_[op_index(op)][ok ? 0 : 1];
  if (rolled_back) ++deploy_failures_;
}

std::string Metrics::render(Store& store, bool full, uint64_t timed_out) const {
  std::string o;
  o += "# HELP gpuvmd_http_requests_total HTTP requests served by this process, by status class.\n"
       "# TYPE gpuvmd_http_requests_total counter\n";
  o += fmt::format("gpuvmd_http_requests_total{{class=\"2xx\"}} {}\n", requests_2xx_.load());
  o += fmt::format("gpuvmd_http_requests_total{{class=\"4xx\"}} {}\n", requests_4xx_.load());
  o += fmt::format("gpuvmd_http_requests_total{{class=\"5xx\"}} {}\n", requests_5xx_.load());
  {
    std::lock_guard lock(mu_);
    o += "# HELP gpuvmd_deploys_total VM deploy requests handled by this process, by outcome.\n"
         "# TYPE gpuvmd_deploys_total counter\n";
    o += fmt::format("gpuvmd_deploys_total{{outcome=\"placed\"}} {}\n", placed_);
    o += fmt::format("gpuvmd_deploys_total{{outcome=\"already_placed\"}} {}\n", already_);
    o += fmt::format("gpuvmd_deploys_total{{outcome=\"no_capacity\"}} {}\n", no_capacity_);
    o += fmt::format("gpuvmd_deploys_total{{outcome=\"error\"}} {}\n", errors_);
    o += "# HELP gpuvmd_allocation_seconds Time to decide and commit one VM deploy.\n"
         "# TYPE gpuvmd_allocation_seconds histogram\n";
    for (size_t i = 0; i < kBuckets.size(); ++i)
      o += fmt::format("gpuvmd_allocation_seconds_bucket{{le=\"{}\"}} {}\n", kBuckets[i],
                       bucket_counts_[i]);
    o += fmt::format("gpuvmd_allocation_seconds_bucket{{le=\"+Inf\"}} {}\n", deploy_count_);
    o += fmt::format("gpuvmd_allocation_seconds_sum {}\n", deploy_sum_);
    o += fmt::format("gpuvmd_allocation_seconds_count {}\n", deploy_count_);
    o += "# HELP gpuvmd_host_command_results_total Host command results reported by agents to"
         " this process, by op and outcome.\n"
         "# TYPE gpuvmd_host_command_results_total counter\n";
    for (size_t i = 0; i < std::size(kOps); ++i)
      for (size_t failed = 0; failed < 2; ++failed)
        o += fmt::format("gpuvmd_host_command_results_total{{op=\"{}\",outcome=\"{}\"}} {}\n",
                         command_op_name(kOps[i]), failed ? "failed" : "ok",
                         command_results_[i][failed]);
    o += "# HELP gpuvmd_vm_deploy_failures_total VM deploys rolled back because the host refused"
         " a command (results handled by this process).\n"
         "# TYPE gpuvmd_vm_deploy_failures_total counter\n";
    o += fmt::format("gpuvmd_vm_deploy_failures_total {}\n", deploy_failures_);
  }

  FleetTotals t;
  {
    std::lock_guard lock(fleet_mu_);
    const auto now = std::chrono::steady_clock::now();
    const auto age = now - fleet_at_;
    if (age >= kFleetMaxAge || (store_changed_ && age >= kFleetMinAge)) {
      store_changed_ = false;
      fleet_ = store.fleet_totals();
      fleet_at_ = now;
    }
    t = fleet_;
  }
  o += "# HELP gpuvmd_http_connections_timed_out_total Connections closed because a request did "
       "not arrive whole within --header-timeout / --request-timeout.\n"
       "# TYPE gpuvmd_http_connections_timed_out_total counter\n";
  o += fmt::format("gpuvmd_http_connections_timed_out_total {}\n", timed_out);
  o += "# HELP gpuvmd_hosts Registered hosts by state.\n# TYPE gpuvmd_hosts gauge\n";
  for (const char* st : {"ok", "error", "offline"})
    o += fmt::format("gpuvmd_hosts{{state=\"{}\"}} {}\n", st,
                     t.host_states.count(st) ? t.host_states.at(st) : 0);
  o += "# HELP gpuvmd_gpus GPUs reported by hosts in state ok.\n# TYPE gpuvmd_gpus gauge\n";
  o += fmt::format("gpuvmd_gpus {}\n", t.gpus);
  o += "# HELP gpuvmd_gpus_whole_free GPUs of hosts in state ok with nothing allocated on them.\n"
       "# TYPE gpuvmd_gpus_whole_free gauge\n";
  o += fmt::format("gpuvmd_gpus_whole_free {}\n", t.gpus_whole_free);
  if (full) {
    o += "# HELP gpuvmd_mig_free GPU instances of a profile that could still be allocated (sum "
         "over GPUs of hosts in state ok).\n"
         "# TYPE gpuvmd_mig_free gauge\n";
    for (const auto& [p, n] : t.mig_free)
      o += fmt::format("gpuvmd_mig_free{{profile=\"{}\"}} {}\n", label(p), n);
    o += "# HELP gpuvmd_vgpu_free vGPUs of a type that could still be created (sum over GPUs of "
         "hosts in state ok).\n"
         "# TYPE gpuvmd_vgpu_free gauge\n";
    for (const auto& [v, n] : t.vgpu_free)
      o += fmt::format("gpuvmd_vgpu_free{{type=\"{}\"}} {}\n", label(v), n);
  }
  o += "# HELP gpuvmd_vms VMs in the store.\n# TYPE gpuvmd_vms gauge\n";
  o += fmt::format("gpuvmd_vms {}\n", t.vms);
  o += "# HELP gpuvmd_allocations Devices allocated to VMs.\n# TYPE gpuvmd_allocations gauge\n";
  o += fmt::format("gpuvmd_allocations {}\n", t.allocations);
  return o;
}

}  // namespace gpuvm::server
