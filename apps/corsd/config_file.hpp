#pragma once
// The TOML configuration file: [server], [demo] and [[routes]] tables read
// into Options, with every mistake reported as "FILE:LINE: what; fix".

#include <string>

#include "options.hpp"

namespace corsd::cli {

// load_config_file()
//
// Reads `path` over the values already in `options`. Returns an empty
// string on success, else the error message (file, line, rule and fix).
std::string load_config_file(const std::string& path, Options& options);

}  // namespace corsd::cli
