// MigHost over the NVML library (the real driver's, or gpuvm-sim's mock).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "mig/backend.h"
#include "mig/nvml_loader.h"

namespace gpuvm::mig {

class NvmlGpu;

class NvmlHost : public MigHost {
 public:
  // Opens the library (see NvmlLibrary; `library` empty = the system's).
  explicit NvmlHost(const std::string& library = "");
  ~NvmlHost() override;

  std::string driver_version() override;
  unsigned gpu_count() override;
  MigGpu& gpu(unsigned index) override;

  // Index of the GPU with this PCI bus id ("0000:06:00.0" or NVML's
  // "00000000:06:00.0") or UUID; throws kNotFound.
  unsigned index_by_pci_bus_id(const std::string& bus_id);
  unsigned index_by_uuid(const std::string& uuid);

  const NvmlLibrary& library() const { return lib_; }
  // Throws NvmlError for rc != NVML_SUCCESS, naming the call and the GPU.
  void check(nvmlReturn_t rc, std::string_view call, std::string_view gpu) const;

 private:
  NvmlLibrary lib_;
  std::optional<unsigned> count_;
  std::map<unsigned, std::unique_ptr<NvmlGpu>> gpus_;
};

// GI name derived from the profile numbers as the driver does it (reference
// §1.3), for drivers whose profile-info call does not return a name:
// "MIG 1g.10gb", "MIG 1g.10gb+me" (enum REV1), "MIG 1g.10gb-me" (NO_ME).
std::string derive_gi_name(uint32_t enum_index, uint32_t slices, uint64_t memory_mb,
                           uint64_t total_bytes);

}  // namespace gpuvm::mig
