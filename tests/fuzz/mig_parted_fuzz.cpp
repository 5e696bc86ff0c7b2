// mig-parted config files (src/mig/config.cpp): parse, then what `gpuvm mig
// apply` does with each entry on every modelled MIG board: the device
// filter, the GPU instances asked for, their counts and a placement plan.
#include "fuzz_support.h"
#include "mig/config.h"
#include "mig/solver.h"
#include "sim/mig_profiles.h"
#include "tables.h"

namespace {

const std::vector<gpuvm::mig::ProfileTable>& tables() {
  static const auto* t = [] {
    auto* out = new std::vector<gpuvm::mig::ProfileTable>;
    for (const auto& m : gpuvm::sim::mig_models())
      out->push_back(gpuvm::mig::test::sim_table(m.key));
    return out;
  }();
  return *t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gpuvm::mig;
  gpuvm::fuzz::expect_ok_or_error([&] {
    const MigPartedConfig c =
        parse_mig_parted(std::string(gpuvm::fuzz::as_text(data, size)), "config.yaml");
    for (const auto& [name, entries] : c.configs) {
      (void)select_config(c, name, "config.yaml");
      for (const MigConfigEntry& e : entries) {
        gpuvm::fuzz::expect_ok_or_error(
            [&] { (void)device_filter_matches(e.device_filter, 0x233010de, 0x16c110de); });
        for (const ProfileTable& t : tables()) {
          gpuvm::fuzz::expect_ok_or_error([&] {
            const std::vector<GiSpec> specs = specs_for(t, e.mig_devices, "GPU 0");
            (void)device_counts(t, e.mig_devices);
            (void)plan_layout(t, {}, specs);
          });
        }
      }
    }
  });
  return 0;
}
