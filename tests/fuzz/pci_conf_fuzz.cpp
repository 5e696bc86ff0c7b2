// OpenNebula's pci.conf (src/pci/filter.cpp, load_pci_conf): any file gives a
// Selection or a gpuvm::Error; a Selection is then used on a device.
#include <fstream>

#include "fuzz_support.h"
#include "pci/filter.h"

namespace {

// load_pci_conf reads a path: one file, rewritten for every input.
const std::string& conf_path() {
  static const std::string path = (gpuvm::fuzz::scratch_dir() / "pci.conf").string();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  {
    std::ofstream out(conf_path(), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  gpuvm::fuzz::expect_ok_or_error([&] {
    const gpuvm::pci::Selection sel = gpuvm::pci::load_pci_conf(conf_path());
    gpuvm::pci::Device d;
    d.bdf = *gpuvm::Bdf::try_parse("0000:41:00.4");
    d.vendor_id = 0x10de;
    d.device_id = 0x2330;
    d.class_code = 0x030200;
    d.device_name = "GH100 [H100 SXM5 80GB]";
    (void)sel.selects(d);
    (void)sel.is_nvidia(d);
  });
  return 0;
}
