// `gpuvm mig` arguments (src/mig/smi_args.cpp): the input is argv, one word
// per line; lines "ENV=value" before a line "--" are the environment.
#include <map>

#include "fuzz_support.h"
#include "mig/smi_args.h"

namespace {

std::map<std::string, std::string> g_env;

std::optional<std::string> env(const char* name) {
  auto it = g_env.find(name);
  if (it == g_env.end()) return std::nullopt;
  return it->second;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> words = gpuvm::fuzz::split(gpuvm::fuzz::as_text(data, size), '\n');
  g_env.clear();
  for (size_t i = 0; i < words.size(); ++i) {
    if (words[i] != "--") continue;
    for (size_t j = 0; j < i; ++j) {
      size_t eq = words[j].find('=');
      if (eq != std::string::npos) g_env[words[j].substr(0, eq)] = words[j].substr(eq + 1);
    }
    words.erase(words.begin(), words.begin() + static_cast<long>(i) + 1);
    break;
  }
  gpuvm::fuzz::expect_ok_or_error([&] { (void)gpuvm::mig::parse_smi_args(words, env); });
  return 0;
}
