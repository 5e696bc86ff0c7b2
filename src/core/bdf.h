// PCI address (domain:bus:device.function) as a value type.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gpuvm {

struct Bdf {
  uint32_t domain = 0;  // 16 bits in practice; sysfs prints 4 hex digits
  uint8_t bus = 0;
  uint8_t device = 0;  // 0..31
  uint8_t function = 0;  // 0..7

  // Accepts "DDDD:BB:DD.F" and "BB:DD.F" (domain 0), hex case-insensitive.
  // nvidia-smi's "00000000:00:06.0" (8-digit domain) is accepted too.
  static std::optional<Bdf> try_parse(std::string_view text);
  // As try_parse, but throws kInvalidArgument naming the text and the format.
  static Bdf parse(std::string_view text);

  std::string str() const;        // "0000:41:00.4", the kernel's form
  std::string short_str() const;  // "41:00.4", lspci's form on one-segment hosts
  std::string one_address() const;  // "0000:41:00:4", OpenNebula's ADDRESS (colon before F)
  std::string nvml_bus_id() const;  // "00000000:41:00.0", NVML's busId form

  auto operator<=>(const Bdf&) const = default;
};

}  // namespace gpuvm
