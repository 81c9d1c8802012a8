#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_package.sh: the Debian packages, built from the tree and installed
# into a scratch root (dpkg -x), work as a user would use them:
#   - cpack builds syncq, libsyncq<major>, libsyncq-dev, python3-syncq
#     (which imports over the packaged library); their dependencies
#     were computed (shlibdeps, incl. the dlopen()ed libraries), libsyncq
#     ships a shlibs file, libsyncq-dev depends on the exact library;
#   - `syncq --version`; SONAME; man pages (rendered: an option with its
#     argument, an example, no hidden command), bash/zsh completion
#     (syntax; bash completes a subcommand and an option); the units
#     run as user syncq and start the installed binary; the sysusers and
#     tmpfiles files create the user and /var/lib/syncq (applied to the
#     scratch root with systemd-sysusers/-tmpfiles --root, as postinst
#     does on a real system);
#   - the README's "From C" example, taken out of README.md here, compiles
#     with `cc $(pkg-config --cflags --libs syncq)` against the scratch
#     root and runs: its crawler task, served by the packaged worker
#     against this test's private Redis and the fixture 1688 server, ends
#     SUCCESS;
#   - examples/custom_task as installed compiles the same way and the
#     packaged worker loads it with --plugin and runs custom.my_task;
#   - Python's ctypes loads libsyncq.so.<major> and calls syncq_version.
# A sanitizer build is not packaged (its objects need the ASan runtime);
# then the plain build of the same tree named by SYNCQ_PLAIN_BUILD_DIR
# (scripts/test's first pass) is packaged, or one is made in the test dir.
# Skipped (exit 77) with the reason only where dpkg tools do not exist.
# TEST_TIMEOUT: 900
set -u
src=${SYNCQ_SOURCE_DIR:?}
B=${SYNCQ_BUILD_DIR:?}
D=${SYNCQ_TEST_DIR:?}
. "$src/tests/integration/checks.sh"
for t in cpack dpkg-deb dpkg-shlibdeps pkg-config cc python3 readelf; do
  command -v "$t" >/dev/null ||
    { echo "SKIP: $t not found: Debian packages cannot be built here"; exit 77; }
done

# 1. the build to package
PB=$B
plain_of_this_tree() { # DIR: a configured plain build of $src
  grep -q '^SYNCQ_SANITIZE:STRING=$' "$1/CMakeCache.txt" 2>/dev/null &&
    grep -qx "CMAKE_HOME_DIRECTORY:INTERNAL=$src" "$1/CMakeCache.txt" &&
    [ -x "$1/syncq" ]
}
if ! plain_of_this_tree "$B" && [ -n "${SYNCQ_PLAIN_BUILD_DIR:-}" ] &&
   plain_of_this_tree "$SYNCQ_PLAIN_BUILD_DIR"; then
  PB=$SYNCQ_PLAIN_BUILD_DIR
  echo "sanitizer build: packaging the plain build $PB"
elif ! grep -q '^SYNCQ_SANITIZE:STRING=$' "$B/CMakeCache.txt"; then
  PB=$D/pkgbuild
  echo "sanitizer build: packaging a plain build made in $PB"
  cmake -S "$src" -B "$PB" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSYNCQ_BUILD_TESTS=OFF >"$D/cmake.log" 2>&1 &&
    cmake --build "$PB" -j2 >>"$D/cmake.log" 2>&1 ||
    { echo "FAIL plain build"; tail -30 "$D/cmake.log"; exit 1; }
fi

# 2. `cmake --install --prefix P` (the README's install command)
P=$D/prefix
cmake --install "$PB" --prefix "$P" >"$D/install.log" 2>&1 ||
  { echo "FAIL cmake --install"; tail -20 "$D/install.log"; exit 1; }
MA=$(cd "$P/lib" && ls -d *-linux-gnu* | head -1)
for f in bin/syncq "lib/$MA/libsyncq.so" "lib/$MA/pkgconfig/syncq.pc" \
         include/syncq/syncq.h include/syncq/version.h share/man/man1/syncq.1 \
         lib/systemd/system/syncq-worker.service etc/syncq/syncq.env \
         etc/logrotate.d/syncq share/doc/syncq/examples/alerts.default.rules; do
  check "--prefix P: $f" 1 "$([ -e "$P/$f" ] && echo 1)"
done
contains "--prefix P: the unit starts P/bin/syncq" "^ExecStart=$P/bin/syncq worker" \
  "$P/lib/systemd/system/syncq-worker.service"
check "--prefix P: pkg-config --libs" "-L$P/lib/$MA -lsyncq -ljansson" \
  "$(PKG_CONFIG_PATH=$P/lib/$MA/pkgconfig pkg-config --libs syncq | sed 's|/lib/[^ ]*/pkgconfig/../../..||g; s/ *$//')"
check "--prefix P: syncq runs with no LD_LIBRARY_PATH" 1 \
  "$(env -u LD_LIBRARY_PATH "$P/bin/syncq" --version | grep -c '^syncq ')"
# The README's C example built against P as the README says for a prefix
# the dynamic linker does not search: -rpath from pkg-config's libdir.
# Without it, the loader cannot find libsyncq.so.0 (the reason to say so).
awk '/^### From C/ { f = 1 } f && /^```c$/ { g = 1; next } g && /^```$/ { exit } g' \
  "$src/README.md" >"$D/enqueue_p.c"
# (for a program, and for a plugin the worker loads)
check "README names -Wl,-rpath for a prefix" 2 \
  "$(grep -cF -- '-Wl,-rpath,$(pkg-config --variable=libdir syncq)' "$src/README.md")"
(
  export PKG_CONFIG_PATH=$P/lib/$MA/pkgconfig
  cd "$D" || exit 1
  # shellcheck disable=SC2046
  cc enqueue_p.c $(pkg-config --cflags --libs syncq) -o enqueue_norpath &&
    cc enqueue_p.c $(pkg-config --cflags --libs syncq) \
      -Wl,-rpath,"$(pkg-config --variable=libdir syncq)" -o enqueue_rpath
) >"$D/cc_p.log" 2>&1 || { echo "FAIL: README example against P:"; cat "$D/cc_p.log"; fails=$((fails + 1)); }
check "--prefix P: without -rpath libsyncq.so.0 is not found" 1 \
  "$(env -u LD_LIBRARY_PATH ldd "$D/enqueue_norpath" 2>&1 | grep -c 'libsyncq.so.0 => not found')"
check "--prefix P: with -rpath it is P's" 1 \
  "$(env -u LD_LIBRARY_PATH ldd "$D/enqueue_rpath" 2>&1 | grep -c "libsyncq.so.0 => $P/lib/$MA/")"
# it starts: the loader resolves every symbol (no Redis needed to tell)
env -u LD_LIBRARY_PATH SYNCQ_BROKER_URL=unix:///nonexistent/redis.sock "$D/enqueue_rpath" >"$D/run_p.out" 2>&1
check "--prefix P: the -rpath build runs (exit 1: no Redis at that socket)" 1 "$?"
contains "--prefix P: it got as far as Redis" "unreachable" "$D/run_p.out"
# Python under P loads P's library by itself (no SYNCQ_LIBRARY, no
# LD_LIBRARY_PATH): the installed _layout.py says where it lies
check "--prefix P: python imports over P's library" "$P/lib/$MA/libsyncq.so.0" \
  "$(cd / && env -u SYNCQ_LIBRARY -u LD_LIBRARY_PATH PYTHONPATH=$P/lib/python3/dist-packages \
     /usr/bin/python3 -c 'import syncq._native as n; print(n.lib()._name)' 2>&1)"

# 3. the packages
cpack -G DEB --config "$PB/CPackConfig.cmake" -B "$D/pkg" >"$D/cpack.log" 2>&1 ||
  { echo "FAIL cpack"; tail -30 "$D/cpack.log"; exit 1; }
ver=$(sed -n 's/.*SYNCQ_VERSION_STRING "\(.*\)"/\1/p' "$PB/gen/syncq/version.h")
lib=$(cd "$D/pkg" && ls libsyncq[0-9]*_"$ver"_*.deb 2>/dev/null)
major=${lib#libsyncq}; major=${major%%_*}
check "library package name has the SONAME major" 1 "$(echo "$major" | grep -c '^[0-9][0-9]*$')"
for p in syncq libsyncq"$major" libsyncq-dev python3-syncq; do
  check "package $p built" 1 "$(ls "$D/pkg/${p}_${ver}_"*.deb 2>/dev/null | wc -l)"
done
deb() { echo "$D/pkg/$1_${ver}_"*.deb; }
check "python3-syncq depends on the library" 1 \
  "$(dpkg-deb -f $(deb python3-syncq) Depends | grep -c "libsyncq$major")"
dep=$(dpkg-deb -f $(deb syncq) Depends)
for l in libhiredis libjansson libsqlite3 libcurl libvips libpq libmicrohttpd libssl; do
  check "syncq depends on $l (computed)" 1 "$(echo "$dep" | grep -c "$l")"
done
check "libsyncq-dev depends on the exact library" 1 \
  "$(dpkg-deb -f $(deb libsyncq-dev) Depends | grep -c "libsyncq$major (= $ver)")"
mkdir -p "$D/ctl"
dpkg-deb -e $(deb libsyncq"$major") "$D/ctl/lib"
check "shlibs file" "libsyncq $major libsyncq$major (>= $ver)" "$(cat "$D/ctl/lib/shlibs" 2>/dev/null)"
dpkg-deb -e $(deb syncq) "$D/ctl/bin"
contains "postinst applies sysusers" 'systemd-sysusers syncq.conf' "$D/ctl/bin/postinst"
contains "postinst applies tmpfiles" 'systemd-tmpfiles --create syncq.conf' "$D/ctl/bin/postinst"
contains "conffile syncq.env" '^/etc/syncq/syncq.env$' "$D/ctl/bin/conffiles"

# 4. a scratch root
R=$D/root
for p in syncq libsyncq"$major" libsyncq-dev python3-syncq; do dpkg -x $(deb "$p") "$R"; done
MA=$(cd "$R/usr/lib" && ls -d *-linux-gnu* | head -1)
L=$R/usr/lib/$MA
check "python3-syncq imports over the packaged library" "$ver $L/libsyncq.so.$major" \
  "$(cd / && env -u SYNCQ_LIBRARY -u LD_LIBRARY_PATH PYTHONPATH=$R/usr/lib/python3/dist-packages \
     /usr/bin/python3 -c 'import syncq, syncq._native as n; print(syncq.version(), n.lib()._name)')"
check "syncq --version" "syncq $ver" "$("$R/usr/bin/syncq" --version)"
check "SONAME" "libsyncq.so.$major" \
  "$(readelf -d "$L/libsyncq.so.$major" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')"
for f in usr/include/syncq/syncq.h usr/include/syncq/version.h \
         usr/lib/"$MA"/pkgconfig/syncq.pc usr/lib/"$MA"/libsyncq.so \
         usr/share/man/man1/syncq.1 usr/share/man/man1/syncq-task.1 \
         usr/share/bash-completion/completions/syncq \
         usr/share/zsh/vendor-completions/_syncq etc/logrotate.d/syncq \
         etc/syncq/syncq.env etc/syncq/alerts.rules \
         usr/share/doc/syncq/examples/.env.example; do
  check "installed $f" 1 "$([ -s "$R/$f" ] && echo 1)"
done
bash -n "$R/usr/share/bash-completion/completions/syncq" && pass=$((pass + 1)) ||
  { echo "FAIL bash completion syntax"; fails=$((fails + 1)); }
if command -v zsh >/dev/null; then
  zsh -n "$R/usr/share/zsh/vendor-completions/_syncq" && pass=$((pass + 1)) ||
    { echo "FAIL zsh completion syntax"; fails=$((fails + 1)); }
fi
# The pages and completion carry the command table (gen-man.py reads
# `syncq help --dump-table`): an option with its argument, an example,
# a subcommand and its options; the hidden `help` command is left out.
if command -v man >/dev/null; then
  sched=$(MANWIDTH=80 man -l "$R/usr/share/man/man1/syncq-schedule.1" 2>&1)
  check "syncq-schedule(1) documents --catch-up-cap N" 1 \
    "$(grep -cx ' *--catch-up-cap N' <<<"$sched")"
  check "syncq-schedule(1) has the one-shot example" 1 \
    "$(grep -c "syncq schedule add once1 .*tomorrow 02:00" <<<"$sched")"
  check "syncq(1) leaves out the hidden help command" 0 \
    "$(MANWIDTH=80 man -l "$R/usr/share/man/man1/syncq.1" 2>&1 |
       grep -c '^ *syncq help')"
else
  echo "note: man pages not rendered: man not found"
fi
check "bash completes schedule add --ca" "--catch-up-cap" "$(bash -c '
  . "$1"; COMP_WORDS=(syncq schedule add --ca); COMP_CWORD=3; _syncq
  echo "${COMPREPLY[*]}"' _ "$R/usr/share/bash-completion/completions/syncq")"
check "bash completes recovery d" "dead" "$(bash -c '
  . "$1"; COMP_WORDS=(syncq recovery d); COMP_CWORD=2; _syncq
  echo "${COMPREPLY[*]}"' _ "$R/usr/share/bash-completion/completions/syncq")"
for u in "$R"/usr/lib/systemd/system/syncq-*.service; do
  contains "$(basename "$u") runs as syncq" '^User=syncq$' "$u"
  contains "$(basename "$u") starts /usr/bin/syncq" '^ExecStart=/usr/bin/syncq ' "$u"
done
systemd-sysusers --root="$R" "$R/usr/lib/sysusers.d/syncq.conf" >"$D/sysusers.log" 2>&1
check "sysusers: user syncq, home /var/lib/syncq" "/var/lib/syncq" \
  "$(awk -F: '$1 == "syncq" { print $6 }' "$R/etc/passwd" 2>/dev/null)"
if [ "$(id -u)" = 0 ]; then
  systemd-tmpfiles --root="$R" --create "$R/usr/lib/tmpfiles.d/syncq.conf" >"$D/tmpfiles.log" 2>&1
  check "tmpfiles: /var/lib/syncq owned by syncq" \
    "$(awk -F: '$1 == "syncq" { print $3 }' "$R/etc/passwd")" \
    "$(stat -c %u "$R/var/lib/syncq" 2>/dev/null)"
else
  echo "note: /var/lib/syncq ownership not checked: chown needs root"
fi

# 5. the README's C example, built against the scratch root
export PKG_CONFIG_PATH=$L/pkgconfig
awk '/^### From C/ { f = 1 } f && /^```c$/ { g = 1; next } g && /^```$/ { exit } g' \
  "$src/README.md" >"$D/enqueue.c"
check "README C example found" 1 "$(grep -c 'int$' "$D/enqueue.c")"
# shellcheck disable=SC2046
cc "$D/enqueue.c" $(pkg-config --cflags --libs syncq) -o "$D/enqueue" 2>"$D/cc.log" ||
  { echo "FAIL README example does not build:"; cat "$D/cc.log"; fails=$((fails + 1)); }

fixture() { # the fixture 1688 server of this build
  if "$SYNCQ_BIN" fixture-server --help >/dev/null 2>&1; then
    "$SYNCQ_BIN" fixture-server "$@"
  else
    echo "no fixture server in $SYNCQ_BIN" >&2; return 1
  fi
}
fixture --listen 127.0.0.1:0 --products 60 --categories 1 \
  --app-key 7000001 --app-secret pkg-secret --ready-file "$D/fx.url" >"$D/fx.out" 2>&1 &
for _ in $(seq 200); do [ -s "$D/fx.url" ] && break; sleep 0.05; done
U=$(cat "$D/fx.url" 2>/dev/null)
export SYNCQ_1688_BASE_URL="$U/openapi" SYNCQ_1688_PAGE_URL="$U" \
  SYNCQ_FETCH_ALLOW="${U#http://}" SYNCQ_IMAGE_RATE=200/s \
  SYNCQ_1688_SHOP_API_URL="$U/1688/shop/shop_info" \
  SYNCQ_1688_APP_KEY=7000001 SYNCQ_1688_APP_SECRET=pkg-secret \
  SYNCQ_DATABASE_URL="$D/catalog.db" SYNCQ_MEDIA_DIR="$D/media"
"$R/usr/bin/syncq" worker -Q crawler -c 1 -n pkg-crawler \
  --logfile "$D/worker.log" >"$D/worker.err" 2>&1 &
wpid=$!
if [ -x "$D/enqueue" ]; then
  out=$(LD_LIBRARY_PATH=$L timeout 90 "$D/enqueue" 2>"$D/enqueue.err")
  check "README example: task ends SUCCESS" SUCCESS "${out##* }"
  [ "${out##* }" = SUCCESS ] || { cat "$D/enqueue.err"; tail -5 "$D/worker.log"; }
fi
kill "$wpid" 2>/dev/null; wait "$wpid" 2>/dev/null

# 6. the plugin example, built the same way, loaded by the packaged worker
ex=$R/usr/share/doc/syncq/examples/custom_task/custom_task.c
# shellcheck disable=SC2046
cc -shared -fPIC "$ex" $(pkg-config --cflags --libs syncq) -o "$D/custom_task.so" 2>"$D/ccp.log" ||
  { echo "FAIL plugin does not build:"; cat "$D/ccp.log"; fails=$((fails + 1)); }
LD_LIBRARY_PATH=$L "$R/usr/bin/syncq" worker --plugin "$D/custom_task.so" \
  -Q default -c 1 -n pkg-plugin --logfile "$D/plugin.log" >"$D/plugin.err" 2>&1 &
wpid=$!
id=$("$R/usr/bin/syncq" task create custom.my_task -k '{"items":[1,2,3]}' 2>"$D/create.err")
"$R/usr/bin/syncq" task wait "$id" --timeout 60 --json >"$D/plugin.json" 2>&1
check "plugin task ends SUCCESS" SUCCESS "$(json 'd["state"]' <"$D/plugin.json" 2>/dev/null)"
check "plugin task result" 6 "$(json 'int(d["result"]["sum"])' <"$D/plugin.json" 2>/dev/null)"
kill "$wpid" 2>/dev/null; wait "$wpid" 2>/dev/null

# 7. Python ctypes
got=$(LD_LIBRARY_PATH=$L python3 -c '
import ctypes, sys
lib = ctypes.CDLL("libsyncq.so." + sys.argv[1])
lib.syncq_version.restype = ctypes.c_char_p
print(lib.syncq_version().decode())' "$major" 2>&1)
check "ctypes loads libsyncq.so.$major" "$ver" "$got"
finish it_package
