#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error.h"
#include "sim/host_state.h"
#include "support/test_support.h"

namespace gpuvm::sim {
namespace {

HostState sample() {
  HostState s;
  s.next_iommu_group = 7;
  s.meta.spec_path = "/tmp/spec.yaml";
  GpuState g;
  g.bdf = Bdf::parse("0000:41:00.0");
  g.model = "H100-SXM5-80GB";
  g.numa_node = 1;
  g.driver_version = "580.159.04";
  g.uuid = "GPU-c410912c-7daf-78fd-bfd4-3611682e99b6";
  g.vgpu_mode = VgpuMode::kVendorSpecific;
  g.sriov_totalvfs = 32;
  g.iommu_group = 3;
  VfState vf;
  vf.iommu_group = 5;
  vf.vgpu_type = 1414;
  vf.gpu_instance_id = 2;
  vf.placement_id = 4;
  vf.vgpu_params = "frame_rate_limiter=0";
  vf.driver_override = "vfio-pci";
  g.vfs.push_back(vf);
  VfState vf2;
  vf2.iommu_group = 6;
  g.vfs.push_back(vf2);
  g.driver = "pci-pf-stub";
  g.heterogeneous_mode = true;
  g.mdevs.push_back(
      {"e4042b96-e63d-56cf-bcc8-4e6eecccc12e", 474, Bdf::parse("0000:41:00.4"), 9, 3});
  g.vfs[0].warm_update = true;
  g.mig.current = true;
  g.mig.pending = false;
  GpuInstanceState gi{2, 9, 4, 4, {}};
  gi.compute_instances.push_back({0, 2, 0, 3});
  g.mig.gpu_instances.push_back(gi);
  g.fallen_off_bus = true;
  s.gpus.push_back(g);
  PciDeviceState nic;
  nic.bdf = Bdf::parse("0000:c1:00.0");
  nic.vendor = 0x15b3;
  nic.device = 0x101d;
  nic.class_code = 0x020000;
  nic.driver = "mlx5_core";
  nic.sriov_totalvfs = 16;
  s.devices.push_back(nic);
  s.dynamic_ids.push_back({"pci-pf-stub", 0x10de, 0x2330});
  s.faults.push_back({"nvmlDeviceCreateGpuInstance", 23, std::nullopt, 2, 0, g.bdf});
  s.faults.push_back({"sysfs:sriov_numvfs", std::nullopt, 16, -1, 100, std::nullopt});
  return s;
}

TEST(SimState, JsonRoundTripKeepsEveryField) {
  HostState s = sample();
  std::string text = to_json(s);
  HostState back = from_json(text, "test");
  EXPECT_EQ(to_json(back), text);
  ASSERT_EQ(back.gpus.size(), 1u);
  const auto& g = back.gpus[0];
  EXPECT_EQ(g.bdf.str(), "0000:41:00.0");
  EXPECT_EQ(g.vgpu_mode, VgpuMode::kVendorSpecific);
  EXPECT_EQ(g.sriov_numvfs(), 2u);
  EXPECT_EQ(g.vfs[0].gpu_instance_id, 2u);
  EXPECT_FALSE(g.vfs[1].placement_id.has_value());
  EXPECT_EQ(g.mig.gpu_instances.at(0).compute_instances.at(0).size, 3u);
  EXPECT_EQ(back.faults.at(0).gpu, g.bdf);
  EXPECT_EQ(back.faults.at(1).err_no, 16);
}

TEST(SimState, RejectsGarbageNamingTheOrigin) {
  try {
    from_json("{\"format\": 1}", "/x/state.json");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("/x/state.json"), std::string::npos) << e.what();
  }
  EXPECT_THROW(from_json("not json", "o"), Error);
  EXPECT_THROW(from_json("{\"format\": 99}", "o"), Error);
}

TEST(SimState, VfAddressesFollowOffsetFourStrideOne) {
  Bdf pf = Bdf::parse("0000:41:00.0");
  EXPECT_EQ(vf_bdf(pf, 0).str(), "0000:41:00.4");
  EXPECT_EQ(vf_bdf(pf, 3).str(), "0000:41:00.7");
  EXPECT_EQ(vf_bdf(pf, 4).str(), "0000:41:01.0");
  EXPECT_EQ(vf_bdf(pf, 31).str(), "0000:41:04.3");  // OpenNebula's A10 example
}

TEST(SimState, FaultsAreConsumedAndScopedToTheirGpu) {
  HostState s = sample();
  Bdf other = Bdf::parse("0000:42:00.0");
  EXPECT_FALSE(s.take_fault("nvmlDeviceCreateGpuInstance", other));
  EXPECT_TRUE(s.take_fault("nvmlDeviceCreateGpuInstance", s.gpus[0].bdf));
  EXPECT_TRUE(s.take_fault("nvmlDeviceCreateGpuInstance", s.gpus[0].bdf));
  EXPECT_FALSE(s.take_fault("nvmlDeviceCreateGpuInstance", s.gpus[0].bdf));
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(s.take_fault("sysfs:sriov_numvfs", std::nullopt));
}

TEST(SimState, FileReadMissingIsNotFound) {
  test::TempDir dir;
  StateFile f(StateFile::path_in(dir.path()));
  EXPECT_FALSE(f.exists());
  try {
    f.read();
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kNotFound);
  }
}

TEST(SimState, UpdateThatThrowsChangesNothing) {
  test::TempDir dir;
  StateFile f(StateFile::path_in(dir.path()));
  f.write(sample());
  EXPECT_THROW(f.update([](HostState& s) {
    s.gpus.clear();
    throw std::runtime_error("no");
  }),
               std::runtime_error);
  EXPECT_EQ(StateFile(f.path()).read().gpus.size(), 1u);
}

TEST(SimState, ConcurrentUpdatesFromTwoProcessesAreNotLost) {
  test::TempDir dir;
  const auto path = StateFile::path_in(dir.path());
  StateFile(path).write(HostState{});
  constexpr int kPerProcess = 200;
  pid_t kids[2];
  for (pid_t& kid : kids) {
    kid = fork();
    ASSERT_GE(kid, 0);
    if (kid == 0) {
      StateFile f(path);  // its own object: no shared cache
      for (int i = 0; i < kPerProcess; ++i) f.update([](HostState& s) { ++s.next_iommu_group; });
      _exit(0);
    }
  }
  for (pid_t kid : kids) {
    int status = 0;
    ASSERT_EQ(waitpid(kid, &status, 0), kid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  HostState s = StateFile(path).read();
  EXPECT_EQ(s.next_iommu_group, 2u * kPerProcess);
  EXPECT_EQ(s.generation, 2u * kPerProcess + 0);
}

TEST(SimState, EnvironmentVariableWinsOverTheMount) {
  ::setenv("GPUVM_SIM_STATE", "/somewhere/state.json", 1);
  EXPECT_EQ(locate_state_file(std::filesystem::path("/nonexistent")),
            std::filesystem::path("/somewhere/state.json"));
  ::unsetenv("GPUVM_SIM_STATE");
  EXPECT_EQ(locate_state_file(std::filesystem::path("/nonexistent")), std::nullopt);
  EXPECT_EQ(locate_state_file(std::nullopt), std::nullopt);
}

}  // namespace
}  // namespace gpuvm::sim
