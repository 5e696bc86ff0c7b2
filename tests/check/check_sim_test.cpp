// gpuvm check on simulated hosts (gpuvm-sim: FUSE sysfs, mock NVML, and the
// /proc, /dev and /etc files `up` writes) built from the specs in
// tests/check/hosts/, and on the real H100 capture. Skipped with a reason
// without FUSE (CI provides it).
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "sim/sim_mount.h"
#include "support/test_support.h"

namespace gpuvm {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path host_spec(const std::string& name) {
  return test::source_dir() / "tests/check/hosts" / (name + ".yaml");
}

struct Checked {
  int exit_code = -1;
  json doc;
  std::string err;
  // The status of check `id` (for `gpu` when given); "" when absent.
  std::string status(const std::string& id, const std::string& gpu = "") const {
    for (const auto& r : doc["results"])
      if (r["id"] == id && r.value("gpu", "") == gpu) return r["status"];
    return "";
  }
  std::string seen(const std::string& id, const std::string& gpu = "") const {
    for (const auto& r : doc["results"])
      if (r["id"] == id && r.value("gpu", "") == gpu) return r["seen"];
    return "";
  }
};

class CheckSimTest : public ::testing::Test {
 protected:
  void up(const std::string& name) {
    sim_ = std::make_unique<test::SimMount>(dir_, host_spec(name));
    ASSERT_EQ(sim_->up_result().exit_code, 0) << sim_->up_result().err;
  }
  // The simulated host's /proc, /dev, /etc: next to its state file.
  fs::path state_dir() const { return sim_->state().parent_path(); }
  Checked check(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {"check",
                                     "--format",
                                     "json",
                                     "--proc-root",
                                     (state_dir() / "proc").string(),
                                     "--dev-root",
                                     (state_dir() / "dev").string(),
                                     "--etc-root",
                                     (state_dir() / "etc").string()};
    for (auto& e : extra) argv.push_back(std::move(e));
    const auto r = test::run(
        test::gpuvm_argv(*sim_, argv, dir_.path() / "gpuvm-state"),
        {{"GPUVM_NVML_LIB", GPUVM_NVML_MOCK_PATH}, {"GPUVM_SIM_STATE", sim_->state().string()}});
    Checked c;
    c.exit_code = r.exit_code;
    c.err = r.err;
    c.doc = json::parse(r.out, nullptr, false);
    if (r.exit_code != 2) {
      EXPECT_FALSE(c.doc.is_discarded()) << r.out << r.err;
    }
    return c;
  }

  test::TempDir dir_;
  std::unique_ptr<test::SimMount> sim_;
};

TEST_F(CheckSimTest, ReadyHostPassesOnceVfsAreEnabled) {
  GPUVM_REQUIRE_FUSE();
  up("ready");
  Checked c = check();
  EXPECT_EQ(c.exit_code, 0) << c.doc.dump(1);
  // Vendor-specific hosts show no vGPU manager before their VFs exist: "for vGPU only".
  EXPECT_EQ(c.status("sriov", "0000:41:00.0"), "ok");
  EXPECT_NE(c.seen("sriov", "0000:41:00.0").find("0/4 VFs"), std::string::npos);
  EXPECT_EQ(c.status("iommu.group", "0000:41:00.0"), "ok");
  EXPECT_NE(c.seen("iommu.group", "0000:41:00.0").find("bridges only (0000:40:01.0)"),
            std::string::npos);
  // The fix it suggests, then nothing left to fix.
  const auto en = test::run(
      test::gpuvm_argv(*sim_, {"sriov", "enable", "0000:41:00.0"}, dir_.path() / "gpuvm-state"));
  ASSERT_EQ(en.exit_code, 0) << en.err;
  c = check();
  EXPECT_EQ(c.exit_code, 0);
  EXPECT_EQ(c.doc["status"], "ok") << c.doc.dump(1);
  EXPECT_EQ(c.seen("sriov", "0000:41:00.0"), "4/4 VFs enabled");
  EXPECT_NE(c.seen("driver.vgpu").find("vendor-specific VFIO"), std::string::npos);
  EXPECT_NE(c.seen("driver.nvidia").find("580.159.04, NVML 580.159.04"), std::string::npos);
  EXPECT_EQ(c.seen("mig", "0000:41:00.0"), "MIG-capable, MIG off");
  EXPECT_NE(c.seen("vfio.qemu-user").find("can open all 1 VFIO nodes"), std::string::npos);

  // node.yaml: drift until applied.
  const fs::path yaml = dir_.path() / "node.yaml";
  test::write_file(yaml,
                   "version: v1\ngpus:\n  - address: \"0000:41:00.0\"\n    vgpus:\n"
                   "      - {type: H100XM-20C, count: 1}\n");
  c = check({"--node-config", yaml.string()});
  EXPECT_EQ(c.exit_code, 0);
  EXPECT_EQ(c.status("node.config"), "warn");
  EXPECT_NE(c.seen("node.config").find("drift"), std::string::npos) << c.seen("node.config");
  EXPECT_EQ(c.status("gpuvm.units"), "warn");  // gpuvm-node.service not enabled
  const auto ap = test::run(
      test::gpuvm_argv(*sim_, {"node", "apply", "-f", yaml.string()}, dir_.path() / "gpuvm-state"),
      {{"GPUVM_NVML_LIB", GPUVM_NVML_MOCK_PATH}, {"GPUVM_SIM_STATE", sim_->state().string()}});
  ASSERT_EQ(ap.exit_code, 0) << ap.err;
  c = check({"--node-config", yaml.string()});
  EXPECT_EQ(c.status("node.config"), "ok") << c.seen("node.config");
  // A file that is not there is bad input.
  c = check({"--node-config", (dir_.path() / "missing.yaml").string()});
  EXPECT_EQ(c.exit_code, 2);
  EXPECT_NE(c.err.find("missing.yaml"), std::string::npos) << c.err;
}

TEST_F(CheckSimTest, VmWithoutIommuFails) {
  GPUVM_REQUIRE_FUSE();
  up("vm-no-iommu");
  const Checked c = check();
  EXPECT_EQ(c.exit_code, 1) << c.doc.dump(1);
  EXPECT_EQ(c.status("host.kind"), "warn");
  EXPECT_EQ(c.status("iommu.enabled"), "fail");
  EXPECT_EQ(c.status("iommu.cmdline"), "fail");
  EXPECT_EQ(c.status("iommu.group", "0000:00:06.0"), "fail");
  EXPECT_EQ(c.status("sriov", "0000:00:06.0"), "ok");  // none in a VM
  EXPECT_EQ(c.status("driver.vfio-pci"), "warn");      // not loaded
  EXPECT_EQ(c.status("driver.nvidia"), "ok");
}

TEST_F(CheckSimTest, SharedGroupWorldOpenVfioAndNouveau) {
  GPUVM_REQUIRE_FUSE();
  up("shared-group");
  const Checked c = check();
  EXPECT_EQ(c.exit_code, 0) << c.doc.dump(1);  // warnings only
  EXPECT_EQ(c.status("iommu.group", "0000:41:00.0"), "warn");
  const std::string g = c.seen("iommu.group", "0000:41:00.0");
  EXPECT_NE(g.find("other functions of the GPU: 0000:41:00.1"), std::string::npos) << g;
  EXPECT_NE(g.find("shared with: 0000:42:00.0"), std::string::npos) << g;
  EXPECT_EQ(c.status("iommu.cmdline"), "warn");  // no iommu=pt
  EXPECT_EQ(c.status("driver.nouveau"), "warn");
  EXPECT_EQ(c.status("vfio.modes"), "warn");
  EXPECT_EQ(c.status("vfio.qemu-user"), "ok");  // 0666: anyone, QEMU too
}

TEST_F(CheckSimTest, LegacyHostWithoutVgpuManagerFails) {
  GPUVM_REQUIRE_FUSE();
  up("legacy-no-mgr");
  const Checked c = check();
  EXPECT_EQ(c.exit_code, 1);
  EXPECT_EQ(c.status("driver.vgpu"), "fail") << c.doc.dump(1);
  EXPECT_EQ(c.status("mig", "0000:41:00.0"), "ok");
  EXPECT_EQ(c.seen("mig", "0000:41:00.0"), "MIG-capable, MIG on");
  // The table form: one line per check, fixes below, the counts last.
  const auto t = test::run(test::gpuvm_argv(
      *sim_,
      {"check", "--proc-root", (state_dir() / "proc").string(), "--dev-root",
       (state_dir() / "dev").string(), "--etc-root", (state_dir() / "etc").string()},
      dir_.path() / "gpuvm-state"));
  EXPECT_EQ(t.exit_code, 1);
  EXPECT_NE(t.out.find("fail   driver.vgpu"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("fix: systemctl enable --now nvidia-vgpud.service nvidia-vgpu-mgr.service"),
            std::string::npos)
      << t.out;
}

// The real capture (a VM with a passed-through H100, no vIOMMU): what its
// sysfs shows, without /proc or NVML.
TEST(CheckCaptureTest, H100PassthroughCapture) {
  test::TempDir dir;
  test::extract_tarball(test::shared_dir() / "fixtures/h100-sxm5-passthrough/sysfs.tar.gz",
                        dir.path());
  const fs::path empty = dir.path() / "empty";
  fs::create_directories(empty);
  const auto r =
      test::run({test::bin("gpuvm").string(), "check", "--format", "json", "--sysfs-root",
                 (dir.path() / "sysfs-snapshot/sys").string(), "--proc-root", empty.string(),
                 "--dev-root", empty.string(), "--etc-root", empty.string(), "--nvml-lib",
                 (empty / "libnvidia-ml.so.1").string()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const json doc = json::parse(r.out);
  std::map<std::string, std::string> status;
  for (const auto& x : doc["results"]) status[x["id"].get<std::string>()] = x["status"];
  EXPECT_EQ(status["host.kind"], "warn");      // virtio devices: a VM
  EXPECT_EQ(status["iommu.enabled"], "fail");  // no iommu_groups in the capture
  EXPECT_EQ(status["iommu.group"], "fail");
  EXPECT_EQ(status["sriov"], "ok");            // none in a VM
  EXPECT_EQ(status["driver.nvidia"], "warn");  // bound to nvidia, NVML not given
  EXPECT_EQ(status["mig"], "warn");
}

}  // namespace
}  // namespace gpuvm
