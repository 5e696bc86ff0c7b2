// read_file_checked and the state directory (ensure_private_dir,
// atomic_write_file): each attack of the issue, refused, the target unchanged.
#include "core/files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <functional>

#include "core/error.h"
#include "core/lockfile.h"
#include "support/test_support.h"

namespace gpuvm {
namespace {

namespace fs = std::filesystem;

// The Error's code, and its message checked to name `path`.
Errc refusal(const std::function<void()>& f, const fs::path& path) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
    return e.code();
  }
  ADD_FAILURE() << path << " was not refused";
  return Errc::kInternal;
}

TEST(ReadFileChecked, ReadsARegularFileOfTheOwner) {
  test::TempDir dir;
  test::write_file(dir.path() / "vm.xml", "<VM/>\n");
  EXPECT_EQ(read_file_checked(dir.path() / "vm.xml", "the VM XML", {64, ::geteuid()}), "<VM/>\n");
}

TEST(ReadFileChecked, RefusesSymlinkFifoDeviceDirectoryAndHugeFiles) {
  test::TempDir dir;
  const fs::path link = dir.path() / "zero.xml", fifo = dir.path() / "fifo.xml",
                 big = dir.path() / "big.xml";
  fs::create_symlink("/dev/zero", link);       // read until memory ran out
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);  // hung forever
  test::write_file(big, std::string(65, 'x'));
  const ReadChecks checks{64, std::nullopt};
  for (const fs::path& p : {link, fifo, fs::path("/dev/zero"), dir.path(), big}) {
    SCOPED_TRACE(p.string());
    EXPECT_EQ(refusal([&] { read_file_checked(p, "the VM XML", checks); }, p),
              Errc::kInvalidArgument);
  }
}

TEST(ReadFileChecked, RefusesAFileOfAnotherUser) {
  test::TempDir dir;
  const fs::path p = dir.path() / "vm.xml";
  test::write_file(p, "<VM/>");
  EXPECT_EQ(refusal(
                [&] {
                  read_file_checked(p, "the VM XML", {64, ::geteuid() + 1});
                },
                p),
            Errc::kInvalidArgument);
}

TEST(ReadFileChecked, AMissingFileIsNotFound) {
  test::TempDir dir;
  EXPECT_EQ(refusal([&] { read_file_checked(dir.path() / "no", "x", {}); }, dir.path() / "no"),
            Errc::kNotFound);
}

TEST(StateDir, CreatedPrivateAndCheckedBeforeUse) {
  test::TempDir dir;
  const fs::path state = dir.path() / "a/b/state";
  ensure_private_dir(state);
  struct stat st {};
  ASSERT_EQ(::stat(state.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ensure_private_dir(state);  // an existing good one is fine
  ASSERT_EQ(::chmod(state.c_str(), 0755), 0);
  ensure_private_dir(state);  // readable by others, writable only by us: fine

  for (mode_t bad : {0777, 0770, 0702, 01777}) {
    SCOPED_TRACE(bad);
    ASSERT_EQ(::chmod(state.c_str(), bad), 0);
    EXPECT_EQ(refusal([&] { ensure_private_dir(state); }, state), Errc::kInvalidArgument);
    EXPECT_EQ(refusal([&] { atomic_write_file(state / "node.journal", "{}"); }, state),
              Errc::kInvalidArgument);
    EXPECT_FALSE(fs::exists(state / "node.journal"));
  }
  ASSERT_EQ(::chmod(state.c_str(), 0700), 0);
  // A symlink to a good directory is not the state directory.
  fs::create_symlink(state, dir.path() / "link");
  EXPECT_EQ(refusal([&] { ensure_private_dir(dir.path() / "link"); }, dir.path() / "link"),
            Errc::kInvalidArgument);
}

TEST(StateDir, RefusesADirectoryOfAnotherUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown (CI runs as root)";
  test::TempDir dir;
  const fs::path state = dir.path() / "state";
  ensure_private_dir(state);
  ASSERT_EQ(::chown(state.c_str(), 65534, 65534), 0);
  EXPECT_EQ(refusal([&] { ensure_private_dir(state); }, state), Errc::kInvalidArgument);
}

TEST(AtomicWriteFile, WritesReplacesAndLeavesNoTemporary) {
  test::TempDir dir;
  const fs::path p = dir.path() / "state/node.journal";
  atomic_write_file(p, "one\n");
  atomic_write_file(p, "two\n");
  EXPECT_EQ(test::read_file(p), "two\n");
  EXPECT_FALSE(fs::exists(p.string() + ".tmp"));
  struct stat st {};
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

// The attack: a planted node.journal.tmp symlink made root overwrite
// a root-only file. The link is removed, never followed.
TEST(AtomicWriteFile, APlantedTemporarySymlinkIsNotFollowed) {
  test::TempDir dir;
  const fs::path state = dir.path() / "state";
  ensure_private_dir(state);
  const fs::path target = dir.path() / "shadow";
  test::write_file(target, "root:secret\n");
  ::chmod(target.c_str(), 0600);
  fs::create_symlink(target, state / "node.journal.tmp");
  atomic_write_file(state / "node.journal", "{\"steps\": []}\n");
  EXPECT_EQ(test::read_file(target), "root:secret\n");
  EXPECT_EQ(test::read_file(state / "node.journal"), "{\"steps\": []}\n");
  EXPECT_FALSE(fs::is_symlink(state / "node.journal"));
  // A dangling one (create a file where it points) neither.
  fs::create_symlink(dir.path() / "created-by-root", state / "node.journal.tmp");
  atomic_write_file(state / "node.journal", "{}\n");
  EXPECT_FALSE(fs::exists(dir.path() / "created-by-root"));
}

TEST(AtomicWriteFile, ASymlinkAtTheNameIsReplacedNotFollowed) {
  test::TempDir dir;
  const fs::path state = dir.path() / "state";
  ensure_private_dir(state);
  const fs::path target = dir.path() / "shadow";
  test::write_file(target, "root:secret\n");
  fs::create_symlink(target, state / "types.json");
  atomic_write_file(state / "types.json", "{}\n");
  EXPECT_EQ(test::read_file(target), "root:secret\n");
  EXPECT_FALSE(fs::is_symlink(state / "types.json"));
}

// Every state-changing command takes the host lock first: a state directory
// another user can write is refused there, before anything else.
TEST(StateDir, TheHostLockChecksTheDirectory) {
  test::TempDir dir;
  const fs::path state = dir.path() / "state";
  ensure_private_dir(state);
  ASSERT_EQ(::chmod(state.c_str(), 0777), 0);
  EXPECT_EQ(refusal([&] { LockFile(state / "host.lock", std::chrono::milliseconds(0)); }, state),
            Errc::kInvalidArgument);
  EXPECT_FALSE(fs::exists(state / "host.lock"));
}

}  // namespace
}  // namespace gpuvm
