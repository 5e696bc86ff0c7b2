// Secrets stay secret: a PostgreSQL password given in the store URL (its
// userinfo, ?password=, key=value form) appears in no message, log line or
// API answer, and given by file or environment not in gpuvmd's argv.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "server/api/server.h"
#include "server/gpuvmd_process.h"
#include "server/store/db.h"
#include "server/store/store.h"
#include "server/test_db.h"

namespace gpuvm::server {
namespace {

using gpuvm::test::Gpuvmd;

constexpr const char* kUserPw = "UserInfoSecret42";
constexpr const char* kQueryPw = "QuerySecret42";

TEST(Secrets, EveryPasswordFormIsRedacted) {
  using store::redact_db_url;
  EXPECT_EQ(redact_db_url("postgresql://u:pw1@h:5432/db"), "postgresql://u:***@h:5432/db");
  EXPECT_EQ(redact_db_url("postgresql://u@h/db?password=pw2&sslmode=disable"),
            "postgresql://u@h/db?password=***&sslmode=disable");
  EXPECT_EQ(redact_db_url("postgres://h/db?sslmode=require&PassWord=a%20b&sslpassword=k3y"),
            "postgres://h/db?sslmode=require&PassWord=***&sslpassword=***");
  EXPECT_EQ(redact_db_url("host=h password='it\\'s' user=u"), "host=h password='***' user=u");
  EXPECT_EQ(redact_db_url("host=h password=plain user=u"), "host=h password=*** user=u");
  // A message quoting the decoded form is scrubbed too.
  auto secrets = store::db_secrets("postgresql://u@h/db?password=a%20b");
  EXPECT_EQ(store::scrub_secrets("auth failed for 'a b'", secrets), "auth failed for '***'");
}

TEST(Secrets, AFailedConnectShowsNoPasswordAndFileOrEnvKeepItOutOfArgv) {
  gpuvm::test::TempDir dir;
  // Nothing listens on port 1: the connect fails and gpuvmd says why.
  const std::string url = fmt::format(
      "postgresql://gpuvm:{}@127.0.0.1:1/gpuvm?connect_timeout=2&password={}", kUserPw, kQueryPw);
  auto check = [&](const gpuvm::test::RunResult& r, const std::string& how) {
    EXPECT_NE(r.exit_code, 0) << how;
    EXPECT_NE(r.err.find("cannot connect to PostgreSQL"), std::string::npos) << how << r.err;
    EXPECT_EQ(r.err.find(kUserPw), std::string::npos) << how << r.err;
    EXPECT_EQ(r.err.find(kQueryPw), std::string::npos) << how << r.err;
    EXPECT_EQ(r.out.find(kQueryPw), std::string::npos) << how << r.out;
  };
  const std::string exe = gpuvm::test::bin("gpuvmd").string();
  check(gpuvm::test::run({exe, "--db", url, "token", "x"}), "--db");
  auto file = dir.path() / "db-url";
  gpuvm::test::write_file(file, url + "\n");
  check(gpuvm::test::run({exe, "--db-file", file.string(), "token", "x"}), "--db-file");
  check(gpuvm::test::run({exe, "token", "x"}, {{"GPUVM_DB_URL", url}}), "GPUVM_DB_URL");
  // A typo in the scheme: the message names the URL, without its password.
  auto typo =
      gpuvm::test::run({exe, "--db", fmt::format("postgresq://u:{}@h/db", kUserPw), "token", "x"});
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_EQ(typo.err.find(kUserPw), std::string::npos) << typo.err;
}

class SecretsPg : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::make_unique<test::TestDb>("postgresql");
    if (db_->url().empty()) GTEST_SKIP() << test::kPgSkip;
    // The test cluster trusts loopback: the password is carried, not checked.
    auto base = db_->url();
    auto at = base.find('@');
    url_ = base.substr(0, at) + ":" + kUserPw + base.substr(at) + "?password=" + kQueryPw;
  }
  std::unique_ptr<test::TestDb> db_;
  std::string url_;
};

TEST_F(SecretsPg, APasswordGivenByFileIsNotInArgvAndNoErrorAnswerShowsIt) {
  gpuvm::test::TempDir dir;
  auto file = dir.path() / "db-url";
  gpuvm::test::write_file(file, url_ + "\n");
  Gpuvmd d("", dir.path(), 0, {"--db-file", file.string()});
  std::string cmdline = gpuvm::test::read_file("/proc/" + std::to_string(d.pid()) + "/cmdline");
  EXPECT_EQ(cmdline.find(kQueryPw), std::string::npos);
  EXPECT_EQ(cmdline.find(kUserPw), std::string::npos);
  auto c = d.client();
  ASSERT_EQ(c->Get("/api/v1/hosts")->status, 200);
  // Cut gpuvmd's database connections: the next requests fail with a 5xx
  // that names the database, without its password.
  auto r = gpuvm::test::run(
      {"/usr/bin/psql", "-q", db_->url(), "-c",
       "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()"
       " AND pid <> pg_backend_pid()"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  int errors = 0;
  for (int i = 0; i < 10; ++i) {
    auto res = c->Get("/api/v1/hosts");
    ASSERT_TRUE(res);
    if (res->status >= 500) {
      ++errors;
      EXPECT_NE(res->body.find("?password=***"), std::string::npos) << res->body;
    }
    EXPECT_EQ(res->body.find(kQueryPw), std::string::npos) << res->body;
    EXPECT_EQ(res->body.find(kUserPw), std::string::npos) << res->body;
  }
  EXPECT_GE(errors, 1) << "the cut connections were noticed";
  d.kill9();
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    if (e.path().extension() == ".err") {
      std::string log = gpuvm::test::read_file(e.path());
      EXPECT_EQ(log.find(kQueryPw), std::string::npos) << log;
      EXPECT_EQ(log.find(kUserPw), std::string::npos) << log;
    }
}

}  // namespace
}  // namespace gpuvm::server
