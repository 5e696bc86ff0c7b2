#include <gtest/gtest.h>

#include "core/error.h"
#include "mig/nvml_loader.h"

namespace {

using gpuvm::Errc;
using gpuvm::Error;
using gpuvm::mig::NvmlLibrary;

TEST(NvmlLoader, MissingLibraryNamesThePath) {
  try {
    NvmlLibrary lib("/nonexistent/libnvidia-ml.so.1");
    FAIL() << "opened a library that does not exist";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kNotFound);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/libnvidia-ml.so.1"), std::string::npos)
        << e.what();
  }
}

TEST(NvmlLoader, OldDriverNamesLibraryAndMissingSymbol) {
  try {
    NvmlLibrary lib(GPUVM_OLD_NVML);
    FAIL() << "accepted a library without the symbols gpuvm needs";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kUnsupported);
    std::string what = e.what();
    EXPECT_NE(what.find(GPUVM_OLD_NVML), std::string::npos) << what;
    // The first symbol of the list that the library lacks.
    EXPECT_NE(what.find("nvmlSystemGetDriverVersion"), std::string::npos) << what;
    EXPECT_NE(what.find("too old"), std::string::npos) << what;
  }
}

TEST(NvmlLoader, CandidatesStartWithTheLinkerSearch) {
  auto c = gpuvm::mig::default_nvml_candidates();
  ASSERT_FALSE(c.empty());
  EXPECT_EQ(c.front(), "libnvidia-ml.so.1");
}

}  // namespace
