#include "core/bdf.h"

#include <fmt/format.h>

#include "core/error.h"

namespace gpuvm {
namespace {

// Parses min..max hex digits into out; false on anything else.
bool parse_hex(std::string_view s, size_t min_digits, size_t max_digits, uint32_t& out) {
  if (s.size() < min_digits || s.size() > max_digits) return false;
  uint32_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return false;
    v = v * 16 + static_cast<uint32_t>(d);
  }
  out = v;
  return true;
}

}  // namespace

std::optional<Bdf> Bdf::try_parse(std::string_view text) {
  std::string_view domain_part;
  std::string_view rest = text;
  size_t first = text.find(':');
  if (first == std::string_view::npos) return std::nullopt;
  if (text.find(':', first + 1) != std::string_view::npos) {
    domain_part = text.substr(0, first);
    rest = text.substr(first + 1);
  }
  size_t colon = rest.find(':');
  size_t dot = rest.find('.');
  if (colon == std::string_view::npos || dot == std::string_view::npos || dot < colon)
    return std::nullopt;
  uint32_t domain = 0, bus = 0, dev = 0, fn = 0;
  if (!domain_part.empty() || rest.data() != text.data()) {
    // 4 digits as the kernel prints; 8 as nvidia-smi/NVML print.
    if (!(domain_part.size() == 4 || domain_part.size() == 8)) return std::nullopt;
    if (!parse_hex(domain_part, 4, 8, domain) || domain > 0xffff) return std::nullopt;
  }
  if (!parse_hex(rest.substr(0, colon), 2, 2, bus)) return std::nullopt;
  if (!parse_hex(rest.substr(colon + 1, dot - colon - 1), 2, 2, dev) || dev > 0x1f)
    return std::nullopt;
  if (!parse_hex(rest.substr(dot + 1), 1, 1, fn) || fn > 7) return std::nullopt;
  return Bdf{domain, static_cast<uint8_t>(bus), static_cast<uint8_t>(dev),
             static_cast<uint8_t>(fn)};
}

Bdf Bdf::parse(std::string_view text) {
  if (auto b = try_parse(text)) return *b;
  throw_invalid(fmt::format("invalid PCI address '{}': expected DDDD:BB:DD.F (for example "
                            "0000:41:00.4) or BB:DD.F",
                            text));
}

std::string Bdf::str() const {
  return fmt::format("{:04x}:{:02x}:{:02x}.{:x}", domain, bus, device, function);
}
std::string Bdf::short_str() const {
  return fmt::format("{:02x}:{:02x}.{:x}", bus, device, function);
}
std::string Bdf::one_address() const {
  return fmt::format("{:04x}:{:02x}:{:02x}:{:x}", domain, bus, device, function);
}
std::string Bdf::nvml_bus_id() const {
  return fmt::format("{:08X}:{:02X}:{:02X}.{:X}", domain, bus, device, function);
}

}  // namespace gpuvm
