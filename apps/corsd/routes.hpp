#pragma once
// Turns the routes as written into the Site the server runs, checking every
// policy (with the system's Public Suffix List) and upstream, and naming the
// file and line, or the flag, of the first mistake.

#include <string>
#include <variant>
#include <vector>

#include "corsd/app/site.hpp"
#include "options.hpp"

namespace corsd::cli {

// build_site()
//
// Returns the site for `options` (the seed's routes when it has none), or
// an error message with location, rule and fix.
std::variant<app::Site, std::string> build_site(const Options& options);

}  // namespace corsd::cli
