#include "server/ui/ui.h"

#include <string>
#include <string_view>

#include "server/api/http_server.h"
#include "server/ui/embedded_files.h"

namespace gpuvm::server {

namespace {

// Our own files only: the script is app.js (no inline script or eval), the
// data comes from this origin's API, and no other site may frame the page.
constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

std::string content_type(std::string_view name) {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  return "application/octet-stream";
}

const ui::EmbeddedFile* find_file(std::string_view name) {
  for (const auto& f : ui::embedded_files())
    if (f.name == name) return &f;
  return nullptr;
}

void send_file(std::string_view name, HttpResponse& res) {
  const ui::EmbeddedFile* f = find_file(name);
  if (!f) {
    res.status = 404;  // the server's error handler writes the JSON body
    return;
  }
  res.set_header("Content-Security-Policy", kContentSecurityPolicy);
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Cache-Control", "no-cache");  // a new gpuvmd's UI shows at once
  res.set_content(std::string(f->data.data(), f->data.size()), content_type(f->name));
}

}  // namespace

void register_ui_routes(HttpServer& server) {
  server.route("GET", "/",
               [](const HttpRequest&, HttpResponse& res) { send_file("index.html", res); });
  // Looked up among the embedded files by name: nothing is read from disk.
  server.route(
      "GET", R"(/ui/([A-Za-z0-9._-]{1,64}))",
      [](const HttpRequest& req, HttpResponse& res) { send_file(req.matches[1].str(), res); });
}

}  // namespace gpuvm::server
