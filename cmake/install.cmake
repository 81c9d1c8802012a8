# SPDX-License-Identifier: MIT
#
# cmake/install.cmake: what `cmake --install build --prefix P` puts where,
# and the Debian packages built from the same rules (cmake/package.cmake).
# Included last by CMakeLists.txt; refers to targets by name only.
#
#   P/bin/syncq                                   component bin -> syncq
#   P/lib/systemd/system/syncq-*.{service,timer}  bin
#   P/lib/sysusers.d/syncq.conf, tmpfiles.d/      bin (user syncq, state dirs)
#   P/etc/logrotate.d/syncq, P/etc/syncq/*        bin (/etc when P is /usr)
#   P/share/man/man1/syncq*.1, completions        bin (generated, see below)
#   P/share/doc/syncq/examples/                   bin (.env, alerts, policy,
#                                                      Grafana, custom_task)
#   P/lib/<multiarch>/libsyncq.so.<major>         lib -> libsyncq<major>
#   P/lib/<multiarch>/libsyncq.so, pkgconfig/     dev -> libsyncq-dev
#   P/include/syncq/*.h (+ generated version.h)   dev
#   P/lib/python3/dist-packages/syncq/            python -> python3-syncq
#
# The multiarch directory is used for any prefix (Debian layout), so a
# program built with `pkg-config --cflags --libs syncq` finds the library
# under P the same way as under /usr.
include(GNUInstallDirs)
if(CMAKE_LIBRARY_ARCHITECTURE)
  set(SYNCQ_LIBDIR lib/${CMAKE_LIBRARY_ARCHITECTURE})
else()
  set(SYNCQ_LIBDIR ${CMAKE_INSTALL_LIBDIR})
endif()
set(SYNCQ_DOCDIR ${CMAKE_INSTALL_DATADIR}/doc/syncq)

# --- the program -----------------------------------------------------------
install(TARGETS syncq_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        COMPONENT bin)

# Files whose place or text depends on the prefix, decided at install time
# (so `cmake --install --prefix P` and the packages, which install with
# prefix /usr under DESTDIR, both get it right):
# - the systemd units: the deploy/ copies name /usr/local/bin/syncq (a
#   manual install); the installed copies name the installed binary;
# - configuration files go to /etc for prefix /usr, to P/etc otherwise.
#   /etc/syncq/syncq.env is what the units read (every line commented
#   out: the defaults); alerts.rules is the default rule set, for
#   SYNCQ_ALERT_RULES=/etc/syncq/alerts.rules.
set(SQ_D ${CMAKE_SOURCE_DIR}/deploy)
file(GLOB SYNCQ_UNITS ${SQ_D}/systemd/syncq-*.service
     ${SQ_D}/systemd/syncq-*.timer)
set(SYNCQ_ETC_FILES
    "${SQ_D}/logrotate/syncq=logrotate.d/syncq"
    "${SQ_D}/.env.example=syncq/syncq.env"
    "${SQ_D}/alerts.default.rules=syncq/alerts.rules")
install(CODE "
  set(_p \"\${CMAKE_INSTALL_PREFIX}\")
  set(_etc \"\${_p}/etc\")
  if(_p STREQUAL \"/usr\")
    set(_etc /etc)
  endif()
  set(_units \"\$ENV{DESTDIR}\${_p}/lib/systemd/system\")
  foreach(_u ${SYNCQ_UNITS})
    get_filename_component(_n \"\${_u}\" NAME)
    file(READ \"\${_u}\" _t)
    string(REPLACE /usr/local/bin/syncq
           \"\${_p}/${CMAKE_INSTALL_BINDIR}/syncq\" _t \"\${_t}\")
    message(STATUS \"Installing: \${_units}/\${_n}\")
    file(WRITE \"\${_units}/\${_n}\" \"\${_t}\")
  endforeach()
  foreach(_pair ${SYNCQ_ETC_FILES})
    string(REPLACE \"=\" \";\" _pair \"\${_pair}\")
    list(GET _pair 0 _src)
    list(GET _pair 1 _rel)
    get_filename_component(_dir \"\$ENV{DESTDIR}\${_etc}/\${_rel}\" DIRECTORY)
    message(STATUS \"Installing: \$ENV{DESTDIR}\${_etc}/\${_rel}\")
    file(MAKE_DIRECTORY \"\${_dir}\")
    configure_file(\"\${_src}\" \"\$ENV{DESTDIR}\${_etc}/\${_rel}\" COPYONLY)
  endforeach()" COMPONENT bin)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/systemd/syncq.sysusers
        DESTINATION lib/sysusers.d RENAME syncq.conf COMPONENT bin)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/systemd/syncq.tmpfiles
        DESTINATION lib/tmpfiles.d RENAME syncq.conf COMPONENT bin)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/.env.example
        ${CMAKE_SOURCE_DIR}/deploy/alerts.default.rules
        ${CMAKE_SOURCE_DIR}/deploy/retry-policy.example.json
        DESTINATION ${SYNCQ_DOCDIR}/examples COMPONENT bin)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/grafana/syncq.json
        DESTINATION ${SYNCQ_DOCDIR}/examples/grafana COMPONENT bin)
install(FILES ${CMAKE_SOURCE_DIR}/examples/custom_task/custom_task.c
        DESTINATION ${SYNCQ_DOCDIR}/examples/custom_task COMPONENT bin)
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION ${SYNCQ_DOCDIR}
        COMPONENT bin)

# Man pages and bash/zsh completion, generated from the command table by
# tools/gen-man.py (needs python3; without it they are left out, and
# configure says so).
find_package(Python3 COMPONENTS Interpreter)
if(Python3_Interpreter_FOUND)
  set(SYNCQ_MAN_DIR ${CMAKE_BINARY_DIR}/man)
  add_custom_command(
    OUTPUT ${SYNCQ_MAN_DIR}/man1/syncq.1
    COMMAND ${CMAKE_COMMAND} -E rm -rf ${SYNCQ_MAN_DIR}
    # A sanitizer build's binary must not fail --help on a leak report.
    COMMAND ${CMAKE_COMMAND} -E env ASAN_OPTIONS=detect_leaks=0
            ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tools/gen-man.py
            $<TARGET_FILE:syncq_cli> ${SYNCQ_MAN_DIR}
    DEPENDS syncq_cli ${CMAKE_SOURCE_DIR}/tools/gen-man.py
    COMMENT "Generating man pages and shell completion")
  add_custom_target(syncq_man ALL DEPENDS ${SYNCQ_MAN_DIR}/man1/syncq.1)
  install(DIRECTORY ${SYNCQ_MAN_DIR}/man1/
          DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT bin)
  install(FILES ${SYNCQ_MAN_DIR}/bash-completion/syncq
          DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
          COMPONENT bin)
  install(FILES ${SYNCQ_MAN_DIR}/zsh/_syncq
          DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions
          COMPONENT bin)
else()
  message(STATUS "python3 not found: man pages and shell completion will "
                 "not be generated or installed")
endif()

# --- the library -----------------------------------------------------------
install(TARGETS syncq
        LIBRARY DESTINATION ${SYNCQ_LIBDIR} COMPONENT lib
                NAMELINK_COMPONENT dev)
file(GLOB SYNCQ_PUBLIC_HEADERS ${CMAKE_SOURCE_DIR}/include/syncq/*.h)
install(FILES ${SYNCQ_PUBLIC_HEADERS} ${GEN_DIR}/syncq/version.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/syncq COMPONENT dev)
# Relocatable: prefix comes from where the .pc file is, so the same file
# works under /usr, under --prefix P and in an unpacked package root.
file(RELATIVE_PATH SYNCQ_PC_UP /${SYNCQ_LIBDIR}/pkgconfig /)
configure_file(${CMAKE_SOURCE_DIR}/cmake/syncq.pc.in
               ${CMAKE_BINARY_DIR}/syncq.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/syncq.pc
        DESTINATION ${SYNCQ_LIBDIR}/pkgconfig COMPONENT dev)

include(${CMAKE_SOURCE_DIR}/cmake/package.cmake)

# --- the Python client (python/syncq: ctypes over libsyncq.so.0) ----------
install(DIRECTORY ${CMAKE_SOURCE_DIR}/python/syncq
        DESTINATION lib/python3/dist-packages COMPONENT python
        PATTERN __pycache__ EXCLUDE)
