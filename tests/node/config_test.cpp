#include "node/config.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace gpuvm::node {
namespace {

std::string error_of(const std::string& yaml) {
  try {
    parse_node_spec(yaml, "node.yaml");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kInvalidArgument) << e.what();
    return e.what();
  }
  return "";
}

TEST(NodeSpec, ParsesGpusVfsAndVgpus) {
  const NodeSpec s = parse_node_spec(R"(version: v1
gpus:
  - address: "0000:41:00.0"
    sriov: true
    vgpus:
      - {type: H100XM-10C, count: 7}
      - {type: A100-20C, vf: "0000:41:00.5", uuid: "11111111-2222-4333-8444-555555555555"}
  - address: "42:00.0"
    sriov: 4
  - address: "0000:43:00.0"
    sriov: false
)",
                                     "node.yaml");
  ASSERT_EQ(s.gpus.size(), 3u);
  EXPECT_EQ(s.gpus[0].vfs, -1);
  ASSERT_EQ(s.gpus[0].vgpus.size(), 2u);
  EXPECT_EQ(s.gpus[0].vgpus[0].count, 7);
  EXPECT_EQ(s.gpus[0].vgpus[1].vf->str(), "0000:41:00.5");
  EXPECT_EQ(s.gpus[0].vgpus[1].uuid->str(), "11111111-2222-4333-8444-555555555555");
  EXPECT_EQ(s.gpus[1].address.str(), "0000:42:00.0");
  EXPECT_EQ(s.gpus[1].vfs, 4);
  EXPECT_EQ(s.gpus[2].vfs, 0);
}

TEST(NodeSpec, UnknownKeysAreRejectedNamingTheKeyAndWhere) {
  std::string e = error_of("version: v1\ngpus:\n  - address: \"0000:41:00.0\"\n    srio: true\n");
  EXPECT_NE(e.find("node.yaml:4:5: unknown key 'srio' in gpus[0]"), std::string::npos) << e;
  e = error_of("version: v1\nmig: {}\n");
  EXPECT_NE(e.find("unknown key 'mig' in the file"), std::string::npos) << e;
  e = error_of(
      "version: v1\ngpus:\n  - address: \"0000:41:00.0\"\n    vgpus:\n      - {type: X, cnt: 2}\n");
  EXPECT_NE(e.find("unknown key 'cnt' in gpus[0].vgpus[0]"), std::string::npos) << e;
}

// YAML allows any node as a key; each was an unhandled yaml-cpp exception
// ("internal error", exit 1) before keys went through yaml::key().
TEST(NodeSpec, NonScalarKeysAreBadInputWithTheirPosition) {
  struct Case {
    const char* yaml;
    const char* where;
  };
  for (const Case& c : {
           Case{"[a]: 1\n", "node.yaml:1:1: a key in the file is a list"},
           Case{"version: v1\n{x: y}: 1\n", "node.yaml:2:1: a key in the file is a mapping"},
           Case{"version: v1\n~: 1\n", "node.yaml:2:1: a key in the file is null"},
           Case{"version: v1\ngpus:\n  - address: \"41:00.0\"\n    ? [a]\n    : 1\n",
                "node.yaml:4:7: a key in gpus[0] is a list"},
           Case{"version: v1\ngpus:\n  - {address: \"41:00.0\", mig: {[e]: true}}\n",
                "node.yaml:3:32: a key in gpus[0].mig is a list"},
           Case{"version: v1\ngpus:\n  - {address: \"41:00.0\", mig: {enabled: true, devices: "
                "{[p]: 1}}}\n",
                "node.yaml:3:57: a key in gpus[0].mig.devices is a list"},
           Case{"version: v1\ngpus:\n  - {address: \"41:00.0\", vgpus: [{{t: 1}: 2}]}\n",
                "node.yaml:3:35: a key in gpus[0].vgpus[0] is a mapping"},
       }) {
    EXPECT_NE(error_of(c.yaml).find(c.where), std::string::npos)
        << c.yaml << "-> " << error_of(c.yaml);
  }
}

TEST(NodeSpec, BadValuesAreRejected) {
  for (const char* y : {
           "gpus: []\n",                                        // no version
           "version: v2\n",                                     // unknown version
           "version: v1\ngpus:\n  - address: \"../../etc\"\n",  // not an address
           "version: v1\ngpus:\n  - {address: \"41:00.0\"}\n  - {address: \"0000:41:00.0\"}\n",
           "version: v1\ngpus:\n  - {address: \"41:00.0\", sriov: -3}\n",
           "version: v1\ngpus:\n  - {address: \"41:00.0\", sriov: lots}\n",
           "version: v1\ngpus:\n  - {address: \"41:00.0\", vgpus: [{type: \"../x\"}]}\n",
           "version: v1\ngpus:\n  - {address: \"41:00.0\", vgpus: [{count: 2}]}\n",
           "version: v1\ngpus:\n  - {address: \"41:00.0\", vgpus: [{type: T, count: 0}]}\n",
           "version: v1\ngpus:\n  - {address: \"41:00.0\", vgpus: [{type: T, vf: \"41:00.4\", "
           "count: 2}]}\n",
           "version: v1\ngpus:\n  - {address: \"41:00.0\", vgpus: [{type: T, uuid: "
           "\"11111111-2222-4333-8444-555555555555\"}]}\n",
           "version: v1\ngpus:\n  - {address: \"41:00.0\", vgpus: [{type: T, vf: \"41:00.4\", "
           "uuid: nope}]}\n",
           "version: v1\ngpus: {a: b}\n",
           "version: [v1\n",
       }) {
    EXPECT_NE(error_of(y), "") << y;
  }
}

}  // namespace
}  // namespace gpuvm::node
