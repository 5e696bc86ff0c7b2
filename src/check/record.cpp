#include "check/record.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "core/error.h"
#include "core/unique_fd.h"

namespace gpuvm::check {

namespace fs = std::filesystem;

void write_record(const fs::path& state_dir, const std::string& text) {
  if (::mkdir(state_dir.c_str(), 0755) != 0 && errno != EEXIST)
    throw_errno(errno, "cannot create state directory", state_dir.string());
  const fs::path path = record_path(state_dir);
  const fs::path tmp =
      state_dir / (std::string(kRecordFile) + ".tmp." + std::to_string(::getpid()));
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (fd.get() < 0) throw_errno(errno, "cannot create", tmp.string());
  auto fail = [&](int err, const char* what) {
    ::unlink(tmp.c_str());
    throw_errno(err, what, tmp.string());
  };
  if (::fchmod(fd.get(), 0644) != 0) fail(errno, "cannot chmod");  // whatever the umask
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(n < 0 ? errno : EIO, "cannot write");
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) fail(errno, "cannot sync");
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail(errno, "cannot rename into place");
}

}  // namespace gpuvm::check
