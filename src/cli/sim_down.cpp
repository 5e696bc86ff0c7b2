// gpuvm-sim down DIR: unmounts the simulated /sys (fusermount3 -u, run
// without a shell) and lets the daemon exit.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <iostream>
#include <thread>

#include "cli/command.h"
#include "cli/sim_commands.h"
#include "core/error.h"
#include "sim/host_state.h"

namespace gpuvm::cli {
namespace {

namespace fs = std::filesystem;

struct Exit {
  int status = -1;
  std::string err;
};

// fusermount3 -u DIR with an argv (no shell); its stderr is captured.
Exit fusermount_u(const fs::path& mount) {
  const char* exe = nullptr;
  for (const char* p : {"/usr/bin/fusermount3", "/bin/fusermount3"}) {
    if (::access(p, X_OK) == 0) {
      exe = p;
      break;
    }
  }
  if (exe == nullptr) throw Error(Errc::kNotFound, "fusermount3 not found (install fuse3)", ENOENT);
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) throw_errno(errno, "cannot create pipe", "down");
  const pid_t pid = ::fork();
  if (pid < 0) throw_errno(errno, "cannot fork fusermount3 for", mount.string());
  if (pid == 0) {
    ::dup2(err_pipe[1], STDERR_FILENO);
    const std::string m = mount.string();
    char* const argv[] = {const_cast<char*>(exe), const_cast<char*>("-u"),
                          const_cast<char*>(m.c_str()), nullptr};
    ::execv(exe, argv);
    ::_exit(127);
  }
  ::close(err_pipe[1]);
  Exit r;
  char buf[1024];
  for (;;) {
    ssize_t n = ::read(err_pipe[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    r.err.append(buf, static_cast<size_t>(n));
  }
  ::close(err_pipe[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  while (!r.err.empty() && r.err.back() == '\n') r.err.pop_back();
  return r;
}

// True while `pid` runs (a zombie counts as gone).
bool running(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  auto close_paren = line.rfind(')');
  return close_paren != std::string::npos && close_paren + 2 < line.size() &&
         line[close_paren + 2] != 'Z';
}

}  // namespace

int run_sim_down(const std::vector<std::string>& args) {
  CLI::App app("Unmount the simulated host mounted at DIR and stop its daemon", "gpuvm-sim down");
  std::string mount_arg;
  app.add_option("DIR", mount_arg, "The mount point given to gpuvm-sim up")->required();
  if (auto rc = parse_args(app, args)) return *rc;

  const fs::path mount = fs::absolute(mount_arg).lexically_normal();
  const auto state_path = sim::state_path_for_mount(mount);
  if (!state_path) {
    throw Error(Errc::kNotFound, mount.string() + " is not a gpuvm-sim mount", ENOENT);
  }
  const Exit r = fusermount_u(mount);
  if (r.status != 0) {
    if (r.err.find("busy") != std::string::npos) {
      throw Error(Errc::kBusy,
                  "cannot unmount " + mount.string() +
                      ": it is busy (EBUSY): a process has a file open or its working directory "
                      "under it; close it and run gpuvm-sim down again",
                  EBUSY);
    }
    throw Error(Errc::kIo, "fusermount3 -u " + mount.string() + " failed: " + r.err);
  }
  // The daemon's loop ends with the unmount; give it a moment to exit.
  sim::StateFile file(*state_path);
  int pid = 0;
  try {
    pid = file.read().meta.daemon_pid;
  } catch (const Error&) {
  }
  for (int i = 0; pid > 0 && i < 500 && running(pid); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  try {
    file.update([](sim::HostState& s) {
      s.meta.daemon_pid = 0;
      s.meta.mount.clear();
    });
  } catch (const Error&) {
    // The state file is the user's to remove; the unmount is what counts.
  }
  std::cout << "unmounted " << mount.string() << "\n";
  return kExitOk;
}

}  // namespace gpuvm::cli
