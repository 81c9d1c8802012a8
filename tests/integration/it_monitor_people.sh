#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_monitor_people.sh: named per-person tokens (SYNCQ_MONITOR_TOKENS_FILE)
# over real HTTP: each person's bearer token acts as them with their role
# (read: look, write: act); every action and refusal is logged with the
# person's name; signing in gives a session cookie that carries the name
# (v2.<name>.<exp>.<mac>, signed with that person's token) and acts as
# them; a forged name or a removed person's session is refused; the
# shared tokens keep working beside them; a bad file stops `monitor
# serve` with a one-line error naming the file and line.
# TEST_TIMEOUT: 120
set -u
S=${SYNCQ_BIN:?}
T=${SYNCQ_TEST_DIR:?}
. "$(dirname "$0")/checks.sh"
. "$(dirname "$0")/monitor_lib.sh"
cd "$T" || exit 1
serve() { # TOKENS-FILE LOG: start monitor serve, set B and SPID
  rm -f "$T/port"
  SYNCQ_MONITOR_TOKENS_FILE=$1 SYNCQ_API_TOKEN=shared-write-token-1 \
    "$S" monitor serve --listen 127.0.0.1:0 --port-file "$T/port" --logfile "$T/$2" --no-alerts &
  SPID=$!
  pids+=("$SPID")
  for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
  B="http://127.0.0.1:$(cat "$T/port")"
}

cat > people.txt <<'TOK'
# name   role   token
alice    write  alice-0123456789abcdef
bob      read   bob-0123456789abcdef00

carol-ops write carol-0123456789abcdef
TOK
serve "$T/people.txt" serve.log
X='X-Syncq-Request: 1'
"$S" task create syncq.noop --queue parked > id1.txt
"$S" task create syncq.noop --queue parked > id2.txt
ID1=$(cat id1.txt); ID2=$(cat id2.txt)

check "no token: 401" 401 "$(code "$B/api/overview")"
check "no token, a page: sign-in" 303 "$(code "$B/tasks")"
check "bob reads" 200 "$(code -H 'Authorization: Bearer bob-0123456789abcdef00' "$B/api/overview")"
check "bob may not act" 403 "$(code -X POST -H 'Authorization: Bearer bob-0123456789abcdef00' "$B/api/tasks/$ID1/cancel")"
contains "bob's refusal logged with his name" 'event=monitor.action_refused who=bob method=POST path=/api/tasks/[0-9a-f-]+/cancel reason=read_only' serve.log
check "alice acts" 200 "$(code -X POST -H 'Authorization: Bearer alice-0123456789abcdef' "$B/api/tasks/$ID1/cancel")"
contains "alice's action logged with her name" "event=monitor.action who=alice method=POST path=/api/tasks/$ID1/cancel status=200" serve.log
check "a wrong token: 401" 401 "$(code -H 'Authorization: Bearer alice-0123456789abcdeX' "$B/api/overview")"
check "the shared write token still acts" 200 "$(code -X POST -H 'Authorization: Bearer shared-write-token-1' "$B/api/queues/parked/pause")"
contains "shared token logged by its name" 'event=monitor.action who=api-token method=POST path=/api/queues/parked/pause status=200' serve.log

# sign-in: the session carries the name
curl -s -D hc.txt -o /dev/null -d 'token=carol-0123456789abcdef&next=/queues' "$B/login"
contains "carol signed in" '^Location: /queues' hc.txt
contains "session cookie carries the name" '^Set-Cookie: syncq_session=v2\.carol-ops\.[0-9]+\.[0-9a-f]{64}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200' hc.txt
contains "sign-in logged with the name" 'event=monitor.signin who=carol-ops' serve.log
CS=$(cookie_of hc.txt)
check "carol's session acts" 200 "$(code -X POST -H "Cookie: $CS" -H "$X" "$B/api/tasks/$ID2/cancel")"
contains "carol's action logged with her name" "event=monitor.action who=carol-ops method=POST path=/api/tasks/$ID2/cancel status=200" serve.log
check "the page says who is signed in" 1 "$(curl -s -H "Cookie: $CS" "$B/queues" | grep -c '>carol-ops<')"
curl -s -D hb.txt -o /dev/null -d 'token=bob-0123456789abcdef00' "$B/login"
BS=$(cookie_of hb.txt)
check "bob's session reads" 200 "$(code -H "Cookie: $BS" "$B/api/overview")"
check "bob's session may not act" 403 "$(code -X POST -H "Cookie: $BS" -H "$X" "$B/api/queues/parked/resume")"
FORGED=${BS/v2.bob./v2.alice.}
check "a session with another's name is refused" 401 "$(code -H "Cookie: $FORGED" "$B/api/overview")"
curl -s -D hq.txt -o /dev/null "$B/queues?token=alice-0123456789abcdef"
contains "a ?token= visit opens a named session" '^Set-Cookie: syncq_session=v2\.alice\.' hq.txt

# bob removed from the file: his session ends at the restart
kill "$SPID"; wait "$SPID" 2>/dev/null
grep -v '^bob' people.txt > people2.txt
serve "$T/people2.txt" serve2.log
check "a removed person's session is refused" 401 "$(code -H "Cookie: $BS" "$B/api/overview")"
check "the others' sessions survive the restart" 200 "$(code -H "Cookie: $CS" "$B/api/overview")"

# bad files: a usage error (exit 2) whose message is one line naming the
# file and the line
bad() { # NAME CONTENT EXPECTED-REGEX
  printf '%b' "$2" > "bad-$1.txt"
  SYNCQ_MONITOR_TOKENS_FILE="$T/bad-$1.txt" "$S" monitor serve --listen 127.0.0.1:0 --no-alerts > "bad-$1.out" 2>&1
  check "bad file ($1): exit" 2 "$?"
  head -1 "bad-$1.out" > "bad-$1.line"
  contains "bad file ($1): the first line says why" "^syncq: monitor serve: .*$3" "bad-$1.line"
}
bad dupname 'a write aaaaaaaaaaaaaaaa1\na read bbbbbbbbbbbbbbbb2\n' 'bad-dupname.txt:2: name a given twice'
bad duptoken 'a write aaaaaaaaaaaaaaaa1\nb read aaaaaaaaaaaaaaaa1\n' 'bad-duptoken.txt:2: the token of b is the token of a too'
bad role 'a admin aaaaaaaaaaaaaaaa1\n' "bad-role.txt:1: role 'admin': read or write"
bad short 'a read short\n' 'bad-short.txt:1: the token of a has 5 characters: 16..256'
bad name 'a.b read aaaaaaaaaaaaaaaa1\n' "bad-name.txt:1: name 'a.b'"
bad fields 'a read\n' 'bad-fields.txt:1: expected NAME ROLE TOKEN'
bad empty '# nobody\n' 'no token in it'
SYNCQ_MONITOR_TOKENS_FILE="$T/nothere.txt" "$S" monitor serve --listen 127.0.0.1:0 --no-alerts > missing.out 2>&1
check "missing file: exit" 1 "$?"
contains "missing file: said" 'SYNCQ_MONITOR_TOKENS_FILE .*nothere.txt: No such file' missing.out
finish it_monitor_people
