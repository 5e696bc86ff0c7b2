/* Our own declarations of the NVML C API that gpuvm calls and gpuvm-sim's mock
 * library exports. Written from reference/nvidia.md §4 (NVML API version 13,
 * driver R580), not copied from NVIDIA's nvml.h. Layouts are x86_64 LP64; the
 * sizes and versioned-struct tags are checked by tests/mig/nvml_api_test.cpp
 * and, on a machine with the real driver, by tools/device/nvml_check.
 *
 * Only what gpuvm uses is declared. Function names are NVIDIA's exact exported
 * symbols (the versioned ones, e.g. nvmlInit_v2), so both the loader's dlsym()
 * and the mock's exports use the same spelling. */
#ifndef GPUVM_MIG_NVML_API_H_
#define GPUVM_MIG_NVML_API_H_

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* --- return codes (nvmlReturn_t) --------------------------------------- */
typedef enum nvmlReturn_enum {
  NVML_SUCCESS = 0,
  NVML_ERROR_UNINITIALIZED = 1,
  NVML_ERROR_INVALID_ARGUMENT = 2,
  NVML_ERROR_NOT_SUPPORTED = 3,
  NVML_ERROR_NO_PERMISSION = 4,
  NVML_ERROR_ALREADY_INITIALIZED = 5,
  NVML_ERROR_NOT_FOUND = 6,
  NVML_ERROR_INSUFFICIENT_SIZE = 7,
  NVML_ERROR_INSUFFICIENT_POWER = 8,
  NVML_ERROR_DRIVER_NOT_LOADED = 9,
  NVML_ERROR_TIMEOUT = 10,
  NVML_ERROR_IRQ_ISSUE = 11,
  NVML_ERROR_LIBRARY_NOT_FOUND = 12,
  NVML_ERROR_FUNCTION_NOT_FOUND = 13,
  NVML_ERROR_CORRUPTED_INFOROM = 14,
  NVML_ERROR_GPU_IS_LOST = 15,
  NVML_ERROR_RESET_REQUIRED = 16,
  NVML_ERROR_OPERATING_SYSTEM = 17,
  NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18,
  NVML_ERROR_IN_USE = 19,
  NVML_ERROR_MEMORY = 20,
  NVML_ERROR_NO_DATA = 21,
  NVML_ERROR_VGPU_ECC_NOT_SUPPORTED = 22,
  NVML_ERROR_INSUFFICIENT_RESOURCES = 23,
  NVML_ERROR_FREQ_NOT_SUPPORTED = 24,
  NVML_ERROR_ARGUMENT_VERSION_MISMATCH = 25,
  NVML_ERROR_DEPRECATED = 26,
  NVML_ERROR_NOT_READY = 27,
  NVML_ERROR_GPU_NOT_FOUND = 28,
  NVML_ERROR_INVALID_STATE = 29,
  NVML_ERROR_RESET_TYPE_NOT_SUPPORTED = 30,
  NVML_ERROR_UNKNOWN = 999
} nvmlReturn_t;

/* --- handles ------------------------------------------------------------ */
typedef struct nvmlDevice_st* nvmlDevice_t;
typedef struct nvmlGpuInstance_st* nvmlGpuInstance_t;
typedef struct nvmlComputeInstance_st* nvmlComputeInstance_t;
typedef unsigned int nvmlVgpuTypeId_t;
typedef unsigned int nvmlVgpuInstance_t;

/* --- constants (reference/nvidia.md §4.1) ------------------------------- */
#define NVML_DEVICE_MIG_DISABLE 0x0
#define NVML_DEVICE_MIG_ENABLE 0x1

/* GPU instance profile enum indexes (what GetGpuInstanceProfileInfo takes;
 * the board's profile *id* such as 19 or 9 comes back in info.id). */
#define NVML_GPU_INSTANCE_PROFILE_1_SLICE 0x0
#define NVML_GPU_INSTANCE_PROFILE_2_SLICE 0x1
#define NVML_GPU_INSTANCE_PROFILE_3_SLICE 0x2
#define NVML_GPU_INSTANCE_PROFILE_4_SLICE 0x3
#define NVML_GPU_INSTANCE_PROFILE_7_SLICE 0x4
#define NVML_GPU_INSTANCE_PROFILE_8_SLICE 0x5
#define NVML_GPU_INSTANCE_PROFILE_6_SLICE 0x6
#define NVML_GPU_INSTANCE_PROFILE_1_SLICE_REV1 0x7
#define NVML_GPU_INSTANCE_PROFILE_2_SLICE_REV1 0x8
#define NVML_GPU_INSTANCE_PROFILE_1_SLICE_REV2 0x9
#define NVML_GPU_INSTANCE_PROFILE_1_SLICE_GFX 0xA
#define NVML_GPU_INSTANCE_PROFILE_2_SLICE_GFX 0xB
#define NVML_GPU_INSTANCE_PROFILE_4_SLICE_GFX 0xC
#define NVML_GPU_INSTANCE_PROFILE_1_SLICE_NO_ME 0xD
#define NVML_GPU_INSTANCE_PROFILE_2_SLICE_NO_ME 0xE
#define NVML_GPU_INSTANCE_PROFILE_1_SLICE_ALL_ME 0xF
#define NVML_GPU_INSTANCE_PROFILE_2_SLICE_ALL_ME 0x10
#define NVML_GPU_INSTANCE_PROFILE_3_SLICE_GFX 0x11
/* The R580 driver answers INVALID_ARGUMENT from index 0x11 on (its COUNT is
 * 0x11); newer headers define 0x11 and COUNT 0x12. Enumeration walks up to
 * this bound and treats INVALID_ARGUMENT as "no such index". */
#define NVML_GPU_INSTANCE_PROFILE_COUNT 0x12

#define NVML_GPU_INSTANCE_PROFILE_CAPS_P2P 0x1
#define NVML_GPU_INSTANCE_PROFILE_CAPS_GFX 0x2
#define NVML_COMPUTE_INSTANCE_PROFILE_CAPS_GFX 0x1

#define NVML_COMPUTE_INSTANCE_PROFILE_1_SLICE 0x0
#define NVML_COMPUTE_INSTANCE_PROFILE_2_SLICE 0x1
#define NVML_COMPUTE_INSTANCE_PROFILE_3_SLICE 0x2
#define NVML_COMPUTE_INSTANCE_PROFILE_4_SLICE 0x3
#define NVML_COMPUTE_INSTANCE_PROFILE_7_SLICE 0x4
#define NVML_COMPUTE_INSTANCE_PROFILE_8_SLICE 0x5
#define NVML_COMPUTE_INSTANCE_PROFILE_6_SLICE 0x6
#define NVML_COMPUTE_INSTANCE_PROFILE_1_SLICE_REV1 0x7
#define NVML_COMPUTE_INSTANCE_PROFILE_7_SLICE_NVL 0x8
#define NVML_COMPUTE_INSTANCE_PROFILE_COUNT 0x9

#define NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED 0x0
#define NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_COUNT 0x1

#define NVML_VGPU_PGPU_HETEROGENEOUS_MODE 0
#define NVML_VGPU_PGPU_HOMOGENEOUS_MODE 1
#define NVML_INVALID_VGPU_PLACEMENT_ID 0xFFFF
#define NVML_INVALID_GPU_INSTANCE_PROFILE_ID 0xFFFFFFFFu

#define NVML_DEVICE_NAME_BUFFER_SIZE 64
#define NVML_DEVICE_NAME_V2_BUFFER_SIZE 96
#define NVML_DEVICE_UUID_BUFFER_SIZE 80
#define NVML_DEVICE_UUID_V2_BUFFER_SIZE 96
#define NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE 32
#define NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE 16
#define NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE 80
#define NVML_SYSTEM_NVML_VERSION_BUFFER_SIZE 80

/* Versioned structs carry sizeof | (version << 24) in their first field. */
#define NVML_STRUCT_VERSION(data, ver) (unsigned int)(sizeof(nvml##data##_t) | ((ver) << 24U))

typedef enum nvmlGpuVirtualizationMode {
  NVML_GPU_VIRTUALIZATION_MODE_NONE = 0,
  NVML_GPU_VIRTUALIZATION_MODE_PASSTHROUGH = 1,
  NVML_GPU_VIRTUALIZATION_MODE_VGPU = 2,
  NVML_GPU_VIRTUALIZATION_MODE_HOST_VGPU = 3,
  NVML_GPU_VIRTUALIZATION_MODE_HOST_VSGA = 4
} nvmlGpuVirtualizationMode_t;

typedef enum nvmlHostVgpuMode_enum {
  NVML_HOST_VGPU_MODE_NON_SRIOV = 0,
  NVML_HOST_VGPU_MODE_SRIOV = 1
} nvmlHostVgpuMode_t;

/* --- structs (reference/nvidia.md §4.3) --------------------------------- */
typedef struct nvmlPciInfo_st {
  char busIdLegacy[NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE]; /* "0000:00:06.0" */
  unsigned int domain;
  unsigned int bus;
  unsigned int device;
  unsigned int pciDeviceId;    /* (device << 16) | vendor */
  unsigned int pciSubSystemId; /* (subsystem device << 16) | subsystem vendor */
  char busId[NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE]; /* "00000000:00:06.0" */
} nvmlPciInfo_t;

typedef struct nvmlMemory_st {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
} nvmlMemory_t;

typedef struct nvmlGpuInstancePlacement_st {
  unsigned int start; /* memory slice */
  unsigned int size;
} nvmlGpuInstancePlacement_t;

typedef struct nvmlGpuInstanceProfileInfo_st {
  unsigned int id;
  unsigned int isP2pSupported;
  unsigned int sliceCount;
  unsigned int instanceCount;
  unsigned int multiprocessorCount;
  unsigned int copyEngineCount;
  unsigned int decoderCount;
  unsigned int encoderCount;
  unsigned int jpegCount;
  unsigned int ofaCount;
  unsigned long long memorySizeMB;
} nvmlGpuInstanceProfileInfo_t;

typedef struct nvmlGpuInstanceProfileInfo_v2_st {
  unsigned int version; /* nvmlGpuInstanceProfileInfo_v2 */
  unsigned int id;
  unsigned int isP2pSupported;
  unsigned int sliceCount;
  unsigned int instanceCount;
  unsigned int multiprocessorCount;
  unsigned int copyEngineCount;
  unsigned int decoderCount;
  unsigned int encoderCount;
  unsigned int jpegCount;
  unsigned int ofaCount;
  unsigned long long memorySizeMB;
  char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE];
} nvmlGpuInstanceProfileInfo_v2_t;
#define nvmlGpuInstanceProfileInfo_v2 NVML_STRUCT_VERSION(GpuInstanceProfileInfo_v2, 2)

typedef struct nvmlGpuInstanceProfileInfo_v3_st {
  unsigned int version; /* nvmlGpuInstanceProfileInfo_v3 */
  unsigned int id;
  unsigned int sliceCount;
  unsigned int instanceCount;
  unsigned int multiprocessorCount;
  unsigned int copyEngineCount;
  unsigned int decoderCount;
  unsigned int encoderCount;
  unsigned int jpegCount;
  unsigned int ofaCount;
  unsigned long long memorySizeMB;
  char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE]; /* empty from the R580 driver */
  unsigned int capabilities;                  /* NVML_GPU_INSTANCE_PROFILE_CAPS_* */
} nvmlGpuInstanceProfileInfo_v3_t;
#define nvmlGpuInstanceProfileInfo_v3 NVML_STRUCT_VERSION(GpuInstanceProfileInfo_v3, 3)

typedef struct nvmlGpuInstanceInfo_st {
  nvmlDevice_t device;
  unsigned int id;
  unsigned int profileId;
  nvmlGpuInstancePlacement_t placement;
} nvmlGpuInstanceInfo_t;

typedef struct nvmlComputeInstancePlacement_st {
  unsigned int start; /* compute slice within the GPU instance */
  unsigned int size;
} nvmlComputeInstancePlacement_t;

typedef struct nvmlComputeInstanceProfileInfo_st {
  unsigned int id;
  unsigned int sliceCount;
  unsigned int instanceCount;
  unsigned int multiprocessorCount;
  unsigned int sharedCopyEngineCount;
  unsigned int sharedDecoderCount;
  unsigned int sharedEncoderCount;
  unsigned int sharedJpegCount;
  unsigned int sharedOfaCount;
} nvmlComputeInstanceProfileInfo_t;

typedef struct nvmlComputeInstanceProfileInfo_v2_st {
  unsigned int version; /* nvmlComputeInstanceProfileInfo_v2 */
  unsigned int id;
  unsigned int sliceCount;
  unsigned int instanceCount;
  unsigned int multiprocessorCount;
  unsigned int sharedCopyEngineCount;
  unsigned int sharedDecoderCount;
  unsigned int sharedEncoderCount;
  unsigned int sharedJpegCount;
  unsigned int sharedOfaCount;
  char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE];
} nvmlComputeInstanceProfileInfo_v2_t;
#define nvmlComputeInstanceProfileInfo_v2 NVML_STRUCT_VERSION(ComputeInstanceProfileInfo_v2, 2)

typedef struct nvmlComputeInstanceProfileInfo_v3_st {
  unsigned int version; /* nvmlComputeInstanceProfileInfo_v3 */
  unsigned int id;
  unsigned int sliceCount;
  unsigned int instanceCount;
  unsigned int multiprocessorCount;
  unsigned int sharedCopyEngineCount;
  unsigned int sharedDecoderCount;
  unsigned int sharedEncoderCount;
  unsigned int sharedJpegCount;
  unsigned int sharedOfaCount;
  char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE];
  unsigned int capabilities;
} nvmlComputeInstanceProfileInfo_v3_t;
#define nvmlComputeInstanceProfileInfo_v3 NVML_STRUCT_VERSION(ComputeInstanceProfileInfo_v3, 3)

typedef struct nvmlComputeInstanceInfo_st {
  nvmlDevice_t device;
  nvmlGpuInstance_t gpuInstance;
  unsigned int id;
  unsigned int profileId;
  nvmlComputeInstancePlacement_t placement;
} nvmlComputeInstanceInfo_t;

typedef struct nvmlVgpuHeterogeneousMode_v1_st {
  unsigned int version; /* nvmlVgpuHeterogeneousMode_v1 */
  unsigned int mode;    /* NVML_VGPU_PGPU_{HETEROGENEOUS,HOMOGENEOUS}_MODE */
} nvmlVgpuHeterogeneousMode_v1_t;
typedef nvmlVgpuHeterogeneousMode_v1_t nvmlVgpuHeterogeneousMode_t;
#define nvmlVgpuHeterogeneousMode_v1 NVML_STRUCT_VERSION(VgpuHeterogeneousMode_v1, 1)

typedef struct nvmlVgpuPlacementList_v2_st {
  unsigned int version; /* nvmlVgpuPlacementList_v2 */
  unsigned int placementSize;
  unsigned int count;
  unsigned int* placementIds;
  unsigned int mode;
} nvmlVgpuPlacementList_v2_t;
typedef nvmlVgpuPlacementList_v2_t nvmlVgpuPlacementList_t;
#define nvmlVgpuPlacementList_v2 NVML_STRUCT_VERSION(VgpuPlacementList_v2, 2)

/* --- functions ---------------------------------------------------------- */
/* Each line: the exported symbol gpuvm resolves. GPUVM_NVML_FUNCTIONS(X)
 * expands X(name, return, params) for every one, so that the loader's
 * function table, the mock's exports and the coverage test cannot drift. */
#define GPUVM_NVML_FUNCTIONS(X)                                                                 \
  /* library */                                                                                 \
  X(nvmlInit_v2, (void))                                                                        \
  X(nvmlShutdown, (void))                                                                       \
  X(nvmlSystemGetDriverVersion, (char* version, unsigned int length))                           \
  X(nvmlSystemGetNVMLVersion, (char* version, unsigned int length))                             \
  /* devices */                                                                                 \
  X(nvmlDeviceGetCount_v2, (unsigned int* deviceCount))                                         \
  X(nvmlDeviceGetHandleByIndex_v2, (unsigned int index, nvmlDevice_t* device))                  \
  X(nvmlDeviceGetHandleByPciBusId_v2, (const char* pciBusId, nvmlDevice_t* device))             \
  X(nvmlDeviceGetHandleByUUID, (const char* uuid, nvmlDevice_t* device))                        \
  X(nvmlDeviceGetIndex, (nvmlDevice_t device, unsigned int* index))                             \
  X(nvmlDeviceGetName, (nvmlDevice_t device, char* name, unsigned int length))                  \
  X(nvmlDeviceGetUUID, (nvmlDevice_t device, char* uuid, unsigned int length))                  \
  X(nvmlDeviceGetPciInfo_v3, (nvmlDevice_t device, nvmlPciInfo_t* pci))                         \
  X(nvmlDeviceGetMemoryInfo, (nvmlDevice_t device, nvmlMemory_t* memory))                       \
  X(nvmlDeviceGetMinorNumber, (nvmlDevice_t device, unsigned int* minorNumber))                 \
  /* MIG mode */                                                                                \
  X(nvmlDeviceGetMigMode,                                                                       \
    (nvmlDevice_t device, unsigned int* currentMode, unsigned int* pendingMode))                \
  X(nvmlDeviceSetMigMode,                                                                       \
    (nvmlDevice_t device, unsigned int mode, nvmlReturn_t* activationStatus))                   \
  /* GPU instances */                                                                           \
  X(nvmlDeviceGetGpuInstanceProfileInfo,                                                        \
    (nvmlDevice_t device, unsigned int profile, nvmlGpuInstanceProfileInfo_t* info))            \
  X(nvmlDeviceGetGpuInstanceProfileInfoV,                                                       \
    (nvmlDevice_t device, unsigned int profile, nvmlGpuInstanceProfileInfo_v2_t* info))         \
  X(nvmlDeviceGetGpuInstancePossiblePlacements_v2,                                              \
    (nvmlDevice_t device, unsigned int profileId, nvmlGpuInstancePlacement_t* placements,       \
     unsigned int* count))                                                                      \
  X(nvmlDeviceGetGpuInstanceRemainingCapacity,                                                  \
    (nvmlDevice_t device, unsigned int profileId, unsigned int* count))                         \
  X(nvmlDeviceCreateGpuInstance,                                                                \
    (nvmlDevice_t device, unsigned int profileId, nvmlGpuInstance_t* gpuInstance))              \
  X(nvmlDeviceCreateGpuInstanceWithPlacement,                                                   \
    (nvmlDevice_t device, unsigned int profileId, const nvmlGpuInstancePlacement_t* placement,  \
     nvmlGpuInstance_t* gpuInstance))                                                           \
  X(nvmlGpuInstanceDestroy, (nvmlGpuInstance_t gpuInstance))                                    \
  X(nvmlDeviceGetGpuInstances,                                                                  \
    (nvmlDevice_t device, unsigned int profileId, nvmlGpuInstance_t* gpuInstances,              \
     unsigned int* count))                                                                      \
  X(nvmlDeviceGetGpuInstanceById,                                                               \
    (nvmlDevice_t device, unsigned int id, nvmlGpuInstance_t* gpuInstance))                     \
  X(nvmlGpuInstanceGetInfo, (nvmlGpuInstance_t gpuInstance, nvmlGpuInstanceInfo_t* info))      \
  /* compute instances */                                                                       \
  X(nvmlGpuInstanceGetComputeInstanceProfileInfo,                                               \
    (nvmlGpuInstance_t gpuInstance, unsigned int profile, unsigned int engProfile,              \
     nvmlComputeInstanceProfileInfo_t* info))                                                   \
  X(nvmlGpuInstanceGetComputeInstanceProfileInfoV,                                              \
    (nvmlGpuInstance_t gpuInstance, unsigned int profile, unsigned int engProfile,              \
     nvmlComputeInstanceProfileInfo_v2_t* info))                                                \
  X(nvmlGpuInstanceGetComputeInstanceRemainingCapacity,                                         \
    (nvmlGpuInstance_t gpuInstance, unsigned int profileId, unsigned int* count))               \
  X(nvmlGpuInstanceGetComputeInstancePossiblePlacements,                                        \
    (nvmlGpuInstance_t gpuInstance, unsigned int profileId,                                     \
     nvmlComputeInstancePlacement_t* placements, unsigned int* count))                          \
  X(nvmlGpuInstanceCreateComputeInstance,                                                       \
    (nvmlGpuInstance_t gpuInstance, unsigned int profileId,                                     \
     nvmlComputeInstance_t* computeInstance))                                                   \
  X(nvmlGpuInstanceCreateComputeInstanceWithPlacement,                                          \
    (nvmlGpuInstance_t gpuInstance, unsigned int profileId,                                     \
     const nvmlComputeInstancePlacement_t* placement, nvmlComputeInstance_t* computeInstance))  \
  X(nvmlComputeInstanceDestroy, (nvmlComputeInstance_t computeInstance))                        \
  X(nvmlGpuInstanceGetComputeInstances,                                                         \
    (nvmlGpuInstance_t gpuInstance, unsigned int profileId,                                     \
     nvmlComputeInstance_t* computeInstances, unsigned int* count))                             \
  X(nvmlGpuInstanceGetComputeInstanceById,                                                      \
    (nvmlGpuInstance_t gpuInstance, unsigned int id, nvmlComputeInstance_t* computeInstance))   \
  X(nvmlComputeInstanceGetInfo_v2,                                                              \
    (nvmlComputeInstance_t computeInstance, nvmlComputeInstanceInfo_t* info))                   \
  /* MIG devices */                                                                             \
  X(nvmlDeviceGetMaxMigDeviceCount, (nvmlDevice_t device, unsigned int* count))                 \
  X(nvmlDeviceGetMigDeviceHandleByIndex,                                                        \
    (nvmlDevice_t device, unsigned int index, nvmlDevice_t* migDevice))                         \
  X(nvmlDeviceIsMigDeviceHandle, (nvmlDevice_t device, unsigned int* isMigDevice))              \
  X(nvmlDeviceGetGpuInstanceId, (nvmlDevice_t device, unsigned int* id))                        \
  X(nvmlDeviceGetComputeInstanceId, (nvmlDevice_t device, unsigned int* id))                    \
  X(nvmlDeviceGetDeviceHandleFromMigDeviceHandle,                                               \
    (nvmlDevice_t migDevice, nvmlDevice_t* device))                                             \
  /* vGPU (host side) */                                                                        \
  X(nvmlDeviceGetVirtualizationMode,                                                            \
    (nvmlDevice_t device, nvmlGpuVirtualizationMode_t* pVirtualMode))                           \
  X(nvmlDeviceGetHostVgpuMode, (nvmlDevice_t device, nvmlHostVgpuMode_t* pHostVgpuMode))        \
  X(nvmlDeviceGetSupportedVgpus,                                                                \
    (nvmlDevice_t device, unsigned int* vgpuCount, nvmlVgpuTypeId_t* vgpuTypeIds))              \
  X(nvmlDeviceGetCreatableVgpus,                                                                \
    (nvmlDevice_t device, unsigned int* vgpuCount, nvmlVgpuTypeId_t* vgpuTypeIds))              \
  X(nvmlVgpuTypeGetName, (nvmlVgpuTypeId_t vgpuTypeId, char* vgpuTypeName, unsigned int* size)) \
  X(nvmlVgpuTypeGetGpuInstanceProfileId,                                                        \
    (nvmlVgpuTypeId_t vgpuTypeId, unsigned int* gpuInstanceProfileId))                          \
  X(nvmlVgpuTypeGetFramebufferSize, (nvmlVgpuTypeId_t vgpuTypeId, unsigned long long* fbSize))  \
  X(nvmlVgpuTypeGetMaxInstances,                                                                \
    (nvmlDevice_t device, nvmlVgpuTypeId_t vgpuTypeId, unsigned int* vgpuInstanceCount))        \
  X(nvmlDeviceGetVgpuHeterogeneousMode,                                                         \
    (nvmlDevice_t device, nvmlVgpuHeterogeneousMode_t* pHeterogeneousMode))                     \
  X(nvmlDeviceSetVgpuHeterogeneousMode,                                                         \
    (nvmlDevice_t device, const nvmlVgpuHeterogeneousMode_t* pHeterogeneousMode))

/* Prototypes of every function above, plus nvmlErrorString (which returns a
 * string, not an nvmlReturn_t). */
#define GPUVM_NVML_DECLARE(name, params) nvmlReturn_t name params;
GPUVM_NVML_FUNCTIONS(GPUVM_NVML_DECLARE)
#undef GPUVM_NVML_DECLARE
const char* nvmlErrorString(nvmlReturn_t result);

#ifdef __cplusplus
}
#endif

#endif /* GPUVM_MIG_NVML_API_H_ */
