// The web UI as a user gets it: a real gpuvmd on SQLite serves the embedded
// files, a real headless Chromium runs app.js against the API, and the test
// reads the DOM Chromium ends with (--dump-dom).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "server/fixtures.h"
#include "server/gpuvmd_process.h"
#include "server/scheduler/model_json.h"
#include "support/test_support.h"

namespace gpuvm::server {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

using gpuvm::test::Gpuvmd;
using gpuvm::test::kToken;
constexpr const char* kHost = "ui-node-1";
constexpr const char* kVmName = "train-<b>1</b>";  // markup in a name must stay text

// Chromium (Debian's `chromium`; scripts/install-deps.sh installs it) on PATH.
fs::path find_chromium() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin");
  for (std::string dir; std::getline(dirs, dir, ':');)
    for (const char* name : {"chromium", "chromium-browser"})
      if (fs::path p = fs::path(dir) / name; !dir.empty() && access(p.c_str(), X_OK) == 0) return p;
  return {};
}

// Loads `url` in headless Chromium, lets the page run 8 s of virtual time
// (fetches and one auto-refresh), and returns the DOM it ends with.
std::string dump_dom(const fs::path& chromium, const std::string& url) {
  gpuvm::test::TempDir profile;  // a throwaway profile: no state from, or left to, other runs
  std::vector<std::string> argv = {"/usr/bin/timeout",
                                   "120",
                                   chromium.string(),
                                   "--headless=new",
                                   "--disable-gpu",
                                   "--user-data-dir=" + profile.path().string(),
                                   "--virtual-time-budget=8000",
                                   "--dump-dom",
                                   url};
  // Chromium refuses to run as root with its sandbox on.
  if (geteuid() == 0) argv.insert(argv.begin() + 4, "--no-sandbox");
  gpuvm::test::RunResult r = gpuvm::test::run(argv, {{"HOME", profile.path().string()}});
  if (r.exit_code != 0)
    throw std::runtime_error("chromium exited with " + std::to_string(r.exit_code) + ": " +
                             r.err.substr(0, 4000));
  return r.out;
}

// The attributes of every element `<tag ...>` whose class attribute starts with `cls`.
std::vector<std::map<std::string, std::string>> elements(const std::string& dom,
                                                         const std::string& tag,
                                                         const std::string& cls) {
  std::vector<std::map<std::string, std::string>> out;
  static const std::regex attr(R"re(([A-Za-z-]+)="([^"]*)")re");
  std::regex element("<" + tag + R"re((\s[^>]*)>)re");
  for (std::sregex_iterator it(dom.begin(), dom.end(), element), end; it != end; ++it) {
    std::map<std::string, std::string> attrs;
    std::string text = (*it)[1];
    for (std::sregex_iterator a(text.begin(), text.end(), attr); a != end; ++a)
      attrs[(*a)[1]] = (*a)[2];
    if (attrs["class"].rfind(cls, 0) == 0) out.push_back(std::move(attrs));
  }
  return out;
}

class UiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    gpuvmd_ =
        std::make_unique<Gpuvmd>("sqlite:" + (dir_.path() / "gpuvmd.db").string(), dir_.path());
  }
  std::string url(const std::string& token) const {
    return "http://127.0.0.1:" + std::to_string(gpuvmd_->port()) + "/#token=" + token;
  }

  gpuvm::test::TempDir dir_;
  std::unique_ptr<Gpuvmd> gpuvmd_;
};

// The cases that need a browser skip, saying why, where none is installed.
class UiBrowserTest : public UiTest {
 protected:
  void SetUp() override {
    chromium_ = find_chromium();
    if (chromium_.empty())
      GTEST_SKIP() << "no chromium on PATH: scripts/install-deps.sh installs Debian's chromium";
    UiTest::SetUp();
  }

  fs::path chromium_;
};

TEST_F(UiTest, StaticFilesNeedNoTokenAndCarryStrictHeaders) {
  auto anonymous = gpuvmd_->client(false);
  for (const auto& [path, type] :
       std::map<std::string, std::string>{{"/", "text/html; charset=utf-8"},
                                          {"/ui/app.js", "text/javascript; charset=utf-8"},
                                          {"/ui/style.css", "text/css; charset=utf-8"}}) {
    auto r = anonymous->Get(path.c_str());
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 200) << path;
    EXPECT_EQ(r->get_header_value("Content-Type"), type) << path;
    EXPECT_EQ(r->get_header_value("X-Content-Type-Options"), "nosniff") << path;
    std::string csp = r->get_header_value("Content-Security-Policy");
    EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << path << ": " << csp;
    EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << path << ": " << csp;
    EXPECT_EQ(csp.find("unsafe"), std::string::npos) << path << ": " << csp;
  }
  // CSP forbids inline script; the page must not rely on any.
  std::string index = anonymous->Get("/")->body;
  EXPECT_FALSE(std::regex_search(index, std::regex("<script(?![^>]*\\bsrc=)")));
  EXPECT_EQ(anonymous->Get("/ui/nothing.js")->status, 404);
  EXPECT_EQ(anonymous->Get("/ui/..%2fserver.cpp")->status, 404);
  // The data stays behind the token.
  EXPECT_EQ(anonymous->Get("/api/v1/hosts")->status, 401);
}

TEST_F(UiBrowserTest, ChromiumShowsHostGpuMigLayoutToScaleAndTheVmOnItsSlice) {
  auto c = gpuvmd_->client();
  // One MIG-enabled H100 with two GPU instances: 3g.40gb (4 slices) at 0 and
  // 2g.20gb (2 slices) at 4; a VM asks for a 2g.20gb. Its profile table
  // leaves out the 1g profiles: the board is still 8 slices, which the
  // profile names alone would not tell (the smallest left is 20 GB, 2 slices).
  HostInventory host = test::h100_host(kHost, 1, {.mig = true, .vfs = 4});
  Gpu& gpu = host.gpus[0];
  std::erase_if(gpu.mig.profiles, [](const MigProfile& p) { return p.name.starts_with("1g."); });
  std::erase_if(gpu.vgpu_types, [](const VgpuType& t) { return t.mig_profile.starts_with("1g."); });
  gpu.mig_instances = {{"3g.40gb", 0}, {"2g.20gb", 4}};
  ASSERT_EQ(c->Post("/api/v1/hosts", to_json(host), "application/json")->status, 201);
  auto created = c->Post("/api/v1/vms",
                         json{{"name", kVmName}, {"pci", {{{"MIG_PROFILE", "2g.20gb"}}}}}.dump(),
                         "application/json");
  ASSERT_EQ(created->status, 201) << created->body;
  int64_t vm = json::parse(created->body)["id"];
  auto deployed =
      c->Post(("/api/v1/vms/" + std::to_string(vm) + "/deploy").c_str(), "", "application/json");
  ASSERT_EQ(deployed->status, 200) << deployed->body;
  json alloc = json::parse(deployed->body)["vm"]["allocations"].at(0);
  ASSERT_EQ(alloc["mig_profile"], "2g.20gb");
  ASSERT_EQ(alloc["mig_start"], 4) << "expected the existing free 2g.20gb GI: " << alloc;
  // The sizes the drawing uses, from the host's profile table.
  json capacity = json::parse(c->Get((std::string("/api/v1/hosts/") + kHost).c_str())->body);
  json g0 = capacity["gpus"].at(0);
  EXPECT_EQ(g0["mig_memory_slices"], 8) << g0;
  EXPECT_EQ(g0["mig_profile_slices"]["3g.40gb"], 4) << g0;
  EXPECT_EQ(g0["mig_instances"].at(0)["memory_slices"], 4) << g0;
  EXPECT_EQ(g0["mig_instances"].at(1)["memory_slices"], 2) << g0;

  std::string dom = dump_dom(chromium_, url(kToken));
  SCOPED_TRACE(dom);
  EXPECT_NE(dom.find(R"(<section id="login" aria-labelledby="login-title" hidden="")"),
            std::string::npos);
  EXPECT_NE(dom.find(std::string("data-host=\"") + kHost + "\""), std::string::npos);
  EXPECT_NE(dom.find(std::string("GPUs of ") + kHost), std::string::npos);
  EXPECT_NE(dom.find("H100-SXM5-80GB at 0000:10:00:0"), std::string::npos);

  // One board of 8 slices, one rectangle per GPU instance, placed and sized
  // in proportion to memory slices.
  auto boards = elements(dom, "svg", "mig");
  ASSERT_EQ(boards.size(), 1u);
  ASSERT_EQ(boards[0]["data-slices"], "8");
  double x0 = -1, y0 = -1, board_width = 0;
  std::istringstream(boards[0]["viewBox"]) >> x0 >> y0 >> board_width;
  ASSERT_EQ(x0, 0);
  ASSERT_GT(board_width, 0);
  auto gis = elements(dom, "rect", "gi");
  ASSERT_EQ(gis.size(), 2u);
  std::map<std::string, std::map<std::string, std::string>> by_profile;
  for (auto& gi : gis) {
    int slices = std::stoi(gi["data-slices"]), start = std::stoi(gi["data-start"]);
    EXPECT_DOUBLE_EQ(std::stod(gi["width"]), board_width * slices / 8) << gi["data-profile"];
    EXPECT_DOUBLE_EQ(std::stod(gi["x"]), board_width * start / 8) << gi["data-profile"];
    by_profile[gi["data-profile"]] = gi;
  }
  EXPECT_EQ(by_profile["3g.40gb"]["data-slices"], "4");
  EXPECT_EQ(by_profile["3g.40gb"]["data-start"], "0");
  EXPECT_EQ(by_profile["3g.40gb"]["class"], "gi");
  EXPECT_EQ(by_profile["2g.20gb"]["data-slices"], "2");
  EXPECT_EQ(by_profile["2g.20gb"]["data-start"], "4");
  EXPECT_EQ(by_profile["2g.20gb"]["class"], "gi allocated");

  // The VM's name, as text (its markup escaped), on its slice.
  std::string label = "train-&lt;b&gt;1&lt;/b&gt; (VM " + std::to_string(vm) + ")";
  auto vm_labels = elements(dom, "text", "vm");
  ASSERT_EQ(vm_labels.size(), 1u);
  EXPECT_EQ(vm_labels[0]["data-vm"], std::to_string(vm));
  EXPECT_DOUBLE_EQ(std::stod(vm_labels[0]["x"]), board_width * 5 / 8);  // centre of slices 4-5
  EXPECT_NE(dom.find("\">" + label + "</text>"), std::string::npos);
  EXPECT_EQ(dom.find("<b>1</b>"), std::string::npos);
  // And in the VMs table with its allocation.
  EXPECT_NE(dom.find("MIG 2g.20gb at slice 4"), std::string::npos);
  EXPECT_NE(dom.find("MIG_PROFILE=2g.20gb"), std::string::npos);
}

// The host command queue as the operator sees it: a VM whose vGPU the agent
// has not made yet shows its queued command; a VM whose vGPU the host refused
// shows "failed" and the host's message; the vGPUs the host reports are
// listed with whom they belong to.
TEST_F(UiBrowserTest, ChromiumShowsQueuedCommandsTheHostsRefusalAndExistingVgpus) {
  auto c = gpuvmd_->client();
  // Two time-sliced H100s; GPU 0 carries a vGPU of the host's own (node.yaml).
  HostInventory host = test::h100_host(kHost, 2, {.vfs = 4});
  const std::string own_vf = host.pci[1].address;
  ASSERT_EQ(host.pci[1].physfn, host.gpus[0].address);
  host.gpus[0].vgpus = {{own_vf, "H100XM-10C"}};
  ASSERT_EQ(c->Post("/api/v1/hosts", to_json(host), "application/json")->status, 201);
  auto deploy = [&](const std::string& name, const std::string& type) {
    auto r = c->Post("/api/v1/vms", json{{"name", name}, {"pci", {{{"VGPU_TYPE", type}}}}}.dump(),
                     "application/json");
    EXPECT_EQ(r->status, 201) << r->body;
    int64_t id = json::parse(r->body)["id"];
    r = c->Post(("/api/v1/vms/" + std::to_string(id) + "/deploy").c_str(), "", "application/json");
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(json::parse(r->body)["vm"]["state"], "deploying") << r->body;
    return id;
  };
  const int64_t waiting = deploy("waiting-vm", "H100XM-10C");
  const int64_t refused = deploy("refused-vm", "H100XM-20C");
  auto commands_of = [&](int64_t vm) {
    auto r = c->Get(("/api/v1/vms/" + std::to_string(vm) + "/commands").c_str());
    return json::parse(r->body)["commands"];
  };
  json refused_cmds = commands_of(refused);
  ASSERT_EQ(refused_cmds.size(), 1u) << refused_cmds;
  ASSERT_EQ(refused_cmds[0]["op"], "vgpu.create");
  // The agent's report, as `gpuvm agent` sends it; markup in it must stay text.
  const std::string why = "nvidia-vgpu-mgr: <i>no capacity</i> for H100XM-20C";
  auto r = c->Post((std::string("/api/v1/hosts/") + kHost + "/commands/" +
                    std::to_string(refused_cmds[0]["id"].get<int64_t>()) + "/result")
                       .c_str(),
                   json{{"ok", false}, {"message", why}}.dump(), "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  json waiting_cmds = commands_of(waiting);
  ASSERT_EQ(waiting_cmds.size(), 1u) << waiting_cmds;
  const std::string waiting_cmd = std::to_string(waiting_cmds[0]["id"].get<int64_t>());
  const std::string refused_cmd = std::to_string(refused_cmds[0]["id"].get<int64_t>());

  std::string dom = dump_dom(chromium_, url(kToken));
  SCOPED_TRACE(dom);
  // Each VM's state as a badge.
  for (auto [vm, state] : {std::pair{waiting, "deploying"}, {refused, "failed"}}) {
    std::smatch m;
    ASSERT_TRUE(std::regex_search(
        dom, m,
        std::regex("<tr data-vm=\"" + std::to_string(vm) + "\" data-state=\"" + state +
                   "\">.*?<span class=\"badge state-" + state + "\">" + state + "</span>")))
        << vm;
  }
  // The deploying VM's queued command, in its commands table.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      dom, m,
      std::regex("<tr class=\"commands\" data-commands-of=\"" + std::to_string(waiting) +
                 "\">.*?</tr></tbody></table></td></tr>")));
  std::string waiting_table = m.str();
  EXPECT_NE(waiting_table.find("<tr data-command=\"" + waiting_cmd + "\" data-state=\"queued\">"),
            std::string::npos)
      << waiting_table;
  EXPECT_NE(waiting_table.find("<td>vgpu.create</td>"), std::string::npos) << waiting_table;
  EXPECT_NE(waiting_table.find(R"(<span class="badge state-queued">queued</span>)"),
            std::string::npos)
      << waiting_table;
  EXPECT_NE(dom.find("waiting for the host's agent: 0 done, 1 queued"), std::string::npos);
  // The failed VM: the host's message under its state and in its command row, as text.
  const std::string why_text = "nvidia-vgpu-mgr: &lt;i&gt;no capacity&lt;/i&gt; for H100XM-20C";
  EXPECT_NE(dom.find(R"(<p class="reason">vgpu.create refused by )" + std::string(kHost) + ": " +
                     why_text + "</p>"),
            std::string::npos);
  EXPECT_NE(dom.find("<tr data-command=\"" + refused_cmd + "\" data-state=\"failed\">"),
            std::string::npos);
  EXPECT_NE(dom.find(R"(<td class="message">)" + why_text + "</td>"), std::string::npos);
  EXPECT_EQ(dom.find("<i>no capacity</i>"), std::string::npos);
  // The vGPU the host reports on GPU 0, owned by the host, not by a VM.
  EXPECT_NE(dom.find("<caption>vGPUs on the host</caption>"), std::string::npos);
  EXPECT_NE(dom.find("<td>" + own_vf +
                     "</td><td>H100XM-10C</td><td>the host (not placed by "
                     "gpuvmd)</td>"),
            std::string::npos);
}

TEST_F(UiBrowserTest, ChromiumShowsTheHostsLastCheckWithWhatToFix) {
  auto c = gpuvmd_->client();
  json inv = json::parse(to_json(test::h100_host(kHost, 1, {.mig = false, .vfs = 2})));
  // As `gpuvm check --record` writes it and the agent pushes it (docs/check.md);
  // markup in a finding stays text.
  inv["check"] = {{"status", "fail"},
                  {"checked_at_ms", 0},
                  {"results",
                   {{{"id", "iommu.enabled"},
                     {"status", "fail"},
                     {"seen", "no IOMMU groups <b>x</b>"},
                     {"fix", "enable VT-d in the firmware"}},
                    {{"id", "driver.nouveau"}, {"status", "ok"}, {"seen", "nouveau not loaded"}}}}};
  ASSERT_EQ(c->Post("/api/v1/hosts", inv.dump(), "application/json")->status, 201);
  std::string dom = dump_dom(chromium_, url(kToken));
  SCOPED_TRACE(dom);
  EXPECT_NE(dom.find(R"(<section class="host-check" data-check="fail">)"), std::string::npos);
  EXPECT_NE(dom.find("1 of 2 to look at"), std::string::npos);
  EXPECT_NE(dom.find("<caption>What to fix</caption>"), std::string::npos);
  EXPECT_NE(dom.find("<td>enable VT-d in the firmware</td>"), std::string::npos);
  EXPECT_NE(dom.find("no IOMMU groups &lt;b&gt;x&lt;/b&gt;"), std::string::npos);
  EXPECT_NE(dom.find("<summary>Every check</summary>"), std::string::npos);
  EXPECT_NE(dom.find("<td>nouveau not loaded</td>"), std::string::npos);
}

TEST_F(UiBrowserTest, ChromiumWithAWrongTokenShowsTheLoginFormAndWhy) {
  std::string dom = dump_dom(chromium_, url("not-the-token-0123456789"));
  SCOPED_TRACE(dom);
  EXPECT_NE(dom.find(R"(<section id="login" aria-labelledby="login-title">)"), std::string::npos);
  EXPECT_NE(dom.find("The server refused this token (401 Unauthorized)"), std::string::npos);
  EXPECT_NE(dom.find(R"(<div id="content" hidden="")"), std::string::npos);
  EXPECT_NE(dom.find(R"(<form id="login-form">)"), std::string::npos);
}

}  // namespace
}  // namespace gpuvm::server
