# SPDX-License-Identifier: MIT
"""QueueManager.celery_send / celery_result / celery_wait (the binding of
syncq_celery_send / _result / _wait) against a private Redis, a real
Python Celery worker (tools/celery_peer.py under Debian's python3-celery)
and a real `syncq worker --celery`: what the message holds on kombu's
list, the results read back, and the refusals that push nothing."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import subprocess
import time

import pytest

import syncq
from conftest import ROOT, SYNCQ, redis

PEER = str(ROOT / "tools" / "celery_peer.py")
PY = "/usr/bin/python3"


def _wait_log(proc, log, needle, what):
    for _ in range(600):
        if log.exists() and needle in log.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"{what} did not get ready:\n"
                         + (log.read_text(errors="replace")
                            if log.exists() else "(no log)"))


def _stop(proc):
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@pytest.fixture(scope="module")
def py_worker(redis_sock, tmp_path_factory):
    """A real Python celery worker on queue "pyc" (celery_peer.py)."""
    log = tmp_path_factory.mktemp("pyc") / "py.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [PY, PEER, "worker", "redis+socket://" + redis_sock,
             "--task", "py.echo=echo", "--task", "py.fail=fail",
             "--queues", "pyc", "--hostname", "pyc@%h"],
            stdout=out, stderr=subprocess.STDOUT)
    _wait_log(proc, log, "ready.", "the Python celery worker")
    yield proc
    _stop(proc)


@pytest.fixture(scope="module")
def sq_worker(redis_sock, tmp_path_factory):
    """A real `syncq worker --celery` on queue "sqc"."""
    log = tmp_path_factory.mktemp("sqc") / "syncq.log"
    env = dict(os.environ, SYNCQ_BROKER_URL="unix://" + redis_sock)
    proc = subprocess.Popen([SYNCQ, "worker", "--celery", "-Q", "sqc",
                             "-c", "1", "--logfile", str(log)], env=env)
    _wait_log(proc, log, "event=celery.ready", "syncq worker --celery")
    yield proc
    _stop(proc)


def _message(sock, key):
    """The one message on kombu list `key`: (envelope, decoded body)."""
    env = json.loads(redis(sock, "LINDEX", key, "0"))
    return env, json.loads(base64.b64decode(env["body"]))


def test_python_worker_runs_it_and_the_result_is_read(qm, py_worker):
    tid = qm.celery_send("py.echo", args=[1, "x"],
                         kwargs={"category_id": "123"}, queue="pyc")
    r = qm.celery_wait(tid, timeout=30)
    assert (r["id"], r["state"], r["origin"]) == (tid, "SUCCESS", "celery")
    assert r["result"] == {"args": [1, "x"],
                           "kwargs": {"category_id": "123"}}
    assert qm.celery_result(tid)["result"] == r["result"]


def test_a_python_exception_comes_back_as_class_and_message(qm, py_worker):
    tid = qm.celery_send("py.fail", queue="pyc")
    r = qm.celery_wait(tid, timeout=30)
    assert r["state"] == "FAILURE"
    assert r["error"] == {"class": "ValueError",
                          "message": "celery_peer: failing on purpose"}


def test_a_syncq_worker_runs_it_too(qm, sq_worker):
    tid = qm.celery_send("src.queue.tasks.syncq.echo",
                         kwargs={"page": 2}, queue="sqc")
    r = qm.celery_wait(tid, timeout=30)
    assert (r["state"], r["result"]) == ("SUCCESS", {"page": 2})
    assert qm.get_task_info(tid)["name"] == "syncq.echo"


def test_the_message_is_what_send_task_writes(qm, redis_sock):
    tid = "3d4f0000-0000-4000-8000-0000000000c1"
    # within SYNCQ_ETA_MAX_MS (365 days), whole seconds
    eta = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)).replace(
        microsecond=0)
    got = qm.celery_send("py.echo", kwargs={"a": 1}, queue="pyidle",
                         priority=5, eta=eta, expires=3600, time_limit=30,
                         soft_time_limit=20, task_id=tid)
    assert got == tid
    # syncq 5 is Celery 4: kombu's step 3 list
    env, body = _message(redis_sock, "pyidle\x06\x163")
    h = env["headers"]
    assert (h["task"], h["id"], h["root_id"]) == ("py.echo", tid, tid)
    assert h["eta"] == eta.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00")
    assert h["expires"] is not None and h["timelimit"] == [30, 20]
    assert env["properties"]["priority"] == 4
    assert env["properties"]["delivery_info"]["routing_key"] == "pyidle"
    assert body == [[], {"a": 1}, {"callbacks": None, "errbacks": None,
                                   "chain": None, "chord": None}]
    assert redis(redis_sock, "SISMEMBER", "_kombu.binding.pyidle",
                 "pyidle\x06\x16\x06\x16pyidle") == "1"


def test_refusals_name_the_field_and_push_nothing(qm, redis_sock):
    before = redis(redis_sock, "LLEN", "celery")
    # a name syncq declares: its arguments are checked (syncq_celery_send)
    with pytest.raises(syncq.InvalidArgument) as e:
        qm.celery_send("src.queue.tasks.syncq.sleep",
                       kwargs={"seconds": "soon"})
    assert e.value.message.startswith("seconds:")
    with pytest.raises(syncq.InvalidArgument) as e:
        qm.celery_send("py.echo", kwargs={"a": 1}, priority=11)
    assert "priority" in e.value.message
    with pytest.raises(syncq.InvalidArgument) as e:
        qm.celery_send("py.echo", task_id="not-a-uuid")
    assert "UUID" in e.value.message
    with pytest.raises(syncq.InvalidArgument) as e:
        qm.celery_send("py.echo", countdown=1,
                       eta=dt.datetime.now(dt.timezone.utc))
    assert "not both" in e.value.message
    assert redis(redis_sock, "LLEN", "celery") == before


def test_no_result_yet(qm):
    tid = "3d4f0000-0000-4000-8000-0000000000c2"
    with pytest.raises(syncq.TaskNotFound):
        qm.celery_result(tid)
    t0 = time.monotonic()
    with pytest.raises(syncq.TaskTimeout) as e:
        qm.celery_wait(tid, timeout=0.3)
    assert time.monotonic() - t0 >= 0.3
    assert e.value.task == {"id": tid, "state": "PENDING",
                            "origin": "celery"}
