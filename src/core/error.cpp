#include "core/error.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

namespace gpuvm {

int exit_code(Errc code) { return code == Errc::kInvalidArgument ? 2 : 1; }

const char* errc_name(Errc code) {
  switch (code) {
    case Errc::kInvalidArgument: return "invalid-argument";
    case Errc::kNotFound: return "not-found";
    case Errc::kBusy: return "busy";
    case Errc::kUnsupported: return "unsupported";
    case Errc::kIo: return "io";
    case Errc::kDriver: return "driver";
    case Errc::kConflict: return "conflict";
    case Errc::kInternal: return "internal";
  }
  return "unknown";
}

void throw_invalid(std::string message) { throw Error(Errc::kInvalidArgument, std::move(message)); }

Errc errc_from_errno(int err) {
  switch (err) {
    case ENOENT:
    case ENODEV:
    case ENXIO: return Errc::kNotFound;
    case EBUSY:
    case EAGAIN: return Errc::kBusy;
    // A kernel EINVAL means the driver refused the value: a failure of the
    // operation, not a usage error of gpuvm itself.
    case EINVAL:
    case ERANGE: return Errc::kDriver;
    case EOPNOTSUPP: return Errc::kUnsupported;
    default: return Errc::kIo;
  }
}

void throw_errno(int err, std::string_view what, std::string_view path) {
  throw Error(errc_from_errno(err), fmt::format("{} {}: {}", what, path, std::strerror(err)), err);
}

}  // namespace gpuvm
