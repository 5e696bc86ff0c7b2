// tools/device/nvml_mock_probe against the mock prints exactly
// tools/device/nvml_mock_probe.mock-h100.json (the answers to diff with the
// real H100's, see the tool's header).
#include <gtest/gtest.h>

#include "nvml_test_support.h"

namespace gpuvm::test {
namespace {

TEST(NvmlProbeTool, MockAnswersMatchTheCommittedFile) {
  SimHost host(
      {make_gpu("0000:00:06.0", "H100-SXM5-80GB", "GPU-c410912c-7daf-78fd-bfd4-3611682e99b6")},
      /*init=*/false);
  const auto r = run({GPUVM_NVML_PROBE_TOOL, mock_library_path().string()},
                     {{"GPUVM_SIM_STATE", host.path().string()}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, read_file(source_dir() / "tools/device/nvml_mock_probe.mock-h100.json"));
}

}  // namespace
}  // namespace gpuvm::test
