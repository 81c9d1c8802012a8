#!/usr/bin/python3
# SPDX-License-Identifier: MIT
#
# bench/api_bench.py: producer throughput of the task API, the Python
# client and Celery, from the same Python (Debian's python3). Driven by
# bench/api.sh, which starts Redis and `syncq monitor serve`.
#   api_bench.py http_single BASE N       POST /api/tasks, one task per
#                                         request, one keep-alive connection
#   api_bench.py http_bulk BASE N PER     POST /api/tasks/bulk, PER a request
#   api_bench.py py_single N              QueueManager.create_task
#   api_bench.py py_bulk N PER            QueueManager.create_tasks
#   api_bench.py celery URL N             Celery apply_async (send_task)
# Prints {"tasks_per_s": ...}. Python env: SYNCQ_BROKER_URL, SYNCQ_LIBRARY.
import http.client
import json
import os
import sys
import time
from urllib.parse import urlparse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "python"))
TASK = {"name": "syncq.noop", "queue": "bench", "kwargs": {"n": 1}}


def post(conn, path, body):
    conn.request("POST", path, body=json.dumps(body),
                 headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    if r.status != 201:
        sys.exit(f"{path}: {r.status} {data[:200]!r}")
    return data


def http_single(base, n):
    u = urlparse(base)
    conn = http.client.HTTPConnection(u.hostname, u.port)
    t0 = time.perf_counter()
    for _ in range(n):
        post(conn, "/api/tasks", TASK)
    return n / (time.perf_counter() - t0)


def http_bulk(base, n, per):
    u = urlparse(base)
    conn = http.client.HTTPConnection(u.hostname, u.port)
    body = {"tasks": [TASK] * per}
    t0 = time.perf_counter()
    for _ in range(n // per):
        post(conn, "/api/tasks/bulk", body)
    return (n // per) * per / (time.perf_counter() - t0)


def py_single(n):
    import syncq
    qm = syncq.QueueManager()
    t0 = time.perf_counter()
    for _ in range(n):
        qm.create_task("syncq.noop", kwargs={"n": 1}, queue="bench")
    return n / (time.perf_counter() - t0)


def py_bulk(n, per):
    import syncq
    qm = syncq.QueueManager()
    items = [{"task_name": "syncq.noop", "kwargs": {"n": 1},
              "queue": "bench"}] * per
    t0 = time.perf_counter()
    for _ in range(n // per):
        qm.create_tasks(items)
    return (n // per) * per / (time.perf_counter() - t0)


def celery(url, n):
    from celery import Celery
    app = Celery("bench", broker=url, backend=url)
    app.conf.update(task_serializer="json", accept_content=["json"])
    app.send_task("src.queue.tasks.crawler.noop", kwargs={"n": 1},
                  queue="bench")  # connect before timing
    t0 = time.perf_counter()
    for _ in range(n):
        app.send_task("src.queue.tasks.crawler.noop", kwargs={"n": 1},
                      queue="bench")
    return n / (time.perf_counter() - t0)


def main():
    mode, a = sys.argv[1], sys.argv[2:]
    fns = {
        "http_single": lambda: http_single(a[0], int(a[1])),
        "http_bulk": lambda: http_bulk(a[0], int(a[1]), int(a[2])),
        "py_single": lambda: py_single(int(a[0])),
        "py_bulk": lambda: py_bulk(int(a[0]), int(a[1])),
        "celery": lambda: celery(a[0], int(a[1])),
    }
    print(json.dumps({"tasks_per_s": round(fns[mode]())}))


if __name__ == "__main__":
    main()
