// Selection: lspci -d filters, pci.conf, and pci.rb's PROFILES parsing.
#include "pci/filter.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "pci/output.h"
#include "support/test_support.h"

namespace gpuvm::pci {
namespace {

Device dev(uint16_t v, uint16_t d, uint32_t cls) {
  Device x;
  x.vendor_id = v;
  x.device_id = d;
  x.class_code = cls;
  return x;
}

TEST(IdFilter, LspciSyntax) {
  EXPECT_TRUE(IdFilter::parse("10de:*").matches(dev(0x10de, 0x2330, 0x030200)));
  EXPECT_FALSE(IdFilter::parse("10de:*").matches(dev(0x8086, 0x2330, 0x030200)));
  EXPECT_TRUE(IdFilter::parse("*:*").matches(dev(0x8086, 0x1572, 0x020000)));
  EXPECT_TRUE(IdFilter::parse(":").matches(dev(0x8086, 0x1572, 0x020000)));
  EXPECT_TRUE(IdFilter::parse("*:10d3").matches(dev(0x8086, 0x10d3, 0x020000)));
  EXPECT_TRUE(IdFilter::parse("8086::0c03").matches(dev(0x8086, 0x1e31, 0x0c0330)));
  EXPECT_FALSE(IdFilter::parse("8086::0c03").matches(dev(0x8086, 0x1e31, 0x0c0530)));
  EXPECT_TRUE(IdFilter::parse("10DE:2330:0302").matches(dev(0x10de, 0x2330, 0x030200)));
  // x digits in the class are wildcards; a prog-if field checks the low byte.
  EXPECT_TRUE(IdFilter::parse("::03xx").matches(dev(0x10de, 0x2330, 0x030200)));
  EXPECT_TRUE(IdFilter::parse("::0108:02").matches(dev(0x144d, 0xa80a, 0x010802)));
  EXPECT_FALSE(IdFilter::parse("::0108:01").matches(dev(0x144d, 0xa80a, 0x010802)));
  // pci.conf's default matches nothing real.
  EXPECT_FALSE(IdFilter::parse("0:0").matches(dev(0x10de, 0x2330, 0x030200)));
}

TEST(IdFilter, MalformedIsInvalidArgument) {
  for (const char* bad :
       {"", "10de", "zz:1", "10de:12345", "1:2:3:4:5", "10de:*:0302x:zz", "g:0", "10de 2330"}) {
    try {
      IdFilter::parse(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find("invalid filter"), std::string::npos) << e.what();
    }
  }
}

TEST(IdFilter, CommaLists) {
  auto list = parse_filter_list("10de:*,8086::0c03");
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1].text, "8086::0c03");
  EXPECT_THROW(parse_filter_list("10de:*,"), Error);
  EXPECT_THROW(parse_filter_list(",10de:*"), Error);
}

TEST(NamePattern, CaseInsensitiveUnanchored) {
  Selection sel;
  sel.device_names.push_back(NamePattern::compile("connectx-6 virtual"));
  Device d = dev(0x15b3, 0x101c, 0x020000);
  d.device_name = "MT28908 Family [ConnectX-6 Virtual Function]";
  EXPECT_TRUE(sel.selects(d));
  d.device_name = "MT28908 Family [ConnectX-6]";
  EXPECT_FALSE(sel.selects(d));
  EXPECT_THROW(NamePattern::compile("(unclosed"), Error);
  EXPECT_THROW(NamePattern::compile("[z-a]"), Error);
  // Found by fuzzing pci.conf: std::regex compiles groups recursively, and
  // 40,000 nested groups overflowed the stack. Patterns are bounded in length.
  const std::string deep = std::string(100000, '(') + "a" + std::string(100000, ')');
  try {
    NamePattern::compile(deep);
    ADD_FAILURE() << "accepted 100000 nested groups";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("longer than 1024 characters"), std::string::npos)
        << e.what();
  }
  EXPECT_NO_THROW(NamePattern::compile(std::string(1024, 'a')));
}

class PciConf : public ::testing::Test {
 protected:
  std::filesystem::path write(const std::string& text) {
    auto p = dir_.path() / "pci.conf";
    test::write_file(p, text);
    return p;
  }
  test::TempDir dir_;
};

TEST_F(PciConf, DefaultsAreOpenNebulas) {
  Selection s = load_pci_conf(write("# nothing but a comment\n:other: 1\n"));
  ASSERT_TRUE(s.filters);
  ASSERT_EQ(s.filters->size(), 1u);
  EXPECT_EQ((*s.filters)[0].text, "0:0");
  EXPECT_TRUE(s.short_addresses.empty());
  EXPECT_TRUE(s.device_names.empty());
  EXPECT_TRUE(s.nvidia_vendors.contains("10de"));
}

TEST_F(PciConf, ShippedFileListsNothing) {
  Selection s = load_pci_conf(write(
      ":filter: '0:0'\n:short_address: []\n:device_name: []\n:nvidia_vendors:\n  - '10de'\n"));
  EXPECT_FALSE(s.may_select_ids(0x10de, 0x2330, 0x030200));
}

TEST_F(PciConf, NullFilterIsEverything) {
  Selection s = load_pci_conf(write(":filter: ~\n"));
  EXPECT_FALSE(s.filters);
  EXPECT_TRUE(s.may_select_ids(0x1234, 0x5678, 0));
}

TEST_F(PciConf, ListsAndCommaStringsFlatten) {
  Selection s = load_pci_conf(
      write(":filter:\n  - '10de:*'\n  - '8086::0c03,*:10d3'\n:short_address:\n  - '07:00.0'\n"
            ":device_name:\n  - 'Virtual Function'\n  - '^MegaRAID'\n:nvidia_vendors: ['10de', "
            "'1234']\n"));
  ASSERT_TRUE(s.filters);
  ASSERT_EQ(s.filters->size(), 3u);
  EXPECT_EQ((*s.filters)[2].text, "*:10d3");
  EXPECT_TRUE(s.short_addresses.contains("07:00.0"));
  EXPECT_FALSE(s.short_addresses.contains("06:00.0"));
  EXPECT_EQ(s.device_names.size(), 2u);
  EXPECT_TRUE(s.nvidia_vendors.contains("1234"));
}

TEST_F(PciConf, EmptyFilterStringListsNothing) {
  // Ruby: ''.split(',') is [], so pci.rb runs no lspci at all.
  Selection s = load_pci_conf(write(":filter: ''\n"));
  ASSERT_TRUE(s.filters);
  EXPECT_TRUE(s.filters->empty());
  EXPECT_FALSE(s.may_select_ids(0x10de, 0x2330, 0x030200));
}

TEST_F(PciConf, BadFilesAreInvalidArgument) {
  for (const char* text : {"", "- a\n- b\n", "just a string\n", ":filter: [unclosed\n", "{{{{\n",
                           ":filter: 'zz:zz'\n", ":device_name: ['(']\n", ":filter: {a: b}\n"}) {
    try {
      load_pci_conf(write(text));
      ADD_FAILURE() << "accepted: " << text;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kInvalidArgument) << text;
      EXPECT_NE(std::string(e.what()).find("pci.conf"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(load_pci_conf(dir_.path() / "missing.conf"), Error);
}

// Found by fuzz_pci_conf: YAML aliases made the flattening of a list recurse
// forever (a list that holds itself: stack overflow) or expand
// exponentially (413 bytes became 10^7 filters: 12 s and 520 MB).
TEST_F(PciConf, RecursiveOrExplodingAliasesAreInvalidArgument) {
  std::string laughs = "a0: &a0 ['10de:*', '10de:*', '10de:*', '10de:*', '10de:*']\n";
  for (int i = 1; i < 8; ++i)
    laughs += fmt::format("a{}: &a{} [*a{}, *a{}, *a{}, *a{}, *a{}]\n", i, i, i - 1, i - 1, i - 1,
                          i - 1, i - 1);
  struct Case {
    std::string text, words;
  };
  for (const Case& c : {Case{":filter: &a [*a]\n", ":filter nests lists deeper than 16"},
                        Case{":device_name: &a ['x', [*a]]\n", ":device_name nests lists"},
                        Case{laughs + ":filter: *a7\n", ":filter holds more than 4096 entries"}}) {
    try {
      load_pci_conf(write(c.text));
      ADD_FAILURE() << "accepted: " << c.text;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kInvalidArgument) << c.text;
      EXPECT_NE(std::string(e.what()).find(c.words), std::string::npos) << e.what();
    }
  }
}

TEST(OneProfiles, PciRbParsingRules) {
  EXPECT_EQ(one_nvidia_profiles("ID    : vGPU Name\n1145  : NVIDIA L40S-1B\n1146  : NVIDIA "
                                "L40S-2B\n"),
            (std::vector<std::string>{"1145 (NVIDIA L40S-1B)", "1146 (NVIDIA L40S-2B)"}));
  EXPECT_TRUE(one_nvidia_profiles("ID    : vGPU Name\n").empty());
  EXPECT_TRUE(one_nvidia_profiles(std::nullopt).empty());
  // Lines with an empty id or name are skipped...
  EXPECT_EQ(one_nvidia_profiles(" : x\n7 :\n8 : y\n"), (std::vector<std::string>{"8 (y)"}));
  // ...but a line without ':' (or a last line "id:" with nothing after) makes
  // Ruby raise, and pci.rb's rescue gives no profiles at all.
  EXPECT_TRUE(one_nvidia_profiles("1 : a\n\n2 : b\n").empty());
  EXPECT_TRUE(one_nvidia_profiles("1 : a\n2 :").empty());
  EXPECT_TRUE(one_nvidia_profiles("1 : a\n2 ::").empty());
  // Only the first two ':' fields count.
  EXPECT_EQ(one_nvidia_profiles("3 : a:b\n"), (std::vector<std::string>{"3 (a)"}));
  EXPECT_EQ(one_nvidia_profiles("id : header\n4\t:\tz \n"), (std::vector<std::string>{"4 (z)"}));
}

}  // namespace
}  // namespace gpuvm::pci
