# Helpers shared by the layers' CMakeLists.

# corsd_unit_test(TARGET source... LINK lib...): a GoogleTest binary whose
# tests CTest discovers one by one, labelled "unit".
function(corsd_unit_test target)
  cmake_parse_arguments(ARG "" "" "LINK" ${ARGN})
  add_executable(${target} ${ARG_UNPARSED_ARGUMENTS})
  target_link_libraries(${target} PRIVATE ${ARG_LINK} corsd_test_support corsd_warnings GTest::gtest_main)
  gtest_discover_tests(${target} DISCOVERY_TIMEOUT 30 PROPERTIES LABELS unit)
endfunction()

# corsd_node_test(KIND NAME TIMEOUT LABELS label...): tests/<KIND>/<NAME>.test.mjs
# under Node's built-in runner as the CTest test KIND.NAME, with the corsd
# binary in CORSD_BIN and the build tree in CORSD_BUILD_DIR.
function(corsd_node_test kind name timeout)
  cmake_parse_arguments(ARG "" "" "LABELS" ${ARGN})
  find_program(CORSD_NODE node REQUIRED)
  add_test(NAME ${kind}.${name} COMMAND ${CORSD_NODE} --test ${CMAKE_CURRENT_SOURCE_DIR}/${name}.test.mjs)
  set_tests_properties(${kind}.${name} PROPERTIES
    ENVIRONMENT "CORSD_BIN=$<TARGET_FILE:corsd>;CORSD_BUILD_DIR=${PROJECT_BINARY_DIR}"
    LABELS "${ARG_LABELS}"
    TIMEOUT ${timeout})
endfunction()
