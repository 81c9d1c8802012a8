#!/usr/bin/python3
# SPDX-License-Identifier: MIT
#
# bench/celery_bench.py: the Celery half of bench/compare (bench only: syncq
# never needs Python). Uses Debian's python3-celery and python3-redis.
#   celery_bench.py drain URL N TASK   -> {"tasks_per_s",
#           "redis_cpu_us_per_task", "worker_cpu_us_per_task"}
#       queue N tasks (noop | sleep1ms), start a prefork worker -c 2 (Redis
#       broker + result backend), time from its first result to the last;
#       over the same window the Redis CPU (INFO cpu, as bench_worker
#       reads it) and the worker's (main process and children, /proc) per
#       task, as bench/compare prints for syncq
#   celery_bench.py latency URL M       -> {"p50_ms", "p99_ms"}
#       enqueue-to-start of a task that returns time.time() at its start,
#       M samples one at a time on an idle worker
#   celery_bench.py rss URL             -> {"supervisor_kb", "children_kb"}
import json
import os
import signal
import subprocess
import sys
import time

from celery import Celery

C = 2


def app_for(url):
    app = Celery('bench', broker=url, backend=url)
    app.conf.update(task_serializer='json', result_serializer='json',
                    accept_content=['json'], worker_hijack_root_logger=False,
                    broker_connection_retry_on_startup=True)

    @app.task(name='bench.noop')
    def noop():
        return None

    @app.task(name='bench.sleep1ms')
    def sleep1ms():
        time.sleep(0.001)
        return None

    # the built-in no-op's name, for bench/celery_drain.py (Celery wire)
    @app.task(name='syncq.noop')
    def syncq_noop():
        return None

    @app.task(name='bench.stamp')
    def stamp():
        return time.time()

    return app


def start_worker(url):
    # The worker runs this same file as its app module.
    env = dict(os.environ, BENCH_URL=url)
    return subprocess.Popen(
        [sys.executable, '-m', 'celery', '-A', 'celery_bench:app', 'worker',
         '--pool', 'prefork', '--concurrency', str(C), '--loglevel',
         'WARNING', '--without-gossip', '--without-mingle',
         '--without-heartbeat'],
        cwd=os.path.dirname(os.path.abspath(__file__)), env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)


def stop_worker(p):
    try:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(timeout=30)
    except Exception:
        os.killpg(p.pid, signal.SIGKILL)


def results_done(r):
    return sum(1 for _ in r.scan_iter('celery-task-meta-*', count=10000))


def redis_cpu_s(r):
    i = r.info('cpu')
    return float(i['used_cpu_sys']) + float(i['used_cpu_user'])


def children(pid):
    """The living child processes of pid (every thread's list), [] when
    pid is gone."""
    kids = []
    try:
        for t in os.listdir('/proc/%d/task' % pid):
            with open('/proc/%d/task/%s/children' % (pid, t)) as f:
                kids += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return kids


def tree_cpu_s(pid):
    """CPU seconds of pid and its living descendants (/proc stat fields
    utime, stime, cutime, cstime)."""
    total, unseen = 0, [pid]
    while unseen:
        p = unseen.pop()
        try:
            with open('/proc/%d/stat' % p) as f:
                st = f.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in st[11:15])
        unseen += children(p)
    return total / os.sysconf('SC_CLK_TCK')


def drain_rate(r, n, limit_s=None, pid=None):
    """Results per second from the first result written to the n-th, and
    the Redis and worker (pid's tree) CPU per task over that window. With
    a pid the count is polled with DBSIZE (O(1): a SCAN of every result
    key each poll would weigh on the Redis CPU measured): only Celery's
    keys are in the database then, and those that are not results (the
    queue, kombu's binding and unacked keys) are a handful, so DBSIZE -
    base is exact to a few tasks; the end is confirmed by counting the
    result keys. Without a pid (bench/celery_drain.py: syncq's own keys
    share the database) every poll counts the result keys."""
    t0 = c0 = None
    n0 = done = 0
    base = r.dbsize()
    deadline = time.time() + limit_s if limit_s else None
    while deadline is None or time.time() < deadline:
        approx = max(0, r.dbsize() - base) if pid else results_done(r)
        if t0 is None and approx > 0:
            t0, n0 = time.time(), approx
            c0 = (redis_cpu_s(r), tree_cpu_s(pid) if pid else 0.0)
        if approx >= n - 8:
            done = results_done(r)
            if done >= n:
                break
        time.sleep(0.05)
    if t0 is None or done < n:
        raise SystemExit('drain did not finish: %d of %d results' % (done, n))
    t1 = time.time()
    c1 = (redis_cpu_s(r), tree_cpu_s(pid) if pid else 0.0)
    m = n - n0
    return (round(m / (t1 - t0)), round((c1[0] - c0[0]) * 1e6 / m, 1),
            round((c1[1] - c0[1]) * 1e6 / m, 1))


def drain(url, n, task):
    import redis
    r = redis.Redis.from_url(url)
    r.flushall()
    app = app_for(url)
    t = app.tasks['bench.' + task]
    for _ in range(n):
        t.apply_async()
    w = start_worker(url)
    rate, rcpu, wcpu = drain_rate(r, n, pid=w.pid)
    stop_worker(w)
    return {'tasks_per_s': rate, 'redis_cpu_us_per_task': rcpu,
            'worker_cpu_us_per_task': wcpu}


def latency(url, m):
    import redis
    redis.Redis.from_url(url).flushall()
    app = app_for(url)
    w = start_worker(url)
    t = app.tasks['bench.stamp']
    t.apply_async().get(timeout=60)  # worker up
    lat = []
    for _ in range(m):
        t0 = time.time()
        start = t.apply_async().get(timeout=30)
        lat.append((start - t0) * 1000.0)
        time.sleep(0.005)
    stop_worker(w)
    lat.sort()
    return {'p50_ms': round(lat[len(lat) // 2], 3),
            'p99_ms': round(lat[len(lat) * 99 // 100], 3)}


def rss_kb(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


def rss(url):
    app = app_for(url)
    w = start_worker(url)
    app.tasks['bench.noop'].apply_async().get(timeout=60)
    time.sleep(1)
    sup = w.pid
    # celery -m: the Popen pid is the main worker process
    out = {'supervisor_kb': rss_kb(sup),
           'children_kb': [rss_kb(k) for k in children(sup)]}
    stop_worker(w)
    return out


if os.environ.get('BENCH_URL'):
    app = app_for(os.environ['BENCH_URL'])

if __name__ == '__main__':
    mode, url = sys.argv[1], sys.argv[2]
    if mode == 'drain':
        print(json.dumps(drain(url, int(sys.argv[3]), sys.argv[4])))
    elif mode == 'latency':
        print(json.dumps(latency(url, int(sys.argv[3]))))
    else:
        print(json.dumps(rss(url)))
