// Db over PostgreSQL with libpqxx 6.4 (Debian 12). That version predates
// pqxx 7's params class: dynamic parameter lists go through
// pqxx::prepare::make_dynamic_params, and transactions are pqxx::work objects.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <pqxx/pqxx>
#include <unordered_map>

#include "server/store/db.h"

namespace gpuvm::server::store {

namespace {

std::string percent_decode(std::string_view v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '%' && i + 2 < v.size() && std::isxdigit(static_cast<unsigned char>(v[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(v[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(v.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += v[i];
    }
  }
  return out;
}

bool is_password_key(std::string key) {
  for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return key == "password" || key == "sslpassword";
}

}  // namespace

// libpq takes a password in a URI's userinfo and as the password= (and
// sslpassword=) parameter of a URI query or a key=value string (PostgreSQL
// docs, libpq "Connection Strings"). Each is collected raw and decoded.
std::vector<std::string> db_secrets(const std::string& url) {
  std::vector<std::string> out;
  auto add = [&](std::string_view v) {
    if (v.empty()) return;
    out.emplace_back(v);
    if (std::string d = percent_decode(v); d != v) out.push_back(d);
  };
  if (auto scheme = url.find("://"); scheme != std::string::npos) {
    size_t start = scheme + 3;
    size_t end = url.find_first_of("/?", start);
    std::string_view authority = std::string_view(url).substr(
        start, end == std::string::npos ? std::string::npos : end - start);
    if (auto at = authority.rfind('@'); at != std::string_view::npos) {
      std::string_view userinfo = authority.substr(0, at);
      if (auto colon = userinfo.find(':'); colon != std::string_view::npos)
        add(userinfo.substr(colon + 1));
    }
    if (auto q = url.find('?', start); q != std::string::npos) {
      std::string_view query = std::string_view(url).substr(q + 1);
      while (!query.empty()) {
        std::string_view item = query.substr(0, query.find('&'));
        query.remove_prefix(std::min(query.size(), item.size() + 1));
        auto eq = item.find('=');
        if (eq != std::string_view::npos && is_password_key(percent_decode(item.substr(0, eq))))
          add(item.substr(eq + 1));
      }
    }
    return out;
  }
  // key = value pairs; a value may be single-quoted with \' and \\ escapes.
  size_t i = 0;
  auto skip_space = [&] {
    while (i < url.size() && std::isspace(static_cast<unsigned char>(url[i]))) ++i;
  };
  while (i < url.size()) {
    skip_space();
    size_t k = i;
    while (i < url.size() && url[i] != '=' && !std::isspace(static_cast<unsigned char>(url[i])))
      ++i;
    std::string key = url.substr(k, i - k);
    skip_space();
    if (i >= url.size() || url[i] != '=') break;
    ++i;
    skip_space();
    std::string value;
    size_t v = i;
    if (i < url.size() && url[i] == '\'') {
      for (++i; i < url.size() && url[i] != '\''; ++i) {
        if (url[i] == '\\' && i + 1 < url.size()) ++i;
        value += url[i];
      }
      ++i;
      if (is_password_key(key)) add(url.substr(v + 1, i - v - 2));
    } else {
      while (i < url.size() && !std::isspace(static_cast<unsigned char>(url[i]))) value += url[i++];
    }
    if (is_password_key(key)) add(value);
  }
  return out;
}

std::string scrub_secrets(std::string text, const std::vector<std::string>& secrets) {
  std::vector<std::string> sorted = secrets;
  std::sort(sorted.begin(), sorted.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const std::string& s : sorted) {
    if (s.empty()) continue;
    for (size_t pos; (pos = text.find(s)) != std::string::npos;) text.replace(pos, s.size(), "***");
  }
  return text;
}

std::string redact_db_url(const std::string& url) {
  return scrub_secrets(url, db_secrets(url));
}

namespace {

class PgDb final : public Db {
 public:
  explicit PgDb(const std::string& url) : secrets_(db_secrets(url)), where_(redact_db_url(url)) {
    try {
      conn_ = std::make_unique<pqxx::connection>(url);
    } catch (const std::exception& e) {
      throw Error(Errc::kIo, fmt::format("cannot connect to PostgreSQL {}: {}", where_,
                                         scrub_secrets(e.what(), secrets_)));
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
      guard_raw(f);
    } catch (const RetryableError& e) {
      throw RetryableError(scrub_secrets(e.what(), secrets_));
    } catch (const Error& e) {
      throw Error(e.code(), scrub_secrets(e.what(), secrets_), e.sys_errno());
    }
  }
  // Server messages may quote the connection string: guard() scrubs them.
  template <typename F>
  void guard_raw(F&& f) {
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

  std::vector<std::string> secrets_;
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
