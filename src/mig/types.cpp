#include "mig/types.h"

#include <algorithm>
#include <tuple>

namespace gpuvm::mig {

std::string GiProfile::short_name() const {
  std::string_view n = name;
  if (n.starts_with("MIG ")) n.remove_prefix(4);
  return std::string(n);
}

const GiProfile* ProfileTable::find_id(uint32_t id) const {
  for (const GiProfile& p : gi)
    if (p.id == id) return &p;
  return nullptr;
}

const GiProfile* ProfileTable::find_name(std::string_view name) const {
  if (name.starts_with("MIG ")) name.remove_prefix(4);
  for (const GiProfile& p : gi)
    if (p.short_name() == name) return &p;
  return nullptr;
}

uint32_t ProfileTable::compute_slices() const {
  uint32_t n = 0;
  for (const GiProfile& p : gi) n = std::max(n, p.slice_count);
  return n;
}

uint32_t ProfileTable::memory_slices() const {
  uint32_t n = 0;
  for (const GiProfile& p : gi)
    for (const Placement& pl : p.placements) n = std::max(n, pl.start + pl.size);
  return n;
}

void ProfileTable::sort_smi_order() {
  std::stable_sort(gi.begin(), gi.end(), [](const GiProfile& a, const GiProfile& b) {
    return std::tie(a.slice_count, a.memory_mb, a.id) < std::tie(b.slice_count, b.memory_mb, b.id);
  });
}

}  // namespace gpuvm::mig
