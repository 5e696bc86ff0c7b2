// The small parsers of names and ids: PCI addresses (Bdf), UUIDs, vGPU type
// names, MIG profile names, lspci -d filters. The first byte picks one. Each
// must accept or refuse without a crash, and what it accepts must print back
// to a text it accepts again with the same value.
#include "core/bdf.h"
#include "core/uuid.h"
#include "fuzz_support.h"
#include "mig/types.h"
#include "pci/filter.h"
#include "vgpu/type_name.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gpuvm;
  if (size == 0) return 0;
  const std::string_view text = fuzz::as_text(data + 1, size - 1);
  switch (data[0] % 5) {
    case 0:
      if (auto b = Bdf::try_parse(text)) {
        if (Bdf::try_parse(b->str()) != b) __builtin_trap();
        if (b->domain == 0 && Bdf::try_parse(b->short_str()) != b) __builtin_trap();
        (void)b->one_address();
        if (b->domain <= 0xffff && Bdf::try_parse(b->nvml_bus_id()) != b) __builtin_trap();
      }
      fuzz::expect_ok_or_error([&] { (void)Bdf::parse(text); });
      break;
    case 1:
      if (auto u = Uuid::try_parse(text)) {
        if (Uuid::try_parse(u->str()) != u) __builtin_trap();
      }
      fuzz::expect_ok_or_error([&] { (void)Uuid::parse(text); });
      (void)Uuid::v5_x500(text);
      break;
    case 2: {
      const std::string short_name = vgpu::short_type_name(text);
      if (auto t = vgpu::parse_type_name(short_name)) (void)t->gi_profile();
      break;
    }
    case 3: {
      mig::GiProfile p;
      p.name = std::string(text);
      (void)p.short_name();
      mig::ProfileTable t;
      t.gi.push_back(p);
      (void)t.find_name(text);
      break;
    }
    case 4:
      fuzz::expect_ok_or_error([&] { (void)pci::parse_filter_list(text); });
      break;
  }
  return 0;
}
