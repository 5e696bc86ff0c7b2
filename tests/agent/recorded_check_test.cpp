// The agent's reading of `gpuvm check --record` (<state-dir>/check.json):
// reported when valid, left out (never a refused push) when not.
#include <gtest/gtest.h>

#include <string>

#include "agent/inventory.h"
#include "check/record.h"
#include "server/scheduler/model_json.h"
#include "support/test_support.h"

namespace gpuvm::agent {
namespace {

TEST(RecordedCheck, ReadsAValidRecordAndSkipsBadOnes) {
  test::TempDir dir;
  EXPECT_FALSE(recorded_check(dir.path())) << "never recorded";
  const auto file = check::record_path(dir.path());
  test::write_file(file, R"({"status":"fail","summary":{"ok":0,"warn":0,"fail":1},
    "checked_at_ms":5,"results":[{"id":"iommu.enabled","status":"fail","seen":"no groups",
    "fix":"enable VT-d"}]})");
  auto c = recorded_check(dir.path());
  ASSERT_TRUE(c);
  EXPECT_EQ(c->status, "fail");
  EXPECT_EQ(c->checked_at_ms, 5);
  ASSERT_EQ(c->results.size(), 1u);
  EXPECT_EQ(c->results[0].fix, "enable VT-d");
  // It rides along with the inventory and parses back.
  server::HostInventory inv;
  inv.name = "h";
  inv.check = c;
  const auto back = server::parse_host_inventory(server::to_json(inv));
  ASSERT_TRUE(back.check);
  EXPECT_EQ(back.check->results[0].seen, "no groups");

  test::write_file(file, "{\"status\": \"maybe\"}");
  EXPECT_FALSE(recorded_check(dir.path()));
  test::write_file(file, "not json");
  EXPECT_FALSE(recorded_check(dir.path()));
  test::write_file(file, "{\"status\":\"ok\",\"results\":[],\"pad\":\"" +
                             std::string(check::kMaxRecordBytes, 'x') + "\"}");
  EXPECT_FALSE(recorded_check(dir.path())) << "over the size bound";
}

}  // namespace
}  // namespace gpuvm::agent
