#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_beat_sentry.sh: with SYNCQ_SENTRY_DSN set and no `monitor serve`
# running, the leader beat forwards a task failure to Sentry: a local HTTP
# receiver gets one envelope (POST /api/42/envelope/, Sentry auth header
# with the DSN's key) naming the task, its class and its message; a task
# that succeeds sends nothing.
# TEST_TIMEOUT: 90
set -u
S=${SYNCQ_BIN:?}
T=${SYNCQ_TEST_DIR:?}
. "$(dirname "$0")/checks.sh"
cd "$T" || exit 1

python3 - "$T/rx.port" "$T/rx" <<'PY' &
import http.server, os, sys
port_file, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
n = [0]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        n[0] += 1
        with open(os.path.join(out, "%d.req" % n[0]), "wb") as f:
            f.write(("%s\n%s\n" % (self.path, self.headers.get("X-Sentry-Auth", ""))).encode())
            f.write(body)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
open(port_file, "w").write(str(srv.server_address[1]))
srv.serve_forever()
PY
RX=$!
echo "$RX" >> "$T/pids"
for _ in $(seq 100); do [ -s "$T/rx.port" ] && break; sleep 0.05; done
export SYNCQ_SENTRY_DSN="http://pubkey42@127.0.0.1:$(cat "$T/rx.port")/42"

"$S" beat --logfile "$T/beat.log" &
B=$!
echo "$B" >> "$T/pids"
"$S" worker -Q sq -c 1 --logfile "$T/worker.log" &
W=$!
echo "$W" >> "$T/pids"
for _ in $(seq 100); do grep -q "leader=true" "$T/beat.log" 2>/dev/null && break; sleep 0.1; done
OK=$("$S" task create syncq.noop --queue sq)
"$S" task wait "$OK" --timeout 20 > /dev/null
ID=$("$S" task create syncq.fail --queue sq -k '{"class": "validation", "message": "bad offer 42"}')
"$S" task wait "$ID" --timeout 20 > /dev/null
check "task failed" FAILURE "$("$S" task info "$ID" --json | json 'd["state"]')"
for _ in $(seq 100); do ls "$T/rx"/*.req > /dev/null 2>&1 && break; sleep 0.1; done
sleep 1.5 # a second forward round must not send it again
check "one envelope" 1 "$(ls "$T/rx" | wc -l)"
R1="$T/rx/1.req"
check "envelope endpoint" "/api/42/envelope/" "$(head -1 "$R1")"
contains "auth header with the DSN key" "^Sentry sentry_version=7.*sentry_key=pubkey42" "$R1"
contains "names the task" "$ID" "$R1"
contains "carries the class" "validation" "$R1"
contains "carries the message" "bad offer 42" "$R1"
check "the succeeded task is not reported" 0 "$(grep -c "$OK" "$R1")"

kill -TERM "$W" "$B"; wait "$W" "$B" 2>/dev/null
kill "$RX"; wait "$RX" 2>/dev/null
finish it_beat_sentry
