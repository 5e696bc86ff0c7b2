// Db over SQLite 3 (the zero-setup default). One connection per pool slot,
// WAL journal so readers do not block the writer, a busy timeout so writers
// of several gpuvmd processes on one file queue instead of failing.
#include <fmt/format.h>
#include <sqlite3.h>

#include <cctype>

#include "server/store/db.h"

namespace gpuvm::server::store {
namespace {

class SqliteDb final : public Db {
 public:
  explicit SqliteDb(const std::string& path) : path_(path) {
    int rc =
        sqlite3_open_v2(path.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      sqlite3_close(db_);
      db_ = nullptr;
      throw Error(Errc::kIo, fmt::format("cannot open SQLite database {}: {}", path, msg));
    }
    sqlite3_busy_timeout(db_, 30000);
    exec("PRAGMA journal_mode=WAL", {});
    exec("PRAGMA synchronous=FULL", {});  // a commit survives power loss, not only kill -9
    exec("PRAGMA foreign_keys=ON", {});
  }
  ~SqliteDb() override { sqlite3_close_v2(db_); }

  Dialect dialect() const override { return Dialect::kSqlite; }
  bool healthy() const override { return db_ != nullptr; }

  void begin(bool write) override { exec(write ? "BEGIN IMMEDIATE" : "BEGIN", {}); }
  void commit() override { exec("COMMIT", {}); }
  void rollback() noexcept override {
    if (sqlite3_get_autocommit(db_) == 0) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }

  Rows exec(std::string_view sql_in, const std::vector<std::string>& params) override {
    // The store writes PostgreSQL's $N; SQLite's numbered form is ?N.
    std::string sql(sql_in);
    for (size_t i = 0; i + 1 < sql.size(); ++i)
      if (sql[i] == '$' && std::isdigit(static_cast<unsigned char>(sql[i + 1]))) sql[i] = '?';
    sqlite3_stmt* st = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &st, nullptr);
    if (rc != SQLITE_OK) fail(rc, sql);
    struct Finalize {
      sqlite3_stmt* s;
      ~Finalize() { sqlite3_finalize(s); }
    } guard{st};
    for (size_t i = 0; i < params.size(); ++i)
      sqlite3_bind_text(st, static_cast<int>(i + 1), params[i].data(),
                        static_cast<int>(params[i].size()), SQLITE_TRANSIENT);
    Rows rows;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      Row row;
      int n = sqlite3_column_count(st);
      for (int c = 0; c < n; ++c) {
        const unsigned char* t = sqlite3_column_text(st, c);
        row.emplace_back(t ? reinterpret_cast<const char*>(t) : "",
                         static_cast<size_t>(sqlite3_column_bytes(st, c)));
      }
      rows.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE) fail(rc, sql);
    return rows;
  }

 private:
  [[noreturn]] void fail(int rc, const std::string& sql) {
    std::string msg = fmt::format("SQLite {}: {} (in: {:.80})", path_, sqlite3_errmsg(db_), sql);
    int primary = rc & 0xff;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) throw RetryableError(msg);
    if (primary == SQLITE_CONSTRAINT) throw Error(Errc::kConflict, msg);
    throw Error(Errc::kIo, msg);
  }

  std::string path_;
  sqlite3* db_ = nullptr;
};

}  // namespace

std::unique_ptr<Db> open_sqlite(const std::string& path) {
  return std::make_unique<SqliteDb>(path);
}

}  // namespace gpuvm::server::store
