// gpuvm-sim up SPEC --mount DIR: writes the host's power-on state, mounts the
// FUSE tree and leaves a daemon serving it once the mount answers.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/command.h"
#include "cli/sim_commands.h"
#include "core/error.h"
#include "sim/fuse_fs.h"
#include "sim/host_files.h"
#include "sim/host_state.h"
#include "sim/spec.h"

namespace gpuvm::cli {
namespace {

namespace fs = std::filesystem;

// The mock libnvidia-ml.so.1: the one of this build tree, else one installed
// next to this binary (lib/gpuvm-sim/).
std::optional<fs::path> find_mock_nvml() {
  std::error_code ec;
#ifdef GPUVM_SIM_NVML_MOCK
  if (fs::exists(GPUVM_SIM_NVML_MOCK, ec)) return fs::path(GPUVM_SIM_NVML_MOCK);
#endif
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return std::nullopt;
  const fs::path dir = exe.parent_path();
  for (const fs::path& p : {dir / "../lib/gpuvm-sim/libnvidia-ml.so.1"}) {
    if (fs::exists(p, ec)) return fs::weakly_canonical(p, ec);
  }
  return std::nullopt;
}

// Single-quotes a value for a POSIX shell when it needs it.
std::string shell_quote(const std::string& v) {
  if (!v.empty() && v.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                        "0123456789/._-+:=@%,") == std::string::npos) {
    return v;
  }
  std::string out = "'";
  for (char c : v) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

void write_all(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    ssize_t n = ::write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

// The daemon's standard streams: nothing in, its log out.
void detach_stdio(const fs::path& log) {
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (null_fd >= 0) {
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(null_fd, STDOUT_FILENO);
  }
  if (log_fd >= 0) ::dup2(log_fd, STDERR_FILENO);
  if (null_fd > STDERR_FILENO) ::close(null_fd);
  if (log_fd > STDERR_FILENO) ::close(log_fd);
}

void print_ready(const std::string& format, const fs::path& mount, const fs::path& state, int pid) {
  const auto lib = find_mock_nvml();
  const sim::HostFileRoots roots = sim::host_file_roots(state.parent_path());
  if (format == "json") {
    nlohmann::json j = {{"mount", mount.string()},
                        {"state", state.string()},
                        {"nvml_lib", lib ? nlohmann::json(lib->string()) : nlohmann::json(nullptr)},
                        {"daemon_pid", pid},
                        {"proc_root", roots.proc.string()},
                        {"dev_root", roots.dev.string()},
                        {"etc_root", roots.etc.string()}};
    std::cout << j.dump(2) << std::endl;
    return;
  }
  std::string line = "export GPUVM_SYSFS_ROOT=" + shell_quote(mount.string());
  if (lib) line += " GPUVM_NVML_LIB=" + shell_quote(lib->string());
  line += " " + std::string(sim::kSimStateEnv) + "=" + shell_quote(state.string());
  // The host's /proc, /dev and /etc parts for gpuvm check (check/check.h's variables).
  line += " GPUVM_PROC_ROOT=" + shell_quote(roots.proc.string()) +
          " GPUVM_DEV_ROOT=" + shell_quote(roots.dev.string()) +
          " GPUVM_ETC_ROOT=" + shell_quote(roots.etc.string());
  std::cout << line << std::endl;
  if (!lib)
    std::cerr << "gpuvm-sim: note: the mock libnvidia-ml.so.1 is not built next to this binary\n";
}

}  // namespace

int run_sim_up(const std::vector<std::string>& args) {
  CLI::App app(
      "Mount the sysfs tree of a simulated host described by SPEC at DIR and serve it from a "
      "background process. Prints the line that points gpuvm at it.",
      "gpuvm-sim up");
  std::string spec_path, mount_arg, state_dir_arg, format = "text";
  bool foreground = false;
  app.add_option("SPEC", spec_path, "Host spec (YAML), see examples/hosts/")->required();
  app.add_option("--mount", mount_arg, "Empty directory that will stand for /sys")->required();
  app.add_option("--state-dir", state_dir_arg,
                 "Directory for state.json and daemon.log (default: <mount>.state)");
  app.add_flag("--foreground", foreground, "Serve in this process until unmounted");
  app.add_option("--format", format, "Output: text (an export line) or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  if (auto rc = parse_args(app, args)) return *rc;

  sim::HostState state = sim::load_spec(spec_path);  // bad spec: exit 2, nothing changed
  const fs::path mount = fs::absolute(mount_arg).lexically_normal();
  sim::check_mount_point(mount);
  sim::MountPointLock lock(mount);
  sim::check_mount_point(mount);  // again, now that no other `up` can be in between

  const fs::path state_dir =
      fs::absolute(state_dir_arg.empty() ? mount.string() + ".state" : state_dir_arg)
          .lexically_normal();
  std::error_code ec;
  fs::create_directories(state_dir, ec);
  if (ec) throw_errno(ec.value(), "cannot create state directory", state_dir.string());
  const fs::path state_path = sim::StateFile::path_in(state_dir);
  sim::StateFile file(state_path);
  if (file.exists()) {
    // A state file in use by a live simulator must not be overwritten.
    const sim::HostState old = file.read();
    if (!old.meta.mount.empty() && sim::state_path_for_mount(old.meta.mount) == state_path) {
      throw Error(Errc::kBusy,
                  "state directory " + state_dir.string() +
                      " belongs to the simulator mounted at " + old.meta.mount +
                      "; use another --state-dir",
                  EBUSY);
    }
  }
  state.meta.spec_path = fs::absolute(spec_path).string();
  state.meta.mount = mount.string();
  file.write(state);
  sim::write_host_files(state, state_dir);

  if (foreground) {
    sim::serve(mount, state_path, [&] {
      file.update([](sim::HostState& s) { s.meta.daemon_pid = ::getpid(); });
      print_ready(format, mount, state_path, ::getpid());
    });
    return kExitOk;
  }

  int pipe_fd[2];
  if (::pipe2(pipe_fd, O_CLOEXEC) != 0) throw_errno(errno, "cannot create pipe", "up");
  std::cout.flush();
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw_errno(errno, "cannot fork the simulator daemon", mount.string());
  if (pid == 0) {
    // The daemon: its own session, mounted, then detached from the terminal.
    ::close(pipe_fd[0]);
    ::setsid();
    try {
      sim::serve(mount, state_path, [&] {
        file.update([](sim::HostState& s) { s.meta.daemon_pid = ::getpid(); });
        detach_stdio(state_dir / "daemon.log");
        write_all(pipe_fd[1], "OK");
        ::close(pipe_fd[1]);
      });
      ::_exit(0);
    } catch (const std::exception& e) {
      write_all(pipe_fd[1], std::string("ERR ") + e.what());
      ::_exit(1);
    }
  }
  ::close(pipe_fd[1]);
  const std::string answer = read_all(pipe_fd[0]);
  ::close(pipe_fd[0]);
  if (answer != "OK") {
    ::waitpid(pid, nullptr, 0);
    throw Error(Errc::kIo, answer.starts_with("ERR ")
                               ? answer.substr(4)
                               : "the simulator daemon died while mounting " + mount.string());
  }
  // The mount answers once the daemon's loop runs: wait for it (bounded).
  for (int i = 0; i < 500; ++i) {
    struct stat st {};
    if (::stat((mount / "bus/pci/devices").c_str(), &st) == 0) {
      print_ready(format, mount, state_path, pid);
      return kExitOk;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  throw Error(Errc::kIo, "the simulator at " + mount.string() + " does not answer; see " +
                             (state_dir / "daemon.log").string());
}

}  // namespace gpuvm::cli
