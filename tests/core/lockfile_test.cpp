#include "core/lockfile.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "support/test_support.h"

namespace gpuvm {
namespace {

using namespace std::chrono_literals;

TEST(LockFile, SecondHolderTimesOutWithBusy) {
  test::TempDir dir;
  auto path = dir.path() / "state/lock";
  LockFile first(path, 0ms);
  struct stat st {};
  ASSERT_EQ(stat((dir.path() / "state").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  try {
    LockFile second(path, 50ms);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kBusy);
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos);
  }
}

// The waiter's error names the holder, so that an operator knows what to wait
// for (or kill): the holder writes its pid into the lock file.
TEST(LockFile, TimeoutNamesTheHolderPid) {
  test::TempDir dir;
  auto path = dir.path() / "host.lock";
  LockFile first(path, 0ms);
  EXPECT_EQ(test::read_file(path), std::to_string(::getpid()) + "\n");
  try {
    LockFile second(path, 30ms);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("held by pid " + std::to_string(::getpid())),
              std::string::npos)
        << e.what();
  }
}

// A planted symlink is not followed (the pid write would land elsewhere).
TEST(LockFile, RefusesASymlink) {
  test::TempDir dir;
  test::write_file(dir.path() / "target", "keep\n");
  std::filesystem::create_symlink(dir.path() / "target", dir.path() / "host.lock");
  EXPECT_THROW(LockFile(dir.path() / "host.lock", 0ms), Error);
  EXPECT_EQ(test::read_file(dir.path() / "target"), "keep\n");
}

TEST(LockFile, ReleasedOnDestruction) {
  test::TempDir dir;
  auto path = dir.path() / "lock";
  { LockFile first(path, 0ms); }
  EXPECT_NO_THROW(LockFile(path, 0ms));
}

}  // namespace
}  // namespace gpuvm
