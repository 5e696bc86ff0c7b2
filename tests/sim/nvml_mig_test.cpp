// The MIG state machine through the mock's C ABI: mode changes (pending vs
// current), default and explicit placements with the driver's return codes,
// GI/CI lifecycle and handles, MIG device handles, and two processes that
// see one GPU through the state file.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <string>
#include <tuple>
#include <vector>

#include "nvml_test_support.h"

namespace gpuvm::test {
namespace {

const Nvml& n() {
  return nvml();
}

sim::GpuState h100(const std::string& bdf = "0000:41:00.0") {
  return make_gpu(bdf, "H100-SXM5-80GB", "GPU-11111111-2222-3333-4444-555555555555");
}
sim::GpuState a100(const std::string& bdf = "0000:81:00.0") {
  return make_gpu(bdf, "A100-SXM4-40GB", "GPU-aaaaaaaa-2222-3333-4444-555555555555");
}
sim::GpuState with_mig(sim::GpuState g) {
  g.mig.current = g.mig.pending = true;
  return g;
}

nvmlGpuInstanceInfo_t info_of(nvmlGpuInstance_t gi) {
  nvmlGpuInstanceInfo_t info{};
  EXPECT_EQ(n().nvmlGpuInstanceGetInfo(gi, &info), NVML_SUCCESS);
  return info;
}

TEST(NvmlMig, MigModeIsImmediateOnH100AndPendingOnA100) {
  SimHost host({h100(), a100()});
  nvmlDevice_t h = host.device(0);
  nvmlDevice_t a = host.device(1);
  unsigned int cur = 9, pend = 9;
  nvmlReturn_t activation = NVML_ERROR_UNKNOWN;
  ASSERT_EQ(n().nvmlDeviceSetMigMode(h, NVML_DEVICE_MIG_ENABLE, &activation), NVML_SUCCESS);
  EXPECT_EQ(activation, NVML_SUCCESS);
  ASSERT_EQ(n().nvmlDeviceGetMigMode(h, &cur, &pend), NVML_SUCCESS);
  EXPECT_EQ(cur, 1u);
  EXPECT_EQ(pend, 1u);
  unsigned int max_mig = 0;
  ASSERT_EQ(n().nvmlDeviceGetMaxMigDeviceCount(h, &max_mig), NVML_SUCCESS);
  EXPECT_EQ(max_mig, 7u);

  ASSERT_EQ(n().nvmlDeviceSetMigMode(a, NVML_DEVICE_MIG_ENABLE, &activation), NVML_SUCCESS);
  EXPECT_EQ(activation, NVML_ERROR_RESET_REQUIRED);
  ASSERT_EQ(n().nvmlDeviceGetMigMode(a, &cur, &pend), NVML_SUCCESS);
  EXPECT_EQ(cur, 0u);
  EXPECT_EQ(pend, 1u);
  nvmlGpuInstance_t gi = nullptr;
  EXPECT_EQ(n().nvmlDeviceCreateGpuInstance(a, 9, &gi), NVML_ERROR_NOT_SUPPORTED);
  ASSERT_EQ(n().gpuvmSimResetGpu("0000:81:00.0"), NVML_SUCCESS);
  ASSERT_EQ(n().nvmlDeviceGetMigMode(a, &cur, &pend), NVML_SUCCESS);
  EXPECT_EQ(cur, 1u);
  EXPECT_EQ(n().nvmlDeviceCreateGpuInstance(a, 9, &gi), NVML_SUCCESS);

  EXPECT_EQ(n().nvmlDeviceSetMigMode(h, 2, &activation), NVML_ERROR_INVALID_ARGUMENT);
  // Disabling while GIs exist: IN_USE.
  EXPECT_EQ(n().nvmlDeviceSetMigMode(a, NVML_DEVICE_MIG_DISABLE, &activation), NVML_ERROR_IN_USE);
  // The state file holds the modes (what the FUSE side and other processes see).
  const auto state = host.state();
  EXPECT_TRUE(state.find_gpu(Bdf::parse("0000:41:00.0"))->mig.current);
  EXPECT_EQ(state.find_gpu(Bdf::parse("0000:81:00.0"))->mig.gpu_instances.size(), 1u);
}

TEST(NvmlMig, NotSupportedWithMigOffAndOnBoardsWithoutMig) {
  SimHost host(
      {h100(), make_gpu("0000:c1:00.0", "T4-16GB", "GPU-77777777-2222-3333-4444-555555555555")});
  nvmlDevice_t h = host.device(0);
  nvmlDevice_t t4 = host.device(1);
  nvmlGpuInstance_t gi = nullptr;
  EXPECT_EQ(n().nvmlDeviceCreateGpuInstance(h, 19, &gi), NVML_ERROR_NOT_SUPPORTED);
  const nvmlGpuInstancePlacement_t at0{0, 1};
  EXPECT_EQ(n().nvmlDeviceCreateGpuInstanceWithPlacement(h, 19, &at0, &gi),
            NVML_ERROR_NOT_SUPPORTED);
  unsigned int cur = 0, pend = 0, count = 0;
  EXPECT_EQ(n().nvmlDeviceGetMigMode(t4, &cur, &pend), NVML_ERROR_NOT_SUPPORTED);
  nvmlGpuInstanceProfileInfo_t info{};
  EXPECT_EQ(n().nvmlDeviceGetGpuInstanceProfileInfo(t4, 0, &info), NVML_ERROR_NOT_SUPPORTED);
  EXPECT_EQ(n().nvmlDeviceGetGpuInstanceRemainingCapacity(t4, 19, &count),
            NVML_ERROR_NOT_SUPPORTED);
  nvmlReturn_t activation{};
  EXPECT_EQ(n().nvmlDeviceSetMigMode(t4, 1, &activation), NVML_ERROR_NOT_SUPPORTED);
}

// Seven 1g without placement on an H100: 6,4,5,0,1,2,3 with ids 13,11,12,7,8,9,10.
TEST(NvmlMig, DefaultPlacementAndIdsOnH100) {
  SimHost host({with_mig(h100())});
  nvmlDevice_t d = host.device(0);
  const std::vector<unsigned int> starts{6, 4, 5, 0, 1, 2, 3}, ids{13, 11, 12, 7, 8, 9, 10};
  for (size_t i = 0; i < 7; ++i) {
    nvmlGpuInstance_t gi = nullptr;
    ASSERT_EQ(n().nvmlDeviceCreateGpuInstance(d, 19, &gi), NVML_SUCCESS);
    const auto info = info_of(gi);
    EXPECT_EQ(info.placement.start, starts[i]);
    EXPECT_EQ(info.placement.size, 1u);
    EXPECT_EQ(info.id, ids[i]);
    EXPECT_EQ(info.profileId, 19u);
    EXPECT_EQ(info.device, d);
  }
  nvmlGpuInstance_t gi = nullptr;
  EXPECT_EQ(n().nvmlDeviceCreateGpuInstance(d, 19, &gi), NVML_ERROR_INSUFFICIENT_RESOURCES);
  unsigned int remaining = 9;
  ASSERT_EQ(n().nvmlDeviceGetGpuInstanceRemainingCapacity(d, 19, &remaining), NVML_SUCCESS);
  EXPECT_EQ(remaining, 0u);
  nvmlGpuInstance_t list[7] = {};
  unsigned int count = 0;  // not read by the driver (go-nvml passes 0)
  ASSERT_EQ(n().nvmlDeviceGetGpuInstances(d, 19, list, &count), NVML_SUCCESS);
  ASSERT_EQ(count, 7u);
  for (unsigned int i = 0; i < count; ++i) EXPECT_EQ(info_of(list[i]).id, 7 + i);  // by id
}

// MIG UG: A100 `-cgi 19,19,14,9` fails with Insufficient Resources,
// `-cgi 9,19,14,19` succeeds.
TEST(NvmlMig, CreationOrderOnA100) {
  SimHost host({with_mig(a100()), with_mig(a100("0000:82:00.0"))});
  nvmlGpuInstance_t gi = nullptr;
  nvmlDevice_t bad = host.device(0);
  for (unsigned int p : {19u, 19u, 14u})
    ASSERT_EQ(n().nvmlDeviceCreateGpuInstance(bad, p, &gi), NVML_SUCCESS);
  EXPECT_EQ(n().nvmlDeviceCreateGpuInstance(bad, 9, &gi), NVML_ERROR_INSUFFICIENT_RESOURCES);
  nvmlDevice_t good = host.device(1);
  for (unsigned int p : {9u, 19u, 14u, 19u}) {
    EXPECT_EQ(n().nvmlDeviceCreateGpuInstance(good, p, &gi), NVML_SUCCESS) << p;
  }
}

TEST(NvmlMig, ExplicitPlacementCodes) {
  SimHost host({with_mig(h100())});
  nvmlDevice_t d = host.device(0);
  nvmlGpuInstance_t gi = nullptr;
  const nvmlGpuInstancePlacement_t bad{2, 4}, p3g{4, 4}, p4g{0, 4}, overlap{5, 1};
  EXPECT_EQ(n().nvmlDeviceCreateGpuInstanceWithPlacement(d, 9, &bad, &gi),
            NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(n().nvmlDeviceCreateGpuInstanceWithPlacement(d, 9, nullptr, &gi),
            NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(n().nvmlDeviceCreateGpuInstanceWithPlacement(d, 1, &p3g, &gi),
            NVML_ERROR_INVALID_ARGUMENT);
  ASSERT_EQ(n().nvmlDeviceCreateGpuInstanceWithPlacement(d, 9, &p3g, &gi), NVML_SUCCESS);
  EXPECT_EQ(info_of(gi).id, 2u);
  ASSERT_EQ(n().nvmlDeviceCreateGpuInstanceWithPlacement(d, 5, &p4g, &gi), NVML_SUCCESS);
  EXPECT_EQ(info_of(gi).id, 1u);
  EXPECT_EQ(n().nvmlDeviceCreateGpuInstanceWithPlacement(d, 19, &overlap, &gi),
            NVML_ERROR_INSUFFICIENT_RESOURCES);
  nvmlGpuInstance_t by_id = nullptr;
  ASSERT_EQ(n().nvmlDeviceGetGpuInstanceById(d, 1, &by_id), NVML_SUCCESS);
  EXPECT_EQ(by_id, gi);  // one handle per instance
  EXPECT_EQ(n().nvmlDeviceGetGpuInstanceById(d, 3, &by_id), NVML_ERROR_NOT_FOUND);
}

// Destroy order: IN_USE while CIs exist; stale handles answer
// INVALID_ARGUMENT after the instance is gone, never crash.
TEST(NvmlMig, LifecycleOfComputeInstancesAndStaleHandles) {
  SimHost host({with_mig(h100())});
  nvmlDevice_t d = host.device(0);
  nvmlGpuInstance_t gi = nullptr;
  ASSERT_EQ(n().nvmlDeviceCreateGpuInstance(d, 9, &gi), NVML_SUCCESS);  // 3g.40gb at 4:4

  nvmlComputeInstanceProfileInfo_t cip{};
  ASSERT_EQ(n().nvmlGpuInstanceGetComputeInstanceProfileInfo(gi, 0, 0, &cip), NVML_SUCCESS);
  EXPECT_EQ(cip.instanceCount, 3u);
  EXPECT_EQ(cip.sliceCount, 1u);
  EXPECT_EQ(n().nvmlGpuInstanceGetComputeInstanceProfileInfo(gi, 4, 0, &cip),
            NVML_ERROR_NOT_SUPPORTED);  // no 7c in a 3g
  EXPECT_EQ(n().nvmlGpuInstanceGetComputeInstanceProfileInfo(gi, 9, 0, &cip),
            NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(n().nvmlGpuInstanceGetComputeInstanceProfileInfo(gi, 0, 1, &cip),
            NVML_ERROR_INVALID_ARGUMENT);
  nvmlComputeInstanceProfileInfo_v2_t cip2{};
  cip2.version = nvmlComputeInstanceProfileInfo_v2;
  ASSERT_EQ(n().nvmlGpuInstanceGetComputeInstanceProfileInfoV(gi, 2, 0, &cip2), NVML_SUCCESS);
  EXPECT_STREQ(cip2.name, "MIG 3g.40gb");
  ASSERT_EQ(n().nvmlGpuInstanceGetComputeInstanceProfileInfoV(gi, 0, 0, &cip2), NVML_SUCCESS);
  EXPECT_STREQ(cip2.name, "MIG 1c.3g.40gb");

  unsigned int count = 0;
  ASSERT_EQ(n().nvmlGpuInstanceGetComputeInstancePossiblePlacements(gi, 0, nullptr, &count),
            NVML_SUCCESS);
  EXPECT_EQ(count, 3u);
  nvmlComputeInstance_t ci0 = nullptr, ci1 = nullptr;
  ASSERT_EQ(n().nvmlGpuInstanceCreateComputeInstance(gi, 0, &ci0), NVML_SUCCESS);
  const nvmlComputeInstancePlacement_t at2{2, 1};
  ASSERT_EQ(n().nvmlGpuInstanceCreateComputeInstanceWithPlacement(gi, 0, &at2, &ci1), NVML_SUCCESS);
  nvmlComputeInstanceInfo_t cinfo{};
  ASSERT_EQ(n().nvmlComputeInstanceGetInfo_v2(ci1, &cinfo), NVML_SUCCESS);
  EXPECT_EQ(cinfo.id, 1u);
  EXPECT_EQ(cinfo.placement.start, 2u);
  EXPECT_EQ(cinfo.gpuInstance, gi);
  EXPECT_EQ(cinfo.device, d);
  ASSERT_EQ(n().nvmlGpuInstanceGetComputeInstanceRemainingCapacity(gi, 0, &count), NVML_SUCCESS);
  EXPECT_EQ(count, 1u);
  ASSERT_EQ(n().nvmlGpuInstanceGetComputeInstanceRemainingCapacity(gi, 1, &count), NVML_SUCCESS);
  EXPECT_EQ(count, 0u);  // 2c at 0 overlaps the 1c at 0

  // MIG devices: one per CI, by GI id then CI id.
  nvmlDevice_t mig = nullptr;
  ASSERT_EQ(n().nvmlDeviceGetMigDeviceHandleByIndex(d, 1, &mig), NVML_SUCCESS);
  unsigned int is_mig = 0, gid = 0, cid = 0;
  ASSERT_EQ(n().nvmlDeviceIsMigDeviceHandle(mig, &is_mig), NVML_SUCCESS);
  EXPECT_EQ(is_mig, 1u);
  ASSERT_EQ(n().nvmlDeviceGetGpuInstanceId(mig, &gid), NVML_SUCCESS);
  ASSERT_EQ(n().nvmlDeviceGetComputeInstanceId(mig, &cid), NVML_SUCCESS);
  EXPECT_EQ(gid, 2u);
  EXPECT_EQ(cid, 1u);
  nvmlDevice_t parent = nullptr;
  ASSERT_EQ(n().nvmlDeviceGetDeviceHandleFromMigDeviceHandle(mig, &parent), NVML_SUCCESS);
  EXPECT_EQ(parent, d);
  char name[96], uuid[96];
  ASSERT_EQ(n().nvmlDeviceGetName(mig, name, sizeof name), NVML_SUCCESS);
  EXPECT_STREQ(name, "NVIDIA H100 80GB HBM3 MIG 1c.3g.40gb");
  ASSERT_EQ(n().nvmlDeviceGetUUID(mig, uuid, sizeof uuid), NVML_SUCCESS);
  EXPECT_EQ(std::string(uuid).substr(0, 4), "MIG-");
  nvmlDevice_t by_uuid = nullptr;
  ASSERT_EQ(n().nvmlDeviceGetHandleByUUID(uuid, &by_uuid), NVML_SUCCESS);
  EXPECT_EQ(by_uuid, mig);
  EXPECT_EQ(n().nvmlDeviceGetGpuInstanceId(d, &gid), NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(n().nvmlDeviceGetMigDeviceHandleByIndex(d, 2, &mig), NVML_ERROR_NOT_FOUND);

  EXPECT_EQ(n().nvmlGpuInstanceDestroy(gi), NVML_ERROR_IN_USE);
  ASSERT_EQ(n().nvmlComputeInstanceDestroy(ci0), NVML_SUCCESS);
  EXPECT_EQ(n().nvmlComputeInstanceDestroy(ci0), NVML_ERROR_INVALID_ARGUMENT);  // stale
  EXPECT_EQ(n().nvmlComputeInstanceGetInfo_v2(ci0, &cinfo), NVML_ERROR_INVALID_ARGUMENT);
  ASSERT_EQ(n().nvmlComputeInstanceDestroy(ci1), NVML_SUCCESS);
  EXPECT_EQ(n().nvmlDeviceGetName(mig, name, sizeof name), NVML_ERROR_INVALID_ARGUMENT);
  ASSERT_EQ(n().nvmlGpuInstanceDestroy(gi), NVML_SUCCESS);
  EXPECT_EQ(n().nvmlGpuInstanceDestroy(gi), NVML_ERROR_INVALID_ARGUMENT);
  nvmlGpuInstanceInfo_t info{};
  EXPECT_EQ(n().nvmlGpuInstanceGetInfo(gi, &info), NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(n().nvmlGpuInstanceCreateComputeInstance(gi, 0, &ci0), NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(host.state().gpus.at(0).mig.gpu_instances.empty());
}

// Two processes, one GPU: a GI created in a child process is seen by the
// parent, and the parent's destroy is seen by a second child.
TEST(NvmlMig, TwoProcessesSeeOneGpu) {
  SimHost host({with_mig(h100())});
  auto child = [&](const std::function<int()>& body) {
    const pid_t pid = fork();
    if (pid == 0) _exit(body());
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  };
  // The child initializes its own library state from GPUVM_SIM_STATE.
  EXPECT_EQ(child([] {
              if (nvml().nvmlShutdown() != NVML_SUCCESS) return 10;  // drop the parent's init
              if (nvml().nvmlInit_v2() != NVML_SUCCESS) return 11;
              nvmlDevice_t d = nullptr;
              nvmlGpuInstance_t gi = nullptr;
              if (nvml().nvmlDeviceGetHandleByIndex_v2(0, &d) != NVML_SUCCESS) return 12;
              if (nvml().nvmlDeviceCreateGpuInstance(d, 0, &gi) != NVML_SUCCESS) return 13;
              return nvml().nvmlShutdown() == NVML_SUCCESS ? 0 : 14;
            }),
            0);
  nvmlDevice_t d = host.device(0);
  nvmlGpuInstance_t gi = nullptr;
  ASSERT_EQ(n().nvmlDeviceGetGpuInstanceById(d, 0, &gi), NVML_SUCCESS);
  EXPECT_EQ(info_of(gi).profileId, 0u);
  unsigned int remaining = 9;
  ASSERT_EQ(n().nvmlDeviceGetGpuInstanceRemainingCapacity(d, 19, &remaining), NVML_SUCCESS);
  EXPECT_EQ(remaining, 0u);
  ASSERT_EQ(n().nvmlGpuInstanceDestroy(gi), NVML_SUCCESS);
  EXPECT_EQ(child([] {
              nvmlDevice_t d2 = nullptr;
              unsigned int r = 0;
              if (nvml().nvmlDeviceGetHandleByIndex_v2(0, &d2) != NVML_SUCCESS) return 20;
              if (nvml().nvmlDeviceGetGpuInstanceRemainingCapacity(d2, 19, &r) != NVML_SUCCESS) {
                return 21;
              }
              return r == 7 ? 0 : 22;
            }),
            0);
}

// Four processes race to create 1g instances on one H100: the state file's
// lock makes exactly 7 succeed, the rest get INSUFFICIENT_RESOURCES.
TEST(NvmlMig, ConcurrentProcessesNeverOverbook) {
  SimHost host({with_mig(h100())});
  std::vector<pid_t> pids;
  for (int p = 0; p < 4; ++p) {
    const pid_t pid = fork();
    if (pid == 0) {
      int created = 0;
      nvmlDevice_t d = nullptr;
      if (nvml().nvmlDeviceGetHandleByIndex_v2(0, &d) != NVML_SUCCESS) _exit(100);
      for (;;) {
        nvmlGpuInstance_t gi = nullptr;
        const nvmlReturn_t rc = nvml().nvmlDeviceCreateGpuInstance(d, 19, &gi);
        if (rc == NVML_ERROR_INSUFFICIENT_RESOURCES) break;
        if (rc != NVML_SUCCESS) _exit(101);
        ++created;
      }
      _exit(created);
    }
    pids.push_back(pid);
  }
  int total = 0;
  for (pid_t pid : pids) {
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_LE(WEXITSTATUS(status), 7);
    total += WEXITSTATUS(status);
  }
  EXPECT_EQ(total, 7);
  const auto state = host.state();
  ASSERT_EQ(state.gpus.at(0).mig.gpu_instances.size(), 7u);
  std::vector<uint32_t> ids;
  for (const auto& gi : state.gpus.at(0).mig.gpu_instances) ids.push_back(gi.id);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<uint32_t>{7, 8, 9, 10, 11, 12, 13}));
}

// -lcip Free/Total reflects existing CIs: a 4g GI holding one 1c shows
// 1c 3/4, 2c 1/2, 4g 0/1 (published nvidia-smi output, nvidia-smi-formats.md).
TEST(NvmlMig, ComputeInstanceCapacityAsNvidiaSmiShowsIt) {
  SimHost host({with_mig(h100())});
  nvmlDevice_t d = host.device(0);
  nvmlGpuInstance_t gi = nullptr;
  ASSERT_EQ(n().nvmlDeviceCreateGpuInstance(d, 5, &gi), NVML_SUCCESS);
  nvmlComputeInstance_t ci = nullptr;
  ASSERT_EQ(n().nvmlGpuInstanceCreateComputeInstance(gi, 0, &ci), NVML_SUCCESS);
  for (auto [profile, free, total] :
       std::vector<std::tuple<unsigned, unsigned, unsigned>>{{0, 3, 4}, {1, 1, 2}, {3, 0, 1}}) {
    unsigned int left = 99;
    nvmlComputeInstanceProfileInfo_t info{};
    ASSERT_EQ(n().nvmlGpuInstanceGetComputeInstanceRemainingCapacity(gi, profile, &left),
              NVML_SUCCESS);
    ASSERT_EQ(n().nvmlGpuInstanceGetComputeInstanceProfileInfo(gi, profile, 0, &info),
              NVML_SUCCESS);
    EXPECT_EQ(left, free) << profile;
    EXPECT_EQ(info.instanceCount, total) << profile;
  }
}

}  // namespace
}  // namespace gpuvm::test
