// Db over PostgreSQL with libpqxx 6.4 (Debian 12). That version predates
// pqxx 7's params class: dynamic parameter lists go through
// pqxx::prepare::make_dynamic_params, and transactions are pqxx::work objects.
#include <fmt/format.h>

#include <pqxx/pqxx>

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

  void begin(bool) override {
    guard([&] { txn_ = std::make_unique<pqxx::work>(*conn_); });
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
      pqxx::result r =
          txn_->exec_params(std::string(sql), pqxx::prepare::make_dynamic_params(params));
      for (const auto& row : r) {
        Row out;
        for (const auto& field : row) out.emplace_back(field.is_null() ? "" : field.c_str());
        rows.push_back(std::move(out));
      }
    });
    return rows;
  }

 private:
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
  bool broken_ = false;
};

}  // namespace

std::unique_ptr<Db> open_postgres(const std::string& url) {
  return std::make_unique<PgDb>(url);
}

}  // namespace gpuvm::server::store
