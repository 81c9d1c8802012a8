#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_library_ctypes.sh: a program outside the tree can use libsyncq.so:
# Python's ctypes loads it (RTLD_NOW, so any undefined symbol fails the
# load) and calls the public API, whose answers are checked.
set -u
lib=${SYNCQ_BUILD_DIR:?}/libsyncq.so
want=$("$SYNCQ_BIN" --version | awk '{print $2}')
python3 - "$lib" "$want" <<'PY'
import ctypes, os, sys
lib = ctypes.CDLL(sys.argv[1], mode=os.RTLD_NOW)
lib.syncq_version.restype = ctypes.c_char_p
got = lib.syncq_version().decode()
if got != sys.argv[2]:
    sys.exit(f"FAIL syncq_version() = {got!r}, the binary says {sys.argv[2]!r}")
print(f"ok   syncq_version() = {got}")
lib.syncq_error_class_name.restype = ctypes.c_char_p
lib.syncq_error_class_name.argtypes = [ctypes.c_int]
lib.syncq_error_class_parse.argtypes = [ctypes.c_char_p]
for name in ("network", "rate_limited", "worker_lost"):
    cls = lib.syncq_error_class_parse(name.encode())
    back = lib.syncq_error_class_name(cls).decode()
    if cls <= 0 or back != name:
        sys.exit(f"FAIL error class {name}: parse -> {cls}, name -> {back}")
print("ok   error classes round-trip")
if lib.syncq_error_class_parse(b"no_such_class") != -1:
    sys.exit("FAIL an unknown error class parsed")
lib.syncq_registry_default.restype = ctypes.c_void_p
lib.syncq_registry_count.argtypes = [ctypes.c_void_p]
lib.syncq_registry_count.restype = ctypes.c_size_t
n = lib.syncq_registry_count(lib.syncq_registry_default())
if n != 0:
    sys.exit(f"FAIL libsyncq's default registry has {n} tasks, want 0")
print("ok   the library's default registry is empty (no packs)")
PY
