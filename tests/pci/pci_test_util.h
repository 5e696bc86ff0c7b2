// Shared by the pci tests: where the fixture trees are, and running gpuvm probe.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace gpuvm::pci::test_util {

// The hand-made trees of tests/data/sysfs (see make_trees.py).
inline const std::vector<std::string>& tree_names() {
  static const std::vector<std::string> names = {"a100-legacy", "h100-vendor", "host-mixed"};
  return names;
}

// <source>/tests/data/sysfs/<name>/sys
inline std::filesystem::path tree(const std::string& name) {
  return test::source_dir() / "tests/data/sysfs" / name / "sys";
}

// The real H100 SXM5 capture, extracted once per test process.
inline std::filesystem::path capture_root() {
  static test::TempDir dir;
  static bool extracted = false;
  if (!extracted) {
    test::extract_tarball(test::shared_dir() / "fixtures/h100-sxm5-passthrough/sysfs.tar.gz",
                          dir.path());
    extracted = true;
  }
  return dir.path() / "sysfs-snapshot/sys";
}

// gpuvm probe ARGS...
inline test::RunResult probe(std::vector<std::string> args,
                             std::map<std::string, std::string> env = {}) {
  args.insert(args.begin(), {test::bin("gpuvm").string(), "probe"});
  // Under ASan: a known leak inside libpci (see the file).
  env.emplace("LSAN_OPTIONS", "print_suppressions=0:suppressions=" +
                                  (test::source_dir() / "tests/pci/lsan.supp").string());
  return test::run(args, env);
}

// Copies a fixture tree (links as links) into dir/sys and returns that path,
// for tests that break it.
inline std::filesystem::path copy_tree(const std::string& name, const std::filesystem::path& dir) {
  std::filesystem::path to = dir / "sys";
  std::filesystem::copy(
      tree(name), to,
      std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks);
  return to;
}

// tests/pci/golden/<name>; with GPUVM_UPDATE_GOLDEN=1 in the environment the
// file is rewritten from `actual` first (then review the diff with git).
inline std::string golden(const std::string& name, const std::string& actual) {
  std::filesystem::path p = test::source_dir() / "tests/pci/golden" / name;
  if (const char* u = std::getenv("GPUVM_UPDATE_GOLDEN"); u && std::string(u) == "1")
    test::write_file(p, actual);
  return test::read_file(p);
}

}  // namespace gpuvm::pci::test_util
