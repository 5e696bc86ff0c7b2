// gpuvmd's state: hosts and their reported inventory, VMs and their PCI
// requests, allocations, events and API tokens. One class over either
// database (`sqlite:PATH` or `postgresql://...`), versioned schema
// migrations, every change in one transaction.
//
// Several gpuvmd processes may share one database. Allocation correctness
// rests on the database's row locks (docs/gpuvmd.md): a deploy locks the VM
// row, then the chosen host's row (PostgreSQL: FOR UPDATE SKIP LOCKED, then
// FOR UPDATE; SQLite: the database write lock), re-reads that host's
// allocations and re-runs the scheduler for it before inserting.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "server/scheduler/model.h"
#include "server/scheduler/scheduler.h"
#include "server/store/db.h"

namespace gpuvm::server {

struct HostRecord {
  int64_t id = 0;
  std::string name;
  std::string state;  // "ok" | "error" (stopped reporting) | "offline"
  HostInventory inventory;
  int64_t generation = 0;     // bumped on each inventory push
  int64_t updated_at_ms = 0;  // last push
  bool force_update = false;  // an operator asked for a fresh report
  std::vector<Allocation> allocations;
};

// The outcome of a monitoring push.
struct HostPush {
  std::string name;
  int64_t generation = 0;
  int64_t updated_at_ms = 0;
  bool created = false;  // the host's first report
  bool changed = false;  // the inventory differs from the stored one
};

struct VmRecord {
  int64_t id = 0;
  std::string name;
  VmRequest request;
  // "pending" | "deploying" (host commands queued) | "deployed" | "failed"
  // (the host could not make a device; allocation rolled back) | "undeployed"
  std::string state;
  std::string host;  // "" unless deployed
  std::vector<Allocation> allocations;
  int64_t created_at_ms = 0, updated_at_ms = 0;
};

struct Event {
  int64_t id = 0;
  int64_t at_ms = 0;
  std::string kind;    // "host.registered", "vm.deployed", "vm.deploy_failed", ...
  std::string object;  // "host/NAME", "vm/ID"
  std::string message;
};

struct DeployResult {
  enum class Outcome { kPlaced, kAlreadyPlaced, kNoCapacity };
  Outcome outcome = Outcome::kNoCapacity;
  VmRecord vm;
  std::string reason;  // kNoCapacity: why no host fits
};

struct StoreStats {
  int64_t hosts = 0, gpus = 0, vms = 0, allocations = 0;
};

// Fleet totals for /metrics: hosts by state, and what the hosts in state
// "ok" (the capacity a deploy can use) hold and have free.
struct FleetTotals {
  std::map<std::string, int64_t> host_states;
  int64_t gpus = 0, gpus_whole_free = 0;
  std::map<std::string, uint64_t> mig_free, vgpu_free;  // summed over GPUs
  int64_t vms = 0, allocations = 0;
};

class Store {
 public:
  // `url`: "sqlite:PATH" or "postgresql://..." / "postgres://...". Applies
  // the schema migrations this binary knows; refuses a newer schema.
  static std::unique_ptr<Store> open(const std::string& url, size_t max_connections = 8);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  store::Dialect dialect() const { return dialect_; }
  int schema_version();
  static int latest_schema_version();

  // Register a host or take its monitoring push; returns the stored record.
  // `inventory_sha256`: SHA-256 (hex) of to_json(inv), kept for touch_host;
  // *push (if given) says whether the host is new and whether it changed.
  HostRecord put_host(const HostInventory& inv, const std::string& inventory_sha256 = "",
                      HostPush* push = nullptr);
  // A push whose inventory JSON has this SHA-256 is the one already stored:
  // marks that host alive (state ok, updated_at, forceupdate answered)
  // without parsing or rewriting it. nullopt when no host has it stored.
  // `only_host` non-empty: only that host's row may match (an agent token).
  std::optional<HostPush> touch_host(const std::string& inventory_sha256,
                                     const std::string& only_host = "");
  std::vector<HostRecord> list_hosts();
  std::optional<HostRecord> get_host(const std::string& name);
  HostRecord request_force_update(const std::string& name);  // kNotFound
  // Hosts whose last push is older than `silent_for_ms` go to state "error":
  // no new allocations there; existing ones are kept, never released
  // behind the operator's back. The next push makes them "ok" again.
  // Returns the names marked now.
  std::vector<std::string> mark_silent_hosts(int64_t silent_for_ms);

  VmRecord create_vm(const std::string& name, const VmRequest& req);
  std::optional<VmRecord> get_vm(int64_t id);
  std::vector<VmRecord> list_vms();
  // Schedules and allocates every device of the VM in one transaction, or
  // none. Idempotent: a deployed VM returns its allocations. kNotFound.
  DeployResult deploy(int64_t vm_id);
  // Releases the VM's allocations (idempotent). kNotFound.
  VmRecord undeploy(int64_t vm_id);
  void delete_vm(int64_t vm_id);  // releases, then removes. kNotFound.

  // The host command queue (docs/gpuvmd.md "Host commands"). A deploy that
  // needs vGPUs or GPU instances leaves the VM "deploying" with commands for
  // the host's agent; the agent's reports make it "deployed", or "failed"
  // with its allocation rolled back. Undeploy/delete queue the undo.
  // Queued commands of `host`, oldest first; *force_update (if given): an
  // operator asked for a fresh report. kNotFound for an unknown host.
  std::vector<HostCommand> host_commands(const std::string& host, int limit = 100,
                                         bool* force_update = nullptr);
  std::vector<HostCommand> vm_commands(int64_t vm_id);
  // The agent's report on command `id` of `host`; a repeated report changes
  // nothing. *rolled_back (if given): this report failed the VM's deploy and
  // rolled it back. kNotFound when the host has no such command.
  HostCommand complete_command(const std::string& host, int64_t id, const CommandResult& result,
                               bool* rolled_back = nullptr);

  std::vector<Allocation> list_allocations();
  std::vector<Event> list_events(int64_t after_id, int limit);
  StoreStats stats();
  // From the deploy path's per-host caches (kept by (generation,
  // alloc_version)): one short row per host and a parse only of the hosts
  // that changed since the last call, not every inventory.
  FleetTotals fleet_totals();

  // API tokens: only their SHA-256 (hex) is stored. `host` non-empty makes
  // an agent token: it may report that host and run its commands, nothing
  // else (docs/gpuvmd.md "Authentication").
  void add_token(const std::string& name, const std::string& sha256_hex,
                 const std::string& host = "");
  // The token's host ("" for an operator's token); nullopt when unknown.
  std::optional<std::string> token_host(const std::string& sha256_hex);
  bool token_known(const std::string& sha256_hex);

 private:
  Store(std::string url, size_t max_connections);
  class Lease;
  std::unique_ptr<store::Db> connect();
  // Runs fn in one transaction on a pooled connection, again on a lost race.
  template <typename F>
  auto transact(bool write, F&& fn, bool durable = true)
      -> decltype(fn(std::declval<store::Db&>()));
  void migrate();
  // Parsed inventories by host id, valid while the row's generation matches:
  // a deploy then parses only the hosts that pushed since the last one.
  std::shared_ptr<const HostInventory> inventory(store::Db& db, int64_t host_id,
                                                 int64_t generation);
  // A host's allocations and their summary, cached by (generation, alloc_version).
  struct UsageSnapshot {
    int64_t generation = 0, alloc_version = 0;
    std::vector<Allocation> allocations;
    HostSummary summary;
  };
  std::shared_ptr<const UsageSnapshot> usage_snapshot(
      store::Db& db, int64_t host_id, int64_t generation, int64_t alloc_version,
      const std::shared_ptr<const HostInventory>& inv);
  // What a deploy ranks: every "ok" host by name, with its inventory,
  // allocations and summary in the vectors rank_hosts takes. Kept between
  // deploys and patched where a host's (generation, alloc_version) moved, so
  // that a deploy costs one short row per host instead of copying every
  // host's allocations and summary; copied only while another deploy of this
  // process still ranks on it.
  struct Fleet {
    std::vector<int64_t> ids;
    std::vector<std::string> names;
    std::vector<std::shared_ptr<const HostInventory>> inventories;
    std::vector<std::shared_ptr<const UsageSnapshot>> usages;
    std::vector<HostState> states;
    std::vector<HostSummary> summaries;
  };
  std::shared_ptr<const Fleet> fleet(store::Db& db);

  std::string url_;
  store::Dialect dialect_;
  size_t max_connections_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<store::Db>> idle_;
  size_t open_ = 0;
  std::mutex cache_mu_;
  std::map<int64_t, std::pair<int64_t, std::shared_ptr<const HostInventory>>> inventories_;
  std::map<int64_t, std::shared_ptr<const UsageSnapshot>> usages_;
  std::shared_ptr<Fleet> fleet_;  // guarded by cache_mu_; changed in place only when unshared
};

}  // namespace gpuvm::server
