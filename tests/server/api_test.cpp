// The REST API in-process (ApiServer on a free port, a real HTTP client),
// against SQLite and PostgreSQL.
#include <gtest/gtest.h>
#include <httplib.h>
#include <sqlite3.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "server/api/metrics.h"
#include "server/api/server.h"
#include "server/fixtures.h"
#include "server/scheduler/model_json.h"
#include "server/test_db.h"

namespace gpuvm::server {
namespace {

using nlohmann::json;
using test::h100_host;
using test::TestDb;

constexpr const char* kToken = "test-token-0123456789";

class ApiTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = std::make_unique<TestDb>(GetParam());
    if (db_->url().empty()) GTEST_SKIP() << test::kPgSkip;
    store_ = Store::open(db_->url());
    store_->add_token("test", token_hash(kToken));
    start({});
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
  }
  void start(ApiOptions opt) {
    opt.port = 0;
    opt.max_body_bytes = 64 * 1024;
    server_ = std::make_unique<ApiServer>(*store_, opt);
    port_ = server_->bind();
    thread_ = std::thread([this] { server_->serve(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client_->set_bearer_token_auth(kToken);
    client_->set_tcp_nodelay(true);
  }
  httplib::Result post(const std::string& path, const std::string& body) {
    return client_->Post(path.c_str(), body, "application/json");
  }
  static json body(const httplib::Result& r) { return json::parse(r->body); }
  void register_host(const HostInventory& h) {
    auto r = post("/api/v1/hosts", to_json(h));
    ASSERT_TRUE(r);
    ASSERT_TRUE(r->status == 201 || r->status == 200) << r->body;
  }

  std::unique_ptr<TestDb> db_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ApiServer> server_;
  std::thread thread_;
  int port_ = 0;
  std::unique_ptr<httplib::Client> client_;
};

TEST_P(ApiTest, BearerTokenIsRequiredAndNothingIsStoredWithoutIt) {
  httplib::Client anon("127.0.0.1", port_);
  auto r = anon.Post("/api/v1/hosts", to_json(h100_host("h", 1, {})), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->get_header_value("WWW-Authenticate"), "Bearer realm=\"gpuvmd\"");
  anon.set_bearer_token_auth("wrong-token-9999999999");
  EXPECT_EQ(anon.Get("/api/v1/hosts")->status, 401);
  EXPECT_TRUE(store_->list_hosts().empty());
  EXPECT_EQ(client_->Get("/api/v1/hosts")->status, 200);
}

// An agent token (gpuvmd token NAME --host HOST) reports its host and runs
// its commands; it can neither speak for another host nor manage VMs.
TEST_P(ApiTest, AnAgentTokenActsForItsOwnHostOnly) {
  constexpr const char* kAgentToken = "agent-token-node-a-0123456789";
  store_->add_token("agent-node-a", token_hash(kAgentToken), "node-a");
  register_host(h100_host("node-b", 1, {.mig = false, .vfs = 2}));  // by the operator
  httplib::Client agent("127.0.0.1", port_);
  agent.set_bearer_token_auth(kAgentToken);
  const std::string a = to_json(h100_host("node-a", 1, {.mig = false, .vfs = 2}));
  EXPECT_EQ(agent.Post("/api/v1/hosts", a, "application/json")->status, 201);
  EXPECT_EQ(agent.Post("/api/v1/hosts", a, "application/json")->status, 200) << "unchanged";
  auto other = agent.Post("/api/v1/hosts", to_json(h100_host("node-b", 1, {.mig = true})),
                          "application/json");
  EXPECT_EQ(other->status, 403);
  EXPECT_NE(other->body.find("host node-a's agent token: it cannot report host node-b"),
            std::string::npos)
      << other->body;
  EXPECT_FALSE(store_->get_host("node-b")->inventory.gpus[0].mig_enabled) << "nothing stored";
  // node-b's own stored bytes, replayed with node-a's token, do not mark node-b alive.
  const std::string b = to_json(store_->get_host("node-b")->inventory);
  EXPECT_EQ(agent.Post("/api/v1/hosts", b, "application/json")->status, 403);
  EXPECT_EQ(agent.Get("/api/v1/hosts/node-a/commands")->status, 200);
  EXPECT_EQ(agent.Get("/api/v1/hosts/node-b/commands")->status, 403);
  EXPECT_EQ(
      agent.Post("/api/v1/hosts/node-b/commands/1/result", R"({"ok":true})", "application/json")
          ->status,
      403);
  EXPECT_EQ(agent.Get("/api/v1/vms")->status, 403);
  EXPECT_EQ(agent.Post("/api/v1/vms", R"({"name":"x","pci":[]})", "application/json")->status, 403);
  EXPECT_TRUE(store_->list_vms().empty());
  EXPECT_EQ(client_->Get("/api/v1/hosts/node-a/commands")->status, 200) << "operators can";
}

TEST_P(ApiTest, HostsRegisterShowAsOpenNebulaAndForceUpdate) {
  HostInventory h = h100_host("node-1", 2, {.mig = true, .vfs = 2});
  auto r = post("/api/v1/hosts", to_json(h));
  ASSERT_EQ(r->status, 201) << r->body;
  EXPECT_TRUE(body(r)["created"]);
  auto same = post("/api/v1/hosts", to_json(h));
  EXPECT_EQ(same->status, 200) << "a push updates";
  EXPECT_FALSE(body(same)["changed"]) << "the same inventory: only marked alive";
  EXPECT_EQ(body(same)["generation"], 1);
  h.gpus[0].mig_instances = {{"3g.40gb", 4}};
  auto changed = post("/api/v1/hosts", to_json(h));
  EXPECT_TRUE(body(changed)["changed"]) << changed->body;
  json detail = body(client_->Get("/api/v1/hosts/node-1"));
  EXPECT_EQ(detail["generation"], 2);
  ASSERT_EQ(detail["PCI_DEVICES"]["PCI"].size(), 6u);
  EXPECT_EQ(detail["PCI_DEVICES"]["PCI"][0]["ADDRESS"], "0000:10:00:0");
  EXPECT_EQ(detail["PCI_DEVICES"]["PCI"][0]["VMID"], "-1");
  EXPECT_EQ(detail["gpus"][0]["mig_free"]["3g.40gb"], 2) << "the free GI at 4 and room at 0";
  auto one = client_->Get("/api/v1/hosts/node-1?format=one");
  ASSERT_EQ(one->status, 200);
  EXPECT_EQ(one->body.rfind("PCI = [\n TYPE = \"10de:2330:0302\" ,", 0), 0u) << one->body;
  EXPECT_EQ(client_->Get("/api/v1/hosts/node-1?format=xml")->status, 400);
  auto gpus = client_->Get("/api/v1/hosts/node-1/gpus");
  ASSERT_EQ(gpus->status, 200);
  EXPECT_EQ(body(gpus).size(), 2u);
  auto fu = client_->Post("/api/v1/hosts/node-1/forceupdate", "", "application/json");
  ASSERT_EQ(fu->status, 202) << fu->body;
  EXPECT_EQ(body(fu)["force_update"], true);
  EXPECT_EQ(client_->Get("/api/v1/hosts/nope")->status, 404);
  EXPECT_EQ(client_->Post("/api/v1/hosts/nope/forceupdate", "", "application/json")->status, 404);
}

TEST_P(ApiTest, BadInputIsRefusedWithAClearMessageAndNothingStored) {
  auto check = [&](const httplib::Result& r, int status, const std::string& needle) {
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, status) << r->body;
    EXPECT_NE(r->body.find(needle), std::string::npos) << r->body;
  };
  check(post("/api/v1/hosts", "{\"name\": \"x\", "), 400, "malformed JSON");
  check(post("/api/v1/hosts", "{\"name\": \"x\", \"colour\": 1}"), 400, "unknown field 'colour'");
  check(post("/api/v1/hosts", "{\"name\": \"bad name!\"}"), 400, "host name");
  check(post("/api/v1/vms", R"({"name":"v","pci":[{"VENDOR":"10DE"}]})"), 400, "VENDOR '10DE'");
  check(post("/api/v1/vms", R"({"name":"v","pci":[{"VENDOR":"10de","SHORT_ADDRESS":"41:00.0"}]})"),
        400, "not both");
  check(post("/api/v1/vms", R"({"name":"v","pci":[{"MIG_PROFILE":"3g.40gb","PROFILE":"1"}]})"), 400,
        "stand alone");
  check(post("/api/v1/vms", R"({"name":"v","pci":[]})"), 400, "at least one");
  check(post("/api/v1/vms", R"({"name":"v","pci":[{"VENDOR":"10de","GPU":"yes"}]})"), 400,
        "unknown field 'GPU'");
  check(post("/api/v1/vms", std::string(100 * 1024, ' ')), 413, "too large");
  check(client_->Post("/api/v1/vms", "name=v", "application/x-www-form-urlencoded"), 415,
        "application/json");
  check(client_->Get("/api/v1/events?after=abc"), 400, "after='abc'");
  check(client_->Get("/api/v1/nothing"), 404, "no such endpoint");
  check(client_->Get("/api/v1/vms/12345"), 404, "VM 12345");
  EXPECT_TRUE(store_->list_hosts().empty());
  EXPECT_TRUE(store_->list_vms().empty());

  // A request for a device no host has: the VM exists, its deploy is a 409
  // that names the reason, and nothing is allocated.
  register_host(h100_host("node-1", 1, {.mig = false, .vfs = 2}));
  auto vm = post("/api/v1/vms", R"({"name":"v","pci":[{"SHORT_ADDRESS":"99:00.0"}]})");
  ASSERT_EQ(vm->status, 201);
  auto d =
      client_->Post(fmt::format("/api/v1/vms/{}/deploy", body(vm)["id"].get<int64_t>()).c_str(), "",
                    "application/json");
  check(d, 409, "no free device matches");
  EXPECT_TRUE(store_->list_allocations().empty());
}

TEST_P(ApiTest, HostDetailShowsTheLastCheckTheAgentReported) {
  HostInventory h = h100_host("node-1", 1, {.mig = false, .vfs = 2});
  ASSERT_EQ(post("/api/v1/hosts", to_json(h))->status, 201);
  EXPECT_TRUE(body(client_->Get("/api/v1/hosts/node-1"))["check"].is_null()) << "never reported";
  // What `gpuvm check --record` writes, as the agent pushes it (docs/check.md).
  json inv = json::parse(to_json(h));
  inv["check"] = json::parse(R"({"status": "warn", "summary": {"ok": 1, "warn": 1, "fail": 0},
      "checked_at_ms": 1700000000000,
      "results": [{"id": "iommu.enabled", "status": "ok", "seen": "13 IOMMU groups"},
                  {"id": "sriov", "gpu": "0000:10:00.0", "status": "warn",
                   "seen": "0/32 VFs enabled", "fix": "gpuvm sriov enable 0000:10:00.0"}]})");
  auto r = post("/api/v1/hosts", inv.dump());
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_TRUE(body(r)["changed"]);
  json c = body(client_->Get("/api/v1/hosts/node-1"))["check"];
  EXPECT_EQ(c["status"], "warn");
  EXPECT_EQ(c["checked_at_ms"], 1700000000000);
  ASSERT_EQ(c["results"].size(), 2u);
  EXPECT_EQ(c["results"][1]["gpu"], "0000:10:00.0");
  EXPECT_EQ(c["results"][1]["fix"], "gpuvm sriov enable 0000:10:00.0");
  EXPECT_FALSE(c["results"][0].contains("fix"));
  // A bad record is refused with its field named, and the stored one kept.
  inv["check"]["results"][0]["status"] = "maybe";
  r = post("/api/v1/hosts", inv.dump());
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("check: results[]: field 'status' must be ok, warn or fail"),
            std::string::npos)
      << r->body;
  inv["check"] = json::parse(R"({"status": "ok", "colour": 1})");
  EXPECT_EQ(post("/api/v1/hosts", inv.dump())->status, 400);
  EXPECT_EQ(body(client_->Get("/api/v1/hosts/node-1"))["check"]["status"], "warn");
}

TEST_P(ApiTest, VmLifecycleDeployUndeployDelete) {
  register_host(h100_host("node-1", 2, {.mig = true, .vfs = 4}));
  auto c =
      post("/api/v1/vms", R"({"name":"train","numa":"required","pci":[{"MIG_PROFILE":"3g.40gb"},
                                   {"VGPU_TYPE":"H100XM-2-20C"}]})");
  ASSERT_EQ(c->status, 201) << c->body;
  int64_t id = body(c)["id"];
  std::string base = fmt::format("/api/v1/vms/{}", id);
  auto d = client_->Post((base + "/deploy").c_str(), "", "application/json");
  ASSERT_EQ(d->status, 200) << d->body;
  json placed = body(d);
  EXPECT_EQ(placed["outcome"], "placed");
  ASSERT_EQ(placed["vm"]["allocations"].size(), 2u);
  EXPECT_EQ(placed["vm"]["allocations"][0]["kind"], "mig");
  EXPECT_EQ(placed["vm"]["allocations"][1]["vgpu_type"], "H100XM-2-20C");
  EXPECT_EQ(placed["vm"]["allocations"][0]["numa_node"],
            placed["vm"]["allocations"][1]["numa_node"]);
  auto again = client_->Post((base + "/deploy").c_str(), "", "application/json");
  EXPECT_EQ(body(again)["outcome"], "already_placed");
  EXPECT_EQ(body(client_->Get("/api/v1/allocations")).size(), 2u);
  json host = body(client_->Get("/api/v1/hosts/node-1"));
  int used = 0;
  for (const auto& p : host["PCI_DEVICES"]["PCI"]) used += p["VMID"] == std::to_string(id);
  EXPECT_EQ(used, 2) << "the two VFs show the VM's id, as ONE's VMID";
  auto u = client_->Post((base + "/undeploy").c_str(), "", "application/json");
  ASSERT_EQ(u->status, 200);
  EXPECT_EQ(body(u)["state"], "undeployed");
  EXPECT_EQ(client_->Delete(base.c_str())->status, 204);
  EXPECT_EQ(client_->Get(base.c_str())->status, 404);
  json events = body(client_->Get("/api/v1/events?limit=100"));
  std::vector<std::string> kinds;
  for (const auto& e : events) kinds.push_back(e["kind"]);
  // Both devices are MIG-backed: the host's agent must make them first.
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "vm.deploying"), kinds.end());
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "vm.deleted"), kinds.end());
}

TEST_P(ApiTest, MetricsInPrometheusTextFormat) {
  register_host(h100_host("node-1", 1, {.mig = true, .vfs = 4}));
  auto c = post("/api/v1/vms", R"({"name":"a","pci":[{"MIG_PROFILE":"4g.40gb"}]})");
  client_->Post(fmt::format("/api/v1/vms/{}/deploy", body(c)["id"].get<int64_t>()).c_str(), "",
                "application/json");
  // With an operator's token: everything, MIG profile names included.
  auto m = client_->Get("/metrics");
  ASSERT_EQ(m->status, 200);
  EXPECT_EQ(m->get_header_value("Content-Type"), "text/plain; version=0.0.4");
  for (const char* line :
       {"gpuvmd_hosts{state=\"ok\"} 1", "gpuvmd_gpus 1", "gpuvmd_gpus_whole_free 0",
        "gpuvmd_mig_free{profile=\"3g.40gb\"} 1", "gpuvmd_mig_free{profile=\"4g.40gb\"} 0",
        "gpuvmd_deploys_total{outcome=\"placed\"} 1", "gpuvmd_allocation_seconds_count 1",
        "gpuvmd_allocations 1", "# TYPE gpuvmd_allocation_seconds histogram",
        "gpuvmd_http_connections_timed_out_total 0"})
    EXPECT_NE(m->body.find(line), std::string::npos) << line << "\n" << m->body;

  // Without a token: the fleet totals, no profile or type names.
  httplib::Client anon("127.0.0.1", port_);
  auto a = anon.Get("/metrics");
  ASSERT_EQ(a->status, 200);
  for (const char* line : {"gpuvmd_hosts{state=\"ok\"} 1", "gpuvmd_gpus 1", "gpuvmd_allocations 1",
                           "gpuvmd_deploys_total{outcome=\"placed\"} 1"})
    EXPECT_NE(a->body.find(line), std::string::npos) << line << "\n" << a->body;
  for (const char* hidden : {"gpuvmd_mig_free", "gpuvmd_vgpu_free", "4g.40gb", "H100"})
    EXPECT_EQ(a->body.find(hidden), std::string::npos) << hidden << "\n" << a->body;
  // An agent's token is no operator's; a wrong one is told so.
  store_->add_token("agent", token_hash("agent-token-0123456789"), "node-1");
  httplib::Client agent("127.0.0.1", port_);
  agent.set_bearer_token_auth("agent-token-0123456789");
  EXPECT_EQ(agent.Get("/metrics")->body.find("gpuvmd_mig_free"), std::string::npos);
  httplib::Client wrong("127.0.0.1", port_);
  wrong.set_bearer_token_auth("not-a-token-0123456789");
  EXPECT_EQ(wrong.Get("/metrics")->status, 401);
}

// A scrape reads no inventory: after the first one, a stored inventory
// that no longer parses (rewritten behind gpuvmd's back, same generation)
// changes nothing, where parsing every inventory per scrape answered 500.
TEST_P(ApiTest, MetricsScrapesParseNoInventory) {
  register_host(h100_host("node-1", 2, {.mig = true, .vfs = 4}));
  auto first = client_->Get("/metrics");
  ASSERT_EQ(first->status, 200);
  EXPECT_NE(first->body.find("gpuvmd_gpus 2"), std::string::npos) << first->body;
  const std::string sql = "UPDATE hosts SET inventory = 'not json'";
  if (GetParam() == "sqlite") {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_->url().substr(7).c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  } else {
    auto r = gpuvm::test::run({"/usr/bin/psql", "-q", db_->url(), "-c", sql});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  // A change through the API (not of the inventory) makes the next scrape
  // past kFleetMinAge refresh the totals: from the caches.
  ASSERT_EQ(post("/api/v1/vms", R"({"name":"x","pci":[{"MIG_PROFILE":"1g.10gb"}]})")->status, 201);
  std::this_thread::sleep_for(Metrics::kFleetMinAge + std::chrono::milliseconds(100));
  for (int i = 0; i < 20; ++i) {
    auto m = client_->Get("/metrics");
    ASSERT_EQ(m->status, 200) << m->body;
    ASSERT_NE(m->body.find("gpuvmd_gpus 2"), std::string::npos) << m->body;
  }
}

TEST_P(ApiTest, MetricsCountHostCommandResultsAndRolledBackDeploys) {
  register_host(h100_host("node-1", 1, {.mig = true, .vfs = 4}));
  auto c = post("/api/v1/vms", R"({"name":"a","pci":[{"VGPU_TYPE":"H100XM-2-20C"}]})");
  const int64_t vm = body(c)["id"];
  ASSERT_EQ(post(fmt::format("/api/v1/vms/{}/deploy", vm), "")->status, 200);
  auto queued = [&] { return body(client_->Get("/api/v1/hosts/node-1/commands"))["commands"]; };
  auto report = [&](const json& cmd, const std::string& result) {
    auto r = post(fmt::format("/api/v1/hosts/node-1/commands/{}/result", cmd["id"].get<int64_t>()),
                  result);
    ASSERT_EQ(r->status, 200) << r->body;
  };
  json q = queued();
  ASSERT_EQ(q.size(), 2u) << q;
  ASSERT_EQ(q[0]["op"], "gi.create");
  ASSERT_EQ(q[1]["op"], "vgpu.create");
  report(q[0], R"({"ok":true,"created":true})");
  report(q[1], R"({"ok":false,"message":"No space left on device"})");
  // The agent retries after a lost reply: a second result, not a second rollback.
  report(q[1], R"({"ok":false,"message":"No space left on device"})");
  ASSERT_EQ(body(client_->Get(fmt::format("/api/v1/vms/{}", vm).c_str()))["state"], "failed");
  // The undo of the GI; its failure leaves the GI behind but rolls no VM back.
  q = queued();
  ASSERT_EQ(q.size(), 1u) << q;
  ASSERT_EQ(q[0]["op"], "gi.destroy");
  report(q[0], R"({"ok":false,"message":"In use by another client"})");

  std::string m = httplib::Client("127.0.0.1", port_).Get("/metrics")->body;
  for (const char* line :
       {"# TYPE gpuvmd_host_command_results_total counter",
        "gpuvmd_host_command_results_total{op=\"gi.create\",outcome=\"ok\"} 1",
        "gpuvmd_host_command_results_total{op=\"gi.create\",outcome=\"failed\"} 0",
        "gpuvmd_host_command_results_total{op=\"vgpu.create\",outcome=\"failed\"} 2",
        "gpuvmd_host_command_results_total{op=\"gi.destroy\",outcome=\"failed\"} 1",
        "gpuvmd_host_command_results_total{op=\"vgpu.destroy\",outcome=\"ok\"} 0",
        "# HELP gpuvmd_vm_deploy_failures_total ", "# TYPE gpuvmd_vm_deploy_failures_total counter",
        "\ngpuvmd_vm_deploy_failures_total 1\n"})
    EXPECT_NE(m.find(line), std::string::npos) << line << "\n" << m;
}

INSTANTIATE_TEST_SUITE_P(Backends, ApiTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

TEST(ApiTls, ServesHttpsWithAGivenCertificate) {
  gpuvm::test::TempDir dir;
  auto cert = dir.path() / "cert.pem", key = dir.path() / "key.pem";
  auto r = gpuvm::test::run({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                             "-days", "1", "-subj", "/CN=127.0.0.1", "-keyout", key.string(),
                             "-out", cert.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  TestDb db("sqlite");
  auto store = Store::open(db.url());
  store->add_token("t", token_hash(kToken));
  ApiOptions opt;
  opt.port = 0;
  opt.tls_cert = cert.string();
  opt.tls_key = key.string();
  ApiServer server(*store, opt);
  int port = server.bind();
  std::thread t([&] { server.serve(); });
  httplib::SSLClient client("127.0.0.1", port);
  client.set_ca_cert_path(cert.string().c_str());
  client.enable_server_certificate_verification(true);
  client.set_bearer_token_auth(kToken);
  auto res = client.Get("/api/v1/hosts");
  server.stop();
  t.join();
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);

  ApiOptions bad = opt;
  bad.tls_key = (dir.path() / "missing.pem").string();
  EXPECT_THROW(ApiServer(*store, bad), Error);
}

TEST(ApiTokens, HashIsSha256Hex) {
  // printf abc | sha256sum
  EXPECT_EQ(token_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(new_token().size(), 64u);
  EXPECT_NE(new_token(), new_token());
}

TEST(ApiListen, ParsesAddressAndPort) {
  std::string host;
  int port = 0;
  parse_listen("0.0.0.0:9000", &host, &port);
  EXPECT_EQ(host, "0.0.0.0");
  EXPECT_EQ(port, 9000);
  parse_listen("[::1]:80", &host, &port);
  EXPECT_EQ(host, "::1");
  EXPECT_THROW(parse_listen("localhost:http", &host, &port), Error);
  EXPECT_THROW(parse_listen("1.2.3.4:70000", &host, &port), Error);
}

}  // namespace
}  // namespace gpuvm::server
