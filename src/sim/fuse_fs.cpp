#define FUSE_USE_VERSION 35
#include "sim/fuse_fs.h"

#include <fcntl.h>
#include <fuse.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/sysfs.h"
#include "sim/host_state.h"
#include "sim/sysfs_tree.h"
#include "sim/sysfs_writes.h"

namespace gpuvm::sim {

namespace {

namespace fs = std::filesystem;

// Everything the callbacks need; reached through fuse_get_context().
struct FsContext {
  explicit FsContext(fs::path state_path) : state(std::move(state_path)) {}

  StateFile state;
  std::optional<uint64_t> built_generation;
  SysfsTree tree;
  struct timespec mounted_at {};

  // The tree of the current state: the state file is read on every call and
  // the tree rebuilt when another process (or a write here) changed it.
  const SysfsTree& current() {
    const HostState& s = state.read_ref();
    if (!built_generation || *built_generation != s.generation) {
      tree = SysfsTree::build(s);
      built_generation = s.generation;
    }
    return tree;
  }
};

FsContext& ctx() {
  return *static_cast<FsContext*>(fuse_get_context()->private_data);
}

std::string_view rel(const char* path) {
  std::string_view p(path);
  while (p.starts_with('/')) p.remove_prefix(1);
  return p;
}

// Runs `fn`, turning errors into -errno for FUSE; an error the daemon did not
// expect is logged once to its log (stderr) and answered with EIO.
template <typename Fn>
int guarded(const char* op, const char* path, Fn&& fn) {
  try {
    return fn();
  } catch (const Error& e) {
    if (e.sys_errno() != 0) return -e.sys_errno();
    std::cerr << "gpuvm-sim: " << op << " " << path << ": " << e.what() << "\n";
    return e.code() == Errc::kNotFound ? -ENOENT : -EIO;
  } catch (const std::exception& e) {
    std::cerr << "gpuvm-sim: " << op << " " << path << ": " << e.what() << "\n";
    return -EIO;
  }
}

void* fs_init(struct fuse_conn_info* /*conn*/, struct fuse_config* cfg) {
  // Nothing cached in the kernel: another process may change the state at
  // any time, and sysfs content is generated at each read.
  cfg->entry_timeout = 0;
  cfg->attr_timeout = 0;
  cfg->negative_timeout = 0;
  cfg->direct_io = 1;
  cfg->kernel_cache = 0;
  return fuse_get_context()->private_data;
}

int fs_getattr(const char* path, struct stat* st, struct fuse_file_info* /*fi*/) {
  return guarded("getattr", path, [&] {
    const SysfsNode* n = ctx().current().find(rel(path));
    if (n == nullptr) return -ENOENT;
    std::memset(st, 0, sizeof *st);
    switch (n->kind) {
      case SysfsNode::Kind::kDir:
        st->st_mode = S_IFDIR | 0755;
        st->st_nlink = 2;
        st->st_size = 0;
        break;
      case SysfsNode::Kind::kFile:
        st->st_mode = S_IFREG | n->perm;
        st->st_nlink = 1;
        st->st_size = static_cast<off_t>(n->size);
        break;
      case SysfsNode::Kind::kLink:
        st->st_mode = S_IFLNK | 0777;
        st->st_nlink = 1;
        st->st_size = static_cast<off_t>(n->content.size());
        break;
    }
    st->st_atim = st->st_mtim = st->st_ctim = ctx().mounted_at;
    st->st_blksize = 4096;
    return 0;
  });
}

int fs_readlink(const char* path, char* buf, size_t size) {
  return guarded("readlink", path, [&] {
    const SysfsNode* n = ctx().current().find(rel(path));
    if (n == nullptr) return -ENOENT;
    if (n->kind != SysfsNode::Kind::kLink || size == 0) return -EINVAL;
    const size_t len = std::min(size - 1, n->content.size());
    std::memcpy(buf, n->content.data(), len);
    buf[len] = '\0';
    return 0;
  });
}

int fs_readdir(const char* path, void* buf, fuse_fill_dir_t fill, off_t /*off*/,
               struct fuse_file_info* /*fi*/, enum fuse_readdir_flags /*flags*/) {
  return guarded("readdir", path, [&] {
    const SysfsNode* n = ctx().current().find(rel(path));
    if (n == nullptr) return -ENOENT;
    if (n->kind != SysfsNode::Kind::kDir) return -ENOTDIR;
    fill(buf, ".", nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
    fill(buf, "..", nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
    for (const auto& name : n->children) {
      fill(buf, name.c_str(), nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
    }
    return 0;
  });
}

int fs_open(const char* path, struct fuse_file_info* fi) {
  return guarded("open", path, [&] {
    const SysfsNode* n = ctx().current().find(rel(path));
    if (n == nullptr) return -ENOENT;
    if (n->kind == SysfsNode::Kind::kDir) return -EISDIR;
    // kernfs_fop_open: -EACCES when the attribute has no show() (read) or
    // no store() (write) for the requested access, even for root.
    const int acc = fi->flags & O_ACCMODE;
    if ((acc == O_RDONLY || acc == O_RDWR) && (n->perm & 0444) == 0) return -EACCES;
    if ((acc == O_WRONLY || acc == O_RDWR) && (n->perm & 0222) == 0) return -EACCES;
    fi->direct_io = 1;
    fi->keep_cache = 0;
    return 0;
  });
}

int fs_read(const char* path, char* buf, size_t size, off_t off, struct fuse_file_info* /*fi*/) {
  return guarded("read", path, [&] {
    const SysfsNode* n = ctx().current().find(rel(path));
    if (n == nullptr) return -ENODEV;  // the attribute went away while open
    if (n->read_errno) return -*n->read_errno;
    if (off < 0 || static_cast<size_t>(off) >= n->content.size()) return 0;
    const size_t len = std::min(size, n->content.size() - static_cast<size_t>(off));
    std::memcpy(buf, n->content.data() + off, len);
    return static_cast<int>(len);
  });
}

int fs_write(const char* path, const char* buf, size_t size, off_t /*off*/,
             struct fuse_file_info* /*fi*/) {
  return guarded("write", path, [&] {
    FsContext& c = ctx();
    const SysfsNode* found = c.current().find(rel(path));
    if (found == nullptr) return -ENODEV;
    // Copy: the tree is rebuilt by the update below.
    const SysfsNode node = *found;
    const std::string p(rel(path));
    const std::string data(buf, size);
    // Fault injection (spec "faults", call "sysfs:<attribute>"): consumed
    // under the state lock so that every process shares the count.
    std::optional<FaultState> fault;
    const std::string call = fault_call_for(p);
    const auto& pending = c.state.read_ref().faults;
    const bool maybe_fault = std::any_of(pending.begin(), pending.end(),
                                         [&](const FaultState& f) { return f.call == call; });
    if (node.write != WriteOp::kNone && maybe_fault) {
      c.state.update([&](HostState& s) { fault = s.take_fault(call, fault_gpu_for(s, node)); });
    }
    if (fault && fault->delay_ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(fault->delay_ms));
    }
    if (fault && fault->err_no) return -*fault->err_no;
    try {
      c.state.update([&](HostState& s) { apply_write(s, node, p, data); });
    } catch (const Error& e) {
      // What dmesg would show for a refused store(); the writer gets the errno.
      std::cerr << "gpuvm-sim: write " << p << ": " << e.what() << "\n";
      throw;
    }
    return static_cast<int>(size);
  });
}

int fs_truncate(const char* path, off_t /*size*/, struct fuse_file_info* /*fi*/) {
  return guarded("truncate", path, [&] {
    const SysfsNode* n = ctx().current().find(rel(path));
    if (n == nullptr) return -ENOENT;
    if (n->kind == SysfsNode::Kind::kDir) return -EISDIR;
    // Shell redirection opens with O_TRUNC; sysfs ignores the size change.
    return (n->perm & 0222) ? 0 : -EACCES;
  });
}

// Nothing can be created, removed or renamed in sysfs by a user.
int fs_create(const char*, mode_t, struct fuse_file_info*) {
  return -EACCES;
}
int fs_mkdir(const char*, mode_t) {
  return -EPERM;
}
int fs_unlink(const char*) {
  return -EPERM;
}
int fs_rmdir(const char*) {
  return -EPERM;
}
int fs_symlink(const char*, const char*) {
  return -EPERM;
}
int fs_rename(const char*, const char*, unsigned int) {
  return -EPERM;
}
int fs_link(const char*, const char*) {
  return -EPERM;
}
int fs_chmod(const char*, mode_t, struct fuse_file_info*) {
  return -EPERM;
}
int fs_chown(const char*, uid_t, gid_t, struct fuse_file_info*) {
  return -EPERM;
}

struct fuse_operations make_ops() {
  struct fuse_operations ops {};
  ops.init = fs_init;
  ops.getattr = fs_getattr;
  ops.readlink = fs_readlink;
  ops.readdir = fs_readdir;
  ops.open = fs_open;
  ops.read = fs_read;
  ops.write = fs_write;
  ops.truncate = fs_truncate;
  ops.create = fs_create;
  ops.mkdir = fs_mkdir;
  ops.unlink = fs_unlink;
  ops.rmdir = fs_rmdir;
  ops.symlink = fs_symlink;
  ops.rename = fs_rename;
  ops.link = fs_link;
  ops.chmod = fs_chmod;
  ops.chown = fs_chown;
  return ops;
}

// fuse_opt splits -o values at commas; a literal comma is "\,".
std::string escape_opt(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == ',' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

bool is_under(const fs::path& p, const fs::path& top) {
  auto pi = p.begin();
  for (auto ti = top.begin(); ti != top.end(); ++ti, ++pi) {
    if (pi == p.end() || *pi != *ti) return false;
  }
  return true;
}

}  // namespace

void check_mount_point(const fs::path& mount) {
  std::error_code ec;
  const fs::path real = fs::canonical(mount, ec);
  if (ec) throw Error(Errc::kNotFound, "mount point " + mount.string() + " does not exist", ENOENT);
  // The real sysfs (the same default every gpuvm root option has), procfs, devtmpfs.
  for (std::string_view forbidden :
       {kDefaultSysfsRoot, std::string_view("/proc"), std::string_view("/dev")}) {
    if (is_under(real, fs::path(forbidden))) {
      throw_invalid("refusing to mount the simulator over the real " + std::string(forbidden) +
                    " (" + mount.string() + " is " + real.string() +
                    "): give an empty directory of your own, e.g. /tmp/host/sys");
    }
  }
  if (real == "/") throw_invalid("refusing to mount the simulator over /");
  if (auto state = state_path_for_mount(real)) {
    throw Error(Errc::kBusy,
                mount.string() + " is already a gpuvm-sim mount (state " + state->string() +
                    "); run gpuvm-sim down " + mount.string() + " first",
                EBUSY);
  }
  if (!fs::is_directory(real, ec))
    throw_invalid("mount point " + mount.string() + " is not a directory");
  struct stat self {
  }, parent{};
  if (::stat(real.c_str(), &self) == 0 && ::stat(real.parent_path().c_str(), &parent) == 0 &&
      self.st_dev != parent.st_dev) {
    throw Error(Errc::kBusy, "mount point " + mount.string() + " is already a mount point", EBUSY);
  }
  if (fs::directory_iterator(real, ec) != fs::directory_iterator()) {
    throw_invalid("mount point " + mount.string() +
                  " is not empty: gpuvm-sim mounts only over an empty directory");
  }
  if (ec) throw_errno(ec.value(), "cannot read mount point", mount.string());
}

MountPointLock::MountPointLock(const fs::path& mount)
    : fd_(::open(mount.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
  if (fd_ < 0) throw_errno(errno, "cannot open mount point", mount.string());
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK) {
      throw Error(Errc::kBusy, "another gpuvm-sim is mounting " + mount.string(), EBUSY);
    }
    throw_errno(err, "cannot lock mount point", mount.string());
  }
}

MountPointLock::~MountPointLock() {
  if (fd_ >= 0) ::close(fd_);
}

void serve(const fs::path& mount, const fs::path& state_file,
           const std::function<void()>& on_mounted) {
  FsContext context(fs::absolute(state_file));
  ::clock_gettime(CLOCK_REALTIME, &context.mounted_at);
  context.current();  // fail now, not at the first access, if the state is bad

  std::vector<std::string> argv_s = {"gpuvm-sim", "-o",
                                     "fsname=" + escape_opt(fs::absolute(state_file).string()),
                                     "-o", "subtype=" + std::string(kFuseSubtype)};
  if (::geteuid() == 0) {
    // Let gpuvm running as another user read the tree, as it can read /sys.
    argv_s.insert(argv_s.end(), {"-o", "allow_other"});
  }
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  struct fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  const struct fuse_operations ops = make_ops();
  struct fuse* f = fuse_new(&args, &ops, sizeof ops, &context);
  fuse_opt_free_args(&args);
  if (f == nullptr)
    throw Error(Errc::kIo, "cannot set up the FUSE file system for " + mount.string());
  if (fuse_mount(f, mount.c_str()) != 0) {
    fuse_destroy(f);
    throw Error(Errc::kIo,
                "cannot mount FUSE at " + mount.string() +
                    " (is /dev/fuse there and usable? modprobe fuse; install fuse3)",
                EIO);
  }
  struct fuse_session* se = fuse_get_session(f);
  try {
    on_mounted();
  } catch (...) {
    fuse_unmount(f);
    fuse_destroy(f);
    throw;
  }
  fuse_set_signal_handlers(se);
  fuse_loop(f);  // single-threaded: one request at a time, no locking needed here
  fuse_remove_signal_handlers(se);
  fuse_unmount(f);
  fuse_destroy(f);
}

}  // namespace gpuvm::sim
