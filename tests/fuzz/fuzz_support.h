// Shared by the libFuzzer targets of tests/fuzz (docs/development.md,
// "Fuzzing"). A target feeds its input to one parser; gpuvm::Error is the
// answer to bad input and is swallowed. Anything else escaping (a yaml-cpp or
// nlohmann exception, std::out_of_range...) is a bug: libFuzzer reports it as
// a crash ("deadly signal" after std::terminate), as are ASan/UBSan reports.
#pragma once

#include <cstddef>
#include <cstdint>
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
