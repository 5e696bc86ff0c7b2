// End to end on a simulated host: gpuvm-sim (FUSE sysfs + mock NVML), the
// real gpuvmd on SQLite, and `gpuvm agent` as a process. A VM asks for an
// H100 MIG 3g.40gb slice and a vendor-specific time-sliced vGPU; the agent
// makes the GPU instance and both vGPUs through the node part; gpuvmd's view
// and `gpuvm probe --format one` on the host agree; undeploy undoes it all; a
// command the host refuses rolls the VM back. Skipped with a reason without
// FUSE.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "server/gpuvmd_process.h"
#include "sim/sim_mount.h"
#include "support/test_support.h"

namespace gpuvm {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kHost = R"(driver_version: "580.159.04"
gpus:
  - {address: "0000:41:00.0", model: H100-SXM5-80GB, vgpu_mode: vendor-specific, sriov_totalvfs: 4, numa_node: 0, mig_mode: enabled}
  - {address: "0000:c1:00.0", model: H100-SXM5-80GB, vgpu_mode: vendor-specific, sriov_totalvfs: 4, numa_node: 0}
)";

// A process that runs until the object goes away (SIGTERM, then reaped).
class Child {
 public:
  Child(const std::vector<std::string>& args, const fs::path& log) {
    pid_ = ::fork();
    if (pid_ == 0) {
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      std::vector<char*> argv;
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~Child() { stop(); }
  int stop() {
    int status = 0;
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
    return status;
  }

 private:
  pid_t pid_ = -1;
};

// Polls `ok` for up to `seconds`; true when it held.
bool eventually(const std::function<bool()>& ok, int seconds = 30) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (ok()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return ok();
}

// The template's blocks by ADDRESS, without VMID: the probe cannot know it,
// gpuvmd adds it from its allocations.
std::map<std::string, test::OneFields> one_devices(const std::string& text) {
  auto out = test::parse_one_template(text);
  for (auto& [address, fields] : out) fields.erase("VMID");
  return out;
}

class AgentEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    GPUVM_REQUIRE_FUSE();
    sim_.emplace(dir_, std::string(kHost));
    ::setenv("GPUVM_NVML_LIB", GPUVM_NVML_MOCK_PATH, 1);
    ::setenv("GPUVM_SIM_STATE", sim_->state().c_str(), 1);
    for (const char* pf : {"0000:41:00.0", "0000:c1:00.0"})
      test::sriov_manage(*sim_, pf, "10de 2330", 4);
    token_file_ = dir_.path() / "agent.token";
    test::write_file(token_file_, std::string(test::kToken) + "\n");
    gpuvmd_.emplace("sqlite:" + (dir_.path() / "gpuvmd.db").string(), dir_.path());
    api_ = gpuvmd_->client();
  }
  void TearDown() override {
    agent_.reset();
    ::unsetenv("GPUVM_NVML_LIB");
    ::unsetenv("GPUVM_SIM_STATE");
  }
  std::vector<std::string> agent_args(std::vector<std::string> extra) {
    std::vector<std::string> a = {test::bin("gpuvm").string(),
                                  "agent",
                                  "--server",
                                  gpuvmd_->url(),
                                  "--token-file",
                                  token_file_.string(),
                                  "--name",
                                  "sim-host",
                                  "--sysfs-root",
                                  sim_->root().string(),
                                  "--state-dir",
                                  (dir_.path() / "state").string()};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  void start_agent() {
    agent_.emplace(agent_args({"--poll", "0.2"}), dir_.path() / "agent.log");
    ASSERT_TRUE(eventually([&] { return api_->Get("/api/v1/hosts/sim-host")->status == 200; }))
        << test::read_file(dir_.path() / "agent.log");
  }
  test::RunResult gpuvm(std::vector<std::string> args) {
    // `gpuvm mig` reaches the GPU through NVML only (GPUVM_NVML_LIB).
    if (args[0] != "mig") args.insert(args.end(), {"--sysfs-root", sim_->root().string()});
    args.insert(args.begin(), test::bin("gpuvm").string());
    return test::run(args);
  }
  json get(const std::string& path) {
    auto r = api_->Get(path.c_str());
    if (!r || r->status != 200) return json();
    return json::parse(r->body);
  }
  int64_t create_vm(const std::string& body) {
    auto r = api_->Post("/api/v1/vms", body, "application/json");
    EXPECT_EQ(r->status, 201) << r->body;
    return json::parse(r->body)["id"];
  }
  std::string vm_state(int64_t id) { return get("/api/v1/vms/" + std::to_string(id))["state"]; }
  std::string agent_log() { return test::read_file(dir_.path() / "agent.log"); }

  test::TempDir dir_;
  std::optional<test::SimMount> sim_;
  fs::path token_file_;
  std::optional<test::Gpuvmd> gpuvmd_;
  std::unique_ptr<httplib::Client> api_;
  std::optional<Child> agent_;
};

TEST_F(AgentEndToEnd, MigSliceAndVgpuAreMadeByTheAgentAndTheApiAgreesWithTheHost) {
  start_agent();
  json gpus = get("/api/v1/hosts/sim-host/gpus");
  ASSERT_EQ(gpus.size(), 2u) << gpus.dump();

  const int64_t vm = create_vm(
      R"({"name":"train","numa":"required","pci":[{"MIG_PROFILE":"3g.40gb"},{"VGPU_TYPE":"H100XM-20C"}]})");
  auto d =
      api_->Post(("/api/v1/vms/" + std::to_string(vm) + "/deploy").c_str(), "", "application/json");
  ASSERT_EQ(d->status, 200) << d->body;
  ASSERT_TRUE(eventually([&] { return vm_state(vm) == "deployed"; })) << vm_state(vm) << "\n"
                                                                      << agent_log();

  // The host has what the API allocated: the GI at its start, a vGPU on each VF.
  json v = get("/api/v1/vms/" + std::to_string(vm));
  ASSERT_EQ(v["allocations"].size(), 2u) << v.dump();
  const json& mig = v["allocations"][0];
  const json& ts = v["allocations"][1];
  EXPECT_EQ(mig["gpu"], "0000:41:00:0");
  EXPECT_EQ(mig["mig_profile"], "3g.40gb");
  EXPECT_EQ(ts["gpu"], "0000:c1:00:0");
  auto list = gpuvm({"vgpu", "list", "--format", "json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  json vgpus = json::parse(list.out);
  ASSERT_EQ(vgpus.size(), 2u) << list.out;
  auto lgi = gpuvm({"mig", "-lgi"});
  EXPECT_NE(lgi.out.find("3g.40gb"), std::string::npos) << lgi.out << lgi.err;

  // gpuvmd's view of the host's PCI devices is what the host's own probe says.
  std::string differs;
  ASSERT_TRUE(eventually([&] {
    auto mine = one_devices(gpuvm({"probe", "--format", "one"}).out);
    auto theirs = one_devices(api_->Get("/api/v1/hosts/sim-host?format=one")->body);
    differs.clear();
    for (auto& [addr, fields] : mine) {
      auto it = theirs.find(addr);
      if (it == theirs.end()) {
        differs += addr + " is missing from the API\n";
        continue;
      }
      auto t = it->second;
      t.erase("PHYSFN");  // gpuvm's addition for the scheduler
      for (const auto& [k, val] : fields)
        if (t[k] != val) differs += addr + " " + k + ": probe '" + val + "', API '" + t[k] + "'\n";
      for (const auto& [k, val] : t)
        if (!fields.count(k)) differs += addr + " " + k + ": only in the API\n";
    }
    return !mine.empty() && differs.empty();
  })) << differs;
  // The VFs that hold the vGPUs show their profile and the VM, as ONE does.
  auto api_one = one_devices(api_->Get("/api/v1/hosts/sim-host?format=one")->body);
  EXPECT_EQ(api_one.count(mig["device"].get<std::string>()), 1u);

  // Undeploy: the agent destroys both vGPUs and the GI it made.
  api_->Post(("/api/v1/vms/" + std::to_string(vm) + "/undeploy").c_str(), "", "application/json");
  ASSERT_TRUE(eventually([&] {
    json cmds = get("/api/v1/vms/" + std::to_string(vm) + "/commands")["commands"];
    for (const auto& c : cmds)
      if (c["state"] == "queued") return false;
    return true;
  })) << agent_log();
  EXPECT_EQ(json::parse(gpuvm({"vgpu", "list", "--format", "json"}).out).size(), 0u);
  lgi = gpuvm({"mig", "-lgi"});
  EXPECT_EQ(lgi.out.find("3g.40gb"), std::string::npos) << lgi.out;
  // A named value: a range-for over a member of a temporary would dangle.
  const json cmds = get("/api/v1/vms/" + std::to_string(vm) + "/commands")["commands"];
  for (const auto& c : cmds)
    EXPECT_TRUE(c["state"] == "done" || c["state"] == "reverted") << c.dump();
}

TEST_F(AgentEndToEnd, ACommandTheHostRefusesRollsTheVmBack) {
  ASSERT_EQ(test::run(agent_args({"--once"})).exit_code, 0) << "registers the host";
  const int64_t vm = create_vm(R"({"name":"web","pci":[{"VGPU_TYPE":"H100XM-20C"}]})");
  auto d =
      api_->Post(("/api/v1/vms/" + std::to_string(vm) + "/deploy").c_str(), "", "application/json");
  ASSERT_EQ(d->status, 200) << d->body;
  json alloc = json::parse(d->body)["vm"]["allocations"][0];
  // Behind gpuvmd's back, someone gives that VF another vGPU first.
  std::string vf = alloc["device"];
  vf[vf.rfind(':')] = '.';
  auto taken = gpuvm({"vgpu", "create", "--parent", vf, "--type", "H100XM-40C", "--state-dir",
                      (dir_.path() / "state").string()});
  ASSERT_EQ(taken.exit_code, 0) << taken.err;

  auto once = test::run(agent_args({"--once"}));
  EXPECT_EQ(once.exit_code, 1) << once.out << once.err;
  EXPECT_NE(once.err.find("FAILED"), std::string::npos) << once.err;
  json v = get("/api/v1/vms/" + std::to_string(vm));
  EXPECT_EQ(v["state"], "failed");
  EXPECT_TRUE(v["allocations"].empty()) << "rolled back";
  bool told = false;
  for (const auto& e : get("/api/v1/events?limit=1000"))
    told |= e["kind"] == "vm.deploy_failed" && e["object"] == "vm/" + std::to_string(vm);
  EXPECT_TRUE(told);
  // The vGPU someone else made is not touched by the rollback.
  EXPECT_EQ(json::parse(gpuvm({"vgpu", "list", "--format", "json"}).out).size(), 1u);
}

// A push leaves agent.json for gpuvm check: the real gpuvmd's Date header
// gives the clock offset (same machine: within the header's 1 s resolution).
TEST_F(AgentEndToEnd, GpuvmCheckSaysTheAgentReachesGpuvmdAndTheClocksAgree) {
  ASSERT_EQ(test::run(agent_args({"--once"})).exit_code, 0);
  json status = json::parse(test::read_file(dir_.path() / "state/agent.json"));
  EXPECT_EQ(status["server"], gpuvmd_->url());
  ASSERT_TRUE(status["clock_offset_ms"].is_number_integer()) << status.dump();
  EXPECT_LE(std::abs(status["clock_offset_ms"].get<int64_t>()), 2000) << status.dump();
  auto check = gpuvm({"check", "--format", "json", "--state-dir", (dir_.path() / "state").string(),
                      "--proc-root", (dir_.path() / "no-proc").string()});
  json results = json::parse(check.out)["results"];
  int seen = 0;
  for (const auto& r : results) {
    if (r["id"] == "gpuvm.agent" || r["id"] == "clock") {
      EXPECT_EQ(r["status"], "ok") << r.dump();
      ++seen;
    }
  }
  EXPECT_EQ(seen, 2) << check.out << check.err;
}

TEST_F(AgentEndToEnd, DryRunPrintsWhatWouldBeReportedWithoutAServer) {
  auto r = test::run({test::bin("gpuvm").string(), "agent", "--dry-run", "--name", "sim-host",
                      "--server", "http://127.0.0.1:9", "--sysfs-root", sim_->root().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json inv = json::parse(r.out);
  EXPECT_EQ(inv["name"], "sim-host");
  ASSERT_EQ(inv["gpus"].size(), 2u) << r.out;
  EXPECT_TRUE(inv["gpus"][0]["mig"]["enabled"]);
  EXPECT_FALSE(inv["gpus"][0]["mig"]["profiles"].empty());
  EXPECT_EQ(api_->Get("/api/v1/hosts/sim-host")->status, 404) << "nothing was pushed";
}

TEST_F(AgentEndToEnd, ARunningAgentRegistersAgainWhenGpuvmdLostTheHost) {
  start_agent();
  // gpuvmd comes back at the same address on an empty database.
  const int port = gpuvmd_->port();
  gpuvmd_.reset();
  fs::remove(dir_.path() / "gpuvmd.db");
  gpuvmd_.emplace("sqlite:" + (dir_.path() / "gpuvmd.db").string(), dir_.path(), port);
  api_ = gpuvmd_->client();
  EXPECT_TRUE(eventually([&] { return api_->Get("/api/v1/hosts/sim-host")->status == 200; }))
      << agent_log();
  EXPECT_NE(agent_log().find("registering it again"), std::string::npos) << agent_log();
}

TEST_F(AgentEndToEnd, BadOptionsAreClearErrors) {
  auto r = test::run({test::bin("gpuvm").string(), "agent", "--server", gpuvmd_->url(), "--name",
                      "../etc", "--token", "x", "--once"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--name '../etc'"), std::string::npos) << r.err;
  r = test::run({test::bin("gpuvm").string(), "agent", "--server", gpuvmd_->url(), "--name", "h",
                 "--token", "wrong-token-0123456789", "--once", "--sysfs-root",
                 sim_->root().string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("token"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace gpuvm
