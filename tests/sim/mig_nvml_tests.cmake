# Tests of the MIG model (src/sim/mig_*) and the mock libnvidia-ml.so.1
# (src/sim/nvml_mock), included from tests/sim/CMakeLists.txt.
gpuvm_test(mig_profiles_test
  SOURCES mig_profiles_test.cpp
  LIBS gpuvm_sim_state nlohmann_json::nlohmann_json)
gpuvm_test(mig_ops_test
  SOURCES mig_ops_test.cpp
  LIBS gpuvm_sim_state)
