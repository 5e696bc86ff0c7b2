// Text forms of gpuvm check's results: the table and the JSON document
// (docs/check.md, "Output"). The JSON form is a stable interface (the agent
// reports it to gpuvmd): add fields, never rename or remove them.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "check/check.h"

namespace gpuvm::check {

struct Summary {
  size_t ok = 0, warn = 0, fail = 0;
};
Summary summarize(const std::vector<Result>& results);

// {"status": "ok|warn|fail" (the worst), "summary": {ok, warn, fail},
//  "results": [{id, gpu?, status, seen, fix?}]}
nlohmann::json to_json(const std::vector<Result>& results);
// One line per result (STATUS ID [GPU] seen), the fix indented below it.
std::string format_table(const std::vector<Result>& results);

}  // namespace gpuvm::check
