# One interface target carries the project's warning flags; every target links it PRIVATE.
add_library(corsd_warnings INTERFACE)
target_compile_options(corsd_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor
  -Wold-style-cast -Woverloaded-virtual -Wimplicit-fallthrough
  $<$<BOOL:${CORSD_WARNINGS_AS_ERRORS}>:-Werror>)
# GCC 12 reports false -Wrestrict overlaps inside std::string at -O3
# (GCC bug 105329); the warning stays on for other compilers.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(corsd_warnings INTERFACE -Wno-restrict)
endif()
