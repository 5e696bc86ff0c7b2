// gpuvm-mig: `gpuvm mig` alone (the same handler, src/cli/mig.cpp), for a
// driver machine where the whole gpuvm (libpci, libxml2, database clients...)
// cannot be built. Prints errors as gpuvm's command runner does.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    return gpuvm::cli::run_mig(args);
  } catch (const gpuvm::Error& e) {
    std::fprintf(stderr, "gpuvm mig: error: %s\n", e.what());
    return gpuvm::exit_code(e.code());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpuvm mig: internal error: %s\n", e.what());
    return 1;
  }
}
