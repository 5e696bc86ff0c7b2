#include "mig/format.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace gpuvm::mig {
namespace {

// R580 widened the name column from 16 to 18 characters (81-wide -lgip in
// the H100 capture; 79 on R470..R560). The other tables follow the same
// change: their R470..R560 layouts (57/70/88 wide) plus two characters.
constexpr int kLgipWidth = 81;
constexpr int kLgiWidth = 59;
constexpr int kLciWidth = 72;
constexpr int kLcipWidth = 90;

std::string border(int width, char fill = '-', char edge = '+') {
  return fmt::format("{}{}{}\n", edge, std::string(width - 2, fill), edge);
}

std::string title(int width, std::string_view text) {
  return fmt::format("| {:<{}}|\n", text, width - 3);
}

std::string placement_list(const GiProfile& p) {
  std::string starts;
  for (size_t i = 0; i < p.placements.size(); ++i)
    starts += fmt::format("{}{}", i ? "," : "", p.placements[i].start);
  uint32_t size = p.placements.empty() ? 0 : p.placements.front().size;
  return fmt::format("{{{}}}:{}", starts, size);
}

// Index of a profile in -lgip order, for sorting -lgi rows.
size_t profile_rank(const ProfileTable& t, uint32_t profile_id) {
  for (size_t i = 0; i < t.gi.size(); ++i)
    if (t.gi[i].id == profile_id) return i;
  return t.gi.size();
}

std::string gi_name(const ProfileTable& t, uint32_t profile_id) {
  const GiProfile* p = t.find_id(profile_id);
  return p ? p->name : fmt::format("MIG profile {}", profile_id);
}

}  // namespace

std::string format_gib(uint64_t memory_mb) {
  return fmt::format("{:.2f}", static_cast<double>(memory_mb) / 1024.0);
}

std::string format_lgip(const std::vector<GpuProfiles>& gpus) {
  std::string out = border(kLgipWidth);
  out += title(kLgipWidth, "GPU instance profiles:");
  out += "| GPU   Name               ID    Instances   Memory     P2P    SM    DEC   ENC  |\n";
  out += "|                                Free/Total   GiB              CE    JPEG  OFA  |\n";
  out += border(kLgipWidth, '=', '|');
  for (const GpuProfiles& g : gpus) {
    for (const GiProfile& p : g.table.gi) {
      auto it = g.remaining.find(p.id);
      uint32_t free = it == g.remaining.end() ? 0 : it->second;
      // SM is left-aligned in 3 columns, so "132" eats the separating space.
      out += fmt::format("|{:>4}  {:<18}{:>4}{:>6}/{:<9}{:<11}{:<7}{:<3}{:>5}{:>6}   |\n", g.index,
                         p.name, p.id, free, p.instance_count, format_gib(p.memory_mb),
                         p.p2p ? "Yes" : "No", p.sm_count, p.decoders, p.encoders);
      out += fmt::format("|{:59}{:>5}{:>6}{:>6}   |\n", "", p.copy_engines, p.jpegs, p.ofas);
      out += border(kLgipWidth);
    }
  }
  return out;
}

std::string format_lgipp(const std::vector<GpuProfiles>& gpus) {
  std::string out;
  for (const GpuProfiles& g : gpus)
    for (const GiProfile& p : g.table.gi)
      out +=
          fmt::format("GPU {:>2} Profile ID {:>2} {} {}\n", g.index, p.id,
                      p.placements.size() == 1 ? "Placement :" : "Placements:", placement_list(p));
  return out;
}

std::string format_lgi(const std::vector<GpuInstances>& gpus) {
  std::string out = border(kLgiWidth);
  out += title(kLgiWidth, "GPU instances:");
  out += "| GPU   Name               Profile  Instance   Placement  |\n";
  out += "|                            ID       ID       Start:Size |\n";
  out += border(kLgiWidth, '=', '|');
  for (const GpuInstances& g : gpus) {
    std::vector<GpuInstance> rows = g.instances;
    std::stable_sort(rows.begin(), rows.end(), [&](const GpuInstance& a, const GpuInstance& b) {
      size_t ra = profile_rank(g.table, a.profile_id), rb = profile_rank(g.table, b.profile_id);
      return ra != rb ? ra < rb : a.id < b.id;
    });
    for (const GpuInstance& gi : rows) {
      out += fmt::format("|{:>4}  {:<18}{:>6}{:>9}{:>11}:{:<6}|\n", g.index,
                         gi_name(g.table, gi.profile_id), gi.profile_id, gi.id, gi.placement.start,
                         gi.placement.size);
      out += border(kLgiWidth);
    }
  }
  return out;
}

std::string format_lcip(const std::vector<GiCiProfiles>& gis) {
  std::string out = border(kLcipWidth);
  out += title(kLcipWidth, "Compute instance profiles:");
  out +=
      "| GPU     GPU       Name               Profile  Instances   Exclusive       Shared       "
      "|\n";
  out +=
      "|       Instance                         ID     Free/Total     SM       DEC   ENC   OFA  "
      "|\n";
  out +=
      "|         ID                                                            CE    JPEG       "
      "|\n";
  out += border(kLcipWidth, '=', '|');
  for (const GiCiProfiles& g : gis) {
    for (const CiProfile& p : g.profiles) {
      // The full-GI profile is the default one, marked '*' right after its ID.
      const char* mark = p.slice_count == g.gi_slices ? "*" : " ";
      out += fmt::format("|{:>4}{:>7}       {:<18}{:>6}{}{:>6}/{:<2}{:>12}{:>9}{:>6}{:>6}   |\n",
                         g.gpu, g.gi_id, p.name, p.id, mark, p.remaining, p.instance_count,
                         p.sm_count, p.decoders, p.encoders, p.ofas);
      out += fmt::format("|{:63}{:>9}{:>6}{:10}|\n", "", p.copy_engines, p.jpegs, "");
      out += border(kLcipWidth);
    }
  }
  return out;
}

std::string format_lci(const std::vector<GpuInstances>& gpus) {
  std::string out = border(kLciWidth);
  out += title(kLciWidth, "Compute instances:");
  out += "| GPU     GPU       Name               Profile   Instance   Placement  |\n";
  out += "|       Instance                         ID        ID       Start:Size |\n";
  out += "|         ID                                                           |\n";
  out += border(kLciWidth, '=', '|');
  for (const GpuInstances& g : gpus) {
    for (const GpuInstance& gi : g.instances) {
      const GiProfile* gp = g.table.find_id(gi.profile_id);
      for (const ComputeInstance& ci : gi.compute_instances) {
        std::string name = gp == nullptr ? fmt::format("MIG profile {}", ci.profile_id)
                           : gp->slice_count == ci.slice_count
                               ? gp->name
                               : fmt::format("MIG {}c.{}", ci.slice_count, gp->short_name());
        out += fmt::format("|{:>4}{:>7}       {:<18}{:>6}{:>10}{:>11}:{:<6}|\n", g.index, gi.id,
                           name, ci.profile_id, ci.id, ci.placement.start, ci.placement.size);
        out += border(kLciWidth);
      }
    }
  }
  return out;
}

std::string json_profiles(const std::vector<GpuProfiles>& gpus) {
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  for (const GpuProfiles& g : gpus) {
    for (const GiProfile& p : g.table.gi) {
      nlohmann::ordered_json placements = nlohmann::ordered_json::array();
      for (const Placement& pl : p.placements)
        placements.push_back({{"start", pl.start}, {"size", pl.size}});
      auto it = g.remaining.find(p.id);
      arr.push_back({{"gpu", g.index},
                     {"name", p.short_name()},
                     {"id", p.id},
                     {"instances_free", it == g.remaining.end() ? 0 : it->second},
                     {"instances_total", p.instance_count},
                     {"memory_mib", p.memory_mb},
                     {"p2p", p.p2p},
                     {"slices", p.slice_count},
                     {"sm", p.sm_count},
                     {"ce", p.copy_engines},
                     {"dec", p.decoders},
                     {"enc", p.encoders},
                     {"jpeg", p.jpegs},
                     {"ofa", p.ofas},
                     {"placements", placements}});
    }
  }
  return nlohmann::ordered_json{{"gpu_instance_profiles", arr}}.dump(2) + "\n";
}

std::string json_instances(const std::vector<GpuInstances>& gpus) {
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  for (const GpuInstances& g : gpus) {
    for (const GpuInstance& gi : g.instances) {
      nlohmann::ordered_json cis = nlohmann::ordered_json::array();
      for (const ComputeInstance& ci : gi.compute_instances)
        cis.push_back(
            {{"id", ci.id},
             {"profile_id", ci.profile_id},
             {"slices", ci.slice_count},
             {"placement", {{"start", ci.placement.start}, {"size", ci.placement.size}}}});
      const GiProfile* p = g.table.find_id(gi.profile_id);
      arr.push_back({{"gpu", g.index},
                     {"id", gi.id},
                     {"profile_id", gi.profile_id},
                     {"name", p ? p->short_name() : ""},
                     {"placement", {{"start", gi.placement.start}, {"size", gi.placement.size}}},
                     {"compute_instances", cis}});
    }
  }
  return nlohmann::ordered_json{{"gpu_instances", arr}}.dump(2) + "\n";
}

std::string json_ci_profiles(const std::vector<GiCiProfiles>& gis) {
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  for (const GiCiProfiles& g : gis)
    for (const CiProfile& p : g.profiles)
      arr.push_back({{"gpu", g.gpu},
                     {"gpu_instance_id", g.gi_id},
                     {"name", p.name.starts_with("MIG ") ? p.name.substr(4) : p.name},
                     {"id", p.id},
                     {"default", p.slice_count == g.gi_slices},
                     {"instances_free", p.remaining},
                     {"instances_total", p.instance_count},
                     {"slices", p.slice_count},
                     {"sm", p.sm_count},
                     {"ce", p.copy_engines},
                     {"dec", p.decoders},
                     {"enc", p.encoders},
                     {"jpeg", p.jpegs},
                     {"ofa", p.ofas}});
  return nlohmann::ordered_json{{"compute_instance_profiles", arr}}.dump(2) + "\n";
}

std::string msg_created_gi(unsigned gpu, uint32_t gi_id, const std::string& profile_name,
                           uint32_t profile_id) {
  return fmt::format(
      "Successfully created GPU instance ID {:>2} on GPU {:>2} using profile {} "
      "(ID {:>2})\n",
      gi_id, gpu, profile_name, profile_id);
}

std::string msg_created_ci(unsigned gpu, uint32_t gi_id, uint32_t ci_id,
                           const std::string& profile_name, uint32_t ci_profile_id) {
  return fmt::format(
      "Successfully created compute instance ID {:>2} on GPU {:>2} GPU instance "
      "ID {:>2} using profile {} (ID {:>2})\n",
      ci_id, gpu, gi_id, profile_name, ci_profile_id);
}

std::string msg_destroyed_gi(unsigned gpu, uint32_t gi_id) {
  return fmt::format("Successfully destroyed GPU instance ID {:>2} from GPU {:>2}\n", gi_id, gpu);
}

std::string msg_destroyed_ci(unsigned gpu, uint32_t gi_id, uint32_t ci_id) {
  return fmt::format(
      "Successfully destroyed compute instance ID {:>2} from GPU {:>2} GPU "
      "instance ID {:>2}\n",
      ci_id, gpu, gi_id);
}

}  // namespace gpuvm::mig
