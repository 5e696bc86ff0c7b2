// Prometheus text exposition for gpuvmd: what this process served (requests,
// deploy latency, errors, host command results) and what the store holds
// (hosts, GPUs, free MIG slices and vGPU instances per profile). No client
// library: the format is a few lines of text.
#pragma once

#include <array>
#include <atomic>
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
  // Reads the store (one listing of hosts) and renders everything.
  std::string render(Store& store) const;

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
};

}  // namespace gpuvm::server
