#include "check/format.h"

#include <fmt/format.h>

namespace gpuvm::check {

Summary summarize(const std::vector<Result>& results) {
  Summary s;
  for (const Result& r : results) {
    if (r.status == Status::kOk) ++s.ok;
    if (r.status == Status::kWarn) ++s.warn;
    if (r.status == Status::kFail) ++s.fail;
  }
  return s;
}

nlohmann::json to_json(const std::vector<Result>& results) {
  const Summary s = summarize(results);
  nlohmann::json list = nlohmann::json::array();
  for (const Result& r : results) {
    nlohmann::json j{{"id", r.id}, {"status", status_name(r.status)}, {"seen", r.seen}};
    if (!r.gpu.empty()) j["gpu"] = r.gpu;
    if (!r.fix.empty()) j["fix"] = r.fix;
    list.push_back(std::move(j));
  }
  return {{"status", s.fail   ? "fail"
                     : s.warn ? "warn"
                              : "ok"},
          {"summary", {{"ok", s.ok}, {"warn", s.warn}, {"fail", s.fail}}},
          {"results", std::move(list)}};
}

std::string format_table(const std::vector<Result>& results) {
  size_t id_width = 2;
  for (const Result& r : results) {
    const size_t w = r.id.size() + (r.gpu.empty() ? 0 : r.gpu.size() + 1);
    id_width = std::max(id_width, w);
  }
  std::string out = fmt::format("{:<7}{:<{}}  {}\n", "STATUS", "CHECK", id_width, "SEEN");
  for (const Result& r : results) {
    const std::string id = r.gpu.empty() ? r.id : r.id + " " + r.gpu;
    out += fmt::format("{:<7}{:<{}}  {}\n", status_name(r.status), id, id_width, r.seen);
    if (!r.fix.empty()) out += fmt::format("{:<7}{:<{}}  fix: {}\n", "", "", id_width, r.fix);
  }
  const Summary s = summarize(results);
  out += fmt::format("{} ok, {} warn, {} fail\n", s.ok, s.warn, s.fail);
  return out;
}

}  // namespace gpuvm::check
