# Helpers shared by the layers' CMakeLists.

# corsd_unit_test(TARGET source... LINK lib...): a GoogleTest binary whose
# tests CTest discovers one by one, labelled "unit".
function(corsd_unit_test target)
  cmake_parse_arguments(ARG "" "" "LINK" ${ARGN})
  add_executable(${target} ${ARG_UNPARSED_ARGUMENTS})
  target_link_libraries(${target} PRIVATE ${ARG_LINK} corsd_test_support corsd_warnings GTest::gtest_main)
  gtest_discover_tests(${target} DISCOVERY_TIMEOUT 30 PROPERTIES LABELS unit)
endfunction()
