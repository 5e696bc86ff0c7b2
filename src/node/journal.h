// The state files of node apply (docs/node.md): the journal of planned and
// done steps, and the per-GPU cache of vGPU type ids. Internal to node.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/bdf.h"
#include "node/apply.h"

namespace gpuvm::node {

// Writes `text` to `path` atomically: a crash leaves the old or the new file.
void write_atomic(const std::filesystem::path& path, const std::string& text);

// The journal: every step, planned then done. Only for the operator and the
// next run's report: recovery re-plans from the host, which is the truth.
class Journal {
 public:
  Journal(std::filesystem::path path, bool enabled) : path_(std::move(path)), enabled_(enabled) {}
  bool found() const;
  void plan(const std::string& step);
  void done();
  void finish();

 private:
  void save();
  std::filesystem::path path_;
  bool enabled_;
  nlohmann::json steps_ = nlohmann::json::array();
};

// Runs the steps of one apply: each is reported, and (unless a dry run)
// journaled as planned, run, journaled as done.
class Steps {
 public:
  Steps(Journal& journal, ApplyReport& report, bool dry_run)
      : journal_(journal), report_(report), dry_run_(dry_run) {}
  bool dry_run() const { return dry_run_; }
  template <typename F>
  void run(const std::string& step, F&& action) {
    report_.steps.push_back(step);
    if (dry_run_) return;
    journal_.plan(step);
    action();
    journal_.done();
  }
  // A line of a dry run that stands for steps it cannot plan yet.
  void note(const std::string& line) {
    if (dry_run_) report_.steps.push_back(line);
  }

 private:
  Journal& journal_;
  ApplyReport& report_;
  bool dry_run_;
};

// Type name -> id per GPU, learned while the GPU lists its types: a full GPU
// lists none, and a second run must still recognize what it holds.
class TypeCache {
 public:
  TypeCache(std::filesystem::path path, bool writable);
  std::optional<std::string> get(const Bdf& gpu, const std::string& name) const;
  void put(const Bdf& gpu, const std::string& name, const std::string& id);

 private:
  std::filesystem::path path_;
  bool writable_;
  nlohmann::json data_ = nlohmann::json::object();
};

}  // namespace gpuvm::node
