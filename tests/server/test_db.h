// A fresh database per test, for both backends: a SQLite file in a temporary
// directory, or a new database on the PostgreSQL server named by
// GPUVM_TEST_PG_URL (scripts/start-postgres.sh starts one; .ci/run does).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>

#include "support/test_support.h"

namespace gpuvm::server::test {

inline const char* pg_url_env() {
  const char* url = std::getenv("GPUVM_TEST_PG_URL");
  return url && *url ? url : nullptr;
}

constexpr const char* kPgSkip =
    "GPUVM_TEST_PG_URL is not set: start a server with scripts/start-postgres.sh and export its "
    "URL";

class TestDb {
 public:
  // backend: "sqlite" or "postgresql". For PostgreSQL without a server,
  // url() is empty and the test should GTEST_SKIP() with kPgSkip.
  explicit TestDb(const std::string& backend) {
    if (backend == "sqlite") {
      url_ = "sqlite:" + (dir_.path() / "gpuvmd.db").string();
      return;
    }
    const char* admin = pg_url_env();
    if (!admin) return;
    admin_ = admin;
    static std::atomic<int> counter{0};
    name_ = "gpuvm_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++);
    psql("DROP DATABASE IF EXISTS " + name_);
    psql("CREATE DATABASE " + name_);
    url_ = admin_.substr(0, admin_.rfind('/') + 1) + name_;
  }
  ~TestDb() {
    if (!name_.empty()) psql("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  }
  TestDb(const TestDb&) = delete;
  TestDb& operator=(const TestDb&) = delete;

  const std::string& url() const { return url_; }
  const std::filesystem::path& dir() const { return dir_.path(); }

 private:
  void psql(const std::string& sql) {
    auto r = gpuvm::test::run({"/usr/bin/psql", "-q", "-v", "ON_ERROR_STOP=1", admin_, "-c", sql});
    if (r.exit_code != 0) ADD_FAILURE() << "psql " << sql << ": " << r.err;
  }

  gpuvm::test::TempDir dir_;
  std::string admin_, name_, url_;
};

}  // namespace gpuvm::server::test
