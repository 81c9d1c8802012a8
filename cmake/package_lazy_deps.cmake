# SPDX-License-Identifier: MIT
#
# cmake/package_lazy_deps.cmake: run by cpack (CPACK_PROJECT_CONFIG_FILE).
# Computes the syncq package's dependencies on the libraries it loads with
# dlopen() by running dpkg-shlibdeps on cmake/lazy_probe.c's program
# (SYNCQ_LAZY_PROBE), and adds them to CPACK_DEBIAN_BIN_PACKAGE_DEPENDS;
# CPack's own dpkg-shlibdeps run adds those of the binary's linked
# libraries. A failure stops the package build: a package without them
# would install but fail on the first crawler or image task.
if(NOT CPACK_GENERATOR STREQUAL "DEB")
  return()
endif()
find_program(SQ_SHLIBDEPS dpkg-shlibdeps REQUIRED)
set(_d "${CPACK_TOPLEVEL_DIRECTORY}/lazy-deps")
file(MAKE_DIRECTORY "${_d}/debian")
file(WRITE "${_d}/debian/control"
     "Source: syncq\n\nPackage: syncq\nArchitecture: any\n")
execute_process(COMMAND ${SQ_SHLIBDEPS} -O -e "${SYNCQ_LAZY_PROBE}"
                WORKING_DIRECTORY "${_d}" OUTPUT_VARIABLE _out
                ERROR_VARIABLE _err RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0 OR NOT _out MATCHES "shlibs:Depends=")
  message(FATAL_ERROR "dpkg-shlibdeps on ${SYNCQ_LAZY_PROBE} failed: ${_err}")
endif()
string(REGEX REPLACE ".*shlibs:Depends=([^\n]*).*" "\\1" _deps "${_out}")
# libc6 comes with the binary's own dependencies.
string(REGEX REPLACE "(^|, )libc6 \\([^)]*\\)" "" _deps "${_deps}")
string(REGEX REPLACE "^, " "" _deps "${_deps}")
message(STATUS "syncq: dependencies of the dlopen()ed libraries: ${_deps}")
set(CPACK_DEBIAN_BIN_PACKAGE_DEPENDS "${_deps}")
