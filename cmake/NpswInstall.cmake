# What `cmake --install` installs (docs/install.md): the CLI, the shared libnpsw with its public
# headers, npsw.pc for pkg-config, the CMake package npswatch (target npswatch::npsw), the man
# pages generated from the CLI's --help texts, and the Python package python/npswatch.
include(CMakePackageConfigHelpers)

# ---- the shared library ----------------------------------------------------------------------
# The static libnpsw (core/, spectra_db/, api/; compiled once, position-independent) linked whole
# into libnpsw.so.SOVERSION. Only the npsw_* symbols are exported (cmake/libnpsw.map). The CLI,
# the tests and the benchmarks keep linking the static library.
# SOVERSION: bumped whenever the ABI changes incompatibly. npsw/npsw_api.h is the stable part
# (functions only added); the structs of the other headers may change between 0.x versions,
# and the SOVERSION changes with them.
set(NPSW_SOVERSION 0)
add_library(npsw_shared SHARED ${PROJECT_SOURCE_DIR}/api/src/shared.c)
target_link_libraries(npsw_shared PRIVATE "$<LINK_LIBRARY:WHOLE_ARCHIVE,npsw>" npsw_flags)
target_link_options(npsw_shared PRIVATE
                    "LINKER:--version-script=${PROJECT_SOURCE_DIR}/cmake/libnpsw.map"
                    "LINKER:--no-undefined")
set_target_properties(npsw_shared PROPERTIES
  OUTPUT_NAME npsw
  EXPORT_NAME npsw
  LINKER_LANGUAGE C
  VERSION ${PROJECT_VERSION}
  SOVERSION ${NPSW_SOVERSION}
  LINK_DEPENDS ${PROJECT_SOURCE_DIR}/cmake/libnpsw.map)
target_include_directories(npsw_shared INTERFACE
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/core/include>
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/spectra_db/include>
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/api/include>
  $<BUILD_INTERFACE:${CMAKE_BINARY_DIR}/generated>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
# The libFuzzer build instruments libnpsw with coverage hooks that only the harnesses resolve.
if(NPSW_FUZZ)
  set_target_properties(npsw_shared PROPERTIES EXCLUDE_FROM_ALL ON)
endif()

install(TARGETS npsw_shared EXPORT npswatchTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})

# ---- public headers ----------------------------------------------------------------------------
file(GLOB NPSW_PUBLIC_HEADERS CONFIGURE_DEPENDS
     ${PROJECT_SOURCE_DIR}/core/include/npsw/*.h
     ${PROJECT_SOURCE_DIR}/spectra_db/include/npsw/*.h
     ${PROJECT_SOURCE_DIR}/api/include/npsw/*.h)
install(FILES ${NPSW_PUBLIC_HEADERS} ${CMAKE_BINARY_DIR}/generated/npsw/config.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/npsw)

# ---- pkg-config and the CMake package ----------------------------------------------------------
# npsw.pc finds its prefix from its own folder (${pcfiledir}), so it stays right when the tree
# is installed with `cmake --install --prefix DIR` or moved.
file(RELATIVE_PATH NPSW_PC_PREFIX_REL "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
configure_file(${PROJECT_SOURCE_DIR}/cmake/npsw.pc.in ${CMAKE_BINARY_DIR}/npsw.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/npsw.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

set(NPSW_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/npswatch)
install(EXPORT npswatchTargets NAMESPACE npswatch:: DESTINATION ${NPSW_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/npswatchConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/npswatchConfig.cmake
                              INSTALL_DESTINATION ${NPSW_CMAKE_DIR}
                              PATH_VARS CMAKE_INSTALL_INCLUDEDIR)
# 0.x: a new minor version may change the ABI (see NPSW_SOVERSION)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/npswatchConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/npswatchConfig.cmake ${CMAKE_BINARY_DIR}/npswatchConfigVersion.cmake
        DESTINATION ${NPSW_CMAKE_DIR})

# ---- man pages ---------------------------------------------------------------------------------
# npswatch(1) and npswatch-CMD(1) for every command of the dispatcher, generated from the built
# CLI's --help texts (the maintained source) by tools/man/gen_man.py; likewise npswatch-mpi(1)
# and npswatch-mpi-CMD(1) when npswatch-mpi is built (MPI found; tools/ has defined the target
# before this file is included).
# The Debian python3 runs the generator and the Python tests (not another python3 on PATH).
find_program(NPSW_PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT NPSW_PYTHON3)
  find_package(Python3 REQUIRED COMPONENTS Interpreter)
  set(NPSW_PYTHON3 ${Python3_EXECUTABLE})
endif()
set(NPSW_MAN_DIR ${CMAKE_BINARY_DIR}/man)
set(NPSW_MAN_PROGRAMS npswatch)
set(NPSW_MAN_ARGS --npswatch $<TARGET_FILE:npswatch>)
if(TARGET npswatch-mpi)
  list(APPEND NPSW_MAN_PROGRAMS npswatch-mpi)
  list(APPEND NPSW_MAN_ARGS --npswatch-mpi $<TARGET_FILE:npswatch-mpi>)
endif()
list(JOIN NPSW_MAN_PROGRAMS " and " NPSW_MAN_FROM)
add_custom_command(
  OUTPUT ${NPSW_MAN_DIR}/stamp
  COMMAND ${CMAKE_COMMAND} -E rm -rf ${NPSW_MAN_DIR}/man1
  COMMAND ${NPSW_PYTHON3} ${PROJECT_SOURCE_DIR}/tools/man/gen_man.py
          ${NPSW_MAN_ARGS} --version ${PROJECT_VERSION} --out ${NPSW_MAN_DIR}/man1
  COMMAND ${CMAKE_COMMAND} -E touch ${NPSW_MAN_DIR}/stamp
  DEPENDS ${NPSW_MAN_PROGRAMS} ${PROJECT_SOURCE_DIR}/tools/man/gen_man.py
  COMMENT "Generating the man pages from the --help of ${NPSW_MAN_FROM}"
  VERBATIM)
add_custom_target(man ALL DEPENDS ${NPSW_MAN_DIR}/stamp)
install(DIRECTORY ${NPSW_MAN_DIR}/man1 DESTINATION ${CMAKE_INSTALL_MANDIR})

# ---- the Python package -------------------------------------------------------------------------
# Installed where Debian's python3 looks: PREFIX/lib/python3/dist-packages for the prefix /usr,
# else PREFIX/lib/python3.X/dist-packages (e.g. /usr/local/lib/python3.11/dist-packages).
execute_process(COMMAND ${NPSW_PYTHON3} -c "import sys; print('%d.%d' % sys.version_info[:2])"
                OUTPUT_VARIABLE NPSW_PYTHON3_VERSION OUTPUT_STRIP_TRAILING_WHITESPACE)
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(NPSW_PYTHON_DIR_DEFAULT lib/python3/dist-packages)
else()
  set(NPSW_PYTHON_DIR_DEFAULT lib/python${NPSW_PYTHON3_VERSION}/dist-packages)
endif()
set(NPSW_PYTHON_DIR ${NPSW_PYTHON_DIR_DEFAULT} CACHE STRING
    "Where the Python package npswatch is installed, relative to the prefix")
# The installed package finds the installed library by the relative path from its own folder.
file(RELATIVE_PATH NPSW_PY_LIB_REL "/p/${NPSW_PYTHON_DIR}/npswatch" "/p/${CMAKE_INSTALL_LIBDIR}")
configure_file(${PROJECT_SOURCE_DIR}/python/npswatch/_install.py.in
               ${CMAKE_BINARY_DIR}/python/_install.py @ONLY)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/python/npswatch DESTINATION ${NPSW_PYTHON_DIR}
        FILES_MATCHING PATTERN "*.py" PATTERN "__pycache__" EXCLUDE)
install(FILES ${CMAKE_BINARY_DIR}/python/_install.py DESTINATION ${NPSW_PYTHON_DIR}/npswatch)
