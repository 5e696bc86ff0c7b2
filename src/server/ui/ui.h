// gpuvmd's web UI: static files compiled into the binary (embed.cmake) and
// served at / and /ui/NAME. They need no token because they hold no data:
// the page asks /api/v1 for everything, with the operator's bearer token.
#pragma once

namespace gpuvm::server {

class HttpServer;

// Adds GET / (index.html) and GET /ui/NAME (an embedded file, else 404) to
// `server`, with a strict Content-Security-Policy on every answer.
void register_ui_routes(HttpServer& server);

}  // namespace gpuvm::server
