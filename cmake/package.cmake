# SPDX-License-Identifier: MIT
#
# cmake/package.cmake: Debian packages from the install rules
# (cmake/install.cmake), with CPack's DEB generator:
#   cpack -G DEB --config build/CPackConfig.cmake -B OUTDIR
# gives
#   syncq            the binary, systemd units, sysusers/tmpfiles files,
#                    /etc/syncq, logrotate, man pages, completion, examples
#   libsyncq<major>  libsyncq.so.<major> (+ shlibs file for dependants)
#   libsyncq-dev     headers, libsyncq.so, syncq.pc
#
# Why CPack rather than debian/ + dpkg-buildpackage: the packages are made
# from the very install rules `cmake --install` uses (one list of what
# goes where), from an already configured build, in seconds, and need no
# debhelper. Runtime dependencies are computed by dpkg-shlibdeps
# (CPACK_DEBIAN_PACKAGE_SHLIBDEPS) from the ELF files, plus the libraries
# syncq dlopen()s, computed the same way from cmake/lazy_probe.c (see
# there). What CPack does not give: a source package and lintian-clean
# changelog/copyright files; a Debian upload would add a debian/ dir.

# The dlopen()ed libraries, as link dependencies of a probe program.
add_executable(syncq_lazy_probe ${CMAKE_SOURCE_DIR}/cmake/lazy_probe.c)
target_link_libraries(syncq_lazy_probe PRIVATE ${SYNCQ_LAZY_LIBS})
target_include_directories(syncq_lazy_probe SYSTEM PRIVATE
                           ${SYNCQ_LAZY_INCLUDES})

get_target_property(SYNCQ_SOVERSION syncq SOVERSION)
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME syncq)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "syncq")
set(CPACK_PACKAGE_CONTACT "syncq maintainers <syncq@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "distributed task queue and scheduler on Redis (1688sync)")
# Installed with DESTDIR and prefix /usr: the /etc files and the units'
# ExecStart= are decided at install time from the prefix (install.cmake).
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL bin lib dev python)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)

set(CPACK_DEBIAN_BIN_PACKAGE_NAME syncq)
set(CPACK_DEBIAN_BIN_PACKAGE_SECTION admin)
set(CPACK_COMPONENT_BIN_DESCRIPTION
    "distributed task queue and scheduler on Redis (1688sync)
 syncq crawls the 1688.com wholesale catalog, processes product images and
 syncs products and suppliers into SQLite or PostgreSQL: a worker pool,
 a leader-elected scheduler, a web dashboard with Prometheus metrics.
 Ships systemd units running as the system user syncq.")
set(CPACK_DEBIAN_BIN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/deploy/debian/postinst
    ${CMAKE_SOURCE_DIR}/deploy/debian/postrm
    ${CMAKE_SOURCE_DIR}/deploy/debian/conffiles)

set(CPACK_DEBIAN_LIB_PACKAGE_NAME libsyncq${SYNCQ_SOVERSION})
set(CPACK_DEBIAN_LIB_PACKAGE_SECTION libs)
# shlibs control file ("libsyncq 0 libsyncq0 (>= VERSION)") in packages
# that hold a shared library, so programs built on it get computed deps.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
set(CPACK_COMPONENT_LIB_DESCRIPTION
    "syncq client library (shared)
 The C API of syncq: create, wait for and inspect tasks, batches and
 schedules, write tasks and plugins.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libsyncq-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_DEV_DEPENDS lib)
# The headers include <jansson.h> and syncq.pc says `Requires: jansson`:
# a build dependency, which shlibdeps cannot compute (no ELF file uses it).
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libjansson-dev")
set(CPACK_COMPONENT_DEV_DESCRIPTION
    "syncq client library (development files)
 Headers, pkg-config file (syncq.pc) and the libsyncq.so link.")

set(CPACK_DEBIAN_PYTHON_PACKAGE_NAME python3-syncq)
set(CPACK_DEBIAN_PYTHON_PACKAGE_SECTION python)
set(CPACK_DEBIAN_PYTHON_PACKAGE_ARCHITECTURE all)
set(CPACK_COMPONENT_PYTHON_DEPENDS lib)
set(CPACK_DEBIAN_PYTHON_PACKAGE_DEPENDS "python3")
set(CPACK_COMPONENT_PYTHON_DESCRIPTION
    "syncq client for Python 3
 The seed's QueueManager interface (create_task, create_batch_task,
 add_schedule, wait_for_task, progress callbacks, ...) as a ctypes
 binding of libsyncq.")

# At package time: the probe's dependencies join the syncq package's.
set(SYNCQ_LAZY_PROBE $<TARGET_FILE:syncq_lazy_probe>)
file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/CPackProjectConfig.cmake
     CONTENT "set(SYNCQ_LAZY_PROBE \"${SYNCQ_LAZY_PROBE}\")
include(\"${CMAKE_SOURCE_DIR}/cmake/package_lazy_deps.cmake\")
")
set(CPACK_PROJECT_CONFIG_FILE ${CMAKE_BINARY_DIR}/CPackProjectConfig.cmake)
include(CPack)
