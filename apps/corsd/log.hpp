#pragma once
// corsd's log lines on stderr: "corsd: ", the kind ("debug: ", or none)
// and the text, written in one write(2) so that lines from several threads
// never interleave.

#include <unistd.h>

#include <string>
#include <string_view>

namespace corsd::cli {

inline void log_line(std::string_view text, std::string_view kind = {}) {
  std::string line = "corsd: ";
  line.append(kind).append(text).push_back('\n');
  [[maybe_unused]] const auto n = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace corsd::cli
