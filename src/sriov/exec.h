// Running a trusted helper program (NVIDIA's sriov-manage) without a shell:
// fork + execv with an argv, output captured. The program path is checked
// first so that gpuvm, running as root, never executes a file that a less
// privileged user could have replaced.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace gpuvm::sriov {

struct ExecResult {
  int exit_code = -1;  // 128+N when killed by signal N
  std::string output;  // stdout and stderr together, as the program wrote them
};

// Throws kInvalidArgument unless `program` is an absolute path to a regular,
// executable file owned by root or by us, and neither the file nor its
// directory is writable by group or others.
void check_trusted_program(const std::filesystem::path& program);

// Runs `program` with `args` (argv[1..]); an empty environment but PATH, so
// nothing of the caller's environment leaks into a root helper. Throws kIo
// when the program cannot be started.
ExecResult run_program(const std::filesystem::path& program, const std::vector<std::string>& args);

}  // namespace gpuvm::sriov
