#pragma once
// `corsd check URL --origin O ...`: plays the browser for one fetch() from a
// page on origin O (cors/browser.hpp), against any server, and says what the
// browser will do and why: each request sent, each answer, the rule that
// decided, the console message, and the fix. Exit 0 allowed, 1 blocked, 2
// could not check (the server was not reached: never dressed up as a CORS
// verdict).

namespace corsd::cli {

// run_check()
//
// `argv[0]` is "check".
int run_check(int argc, char** argv);

}  // namespace corsd::cli
