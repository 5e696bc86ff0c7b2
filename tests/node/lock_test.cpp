#include "node/lock.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "support/test_support.h"

namespace gpuvm::node {
namespace {

TEST(HostLock, SecondHolderTimesOutNamingTheFile) {
  test::TempDir dir;
  LockFile first = lock_host(dir.path() / "state");
  try {
    // flock locks belong to the open file description: a second open in the
    // same process conflicts like another process would.
    LockFile second = lock_host(dir.path() / "state", std::chrono::milliseconds(50));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kBusy);
    EXPECT_NE(std::string(e.what()).find("host.lock"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace gpuvm::node
