#include "agent/agent.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>

#include "agent/executor.h"
#include "agent/inventory.h"
#include "agent/status_file.h"
#include "core/error.h"
#include "core/files.h"
#include "mig/nvml_host.h"
#include "pci/names.h"
#include "server/api/client.h"
#include "server/scheduler/model.h"
#include "server/scheduler/model_json.h"

namespace gpuvm::agent {

using Clock = std::chrono::steady_clock;

namespace {

// One entry of gpuvmd's command queue, parsed on its own so that a malformed
// one (a non-integer id, an unknown op, a field of the wrong type) is
// rejected alone instead of failing every round for the whole queue.
struct Queued {
  std::optional<server::HostCommand> command;
  std::optional<int64_t> id;  // where the entry has a usable one: its result can be posted
  std::string text;           // the entry (for the log), shortened
  std::string error;          // why it was rejected
};

struct Queue {
  std::vector<Queued> commands;
  bool force_update = false;
};

// Throws kInvalidArgument when the answer itself is not a queue (the round
// fails and is retried); an entry that is not a command is rejected alone.
Queue split_queue(const std::string& body) {
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("commands") || !j["commands"].is_array())
    throw_invalid("gpuvmd's command queue: expected {\"commands\": [...], \"force_update\": ...}");
  Queue q;
  const nlohmann::json force = j.value("force_update", nlohmann::json(false));
  q.force_update = force.is_boolean() && force.get<bool>();
  for (const nlohmann::json& entry : j["commands"]) {
    Queued one;
    one.text = entry.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (one.text.size() > 200) one.text = one.text.substr(0, 200) + "...";
    if (entry.is_object() && entry.contains("id") && entry["id"].is_number_integer() &&
        entry["id"].get<int64_t>() >= 0)
      one.id = entry["id"].get<int64_t>();
    try {
      if (!one.id) throw_invalid("its id is not a non-negative integer");
      // The server's own reader, on a queue of this one entry.
      nlohmann::json single = {{"commands", nlohmann::json::array({entry})},
                               {"force_update", false}};
      auto parsed = server::parse_command_queue(
                        single.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
                        .commands;
      if (parsed.size() != 1) throw_invalid("not one command");
      one.command = std::move(parsed.front());
    } catch (const std::exception& e) {  // gpuvm::Error or nlohmann's type errors
      one.command.reset();
      one.error = e.what();
    }
    q.commands.push_back(std::move(one));
  }
  return q;
}

}  // namespace

struct Agent::Impl {
  AgentOptions opt;
  std::function<void(const std::string&)> log;
  server::ApiClient client;
  // One for the agent's life: pci.ids is parsed once, each id looked up once.
  pci::PciNames names{std::nullopt};
  std::string last_pushed;  // the inventory JSON gpuvmd has
  std::optional<Clock::time_point> pushed_at;
  bool told_no_nvml = false;
  std::set<std::string> rejected;  // malformed commands already logged
  // <state-dir>/agent.json (status_file.h): the last push and the current error.
  std::optional<int64_t> reached_at_ms, clock_offset_ms, error_at_ms;
  std::string error;

  Impl(AgentOptions o, std::function<void(const std::string&)> l)
      : opt(std::move(o)),
        log(std::move(l)),
        client(opt.server, opt.token, opt.ca_file, opt.insecure_http) {
    if (!log) log = [](const std::string&) {};
    open_nvml();  // a library named with --nvml-lib must load: fail at start, not later
  }

  // NVML for one round only: a process that keeps it open holds the GPU, and
  // the driver then refuses the unbind that sriov-manage (gpuvm sriov, node
  // apply) needs ("Cannot obtain unbindLock"). nullptr without a driver:
  // the host is reported without MIG and gi.* commands say why they fail.
  std::unique_ptr<mig::NvmlHost> open_nvml() {
    try {
      return std::make_unique<mig::NvmlHost>(opt.nvml_lib);
    } catch (const Error& e) {
      if (!opt.nvml_lib.empty()) throw;
      if (!told_no_nvml)
        log(fmt::format("NVML not available ({}); reporting without MIG", e.what()));
      told_no_nvml = true;
      return nullptr;
    }
  }

  // A malformed command: logged (once per distinct entry, not every round)
  // and, where it has an id, reported failed so that gpuvmd stops waiting for
  // it. The post may fail too (gpuvmd does not know that id): logged.
  void reject(const Queued& q) {
    const bool first = rejected.insert(q.text).second;
    if (rejected.size() > 1000) rejected.clear();  // bounded memory
    if (first)
      log(fmt::format("rejected a malformed command from gpuvmd{}: {} ({})",
                      q.id ? fmt::format(" (id {})", *q.id) : std::string(" (no usable id)"),
                      q.error, q.text));
    if (!q.id) return;
    server::CommandResult result{false, false,
                                 fmt::format("the agent cannot read this command: {}", q.error)};
    try {
      client.post(host_path(fmt::format("/commands/{}/result", *q.id)), server::to_json(result));
    } catch (const Error& e) {
      if (first) log(fmt::format("could not report command {} as failed: {}", *q.id, e.what()));
    }
  }

  std::string host_path(std::string_view tail) const {
    return fmt::format("/api/v1/hosts/{}{}", opt.host_name, tail);
  }

  // Pushes when the host changed, the period is up, or gpuvmd asked.
  bool push(mig::MigHost* nvml, bool force) {
    server::HostInventory inv = collect_inventory(opt.root, nvml, opt.host_name, &names);
    inv.check = recorded_check(opt.state_dir);  // gpuvm check --record's last result
    std::string body = server::to_json(inv);
    const bool due = !pushed_at || Clock::now() - *pushed_at >= opt.push_period;
    if (!force && !due && body == last_pushed) return false;
    client.post("/api/v1/hosts", body);
    if (body != last_pushed)
      log(fmt::format("pushed inventory: {} PCI devices, {} GPUs", inv.pci.size(),
                      inv.gpus.size()));
    last_pushed = std::move(body);
    pushed_at = Clock::now();
    reached_at_ms = unix_ms(std::chrono::system_clock::now());
    if (auto t = client.last_server_time())
      clock_offset_ms = unix_ms(t->server) - unix_ms(t->local);
    error.clear();
    error_at_ms.reset();
    write_status();
    return true;
  }

  static int64_t unix_ms(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  }

  // A failed round: the status file says so once per distinct error, not
  // every poll.
  void failed(const std::string& what) {
    if (what == error) return;
    error = what;
    error_at_ms = unix_ms(std::chrono::system_clock::now());
    write_status();
  }

  // Best effort: the agent's work never stops because its note for gpuvm
  // check could not be written (a read-only or full disk is logged once).
  void write_status() {
    nlohmann::json j{{"server", opt.server}};
    if (reached_at_ms) j["reached_at_ms"] = *reached_at_ms;
    if (clock_offset_ms) j["clock_offset_ms"] = *clock_offset_ms;
    if (!error.empty()) {
      j["error"] = error.substr(0, 1024);
      j["error_at_ms"] = *error_at_ms;
    }
    try {
      atomic_write_file(status_path(opt.state_dir), j.dump() + "\n");
      told_no_status = false;
    } catch (const Error& e) {
      if (!told_no_status)
        log(fmt::format("cannot write the agent status for gpuvm check: {}", e.what()));
      told_no_status = true;
    }
  }
  bool told_no_status = false;
};

Agent::Agent(AgentOptions options, std::function<void(const std::string&)> log) {
  if (options.server.empty()) throw_invalid("--server: the gpuvmd URL is required");
  if (options.token.empty()) throw_invalid("a token is required (--token-file or GPUVM_TOKEN)");
  // The name becomes a path component of the API URL: gpuvmd's rule for names.
  if (!server::valid_host_name(options.host_name))
    throw_invalid(fmt::format("--name '{}': expected 1-253 letters, digits, '.', '_' or '-'",
                              options.host_name.substr(0, 64)));
  if (options.poll_period < std::chrono::milliseconds(50)) throw_invalid("--poll: at least 0.05 s");
  impl_ = std::make_unique<Impl>(std::move(options), std::move(log));
}

Agent::~Agent() = default;

RoundReport Agent::round() {
  Impl& s = *impl_;
  RoundReport r;
  const std::unique_ptr<mig::NvmlHost> nvml = s.open_nvml();
  // The first round registers the host; the queue needs it to exist.
  if (!s.pushed_at) r.pushed = s.push(nvml.get(), true);
  std::string body;
  try {
    body = s.client.get(s.host_path("/commands"));
  } catch (const Error& e) {
    if (e.code() != Errc::kNotFound) throw;
    // gpuvmd does not know this host (a new database, a host deleted):
    // register again rather than fail every round.
    s.log("gpuvmd does not know this host: registering it again");
    r.pushed = s.push(nvml.get(), true);
    body = s.client.get(s.host_path("/commands"));
  }
  const Queue queue = split_queue(body);
  const ExecContext ctx{s.opt.root, nvml.get(), s.opt.state_dir};
  for (const Queued& q : queue.commands) {
    if (!q.command) {
      // Rejected alone: the others still run, and the agent keeps going.
      ++r.commands_failed;
      s.reject(q);
      continue;
    }
    const server::HostCommand& c = *q.command;
    server::CommandResult result = execute(ctx, c);
    (result.ok ? r.commands_done : r.commands_failed)++;
    s.log(fmt::format("command {} {} for VM {}: {}{}", c.id, server::command_op_name(c.op), c.vm_id,
                      result.ok ? "" : "FAILED: ", result.message));
    s.client.post(s.host_path(fmt::format("/commands/{}/result", c.id)), server::to_json(result));
  }
  // After commands the host changed: gpuvmd must see it before it places more.
  r.pushed |= s.push(nvml.get(), queue.force_update || !queue.commands.empty());
  return r;
}

void Agent::run(const std::atomic<bool>& stop) {
  while (!stop.load()) {
    const auto start = Clock::now();
    try {
      round();
    } catch (const std::exception& e) {
      impl_->log(fmt::format("round failed (retrying in {} ms): {}", impl_->opt.poll_period.count(),
                             e.what()));
      impl_->failed(e.what());
    }
    // Sleep in short steps so that a stop request is seen promptly.
    while (!stop.load() && Clock::now() - start < impl_->opt.poll_period)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace gpuvm::agent
