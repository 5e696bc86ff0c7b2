// The last result of `gpuvm check --record`: <state-dir>/check.json, the JSON
// form of format.h plus "checked_at_ms". `gpuvm agent` reports it to gpuvmd
// with the host's inventory (docs/check.md, "Recorded results").
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace gpuvm::check {

inline constexpr std::string_view kRecordFile = "check.json";
// Larger files are not read back (the agent's push stays bounded).
inline constexpr size_t kMaxRecordBytes = 256 * 1024;

// Inline: gpuvm agent reads the record without linking the checks.
inline std::filesystem::path record_path(const std::filesystem::path& state_dir) {
  return state_dir / kRecordFile;
}

// Replaces <state-dir>/check.json with `text` atomically: a new temporary file
// (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0644) renamed over it, so a reader sees the
// old or the new file and a link planted at either name is never followed.
// Creates the state directory (0755) when missing. Throws Error naming the path.
void write_record(const std::filesystem::path& state_dir, const std::string& text);

}  // namespace gpuvm::check
