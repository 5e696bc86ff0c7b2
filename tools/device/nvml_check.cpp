// gpuvm-nvml-check: READ-ONLY report of what the NVML library on this machine
// answers to the calls gpuvm makes, loaded through gpuvm's own loader
// (src/mig/nvml_loader.h). It calls only Get*/query functions: never
// SetMigMode, Create* or Destroy* (check.sh refuses to run a build of this
// file that names them). Plain printf and nothing but a C++ compiler and
// libdl, so it builds on a bare driver machine.
#include <cstdio>
#include <cstring>
#include <string>

#include "core/error.h"
#include "mig/nvml_api.h"
#include "mig/nvml_loader.h"

namespace {

using gpuvm::mig::NvmlFunctions;
using gpuvm::mig::NvmlLibrary;

const char* text(const NvmlFunctions& f, nvmlReturn_t rc) {
  const char* s = f.nvmlErrorString(rc);
  return s != nullptr ? s : "?";
}

void print_info(const char* what, unsigned gpu, unsigned e, const nvmlGpuInstanceProfileInfo_t& i) {
  std::printf(
      "gpu %u gi enum %u %s: id=%u p2p=%u slices=%u instances=%u sm=%u ce=%u dec=%u enc=%u "
      "jpeg=%u ofa=%u memMB=%llu\n",
      gpu, e, what, i.id, i.isP2pSupported, i.sliceCount, i.instanceCount, i.multiprocessorCount,
      i.copyEngineCount, i.decoderCount, i.encoderCount, i.jpegCount, i.ofaCount, i.memorySizeMB);
}

}  // namespace

int main(int argc, char** argv) {
  std::string lib;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--nvml-lib" && i + 1 < argc) {
      lib = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--nvml-lib FILE]\n", argv[0]);
      return 2;
    }
  }
  if (lib.empty()) {
    if (const char* env = std::getenv("GPUVM_NVML_LIB")) lib = env;
  }
  try {
    NvmlLibrary nvml(lib);
    const NvmlFunctions& f = nvml.fn();
    std::printf("library: %s (all %zu symbols of GPUVM_NVML_FUNCTIONS resolved)\n",
                nvml.path().c_str(), gpuvm::mig::nvml_symbol_names().size());
    char buf[128] = {};
    nvmlReturn_t rc = f.nvmlSystemGetDriverVersion(buf, sizeof buf);
    std::printf("driver: rc=%d %s\n", rc, rc == NVML_SUCCESS ? buf : text(f, rc));
    rc = f.nvmlSystemGetNVMLVersion(buf, sizeof buf);
    std::printf("nvml: rc=%d %s\n", rc, rc == NVML_SUCCESS ? buf : text(f, rc));
    unsigned count = 0;
    rc = f.nvmlDeviceGetCount_v2(&count);
    std::printf("gpus: rc=%d count=%u\n", rc, count);
    for (unsigned g = 0; g < count; ++g) {
      nvmlDevice_t dev = nullptr;
      rc = f.nvmlDeviceGetHandleByIndex_v2(g, &dev);
      if (rc != NVML_SUCCESS) {
        std::printf("gpu %u: handle rc=%d %s\n", g, rc, text(f, rc));
        continue;
      }
      char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE] = {}, uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE] = {};
      f.nvmlDeviceGetName(dev, name, sizeof name);
      f.nvmlDeviceGetUUID(dev, uuid, sizeof uuid);
      nvmlPciInfo_t pci{};
      rc = f.nvmlDeviceGetPciInfo_v3(dev, &pci);
      std::printf(
          "gpu %u: name=\"%s\" uuid=%s pci rc=%d busId=%s busIdLegacy=%s device=0x%08x "
          "subsystem=0x%08x\n",
          g, name, uuid, rc, pci.busId, pci.busIdLegacy, pci.pciDeviceId, pci.pciSubSystemId);
      nvmlMemory_t mem{};
      rc = f.nvmlDeviceGetMemoryInfo(dev, &mem);
      std::printf("gpu %u: memory rc=%d total=%llu\n", g, rc, mem.total);
      unsigned cur = 9, pend = 9;
      rc = f.nvmlDeviceGetMigMode(dev, &cur, &pend);
      std::printf("gpu %u: mig mode rc=%d current=%u pending=%u\n", g, rc, cur, pend);
      unsigned maxmig = 0;
      rc = f.nvmlDeviceGetMaxMigDeviceCount(dev, &maxmig);
      std::printf("gpu %u: max mig devices rc=%d count=%u\n", g, rc, maxmig);
      // Every enum index, a few past our COUNT, to see where the driver stops.
      for (unsigned e = 0; e < NVML_GPU_INSTANCE_PROFILE_COUNT + 3; ++e) {
        nvmlGpuInstanceProfileInfo_t plain{};
        rc = f.nvmlDeviceGetGpuInstanceProfileInfo(dev, e, &plain);
        std::printf("gpu %u gi enum %u plain: rc=%d (%s)\n", g, e, rc, text(f, rc));
        if (rc == NVML_SUCCESS) print_info("plain", g, e, plain);
        nvmlGpuInstanceProfileInfo_v2_t v2{};
        v2.version = nvmlGpuInstanceProfileInfo_v2;
        rc = f.nvmlDeviceGetGpuInstanceProfileInfoV(dev, e, &v2);
        std::printf("gpu %u gi enum %u V(v2 tag 0x%08x): rc=%d (%s)", g, e,
                    nvmlGpuInstanceProfileInfo_v2, rc, text(f, rc));
        if (rc == NVML_SUCCESS)
          std::printf(
              " version=0x%08x id=%u p2p=%u slices=%u instances=%u sm=%u ce=%u dec=%u "
              "enc=%u jpeg=%u ofa=%u memMB=%llu name=\"%s\"",
              v2.version, v2.id, v2.isP2pSupported, v2.sliceCount, v2.instanceCount,
              v2.multiprocessorCount, v2.copyEngineCount, v2.decoderCount, v2.encoderCount,
              v2.jpegCount, v2.ofaCount, v2.memorySizeMB, v2.name);
        std::printf("\n");
        // The same entry point with a v3 struct (the function dispatches on the tag).
        nvmlGpuInstanceProfileInfo_v3_t v3{};
        v3.version = nvmlGpuInstanceProfileInfo_v3;
        rc = f.nvmlDeviceGetGpuInstanceProfileInfoV(
            dev, e, reinterpret_cast<nvmlGpuInstanceProfileInfo_v2_t*>(&v3));
        std::printf("gpu %u gi enum %u V(v3 tag 0x%08x): rc=%d (%s)", g, e,
                    nvmlGpuInstanceProfileInfo_v3, rc, text(f, rc));
        if (rc == NVML_SUCCESS)
          std::printf(
              " version=0x%08x id=%u slices=%u instances=%u sm=%u memMB=%llu name=\"%s\" "
              "caps=0x%x",
              v3.version, v3.id, v3.sliceCount, v3.instanceCount, v3.multiprocessorCount,
              v3.memorySizeMB, v3.name, v3.capabilities);
        std::printf("\n");
        if (f.nvmlDeviceGetGpuInstanceProfileInfo(dev, e, &plain) != NVML_SUCCESS) continue;
        unsigned n = 0;
        rc = f.nvmlDeviceGetGpuInstancePossiblePlacements_v2(dev, plain.id, nullptr, &n);
        std::printf("gpu %u gi profile %u placements (NULL array): rc=%d count=%u\n", g, plain.id,
                    rc, n);
        nvmlGpuInstancePlacement_t pl[32] = {};
        unsigned n2 = 32;
        rc = f.nvmlDeviceGetGpuInstancePossiblePlacements_v2(dev, plain.id, pl, &n2);
        std::printf("gpu %u gi profile %u placements: rc=%d count=%u {", g, plain.id, rc, n2);
        for (unsigned k = 0; k < n2 && k < 32; ++k)
          std::printf("%s%u:%u", k ? "," : "", pl[k].start, pl[k].size);
        std::printf("}\n");
        unsigned rem = 0;
        rc = f.nvmlDeviceGetGpuInstanceRemainingCapacity(dev, plain.id, &rem);
        std::printf("gpu %u gi profile %u remaining: rc=%d count=%u\n", g, plain.id, rc, rem);
        nvmlGpuInstance_t gis[8] = {};
        unsigned ngi = 8;
        rc = f.nvmlDeviceGetGpuInstances(dev, plain.id, gis, &ngi);
        std::printf("gpu %u gi profile %u instances: rc=%d (%s) count=%u\n", g, plain.id, rc,
                    text(f, rc), rc == NVML_SUCCESS ? ngi : 0);
      }
      nvmlGpuInstance_t gi = nullptr;
      rc = f.nvmlDeviceGetGpuInstanceById(dev, 1, &gi);
      std::printf("gpu %u: GetGpuInstanceById(1) rc=%d (%s)\n", g, rc, text(f, rc));
      nvmlGpuVirtualizationMode_t vm{};
      rc = f.nvmlDeviceGetVirtualizationMode(dev, &vm);
      std::printf("gpu %u: virtualization mode rc=%d mode=%d\n", g, rc, static_cast<int>(vm));
    }
  } catch (const gpuvm::Error& e) {
    std::printf("error: %s\n", e.what());
    return 1;
  }
  return 0;
}
