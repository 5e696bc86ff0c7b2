/* Read-only NVML probes whose answers the mock libnvidia-ml.so.1 of
 * gpuvm-sim guesses today (docs/nvml-mock.md, "Known gaps" and [inferred]
 * rows). Run it on a machine with the real driver and against the mock; the
 * two JSON outputs should be equal except where the file says the mock
 * differs on purpose.
 *
 *   cc -O2 -std=gnu99 -I src tools/device/nvml_mock_probe.c -ldl -o /tmp/nvml_mock_probe
 *   /tmp/nvml_mock_probe libnvidia-ml.so.1 > real.json                # on the GPU machine
 *   GPUVM_SIM_STATE=<state of a one-H100 host> \
 *     /tmp/nvml_mock_probe build/<dir>/src/sim/nvml_mock/libnvidia-ml.so.1 > mock.json
 *   diff real.json mock.json
 *
 * Only calls that read: no MIG mode change, no instance create/destroy. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "mig/nvml_api.h"

static void* lib;
static int first = 1;

static void* sym(const char* name) {
  void* f = dlsym(lib, name);
  if (f == NULL) fprintf(stderr, "nvml_mock_probe: %s not exported\n", name);
  return f;
}

static void put(const char* key, long long value) {
  printf("%s\n  \"%s\": %lld", first ? "{" : ",", key, value);
  first = 0;
}

static void put_str(const char* key, const char* value) {
  printf("%s\n  \"%s\": \"%s\"", first ? "{" : ",", key, value);
  first = 0;
}

#define CALL(name) ((__typeof__(&name))sym(#name))

int main(int argc, char** argv) {
  const char* path = argc > 1 ? argv[1] : "libnvidia-ml.so.1";
  lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL) {
    fprintf(stderr, "nvml_mock_probe: %s\n", dlerror());
    return 1;
  }
  put("init_rc", CALL(nvmlInit_v2)());
  nvmlDevice_t d = NULL, h = NULL;
  unsigned int count = 0, u = 0, u2 = 0;
  char buf[128];
  put("handle_by_index_0_rc", CALL(nvmlDeviceGetHandleByIndex_v2)(0, &d));
  CALL(nvmlDeviceGetCount_v2)(&count);
  put("handle_by_index_count_rc", CALL(nvmlDeviceGetHandleByIndex_v2)(count, &h));
  put("count_null_rc", CALL(nvmlDeviceGetCount_v2)(NULL));
  put("name_8_bytes_rc", CALL(nvmlDeviceGetName)(d, buf, 8));
  put("uuid_null_rc", CALL(nvmlDeviceGetUUID)(d, NULL, 80));
  put("by_pci_garbage_rc", CALL(nvmlDeviceGetHandleByPciBusId_v2)("garbage", &h));
  put("by_pci_absent_rc", CALL(nvmlDeviceGetHandleByPciBusId_v2)("0000:fe:1f.7", &h));
  put("by_uuid_absent_rc",
      CALL(nvmlDeviceGetHandleByUUID)("GPU-00000000-0000-0000-0000-000000000000", &h));
  put("minor_number_rc", CALL(nvmlDeviceGetMinorNumber)(d, &u));
  put("minor_number", u);

  nvmlGpuInstanceProfileInfo_v2_t v2;
  memset(&v2, 0, sizeof v2);
  put("gip_info_null_rc", CALL(nvmlDeviceGetGpuInstanceProfileInfo)(d, 0, NULL));
  v2.version = (unsigned int)(sizeof v2 | (1u << 24));
  put("gip_infoV_v1tag_rc", CALL(nvmlDeviceGetGpuInstanceProfileInfoV)(d, 0, &v2));
  put("gip_infoV_null_rc", CALL(nvmlDeviceGetGpuInstanceProfileInfoV)(d, 0, NULL));
  put("remaining_null_rc", CALL(nvmlDeviceGetGpuInstanceRemainingCapacity)(d, 19, NULL));
  put("placements_null_null_rc",
      CALL(nvmlDeviceGetGpuInstancePossiblePlacements_v2)(d, 19, NULL, NULL));
  count = 77;
  put("get_gpu_instances_null_array_rc", CALL(nvmlDeviceGetGpuInstances)(d, 19, NULL, &count));
  put("get_gpu_instances_null_array_count", count);
  nvmlGpuInstance_t gis[8];
  put("get_gpu_instances_null_count_rc", CALL(nvmlDeviceGetGpuInstances)(d, 19, gis, NULL));
  count = 0;
  put("get_gpu_instances_bad_id_rc", CALL(nvmlDeviceGetGpuInstances)(d, 1, gis, &count));
  nvmlGpuInstance_t gi = NULL;
  put("gpu_instance_by_id_0_rc", CALL(nvmlDeviceGetGpuInstanceById)(d, 0, &gi));
  put("mig_mode_null_rc", CALL(nvmlDeviceGetMigMode)(d, NULL, NULL));
  put("max_mig_rc", CALL(nvmlDeviceGetMaxMigDeviceCount)(d, &u));
  put("max_mig", u);
  put("gpu_instance_id_of_gpu_rc", CALL(nvmlDeviceGetGpuInstanceId)(d, &u));
  put("compute_instance_id_of_gpu_rc", CALL(nvmlDeviceGetComputeInstanceId)(d, &u));
  put("parent_of_gpu_rc", CALL(nvmlDeviceGetDeviceHandleFromMigDeviceHandle)(d, &h));
  put("mig_device_by_index_7_rc", CALL(nvmlDeviceGetMigDeviceHandleByIndex)(d, 7, &h));
  put("gpu_instance_destroy_null_rc", CALL(nvmlGpuInstanceDestroy)(NULL));
  put("gpu_instance_get_info_null_rc", CALL(nvmlGpuInstanceGetInfo)(NULL, NULL));

  nvmlHostVgpuMode_t hm;
  put("host_vgpu_mode_rc", CALL(nvmlDeviceGetHostVgpuMode)(d, &hm));
  count = 0;
  put("creatable_vgpus_rc", CALL(nvmlDeviceGetCreatableVgpus)(d, &count, NULL));
  nvmlVgpuHeterogeneousMode_t het;
  het.version = nvmlVgpuHeterogeneousMode_v1;
  put("heterogeneous_mode_rc", CALL(nvmlDeviceGetVgpuHeterogeneousMode)(d, &het));
  het.version = 0;
  put("heterogeneous_mode_v0_rc", CALL(nvmlDeviceGetVgpuHeterogeneousMode)(d, &het));
  u2 = sizeof buf;
  put("vgpu_type_name_1320_rc", CALL(nvmlVgpuTypeGetName)(1320, buf, &u2));

  const char* (*err)(nvmlReturn_t) = (const char* (*)(nvmlReturn_t))sym("nvmlErrorString");
  for (int rc = 0; rc <= 31; ++rc) {
    char key[32];
    snprintf(key, sizeof key, "error_string_%d", rc);
    put_str(key, err((nvmlReturn_t)rc));
  }
  put_str("error_string_999", err(NVML_ERROR_UNKNOWN));

  put("shutdown_rc", CALL(nvmlShutdown)());
  put("shutdown_again_rc", CALL(nvmlShutdown)());
  put("count_after_shutdown_rc", CALL(nvmlDeviceGetCount_v2)(&count));
  printf("\n}\n");
  return 0;
}
