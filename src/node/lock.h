// The host lock, as the node part's callers name it. It lives in core
// (core/lockfile.h: host_lock_path, lock_host) so that every entry point,
// the standalone gpuvm-mig included, takes the same one.
#pragma once

#include "core/lockfile.h"

namespace gpuvm::node {

using gpuvm::host_lock_path;
using gpuvm::lock_host;

}  // namespace gpuvm::node
