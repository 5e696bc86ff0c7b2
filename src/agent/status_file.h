// What `gpuvm agent` last knew of gpuvmd: <state-dir>/agent.json, rewritten
// after each push and whenever a round's error changes, so that `gpuvm check`
// can say whether the agent reaches gpuvmd and how far this host's clock is
// from gpuvmd's (docs/agent.md, docs/check.md). Inline: gpuvm check reads it
// without linking the agent. Fields (JSON object, all optional):
//   server           the gpuvmd URL the agent reports to
//   reached_at_ms    last successful push, Unix milliseconds (this host's clock)
//   clock_offset_ms  gpuvmd's clock minus this host's at that push, from the
//                    answer's Date header (whole seconds: +-1000 ms of noise)
//   error            the last round's error while it lasts; absent once a round succeeds
//   error_at_ms      when that error was first seen
#pragma once

#include <filesystem>
#include <string_view>

namespace gpuvm::agent {

inline constexpr std::string_view kStatusFile = "agent.json";
// Larger files are not read back.
inline constexpr size_t kMaxStatusBytes = 16 * 1024;

inline std::filesystem::path status_path(const std::filesystem::path& state_dir) {
  return state_dir / kStatusFile;
}

}  // namespace gpuvm::agent
