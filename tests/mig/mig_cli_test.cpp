// System tests: the real `gpuvm` binary driven against gpuvm-sim's mock
// libnvidia-ml.so.1 (--nvml-lib / GPUVM_NVML_LIB) with the GPUs of a state
// file (GPUVM_SIM_STATE). Every test writes and owns its state.
#include <gtest/gtest.h>

#include <future>
#include <tuple>

#include "core/bdf.h"
#include "mig/nvml_api.h"
#include "sim/host_state.h"
#include "support/test_support.h"

namespace {

using namespace gpuvm;
namespace t = gpuvm::test;

sim::GpuState gpu(const std::string& bdf, const std::string& model, const std::string& uuid,
                  bool mig = false) {
  sim::GpuState g;
  g.bdf = Bdf::parse(bdf);
  g.model = model;
  g.uuid = uuid;
  g.driver_version = "580.159.04";
  g.mig.current = g.mig.pending = mig;
  return g;
}

sim::GpuState h100(bool mig = false) {
  return gpu("0000:00:06.0", "H100-SXM5-80GB", "GPU-c410912c-7daf-78fd-bfd4-3611682e99b6", mig);
}
sim::GpuState a100(bool mig = true) {
  return gpu("0000:41:00.0", "A100-SXM4-40GB", "GPU-a1000000-0000-4000-8000-000000000041", mig);
}

class SimHost {
 public:
  explicit SimHost(std::vector<sim::GpuState> gpus) {
    sim::HostState s;
    s.gpus = std::move(gpus);
    state_ = dir_.path() / "state.json";
    sim::StateFile(state_).write(s);
  }
  t::RunResult gpuvm(std::vector<std::string> args) const {
    args.insert(args.begin(), {t::bin("gpuvm").string(), "mig"});
    return run(args);
  }
  // Any program, with this host's NVML and state.
  t::RunResult run(const std::vector<std::string>& args) const {
    return t::run(args, {{"GPUVM_NVML_LIB", GPUVM_NVML_MOCK_PATH},
                         {"GPUVM_SIM_STATE", state_.string()},
                         {"GPUVM_STATE_DIR", (dir_.path() / "gpuvm-state").string()}});
  }
  sim::HostState state() const { return sim::StateFile(state_).read(); }
  void update(const std::function<void(sim::HostState&)>& fn) const {
    sim::StateFile(state_).update(fn);
  }
  std::filesystem::path write(const std::string& name, const std::string& text) const {
    t::write_file(dir_.path() / name, text);
    return dir_.path() / name;
  }

 private:
  t::TempDir dir_;
  std::filesystem::path state_;
};

// (profile, start, size, CI slice sizes) of every GI: what "unchanged" means.
using Layout = std::vector<std::tuple<uint32_t, uint32_t, uint32_t, size_t>>;
Layout layout(const sim::HostState& s, size_t g = 0) {
  Layout l;
  for (const auto& gi : s.gpus.at(g).mig.gpu_instances)
    l.emplace_back(gi.profile_id, gi.start, gi.size, gi.compute_instances.size());
  std::sort(l.begin(), l.end());
  return l;
}

std::filesystem::path fixture(const std::string& name) {
  return t::shared_dir() / "fixtures/h100-sxm5-passthrough" / name;
}

TEST(MigCli, LgipAndLgippMatchTheRealH100ByteForByte) {
  SimHost host({h100()});
  auto r = host.gpuvm({"-lgip"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, t::read_file(fixture("nvidia-smi-mig-lgip.txt")));
  r = host.gpuvm({"-lgipp"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, t::read_file(fixture("nvidia-smi-mig-lgipp.txt")));
  // Selecting the GPU by index, bus id (both spellings) or UUID changes nothing.
  for (std::string id :
       {"0", "0000:00:06.0", "00000000:00:06.0", "GPU-c410912c-7daf-78fd-bfd4-3611682e99b6"})
    EXPECT_EQ(host.gpuvm({"-i", id, "-lgipp"}).out,
              t::read_file(fixture("nvidia-smi-mig-lgipp.txt")))
        << id;
}

TEST(MigCli, LgiWithMigDisabledSaysWhatNvidiaSmiSays) {
  SimHost host({h100()});
  auto r = host.gpuvm({"-lgi"});
  EXPECT_EQ(r.out, t::read_file(fixture("nvidia-smi-mig-lgi.txt")));
  EXPECT_EQ(r.exit_code, 0);  // as nvidia-smi 580.159.04 on the real H100 (device check)
  for (const char* verb : {"-lcip", "-lci"}) {
    auto l = host.gpuvm({verb});
    EXPECT_EQ(l.out, "No MIG-enabled devices found.\n") << verb;
    EXPECT_EQ(l.exit_code, 0) << verb;
  }
}

TEST(MigCli, OutOfRangeGpu) {
  SimHost host({h100()});
  auto r = host.gpuvm({"-i", "5", "-lgip"});
  EXPECT_EQ(r.out, "No devices were found\n");
  EXPECT_EQ(r.exit_code, 6);
}

TEST(MigCli, BadArgumentsAreUsageErrors) {
  SimHost host({h100()});
  for (auto args : std::vector<std::vector<std::string>>{{"-lgipx"},
                                                         {"-cgi"},
                                                         {"-lgi", "-C"},
                                                         {"-dgi", "-gi", "x"},
                                                         {},
                                                         {"--format", "xml", "-lgi"}}) {
    auto r = host.gpuvm(args);
    EXPECT_EQ(r.exit_code, 2) << (args.empty() ? "" : args[0]) << r.err;
    EXPECT_NE(r.err.find("gpuvm mig: error:"), std::string::npos) << r.err;
  }
}

TEST(MigCli, MissingNvmlIsAClearError) {
  SimHost host({h100()});
  auto r = host.gpuvm({"--nvml-lib", "/nonexistent/libnvidia-ml.so.1", "-lgip"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot load the NVML library /nonexistent/libnvidia-ml.so.1"),
            std::string::npos)
      << r.err;
}

TEST(MigCli, EnableDisable) {
  SimHost host({h100(), a100(false)});
  auto r = host.gpuvm({"enable", "-i", "0"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "Enabled MIG Mode for GPU 00000000:00:06.0\nAll done.\n");
  EXPECT_TRUE(host.state().gpus[0].mig.current);
  // The A100 keeps the change pending until a GPU reset.
  r = host.gpuvm({"enable", "-i", "1"});
  EXPECT_NE(r.out.find("Warning: MIG mode is in pending enable state for GPU 00000000:41:00.0:"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("Reboot the system or try nvidia-smi --gpu-reset to make MIG mode "
                       "effective on GPU 00000000:41:00.0\n"),
            std::string::npos);
  EXPECT_FALSE(host.state().gpus[1].mig.current);
  EXPECT_TRUE(host.state().gpus[1].mig.pending);
  r = host.gpuvm({"disable", "-i", "0"});
  EXPECT_EQ(r.out, "Disabled MIG Mode for GPU 00000000:00:06.0\nAll done.\n");
}

TEST(MigCli, CreateListDestroyLikeNvidiaSmi) {
  SimHost host({h100(true)});
  auto r = host.gpuvm({"-cgi", "9,MIG 1g.10gb,2g.20gb", "-C"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // One GI line, then its CI line, per profile, in the order given.
  std::vector<std::string> lines;
  for (size_t p = 0, n; (n = r.out.find('\n', p)) != std::string::npos; p = n + 1)
    lines.push_back(r.out.substr(p, n - p));
  ASSERT_EQ(lines.size(), 6u) << r.out;
  EXPECT_TRUE(lines[0].starts_with("Successfully created GPU instance ID ")) << lines[0];
  EXPECT_TRUE(lines[0].ends_with(" on GPU  0 using profile MIG 3g.40gb (ID  9)")) << lines[0];
  EXPECT_TRUE(lines[1].starts_with(
      "Successfully created compute instance ID  0 on GPU  0 GPU instance ID "));
  EXPECT_TRUE(lines[1].ends_with("using profile MIG 3g.40gb (ID  2)")) << lines[1];
  EXPECT_TRUE(lines[3].ends_with("using profile MIG 1g.10gb (ID  0)")) << lines[3];
  r = host.gpuvm({"-lgi"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("|   0  MIG 1g.10gb           19 "), std::string::npos) << r.out;
  EXPECT_LT(r.out.find("MIG 1g.10gb"), r.out.find("MIG 3g.40gb")) << "rows in -lgip order";
  r = host.gpuvm({"-lci", "--format", "json"});
  EXPECT_NE(r.out.find("\"compute_instances\""), std::string::npos);
  r = host.gpuvm({"-lcip"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("MIG 1c.3g.40gb"), std::string::npos) << r.out;
  // A GI that still holds a CI cannot go.
  r = host.gpuvm({"-dgi"});
  EXPECT_EQ(r.exit_code, 19) << r.out;
  EXPECT_NE(r.out.find(": In use by another client\nFailed to destroy GPU instances: In use by "
                       "another client\n"),
            std::string::npos)
      << r.out;
  r = host.gpuvm({"-dci"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(
      r.out.find("Successfully destroyed compute instance ID  0 from GPU  0 GPU instance ID "),
      std::string::npos);
  r = host.gpuvm({"-dgi"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(host.state().gpus[0].mig.gpu_instances.empty());
  r = host.gpuvm({"-lgi"});
  EXPECT_EQ(r.out, "No GPU instances found: Not Found\n");
  EXPECT_EQ(r.exit_code, 6);
}

TEST(MigCli, FullGpuAndBadProfile) {
  SimHost host({h100(true)});
  ASSERT_EQ(host.gpuvm({"-cgi", "0"}).exit_code, 0);
  auto r = host.gpuvm({"-cgi", "19"});
  EXPECT_EQ(r.out,
            "Unable to create a GPU instance on GPU  0 using profile 19: Insufficient Resources\n"
            "Failed to create GPU instances: Insufficient Resources\n");
  EXPECT_EQ(r.exit_code, 23);
  r = host.gpuvm({"-cgi", "1g.99gb"});
  EXPECT_EQ(r.out,
            "Unable to create a GPU instance on GPU  0 using profile 1g.99gb: Invalid Argument\n"
            "Failed to create GPU instances: Invalid Argument\n");
  EXPECT_EQ(r.exit_code, 2);
}

TEST(MigCli, A100OrderFailsForNvidiaSmiWaysButApplyWorksInAnyOrder) {
  SimHost host({a100()});
  auto r = host.gpuvm({"-cgi", "19,19,14,9"});
  EXPECT_EQ(r.exit_code, 23) << r.out;
  EXPECT_NE(r.out.find("Unable to create a GPU instance on GPU  0 using profile 9: Insufficient "
                       "Resources"),
            std::string::npos)
      << r.out;
  ASSERT_EQ(host.gpuvm({"-dgi"}).exit_code, 0);
  EXPECT_EQ(host.gpuvm({"-cgi", "9,19,14,19"}).exit_code, 0);
  ASSERT_EQ(host.gpuvm({"-dgi"}).exit_code, 0);
  // The same multiset through apply, in the failing order, from empty.
  auto cfg = host.write("a100.yaml",
                        "version: v1\n"
                        "mig-configs:\n"
                        "  mixed:\n"
                        "    - devices: all\n"
                        "      mig-enabled: true\n"
                        "      mig-devices:\n"
                        "        \"1g.5gb\": 2\n"
                        "        \"2g.10gb\": 1\n"
                        "        \"3g.20gb\": 1\n");
  r = host.gpuvm({"apply", "-f", cfg.string(), "-c", "mixed"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("MIG configuration applied successfully"), std::string::npos);
  EXPECT_EQ(host.state().gpus[0].mig.gpu_instances.size(), 4u);
  r = host.gpuvm({"assert", "-f", cfg.string(), "-c", "mixed"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Selected MIG configuration currently applied\n");
  // A second apply changes nothing.
  r = host.gpuvm({"apply", "-f", cfg.string(), "-c", "mixed"});
  EXPECT_NE(r.out.find("already as configured"), std::string::npos) << r.out;
}

TEST(MigCli, ApplyKeepsWhatFitsAndDestroysOnlyWhatMustGo) {
  SimHost host({h100(true)});
  // 1g@6, 1g@4, 2g@0 by the driver's default placement, each with a CI.
  ASSERT_EQ(host.gpuvm({"-cgi", "19,19,14", "-C"}).exit_code, 0);
  auto cfg = host.write("c.yaml",
                        "version: v1\nmig-configs:\n  c:\n    - devices: [0]\n      mig-enabled: "
                        "true\n      mig-devices: {\"1g.10gb\": 2, \"3g.40gb\": 1}\n");
  auto dry = host.gpuvm({"apply", "-f", cfg.string(), "-c", "c", "--dry-run"});
  EXPECT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_NE(dry.out.find("destroy GPU instance"), std::string::npos) << dry.out;
  Layout before = layout(host.state());
  auto r = host.gpuvm({"apply", "-f", cfg.string(), "-c", "c"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // The 1g at 4 blocks the 3g at 4:4, so it goes; the one at 6 cannot stay
  // either (3g@0 + 1g@6 leaves no 1g slot... the solver decides) — but the
  // 2g always goes and at most two GIs are destroyed.
  EXPECT_EQ(host.gpuvm({"assert", "-f", cfg.string(), "-c", "c"}).exit_code, 0);
  (void)before;
}

TEST(MigCli, AFailedCreateMidwayLeavesTheGpuAsBefore) {
  SimHost host({h100(true)});
  auto cfg = host.write("c.yaml",
                        "version: v1\nmig-configs:\n"
                        "  first:\n    - devices: all\n      mig-enabled: true\n"
                        "      mig-devices: {\"3g.40gb\": 2}\n"
                        "  second:\n    - devices: all\n      mig-enabled: true\n"
                        "      mig-devices: {\"3g.40gb\": 1, \"1g.10gb\": 3, \"2g.20gb\": 0}\n");
  ASSERT_EQ(host.gpuvm({"apply", "-f", cfg.string(), "-c", "first"}).exit_code, 0);
  const Layout before = layout(host.state());
  // The second compute-instance create fails: by then one 3g is gone and a
  // 1g GI exists; all of it must be undone.
  host.update([](sim::HostState& s) {
    sim::FaultState f;
    f.call = "nvmlGpuInstanceCreateComputeInstance";
    f.nvml_return = NVML_ERROR_INSUFFICIENT_RESOURCES;
    f.count = 1;
    s.faults.push_back(f);
  });
  auto r = host.gpuvm({"apply", "-f", cfg.string(), "-c", "second"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("GPU 0 (00000000:00:06.0)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("NVML_ERROR_INSUFFICIENT_RESOURCES"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("the GPU is as before"), std::string::npos) << r.err;
  EXPECT_EQ(layout(host.state()), before);
  // Without the fault it works.
  r = host.gpuvm({"apply", "-f", cfg.string(), "-c", "second"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST(MigCli, DeviceCheckerAndStandaloneMigAgree) {
  // tools/device: the checker reads every profile index through our loader;
  // gpuvm-mig is `gpuvm mig` alone and prints the same bytes.
  SimHost host({h100()});
  auto r = host.run({GPUVM_DEVICE_BIN "/gpuvm-nvml-check"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("gpu 0 gi enum 0 plain: rc=0 (Success)"), std::string::npos) << r.out;
  EXPECT_NE(
      r.out.find("gpu 0 gi profile 19 placements: rc=0 count=7 {0:1,1:1,2:1,3:1,4:1,5:1,6:1}"),
      std::string::npos)
      << r.out;
  for (std::string verb : {"-lgip", "-lgipp", "-lgi"}) {
    auto a = host.run({GPUVM_DEVICE_BIN "/gpuvm-mig", verb});
    auto b = host.gpuvm({verb});
    EXPECT_EQ(a.out, b.out) << verb;
    EXPECT_EQ(a.exit_code, b.exit_code) << verb;
  }
}

TEST(MigCli, ConcurrentAppliesAreSerialized) {
  // Two applies at once on one host: the lock in --state-dir makes one wait
  // for the other, so both succeed and the GPU ends in one whole layout.
  SimHost host({h100(true), a100(true)});
  auto cfg = host.write("c.yaml",
                        "version: v1\nmig-configs:\n"
                        "  small:\n    - devices: all\n      mig-enabled: true\n"
                        "      mig-devices: {\"1g.10gb\": 7}\n"
                        "  big:\n    - devices: [0]\n      mig-enabled: true\n"
                        "      mig-devices: {\"3g.40gb\": 2}\n"
                        "    - devices: [1]\n      mig-enabled: true\n"
                        "      mig-devices: {\"7g.40gb\": 1}\n");
  // The A100 has no 1g.10gb: "small" must fail on validation (exit 2)
  // before it touches anything, whatever runs first.
  auto a = std::async(std::launch::async, [&] {
    return host.gpuvm({"apply", "-f", cfg.string(), "-c", "big"});
  });
  auto b = std::async(std::launch::async, [&] {
    return host.gpuvm({"apply", "-f", cfg.string(), "-c", "big"});
  });
  auto ra = a.get(), rb = b.get();
  EXPECT_EQ(ra.exit_code, 0) << ra.out << ra.err;
  EXPECT_EQ(rb.exit_code, 0) << rb.out << rb.err;
  // One of them did the work, the other found it done.
  EXPECT_NE((ra.out + rb.out).find("already as configured"), std::string::npos) << ra.out << rb.out;
  EXPECT_EQ(host.gpuvm({"assert", "-f", cfg.string(), "-c", "big"}).exit_code, 0);
  EXPECT_EQ(host.gpuvm({"apply", "-f", cfg.string(), "-c", "small"}).exit_code, 2);
}

TEST(MigCli, BadConfigsChangeNothing) {
  SimHost host({h100(true)});
  ASSERT_EQ(host.gpuvm({"-cgi", "19", "-C"}).exit_code, 0);
  const Layout before = layout(host.state());
  struct Case {
    std::string text, name, expect;
  } cases[] = {
      {"version: v1\nmig-configs: [\n", "x", "not a YAML file"},
      {"version: v2\nmig-configs:\n  x:\n    - devices: all\n      mig-enabled: false\n", "x",
       "unsupported version 'v2'"},
      {"version: v1\nmig-configs:\n  x:\n    - devices: all\n      mig-enabled: false\n", "y",
       "no config named 'y' (it has: x)"},
      {"version: v1\nmig-configs:\n  x:\n    - devices: all\n      mig-enabled: true\n"
       "      mig-devices: {\"1g.99gb\": 1}\n",
       "x", "unknown MIG profile '1g.99gb'"},
      {"version: v1\nmig-configs:\n  x:\n    - devices: all\n      mig-enabled: true\n"
       "      mig-devices: {\"3g.40gb\": 2, \"4g.40gb\": 1}\n",
       "x", "does not fit"},
      {"version: v1\nmig-configs:\n  x:\n    - devices: [3]\n      mig-enabled: false\n", "x",
       "names GPU 3, but this host has 1 GPU(s)"},
      // Were "internal error", exit 1 (a key that is a list), and allocation
      // until out of memory (a count of 4000000000).
      {"version: v1\nmig-configs:\n  x:\n    - devices: all\n      mig-enabled: true\n"
       "      mig-devices: {[1g.10gb]: 1}\n",
       "x", "bad.yaml:6:21: a key in mig-devices of config 'x' is a list"},
      {"version: v1\nmig-configs:\n  x:\n    - devices: all\n      mig-enabled: true\n"
       "      mig-devices: {\"1g.10gb\": 4000000000}\n",
       "x", "bad.yaml:6:32: the count of 1g.10gb is 4000000000; a GPU holds at most 7"},
  };
  for (const Case& c : cases) {
    auto cfg = host.write("bad.yaml", c.text);
    auto r = host.gpuvm({"apply", "-f", cfg.string(), "-c", c.name});
    EXPECT_EQ(r.exit_code, 2) << c.text << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << r.err;
    EXPECT_EQ(layout(host.state()), before);
  }
}

}  // namespace
