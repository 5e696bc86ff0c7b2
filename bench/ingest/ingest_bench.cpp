// Monitoring ingest: N hosts (default 10,000 x 8 GPUs) each push their
// inventory once per 60 s. How much CPU does the control plane spend on one
// such round, against what OpenNebula's monitoring does with the same pushes?
//
// gpuvmd runs as a child process (the real binary, SQLite in a temporary
// file, and PostgreSQL when GPUVM_TEST_PG_URL names a server), so its CPU is
// read cleanly from /proc/PID/stat (utime + stime of all its threads). The
// bench registers every host, then times three rounds of one push per host
// over HTTP keep-alive from a few client threads (cpp-httplib):
//   register   - first push of each host (INSERT),
//   monitoring - the steady state: 95% unchanged, 5% changed (a new MIG GPU
//                instance and the PROFILES of its VFs, as after a deploy),
//   all changed- every host's report differs from what is stored.
//
// The baseline is a second child process (this binary, --baseline-server)
// doing what oned does with a SYSTEM_HOST message (reference/opennebula.md §3
// "Monitoring merge", §5): parse the whole PCI_DEVICES template text, read the
// host's stored body, merge by ADDRESS (known device: refresh PROFILES,
// SRIOV, SRIOV_NUM; new: add with VMID -1; gone with VMID -1: erase), and
// write the whole body back in one SQLite transaction. It gets the same
// transport (HTTP keep-alive, same worker count), the same inventories as
// ONE's template text (gpuvm's own PCI_DEVICES formatter) and the same SQLite
// durability (WAL, synchronous=FULL), so the ratio is the cost of the work.
// Where it is simpler than ONE it is cheaper, never dearer: no base64/zlib
// decode of the message, no XML body (libxml2) but the template text, only
// the PCI part of the host template, no PCI_FILTER, no auth, a 2-byte reply.
#include <fcntl.h>
#include <fmt/format.h>
#include <httplib.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "server/fixtures.h"
#include "server/scheduler/model.h"
#include "server/scheduler/model_json.h"

using namespace gpuvm::server;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

// ---------------------------------------------------------------- inventories

// A GRID/vGPU type as the host's creatable_vgpu_types lists it.
struct TypeSpec {
  const char* name;
  uint32_t id, max;
  uint64_t fb_mb;
  const char* mig_profile;
};

struct Board {
  const char* device;  // PCI device id
  const char* device_name;
  const char* model;
  uint64_t fb_mb;
  MigTable mig;
  std::vector<TypeSpec> mig_types, sliced_types;
  std::vector<MigInstance> gis;  // GPU instances a MIG board has in steady state
  MigInstance new_gi;            // the one a "changed" report adds
};

// A100-SXM4-40GB: MIG table reference/nvidia.md §5.2, GRID A100 types §7.1.
Board a100() {
  Board b{
      "20b0", "NVIDIA Corporation GA100 [A100 SXM4 40GB]", "A100-SXM4-40GB", 40960, {}, {}, {}, {},
      {}};
  b.mig.memory_slices = 8;
  b.mig.compute_slices = 7;
  b.mig.profiles = {{"1g.5gb", 19, 1, 1, 7, {0, 1, 2, 3, 4, 5, 6}},
                    {"1g.5gb+me", 20, 1, 1, 1, {0, 1, 2, 3, 4, 5, 6}},
                    {"1g.10gb", 15, 1, 2, 4, {0, 2, 4, 6}},
                    {"2g.10gb", 14, 2, 2, 3, {0, 2, 4}},
                    {"3g.20gb", 9, 3, 4, 2, {0, 4}},
                    {"4g.20gb", 5, 4, 4, 1, {0}},
                    {"7g.40gb", 0, 7, 8, 1, {0}}};
  b.mig_types = {
      {"A100-1-5C", 474, 7, 5120, "1g.5gb"},    {"A100-2-10C", 475, 3, 10240, "2g.10gb"},
      {"A100-3-20C", 476, 2, 20480, "3g.20gb"}, {"A100-4-20C", 477, 1, 20480, "4g.20gb"},
      {"A100-7-40C", 478, 1, 40960, "7g.40gb"}, {"A100-1-5CME", 706, 1, 5120, "1g.5gb+me"}};
  b.sliced_types = {{"A100-4C", 468, 10, 4096, ""},  {"A100-5C", 469, 8, 5120, ""},
                    {"A100-8C", 470, 5, 8192, ""},   {"A100-10C", 471, 4, 10240, ""},
                    {"A100-20C", 472, 2, 20480, ""}, {"A100-40C", 473, 1, 40960, ""}};
  b.gis = {{"3g.20gb", 0}, {"2g.10gb", 4}};
  b.new_gi = {"1g.5gb", 6};
  return b;
}

// H100 SXM5 80GB: the test fixtures' MIG table and H100XM types.
Board h100() {
  Board b{"2330",
          "NVIDIA Corporation GH100 [H100 SXM5 80GB]",
          "H100-SXM5-80GB",
          81920,
          test::h100_mig_table(),
          {},
          {},
          {},
          {}};
  b.mig_types = {
      {"H100XM-7-80C", 1030, 1, 81920, "7g.80gb"},     {"H100XM-4-40C", 1031, 1, 40960, "4g.40gb"},
      {"H100XM-3-40C", 1032, 2, 40960, "3g.40gb"},     {"H100XM-2-20C", 1033, 3, 20480, "2g.20gb"},
      {"H100XM-1-20C", 1034, 4, 20480, "1g.20gb"},     {"H100XM-1-10C", 1035, 7, 10240, "1g.10gb"},
      {"H100XM-1-10CME", 1036, 1, 10240, "1g.10gb+me"}};
  b.sliced_types = {{"H100XM-80C", 1040, 1, 81920, ""},
                    {"H100XM-40C", 1041, 2, 40960, ""},
                    {"H100XM-20C", 1042, 4, 20480, ""},
                    {"H100XM-10C", 1043, 8, 10240, ""}};
  b.gis = {{"3g.40gb", 0}, {"2g.20gb", 4}};
  b.new_gi = {"1g.10gb", 6};
  return b;
}

// ONE's PROFILES: "<id> (NVIDIA <name>)" comma-joined, no space (opennebula.md §1).
std::string profiles(const std::vector<TypeSpec>& types, size_t skip) {
  std::string out;
  for (size_t i = skip; i < types.size(); ++i)
    out += fmt::format("{}{} (NVIDIA {})", out.empty() ? "" : ",", types[i].id, types[i].name);
  return out;
}

// GPU `index` (bus 0x10 + index*0x10) with `vfs` VFs. Even GPUs are in MIG
// mode. `changed`: GPU 0 reports one more GPU instance, and its VFs offer one
// type fewer, as after a MIG-backed vGPU was created.
void add_gpu(HostInventory& h, const Board& b, int index, int vfs, int numa, bool changed) {
  const bool mig = index % 2 == 0;
  const bool bump = changed && index == 0;
  const int bus = 0x10 + index * 0x10;
  PciDevice pf;
  pf.address = fmt::format("0000:{:02x}:00:0", bus);
  pf.short_address = fmt::format("{:02x}:00.0", bus);
  pf.vendor = "10de";
  pf.device = b.device;
  pf.class_id = "0302";
  pf.vendor_name = "NVIDIA Corporation";
  pf.device_name = b.device_name;
  pf.class_name = "3D controller";
  pf.numa_node = std::to_string(numa);
  pf.sriov = "pf";
  h.pci.push_back(pf);
  const std::vector<TypeSpec>& types = mig ? b.mig_types : b.sliced_types;
  for (int v = 0; v < vfs; ++v) {
    PciDevice vf = pf;
    int fn = 4 + v;  // VFs from function 4, as on real boards
    vf.address = fmt::format("0000:{:02x}:{:02x}:{}", bus, fn / 8, fn % 8);
    vf.short_address = fmt::format("{:02x}:{:02x}.{}", bus, fn / 8, fn % 8);
    vf.device_name = "NVIDIA Corporation Device";
    vf.sriov = "vf";
    vf.mdev_mode = "nvidia";
    vf.physfn = pf.address;
    vf.uuid = fmt::format("{:08x}-{:04x}-5{:03x}-8000-{:012x}", std::hash<std::string>{}(h.name),
                          bus, fn, std::hash<std::string>{}(vf.address) & 0xffffffffffffULL);
    vf.profiles = profiles(types, bump ? 1 : 0);
    h.pci.push_back(std::move(vf));
  }
  Gpu g;
  g.address = pf.address;
  g.model = b.model;
  g.framebuffer_mb = b.fb_mb;
  g.mig_enabled = mig;
  g.mig = b.mig;
  for (const auto& t : types) g.vgpu_types.push_back({t.name, t.id, t.max, t.fb_mb, t.mig_profile});
  if (mig) {
    g.mig_instances = b.gis;
    if (bump) g.mig_instances.push_back(b.new_gi);
  }
  h.gpus.push_back(std::move(g));
}

// Even hosts H100, odd A100; 8 GPUs of (PF + 5 VFs) and two ConnectX NICs:
// 50 PCI devices with the defaults.
HostInventory make_host(int index, int gpus, int vfs, bool changed) {
  static const Board kH100 = h100(), kA100 = a100();
  HostInventory h;
  h.name = fmt::format("host-{:05d}", index);
  for (int g = 0; g < gpus; ++g)
    add_gpu(h, index % 2 == 0 ? kH100 : kA100, g, vfs, g < gpus / 2 ? 0 : 1, changed);
  for (int n = 0; n < 2; ++n) {
    PciDevice nic;
    nic.address = fmt::format("0000:{:02x}:00:0", 0xc1 + n);
    nic.short_address = fmt::format("{:02x}:00.0", 0xc1 + n);
    nic.vendor = "15b3";
    nic.device = "101b";
    nic.class_id = "0207";
    nic.vendor_name = "Mellanox Technologies";
    nic.device_name = "MT28908 Family [ConnectX-6]";
    nic.class_name = "Infiniband controller";
    nic.numa_node = std::to_string(n);
    nic.sriov = "no";
    h.pci.push_back(std::move(nic));
  }
  return h;
}

// ----------------------------------------------------------- child processes

// utime + stime of every thread of process `pid` so far, in seconds; 0 once it is gone.
double process_cpu_seconds(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string stat((std::istreambuf_iterator<char>(in)), {});
  if (stat.rfind(')') == std::string::npos) return 0;
  // Fields after "(comm)": state is field 3; utime, stime are 14 and 15.
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string f;
  unsigned long long utime = 0, stime = 0;
  for (int field = 3; field <= 15 && rest >> f; ++field) {
    if (field == 14) utime = std::stoull(f);
    if (field == 15) stime = std::stoull(f);
  }
  return double(utime + stime) / double(sysconf(_SC_CLK_TCK));
}

// CPU of the local PostgreSQL backends serving database `db` (their title is
// "postgres: USER DB HOST(PORT) STATE"): on PostgreSQL the store's SQL runs
// there, not in gpuvmd. A backend that exits mid-round is missed; gpuvmd
// keeps its pooled connections, so none does.
double pg_backends_cpu(const std::string& db) {
  double total = 0;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string pid = e.path().filename();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "cmdline");
    std::string title((std::istreambuf_iterator<char>(in)), {});
    if (title.rfind("postgres: ", 0) == 0 && title.find(" " + db + " ") != std::string::npos)
      total += process_cpu_seconds(std::stoi(pid));
  }
  return total;
}

// A server child: fork + execv with an argv (no shell), stdout piped so the
// "listening on http://ADDR:PORT" line gives the port. SIGTERM on destruction.
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
      throw gpuvm::Error(gpuvm::Errc::kIo, "pipe for the child's stdout", errno);
    pid_ = fork();
    if (pid_ < 0) throw gpuvm::Error(gpuvm::Errc::kIo, "fork " + argv[0], errno);
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      std::fprintf(stderr, "ingest_bench: execv %s: %s\n", args[0], std::strerror(errno));
      _exit(127);
    }
    close(fds[1]);
    out_ = fdopen(fds[0], "r");
    char line[512];
    std::smatch m;
    std::string text;
    if (!std::fgets(line, sizeof line, out_) ||
        !std::regex_search(text = line, m, std::regex(R"(listening on \w+://[^ ]*:(\d+))"))) {
      stop();
      throw gpuvm::Error(gpuvm::Errc::kIo,
                         fmt::format("{} did not print 'listening on ...:PORT' (got '{}')", argv[0],
                                     text.substr(0, text.find('\n'))));
    }
    port_ = std::stoi(m[1]);
  }
  ~Child() { stop(); }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  int port() const { return port_; }

  double cpu_seconds() const { return process_cpu_seconds(pid_); }

 private:
  void stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
      pid_ = -1;
    }
    if (out_) std::fclose(out_);
    out_ = nullptr;
  }
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  int port_ = 0;
};

// Runs argv (no shell) to completion; throws unless it exits 0.
void run_tool(const std::vector<std::string>& argv) {
  pid_t pid = fork();
  if (pid < 0) throw gpuvm::Error(gpuvm::Errc::kIo, "fork " + argv[0], errno);
  if (pid == 0) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw gpuvm::Error(gpuvm::Errc::kIo, fmt::format("{} {} failed", argv[0], argv.back()));
}

// -------------------------------------------------------------------- rounds

struct Push {
  std::string path;
  const std::string* body;
};

struct Round {
  double wall_s = 0, cpu_s = 0;  // cpu_s: the server's, plus its PostgreSQL backends'
  double db_cpu_s = 0;           // of which PostgreSQL backends
  size_t ok = 0, failed = 0;
  std::string first_error;
};

// `pg_db`: the PostgreSQL database the server writes to, "" for none.
Round push_round(const Child& server, const std::string& pg_db, const std::vector<Push>& pushes,
                 const std::string& token, const char* content_type, int clients) {
  Round r;
  std::mutex mu;
  double cpu0 = server.cpu_seconds(), db0 = pg_db.empty() ? 0 : pg_backends_cpu(pg_db);
  auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      httplib::Client cli("127.0.0.1", server.port());
      cli.set_keep_alive(true);
      cli.set_tcp_nodelay(true);  // as the agent: no Nagle wait on the body after the headers
      cli.set_read_timeout(120, 0);
      httplib::Headers headers;
      if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
      size_t ok = 0, failed = 0;
      std::string err;
      for (size_t i = c; i < pushes.size(); i += clients) {
        auto res = cli.Post(pushes[i].path.c_str(), headers, *pushes[i].body, content_type);
        if (res && res->status / 100 == 2) {
          ++ok;
        } else {
          ++failed;
          if (err.empty())
            err = res ? fmt::format("{} {}: HTTP {}: {:.200}", pushes[i].path, i, res->status,
                                    res->body)
                      : fmt::format("{}: {}", pushes[i].path, httplib::to_string(res.error()));
        }
      }
      std::lock_guard lock(mu);
      r.ok += ok;
      r.failed += failed;
      if (r.first_error.empty()) r.first_error = err;
    });
  for (auto& t : threads) t.join();
  r.wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
  r.db_cpu_s = pg_db.empty() ? 0 : pg_backends_cpu(pg_db) - db0;
  r.cpu_s = server.cpu_seconds() - cpu0 + r.db_cpu_s;
  return r;
}

void print_round(const std::string& who, const std::string& round, const Round& r) {
  fmt::print(
      "  {:<28} {:<22} {:>6} pushes {:>8.2f} s wall {:>8.0f} pushes/s  server CPU {:>7.2f} s"
      " ({:.2f} ms/push){}{}\n",
      who, round, r.ok, r.wall_s, r.ok / r.wall_s, r.cpu_s, 1000 * r.cpu_s / r.ok,
      r.db_cpu_s > 0 ? fmt::format(", of which PostgreSQL backends {:.2f} s", r.db_cpu_s) : "",
      r.failed ? fmt::format("  FAILED {}: {}", r.failed, r.first_error) : "");
  std::fflush(stdout);
}

struct Bodies {
  std::vector<std::string> names, base, changed;  // changed: the "after a deploy" report
};

// One push per host; `changed(i)` picks the changed report for host i.
template <typename F>
std::vector<Push> round_of(const Bodies& b, const std::string& prefix, bool by_name, F changed) {
  std::vector<Push> out;
  for (size_t i = 0; i < b.base.size(); ++i)
    out.push_back(
        {by_name ? prefix + b.names[i] : prefix, changed(i) ? &b.changed[i] : &b.base[i]});
  return out;
}

struct Opts {
  int hosts = 10000, gpus = 8, vfs = 5, changed_pct = 5, clients = 4;
  size_t threads = 16;
  std::string gpuvmd = GPUVMD_PATH;
  bool skip_baseline = false;
};

struct Result {
  Round reg, monitoring, all;
};

// The three rounds against one server. `json`: gpuvmd's body and path.
Result run_rounds(const std::string& who, const Child& server, const std::string& pg_db,
                  const Bodies& b, const Opts& o, const std::string& prefix, bool by_name,
                  const std::string& token, const char* content_type) {
  size_t every = o.changed_pct > 0 ? std::max<size_t>(1, 100 / o.changed_pct) : 0;
  auto is_changed = [every](size_t i) { return every && i % every == 0; };
  Result res;
  res.reg = push_round(server, pg_db, round_of(b, prefix, by_name, [](size_t) { return false; }),
                       token, content_type, o.clients);
  print_round(who, "register (INSERT)", res.reg);
  res.monitoring = push_round(server, pg_db, round_of(b, prefix, by_name, is_changed), token,
                              content_type, o.clients);
  print_round(who, fmt::format("monitoring, {}% changed", o.changed_pct), res.monitoring);
  // Each host now reports the opposite of what is stored.
  res.all = push_round(server, pg_db,
                       round_of(b, prefix, by_name, [&](size_t i) { return !is_changed(i); }),
                       token, content_type, o.clients);
  print_round(who, "all changed", res.all);
  return res;
}

void print_per_60s(const std::string& who, const Round& r, int hosts) {
  fmt::print("  {}: CPU used per 60 s round: {:.2f} s = {:.1f}% of one core", who, r.cpu_s,
             100 * r.cpu_s / 60);
  if (hosts != 10000)
    fmt::print(" (scaled to 10,000 hosts: {:.2f} s = {:.1f}%)", r.cpu_s * 10000 / hosts,
               100 * r.cpu_s * 10000 / hosts / 60);
  fmt::print("\n");
}

// `pg_db`: the database name when db_url is PostgreSQL, for its backends' CPU.
Result run_gpuvmd(const std::string& label, const std::string& db_url, const std::string& pg_db,
                  const fs::path& dir, const Bodies& b, const Opts& o) {
  // Any 16+ characters: gpuvmd stores only its hash, in a throwaway database.
  const std::string token = "ingest-bench-token-0123456789abcdef";
  fs::path token_file = dir / "token";
  std::ofstream(token_file) << token << "\n";
  fs::permissions(token_file, fs::perms::owner_read | fs::perms::owner_write);
  Child server({o.gpuvmd, "--listen", "127.0.0.1:0", "--db", db_url, "--token-file",
                token_file.string(), "--threads", std::to_string(o.threads)});
  return run_rounds("gpuvmd + " + label, server, pg_db, b, o, "/api/v1/hosts", false, token,
                    "application/json");
}

// ------------------------------------------------- the OpenNebula baseline

// ONE's template text: `PCI = [ K = "v", ... ]` blocks. Values keep gpuvm's
// backslash escapes (ONE's probe has none; parsing them costs the baseline).
using Attrs = std::map<std::string, std::string>;

std::vector<Attrs> parse_pci_template(std::string_view t) {
  std::vector<Attrs> out;
  size_t i = 0;
  auto ws = [&] {
    while (i < t.size() && std::isspace(static_cast<unsigned char>(t[i]))) ++i;
  };
  auto ident = [&] {
    ws();
    size_t s = i;
    while (i < t.size() && (std::isalnum(static_cast<unsigned char>(t[i])) || t[i] == '_')) ++i;
    if (s == i) throw gpuvm::Error(gpuvm::Errc::kInvalidArgument, "template: name expected");
    return std::string(t.substr(s, i - s));
  };
  auto expect = [&](char c) {
    ws();
    if (i >= t.size() || t[i] != c)
      throw gpuvm::Error(gpuvm::Errc::kInvalidArgument,
                         fmt::format("template: '{}' expected at offset {}", c, i));
    ++i;
  };
  auto quoted = [&] {
    expect('"');
    std::string v;
    for (; i < t.size() && t[i] != '"'; ++i) {
      if (t[i] == '\\' && i + 1 < t.size()) ++i;
      v += t[i];
    }
    expect('"');
    return v;
  };
  for (ws(); i < t.size(); ws()) {
    std::string name = ident();
    expect('=');
    expect('[');
    Attrs a;
    for (;;) {
      std::string k = ident();
      expect('=');
      a[k] = quoted();
      ws();
      if (i < t.size() && t[i] == ',') {
        ++i;
        continue;
      }
      expect(']');
      break;
    }
    if (name == "PCI") out.push_back(std::move(a));
  }
  return out;
}

std::string write_pci_template(const std::map<std::string, Attrs>& devices) {
  std::string out;
  for (const auto& [addr, a] : devices) {
    out += "PCI = [\n";
    size_t n = 0;
    for (const auto& [k, v] : a) {
      out += fmt::format(" {} = \"", k);
      for (char c : v) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
      }
      out += ++n < a.size() ? "\" ,\n" : "\" ]\n";
    }
  }
  return out;
}

// HostSharePCI::set_monitorization (opennebula.md §3).
std::map<std::string, Attrs> merge(std::map<std::string, Attrs> known,
                                   const std::vector<Attrs>& report) {
  std::map<std::string, bool> present;
  for (const Attrs& d : report) {
    auto addr = d.find("ADDRESS");
    if (addr == d.end()) continue;
    present[addr->second] = true;
    auto it = known.find(addr->second);
    if (it == known.end()) {
      Attrs fresh = d;
      fresh["VMID"] = "-1";
      known.emplace(addr->second, std::move(fresh));
      continue;
    }
    for (const char* k : {"PROFILES", "SRIOV", "SRIOV_NUM"}) {
      auto v = d.find(k);
      if (v != d.end() && !v->second.empty())
        it->second[k] = v->second;
      else if (std::string_view(k) == "SRIOV_NUM")
        it->second.erase(k);
    }
  }
  for (auto it = known.begin(); it != known.end();)
    it = !present.count(it->first) && it->second["VMID"] == "-1" ? known.erase(it) : std::next(it);
  return known;
}

class Sqlite {
 public:
  explicit Sqlite(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK)
      throw gpuvm::Error(gpuvm::Errc::kIo, "cannot open SQLite database " + path);
    sqlite3_busy_timeout(db_, 30000);
    // gpuvmd's settings (store/sqlite_db.cpp), so both pay the same per commit.
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=FULL");
    exec(
        "CREATE TABLE IF NOT EXISTS host_pool (oid INTEGER PRIMARY KEY, name TEXT UNIQUE,"
        " body TEXT, state INTEGER, last_mon_time INTEGER)");
  }
  ~Sqlite() { sqlite3_close_v2(db_); }
  Sqlite(const Sqlite&) = delete;
  Sqlite& operator=(const Sqlite&) = delete;

  // One statement, text parameters; the rows' first column.
  std::vector<std::string> exec(const std::string& sql, const std::vector<std::string>& p = {}) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
      throw gpuvm::Error(gpuvm::Errc::kIo, fmt::format("{}: {}", sql, sqlite3_errmsg(db_)));
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> guard(st, sqlite3_finalize);
    for (size_t i = 0; i < p.size(); ++i)
      sqlite3_bind_text(st, int(i + 1), p[i].data(), int(p[i].size()), SQLITE_TRANSIENT);
    std::vector<std::string> rows;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
      rows.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)),
                        size_t(sqlite3_column_bytes(st, 0)));
    if (rc != SQLITE_DONE)
      throw gpuvm::Error(gpuvm::Errc::kIo, fmt::format("{}: {}", sql, sqlite3_errmsg(db_)));
    return rows;
  }

 private:
  sqlite3* db_ = nullptr;
};

// oned's half of a SYSTEM_HOST message, one transaction per push.
void one_system_host(Sqlite& db, std::mutex& mu, const std::string& name,
                     const std::string& report) {
  std::vector<Attrs> pci = parse_pci_template(report);
  std::string now = std::to_string(std::time(nullptr));
  std::lock_guard lock(mu);  // ONE's SqliteDB: one connection behind a mutex
  db.exec("BEGIN IMMEDIATE");
  try {
    auto body = db.exec("SELECT body FROM host_pool WHERE name = ?1", {name});
    std::map<std::string, Attrs> known;
    if (!body.empty())
      for (Attrs& d : parse_pci_template(body[0])) known.emplace(d["ADDRESS"], std::move(d));
    std::string merged = write_pci_template(merge(std::move(known), pci));
    if (body.empty())
      db.exec("INSERT INTO host_pool (name, body, state, last_mon_time) VALUES (?1, ?2, 2, ?3)",
              {name, merged, now});
    else
      db.exec("UPDATE host_pool SET body = ?2, last_mon_time = ?3 WHERE name = ?1",
              {name, merged, now});
    db.exec("COMMIT");
  } catch (...) {
    db.exec("ROLLBACK");
    throw;
  }
}

int serve_baseline(const std::string& path, size_t threads) {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  Sqlite db(path);
  std::mutex mu;
  httplib::Server http;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_tcp_nodelay(true);  // as gpuvmd
  http.Post(R"(/system_host/([A-Za-z0-9._-]{1,253}))",
            [&](const httplib::Request& req, httplib::Response& res) {
              try {
                one_system_host(db, mu, req.matches[1], req.body);
                res.set_content("ok", "text/plain");
              } catch (const std::exception& e) {
                res.status = 400;
                res.set_content(e.what(), "text/plain");
              }
            });
  int port = http.bind_to_any_port("127.0.0.1");
  if (port < 0) throw gpuvm::Error(gpuvm::Errc::kIo, "baseline: cannot bind 127.0.0.1");
  std::printf("ingest baseline: listening on http://127.0.0.1:%d\n", port);
  std::fflush(stdout);
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&stop, &sig);
    http.stop();
  });
  http.listen_after_bind();
  waiter.join();
  return 0;
}

Result run_baseline(const fs::path& dir, const Bodies& b, const Opts& o) {
  Child server({"/proc/self/exe", "--baseline-server", (dir / "one.db").string(), "--threads",
                std::to_string(o.threads)});
  return run_rounds("ONE-style merge + sqlite", server, "", b, o, "/system_host/", true, "",
                    "text/plain");
}

// A fresh database on the PostgreSQL server of `admin_url`, dropped afterwards.
class PgDatabase {
 public:
  explicit PgDatabase(std::string admin_url) : admin_(std::move(admin_url)) {
    name_ = fmt::format("gpuvm_ingest_{}", getpid());
    psql("CREATE DATABASE " + name_);  // the pid makes it new
    url_ = admin_.substr(0, admin_.rfind('/') + 1) + name_;
  }
  ~PgDatabase() {
    try {
      psql("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (const std::exception& e) {
      std::fprintf(stderr, "ingest_bench: %s\n", e.what());
    }
  }
  PgDatabase(const PgDatabase&) = delete;
  PgDatabase& operator=(const PgDatabase&) = delete;
  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }

 private:
  void psql(const std::string& sql) {
    run_tool({"/usr/bin/psql", "-q", "-v", "ON_ERROR_STOP=1", admin_, "-c", sql});
  }
  std::string admin_, name_, url_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(
      "gpuvmd's monitoring ingest: every host pushes its inventory once a round (60 s in\n"
      "production). Prints the server's CPU seconds per round (utime+stime of the gpuvmd\n"
      "child), wall time and pushes/s on SQLite and (GPUVM_TEST_PG_URL) PostgreSQL, and the\n"
      "same for an OpenNebula-style monitoring merge on the same inventories, with the ratio.",
      "gpuvm_ingest_bench");
  Opts o;
  std::string baseline_db, pg_url;
  if (const char* pg = std::getenv("GPUVM_TEST_PG_URL")) pg_url = pg;
  app.add_option("--hosts", o.hosts, "hosts pushing")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  app.add_option("--gpus", o.gpus,
                 "GPUs per host (PCI buses 0x10 to 0xb0; the NICs sit at 0xc1, 0xc2)")
      ->capture_default_str()
      ->check(CLI::Range(1, 11));
  app.add_option("--vfs", o.vfs, "VFs per GPU")->capture_default_str()->check(CLI::Range(0, 32));
  app.add_option("--changed", o.changed_pct, "percent of hosts whose report changed per round")
      ->capture_default_str()
      ->check(CLI::Range(0, 100));
  app.add_option("--clients", o.clients, "client threads (HTTP keep-alive each)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--threads", o.threads, "HTTP worker threads of each server")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  app.add_option("--gpuvmd", o.gpuvmd, "the gpuvmd binary")->capture_default_str();
  app.add_option("--pg", pg_url,
                 "PostgreSQL admin URL (default: GPUVM_TEST_PG_URL); a fresh"
                 " database is created and dropped on it");
  app.add_flag("--no-baseline", o.skip_baseline, "skip the OpenNebula-style baseline");
  app.add_option("--baseline-server", baseline_db,
                 "internal: serve the baseline on this SQLite file")
      ->group("");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    if (!baseline_db.empty()) return serve_baseline(baseline_db, o.threads);

    auto t0 = Clock::now();
    Bodies json, one;
    size_t devices = 0, json_bytes = 0, one_bytes = 0;
    for (int i = 0; i < o.hosts; ++i) {
      HostInventory base = make_host(i, o.gpus, o.vfs, false),
                    changed = make_host(i, o.gpus, o.vfs, true);
      if (i == 0) {
        validate(base);
        validate(changed);
        devices = base.pci.size();
      }
      json.names.push_back(base.name);
      json.base.push_back(to_json(base));
      json.changed.push_back(to_json(changed));
      one.names.push_back(base.name);
      one.base.push_back(pci_devices_one_template(base, {}));
      one.changed.push_back(pci_devices_one_template(changed, {}));
      json_bytes += json.base.back().size();
      one_bytes += one.base.back().size();
    }
    fmt::print(
        "{} hosts x {} GPUs (H100 and A100, half in MIG mode, {} VFs each), {} PCI devices per"
        " host; push body {} KB JSON, {} KB ONE template; {} client threads, {} server threads;"
        " generated in {:.1f} s\n",
        o.hosts, o.gpus, o.vfs, devices, json_bytes / o.hosts / 1024, one_bytes / o.hosts / 1024,
        o.clients, o.threads, std::chrono::duration<double>(Clock::now() - t0).count());
    std::fflush(stdout);

    fs::path dir = fs::temp_directory_path() / fmt::format("gpuvm-ingest-{}", getpid());
    fs::create_directories(dir);
    struct Cleanup {
      fs::path d;
      ~Cleanup() {
        std::error_code ec;
        fs::remove_all(d, ec);
      }
    } cleanup{dir};

    std::optional<Result> base;
    if (!o.skip_baseline) base = run_baseline(dir, one, o);
    std::vector<std::pair<std::string, Result>> ours;
    ours.emplace_back(
        "sqlite", run_gpuvmd("sqlite", "sqlite:" + (dir / "gpuvmd.db").string(), "", dir, json, o));
    if (!pg_url.empty()) {
      PgDatabase pg(pg_url);
      ours.emplace_back("postgresql", run_gpuvmd("postgresql", pg.url(), pg.name(), dir, json, o));
    } else {
      fmt::print("  gpuvmd + postgresql: skipped (set GPUVM_TEST_PG_URL or --pg)\n");
    }

    fmt::print("\nsteady state (monitoring round, {}% changed), {} hosts:\n", o.changed_pct,
               o.hosts);
    if (base) print_per_60s("ONE-style merge + sqlite", base->monitoring, o.hosts);
    for (const auto& [label, r] : ours) {
      print_per_60s("gpuvmd + " + label, r.monitoring, o.hosts);
      if (base)
        fmt::print(
            "    ratio gpuvmd/ONE-style server CPU: monitoring {:.2f}x, all changed {:.2f}x,"
            " register {:.2f}x\n",
            r.monitoring.cpu_s / base->monitoring.cpu_s, r.all.cpu_s / base->all.cpu_s,
            r.reg.cpu_s / base->reg.cpu_s);
    }
    bool failed = base && (base->reg.failed || base->monitoring.failed || base->all.failed);
    for (const auto& [label, r] : ours)
      failed |= r.reg.failed || r.monitoring.failed || r.all.failed;
    return failed ? 1 : 0;
  } catch (const gpuvm::Error& e) {
    fmt::print(stderr, "gpuvm_ingest_bench: error: {}\n", e.what());
    return gpuvm::exit_code(e.code());
  } catch (const std::exception& e) {
    fmt::print(stderr, "gpuvm_ingest_bench: error: {}\n", e.what());
    return 1;
  }
}
