#include "core/lockfile.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "core/error.h"
#include "support/test_support.h"

namespace gpuvm {
namespace {

using namespace std::chrono_literals;

TEST(LockFile, SecondHolderTimesOutWithBusy) {
  test::TempDir dir;
  auto path = dir.path() / "state/lock";
  LockFile first(path, 0ms);
  struct stat st{};
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

TEST(LockFile, ReleasedOnDestruction) {
  test::TempDir dir;
  auto path = dir.path() / "lock";
  { LockFile first(path, 0ms); }
  EXPECT_NO_THROW(LockFile(path, 0ms));
}

}  // namespace
}  // namespace gpuvm
