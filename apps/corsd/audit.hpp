#pragma once
// `corsd audit URL [--origin O]`: sends the probe origins of cors/audit.hpp
// to URL on a simple GET and on a preflight each, and reports every
// misconfiguration the answers show, with its severity and the fix. Exit 0
// when nothing reaches --fail-on, 1 when something does, 2 when the server
// could not be reached.

namespace corsd::cli {

// run_audit()
//
// `argv[0]` is "audit".
int run_audit(int argc, char** argv);

}  // namespace corsd::cli
