#include "vgpu/type_name.h"

#include <gtest/gtest.h>

namespace gpuvm::vgpu {
namespace {

TEST(TypeName, ShortNameIsTheLastToken) {
  EXPECT_EQ(short_type_name("NVIDIA A100-4C"), "A100-4C");
  EXPECT_EQ(short_type_name("GRID A100-1-5C\n"), "A100-1-5C");
  EXPECT_EQ(short_type_name("NVIDIA RTX Pro 6000 Blackwell DC-48C"), "DC-48C");
  EXPECT_EQ(short_type_name("H100XM-10C"), "H100XM-10C");
}

TEST(TypeName, MigBackedTypesNameTheirGpuInstanceProfile) {
  struct Case {
    const char* name;
    const char* profile;
  } cases[] = {{"H100XM-1-10C", "1g.10gb"},    {"A100-1-5CME", "1g.5gb+me"},
               {"H200X-7-141C", "7g.141gb"},   {"A100-2-10CNOME", "2g.10gb-me"},
               {"DC-1-24QGFX", "1g.24gb+gfx"}, {"H100XM-1-10CMEALL", "1g.10gb+me.all"}};
  for (const auto& c : cases) {
    auto t = parse_type_name(c.name);
    ASSERT_TRUE(t) << c.name;
    EXPECT_TRUE(t->mig_backed()) << c.name;
    EXPECT_EQ(t->gi_profile(), c.profile) << c.name;
  }
}

TEST(TypeName, TimeSlicedTypes) {
  for (const char* n : {"A100-40C", "RTX6000-Ada-2Q", "M60-0Q", "H100XM-80C", "A10-1B"}) {
    auto t = parse_type_name(n);
    ASSERT_TRUE(t) << n;
    EXPECT_FALSE(t->mig_backed()) << n;
    EXPECT_EQ(t->gi_profile(), "") << n;
  }
  EXPECT_EQ(parse_type_name("RTX6000-Ada-2Q")->board, "RTX6000-Ada");
}

TEST(TypeName, OtherTextIsNotAType) {
  for (const char* n : {"", "nvidia-474", "1414", "A100", "A100-4X", "a100-4c", "A100-0-5C",
                        "A100-1-99999999999999999999C", "../A100-4C"}) {
    EXPECT_FALSE(parse_type_name(n)) << n;
  }
}

}  // namespace
}  // namespace gpuvm::vgpu
