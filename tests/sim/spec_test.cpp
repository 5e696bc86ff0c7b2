#include "sim/spec.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "support/test_support.h"

namespace gpuvm::sim {
namespace {

// The message of the kInvalidArgument error `yaml` gives, or "" when it parses.
std::string spec_error(const std::string& yaml) {
  try {
    parse_spec(yaml, "host.yaml");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kInvalidArgument) << e.what();
    return e.what();
  }
  return "";
}

TEST(SimSpec, ParsesGpusDevicesAndFaults) {
  HostState s = parse_spec(R"(
driver_version: "580.95.05"
gpus:
  - address: "0000:41:00.0"
    model: H100-SXM5-80GB
    numa_node: 1
    vgpu_mode: vendor-specific
    mig_mode: enabled
  - address: "0000:81:00.0"
    model: T4-16GB
    vgpu_mode: legacy
    driver_version: "535.230.02"
devices:
  - address: "0000:c1:00.0"
    type: nic
    sriov_totalvfs: 8
  - address: "0000:c2:00.0"
    vendor: 0x8086
    device: 0x0b60
    class: 0x010802
    driver: nvme
faults:
  - call: nvmlDeviceCreateGpuInstance
    gpu: "0000:41:00.0"
    nvml_return: NVML_ERROR_INSUFFICIENT_RESOURCES
    count: 2
  - call: sysfs:current_vgpu_type
    errno: EIO
  - call: nvmlDeviceGetCount_v2
    delay_ms: 250
)",
                           "host.yaml");
  ASSERT_EQ(s.gpus.size(), 2u);
  const GpuState& h = s.gpus[0];
  EXPECT_EQ(h.bdf.str(), "0000:41:00.0");
  EXPECT_EQ(h.numa_node, 1);
  EXPECT_EQ(h.driver_version, "580.95.05");
  EXPECT_EQ(h.vgpu_mode, VgpuMode::kVendorSpecific);
  EXPECT_EQ(h.sriov_totalvfs, 32u);
  EXPECT_EQ(h.sriov_numvfs(), 0u);
  EXPECT_TRUE(h.mig.current);
  EXPECT_TRUE(h.mig.pending);
  EXPECT_TRUE(h.uuid.starts_with("GPU-"));
  const GpuState& t = s.gpus[1];
  EXPECT_EQ(t.sriov_totalvfs, 0u);
  EXPECT_EQ(t.driver_version, "535.230.02");
  EXPECT_FALSE(t.mig.current);
  ASSERT_EQ(s.devices.size(), 2u);
  EXPECT_EQ(s.devices[0].vendor, 0x15b3);
  EXPECT_EQ(s.devices[0].driver, "mlx5_core");
  EXPECT_EQ(s.devices[0].sriov_totalvfs, 8u);
  EXPECT_EQ(s.devices[1].class_code, 0x010802u);
  ASSERT_EQ(s.faults.size(), 3u);
  EXPECT_EQ(s.faults[0].nvml_return, 23);
  EXPECT_EQ(s.faults[0].count, 2);
  EXPECT_EQ(s.faults[1].err_no, EIO);
  EXPECT_EQ(s.faults[2].delay_ms, 250u);
  // Distinct IOMMU groups per function.
  EXPECT_NE(s.gpus[0].iommu_group, s.gpus[1].iommu_group);
  // The same spec gives the same GPU UUIDs.
  EXPECT_EQ(
      parse_spec("gpus: [{address: '0000:41:00.0', model: H100-SXM5-80GB}]", "x").gpus[0].uuid,
      h.uuid);
}

TEST(SimSpec, UnknownKeyIsNamedWithItsLine) {
  std::string err = spec_error(
      "gpus:\n"
      "  - address: \"0000:41:00.0\"\n"
      "    model: H100-SXM5-80GB\n"
      "    mig_mdoe: enabled\n");
  EXPECT_NE(err.find("host.yaml:4"), std::string::npos) << err;
  EXPECT_NE(err.find("mig_mdoe"), std::string::npos) << err;
  err = spec_error("gpus: []\nhostname: x\n");
  EXPECT_NE(err.find("host.yaml:2"), std::string::npos) << err;
  EXPECT_NE(err.find("hostname"), std::string::npos) << err;
}

// YAML allows any node as a key; each was a yaml-cpp exception ("internal
// error", exit 1) before keys went through yaml::key().
TEST(SimSpec, NonScalarKeysAreBadInputWithTheirPosition) {
  const std::string gpu = "gpus:\n  - address: \"0000:41:00.0\"\n    model: T4-16GB\n";
  struct Case {
    std::string yaml;
    std::string where;
  };
  const Case cases[] = {
      {"[gpus]: []\n", "host.yaml:1:1: a key in the host spec is a list"},
      {gpu + "    {a: 1}: 2\n", "host.yaml:4:5: a key in a GPU is a mapping"},
      {gpu + "devices:\n  - {address: \"0000:c1:00.0\", type: nic, ~: 1}\n",
       "host.yaml:5:42: a key in a device is null"},
      {gpu + "faults:\n  - call: nvmlInit_v2\n    ? [x]\n    : 1\n",
       "host.yaml:6:7: a key in a fault is a list"},
  };
  for (const auto& c : cases) {
    std::string err = spec_error(c.yaml);
    EXPECT_NE(err.find(c.where), std::string::npos) << c.yaml << "\n-> " << err;
  }
}

TEST(SimSpec, MalformedYamlNamesTheLine) {
  std::string err = spec_error("gpus:\n  - address: \"0000:41:00.0\"\n    model: [T4\n");
  EXPECT_NE(err.find("host.yaml:"), std::string::npos) << err;
  EXPECT_NE(err.find("YAML"), std::string::npos) << err;
  err = spec_error("gpus:\n  - {address: 1, model: [}\n");
  EXPECT_NE(err.find("host.yaml:2"), std::string::npos) << err;
}

TEST(SimSpec, BadValuesAreRejectedWithLineAndExpectation) {
  struct Case {
    std::string yaml;
    std::string line;
    std::string words;
  };
  const std::string gpu = "gpus:\n  - address: \"0000:41:00.0\"\n";
  const Case cases[] = {
      {gpu + "    model: H999\n", ":3", "unknown GPU model"},
      {"gpus:\n  - address: \"41:0.0.0\"\n    model: T4-16GB\n", ":2", "PCI address"},
      {gpu + "    model: T4-16GB\n    vgpu_mode: vendor-specific\n", ":4", "vendor-specific"},
      {gpu + "    model: H100-SXM5-80GB\n    vgpu_mode: legacy\n", ":4", "no legacy"},
      {gpu + "    model: T4-16GB\n    mig_mode: enabled\n", ":4", "not MIG-capable"},
      {gpu + "    model: H100-SXM5-80GB\n    mig_mode: on\n", ":4", "enabled or disabled"},
      {gpu + "    model: H100-SXM5-80GB\n    sriov_totalvfs: 64\n", ":4", "out of range"},
      {gpu + "    model: H100-SXM5-80GB\n    numa_node: one\n", ":4", "integer"},
      {gpu + "    model: H100-SXM5-80GB\n    vgpu_mode: vendor-specific\n    sriov_totalvfs: 0\n",
       ":2", "sriov_totalvfs"},
      {gpu + "    model: T4-16GB\n  - address: \"0000:41:00.0\"\n    model: T4-16GB\n", ":4",
       "collides"},
      // VF 4 of the H100 at 41:00.0 is 41:01.0.
      {gpu + "    model: H100-SXM5-80GB\ndevices:\n  - address: \"0000:41:01.0\"\n    type: nic\n",
       ":5", "collides"},
      {gpu + "    model: T4-16GB\ndevices:\n  - address: \"0000:c1:00.0\"\n    type: gpu\n", ":6",
       "nic, nvme or bridge"},
      {gpu + "    model: T4-16GB\ndevices:\n  - address: \"0000:c1:00.0\"\n", ":5", "type"},
      {gpu + "    model: T4-16GB\nfaults:\n  - call: nvmlDeviceGetCount\n    nvml_return: OOPS\n",
       ":6", "NVML return code"},
      {gpu + "    model: T4-16GB\nfaults:\n  - call: sysfs:create\n    errno: EWHAT\n", ":6",
       "errno"},
      {gpu + "    model: T4-16GB\nfaults:\n  - call: sysfs:create\n    nvml_return: 3\n", ":6",
       "errno"},
      {gpu + "    model: T4-16GB\nfaults:\n  - call: nvmlInit_v2\n    gpu: \"0000:99:00.0\"\n    "
             "nvml_return: 9\n",
       ":6", "not in \"gpus\""},
      {gpu + "    model: T4-16GB\nfaults:\n  - call: nvmlInit_v2\n", ":5", "delay_ms"},
      {"gpus: []\n", ":1", "non-empty"},
      {"", "", "empty"},
  };
  for (const auto& c : cases) {
    std::string err = spec_error(c.yaml);
    EXPECT_NE(err.find("host.yaml" + c.line), std::string::npos) << c.yaml << "\n-> " << err;
    EXPECT_NE(err.find(c.words), std::string::npos) << c.yaml << "\n-> " << err;
  }
}

TEST(SimSpec, ShippedExamplesParse) {
  auto dir = test::source_dir() / "examples/hosts";
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() != ".yaml") continue;
    EXPECT_NO_THROW(load_spec(e.path())) << e.path();
    ++n;
  }
  EXPECT_GE(n, 8);
}

TEST(SimSpec, MissingFileIsNotFound) {
  try {
    load_spec("/nonexistent/host.yaml");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kNotFound);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/host.yaml"), std::string::npos);
  }
}

}  // namespace
}  // namespace gpuvm::sim
