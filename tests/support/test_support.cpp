#include "support/test_support.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace gpuvm::test {

std::filesystem::path source_dir() {
  return GPUVM_SOURCE_DIR;
}
std::filesystem::path shared_dir() {
  return GPUVM_SHARED_DIR;
}
std::filesystem::path binary_dir() {
  return GPUVM_BINARY_DIR;
}

std::filesystem::path bin(const std::string& name) {
  for (const char* sub : {"src/cli", "src/sim", "src/server", "bench"}) {
    auto p = binary_dir() / sub / name;
    if (std::filesystem::exists(p)) return p;
  }
  return binary_dir() / "src/cli" / name;
}

TempDir::TempDir() {
  std::filesystem::path base = std::filesystem::temp_directory_path();
  if (const char* t = std::getenv("GPUVM_TEST_TMP")) {
    base = t;
    std::filesystem::create_directories(base);
  }
  std::string tmpl = (base / "gpuvm-test-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  // Tests make unreadable files on purpose; give permissions back first.
  for (auto it = std::filesystem::recursive_directory_iterator(
           path_, std::filesystem::directory_options::skip_permission_denied, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec))
      std::filesystem::permissions(it->path(), std::filesystem::perms::owner_all,
                                   std::filesystem::perm_options::add, ec);
  }
  std::filesystem::remove_all(path_, ec);
}

RunResult run(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
              const std::string& stdin_data) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC))
    throw std::runtime_error("pipe failed");
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string s = *e;
    if (!env.contains(s.substr(0, s.find('=')))) env_strings.push_back(s);
  }
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (auto& e : env_strings) cenv.push_back(e.data());
  cenv.push_back(nullptr);

  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    execve(cargv[0], cargv.data(), cenv.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  // Feed stdin, then read both pipes until EOF without deadlocking.
  size_t written = 0;
  if (stdin_data.empty()) close(in[1]);
  RunResult r;
  bool in_open = !stdin_data.empty(), out_open = true, err_open = true;
  while (out_open || err_open) {
    pollfd fds[3] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}, {in[1], POLLOUT, 0}};
    if (!out_open) fds[0].fd = -1;
    if (!err_open) fds[1].fd = -1;
    if (!in_open) fds[2].fd = -1;
    if (poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    char buf[65536];
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
        ssize_t n = read(fds[i].fd, buf, sizeof buf);
        if (n <= 0) {
          (i == 0 ? out_open : err_open) = false;
        } else {
          (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
        }
      }
    }
    if (in_open && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t n = write(in[1], stdin_data.data() + written, stdin_data.size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      if (n < 0 || written == stdin_data.size()) {
        close(in[1]);
        in_open = false;
      }
    }
  }
  if (in_open) close(in[1]);
  close(out[0]);
  close(err[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void write_file(const std::filesystem::path& path, const std::string& content) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream f(path, std::ios::binary);
  f << content;
  if (!f) throw std::runtime_error("cannot write " + path.string());
}

std::filesystem::path copy_sysfs_fixture(const std::string& name, const std::filesystem::path& to) {
  std::filesystem::copy(
      source_dir() / "tests/data/sysfs" / name / "sys", to,
      std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks);
  return to;
}

void extract_tarball(const std::filesystem::path& tarball, const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  RunResult r = run({"/usr/bin/tar", "-xzf", tarball.string(), "-C", dir.string()});
  if (r.exit_code != 0) throw std::runtime_error("tar failed: " + r.err);
}

std::map<std::string, OneFields> parse_one_template(const std::string& text) {
  std::map<std::string, OneFields> out;
  OneFields cur;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    if (line == "]") {
      out[cur["ADDRESS"]] = cur;
      cur.clear();
      continue;
    }
    size_t eq = line.find(" = \"");
    if (eq == std::string::npos) continue;
    std::string name = line.substr(1, eq - 1);
    size_t end = line.rfind('"');
    std::string value;
    for (size_t i = eq + 4; i < end; ++i) {
      if (line[i] == '\\' && i + 1 < end) ++i;
      value += line[i];
    }
    cur[name] = value;
  }
  return out;
}

}  // namespace gpuvm::test
