// Db over PostgreSQL with libpqxx 6.4 (Debian 12). That version predates
// pqxx 7's params class: dynamic parameter lists go through
// pqxx::prepare::make_dynamic_params, and transactions are pqxx::work objects.
#include <fmt/format.h>

#include <pqxx/pqxx>
#include <unordered_map>

#include "server/store/db.h"

namespace gpuvm::server::store {
namespace {

// The URL without its password, for messages.
std::string redact(const std::string& url) {
  auto at = url.find('@');
  auto scheme = url.find("://");
  if (at == std::string::npos || scheme == std::string::npos) return url;
  auto colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon) + ":***" + url.substr(at);
}

class PgDb final : public Db {
 public:
  explicit PgDb(const std::string& url) : where_(redact(url)) {
    try {
      conn_ = std::make_unique<pqxx::connection>(url);
    } catch (const std::exception& e) {
      throw Error(Errc::kIo, fmt::format("cannot connect to PostgreSQL {}: {}", where_, e.what()));
    }
  }

  Dialect dialect() const override { return Dialect::kPostgres; }
  bool healthy() const override { return conn_ && conn_->is_open() && !broken_; }

  void begin(bool, bool durable) override {
    guard([&] {
      txn_ = std::make_unique<pqxx::work>(*conn_);
      if (!durable) txn_->exec("SET LOCAL synchronous_commit = off");
    });
  }
  void commit() override {
    guard([&] { txn_->commit(); });
    txn_.reset();
  }
  void rollback() noexcept override {
    try {
      if (txn_) txn_->abort();
    } catch (...) {
      broken_ = true;  // the connection is in an unknown state: drop it
    }
    txn_.reset();
  }

  Rows exec(std::string_view sql, const std::vector<std::string>& params) override {
    if (!txn_) throw Error(Errc::kInternal, "PostgreSQL statement outside a transaction");
    Rows rows;
    guard([&] {
      const std::string* name = statement(sql);
      pqxx::result r =
          name ? txn_->exec_prepared(*name, pqxx::prepare::make_dynamic_params(params))
               : txn_->exec_params(std::string(sql), pqxx::prepare::make_dynamic_params(params));
      rows.reserve(r.size());
      for (const auto& row : r) {
        Row out;
        out.reserve(row.size());
        for (const auto& field : row)
          out.emplace_back(field.is_null() ? "" : field.c_str(), field.size());
        rows.push_back(std::move(out));
      }
    });
    return rows;
  }

 private:
  // The name of the server-side prepared statement for `sql` on this
  // connection, declared on first use (libpqxx prepares it lazily): the
  // server then parses and plans each of the store's statements once per
  // connection instead of once per call. Null for what is run as is: DDL
  // (migrations run once) and, past kMaxPrepared distinct texts, the rest.
  const std::string* statement(std::string_view sql) {
    constexpr size_t kMaxPrepared = 256;
    std::string key(sql);
    if (auto it = prepared_.find(key); it != prepared_.end()) return &it->second;
    const bool dml = key.rfind("SELECT", 0) == 0 || key.rfind("INSERT", 0) == 0 ||
                     key.rfind("UPDATE", 0) == 0 || key.rfind("DELETE", 0) == 0;
    if (!dml || prepared_.size() >= kMaxPrepared) return nullptr;
    std::string name = fmt::format("gpuvm_{}", prepared_.size());
    conn_->prepare(name, key);
    return &prepared_.emplace(std::move(key), std::move(name)).first->second;
  }

  template <typename F>
  void guard(F&& f) {
    try {
      f();
    } catch (const pqxx::transaction_rollback& e) {  // serialization failure, deadlock
      throw RetryableError(fmt::format("PostgreSQL {}: {}", where_, e.what()));
    } catch (const pqxx::integrity_constraint_violation& e) {
      throw Error(Errc::kConflict, fmt::format("PostgreSQL {}: {}", where_, e.what()));
    } catch (const pqxx::broken_connection& e) {
      broken_ = true;
      throw Error(Errc::kIo, fmt::format("PostgreSQL {}: connection lost: {}", where_, e.what()));
    } catch (const pqxx::in_doubt_error& e) {
      broken_ = true;
      throw Error(Errc::kIo,
                  fmt::format("PostgreSQL {}: commit outcome unknown: {}", where_, e.what()));
    } catch (const pqxx::sql_error& e) {
      throw Error(Errc::kIo, fmt::format("PostgreSQL {}: {}", where_, e.what()));
    } catch (const pqxx::failure& e) {
      broken_ = true;
      throw Error(Errc::kIo, fmt::format("PostgreSQL {}: {}", where_, e.what()));
    }
  }

  std::string where_;
  std::unique_ptr<pqxx::connection> conn_;
  std::unique_ptr<pqxx::work> txn_;
  std::unordered_map<std::string, std::string> prepared_;  // SQL text -> statement name
  bool broken_ = false;
};

}  // namespace

std::unique_ptr<Db> open_postgres(const std::string& url) {
  return std::make_unique<PgDb>(url);
}

}  // namespace gpuvm::server::store
