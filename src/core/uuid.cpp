#include "core/uuid.h"

#include <fmt/format.h>
#include <uuid/uuid.h>

#include <algorithm>

#include "core/error.h"

namespace gpuvm {

std::optional<Uuid> Uuid::try_parse(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  char buf[37];
  std::copy(text.begin(), text.end(), buf);
  buf[36] = '\0';
  Uuid u;
  if (uuid_parse(buf, u.bytes_.data()) != 0) return std::nullopt;
  return u;
}

Uuid Uuid::parse(std::string_view text) {
  if (auto u = try_parse(text)) return *u;
  throw_invalid(fmt::format("invalid UUID '{}': expected 8-4-4-4-12 hex digits, for example "
                            "e4042b96-e63d-56cf-bcc8-4e6eecccc12e",
                            text));
}

Uuid Uuid::random() {
  Uuid u;
  uuid_generate_random(u.bytes_.data());
  return u;
}

Uuid Uuid::v5_x500(std::string_view name) {
  Uuid u;
  const uuid_t* ns = uuid_get_template("x500");
  uuid_generate_sha1(u.bytes_.data(), *ns, name.data(), name.size());
  return u;
}

std::string Uuid::str() const {
  char buf[37];
  uuid_unparse_lower(bytes_.data(), buf);
  return buf;
}

bool Uuid::is_nil() const { return uuid_is_null(bytes_.data()) != 0; }

}  // namespace gpuvm
