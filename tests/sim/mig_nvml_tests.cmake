# Tests of the MIG model (src/sim/mig_*) and the mock libnvidia-ml.so.1
# (src/sim/nvml_mock), included from tests/sim/CMakeLists.txt.
gpuvm_test(mig_profiles_test
  SOURCES mig_profiles_test.cpp
  LIBS gpuvm_sim_state nlohmann_json::nlohmann_json)
gpuvm_test(mig_ops_test
  SOURCES mig_ops_test.cpp
  LIBS gpuvm_sim_state)

# Tests that dlopen the built mock libnvidia-ml.so.1 (as gpuvm's loader does).
function(gpuvm_nvml_test name)
  gpuvm_test(${name} SOURCES ${ARGN} LIBS gpuvm_sim_state nlohmann_json::nlohmann_json ${CMAKE_DL_LIBS})
  target_compile_definitions(${name} PRIVATE
    GPUVM_NVML_MOCK_PATH="$<TARGET_FILE:gpuvm_nvml_mock>")
  add_dependencies(${name} gpuvm_nvml_mock)
endfunction()
gpuvm_nvml_test(nvml_conformance_test nvml_conformance_test.cpp)
gpuvm_nvml_test(nvml_mig_test nvml_mig_test.cpp)
gpuvm_nvml_test(nvml_exports_test nvml_exports_test.cpp)
gpuvm_nvml_test(nvml_vgpu_test nvml_vgpu_test.cpp)
