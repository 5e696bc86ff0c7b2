// The agent's commands on a gpuvm-sim host: every undo command (vgpu.destroy,
// gi.destroy) is a no-op success when what it would remove is already gone,
// so that a repeated command raises no false host.command_failed; and a
// malformed command from gpuvmd is rejected on its own (logged, reported
// when it has an id) while the agent and the other commands go on. Skipped
// with a reason without FUSE.
#include "agent/executor.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "agent/agent.h"
#include "core/error.h"
#include "mig/nvml_host.h"
#include "sim/sim_mount.h"
#include "support/test_support.h"

namespace gpuvm::agent {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using server::CommandOp;
using server::HostCommand;

constexpr const char* kHost = R"(driver_version: "580.159.04"
gpus:
  - {address: "0000:41:00.0", model: H100-SXM5-80GB, vgpu_mode: vendor-specific, sriov_totalvfs: 4, mig_mode: enabled}
  - {address: "0000:c1:00.0", model: H100-SXM5-80GB, vgpu_mode: vendor-specific, sriov_totalvfs: 4}
)";

class AgentCommandsSim : public ::testing::Test {
 protected:
  void SetUp() override {
    GPUVM_REQUIRE_FUSE();
    sim_.emplace(dir_, std::string(kHost));
    ::setenv("GPUVM_SIM_STATE", sim_->state().c_str(), 1);  // the mock's host
    test::sriov_manage(*sim_, "0000:41:00.0", "10de 2330", 4);
    test::sriov_manage(*sim_, "0000:c1:00.0", "10de 2330", 4);
    nvml_ = std::make_unique<mig::NvmlHost>(mock().string());
  }
  void TearDown() override {
    nvml_.reset();
    ::unsetenv("GPUVM_SIM_STATE");
  }
  fs::path mock() const { return test::binary_dir() / "src/sim/nvml_mock/libnvidia-ml.so.1"; }
  ExecContext ctx() { return {SysfsRoot(sim_->root()), nvml_.get(), dir_.path() / "state"}; }
  server::CommandResult run(const HostCommand& c) { return execute(ctx(), c); }

  test::TempDir dir_;
  std::optional<test::SimMount> sim_;
  std::unique_ptr<mig::NvmlHost> nvml_;
};

HostCommand vgpu_cmd(CommandOp op, const std::string& device, const std::string& uuid = "") {
  HostCommand c;
  c.id = 1;
  c.op = op;
  c.device = device;
  c.vgpu_type = "H100XM-20C";
  c.uuid = uuid;
  return c;
}

HostCommand gi_cmd(CommandOp op, const std::string& gpu) {
  HostCommand c;
  c.id = 2;
  c.op = op;
  c.gpu = gpu;
  c.mig_profile = "3g.40gb";
  c.mig_start = 4;
  return c;
}

TEST_F(AgentCommandsSim, VgpuDestroyOfAVgpuAlreadyGoneSucceedsAsANoOp) {
  // Time-sliced on the GPU with MIG off.
  auto made = run(vgpu_cmd(CommandOp::kVgpuCreate, "0000:c1:00:4"));
  ASSERT_TRUE(made.ok) << made.message;
  auto gone = run(vgpu_cmd(CommandOp::kVgpuDestroy, "0000:c1:00:4"));
  EXPECT_TRUE(gone.ok) << gone.message;
  // Again: the VF holds nothing now.
  auto again = run(vgpu_cmd(CommandOp::kVgpuDestroy, "0000:c1:00:4"));
  EXPECT_TRUE(again.ok) << again.message;
  EXPECT_NE(again.message.find("nothing to destroy"), std::string::npos) << again.message;
  // By a UUID nobody has, and on a VF that does not exist (VFs disabled since).
  auto by_uuid = run(
      vgpu_cmd(CommandOp::kVgpuDestroy, "0000:c1:00:5", "11111111-2222-4333-8444-555555555555"));
  EXPECT_TRUE(by_uuid.ok) << by_uuid.message;
  auto no_vf = run(vgpu_cmd(CommandOp::kVgpuDestroy, "0000:c1:07:7"));
  EXPECT_TRUE(no_vf.ok) << no_vf.message;
  // A malformed address is still bad input, not "nothing to do".
  auto bad = run(vgpu_cmd(CommandOp::kVgpuDestroy, "not-an-address"));
  EXPECT_FALSE(bad.ok);
}

TEST_F(AgentCommandsSim, GiDestroyOfAGpuInstanceAlreadyGoneSucceedsAsANoOp) {
  auto made = run(gi_cmd(CommandOp::kGiCreate, "0000:41:00:0"));
  ASSERT_TRUE(made.ok) << made.message;
  EXPECT_TRUE(run(gi_cmd(CommandOp::kGiDestroy, "0000:41:00:0")).ok);
  auto again = run(gi_cmd(CommandOp::kGiDestroy, "0000:41:00:0"));
  EXPECT_TRUE(again.ok) << again.message;
  // MIG off on the GPU: no GPU instance can be there.
  auto off = run(gi_cmd(CommandOp::kGiDestroy, "0000:c1:00:0"));
  EXPECT_TRUE(off.ok) << off.message;
  EXPECT_NE(off.message.find("nothing to destroy"), std::string::npos) << off.message;
}

// A stand-in for gpuvmd: answers the command queue with `queue` and records
// the results the agent posts.
class FakeGpuvmd {
 public:
  explicit FakeGpuvmd(std::string queue) : queue_(std::move(queue)) {
    srv_.Get("/api/v1/hosts/h/commands", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(queue_, "application/json");
    });
    srv_.Post("/api/v1/hosts", [this](const httplib::Request&, httplib::Response& res) {
      if (!date_.empty()) res.set_header("Date", date_);
      res.set_content("{}", "application/json");
    });
    srv_.Post(R"(/api/v1/hosts/h/commands/(\d+)/result)",
              [this](const httplib::Request& req, httplib::Response& res) {
                std::lock_guard g(mu_);
                results_[std::stol(req.matches[1])] = json::parse(req.body);
                res.set_content("{}", "application/json");
              });
    port_ = srv_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { srv_.listen_after_bind(); });
    // The socket listens already; stop() must not come before the loop runs.
    while (!srv_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeGpuvmd() {
    srv_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // The Date header of push answers (the server's clock as the agent sees it).
  void set_date(std::string date) { date_ = std::move(date); }
  std::map<long, json> results() {
    std::lock_guard g(mu_);
    return results_;
  }

 private:
  std::string queue_;
  std::string date_;
  httplib::Server srv_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::map<long, json> results_;
};

TEST_F(AgentCommandsSim, MalformedCommandsAreRejectedAloneAndTheAgentGoesOn) {
  auto command = [](json id, const std::string& op) {
    return json{{"id", id},           {"host", "h"},
                {"vm_id", 3},         {"op", op},
                {"state", "queued"},  {"created", false},
                {"message", ""},      {"created_at_ms", 0},
                {"updated_at_ms", 0}, {"device", "0000:c1:00:6"},
                {"vgpu_type", ""},    {"uuid", ""}};
  };
  const json queue = {{"force_update", false},
                      {"commands",
                       {command("abc", "vgpu.destroy"), command(7, "no.such.op"), json(42),
                        command(8, "vgpu.destroy")}}};
  FakeGpuvmd fake(queue.dump());
  AgentOptions o;
  o.server = fake.url();
  o.token = "t";
  o.host_name = "h";
  o.root = SysfsRoot(sim_->root());
  o.nvml_lib = mock().string();
  o.state_dir = dir_.path() / "state";
  std::string log;
  Agent agent(o, [&](const std::string& line) { log += line + "\n"; });
  RoundReport r;
  ASSERT_NO_THROW(r = agent.round()) << log;
  const auto results = fake.results();
  // The one with a usable id is reported failed, naming the problem; the
  // good one ran; those without an id are logged only.
  ASSERT_EQ(results.count(7), 1u) << log;
  EXPECT_EQ(results.at(7)["ok"], false);
  EXPECT_NE(results.at(7)["message"].get<std::string>().find("no.such.op"), std::string::npos)
      << results.at(7).dump();
  ASSERT_EQ(results.count(8), 1u) << log;
  EXPECT_EQ(results.at(8)["ok"], true) << results.at(8).dump();
  EXPECT_EQ(results.size(), 2u);
  EXPECT_EQ(r.commands_done, 1);
  EXPECT_EQ(r.commands_failed, 3);
  EXPECT_NE(log.find("\"abc\""), std::string::npos) << log;
  // The next round runs too (the agent kept going), and logs the same
  // unreportable commands only once.
  ASSERT_NO_THROW(agent.round()) << log;
  size_t n = 0;
  for (size_t at = log.find("\"abc\""); at != std::string::npos; at = log.find("\"abc\"", at + 1))
    ++n;
  EXPECT_EQ(n, 1u) << log;
}

// After a push the agent leaves <state-dir>/agent.json for gpuvm check: when
// it reached gpuvmd and gpuvmd's clock against this host's (the answer's Date
// header); a failing round adds the error, a later push clears it.
TEST_F(AgentCommandsSim, StatusFileSaysWhenGpuvmdWasReachedAndHowFarItsClockIs) {
  const fs::path status = dir_.path() / "state/agent.json";
  std::optional<FakeGpuvmd> fake;
  fake.emplace(R"({"force_update":false,"commands":[]})");
  fake->set_date("Fri, 01 Jan 2100 00:00:00 GMT");  // far ahead of this host
  AgentOptions o;
  o.server = fake->url();
  o.token = "t";
  o.host_name = "h";
  o.root = SysfsRoot(sim_->root());
  o.nvml_lib = mock().string();
  o.state_dir = dir_.path() / "state";
  o.poll_period = std::chrono::milliseconds(50);
  std::string log;
  Agent agent(o, [&](const std::string& line) { log += line + "\n"; });
  ASSERT_NO_THROW(agent.round()) << log;
  json j = json::parse(test::read_file(status));
  EXPECT_EQ(j["server"], fake->url());
  EXPECT_TRUE(j["reached_at_ms"].is_number_integer()) << j.dump();
  EXPECT_GT(j["clock_offset_ms"].get<int64_t>(), int64_t{2'000'000'000'000}) << j.dump();
  EXPECT_FALSE(j.contains("error")) << j.dump();
  EXPECT_EQ(fs::status(status).permissions() & fs::perms::others_all, fs::perms::none);

  // gpuvmd goes away: the running agent records why its rounds fail.
  fake.reset();
  std::atomic<bool> stop{false};
  std::thread t([&] { agent.run(stop); });
  for (int i = 0; i < 400 && !json::parse(test::read_file(status)).contains("error"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  stop = true;
  t.join();
  j = json::parse(test::read_file(status));
  ASSERT_TRUE(j.contains("error")) << j.dump() << log;
  EXPECT_TRUE(j["error_at_ms"].is_number_integer());
  EXPECT_TRUE(j["reached_at_ms"].is_number_integer());  // the last push is kept
}

// Plain http:// to a gpuvmd on another machine carries the token in clear:
// refused unless asked for (--insecure-http); loopback is always fine.
TEST(AgentOptions, PlainHttpToAnotherMachineOnlyWhenAskedFor) {
  AgentOptions o;
  o.server = "http://192.0.2.1:9";  // TEST-NET-1 (RFC 5737): never contacted here
  o.token = "t";
  o.host_name = "h";
  o.nvml_lib = "";
  try {
    Agent a(o);
    FAIL() << "plain http to another machine was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kInvalidArgument) << e.what();
  }
  o.insecure_http = true;
  EXPECT_NO_THROW(Agent a(o));
  o.insecure_http = false;
  o.server = "http://127.0.0.1:9";
  EXPECT_NO_THROW(Agent a(o));
}

}  // namespace
}  // namespace gpuvm::agent
