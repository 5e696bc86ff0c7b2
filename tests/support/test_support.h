// Helpers every test may use: a private temporary directory, running one of
// our binaries (no shell: argv is passed as is) and capturing its output.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace gpuvm::test {

// Source tree, shared/ beside it, and the build tree.
std::filesystem::path source_dir();
std::filesystem::path shared_dir();
std::filesystem::path binary_dir();
// A built program of ours, e.g. bin("gpuvm").
std::filesystem::path bin(const std::string& name);

// A fresh directory removed (recursively) when the object goes away.
class TempDir {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct RunResult {
  int exit_code = -1;  // 128+N when killed by signal N
  std::string out;
  std::string err;
};

// Runs argv[0] with the arguments, fork+execv, without a shell. `env` entries
// are added to (or replace in) the current environment; `stdin_data` is fed on
// standard input.
RunResult run(const std::vector<std::string>& argv,
              const std::map<std::string, std::string>& env = {},
              const std::string& stdin_data = "");

std::string read_file(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, const std::string& content);

// Copies the hand-made fixture tree tests/data/sysfs/<name>/sys to `to`
// (links kept as links, so the copy is a sysfs tree of its own); returns `to`.
std::filesystem::path copy_sysfs_fixture(const std::string& name, const std::filesystem::path& to);

// Extracts a .tar.gz into dir with the system's tar (test-only helper).
void extract_tarball(const std::filesystem::path& tarball, const std::filesystem::path& dir);

// The blocks of an OpenNebula PCI template (`PCI = [\n NAME = "value" ,\n
// ... \n]`, as `gpuvm probe --format one` and gpuvmd print it): field ->
// value (unescaped), by ADDRESS.
using OneFields = std::map<std::string, std::string>;
std::map<std::string, OneFields> parse_one_template(const std::string& text);

}  // namespace gpuvm::test
