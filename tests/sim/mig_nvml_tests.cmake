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

# tools/device/nvml_mock_probe (a C program for the real H100) run against the
# mock must print tools/device/nvml_mock_probe.mock-h100.json: the file the
# real driver's output is diffed with stays the mock's true answer.
add_executable(nvml_mock_probe ${PROJECT_SOURCE_DIR}/tools/device/nvml_mock_probe.c)
target_include_directories(nvml_mock_probe PRIVATE ${PROJECT_SOURCE_DIR}/src)
target_compile_options(nvml_mock_probe PRIVATE -std=gnu99)
target_link_libraries(nvml_mock_probe PRIVATE ${CMAKE_DL_LIBS} gpuvm_warnings)
gpuvm_nvml_test(nvml_probe_tool_test nvml_probe_tool_test.cpp)
target_compile_definitions(nvml_probe_tool_test PRIVATE
  GPUVM_NVML_PROBE_TOOL="$<TARGET_FILE:nvml_mock_probe>")
add_dependencies(nvml_probe_tool_test nvml_mock_probe)
