#pragma once
// Open files: every connection is one, and the soft limit most systems start
// a process with (1024) is far below what max_connections allows.

#include <cstdint>
#include <string>

namespace corsd::cli {

// raise_file_limit()
//
// Raises the soft RLIMIT_NOFILE as far as the hard limit allows. Returns a
// warning when even that stays below `needed` descriptors ("" otherwise).
std::string raise_file_limit(std::uint64_t needed);

}  // namespace corsd::cli
