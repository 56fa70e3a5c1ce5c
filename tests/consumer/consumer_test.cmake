# Installs corsd from BUILD into WORK/prefix, then builds tests/consumer
# against it, once through its CMake package and once through pkg-config,
# and runs both: the library works for someone outside this source tree.
# cmake -DBUILD=... -DWORK=... -DSOURCE=... -P consumer_test.cmake
file(REMOVE_RECURSE ${WORK})
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "failed (${status}): ${ARGN}\n${out}\n${err}")
  endif()
  set(out "${out}" PARENT_SCOPE)
endfunction()
function(expect_preflight_output text)
  foreach(line "refused: credentials cannot be allowed for every origin" "preflight_accepted"
               "Access-Control-Allow-Origin: https://app.example.com" "Access-Control-Allow-Methods: PUT, DELETE")
    string(FIND "${text}" "${line}" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "the consumer's output lacks \"${line}\":\n${text}")
    endif()
  endforeach()
endfunction()

run(${CMAKE_COMMAND} --install ${BUILD} --prefix ${WORK}/prefix)
run(${CMAKE_COMMAND} -S ${SOURCE} -B ${WORK}/build -G Ninja -DCMAKE_PREFIX_PATH=${WORK}/prefix -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} --build ${WORK}/build)
run(${WORK}/build/consumer)
expect_preflight_output("${out}")
run(${WORK}/build/consumer_beast)
foreach(line "204 http://localhost:8081" "http://localhost:8081 | Accept-Encoding, Origin")
  string(FIND "${out}" "${line}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "the Beast consumer's output lacks \"${line}\":\n${out}")
  endif()
endforeach()

# pkg-config, for builds without CMake.
set(ENV{PKG_CONFIG_PATH} ${WORK}/prefix/lib/pkgconfig)
run(pkg-config --cflags --libs corsd-cors)
separate_arguments(flags UNIX_COMMAND "${out}")
run(c++ ${SOURCE}/main.cpp ${flags} -o ${WORK}/consumer-pkg-config)
run(${WORK}/consumer-pkg-config)
expect_preflight_output("${out}")
message(STATUS "corsd::cors works from an install, through CMake and pkg-config")
