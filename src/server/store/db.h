// The narrow seam between the store's logic and a database: one connection
// that runs parameterised SQL inside explicit transactions. Two
// implementations, SQLite (sqlite_db.cpp) and PostgreSQL through libpqxx 6.4
// (pg_db.cpp); their headers stay inside those files.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace gpuvm::server::store {

enum class Dialect { kSqlite, kPostgres };

using Row = std::vector<std::string>;  // NULL reads as ""
using Rows = std::vector<Row>;

// A transaction lost a race (serialization failure, deadlock, SQLite busy
// past its timeout) and may simply be run again.
class RetryableError : public Error {
 public:
  explicit RetryableError(std::string message) : Error(Errc::kConflict, std::move(message)) {}
};

class Db {
 public:
  virtual ~Db() = default;
  virtual Dialect dialect() const = 0;
  // `write`: SQLite takes the write lock at once (BEGIN IMMEDIATE) so that
  // two writers never deadlock on lock upgrade; PostgreSQL runs READ
  // COMMITTED and relies on row locks.
  // `durable` false: the commit must survive a crash of gpuvmd but may be
  // lost with the machine's power (liveness timestamps, nothing allocated):
  // SQLite commits it without fsync (WAL, synchronous=NORMAL), PostgreSQL
  // with synchronous_commit off.
  virtual void begin(bool write, bool durable = true) = 0;
  virtual void commit() = 0;
  virtual void rollback() noexcept = 0;
  // One statement with $1..$N text parameters. Throws RetryableError for a
  // lost race, Error(kConflict) for a constraint violation, Error(kIo) else.
  virtual Rows exec(std::string_view sql, const std::vector<std::string>& params = {}) = 0;
  // False once the connection is known to be unusable.
  virtual bool healthy() const = 0;
};

// The secret values in a PostgreSQL URL or key=value string (the password
// in its userinfo, password= / sslpassword= parameters), raw and
// percent-decoded; and text with each of them replaced by "***".
std::vector<std::string> db_secrets(const std::string& url);
std::string scrub_secrets(std::string text, const std::vector<std::string>& secrets);
std::string redact_db_url(const std::string& url);

std::unique_ptr<Db> open_sqlite(const std::string& path);
std::unique_ptr<Db> open_postgres(const std::string& url);

}  // namespace gpuvm::server::store
