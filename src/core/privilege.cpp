#include "core/privilege.h"

#include <fmt/format.h>
#include <pwd.h>
#include <sys/auxv.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <string_view>

namespace gpuvm {
namespace {

std::optional<uid_t> parse_uid(std::string_view s) {
  uid_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

}  // namespace

Invoker invoker() {
  Invoker out;
  out.uid = ::getuid();
  // sudo(8) ENVIRONMENT: SUDO_UID "set to the user ID of the user who invoked sudo".
  if (const char* v = std::getenv("SUDO_UID")) {
    return {true, parse_uid(v), fmt::format("sudo (SUDO_UID={})", v)};
  }
  // pkexec(1): PKEXEC_UID, the real uid of the caller.
  if (const char* v = std::getenv("PKEXEC_UID")) {
    return {true, parse_uid(v), fmt::format("pkexec (PKEXEC_UID={})", v)};
  }
  // doas(1): DOAS_USER, the name of the invoking user.
  if (const char* v = std::getenv("DOAS_USER")) {
    std::optional<uid_t> uid;
    if (const passwd* pw = ::getpwnam(v)) uid = pw->pw_uid;
    return {true, uid, fmt::format("doas (DOAS_USER={})", v)};
  }
  // getauxval(3) AT_SECURE: set by the kernel for setuid/setgid execs and
  // file capabilities; the real uid is then the caller's.
  if (::getauxval(AT_SECURE) != 0) return {true, ::getuid(), "setuid/setgid exec"};
  return out;
}

}  // namespace gpuvm
