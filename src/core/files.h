// Files that root reads or writes on someone else's say: an input file named
// by a less trusted caller (OpenNebula's vm.xml), and gpuvm's own state
// directory (journal, caches, intent records). Nothing here follows a symlink
// it was not asked to, blocks on a FIFO, or reads without a bound.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace gpuvm {

struct ReadChecks {
  size_t max_bytes = 1 << 20;  // larger files are refused, not truncated
  // The file's owner must be this uid (the user the caller stands for).
  std::optional<uid_t> owner;
};

// The content of the regular file `path`, opened O_NOFOLLOW|O_NONBLOCK (a
// symlink, a FIFO, a device or a directory is refused, never opened for
// reading) and checked with fstat(2) on the opened file. `what` names the
// input in errors ("the VM XML"); messages never contain file contents.
// kInvalidArgument for a file that fails a check, kNotFound/kIo for errors.
std::string read_file_checked(const std::filesystem::path& path, std::string_view what,
                              const ReadChecks& checks);

// A directory only this process's user may change: created with mode 0700
// (and its missing parents) when absent; an existing one must be a directory
// (not a symlink to one), owned by the effective uid, and not writable by
// group or others. kInvalidArgument naming the directory and the fix
// otherwise: another user who can write it could plant links for root.
void ensure_private_dir(const std::filesystem::path& dir);

// Replaces `path` with `data` atomically (a crash leaves the old or the new
// file, never a mix): ensure_private_dir(parent), then `<name>.tmp` created
// O_CREAT|O_EXCL|O_NOFOLLOW mode 0600 (a leftover of a crash, symlink or not,
// is removed first, never followed), written, fsync'ed, renamed over `path`,
// and the directory fsync'ed.
void atomic_write_file(const std::filesystem::path& path, std::string_view data);

}  // namespace gpuvm
