#include "core/bdf.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace gpuvm {
namespace {

TEST(Bdf, ParsesKernelForm) {
  Bdf b = Bdf::parse("0000:41:00.4");
  EXPECT_EQ(b.domain, 0u);
  EXPECT_EQ(b.bus, 0x41);
  EXPECT_EQ(b.device, 0);
  EXPECT_EQ(b.function, 4);
  EXPECT_EQ(b.str(), "0000:41:00.4");
  EXPECT_EQ(b.short_str(), "41:00.4");
  EXPECT_EQ(b.one_address(), "0000:41:00:4");
  EXPECT_EQ(b.nvml_bus_id(), "00000000:41:00.4");
}

TEST(Bdf, ParsesShortAndNvmlForms) {
  EXPECT_EQ(Bdf::parse("a1:1f.7").str(), "0000:a1:1f.7");
  EXPECT_EQ(Bdf::parse("00000000:00:06.0").str(), "0000:00:06.0");
  EXPECT_EQ(Bdf::parse("0001:C1:00.0").str(), "0001:c1:00.0");
}

TEST(Bdf, RejectsMalformed) {
  for (const char* bad : {"", "0000:41:00", "41:00", "0000:41:20.0", "0000:41:00.8", "zz:00.0",
                          "0000:041:00.0", "00000:41:00.0", ":41:00.0", "0000:41:00.0x",
                          "../00.0", "0000:41.00:0"}) {
    EXPECT_FALSE(Bdf::try_parse(bad).has_value()) << bad;
  }
  try {
    Bdf::parse("0000:41:00");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("'0000:41:00'"), std::string::npos);
  }
}

TEST(Bdf, OrdersByAddress) {
  EXPECT_LT(Bdf::parse("0000:01:00.0"), Bdf::parse("0000:01:00.1"));
  EXPECT_LT(Bdf::parse("0000:01:1f.7"), Bdf::parse("0000:02:00.0"));
  EXPECT_LT(Bdf::parse("0000:ff:00.0"), Bdf::parse("0001:00:00.0"));
}

}  // namespace
}  // namespace gpuvm
