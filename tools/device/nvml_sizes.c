/* Sizes, offsets, version tags and constants of the NVML declarations gpuvm
 * uses. Compiled twice by check.sh: once against gpuvm's src/mig/nvml_api.h
 * (-DGPUVM_OWN) and once against the machine's real nvml.h; the two outputs
 * must be identical (diff). */
#include <stddef.h>
#include <stdio.h>
#ifdef GPUVM_OWN
#include "mig/nvml_api.h"
#else
#include <nvml.h>
#endif

#define SIZE(t) printf("sizeof(%s) = %zu\n", #t, sizeof(t))
#define OFF(t, m) printf("offsetof(%s, %s) = %zu\n", #t, #m, offsetof(t, m))
#define VAL(v) printf("%s = 0x%08x\n", #v, (unsigned)(v))

int main(void) {
  SIZE(nvmlPciInfo_t);
  OFF(nvmlPciInfo_t, pciDeviceId);
  OFF(nvmlPciInfo_t, busId);
  SIZE(nvmlMemory_t);
  SIZE(nvmlGpuInstancePlacement_t);
  SIZE(nvmlGpuInstanceProfileInfo_t);
  OFF(nvmlGpuInstanceProfileInfo_t, memorySizeMB);
  SIZE(nvmlGpuInstanceProfileInfo_v2_t);
  OFF(nvmlGpuInstanceProfileInfo_v2_t, memorySizeMB);
  OFF(nvmlGpuInstanceProfileInfo_v2_t, name);
  SIZE(nvmlGpuInstanceProfileInfo_v3_t);
  OFF(nvmlGpuInstanceProfileInfo_v3_t, memorySizeMB);
  OFF(nvmlGpuInstanceProfileInfo_v3_t, name);
  OFF(nvmlGpuInstanceProfileInfo_v3_t, capabilities);
  SIZE(nvmlGpuInstanceInfo_t);
  OFF(nvmlGpuInstanceInfo_t, placement);
  SIZE(nvmlComputeInstancePlacement_t);
  SIZE(nvmlComputeInstanceProfileInfo_t);
  SIZE(nvmlComputeInstanceProfileInfo_v2_t);
  OFF(nvmlComputeInstanceProfileInfo_v2_t, name);
  SIZE(nvmlComputeInstanceProfileInfo_v3_t);
  OFF(nvmlComputeInstanceProfileInfo_v3_t, capabilities);
  SIZE(nvmlComputeInstanceInfo_t);
  OFF(nvmlComputeInstanceInfo_t, placement);
  SIZE(nvmlVgpuHeterogeneousMode_v1_t);
  SIZE(nvmlVgpuPlacementList_v2_t);
  VAL(nvmlGpuInstanceProfileInfo_v2);
  VAL(nvmlGpuInstanceProfileInfo_v3);
  VAL(nvmlComputeInstanceProfileInfo_v2);
  VAL(nvmlComputeInstanceProfileInfo_v3);
  VAL(nvmlVgpuHeterogeneousMode_v1);
  VAL(nvmlVgpuPlacementList_v2);
  VAL(NVML_GPU_INSTANCE_PROFILE_1_SLICE_REV2);
  VAL(NVML_GPU_INSTANCE_PROFILE_2_SLICE_ALL_ME);
  VAL(NVML_GPU_INSTANCE_PROFILE_COUNT);
  /* Newer than the R580 driver's header (which has no 7_SLICE_NVL): print it
   * as absent there instead of failing the whole comparison. */
#ifdef NVML_COMPUTE_INSTANCE_PROFILE_7_SLICE_NVL
  VAL(NVML_COMPUTE_INSTANCE_PROFILE_7_SLICE_NVL);
#else
  printf("NVML_COMPUTE_INSTANCE_PROFILE_7_SLICE_NVL = (not defined)\n");
#endif
  VAL(NVML_COMPUTE_INSTANCE_PROFILE_COUNT);
  VAL(NVML_ERROR_INSUFFICIENT_RESOURCES);
  VAL(NVML_ERROR_RESET_TYPE_NOT_SUPPORTED);
  VAL(NVML_DEVICE_NAME_V2_BUFFER_SIZE);
  VAL(NVML_DEVICE_UUID_V2_BUFFER_SIZE);
  VAL(NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE);
  return 0;
}
