#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_library_ctypes.sh: a program outside the tree can use libsyncq.so:
# Python's ctypes loads it (RTLD_NOW, so any undefined symbol fails the
# load) and calls the public API, whose answers are checked; it then loads
# the 1688 packs as a plugin (build/syncq_packs.so), as any host would.
set -u
lib=${SYNCQ_BUILD_DIR:?}/libsyncq.so
want=$("$SYNCQ_BIN" --version | awk '{print $2}')
plugin=${SYNCQ_BUILD_DIR}/syncq_packs.so
# A sanitizer build's library needs the ASan runtime first in the process
# (python3 itself is not instrumented): preload it; Python's own
# interpreter-lifetime allocations are not this test's leaks.
asan=$(ldd "$lib" | awk '/libasan/ {print $3}')
if [ -n "$asan" ]; then
  export LD_PRELOAD=$asan ASAN_OPTIONS=detect_leaks=0
fi
python3 - "$lib" "$want" "$plugin" <<'PY'
import ctypes, os, sys
lib = ctypes.CDLL(sys.argv[1], mode=os.RTLD_NOW | os.RTLD_GLOBAL)
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

class Err(ctypes.Structure):
    _fields_ = [("code", ctypes.c_int), ("sys_errno", ctypes.c_int),
                ("msg", ctypes.c_char * 256)]
lib.syncq_registry_load_plugin.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                           ctypes.POINTER(Err)]
lib.syncq_registry_at.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
lib.syncq_registry_at.restype = ctypes.POINTER(ctypes.c_char_p)  # .name first
reg = lib.syncq_registry_default()
err = Err()
rc = lib.syncq_registry_load_plugin(reg, sys.argv[3].encode(), ctypes.byref(err))
if rc != 0:
    sys.exit(f"FAIL loading {sys.argv[3]}: {rc} {err.msg.decode()}")
names = [lib.syncq_registry_at(reg, i)[0].decode()
         for i in range(lib.syncq_registry_count(reg))]
packs = sorted({n.split(".")[0] for n in names})
want_packs = ["batch_processing", "crawler", "data_sync", "image_processing", "syncq"]
if packs != want_packs or "crawler.fetch_products" not in names:
    sys.exit(f"FAIL the packs plugin registered {names}")
print(f"ok   syncq_packs.so registered {len(names)} tasks of {', '.join(packs)}")
rc = lib.syncq_registry_load_plugin(reg, sys.argv[3].encode(), ctypes.byref(err))
if rc != -12 or b"already registered" not in err.msg:  # SYNCQ_EEXIST
    sys.exit(f"FAIL loading the packs twice: {rc} {err.msg.decode()}")
print("ok   loading them twice is refused: " + err.msg.decode())
PY
