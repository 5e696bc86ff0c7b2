// Vendor, device, class and subsystem names from pci.ids, through libpci's
// pci_lookup_name(), formatted exactly as `lspci -mm` prints them. One
// pci_access per object. libpci is used for names only: no pci_init(), it
// never scans a bus nor looks at the real /sys.
//
// Speed: libpci parses the whole pci.ids (1.3 MB, ~40k entries) before its
// first answer, which costs more than probing a large host. fill_all() first
// copies only the lines of the vendors, devices (with their subsystem lines)
// and classes present, so that every lookup libpci makes for these devices
// finds exactly what it would find in the whole file, into an in-memory file
// and lets libpci parse that. Any other lookup loads the whole file.
#pragma once

#include <array>
#include <bitset>
#include <map>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "pci/device.h"

struct pci_access;

namespace gpuvm::pci {

class PciNames {
 public:
  // pci_ids: the database file, or std::nullopt for libpci's default, which
  // like lspci also asks udev's hwdb about ids pci.ids lacks. An explicit file
  // is the only source (no hwdb) and must exist (else kInvalidArgument); it is
  // parsed on first use, and a parse error then throws kInvalidArgument naming
  // it. A missing default gives lspci's stand-in names ("Device", "Class").
  explicit PciNames(const std::optional<std::filesystem::path>& pci_ids);
  PciNames(const PciNames&) = delete;
  PciNames& operator=(const PciNames&) = delete;
  ~PciNames();

  // Names every device (vendor, device, class, subsystem names).
  void fill_all(std::vector<Device>& devices);
  // Names one device (loads the whole database unless fill_all loaded a
  // subset that covers it).
  void fill(Device& d);

  // The names as lspci -mm prints them (no " [id]" suffix).
  std::string vendor(uint16_t vendor_id);
  std::string device(uint16_t vendor_id, uint16_t device_id);
  std::string device_class(uint16_t class_id);  // base class << 8 | subclass

  // How many lines libpci was given (the subset or the whole file); for tests.
  size_t loaded_lines() const { return loaded_lines_; }

 private:
  struct Wanted {
    std::bitset<65536> vendors;     // device and subsystem vendors
    std::vector<uint32_t> devices;  // vendor << 16 | device, sorted
    std::bitset<256> classes;       // base classes
  };
  static constexpr uint16_t kNoVendor = 0xffff;  // never a real vendor id

  void load(const std::vector<Device>* only);
  // Loads the database so that it covers this vendor (kNoVendor: none), this
  // device of it and this base class (-1: none).
  void ensure(uint16_t vendor_id, int device_id, int base_class);
  void name(Device& d);
  void look_up(Device& d);

  pci_access* pacc_ = nullptr;
  // The names of each (vendor, device, class, subsystem vendor, subsystem
  // device) already looked up: a long-lived PciNames (gpuvm agent) asks
  // libpci once per id. libpci re-asks udev's hwdb for every id pci.ids
  // lacks, and leaks a udev context each time where there is no hwdb.bin.
  std::map<std::array<int, 5>, std::array<std::string, 5>> memo_;
  std::optional<std::filesystem::path> explicit_ids_;
  std::string file_;  // the database libpci would read
  bool loaded_ = false;
  bool subset_ = false;
  Wanted wanted_;
  size_t loaded_lines_ = 0;
};

}  // namespace gpuvm::pci
