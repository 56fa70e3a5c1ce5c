#include "file_limit.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>

namespace corsd::cli {

std::string raise_file_limit(std::uint64_t needed) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0)
    return "cannot read the open-file limit: " + std::string(std::strerror(errno));
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
    ::getrlimit(RLIMIT_NOFILE, &limit);
  }
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= needed) return {};
  return "the open-file limit is " + std::to_string(limit.rlim_cur) + ", below the " + std::to_string(needed) +
         " that max_connections and threads allow: connections past it are refused by the kernel; raise it "
         "(LimitNOFILE= in the unit, ulimit -Hn) or lower max_connections";
}

}  // namespace corsd::cli
