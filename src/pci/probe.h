// gpuvm's PCI inventory: <root>/bus/pci/devices -> Device records.
// Reads sysfs only (no config space, no lspci), through directory descriptors
// so that each attribute is one openat+read; a device that cannot be read is
// skipped and reported in ProbeResult::warnings, never thrown.
#pragma once

#include "core/sysfs.h"
#include "pci/device.h"
#include "pci/filter.h"

namespace gpuvm::pci {

class PciNames;

enum class Detail {
  kOne,   // what the OpenNebula template needs, nothing more (the fast path)
  kFull,  // everything in docs/probe.md's JSON schema
};

struct ProbeOptions {
  Detail detail = Detail::kFull;
  // Devices whose ids no filter of the selection matches are not read beyond
  // vendor/device/class and are left out; nullptr reads every device.
  const Selection* selection = nullptr;
  // Fills the names; nullptr leaves them empty.
  PciNames* names = nullptr;
};

// Throws kInvalidArgument when <root>/bus/pci/devices cannot be opened (a
// root that does not exist or is not a sysfs tree); everything below that is
// a warning.
ProbeResult probe(const SysfsRoot& root, const ProbeOptions& options = {});

}  // namespace gpuvm::pci
