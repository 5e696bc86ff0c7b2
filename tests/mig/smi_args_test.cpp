// The `gpuvm mig` argument parser (nvidia-smi's single-dash multi-letter
// options) and the mig-parted config reader.
#include "mig/smi_args.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "mig/config.h"
#include "tables.h"

namespace {

using namespace gpuvm::mig;

std::optional<std::string> no_env(const char*) {
  return std::nullopt;
}

SmiArgs parse(std::vector<std::string> a) {
  return parse_smi_args(a, no_env);
}

std::string parse_error(std::vector<std::string> a) {
  try {
    parse(a);
  } catch (const gpuvm::Error& e) {
    EXPECT_EQ(e.code(), gpuvm::Errc::kInvalidArgument);
    return e.what();
  }
  return "";
}

TEST(MigArgs, NvidiaSmiForms) {
  SmiArgs a = parse({"-i", "0,1", "-cgi", "19,MIG 1g.10gb, 9", "-C"});
  EXPECT_EQ(a.verb, SmiVerb::kCreateGis);
  EXPECT_EQ(a.gpus, (std::vector<std::string>{"0", "1"}));
  EXPECT_EQ(a.profiles, (std::vector<std::string>{"19", "MIG 1g.10gb", "9"}));
  EXPECT_TRUE(a.default_ci);
  a = parse({"-dci", "-ci", "0,1", "-gi", "3"});
  EXPECT_EQ(a.verb, SmiVerb::kDestroyCis);
  EXPECT_EQ(*a.ci_ids, (std::vector<unsigned>{0, 1}));
  EXPECT_EQ(*a.gi_ids, (std::vector<unsigned>{3}));
  a = parse({"-cci", "-gi", "1"});  // no list: the default CI profile
  EXPECT_TRUE(a.profiles.empty());
  EXPECT_EQ(*a.gi_ids, (std::vector<unsigned>{1}));
  a = parse({"-cci", "0,0", "-gi", "1"});
  EXPECT_EQ(a.profiles, (std::vector<std::string>{"0", "0"}));
  a = parse({"--list-gpu-instance-profiles", "--format=json", "--id", "GPU-x"});
  EXPECT_EQ(a.verb, SmiVerb::kListGiProfiles);
  EXPECT_TRUE(a.json);
  EXPECT_EQ(a.gpus, (std::vector<std::string>{"GPU-x"}));
  EXPECT_EQ(parse({"-lgipp"}).verb, SmiVerb::kListGiPlacements);
  EXPECT_EQ(parse({"--help"}).verb, SmiVerb::kHelp);
  a = parse({"apply", "-f", "c.yaml", "-c", "all-1g.10gb", "--dry-run", "--state-dir", "/tmp/s"});
  EXPECT_EQ(a.verb, SmiVerb::kApply);
  EXPECT_EQ(a.config_file, "c.yaml");
  EXPECT_EQ(a.selected_config, "all-1g.10gb");
  EXPECT_TRUE(a.dry_run);
  EXPECT_EQ(a.state_dir, "/tmp/s");
}

TEST(MigArgs, EnvironmentFillsWhatTheCommandLineLeaves) {
  auto env = [](const char* n) -> std::optional<std::string> {
    std::string k = n;
    if (k == "MIG_PARTED_CONFIG_FILE") return "/etc/mig.yaml";
    if (k == "MIG_PARTED_SELECTED_CONFIG") return "balanced";
    if (k == "GPUVM_NVML_LIB") return "/x/libnvidia-ml.so.1";
    return std::nullopt;
  };
  SmiArgs a = parse_smi_args({"assert"}, env);
  EXPECT_EQ(a.config_file, "/etc/mig.yaml");
  EXPECT_EQ(a.selected_config, "balanced");
  EXPECT_EQ(a.nvml_lib, "/x/libnvidia-ml.so.1");
  EXPECT_EQ(parse_smi_args({"--nvml-lib", "/y", "-lgi"}, env).nvml_lib, "/y");
}

TEST(MigArgs, Errors) {
  EXPECT_NE(parse_error({}).find("no verb"), std::string::npos);
  EXPECT_NE(parse_error({"-lgipx"}).find("unknown argument '-lgipx'"), std::string::npos);
  EXPECT_NE(parse_error({"-cgi"}).find("-cgi needs"), std::string::npos);
  EXPECT_NE(parse_error({"-lgi", "-lgip"}).find("only one verb"), std::string::npos);
  EXPECT_NE(parse_error({"-lgi", "-C"}).find("-C goes with -cgi"), std::string::npos);
  EXPECT_NE(parse_error({"-dgi", "-gi", "1,x"}).find("-gi takes"), std::string::npos);
  EXPECT_NE(parse_error({"-cgi", "19,,9"}).find("empty item"), std::string::npos);
  EXPECT_NE(parse_error({"apply"}).find("apply needs -f FILE"), std::string::npos);
  EXPECT_NE(parse_error({"-lgi", "--format", "xml"}).find("--format takes"), std::string::npos);
}

TEST(MigConfig, ReadsMigPartedFilesUnchanged) {
  MigPartedConfig c = parse_mig_parted(
      "version: v1\n"
      "mig-configs:\n"
      "  all-disabled:\n"
      "    - devices: all\n"
      "      mig-enabled: false\n"
      "  custom:\n"
      "    - device-filter: [\"0x233010DE\", \"0x20B010DE:0x134F10DE\"]\n"
      "      devices: [0, 1]\n"
      "      mig-enabled: true\n"
      "      mig-devices:\n"
      "        \"1g.10gb\": 2\n"
      "        \"1c.3g.40gb\": 3\n"
      "    - devices: all\n"
      "      mig-enabled: true\n"
      "      mig-devices: {}\n",
      "c.yaml");
  ASSERT_EQ(c.configs.size(), 2u);
  const auto& e = select_config(c, "custom", "c.yaml");
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].devices, (std::vector<unsigned>{0, 1}));
  EXPECT_EQ(e[0].device_filter.size(), 2u);
  EXPECT_TRUE(e[1].all_devices);
  EXPECT_TRUE(device_filter_matches(e[0].device_filter, 0x233010DE, 0));
  EXPECT_FALSE(device_filter_matches(e[0].device_filter, 0x20B010DE, 0x12345678));
  EXPECT_TRUE(device_filter_matches(e[0].device_filter, 0x20B010DE, 0x134F10DE));
  EXPECT_TRUE(device_filter_matches({}, 1, 2));
  // mig-devices: whole GIs, and 1c CIs packed three to a 3g GI.
  ProfileTable h100 = test::h100_80gb();
  std::vector<GiSpec> s = specs_for(h100, e[0].mig_devices, "GPU 0");
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0], (GiSpec{19, {1}}));
  EXPECT_EQ(s[1], (GiSpec{19, {1}}));
  EXPECT_EQ(s[2], (GiSpec{9, {1, 1, 1}}));
  auto counts = device_counts(h100, e[0].mig_devices);
  EXPECT_EQ(counts["1c.3g.40gb"], 3u);
  EXPECT_EQ(counts["1g.10gb"], 2u);
  // One config: -c may be left out; two: it may not.
  EXPECT_THROW(select_config(c, "", "c.yaml"), gpuvm::Error);
}

TEST(MigConfig, ClearErrors) {
  auto err = [](const std::string& text) {
    try {
      parse_mig_parted(text, "c.yaml");
    } catch (const gpuvm::Error& e) {
      EXPECT_EQ(e.code(), gpuvm::Errc::kInvalidArgument);
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(err("version: v1\nmig-configs: [\n").find("c.yaml: not a YAML file"),
            std::string::npos);
  EXPECT_NE(err("- a\n- b\n").find("not a mig-parted config"), std::string::npos);
  EXPECT_NE(err("version: v2\nmig-configs: {}\n").find("unsupported version 'v2'"),
            std::string::npos);
  EXPECT_NE(err("mig-configs:\n  x:\n    - devices: all\n      mig-enabled: false\n")
                .find("no 'version'"),
            std::string::npos);
  EXPECT_NE(err("version: v1\nmig-configs:\n  x:\n    - devices: all\n      mig-enabled: false\n"
                "      colour: red\n")
                .find("c.yaml:6:7: unknown field 'colour'"),
            std::string::npos);
  EXPECT_NE(err("version: v1\nmig-configs:\n  x:\n    - mig-enabled: false\n").find("no 'devices'"),
            std::string::npos);
  EXPECT_NE(err("version: v1\nmig-configs:\n  x:\n    - devices: all\n      mig-enabled: true\n")
                .find("no 'mig-devices'"),
            std::string::npos);
  EXPECT_NE(err("version: v1\nmig-configs:\n  x:\n    - devices: all\n      mig-enabled: true\n"
                "      mig-devices: {\"1g.10gb\": 0}\n")
                .find("all counts in mig-devices are 0"),
            std::string::npos);
  EXPECT_NE(err("version: v1\nmig-configs:\n  x:\n    - devices: all\n      mig-enabled: false\n"
                "      mig-devices: {\"1g.10gb\": 1}\n")
                .find("must be empty when mig-enabled is false"),
            std::string::npos);
  EXPECT_NE(err("version: v1\nmig-configs:\n  x:\n    - devices: all\n      mig-enabled: maybe\n")
                .find("true or false"),
            std::string::npos);
  // YAML allows any node as a key: each was a yaml-cpp exception ("internal
  // error", exit 1) before keys went through yaml::key().
  const std::string head = "version: v1\nmig-configs:\n";
  EXPECT_NE(err("[version]: v1\n").find("c.yaml:1:1: a key in the file is a list"),
            std::string::npos);
  EXPECT_NE(err(head + "  {a: b}:\n    - devices: all\n      mig-enabled: false\n")
                .find("c.yaml:3:3: a key in mig-configs is a mapping"),
            std::string::npos);
  EXPECT_NE(err(head + "  x:\n    - devices: all\n      ~: false\n")
                .find("c.yaml:5:7: a key in config 'x' is null"),
            std::string::npos);
  EXPECT_NE(err(head + "  x:\n    - devices: all\n      mig-enabled: true\n"
                       "      mig-devices: {[1g.10gb]: 1}\n")
                .find("c.yaml:6:21: a key in mig-devices of config 'x' is a list"),
            std::string::npos);
  // Counts are bounded by what one GPU holds (7 MIG devices), before anything
  // is allocated for them: 4000000000 used to allocate until out of memory.
  EXPECT_NE(err(head + "  x:\n    - devices: all\n      mig-enabled: true\n"
                       "      mig-devices: {\"1g.10gb\": 4000000000}\n")
                .find("c.yaml:6:32: the count of 1g.10gb is 4000000000; a GPU holds at most 7 "
                      "MIG devices"),
            std::string::npos);
  EXPECT_NE(err(head + "  x:\n    - devices: all\n      mig-enabled: true\n"
                       "      mig-devices: {\"1g.10gb\": 4, \"1c.3g.40gb\": 4}\n")
                .find("c.yaml:6:20: config 'x' asks for 8 MIG devices; a GPU holds at most 7"),
            std::string::npos);
  ProfileTable h100 = test::h100_80gb();
  try {
    specs_for(h100, {{"1g.5gb", 1}}, "GPU 0 (00000000:00:06.0)");
    FAIL();
  } catch (const gpuvm::Error& e) {
    EXPECT_NE(
        std::string(e.what()).find("unknown MIG profile '1g.5gb' for GPU 0 (00000000:00:06.0) "
                                   "(it has: 1g.10gb, 1g.10gb+me, 1g.20gb, 2g.20gb, 3g.40gb, "
                                   "4g.40gb, 7g.80gb)"),
        std::string::npos)
        << e.what();
  }
}

}  // namespace
