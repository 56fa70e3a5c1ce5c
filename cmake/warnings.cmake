# One interface target carries the project's warning flags; every target links it PRIVATE.
add_library(corsd_warnings INTERFACE)
target_compile_options(corsd_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor
  -Wold-style-cast -Woverloaded-virtual -Wimplicit-fallthrough
  $<$<BOOL:${CORSD_WARNINGS_AS_ERRORS}>:-Werror>)
