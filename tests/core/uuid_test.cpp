#include "core/uuid.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace gpuvm {
namespace {

// The examples OpenNebula's documentation and issues give for its VF UUIDs
// (reference/opennebula.md §1): UUIDv5, X.500 namespace, of ADDRESS.
TEST(Uuid, V5X500MatchesOpenNebulaExamples) {
  EXPECT_EQ(Uuid::v5_x500("0000:41:00:4").str(), "e4042b96-e63d-56cf-bcc8-4e6eecccc12e");
  EXPECT_EQ(Uuid::v5_x500("0000:41:00:7").str(), "f827da44-cb60-53b0-bca4-a487fea6db4d");
  EXPECT_EQ(Uuid::v5_x500("0000:a1:04:3").str(), "c3fcdd0a-cad3-5254-b4e8-6f6d4bb6cae9");
}

TEST(Uuid, ParseRoundTrips) {
  Uuid u = Uuid::parse("E4042B96-E63D-56CF-BCC8-4E6EECCCC12E");
  EXPECT_EQ(u.str(), "e4042b96-e63d-56cf-bcc8-4e6eecccc12e");
  EXPECT_FALSE(u.is_nil());
  EXPECT_TRUE(Uuid().is_nil());
  EXPECT_NE(Uuid::random(), Uuid::random());
}

TEST(Uuid, RejectsMalformed) {
  for (const char* bad : {"", "e4042b96", "e4042b96-e63d-56cf-bcc8-4e6eecccc12", "../etc/passwd",
                          "e4042b96-e63d-56cf-bcc8-4e6eecccc12g"}) {
    EXPECT_FALSE(Uuid::try_parse(bad).has_value()) << bad;
  }
  EXPECT_THROW(Uuid::parse("nope"), Error);
}

}  // namespace
}  // namespace gpuvm
