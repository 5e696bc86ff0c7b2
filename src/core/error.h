// Errors in gpuvm: one exception type, thrown by library code, turned into a
// message and an exit code only by the mains (cli/). Every message names the
// input, device or path it is about; the same error is never logged twice.
#pragma once

#include <stdexcept>
#include <string>

namespace gpuvm {

enum class Errc {
  kInvalidArgument,  // bad input from the user: exit code 2
  kNotFound,         // a device, file or object that does not exist
  kBusy,             // in use (a vGPU on a VF, a GI holding CIs, a held lock)
  kUnsupported,      // the hardware/driver cannot do this
  kIo,               // a system call failed (errno carries the reason)
  kDriver,           // the NVIDIA driver / NVML said no
  kConflict,         // the state changed under us or does not allow this
  kInternal,         // a bug in gpuvm
};

// Exit code a CLI returns for an error of this kind: 2 for bad input, else 1.
int exit_code(Errc code);
const char* errc_name(Errc code);

class Error : public std::runtime_error {
 public:
  Error(Errc code, std::string message, int sys_errno = 0)
      : std::runtime_error(std::move(message)), code_(code), errno_(sys_errno) {}

  Errc code() const noexcept { return code_; }
  // The errno of the failed system call, 0 when none.
  int sys_errno() const noexcept { return errno_; }

 private:
  Errc code_;
  int errno_;
};

// Throws kInvalidArgument with the message.
[[noreturn]] void throw_invalid(std::string message);

// Throws kIo (or kNotFound for ENOENT, kBusy for EBUSY...) with
// "<what> <path>: <strerror(err)>".
[[noreturn]] void throw_errno(int err, std::string_view what, std::string_view path);

// Errc that matches an errno value from the kernel.
Errc errc_from_errno(int err);

}  // namespace gpuvm
