// Whether this process runs with privileges granted for another user, and
// who that user is. Entry points that may run as root for someone else
// (`gpuvm one`, called by OpenNebula's oneadmin through sudo) take no root,
// library or state-dir override while this says so (docs/privileges.md).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace gpuvm {

struct Invoker {
  // True under sudo, doas or pkexec, or after a setuid/setgid/file-capability
  // exec (AT_SECURE). The variables the tools set cannot be removed by the
  // caller through the tool: sudo and doas set them themselves.
  bool elevated = false;
  // The user the privilege was granted to (SUDO_UID, PKEXEC_UID, DOAS_USER,
  // or the real uid); nullopt when elevated and the tool's variable does not
  // name a user. Not elevated: the real uid.
  std::optional<uid_t> uid;
  // "sudo (SUDO_UID=1001)", "setuid/setgid exec", "" when not elevated.
  std::string how;
};

Invoker invoker();

}  // namespace gpuvm
