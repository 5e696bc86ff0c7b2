#include "cli/command.h"

#include <gtest/gtest.h>

#include "support/test_support.h"

namespace gpuvm::cli {
namespace {

TEST(Command, DidYouMean) {
  std::vector<std::string_view> names = {"probe", "mig", "sriov", "vgpu", "node"};
  EXPECT_EQ(did_you_mean("prbe", names), "probe");
  EXPECT_EQ(did_you_mean("vpgu", names), "vgpu");
  EXPECT_EQ(did_you_mean("xyzzyplugh", names), "");
}

TEST(GpuvmBinary, UnknownCommandSuggestsAndExits2) {
  auto r = test::run({test::bin("gpuvm").string(), "prob"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("did you mean 'probe'"), std::string::npos) << r.err;
}

TEST(GpuvmBinary, HelpListsCommands) {
  auto r = test::run({test::bin("gpuvm").string(), "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("probe"), std::string::npos);
  auto none = test::run({test::bin("gpuvm").string()});
  EXPECT_EQ(none.exit_code, 2);
}

TEST(GpuvmBinary, BadOptionExits2) {
  auto r = test::run({test::bin("gpuvm").string(), "probe", "--no-such-option"});
  EXPECT_EQ(r.exit_code, 2);
}

}  // namespace
}  // namespace gpuvm::cli
