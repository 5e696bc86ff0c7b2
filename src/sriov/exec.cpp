#include "sriov/exec.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace gpuvm::sriov {
namespace {

void check_not_writable_by_others(const std::filesystem::path& p, const struct stat& st,
                                  std::string_view what) {
  if (st.st_uid != 0 && st.st_uid != ::geteuid()) {
    throw_invalid(fmt::format("{} {} is owned by uid {}, expected root: refusing to run it", what,
                              p.string(), st.st_uid));
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    throw_invalid(
        fmt::format("{} {} is writable by group or others (mode {:o}): refusing to run it", what,
                    p.string(), st.st_mode & 07777));
  }
}

}  // namespace

void check_trusted_program(const std::filesystem::path& program) {
  if (!program.is_absolute()) {
    throw_invalid(fmt::format("--sriov-manage '{}': expected an absolute path", program.string()));
  }
  struct stat st {};
  if (::stat(program.c_str(), &st) != 0) {
    throw_invalid(fmt::format("--sriov-manage {}: {}", program.string(), std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode) || (st.st_mode & S_IXUSR) == 0) {
    throw_invalid(
        fmt::format("--sriov-manage {}: expected an executable regular file", program.string()));
  }
  check_not_writable_by_others(program, st, "--sriov-manage");
  const std::filesystem::path dir = program.parent_path();
  if (::stat(dir.c_str(), &st) != 0) {
    throw_invalid(fmt::format("--sriov-manage {}: {}", dir.string(), std::strerror(errno)));
  }
  check_not_writable_by_others(dir, st, "directory");
}

ExecResult run_program(const std::filesystem::path& program, const std::vector<std::string>& args) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw_errno(errno, "cannot create a pipe for", program.string());
  std::vector<std::string> argv_store;
  argv_store.push_back(program.string());
  argv_store.insert(argv_store.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_store) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string path_env = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
  char* envp[] = {path_env.data(), nullptr};

  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    throw_errno(err, "cannot fork to run", program.string());
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls until execve.
    ::dup2(fds[1], STDOUT_FILENO);
    ::dup2(fds[1], STDERR_FILENO);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    ::execve(argv[0], argv.data(), envp);
    ::_exit(127);
  }
  ::close(fds[1]);
  ExecResult result;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    result.output.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw_errno(errno, "cannot wait for", program.string());
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace gpuvm::sriov
