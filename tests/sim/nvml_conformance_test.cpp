// Conformance: the mock libnvidia-ml.so.1, set up as the one H100 of the
// capture, answers the read-only calls exactly as the real H100 did
// (fixtures/h100-sxm5-passthrough/nvml-readonly.json and
// nvml-readonly-probes.json, driver 580.159.04): device identity, PCI info,
// memory, MIG mode, every GI profile enum index 0..19 (info v1, V with the v2
// and v3 tags, by id), placements, remaining capacity, and the misuse codes.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "nvml_test_support.h"
#include "sim/nvml_mock/nvml_mock_control.h"

namespace gpuvm::test {
namespace {

using nlohmann::json;

json load(const std::string& name) {
  std::ifstream in(shared_dir() / "fixtures/h100-sxm5-passthrough" / name);
  EXPECT_TRUE(in) << name;
  return json::parse(in);
}

int rc_of(const json& entry) {
  // Older capture files give only the error text.
  if (entry.contains("rc")) return entry.at("rc").get<int>();
  const std::string e = entry.at("error");
  if (e == "Not Supported") return NVML_ERROR_NOT_SUPPORTED;
  if (e == "Invalid Argument") return NVML_ERROR_INVALID_ARGUMENT;
  ADD_FAILURE() << "unknown error text " << e;
  return -1;
}

template <class Info>
void expect_common(const json& want, const Info& got) {
  EXPECT_EQ(want.at("id"), got.id);
  EXPECT_EQ(want.at("sliceCount"), got.sliceCount);
  EXPECT_EQ(want.at("instanceCount"), got.instanceCount);
  EXPECT_EQ(want.at("multiprocessorCount"), got.multiprocessorCount);
  EXPECT_EQ(want.at("copyEngineCount"), got.copyEngineCount);
  EXPECT_EQ(want.at("decoderCount"), got.decoderCount);
  EXPECT_EQ(want.at("encoderCount"), got.encoderCount);
  EXPECT_EQ(want.at("jpegCount"), got.jpegCount);
  EXPECT_EQ(want.at("ofaCount"), got.ofaCount);
  EXPECT_EQ(want.at("memorySizeMB"), got.memorySizeMB);
}

// Device identity and every GI profile index of one capture file.
void check_capture(const json& doc) {
  const Nvml& n = nvml();
  const json& dev = doc.at("devices").at(0);
  SimHost host({make_gpu(dev.at("pci").at("busIdLegacy"), "H100-SXM5-80GB", dev.at("uuid"))});

  char buf[128];
  ASSERT_EQ(n.nvmlSystemGetDriverVersion(buf, sizeof buf), NVML_SUCCESS);
  EXPECT_EQ(doc.at("driver"), buf);
  ASSERT_EQ(n.nvmlSystemGetNVMLVersion(buf, sizeof buf), NVML_SUCCESS);
  EXPECT_EQ(doc.at("nvml"), buf);
  unsigned int count = 0;
  ASSERT_EQ(n.nvmlDeviceGetCount_v2(&count), NVML_SUCCESS);
  EXPECT_EQ(count, doc.at("devices").size());

  nvmlDevice_t d = host.device(0);
  unsigned int index = 99;
  ASSERT_EQ(n.nvmlDeviceGetIndex(d, &index), NVML_SUCCESS);
  EXPECT_EQ(dev.at("index"), index);
  ASSERT_EQ(n.nvmlDeviceGetName(d, buf, NVML_DEVICE_NAME_V2_BUFFER_SIZE), NVML_SUCCESS);
  EXPECT_EQ(dev.at("name"), buf);
  ASSERT_EQ(n.nvmlDeviceGetUUID(d, buf, NVML_DEVICE_UUID_V2_BUFFER_SIZE), NVML_SUCCESS);
  EXPECT_EQ(dev.at("uuid"), buf);

  nvmlPciInfo_t pci{};
  ASSERT_EQ(n.nvmlDeviceGetPciInfo_v3(d, &pci), NVML_SUCCESS);
  const json& p = dev.at("pci");
  EXPECT_EQ(p.at("busIdLegacy"), pci.busIdLegacy);
  EXPECT_EQ(p.at("busId"), pci.busId);
  EXPECT_EQ(p.at("domain"), pci.domain);
  EXPECT_EQ(p.at("bus"), pci.bus);
  EXPECT_EQ(p.at("device"), pci.device);
  EXPECT_EQ(p.at("pciDeviceId"), pci.pciDeviceId);
  EXPECT_EQ(p.at("pciSubSystemId"), pci.pciSubSystemId);

  nvmlDevice_t by_bus = nullptr;
  ASSERT_EQ(n.nvmlDeviceGetHandleByPciBusId_v2(pci.busId, &by_bus), NVML_SUCCESS);
  EXPECT_EQ(by_bus, d);  // by_pci_bus_id_same_uuid
  nvmlDevice_t by_uuid = nullptr;
  ASSERT_EQ(n.nvmlDeviceGetHandleByUUID(dev.at("uuid").get<std::string>().c_str(), &by_uuid),
            NVML_SUCCESS);
  EXPECT_EQ(by_uuid, d);

  nvmlMemory_t mem{};
  ASSERT_EQ(n.nvmlDeviceGetMemoryInfo(d, &mem), NVML_SUCCESS);
  EXPECT_EQ(dev.at("memory").at("total"), mem.total);
  EXPECT_EQ(dev.at("memory").at("free"), mem.free);
  EXPECT_EQ(dev.at("memory").at("used"), mem.used);

  unsigned int cur = 9, pend = 9;
  ASSERT_EQ(n.nvmlDeviceGetMigMode(d, &cur, &pend), NVML_SUCCESS);
  EXPECT_EQ(dev.at("mig_mode").at(0), cur);
  EXPECT_EQ(dev.at("mig_mode").at(1), pend);
  unsigned int max_mig = 99;
  ASSERT_EQ(n.nvmlDeviceGetMaxMigDeviceCount(d, &max_mig), NVML_SUCCESS);
  EXPECT_EQ(dev.at("max_mig"), max_mig);

  // The capture ran in a VM (PASSTHROUGH); the simulator is a host without a
  // vGPU manager: NONE. Supported vGPUs: NOT_SUPPORTED in both.
  nvmlGpuVirtualizationMode_t vmode{};
  ASSERT_EQ(n.nvmlDeviceGetVirtualizationMode(d, &vmode), NVML_SUCCESS);
  EXPECT_EQ(vmode, NVML_GPU_VIRTUALIZATION_MODE_NONE);
  unsigned int nvgpu = 0;
  EXPECT_EQ(n.nvmlDeviceGetSupportedVgpus(d, &nvgpu, nullptr), rc_of(dev.at("supported_vgpus")));

  const json& gips = dev.at("gi_profiles");
  for (const auto& [key, entry] : gips.items()) {
    const unsigned int idx = std::stoul(key);
    SCOPED_TRACE("profile index " + key);
    nvmlGpuInstanceProfileInfo_t v1{};
    nvmlGpuInstanceProfileInfo_v2_t v2{};
    v2.version = nvmlGpuInstanceProfileInfo_v2;
    nvmlGpuInstanceProfileInfo_v3_t v3{};
    v3.version = nvmlGpuInstanceProfileInfo_v3;
    const nvmlReturn_t rc1 = n.nvmlDeviceGetGpuInstanceProfileInfo(d, idx, &v1);
    const nvmlReturn_t rc2 = n.nvmlDeviceGetGpuInstanceProfileInfoV(d, idx, &v2);
    const nvmlReturn_t rc3 = n.nvmlDeviceGetGpuInstanceProfileInfoV(
        d, idx, reinterpret_cast<nvmlGpuInstanceProfileInfo_v2_t*>(&v3));
    if (entry.contains("error")) {
      EXPECT_EQ(rc2, rc_of(entry));
      EXPECT_EQ(rc1, entry.contains("info_v1") ? rc_of(entry.at("info_v1")) : rc_of(entry));
      EXPECT_EQ(rc3, entry.contains("info_v3") ? rc_of(entry.at("info_v3")) : rc_of(entry));
      continue;
    }
    ASSERT_EQ(rc1, NVML_SUCCESS);
    ASSERT_EQ(rc2, NVML_SUCCESS);
    ASSERT_EQ(rc3, NVML_SUCCESS);
    const json& want = entry.at("info_v2");
    expect_common(want, v2);
    EXPECT_EQ(want.at("isP2pSupported"), v2.isP2pSupported);
    EXPECT_EQ(want.at("name"), v2.name);
    EXPECT_EQ(v2.version, nvmlGpuInstanceProfileInfo_v2);
    expect_common(entry.contains("info_v1") ? entry.at("info_v1") : entry.at("info"), v1);
    EXPECT_EQ(want.at("isP2pSupported"), v1.isP2pSupported);
    if (entry.contains("info_v3")) {
      const json& w3 = entry.at("info_v3");
      expect_common(w3, v3);
      EXPECT_EQ(w3.at("name"), v3.name);  // empty from the R580 driver
      EXPECT_EQ(w3.at("capabilities"), v3.capabilities);
    }
    if (entry.contains("info_by_id_v2")) {
      nvmlGpuInstanceProfileInfo_v2_t byid{};
      byid.version = nvmlGpuInstanceProfileInfo_v2;
      ASSERT_EQ(n.nvmlDeviceGetGpuInstanceProfileInfoByIdV(d, v2.id, &byid), NVML_SUCCESS);
      expect_common(entry.at("info_by_id_v2"), byid);
      EXPECT_EQ(entry.at("info_by_id_v2").at("name"), byid.name);
    }
    // Placements: NULL array -> count, then the list.
    unsigned int np = 0;
    ASSERT_EQ(n.nvmlDeviceGetGpuInstancePossiblePlacements_v2(d, v2.id, nullptr, &np),
              NVML_SUCCESS);
    ASSERT_EQ(entry.at("placements").size(), np);
    std::vector<nvmlGpuInstancePlacement_t> pl(np);
    ASSERT_EQ(n.nvmlDeviceGetGpuInstancePossiblePlacements_v2(d, v2.id, pl.data(), &np),
              NVML_SUCCESS);
    for (unsigned int i = 0; i < np; ++i) {
      EXPECT_EQ(entry.at("placements").at(i).at("start"), pl[i].start);
      EXPECT_EQ(entry.at("placements").at(i).at("size"), pl[i].size);
    }
    unsigned int remaining = 99;
    ASSERT_EQ(n.nvmlDeviceGetGpuInstanceRemainingCapacity(d, v2.id, &remaining), NVML_SUCCESS);
    EXPECT_EQ(entry.at("remaining"), remaining);
  }
}

TEST(NvmlConformance, ReadonlyCapture) {
  check_capture(load("nvml-readonly.json"));
}

TEST(NvmlConformance, ReadonlyProbesCapture) {
  check_capture(load("nvml-readonly-probes.json"));
}

// The misuse probes of nvml-readonly-probes.json, one by one.
TEST(NvmlConformance, MisuseProbes) {
  const json probes = load("nvml-readonly-probes.json").at("devices").at(0).at("probes");
  const Nvml& n = nvml();
  SimHost host({capture_h100()});
  nvmlDevice_t d = host.device(0);

  nvmlGpuInstanceProfileInfo_v2_t v{};
  v.version = 0;
  EXPECT_EQ(n.nvmlDeviceGetGpuInstanceProfileInfoV(d, 0, &v), probes.at("infoV_version_0_rc"));
  nvmlGpuInstanceProfileInfo_v3_t v3{};
  v3.version = nvmlGpuInstanceProfileInfo_v2;  // a v2 tag in a v3-sized struct
  EXPECT_EQ(n.nvmlDeviceGetGpuInstanceProfileInfoV(
                d, 0, reinterpret_cast<nvmlGpuInstanceProfileInfo_v2_t*>(&v3)),
            probes.at("infoV_v2tag_with_v3_call_rc"));

  unsigned int count = 0;
  EXPECT_EQ(n.nvmlDeviceGetGpuInstancePossiblePlacements_v2(d, 19, nullptr, &count),
            probes.at("placements_null_rc"));
  EXPECT_EQ(count, probes.at("placements_null_count"));
  // The driver does not read *count: a count of 1 still gets the whole list.
  nvmlGpuInstancePlacement_t pl[8] = {};
  count = 1;
  EXPECT_EQ(n.nvmlDeviceGetGpuInstancePossiblePlacements_v2(d, 19, pl, &count),
            probes.at("placements_count1_rc"));
  EXPECT_EQ(count, probes.at("placements_count1_count_out"));

  for (unsigned int bad : {1u, 99u}) {
    const std::string s = std::to_string(bad);
    count = 0;
    EXPECT_EQ(n.nvmlDeviceGetGpuInstancePossiblePlacements_v2(d, bad, pl, &count),
              probes.at("placements_bad_id_" + s + "_rc"));
    EXPECT_EQ(n.nvmlDeviceGetGpuInstanceRemainingCapacity(d, bad, &count),
              probes.at("remaining_bad_id_" + s + "_rc"));
    nvmlGpuInstanceProfileInfo_v2_t byid{};
    byid.version = nvmlGpuInstanceProfileInfo_v2;
    EXPECT_EQ(n.nvmlDeviceGetGpuInstanceProfileInfoByIdV(d, bad, &byid),
              probes.at("info_by_id_bad_" + s + "_rc"));
  }

  nvmlGpuInstance_t gis[7] = {};
  count = 0;
  EXPECT_EQ(n.nvmlDeviceGetGpuInstances(d, 19, gis, &count), probes.at("get_gpu_instances_rc"));
  EXPECT_EQ(count, 0u);
  nvmlGpuInstance_t gi = nullptr;
  EXPECT_EQ(n.nvmlDeviceGetGpuInstanceById(d, 1, &gi), probes.at("gpu_instance_by_id_1_rc"));
  unsigned int is_mig = 9;
  ASSERT_EQ(n.nvmlDeviceIsMigDeviceHandle(d, &is_mig), NVML_SUCCESS);
  EXPECT_EQ(is_mig, probes.at("is_mig_device_handle"));
  nvmlDevice_t mig = nullptr;
  EXPECT_EQ(n.nvmlDeviceGetMigDeviceHandleByIndex(d, 0, &mig),
            probes.at("mig_device_by_index_0_rc"));
}

// NVML's generic argument rules: NULL outputs, bad indexes, short buffers.
TEST(NvmlConformance, ArgumentChecks) {
  const Nvml& n = nvml();
  SimHost host({capture_h100()});
  nvmlDevice_t d = host.device(0);
  EXPECT_EQ(n.nvmlDeviceGetCount_v2(nullptr), NVML_ERROR_INVALID_ARGUMENT);
  nvmlDevice_t h = nullptr;
  EXPECT_EQ(n.nvmlDeviceGetHandleByIndex_v2(1, &h), NVML_ERROR_INVALID_ARGUMENT);
  // A well-formed bus id with no GPU: INVALID_ARGUMENT on the real R580 driver.
  EXPECT_EQ(n.nvmlDeviceGetHandleByPciBusId_v2("0000:41:00.0", &h), NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(n.nvmlDeviceGetHandleByPciBusId_v2("garbage", &h), NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(n.nvmlDeviceGetHandleByUUID("GPU-00000000-0000-0000-0000-000000000000", &h),
            NVML_ERROR_NOT_FOUND);
  char small[8];
  EXPECT_EQ(n.nvmlDeviceGetName(d, small, sizeof small), NVML_ERROR_INSUFFICIENT_SIZE);
  EXPECT_EQ(n.nvmlDeviceGetUUID(d, nullptr, 80), NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(n.nvmlDeviceGetPciInfo_v3(d, nullptr), NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(n.nvmlDeviceGetMigMode(d, nullptr, nullptr), NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(n.nvmlDeviceGetGpuInstancePossiblePlacements_v2(d, 19, nullptr, nullptr),
            NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(n.nvmlDeviceGetGpuInstanceProfileInfo(d, 0, nullptr), NVML_ERROR_INVALID_ARGUMENT);
  // A pointer that is not a handle of the library: INVALID_ARGUMENT, no crash.
  int junk = 0;
  EXPECT_EQ(n.nvmlDeviceGetName(reinterpret_cast<nvmlDevice_t>(&junk), small, sizeof small),
            NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(n.nvmlGpuInstanceDestroy(reinterpret_cast<nvmlGpuInstance_t>(&junk)),
            NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(n.nvmlDeviceGetName(nullptr, small, sizeof small), NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(n.nvmlErrorString(NVML_ERROR_INSUFFICIENT_RESOURCES), "Insufficient Resources");
  EXPECT_STREQ(n.nvmlErrorString(NVML_ERROR_IN_USE), "In use by another client");
  EXPECT_STREQ(n.nvmlErrorString(NVML_ERROR_NOT_SUPPORTED), "Not Supported");
  EXPECT_STREQ(n.nvmlErrorString(static_cast<nvmlReturn_t>(12345)), "Unknown Error");
}

}  // namespace
}  // namespace gpuvm::test
