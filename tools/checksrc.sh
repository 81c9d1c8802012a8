#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tools/checksrc.sh: the banned-call check of STYLE.md §10 (curl checksrc):
# sprintf, vsprintf, strcpy, strcat, atoi, strtok, gets and system anywhere
# in src/, packs/ and tools/fixture/; exit()/abort() there outside main()
# files (the CLI entry and the fixture/worker daemons' mains live in
# src/cli/). Prints offending
# lines as file:line: text and exits 1 if there are any.
set -u
cd "$(dirname "$0")/.."
rc=0
banned='(^|[^_a-zA-Z0-9])(sprintf|vsprintf|strcpy|strcat|atoi|strtok|gets|system)[[:space:]]*\('
if grep -rnE "$banned" src packs tools/fixture --include='*.c' --include='*.h' | grep -vE '^\S+:[0-9]+:\s*(/\*|\*)'; then
  echo "checksrc: banned call above (use snprintf, memcpy, strtol, strtok_r ...)" >&2
  rc=1
fi
# exit/abort only in the CLI (process entry points), never in the library.
if grep -rnE '(^|[^_a-zA-Z0-9.>])(exit|abort)[[:space:]]*\(' src packs tools/fixture --include='*.c' \
    | grep -v '^src/cli/' | grep -vE '_exit\(|^\S+:[0-9]+:\s*(/\*|\*)'; then
  echo "checksrc: exit()/abort() in library code above (return an error; children use _exit)" >&2
  rc=1
fi
# hiredis I/O only in the connection layer (src/broker/broker_io.h): a
# direct call would write plain text to a TLS socket and skip READONLY
# and WAIT handling. bench/ and tests/ may talk to Redis on contexts of
# their own (a syncq_client's goes through sq_conn_* there too).
hio='(^|[^_a-zA-Z0-9])(redisCommand|redisCommandArgv|redisvCommand|redisAppendCommand|redisAppendCommandArgv|redisvAppendCommand|redisGetReply|redisGetReplyFromReader|redisBufferRead|redisBufferWrite)[[:space:]]*\('
if grep -rnE "$hio" src packs common --include='*.c' | grep -vE '^src/broker/(broker_io|broker_tls|broker_sentinel|broker_cluster[a-z_]*)\.c:' \
    | grep -vE '^\S+:[0-9]+:\s*(/\*|\*)'; then
  echo "checksrc: hiredis I/O above outside the connection layer (use sq_conn_* of broker_io.h)" >&2
  rc=1
fi
exit $rc
