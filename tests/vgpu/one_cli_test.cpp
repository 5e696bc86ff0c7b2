// `gpuvm one vgpu` is the entry point OpenNebula's oneadmin runs as root
// through sudo (packaging/sudoers/gpuvm-opennebula). What it must refuse
// there, and what it still does for tests and operators who run it as
// themselves (docs/privileges.md). Every refusal: exit 2, a message naming
// the input, nothing on stdout, the sysfs tree and the state dir untouched.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include "support/test_support.h"

namespace gpuvm {
namespace {

namespace fs = std::filesystem;

// Every regular file under `dir` and its bytes.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator();
       ++it) {
    if (it->is_regular_file() && !it->is_symlink()) {
      out[it->path().string()] = test::read_file(it->path());
    }
  }
  return out;
}

class OneCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = test::copy_sysfs_fixture("a100-legacy", dir_.path() / "sys");
    vm_ = dir_.path() / "vm.xml";
    test::write_file(vm_, test::read_file(test::source_dir() / "tests/vgpu/data/vm-legacy.xml"));
    before_ = snapshot(root_);
  }
  test::RunResult gpuvm(std::vector<std::string> args,
                        const std::map<std::string, std::string>& env = {}) {
    args.insert(args.begin(), test::bin("gpuvm").string());
    return test::run(args, env);
  }
  std::vector<std::string> create(const fs::path& vm) {
    return {"one",          "vgpu",         "CREATE",      vm.string(),
            "--sysfs-root", root_.string(), "--state-dir", state().string()};
  }
  fs::path state() const { return dir_.path() / "state"; }
  // Exit 2, `needle` in the message, nothing done.
  void expect_refused(const test::RunResult& r, const std::string& needle,
                      const std::string& what) {
    SCOPED_TRACE(what);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_EQ(snapshot(root_), before_);
    EXPECT_FALSE(fs::exists(state())) << "the state dir was made";
  }

  test::TempDir dir_;
  fs::path root_, vm_;
  std::map<std::string, std::string> before_;
};

// The issue: oneadmin could add --sysfs-root (and sudo does not reset a
// variable that an operator's env_keep passes). Under sudo, doas or pkexec,
// no override is taken from flags or the environment.
TEST_F(OneCliTest, UnderSudoNoRootLibraryOrStateOverride) {
  const std::string uid = std::to_string(::getuid());
  const std::map<std::string, std::string> sudo = {{"SUDO_UID", uid}, {"SUDO_USER", "oneadmin"}};
  const std::string ds = "/var/lib/one//datastores/0/42/vm.xml";
  struct Case {
    std::vector<std::string> args;
    std::map<std::string, std::string> env;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {{"one", "vgpu", "CREATE", ds, "--sysfs-root", root_.string()}, sudo, "--sysfs-root"},
      {{"one", "vgpu", "CREATE", ds, "--sysfs-root=/sys"}, sudo, "--sysfs-root"},
      {{"one", "--state-dir", state().string(), "vgpu", "DELETE", ds}, sudo, "--state-dir"},
      {{"one", "vgpu", "CREATE", ds},
       {{"SUDO_UID", uid}, {"GPUVM_SYSFS_ROOT", root_.string()}},
       "GPUVM_SYSFS_ROOT"},
      {{"one", "vgpu", "CREATE", ds},
       {{"SUDO_UID", uid}, {"GPUVM_STATE_DIR", state().string()}},
       "GPUVM_STATE_DIR"},
      {{"one", "vgpu", "CREATE", ds},
       {{"SUDO_UID", uid}, {"GPUVM_NVML_LIB", "/tmp/libx.so"}},
       "GPUVM_NVML_LIB"},
      {{"one", "vgpu", "CREATE", ds, "--sysfs-root", root_.string()},
       {{"PKEXEC_UID", uid}},
       "--sysfs-root"},
      {{"one", "vgpu", "CREATE", ds, "--sysfs-root", root_.string()},
       {{"DOAS_USER", "root"}},
       "--sysfs-root"},
  };
  for (const auto& c : cases) {
    std::string joined;
    for (const auto& a : c.args) joined += a + " ";
    expect_refused(gpuvm(c.args, c.env), c.needle, joined);
  }
}

// Under sudo only the paths the sudoers rule allows, checked again here.
TEST_F(OneCliTest, UnderSudoOnlyDatastoreVmXmlPaths) {
  const std::map<std::string, std::string> sudo = {{"SUDO_UID", std::to_string(::getuid())}};
  for (const std::string& p :
       {vm_.string(), std::string("/var/lib/one//datastores/0/42/../../../../../tmp/vm.xml"),
        std::string("/var/lib/one//datastores/0/42/vm.xml.bak"),
        std::string("/var/lib/one//datastores/x/42/vm.xml"), std::string("/etc/shadow")}) {
    expect_refused(gpuvm({"one", "vgpu", "CREATE", p}, sudo), p, p);
  }
}

// The other direction: run as oneself (tests, an operator), the overrides
// are what point gpuvm at a capture or a simulator.
TEST_F(OneCliTest, NotElevatedTheOverridesAreHonoured) {
  auto r = gpuvm(create(vm_));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("created 0b0b4d0a-0000-5000-8000-000000000005"), std::string::npos);
  r = gpuvm({"one", "vgpu", "DELETE", vm_.string()},
            {{"GPUVM_SYSFS_ROOT", root_.string()}, {"GPUVM_STATE_DIR", state().string()}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(OneCliTest, VmXmlThatIsNotARegularFileOfTheCaller) {
  const fs::path zero = dir_.path() / "zero/vm.xml", fifo = dir_.path() / "fifo/vm.xml";
  fs::create_directories(zero.parent_path());
  fs::create_directories(fifo.parent_path());
  fs::create_symlink("/dev/zero", zero);       // was read until memory ran out
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);  // hung forever
  expect_refused(gpuvm(create(zero)), "symbolic link", "symlink to /dev/zero");
  expect_refused(gpuvm(create(fifo)), "FIFO", "FIFO");
  expect_refused(gpuvm(create(dir_.path())), "directory", "directory");
  expect_refused(gpuvm(create("/dev/zero")), "character device", "/dev/zero");
  expect_refused(gpuvm(create(dir_.path() / "sys/../vm.xml")), "..", "..");
  expect_refused(gpuvm(create("vm.xml")), "absolute", "relative path");
  const fs::path big = dir_.path() / "big/vm.xml";
  fs::create_directories(big.parent_path());
  test::write_file(big, "<VM>" + std::string(9 << 20, ' ') + "</VM>");
  expect_refused(gpuvm(create(big)), "bytes", "9 MiB file");
}

TEST_F(OneCliTest, VmXmlOfAnotherUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown (CI runs as root)";
  ASSERT_EQ(::chown(vm_.c_str(), 65534, 65534), 0);
  expect_refused(gpuvm(create(vm_)), "owned by uid 65534", "file of nobody");
}

// Billion laughs: ten levels of ten references, 10^9 "lol" once expanded.
// gpuvm expanded it itself when it read field text (a 105 KB file: 19 s and
// 2.6 GB). A DOCTYPE is refused before any entity is declared.
TEST_F(OneCliTest, EntityBombIsRefused) {
  std::string dtd = "<!DOCTYPE VM [\n <!ENTITY lol0 \"lol\">\n";
  for (int i = 1; i <= 9; ++i) {
    dtd += " <!ENTITY lol" + std::to_string(i) + " \"";
    for (int j = 0; j < 10; ++j) dtd += "&lol" + std::to_string(i - 1) + ";";
    dtd += "\">\n";
  }
  dtd += "]>\n";
  std::string xml = test::read_file(vm_);
  const std::string profile = "<![CDATA[nvidia-475]]>";
  xml.replace(xml.find(profile), profile.size(), "&lol9;");
  test::write_file(vm_, dtd + xml);
  expect_refused(gpuvm(create(vm_)), "DOCTYPE", "entity bomb");
  // An external entity, and a DOCTYPE with nothing in it, neither.
  test::write_file(vm_, "<!DOCTYPE VM SYSTEM \"file:///etc/shadow\">\n" + xml);
  expect_refused(gpuvm(create(vm_)), "DOCTYPE", "external DTD");
  // Without a DTD an entity is undeclared: not well-formed.
  test::write_file(vm_, xml);
  expect_refused(gpuvm(create(vm_)), "lol9", "undeclared entity");
}

// What sudo also lets through (it matches the arguments joined by spaces):
// one argument with spaces in it. gpuvm refuses it before anything.
TEST_F(OneCliTest, SpacesInsideOneArgument) {
  const std::string ds = "/var/lib/one//datastores/0/42/vm.xml";
  const std::map<std::string, std::string> sudo = {{"SUDO_UID", std::to_string(::getuid())}};
  for (const auto& args : std::vector<std::vector<std::string>>{{"one", "vgpu CREATE " + ds},
                                                                {"one", "vgpu", "CREATE " + ds}}) {
    auto r = gpuvm(args, sudo);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
  EXPECT_EQ(snapshot(root_), before_);
}

}  // namespace
}  // namespace gpuvm
