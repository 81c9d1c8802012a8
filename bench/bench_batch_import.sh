#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench_batch_import.sh [SIZE_MB...]: memory and speed of
# batch_processing.batch_import on generated catalogs (JSONL and CSV) of
# the given sizes (default: 100 1024). Shows that memory stays constant
# whatever the file size: the peak RSS of `syncq task run` is sampled
# from /proc every 0.2 s during the import, and the median of RUNS runs
# is reported, with wall time and CPU time (user + system) of the import:
# on a shared machine the CPU time is the comparable figure.
#
#   BUILD=build-data RUNS=3 bench/bench_batch_import.sh 100 1024
#
# Needs python3. Writes under $TMPDIR (a 1 GiB file needs ~2.5 GiB free:
# the file and the SQLite catalog). Nothing else is touched.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$here/build-data}
BIN=${SYNCQ_BIN:-$BUILD/syncq}
RUNS=${RUNS:-3}
GEN="$here/tests/integration/it_batchproc_gen.py"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100 1024)
[ -x "$BIN" ] || { echo "bench: $BIN not built" >&2; exit 1; }
W=$(mktemp -d "${TMPDIR:-/tmp}/syncq-bench-import.XXXXXX")
trap 'rm -rf "$W"' EXIT

# run_one FILE: prints "peak_rss_kb elapsed_s cpu_s rows_ok products"
run_one() {
  local file=$1 db="$W/catalog.db"
  rm -f "$db" "$db-wal" "$db-shm"
  python3 - "$BIN" "$file" "$db" <<'EOF'
import json, os, subprocess, sys, time
bin_, path, db = sys.argv[1:4]
env = dict(os.environ, SYNCQ_DATABASE_URL=db)
kw = json.dumps({"path": path, "job_id": "bench"})
t0 = time.monotonic()
p = subprocess.Popen([bin_, "task", "run", "batch_processing.batch_import",
                      "--no-broker", "-k", kw], env=env,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
peak = 0
while p.poll() is None:
    try:
        with open("/proc/%d/status" % p.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    peak = max(peak, int(line.split()[1]))
    except OSError:
        pass
    time.sleep(0.2)
out, err = p.communicate()
elapsed = time.monotonic() - t0
if p.returncode != 0:
    sys.stderr.write(err.decode())
    sys.exit(1)
import resource
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
r = json.loads(out)
print(peak, "%.1f" % elapsed, "%.1f" % (ru.ru_utime + ru.ru_stime),
      r["rows_ok"], r["products"])
EOF
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '%-6s %8s %10s %10s %12s %10s %8s %12s\n' format size_MB products \
  rows peak_RSS_MB elapsed_s cpu_s rows/cpu_s
for size in "${sizes[@]}"; do
  for fmt in jsonl csv; do
    file="$W/catalog-$size.$fmt"
    python3 "$GEN" "$fmt" "$file" --bytes $((size * 1024 * 1024)) >/dev/null
    rss=(); secs=(); cpus=(); rows=0; products=0
    for _ in $(seq "$RUNS"); do
      read -r r s c rows products < <(run_one "$file")
      rss+=("$r"); secs+=("$s"); cpus+=("$c")
    done
    r=$(printf '%s\n' "${rss[@]}" | median)
    s=$(printf '%s\n' "${secs[@]}" | median)
    c=$(printf '%s\n' "${cpus[@]}" | median)
    awk -v f="$fmt" -v z="$size" -v p="$products" -v n="$rows" -v r="$r" \
        -v s="$s" -v c="$c" 'BEGIN {
          printf "%-6s %8d %10d %10d %12.1f %10.1f %8.1f %12.0f\n",
                 f, z, p, n, r / 1024, s, c, n / c }'
    rm -f "$file"
  done
done
