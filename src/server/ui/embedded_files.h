// The web UI's static files, compiled into gpuvmd by embed.cmake (see
// CMakeLists.txt): gpuvmd is one binary with nothing to install beside it.
#pragma once

#include <span>
#include <string_view>

namespace gpuvm::server::ui {

struct EmbeddedFile {
  std::string_view name;  // file name, e.g. "app.js"
  std::string_view data;  // its bytes
};

// Every file of src/server/ui that the UI serves; defined in the generated source.
std::span<const EmbeddedFile> embedded_files();

}  // namespace gpuvm::server::ui
