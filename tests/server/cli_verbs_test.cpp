// `gpuvm host ...` and `gpuvm vm ...`: the real binary against an in-process
// gpuvmd API (SQLite; the verbs do not depend on the backend).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "server/api/server.h"
#include "server/fixtures.h"
#include "server/test_db.h"

namespace gpuvm::server {
namespace {

using gpuvm::test::bin;
using gpuvm::test::run;

constexpr const char* kToken = "cli-token-0123456789abcdef";

class CliVerbs : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = Store::open(db_.url());
    store_->add_token("cli", token_hash(kToken));
    store_->put_host(test::h100_host("node-1", 2, {.mig = true, .vfs = 4}));
    ApiOptions opt;
    opt.port = 0;
    server_ = std::make_unique<ApiServer>(*store_, opt);
    port_ = server_->bind();
    thread_ = std::thread([this] { server_->serve(); });
    env_ = {{"GPUVM_SERVER", "http://127.0.0.1:" + std::to_string(port_)}, {"GPUVM_TOKEN", kToken}};
  }
  void TearDown() override {
    server_->stop();
    thread_.join();
  }
  gpuvm::test::RunResult gpuvm(std::vector<std::string> args) {
    args.insert(args.begin(), bin("gpuvm").string());
    return run(args, env_);
  }

  test::TestDb db_{"sqlite"};
  std::unique_ptr<Store> store_;
  std::unique_ptr<ApiServer> server_;
  std::thread thread_;
  int port_ = 0;
  std::map<std::string, std::string> env_;
};

TEST_F(CliVerbs, HostListAndShow) {
  auto r = gpuvm({"host", "list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("NAME"), std::string::npos);
  EXPECT_NE(r.out.find("node-1"), std::string::npos) << r.out;
  r = gpuvm({"host", "list", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)[0]["gpus"], 2);
  r = gpuvm({"host", "show", "node-1", "--format", "one"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("PCI = [", 0), 0u);
  r = gpuvm({"host", "show", "nope"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("host nope is not registered"), std::string::npos) << r.err;
}

TEST_F(CliVerbs, VmCreateDeployListDelete) {
  auto r = gpuvm({"vm", "create", "train", "--pci", "MIG_PROFILE=3g.40gb", "--pci",
                  "VGPU_TYPE=H100XM-1-10C", "--numa", "required", "--deploy", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto vm = nlohmann::json::parse(r.out)[0];
  EXPECT_EQ(vm["state"], "deploying") << "until the host's agent has made the GI and vGPUs";
  EXPECT_EQ(vm["allocations"].size(), 2u);
  r = gpuvm({"vm", "list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("3g.40gb"), std::string::npos) << r.out;
  std::string id = std::to_string(vm["id"].get<int64_t>());
  EXPECT_EQ(gpuvm({"vm", "undeploy", id}).exit_code, 0);
  EXPECT_EQ(gpuvm({"vm", "delete", id}).exit_code, 0);
  EXPECT_TRUE(store_->list_vms().empty());
}

TEST_F(CliVerbs, BadInputAndBadTokenAreClearErrors) {
  auto r = gpuvm({"vm", "create", "x", "--pci", "MIG_PROFILE"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("KEY=VALUE"), std::string::npos) << r.err;
  r = gpuvm({"vm", "create", "x", "--pci", "VENDOR=10DE"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("VENDOR '10DE'"), std::string::npos) << r.err;
  env_["GPUVM_TOKEN"] = "wrong-token-0000000000";
  r = gpuvm({"host", "list"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("refused the token"), std::string::npos) << r.err;
  EXPECT_TRUE(store_->list_vms().empty());
}

}  // namespace
}  // namespace gpuvm::server
