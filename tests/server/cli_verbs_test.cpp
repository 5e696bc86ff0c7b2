// `gpuvm host ...` and `gpuvm vm ...`: the real binary against an in-process
// gpuvmd API (SQLite; the verbs do not depend on the backend).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "server/api/client.h"
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

// 0.0.0.0 reaches this machine on Linux but is no loopback address: it
// stands for "another machine" here without a network.
TEST_F(CliVerbs, PlainHttpToAnotherMachineIsRefusedUnlessAskedFor) {
  env_["GPUVM_SERVER"] = "http://0.0.0.0:" + std::to_string(port_);
  for (const char* verb : {"host", "vm"}) {
    auto r = gpuvm({verb, "list"});
    EXPECT_EQ(r.exit_code, 2) << verb << r.err;
    EXPECT_NE(r.err.find("plain http to another machine"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--insecure-http"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find(kToken), std::string::npos) << r.err;
    EXPECT_EQ(gpuvm({verb, "list", "--insecure-http"}).exit_code, 0) << verb;
  }
  env_["GPUVM_INSECURE_HTTP"] = "1";
  EXPECT_EQ(gpuvm({"host", "list"}).exit_code, 0);
  // Loopback needs no flag, by address or by name.
  env_.erase("GPUVM_INSECURE_HTTP");
  env_["GPUVM_SERVER"] = "http://localhost:" + std::to_string(port_);
  EXPECT_EQ(gpuvm({"host", "list"}).exit_code, 0);
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("127.255.0.9"));
  EXPECT_TRUE(is_loopback_host("[::1]"));
  EXPECT_FALSE(is_loopback_host("128.0.0.1"));
  EXPECT_FALSE(is_loopback_host("127.0.0.1.example"));
  EXPECT_FALSE(is_loopback_host("gpuvmd.example"));
}

TEST_F(CliVerbs, TheTokenCanComeFromAFile) {
  gpuvm::test::TempDir dir;
  auto file = dir.path() / "token";
  gpuvm::test::write_file(file, std::string(kToken) + "\n");
  env_.erase("GPUVM_TOKEN");
  EXPECT_EQ(gpuvm({"host", "list", "--token-file", file.string()}).exit_code, 0);
  EXPECT_EQ(gpuvm({"vm", "list", "--token-file", file.string()}).exit_code, 0);
  auto r = gpuvm({"host", "list", "--token-file", (dir.path() / "none").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("cannot read it"), std::string::npos) << r.err;
}

TEST(CliVerbsTls, EveryVerbVerifiesHttpsWithCaFile) {
  gpuvm::test::TempDir dir;
  auto cert = dir.path() / "cert.pem", key = dir.path() / "key.pem";
  auto r = run({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout",
                key.string(), "-out", cert.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  test::TestDb db("sqlite");
  auto store = Store::open(db.url());
  store->add_token("cli", token_hash(kToken));
  ApiOptions opt;
  opt.port = 0;
  opt.tls_cert = cert.string();
  opt.tls_key = key.string();
  ApiServer server(*store, opt);
  int port = server.bind();
  std::thread t([&] { server.serve(); });
  std::map<std::string, std::string> env = {
      {"GPUVM_SERVER", "https://127.0.0.1:" + std::to_string(port)}, {"GPUVM_TOKEN", kToken}};
  for (const char* verb : {"host", "vm"}) {
    auto ok = run({bin("gpuvm").string(), verb, "list", "--ca-file", cert.string()}, env);
    EXPECT_EQ(ok.exit_code, 0) << verb << ok.err;
    // The system's CAs do not know this certificate.
    auto refused = run({bin("gpuvm").string(), verb, "list"}, env);
    EXPECT_EQ(refused.exit_code, 1) << verb << refused.err;
  }
  server.stop();
  t.join();
}

}  // namespace
}  // namespace gpuvm::server
