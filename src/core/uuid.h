// UUID value type over libuuid (util-linux).
#pragma once

#include <array>
#include <compare>
#include <optional>
#include <string>
#include <string_view>

namespace gpuvm {

class Uuid {
 public:
  Uuid() = default;  // the nil UUID

  // Canonical 8-4-4-4-12 hex form, either case.
  static std::optional<Uuid> try_parse(std::string_view text);
  static Uuid parse(std::string_view text);  // throws kInvalidArgument
  static Uuid random();
  // Name-based UUID (version 5, SHA-1) in the RFC 4122 X.500 namespace:
  // `uuidgen --sha1 --namespace @x500 --name NAME`.
  static Uuid v5_x500(std::string_view name);

  std::string str() const;  // lower case, as sysfs and OpenNebula print it
  bool is_nil() const;

  auto operator<=>(const Uuid&) const = default;

 private:
  std::array<unsigned char, 16> bytes_{};
};

}  // namespace gpuvm
