// The placement rules of docs/scheduler.md, one test per rule.
#include "server/scheduler/scheduler.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <set>

#include "core/error.h"
#include "server/fixtures.h"
#include "server/scheduler/model_json.h"

namespace gpuvm::server {
namespace {

using test::add_h100;
using test::by_id;
using test::GpuSpec;
using test::h100_host;
using test::mig;
using test::vgpu;

// Places `req` and, when it fits, records it in `allocs` (as the store does).
std::optional<Placement> place(const HostInventory& h, std::vector<Allocation>& allocs,
                               VmRequest req, int64_t vm, std::string* reason = nullptr) {
  PlaceResult r = place_on_host(h, allocs, req, vm);
  if (reason) *reason = r.reason;
  if (r.placement)
    for (const auto& a : r.placement->allocations) allocs.push_back(a);
  return r.placement;
}

VmRequest one(PciRequest r, NumaPolicy numa = NumaPolicy::kPreferred) {
  VmRequest v;
  v.pci.push_back(std::move(r));
  v.numa = numa;
  return v;
}

TEST(SchedulerMig, ThreeGLandsWhereFourGCanStillFollowOnTheSameGpu) {
  HostInventory h = h100_host("h", 2, {.mig = true, .vfs = 8});
  std::vector<Allocation> allocs;
  auto a = place(h, allocs, one(mig("3g.40gb")), 1);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->allocations[0].kind, AllocKind::kMig);
  EXPECT_EQ(a->allocations[0].mig_start, 4);  // 3g@0 would rule out 4g
  EXPECT_EQ(a->allocations[0].vgpu_type, "H100XM-3-40C");
  std::string gpu = a->allocations[0].gpu;
  auto b = place(h, allocs, one(mig("4g.40gb")), 2);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->allocations[0].gpu, gpu) << "packs onto the GPU already in use";
  EXPECT_EQ(b->allocations[0].mig_start, 0);
  EXPECT_NE(b->allocations[0].device, a->allocations[0].device) << "each GI gets its own VF";
}

TEST(SchedulerMig, SevenOneGFillABoardThenTheNextBoard) {
  HostInventory h = h100_host("h", 2, {.mig = true, .vfs = 16});
  std::vector<Allocation> allocs;
  std::set<int> starts;
  std::string first_gpu;
  for (int i = 0; i < 7; ++i) {
    auto p = place(h, allocs, one(mig("1g.10gb")), 10 + i);
    ASSERT_TRUE(p) << i;
    if (first_gpu.empty()) first_gpu = p->allocations[0].gpu;
    EXPECT_EQ(p->allocations[0].gpu, first_gpu);
    starts.insert(p->allocations[0].mig_start);
  }
  EXPECT_EQ(starts.size(), 7u);
  auto p = place(h, allocs, one(mig("1g.10gb")), 20);
  ASSERT_TRUE(p);
  EXPECT_NE(p->allocations[0].gpu, first_gpu);
}

TEST(SchedulerMig, ExistingLayoutDecidesWhatCanStillBeCreated) {
  HostInventory h = h100_host("h", 1, {.mig = true, .vfs = 8});
  h.gpus[0].mig_instances = {{"1g.10gb", 0}};  // created by the node config, free
  std::vector<Allocation> allocs;
  std::string why;
  EXPECT_FALSE(place(h, allocs, one(mig("4g.40gb")), 1, &why)) << "4g needs slices 0-3";
  EXPECT_NE(why.find("4g.40gb"), std::string::npos) << why;
  EXPECT_FALSE(place(h, allocs, one(mig("7g.80gb")), 1));
  auto p = place(h, allocs, one(mig("3g.40gb")), 2);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->allocations[0].mig_start, 4);
  // The reported GI is free: a 1g request reuses it instead of carving a new one.
  auto q = place(h, allocs, one(mig("1g.10gb")), 3);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->allocations[0].mig_start, 0);
}

TEST(SchedulerMig, ComputeSlicesAndMaxCountAreRespected) {
  HostInventory h = h100_host("h", 1, {.mig = true, .vfs = 16});
  std::vector<Allocation> allocs;
  ASSERT_TRUE(place(h, allocs, one(mig("3g.40gb")), 1));
  ASSERT_TRUE(place(h, allocs, one(mig("3g.40gb")), 2));
  EXPECT_FALSE(place(h, allocs, one(mig("1g.10gb")), 3)) << "3g+3g use all 8 memory slices";

  HostInventory h2 = h100_host("h2", 1, {.mig = true, .vfs = 16});
  std::vector<Allocation> a2;
  ASSERT_TRUE(place(h2, a2, one(mig("1g.10gb+me")), 1));
  EXPECT_FALSE(place(h2, a2, one(mig("1g.10gb+me")), 2)) << "+me: one per board";
  ASSERT_TRUE(place(h2, a2, one(mig("4g.40gb")), 3));
  ASSERT_TRUE(place(h2, a2, one(mig("2g.20gb")), 4));
  // 1 + 4 + 2 compute slices = 7: nothing more, although memory slice 7 is free.
  EXPECT_FALSE(place(h2, a2, one(mig("1g.10gb")), 5));
}

TEST(SchedulerMig, MigNeedsMigModeAndAFreeVf) {
  HostInventory off = h100_host("h", 1, {.mig = false, .vfs = 4});
  std::vector<Allocation> allocs;
  EXPECT_FALSE(place(off, allocs, one(mig("1g.10gb")), 1));
  HostInventory h = h100_host("h", 1, {.mig = true, .vfs = 1});
  ASSERT_TRUE(place(h, allocs, one(mig("1g.10gb")), 1));
  EXPECT_FALSE(place(h, allocs, one(mig("1g.10gb")), 2)) << "the only VF is taken";
}

TEST(SchedulerVgpu, OneTypePerGpuUnlessHeterogeneous) {
  HostInventory h = h100_host("h", 1, {.mig = false, .vfs = 8});
  std::vector<Allocation> allocs;
  auto a = place(h, allocs, one(vgpu("H100XM-20C")), 1);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->allocations[0].kind, AllocKind::kVgpu);
  EXPECT_EQ(a->allocations[0].device, "0000:10:00:4");
  EXPECT_FALSE(place(h, allocs, one(vgpu("H100XM-10C")), 2));
  EXPECT_TRUE(place(h, allocs, one(vgpu("NVIDIA H100XM-20C")), 3)) << "full names are accepted";

  HostInventory het = h100_host("het", 1, {.mig = false, .vfs = 8, .heterogeneous = true});
  std::vector<Allocation> a2;
  ASSERT_TRUE(place(het, a2, one(vgpu("H100XM-40C")), 1));
  ASSERT_TRUE(place(het, a2, one(vgpu("H100XM-20C")), 2));
  ASSERT_TRUE(place(het, a2, one(vgpu("H100XM-20C")), 3));
  EXPECT_FALSE(place(het, a2, one(vgpu("H100XM-10C")), 4))
      << "framebuffer is full (40+20+20 of 80 GB)";
}

TEST(SchedulerVgpu, FreeCountPerTypeIsRespected) {
  HostInventory h = h100_host("h", 1, {.mig = false, .vfs = 8});
  std::vector<Allocation> allocs;
  ASSERT_TRUE(place(h, allocs, one(vgpu("H100XM-40C")), 1));
  ASSERT_TRUE(place(h, allocs, one(vgpu("H100XM-40C")), 2));
  EXPECT_FALSE(place(h, allocs, one(vgpu("H100XM-40C")), 3)) << "max 2 per GPU, VFs left or not";
  auto caps = capacity(h, allocs);
  EXPECT_EQ(caps[0].vgpu_free["H100XM-40C"], 0u);
  EXPECT_EQ(caps[0].vgpu_free["H100XM-20C"], 0u) << "another type is in use";
  EXPECT_EQ(caps[0].vfs_free, 6u);
}

TEST(SchedulerVgpu, OpenNebulaProfileFormsMatchAnchored) {
  HostInventory h = h100_host("h", 1, {.mig = false, .vfs = 8});
  std::vector<Allocation> allocs;
  auto a = place(h, allocs, one(by_id("10de", "2330", "1042")), 1);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->allocations[0].vgpu_type, "H100XM-20C");
  EXPECT_EQ(a->allocations[0].kind, AllocKind::kVgpu);
  auto b = place(h, allocs, one(by_id("10de", "2330", "1042 (NVIDIA H100XM-20C)")), 2);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->allocations[0].vgpu_type, "H100XM-20C");
  EXPECT_FALSE(place(h, allocs, one(by_id("10de", "2330", "104")), 3)) << "no substring match";
}

TEST(SchedulerPfVf, NeverPfWhileAVfIsAllocatedNorTheReverse) {
  HostInventory h = h100_host("h", 1, {.mig = false, .vfs = 4});
  std::vector<Allocation> allocs;
  ASSERT_TRUE(place(h, allocs, one(vgpu("H100XM-20C")), 1));
  PciRequest pf;
  pf.short_address = "10:00.0";
  EXPECT_FALSE(place(h, allocs, one(pf), 2));

  std::vector<Allocation> a2;
  auto p = place(h, a2, one(pf), 3);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->allocations[0].kind, AllocKind::kPassthrough);
  EXPECT_EQ(p->allocations[0].gpu, "0000:10:00:0");
  EXPECT_FALSE(place(h, a2, one(vgpu("H100XM-20C")), 4));
  PciRequest vf;
  vf.short_address = "10:00.4";
  EXPECT_FALSE(place(h, a2, one(vf), 5));
}

TEST(SchedulerPfVf, NeverAPfWhoseVfsAreEnabled) {
  HostInventory h = h100_host("h", 1, {.mig = false, .vfs = 4});
  h.pci[0].sriov_num = "4";  // as the agent reports a PF with 4 VFs on
  PciRequest pf;
  pf.short_address = "10:00.0";
  std::vector<Allocation> allocs;
  EXPECT_FALSE(place(h, allocs, one(pf), 1)) << "the host's vGPU manager owns it";
  h.pci[0].sriov_num = "0";
  EXPECT_TRUE(place(h, allocs, one(pf), 2)) << "VFs off: a GPU to pass through";
}

TEST(SchedulerVgpu, TheHostsOwnVgpusKeepTheirVfsAndCountAgainstTheGpu) {
  HostInventory h = h100_host("h", 1, {.mig = false, .vfs = 4});
  const std::string vf0 = h.pci[1].address;  // made by node.yaml, not by gpuvmd
  h.gpus[0].vgpus = {{vf0, "H100XM-20C"}};
  std::vector<Allocation> allocs;
  EXPECT_FALSE(place(h, allocs, one(vgpu("H100XM-40C")), 1)) << "one type per GPU";
  std::set<std::string> got;
  for (int vm = 2; vm < 10; ++vm) {
    auto p = place(h, allocs, one(vgpu("H100XM-20C")), vm);
    if (!p) break;
    got.insert(p->allocations[0].device);
  }
  EXPECT_EQ(got.size(), 3u) << "4 per GPU, one is the host's";
  EXPECT_FALSE(got.count(vf0)) << "its VF is taken";
  // A vGPU gpuvmd made for a VM shows up in the report too: counted once.
  h.gpus[0].vgpus.push_back({*got.begin(), "H100XM-20C"});
  EXPECT_FALSE(place(h, allocs, one(vgpu("H100XM-20C")), 10));
  std::vector<Allocation> fewer(allocs.begin(), allocs.end() - 1);
  EXPECT_TRUE(place(h, fewer, one(vgpu("H100XM-20C")), 11)) << "not double counted";
}

TEST(SchedulerNuma, RequiredKeepsOneNodePreferredSplitsOnlyWhenNeeded) {
  HostInventory h = h100_host("h", 2, {.mig = false, .vfs = 2});  // GPU0 node 0, GPU1 node 1
  VmRequest two;
  two.pci = {vgpu("H100XM-80C"), vgpu("H100XM-80C")};
  two.numa = NumaPolicy::kRequired;
  std::vector<Allocation> allocs;
  std::string why;
  EXPECT_FALSE(place(h, allocs, two, 1, &why));
  EXPECT_NE(why.find("NUMA"), std::string::npos) << why;
  two.numa = NumaPolicy::kPreferred;
  auto p = place(h, allocs, two, 1);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->cost.numa_split, 1);

  HostInventory h4 = h100_host("h4", 4, {.mig = false, .vfs = 2});  // 2 GPUs per node
  std::vector<Allocation> a4;
  ASSERT_TRUE(place(h4, a4, one(vgpu("H100XM-80C")), 1));  // lands on node 0
  two.numa = NumaPolicy::kPreferred;
  auto q = place(h4, a4, two, 2);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->cost.numa_split, 0);
  EXPECT_EQ(q->allocations[0].numa_node, 1) << "node 0 has one GPU left, node 1 has two";
  EXPECT_EQ(q->allocations[1].numa_node, 1);
}

TEST(SchedulerAtomic, AllOrNothing) {
  HostInventory h = h100_host("h", 2, {.mig = true, .vfs = 4});
  VmRequest three;
  three.pci = {mig("7g.80gb"), mig("7g.80gb"), mig("7g.80gb")};
  std::vector<Allocation> allocs;
  EXPECT_FALSE(place(h, allocs, three, 1));
  EXPECT_TRUE(allocs.empty());
  three.pci.pop_back();
  auto p = place(h, allocs, three, 1);
  ASSERT_TRUE(p);
  EXPECT_NE(p->allocations[0].gpu, p->allocations[1].gpu);
}

TEST(SchedulerSearch, BacktracksWhereFirstFitFails) {
  // ONE's greedy first-fit gives D1 to the CLASS request and then has nothing
  // for DEVICE=aaaa (reference/opennebula.md §3 "Matching").
  HostInventory h;
  h.name = "nic";
  for (auto [addr, dev] : {std::pair{"0000:01:00:0", "aaaa"}, {"0000:02:00:0", "bbbb"}}) {
    PciDevice d;
    d.address = addr;
    d.short_address = std::string(addr).substr(5, 5) + ".0";
    d.vendor = "15b3";
    d.device = dev;
    d.class_id = "0200";
    h.pci.push_back(d);
  }
  VmRequest r;
  r.pci = {PciRequest{.class_id = "0200"}, PciRequest{.device = "aaaa"}};
  EXPECT_FALSE(first_fit_devices(h, {}, r));
  std::vector<Allocation> allocs;
  auto p = place(h, allocs, r, 1);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->allocations[0].device, "0000:02:00:0");
  EXPECT_EQ(p->allocations[1].device, "0000:01:00:0");
  EXPECT_EQ(p->allocations[1].request_index, 1);
}

TEST(SchedulerPacking, KeepsWholeGpusAndEmptyHostsFree) {
  HostInventory a = h100_host("a", 2, {.mig = true, .vfs = 8});
  HostInventory b = h100_host("b", 2, {.mig = true, .vfs = 8});
  std::vector<HostState> hosts = {{&a, {}}, {&b, {}}};
  auto first = rank_hosts(hosts, one(mig("2g.20gb")), 1);
  ASSERT_EQ(first.size(), 2u);
  size_t chosen = first[0].host_index;
  for (const auto& al : first[0].placement.allocations) hosts[chosen].allocations.push_back(al);
  auto second = rank_hosts(hosts, one(mig("1g.10gb")), 2);
  ASSERT_FALSE(second.empty());
  EXPECT_EQ(second[0].host_index, chosen) << "the busy host first";
  EXPECT_EQ(second[0].placement.cost.fresh_gpus, 0) << "on the busy GPU";
  EXPECT_EQ(second[0].placement.allocations[0].gpu, hosts[chosen].allocations[0].gpu);
  // A whole GPU: the busy host still has an untouched one, and packing takes
  // it there, leaving the other host entirely free.
  PciRequest whole;
  whole.vendor = "10de";
  whole.device = "2330";
  auto third = rank_hosts(hosts, one(whole), 3);
  ASSERT_FALSE(third.empty());
  EXPECT_EQ(third[0].host_index, chosen);
  EXPECT_EQ(third[0].placement.allocations[0].kind, AllocKind::kPassthrough)
      << "no PROFILE: the PF";
}

TEST(SchedulerPacking, SummaryPrefilterNeverDropsAHostThatFits) {
  HostInventory full = h100_host("full", 1, {.mig = true, .vfs = 8});
  HostInventory free = h100_host("free", 1, {.mig = true, .vfs = 8});
  std::vector<HostState> hosts = {{&full, {}}, {&free, {}}};
  auto p = place_on_host(full, {}, one(mig("7g.80gb")), 1);
  ASSERT_TRUE(p.placement);
  hosts[0].allocations = p.placement->allocations;
  std::vector<HostSummary> sums = {summarize(full, hosts[0].allocations), summarize(free, {})};
  EXPECT_FALSE(may_fit(sums[0], one(mig("1g.10gb"))));
  EXPECT_TRUE(may_fit(sums[1], one(mig("1g.10gb"))));
  VmRequest two;
  two.pci = {mig("3g.40gb"), mig("3g.40gb"), mig("3g.40gb")};
  EXPECT_FALSE(may_fit(sums[1], two)) << "only two 3g per board";
  auto ranked =
      rank_hosts(hosts, one(mig("1g.10gb")), 2, nullptr, {.summaries = sums, .max_candidates = 1});
  ASSERT_EQ(ranked.size(), 1u);
  EXPECT_EQ(ranked[0].host_index, 1u);
  EXPECT_FALSE(may_fit(sums[0], one(by_id("10de", "2330")))) << "no whole GPU left there";
  EXPECT_TRUE(may_fit(sums[1], one(by_id("10de", "2330"))));
  EXPECT_FALSE(may_fit(sums[1], one(by_id("10de", "2331")))) << "no such device";
  EXPECT_FALSE(may_fit(sums[0], one(by_id("10de", "2330", "1035"))))
      << "PROFILE by id: no 1g.10gb left";
  EXPECT_TRUE(may_fit(sums[1], one(by_id("10de", "2330", "1035 (NVIDIA H100XM-1-10C)"))));
  EXPECT_TRUE(may_fit(sums[1], one(by_id("10de", "2330", "H100XM-1-10C"))));
}

TEST(SchedulerModel, RequestValidationFollowsOpenNebula) {
  VmRequest r;
  EXPECT_THROW(validate(r), Error);
  r.pci = {PciRequest{.vendor = "10DE"}};
  EXPECT_THROW(validate(r), Error);
  r.pci = {PciRequest{.vendor = "10de", .short_address = "41:00.0"}};
  EXPECT_THROW(validate(r), Error);
  r.pci = {PciRequest{.vendor = "10de", .mig_profile = "3g.40gb"}};
  EXPECT_THROW(validate(r), Error);
  r.pci = {PciRequest{.mig_profile = "3g.40gb"}};
  EXPECT_NO_THROW(validate(r));
}

TEST(SchedulerModel, InventoryJsonRoundTripAndStrictParsing) {
  HostInventory h = h100_host("node-1", 2, {.mig = true, .vfs = 2});
  h.gpus[1].mig_instances = {{"3g.40gb", 4}};
  HostInventory back = parse_host_inventory(to_json(h));
  EXPECT_EQ(to_json(back), to_json(h));
  EXPECT_THROW(parse_host_inventory("{\"name\": \"x\", \"bogus\": 1}"), Error);
  EXPECT_THROW(parse_host_inventory("{\"name\": "), Error);
  EXPECT_THROW(parse_host_inventory("[]"), Error);
  HostInventory bad = h;
  bad.gpus[0].mig_instances = {{"3g.40gb", 2}};  // 3g only at 0 or 4
  EXPECT_THROW(parse_host_inventory(to_json(bad)), Error);
  bad = h;
  bad.pci[1].physfn = "0000:99:00:0";
  EXPECT_THROW(parse_host_inventory(to_json(bad)), Error);
  try {
    parse_host_inventory(
        R"({"name":"n","pci_devices":[{"ADDRESS":"0000:01:00:0","SHORT_ADDRESS":"01:00.0",
      "VENDOR":"10de","DEVICE":"2330","CLASS":"0302","COLOR":"red"}]})");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown field 'COLOR'"), std::string::npos) << e.what();
    EXPECT_EQ(e.code(), Errc::kInvalidArgument);
  }
}

TEST(SchedulerModel, JsonNestingAndSizeAreBoundedBeforeParsing) {
  auto message = [](const std::string& text) {
    try {
      parse_host_inventory(text);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kInvalidArgument);
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  // 40 levels: refused by depth before anything is allocated.
  std::string deep =
      R"({"name":"h","pci_devices":)" + std::string(40, '[') + std::string(40, ']') + "}";
  EXPECT_NE(message(deep).find("nested deeper than 32 levels"), std::string::npos) << message(deep);
  // Half a million nested arrays (1 MiB, the body limit): same answer, at once.
  std::string bomb(512 * 1024, '[');
  bomb += std::string(512 * 1024, ']');
  EXPECT_NE(message(bomb).find("nested deeper"), std::string::npos);
  // A flat array of 70,000 values: over the value budget.
  std::string wide = R"({"name":"h","pci_devices":[0)";
  for (int i = 0; i < 70000; ++i) wide += ",0";
  wide += "]}";
  EXPECT_NE(message(wide).find("more than 65536 JSON values"), std::string::npos)
      << message(wide).substr(0, 200);
  // Brackets and commas inside strings are text, not structure.
  std::string in_string = R"({"name":"h","pci_devices":[],"gpus":[],"x":")" +
                          std::string(100, '[') + std::string(70000, ',') + "\\\"" + R"("})";
  EXPECT_NE(message(in_string).find("unknown field 'x'"), std::string::npos)
      << message(in_string).substr(0, 200);
  // A real inventory is far inside both.
  HostInventory h = test::h100_host("node-1", 8, {.mig = true, .vfs = 16});
  EXPECT_EQ(parse_host_inventory(to_json(h)).name, "node-1");
}

// Fields of the wrong type are gpuvm::Error naming the field, not nlohmann's
// type_error (found by tests/fuzz/fuzz_gpuvmd_json; crash's note on ids).
TEST(SchedulerModel, WrongFieldTypesAreClearErrors) {
  auto message = [](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kInvalidArgument);
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(message([] { parse_allocation(R"({"device":0})"); }).find("'device' must be a string"),
            std::string::npos);
  EXPECT_NE(
      message([] { parse_allocation(R"({"vm_id":"x"})"); }).find("'vm_id' must be an integer"),
      std::string::npos);
  EXPECT_NE(message([] { parse_allocation(R"({"mig_start":1.5})"); }).find("'mig_start'"),
            std::string::npos);
  for (const char* id : {R"("abc")", "1.5", "-3"}) {
    std::string q = fmt::format(R"({{"commands":[{{"id":{},"op":"gi.create"}}]}})", id);
    EXPECT_NE(message([&] { parse_command_queue(q); }).find("'id'"), std::string::npos) << q;
  }
  Allocation a = parse_allocation(R"({"vm_id":7,"host":"h","kind":"mig","mig_start":4})");
  EXPECT_EQ(a.vm_id, 7);
  EXPECT_EQ(a.mig_start, 4);
}

TEST(SchedulerModel, PciDevicesAsOpenNebulaShowsThem) {
  HostInventory h = h100_host("h", 1, {.mig = false, .vfs = 1});
  std::vector<Allocation> allocs;
  ASSERT_TRUE(place(h, allocs, one(vgpu("H100XM-80C")), 42));
  std::string j = pci_devices_one_json(h, allocs);
  EXPECT_NE(j.find(R"("ADDRESS":"0000:10:00:4")"), std::string::npos) << j;
  EXPECT_NE(j.find(R"("VMID":"42")"), std::string::npos) << j;
  EXPECT_NE(j.find(R"("VMID":"-1")"), std::string::npos) << j;
  EXPECT_LT(j.find("\"ADDRESS\""), j.find("\"BUS\"")) << "alphabetical, as onehost show -j";
  std::string t = pci_devices_one_template(h, allocs);
  EXPECT_EQ(t.rfind("PCI = [\n TYPE = \"10de:2330:0302\" ,\n VENDOR = \"10de\" ,", 0), 0u) << t;
}

}  // namespace
}  // namespace gpuvm::server
