// Prometheus text exposition for gpuvmd: what this process served (requests,
// deploy latency, errors, host command results) and what the store holds
// (hosts, GPUs, free MIG slices and vGPU instances per profile). No client
// library: the format is a few lines of text.
//
// The fleet part comes from Store::fleet_totals(), refreshed at most once per
// kFleetMaxAge (sooner, but not more than once per kFleetMinAge, after this
// process changed the store): any number of scrapers cost one refresh.
// Without an operator's token only fleet totals are shown; the series that
// name MIG profiles and vGPU types need one (docs/gpuvmd.md "/metrics").
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>

#include "server/store/store.h"

namespace gpuvm::server {

class Metrics {
 public:
  static constexpr size_t kCommandOps = 4;  // the values of CommandOp

  void count_request(int status);
  // outcome: "placed", "already_placed", "no_capacity", "error".
  void observe_deploy(double seconds, const std::string& outcome);
  // One result an agent reported for a host command; `rolled_back`: it was a
  // failed create that made the store roll its deploying VM back.
  void observe_command_result(CommandOp op, bool ok, bool rolled_back);
  // The store changed through this process (push, deploy, undeploy...).
  void store_changed() { store_changed_ = true; }
  // `full`: the caller showed an operator's token. `timed_out`: connections
  // the HTTP layer closed at a deadline.
  std::string render(Store& store, bool full, uint64_t timed_out) const;

  static constexpr std::chrono::seconds kFleetMaxAge{5};
  static constexpr std::chrono::milliseconds kFleetMinAge{500};

 private:
  static constexpr std::array<double, 10> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,  0.1,    0.25,  0.5,  1.0};
  std::atomic<uint64_t> requests_2xx_{0}, requests_4xx_{0}, requests_5xx_{0};
  mutable std::mutex mu_;
  std::array<uint64_t, kBuckets.size()> bucket_counts_{};
  uint64_t deploy_count_ = 0;
  double deploy_sum_ = 0;
  uint64_t placed_ = 0, already_ = 0, no_capacity_ = 0, errors_ = 0;
  // Per op (in the order of kOps in metrics.cpp): [ok, failed].
  std::array<std::array<uint64_t, 2>, kCommandOps> command_results_{};
  uint64_t deploy_failures_ = 0;

  mutable std::atomic<bool> store_changed_{true};
  mutable std::mutex fleet_mu_;  // one refresh at a time; others wait for it
  mutable std::chrono::steady_clock::time_point fleet_at_{};
  mutable FleetTotals fleet_;
};

}  // namespace gpuvm::server
