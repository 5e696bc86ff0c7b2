#include "node/journal.h"

#include <fcntl.h>
#include <unistd.h>

#include "core/error.h"
#include "core/files.h"
#include "core/sysfs.h"

namespace gpuvm::node {

namespace fs = std::filesystem;

void write_atomic(const fs::path& path, const std::string& text) {
  atomic_write_file(path, text);  // O_EXCL|O_NOFOLLOW temporary, private directory (core/files.h)
}

bool Journal::found() const {
  return enabled_ && fs::exists(path_);
}

void Journal::plan(const std::string& step) {
  steps_.push_back({{"step", step}, {"done", false}});
  save();
}

void Journal::done() {
  steps_.back()["done"] = true;
  save();
}

void Journal::finish() {
  if (enabled_) fs::remove(path_);
}

void Journal::save() {
  if (enabled_) write_atomic(path_, nlohmann::json{{"steps", steps_}}.dump(1) + "\n");
}

TypeCache::TypeCache(fs::path path, bool writable) : path_(std::move(path)), writable_(writable) {
  if (!fs::exists(path_)) return;
  try {
    data_ = nlohmann::json::parse(read_attr(path_).value_or("{}"));
  } catch (const nlohmann::json::exception&) {
    data_ = nlohmann::json::object();  // a damaged cache is only a cache
  }
}

std::optional<std::string> TypeCache::get(const Bdf& gpu, const std::string& name) const {
  const std::string key = gpu.str() + " " + name;
  if (data_.contains(key) && data_[key].is_string()) return data_[key].get<std::string>();
  return std::nullopt;
}

void TypeCache::put(const Bdf& gpu, const std::string& name, const std::string& id) {
  const std::string key = gpu.str() + " " + name;
  if (data_.contains(key) && data_[key] == id) return;
  data_[key] = id;
  if (writable_) write_atomic(path_, data_.dump(1) + "\n");
}

}  // namespace gpuvm::node
