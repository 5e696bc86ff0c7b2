/* gpuvm-sim's mock libnvidia-ml.so.1: what it exports besides the functions
 * of GPUVM_NVML_FUNCTIONS (src/mig/nvml_api.h). docs/nvml-mock.md.
 *
 * 1. NVIDIA functions that gpuvm does not call but that tests and tools
 *    compare with the real driver (same names and signatures as NVIDIA's).
 * 2. Control calls for tests, prefixed gpuvmSim so that they can never clash
 *    with an NVIDIA symbol (the DCGM mock's idea: inject, count, remove).
 *    They work without nvmlInit_v2 and act on the simulator state file that
 *    nvmlInit_v2 would use (GPUVM_SIM_STATE), so every process sees them. */
#ifndef GPUVM_SIM_NVML_MOCK_CONTROL_H_
#define GPUVM_SIM_NVML_MOCK_CONTROL_H_

#include "mig/nvml_api.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --- extra NVIDIA functions ------------------------------------------------ */
#define GPUVM_NVML_MOCK_EXTRA_FUNCTIONS(X)    \
  X(nvmlDeviceGetGpuInstanceProfileInfoByIdV, \
    (nvmlDevice_t device, unsigned int profileId, nvmlGpuInstanceProfileInfo_v2_t* info))

#define GPUVM_NVML_MOCK_DECLARE(name, params) nvmlReturn_t name params;
GPUVM_NVML_MOCK_EXTRA_FUNCTIONS(GPUVM_NVML_MOCK_DECLARE)
#undef GPUVM_NVML_MOCK_DECLARE

/* --- control calls -------------------------------------------------------- */
/* Makes the next `count` calls of the NVML function `call` (e.g.
 * "nvmlDeviceCreateGpuInstance") fail with `code` (NVML_SUCCESS: only slow),
 * after sleeping `delayMs`; count -1 = every call. `pciBusId` limits it to
 * one GPU ("0000:41:00.0"), NULL = any. Stored in the state file's faults,
 * shared by all processes. */
nvmlReturn_t gpuvmSimInjectFault(const char* call, nvmlReturn_t code, int count,
                                 unsigned int delayMs, const char* pciBusId);
/* Drops every injected fault. */
nvmlReturn_t gpuvmSimClearFaults(void);
/* The GPU falls off the bus (lost = 1: every call on it answers
 * NVML_ERROR_GPU_IS_LOST) or comes back (0). */
nvmlReturn_t gpuvmSimSetGpuLost(const char* pciBusId, int lost);
/* The GPU disappears from the host (hot removal): it leaves the device list;
 * handles to it answer NVML_ERROR_GPU_IS_LOST. */
nvmlReturn_t gpuvmSimRemoveGpu(const char* pciBusId);
/* A GPU reset of one GPU: a pending MIG mode becomes current, every GPU and
 * compute instance is gone. */
nvmlReturn_t gpuvmSimResetGpu(const char* pciBusId);
/* How many times this process called the NVML function `name` (by its
 * exported symbol name) since load or the last reset. */
unsigned long long gpuvmSimCallCount(const char* name);
void gpuvmSimResetCallCounts(void);

#ifdef __cplusplus
}
#endif

#endif /* GPUVM_SIM_NVML_MOCK_CONTROL_H_ */
