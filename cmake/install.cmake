# `cmake --install`: the library, its headers, the programs, and two ways to
# find them from another project: a CMake package (find_package(coronet
# CONFIG) gives coronet::coronet) and a pkg-config file (coronet.pc).
# tests/install builds a program against an installed tree both ways.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(coronet_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/coronet)
install(TARGETS coronet EXPORT coronet-targets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/coronet ${PROJECT_BINARY_DIR}/include/coronet TYPE INCLUDE)
install(EXPORT coronet-targets NAMESPACE coronet:: FILE coronetTargets.cmake DESTINATION ${coronet_cmake_dir})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/coronetConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/coronetConfig.cmake INSTALL_DESTINATION ${coronet_cmake_dir})
# 0.x: a new minor version may change the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/coronetConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/coronetConfig.cmake ${PROJECT_BINARY_DIR}/coronetConfigVersion.cmake
        DESTINATION ${coronet_cmake_dir})

# The .pc file finds its prefix from where it lies (${pcfiledir}), so an
# installed tree can be moved (cmake --install --prefix DIR, DESTDIR).
file(RELATIVE_PATH coronet_pc_prefix /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" coronet_pc_prefix "${coronet_pc_prefix}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/coronet.pc.in ${PROJECT_BINARY_DIR}/coronet.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/coronet.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

if(CORONET_BUILD_APPS)
  get_property(coronet_apps GLOBAL PROPERTY CORONET_APPS)
  install(TARGETS ${coronet_apps} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
