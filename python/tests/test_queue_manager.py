# SPDX-License-Identifier: MIT
"""The seed's QueueManager interface over libsyncq, against a private
Redis and a real worker: every call, its errors, and what it wrote."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest

import syncq
from syncq import ScheduleConfig, ScheduleType, TaskPriority
from conftest import redis


def test_version_is_the_library_s():
    assert syncq.version().count(".") == 2


def test_priorities_are_the_seeds():
    assert [int(p) for p in TaskPriority] == [0, 5, 8, 10]
    assert TaskPriority.URGENT > TaskPriority.HIGH


def test_create_task_with_every_option(qm):
    eta = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    tid = qm.create_task(
        "src.queue.tasks.crawler.fetch_products",
        kwargs={"page_size": 10}, args=["1031", 2],
        priority=TaskPriority.HIGH, queue="later", eta=eta,
        expires=dt.timedelta(hours=2), max_retries=3,
        retry_policy={"network": {"max_retries": 1}}, time_limit=30,
        soft_time_limit=20)
    t = qm.get_task_info(tid)
    assert t["name"] == "crawler.fetch_products"  # the seed's long name
    assert (t["queue"], t["priority"], t["state"]) == ("later", 8, "PENDING")
    assert (t["args"], t["kwargs"]) == (["1031", 2], {"page_size": 10})
    assert t["max_retries"] == 3
    assert t["eta"].startswith(eta.strftime("%Y-%m-%dT%H:%M"))
    assert t["expires"] is not None


def test_countdown_and_unique_key(qm):
    a = qm.create_task("syncq.noop", queue="later", countdown=60,
                       unique_key="py-u1")
    b = qm.create_task("syncq.noop", queue="later", unique_key="py-u1")
    assert a == b
    assert qm.get_task_info(a)["state"] == "PENDING"


def test_bad_input_raises_with_code_and_writes_nothing(qm, redis_sock):
    keys = redis(redis_sock, "DBSIZE")
    with pytest.raises(syncq.InvalidArgument) as e:
        qm.create_task("bad name")
    assert e.value.code == "EINVAL" and e.value.errno == -1
    assert "name" in e.value.message
    with pytest.raises(syncq.InvalidArgument) as e:
        qm.create_task("syncq.noop", priority=11)
    assert "priority 11 out of range" in e.value.message
    with pytest.raises(syncq.InvalidArgument) as e:
        qm.create_task("syncq.noop", countdown=-1)
    assert e.value.message.startswith("countdown:")
    with pytest.raises(syncq.InvalidArgument):
        qm.create_tasks([{"task_name": "syncq.noop"},
                         {"task_name": "syncq.noop", "queue": "a b"}])
    with pytest.raises(syncq.InvalidArgument) as e:
        qm.add_schedule(ScheduleConfig(name="bad", task="syncq.noop",
                                       cron_expression="61 * * * *"))
    assert "minute" in e.value.message
    assert redis(redis_sock, "DBSIZE") == keys


def test_bad_values_are_refused_not_converted(qm, redis_sock):
    """What Python would convert (5.7 to 5, True to 1, "10m" to an error
    of its own) and a limit of 0 that would mean "not set" are refused
    with InvalidArgument naming the field; names of priorities work."""
    keys = redis(redis_sock, "DBSIZE")
    for p in (5.7, True):
        with pytest.raises(syncq.InvalidArgument) as e:
            qm.create_task("syncq.noop", priority=p)
        assert e.value.message.startswith("priority:")
    with pytest.raises(syncq.InvalidArgument) as e:
        qm.create_task("syncq.noop", countdown="10m")
    assert e.value.message == ("countdown: must be seconds (a number or a "
                               "datetime.timedelta), got '10m'")
    with pytest.raises(syncq.InvalidArgument) as e:
        qm.create_task("syncq.sleep", time_limit=0)
    assert e.value.message.startswith("time_limit: must be at least 0.001")
    with pytest.raises(syncq.InvalidArgument) as e:
        qm.create_task("syncq.echo", kwargs={"a": object()})
    assert e.value.message.startswith("not JSON: ")
    with pytest.raises(syncq.InvalidArgument):
        qm.celery_send("syncq.noop", priority=True)
    assert redis(redis_sock, "DBSIZE") == keys
    tid = qm.create_task("syncq.noop", priority="HIGH")
    assert qm.get_task_info(tid)["priority"] == 8
    # limits and waits: no value silently means "default", "all" or
    # "forever" (a negative timeout waited forever, limit=0 gave 100)
    for kw, field in (({"limit": 0}, "limit"), ({"limit": -1}, "limit"),
                      ({"limit": 2.5}, "limit"), ({"offset": -5}, "offset"),
                      ({"limit": True}, "limit")):
        with pytest.raises(syncq.InvalidArgument) as e:
            qm.list_tasks(**kw)
        assert e.value.message.startswith(field + ": must be an integer")
    assert [t["id"] for t in qm.list_tasks(limit=1)] != []
    for t in (-1, 1e30, float("nan"), "abc"):
        with pytest.raises(syncq.InvalidArgument) as e:
            qm.wait_for_task(tid, timeout=t)
        assert e.value.message.startswith("timeout: must be")
    with pytest.raises(syncq.TaskTimeout):
        qm.wait_for_task(tid, timeout=0)


def test_unknown_task_and_down_broker():
    with pytest.raises(syncq.BrokerUnavailable) as e:
        syncq.QueueManager(broker_url="redis://127.0.0.1:1/0")
    assert e.value.code == "ECONN"


def test_not_found(qm):
    with pytest.raises(syncq.TaskNotFound) as e:
        qm.get_task_info("no-such-task")
    assert e.value.code == "ENOTFOUND"


def test_task_runs_on_a_real_worker(qm, worker):
    tid = qm.create_task("src.queue.tasks.syncq.echo", kwargs={"n": 1},
                         queue="py")
    t = qm.wait_for_task(tid, timeout=30)
    assert (t["state"], t["result"], t["attempt"]) == ("SUCCESS", {"n": 1}, 1)


def test_bulk_create(qm, worker):
    ids = qm.create_tasks([{"task_name": "syncq.echo", "kwargs": {"i": i},
                            "queue": "py"} for i in range(20)])
    assert len(set(ids)) == 20
    assert [qm.wait_for_task(t, 30)["result"]["i"] for t in ids] == \
        list(range(20))


def test_batch(qm, worker):
    bid = qm.create_batch_task("syncq.echo", range(7), batch_size=3,
                               queue="py")
    deadline = time.time() + 30
    while time.time() < deadline:
        b = qm.get_batch_info(bid)
        if b["done"] == b["total"]:
            break
        time.sleep(0.1)
    assert (b["total"], b["done"], b["failed"]) == (3, 3, 0)


def test_wait_timeout_cancel_resume(qm, worker):
    tid = qm.create_task("syncq.sleep", kwargs={"seconds": 30}, queue="py")
    with pytest.raises(syncq.TaskTimeout) as e:
        qm.wait_for_task(tid, timeout=0.3)
    assert e.value.task["id"] == tid
    assert qm.cancel_task(tid) in ("revoked", "requested")
    assert qm.wait_for_task(tid, timeout=30)["state"] == "REVOKED"
    assert qm.cancel_task(tid) == "final"
    r = qm.resume_task(tid, strategy="auto")
    assert (r["strategy"], r["prev_state"]) == ("retry", "REVOKED")
    qm.cancel_task(tid)
    with pytest.raises(syncq.InvalidArgument):
        qm.resume_task(tid, strategy="later")


def test_checkpoints(qm, worker):
    tid = qm.create_task("syncq.steps", kwargs={"total": 3, "step_ms": 5},
                         queue="py")
    assert qm.wait_for_task(tid, 30)["state"] == "SUCCESS"
    cps = qm.list_checkpoints(tid)
    assert cps and cps[0]["ok"] and cps[0]["seq"] >= 1


def test_schedules(qm, worker):
    s = qm.add_schedule(ScheduleConfig(
        name="py-nightly", task="syncq.echo", schedule_type=ScheduleType.CRON,
        cron_expression="0 2 * * *", kwargs={"x": 1}, queue="py"))
    assert (s["cron"], s["state"]) == ("0 2 * * *", "active")
    qm.add_schedule(ScheduleConfig(name="py-hourly", task="syncq.noop",
                                   schedule_type=ScheduleType.INTERVAL,
                                   interval_seconds=3600))
    qm.add_schedule(ScheduleConfig(
        name="py-once", task="syncq.noop", schedule_type=ScheduleType.ONCE,
        run_at=dt.datetime(2099, 1, 1)))
    with pytest.raises(syncq.AlreadyExists) as ex:
        qm.add_schedule(ScheduleConfig(name="py-hourly", task="syncq.noop",
                                       schedule_type=ScheduleType.INTERVAL,
                                       interval_seconds=60))
    # the way to replace it is this method's parameter, not a CLI flag
    assert ex.value.message == ("schedule py-hourly exists (remove_schedule()"
                                " it first, or pass replace=True)")
    assert qm.add_schedule(ScheduleConfig(
        name="py-hourly", task="syncq.noop",
        schedule_type=ScheduleType.INTERVAL, interval_seconds=60),
        replace=True)["interval_s"] == 60
    names = {x["name"] for x in qm.list_schedules()}
    assert {"py-nightly", "py-hourly", "py-once"} <= names
    assert qm.pause_schedule("py-nightly")["state"] == "paused"
    assert qm.resume_schedule("py-nightly")["state"] == "active"
    tid = qm.run_schedule("py-nightly")
    assert qm.wait_for_task(tid, 30)["result"] == {"x": 1}
    assert qm.remove_schedule("py-hourly") is True
    with pytest.raises(syncq.TaskNotFound):
        qm.remove_schedule("py-hourly")


def test_health_and_running_progress(qm, worker):
    tid = qm.create_task("syncq.sleep", kwargs={"seconds": 5, "tick_ms": 50},
                         queue="py")
    deadline = time.time() + 20
    running = []
    while time.time() < deadline:
        running = qm.get_running_tasks_progress()
        if any(r["id"] == tid for r in running):
            break
        time.sleep(0.1)
    assert any(r["id"] == tid for r in running)
    assert qm.get_system_health()["status"] in ("healthy", "degraded",
                                                "unhealthy")
    qm.cancel_task(tid)


def test_progress_callbacks(qm, worker):
    seen = []
    done = threading.Event()

    def on_progress(u):
        seen.append(u)
        if u.is_final:
            done.set()

    tid = qm.create_task("syncq.sleep",
                         kwargs={"seconds": 1.5, "tick_ms": 100}, queue="py")
    qm.add_progress_callback(tid, on_progress)  # the seed's order
    assert done.wait(30)
    assert seen[-1].task_id == tid and seen[-1].state == "SUCCESS"
    steps = [u for u in seen if u.total > 0]
    assert steps, "no update with a total"
    assert all(0 <= u.percent <= 100 for u in steps)
    assert [u.current for u in steps] == sorted(u.current for u in steps)
    every = []
    qm.add_progress_callback(every.append)  # every task
    t2 = qm.create_task("syncq.sleep", kwargs={"seconds": 0.5}, queue="py")
    qm.wait_for_task(t2, 30)
    deadline = time.time() + 10
    while time.time() < deadline and not any(
            u.task_id == t2 and u.is_final for u in every):
        time.sleep(0.05)
    assert any(u.task_id == t2 and u.is_final for u in every)
