// Db over SQLite 3 (the zero-setup default). One connection per pool slot,
// WAL journal so readers do not block the writer, a busy timeout so writers
// of several gpuvmd processes on one file queue instead of failing.
#include <fcntl.h>
#include <fmt/format.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <unordered_map>
#include <vector>

#include "server/store/db.h"

namespace gpuvm::server::store {
namespace {

// The database holds token hashes and the fleet: 0600 in a directory only
// gpuvmd's user can write (a directory others can write lets them swap the
// file or plant a -wal/-shm link). A missing directory is made 0700; one
// that group or others can write is refused; an existing database (or its
// -wal/-shm) readable by others is made 0600, with a note on stderr; a
// link or non-regular file is refused. SQLite gives -wal/-shm the mode of
// the database file (sqlite.org/tempfiles.html), so they follow it.
void secure_sqlite_path(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const std::string dir = parent.empty() ? std::string(".") : parent.string();
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT || (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) ||
        ::stat(dir.c_str(), &st) != 0)
      throw Error(Errc::kIo, fmt::format("cannot create directory {} for the SQLite database", dir),
                  errno);
  }
  if (!S_ISDIR(st.st_mode))
    throw_invalid(fmt::format("SQLite database {}: {} is not a directory", path, dir));
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    throw_invalid(fmt::format(
        "SQLite database {}: directory {} is writable by group or others (mode {:04o}), who could "
        "replace the database; use a directory only gpuvmd's user can write (chmod 0700)",
        path, dir, st.st_mode & 07777));
  // Built with append: GCC 12 warns (-Wrestrict, a false positive) on path + "-wal".
  std::vector<std::string> files(3, path);
  files[1].append("-wal");
  files[2].append("-shm");
  // Never open() an existing database file here: closing any descriptor of a
  // file drops every POSIX lock this process holds on it (fcntl(2), "Advisory
  // record locking"), so a second pool connection opened while the first held
  // its lock let another gpuvmd write at the same time (sqlite.org/howtocorrupt.html
  // §2.2). The directory is ours alone (checked above), so nobody else can swap a
  // file between the lstat and the chmod below.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd >= 0)
    ::close(fd);  // new and empty: no connection of ours has it open yet
  else if (errno != EEXIST)
    throw Error(Errc::kIo, fmt::format("cannot create SQLite database file {}", path), errno);
  for (const std::string& f : files) {
    struct stat fst {};
    if (::lstat(f.c_str(), &fst) != 0) {
      if (errno == ENOENT && f != path) continue;
      throw Error(Errc::kIo, fmt::format("cannot stat SQLite database file {}", f), errno);
    }
    if (S_ISLNK(fst.st_mode))
      throw_invalid(fmt::format("SQLite database file {} is a symbolic link: refused", f));
    if (!S_ISREG(fst.st_mode) || fst.st_uid != ::geteuid())
      throw_invalid(fmt::format(
          "SQLite database file {}: expected a regular file owned by gpuvmd's user", f));
    const mode_t was = fst.st_mode & 07777;
    if ((was & 077) == 0) continue;
    if (::chmod(f.c_str(), 0600) != 0)
      throw Error(Errc::kIo, fmt::format("cannot make SQLite database file {} 0600", f), errno);
    std::fprintf(stderr, "gpuvmd: SQLite database file %s was mode %04o: made 0600\n", f.c_str(),
                 static_cast<unsigned>(was));
  }
}

class SqliteDb final : public Db {
 public:
  explicit SqliteDb(const std::string& path) : path_(path) {
    secure_sqlite_path(path);
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
  ~SqliteDb() override {
    for (auto& [sql, st] : statements_) sqlite3_finalize(st);
    sqlite3_close_v2(db_);
  }

  Dialect dialect() const override { return Dialect::kSqlite; }
  bool healthy() const override { return db_ != nullptr; }

  void begin(bool write, bool durable) override {
    // Set before BEGIN (not inside a transaction), only when it changes: a
    // durable transaction never starts on a connection left relaxed.
    if (relaxed_ == durable) {
      exec(durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", {});
      relaxed_ = !durable;
    }
    exec(write ? "BEGIN IMMEDIATE" : "BEGIN", {});
  }
  void commit() override { exec("COMMIT", {}); }
  void rollback() noexcept override {
    if (sqlite3_get_autocommit(db_) == 0) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }

  Rows exec(std::string_view sql, const std::vector<std::string>& params) override {
    Statement st = statement(sql);
    for (size_t i = 0; i < params.size(); ++i)
      sqlite3_bind_text(st.get(), static_cast<int>(i + 1), params[i].data(),
                        static_cast<int>(params[i].size()), SQLITE_TRANSIENT);
    Rows rows;
    int rc;
    const int n = sqlite3_column_count(st.get());
    while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
      Row row;
      row.reserve(static_cast<size_t>(n));
      for (int c = 0; c < n; ++c) {
        const unsigned char* t = sqlite3_column_text(st.get(), c);
        row.emplace_back(t ? reinterpret_cast<const char*>(t) : "",
                         static_cast<size_t>(sqlite3_column_bytes(st.get(), c)));
      }
      rows.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE) fail(rc, sql);
    return rows;
  }

 private:
  bool relaxed_ = false;  // synchronous=NORMAL is set on this connection

  // A prepared statement in use: reset (and its bindings cleared) when done,
  // so that a cached one holds no read transaction open; finalized when it
  // was not cached.
  class Statement {
   public:
    Statement(sqlite3_stmt* st, bool cached) : st_(st), cached_(cached) {}
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    ~Statement() {
      if (cached_) {
        sqlite3_reset(st_);
        sqlite3_clear_bindings(st_);
      } else {
        sqlite3_finalize(st_);
      }
    }
    sqlite3_stmt* get() const { return st_; }

   private:
    sqlite3_stmt* st_;
    bool cached_;
  };

  // The store runs a small fixed set of statements many times: parsing and
  // planning each once per connection saves most of a short statement's cost.
  // Past kMaxCached distinct texts (none expected), statements run uncached.
  Statement statement(std::string_view sql_in) {
    constexpr size_t kMaxCached = 256;
    std::string key(sql_in);
    if (auto it = statements_.find(key); it != statements_.end()) return {it->second, true};
    // The store writes PostgreSQL's $N; SQLite's numbered form is ?N.
    std::string sql = key;
    for (size_t i = 0; i + 1 < sql.size(); ++i)
      if (sql[i] == '$' && std::isdigit(static_cast<unsigned char>(sql[i + 1]))) sql[i] = '?';
    sqlite3_stmt* st = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &st, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(st);
      fail(rc, sql);
    }
    if (statements_.size() >= kMaxCached) return {st, false};
    statements_.emplace(std::move(key), st);
    return {st, true};
  }

  [[noreturn]] void fail(int rc, std::string_view sql) {
    std::string msg = fmt::format("SQLite {}: {} (in: {:.80})", path_, sqlite3_errmsg(db_), sql);
    int primary = rc & 0xff;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) throw RetryableError(msg);
    if (primary == SQLITE_CONSTRAINT) throw Error(Errc::kConflict, msg);
    throw Error(Errc::kIo, msg);
  }

  std::string path_;
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;  // by the store's SQL text
};

}  // namespace

std::unique_ptr<Db> open_sqlite(const std::string& path) {
  return std::make_unique<SqliteDb>(path);
}

}  // namespace gpuvm::server::store
