#!/usr/bin/python3
# SPDX-License-Identifier: MIT
#
# bench/celery_drain.py URL N SYNCQ_BIN: Celery wire drain (issue 17).
# N messages published with Celery's app.send_task('syncq.noop') onto the
# queue `celery`, drained once by `syncq worker --celery -c 2` and once by
# a Python `celery worker -c 2` (prefork), on the same Redis and queue.
# Time from the first result written to the last (Celery's result keys),
# as bench/celery_bench.py's drain. Prints one JSON line:
# {"n", "syncq_per_s", "celery_per_s"}.
import json
import os
import signal
import subprocess
import sys
import time

import celery_bench as cb


def publish(url, n):
    import redis
    redis.Redis.from_url(url).flushall()
    app = cb.app_for(url)
    for _ in range(n):
        app.send_task('syncq.noop')


def timed_drain(url, n, proc):
    import redis
    try:
        return cb.drain_rate(redis.Redis.from_url(url), n, limit_s=600)[0]
    finally:
        cb.stop_worker(proc)


def syncq_worker(url, syncq_bin):
    env = dict(os.environ, SYNCQ_BROKER_URL=url, SYNCQ_LOG_LEVEL='warning')
    return subprocess.Popen([syncq_bin, 'worker', '--celery', '-Q', 'celery',
                             '-c', str(cb.C)], env=env,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                            start_new_session=True)


def main():
    url, n, syncq_bin = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    publish(url, n)
    s = timed_drain(url, n, syncq_worker(url, syncq_bin))
    publish(url, n)
    c = timed_drain(url, n, cb.start_worker(url))
    print(json.dumps({'n': n, 'syncq_per_s': s, 'celery_per_s': c}))


if __name__ == '__main__':
    signal.signal(signal.SIGINT, signal.default_int_handler)
    main()
