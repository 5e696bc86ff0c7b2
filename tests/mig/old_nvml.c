/* A stand-in for an NVML library from a driver too old for gpuvm: it exports
 * only the first two symbols of GPUVM_NVML_FUNCTIONS. */
int nvmlInit_v2(void) { return 0; }
int nvmlShutdown(void) { return 0; }
