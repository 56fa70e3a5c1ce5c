# The policy engine as an installed library: headers, libcorsd-cors.a, a
# CMake package (find_package(corsd 0.2 CONFIG REQUIRED), then
# target_link_libraries(app PRIVATE corsd::cors)) and a pkg-config file
# (corsd-cors). While corsd is 0.x a minor version may break the API, so a
# request for 0.2 takes 0.2.* only (SameMinorVersion).
include(CMakePackageConfigHelpers)

set(CORSD_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/corsd)
install(TARGETS corsd_cors corsd_config corsd_beast corsd_httplib EXPORT corsdTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/corsd/cors ${PROJECT_SOURCE_DIR}/include/corsd/config
                  ${PROJECT_SOURCE_DIR}/include/corsd/adapters
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/corsd)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/corsd/detail DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/corsd)
install(EXPORT corsdTargets NAMESPACE corsd:: FILE corsdTargets.cmake DESTINATION ${CORSD_CMAKE_DIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/corsdConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/corsdConfig.cmake INSTALL_DESTINATION ${CORSD_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/corsdConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/corsdConfig.cmake ${PROJECT_BINARY_DIR}/corsdConfigVersion.cmake
        DESTINATION ${CORSD_CMAKE_DIR})

# Relocatable: the prefix is found from where the .pc file is.
file(RELATIVE_PATH CORSD_PC_PREFIX "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
foreach(pc corsd-cors corsd-config)
  configure_file(${PROJECT_SOURCE_DIR}/cmake/${pc}.pc.in ${PROJECT_BINARY_DIR}/${pc}.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/${pc}.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endforeach()
