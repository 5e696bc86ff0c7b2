// Vendor, device, class and subsystem names from pci.ids, through libpci's
// pci_lookup_name(), formatted exactly as `lspci -mm` prints them. One
// pci_access per object (libpci parses pci.ids once, on the first lookup we
// force in the constructor). libpci is used for names only: it never scans a
// bus; its access method is pointed at the probed tree and never initialized
// against the real /sys.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "pci/device.h"

struct pci_access;

namespace gpuvm::pci {

class PciNames {
 public:
  // pci_ids: the database file, or std::nullopt for libpci's default, which
  // like lspci also asks udev's hwdb about ids pci.ids lacks. An explicit file
  // is the only source (no hwdb) and must parse, else kInvalidArgument naming
  // it; a missing default gives lspci's stand-in names ("Device", "Class").
  explicit PciNames(const std::optional<std::filesystem::path>& pci_ids);
  PciNames(const PciNames&) = delete;
  PciNames& operator=(const PciNames&) = delete;
  ~PciNames();

  // Fills vendor_name, device_name, class_name and the subsystem names of `d`
  // from its ids.
  void fill(Device& d) const;

  // The names as lspci -mm prints them (no " [id]" suffix).
  std::string vendor(uint16_t vendor_id) const;
  std::string device(uint16_t vendor_id, uint16_t device_id) const;
  std::string device_class(uint16_t class_id) const;  // base class << 8 | subclass

 private:
  pci_access* pacc_ = nullptr;
};

}  // namespace gpuvm::pci
