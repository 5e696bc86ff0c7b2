// Shared by the libFuzzer targets of tests/fuzz (docs/development.md,
// "Fuzzing"). A target feeds its input to one parser; gpuvm::Error is the
// answer to bad input and is swallowed. Anything else escaping (a yaml-cpp or
// nlohmann exception, std::out_of_range...) is a bug: libFuzzer reports it as
// a crash ("deadly signal" after std::terminate), as are ASan/UBSan reports.
#pragma once

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace gpuvm::fuzz {

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Splits `text` at every `sep` (empty fields kept): how a target that needs
// several values (argv words, attribute files) takes them from one input.
inline std::vector<std::string> split(std::string_view text, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t at = text.find(sep, start);
    out.emplace_back(text.substr(start, at == std::string_view::npos ? at : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

// A private directory for a target that needs files: <base>/gpuvm-fuzz-PID,
// under $TMPDIR, else /dev/shm (tmpfs: a disk-backed /tmp made the probe
// target do 6 inputs a second, most of it in mkdir), else /tmp. libFuzzer
// leaves a fuzzing loop with _Exit (no atexit), so each process removes the
// directories of processes that are gone instead.
inline const std::filesystem::path& scratch_dir() {
  namespace fs = std::filesystem;
  static const fs::path* dir = [] {
    const fs::path base = getenv("TMPDIR")               ? fs::path(getenv("TMPDIR"))
                          : fs::is_directory("/dev/shm") ? fs::path("/dev/shm")
                                                         : fs::path("/tmp");
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(base, ec)) {
      const std::string name = e.path().filename().string();
      if (!name.starts_with("gpuvm-fuzz-")) continue;
      const long pid = std::strtol(name.c_str() + 11, nullptr, 10);
      if (pid > 0 && kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
        fs::remove_all(e.path(), ec);
    }
    auto* path = new fs::path(base / ("gpuvm-fuzz-" + std::to_string(getpid())));
    fs::remove_all(*path, ec);
    if (!fs::create_directory(*path, ec)) abort();
    return path;
  }();
  return *dir;
}

// Runs `f`; a gpuvm::Error is the expected answer to bad input. Its message
// must not be empty: every error names what was wrong.
template <typename F>
void expect_ok_or_error(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    if (std::string_view(e.what()).empty()) __builtin_trap();
  }
}

}  // namespace gpuvm::fuzz
