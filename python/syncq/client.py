# SPDX-License-Identifier: MIT
"""QueueManager: the seed's producer interface over libsyncq.

Every method is one call of the C library (include/syncq/*.h); this
module only converts Python values to the library's JSON specs and back.
A QueueManager holds one broker connection, used under a lock, so one
manager may be shared by threads (calls are serialised). Progress
callbacks run in a background thread of their own with its own
connection.
"""

from __future__ import annotations

import ctypes
import datetime as _dt
import json
import threading
from typing import Any, Callable, Dict, Iterable, List, Optional, Union

from . import _native
from .errors import AlreadyExists, SyncqError, TaskTimeout, error_for
from .model import (ProgressUpdate, ScheduleConfig, ScheduleType, Seconds,
                    TaskPriority, When)

ProgressCallback = Callable[[ProgressUpdate], None]

# create_task's options besides task_name
_TASK_OPTIONS = {"kwargs", "args", "priority", "queue", "countdown", "eta",
                 "expires", "max_retries", "retry_policy", "unique_key",
                 "time_limit", "soft_time_limit", "task_id"}


def _b(s: Optional[str]) -> Optional[bytes]:
    return s.encode() if s is not None else None


def _seconds(v: Optional[Seconds], field: str = "duration") \
        -> Optional[float]:
    """Seconds of a number or a timedelta; anything else (a string such
    as "10m", a bool) is refused with InvalidArgument naming the field,
    not converted."""
    if v is None:
        return None
    if isinstance(v, _dt.timedelta):
        return v.total_seconds()
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    raise error_for("EINVAL", -1, f"{field}: must be seconds (a number or "
                    f"a datetime.timedelta), got {v!r}")


def _count(v: Any, field: str, lo: int, hi: int) -> int:
    """An int in lo..hi (as the CLI's own range for the same option);
    anything else (0 for "default", -1 for "all", 2.5, True, "5") is
    refused with InvalidArgument naming the field."""
    if isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi:
        return v
    raise error_for("EINVAL", -1, f"{field}: must be an integer "
                    f"{lo}..{hi}, got {v!r}")


def _priority(v: Any) -> Any:
    """A priority as given: the library checks it (0..10 or LOW, NORMAL,
    HIGH, URGENT) and refuses 5.7 or True instead of truncating them."""
    return int(v) if isinstance(v, TaskPriority) else v


def _iso(t: _dt.datetime) -> str:
    """ISO 8601 in UTC; a naive datetime is taken as UTC (as Celery)."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.timezone.utc)
    return t.astimezone(_dt.timezone.utc).isoformat(timespec="milliseconds")


def _epoch_ms(t: _dt.datetime) -> int:
    """Epoch milliseconds; a naive datetime is taken as UTC."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.timezone.utc)
    return int(t.timestamp() * 1000)


def _when(v: Optional[When], field: str = "expires") \
        -> Union[None, float, str]:
    if isinstance(v, _dt.datetime):
        return _iso(v)
    return _seconds(v, field)


def _spec(**fields: Any) -> Dict[str, Any]:
    """A spec without its unset (None) fields."""
    return {k: v for k, v in fields.items() if v is not None}


class QueueManager:
    """Create and follow syncq tasks from Python.

    ``broker_url`` overrides SYNCQ_BROKER_URL; ``dotenv`` names a .env
    file (default: ./.env when present); ``settings`` sets other SYNCQ_*
    keys (e.g. ``{"SYNCQ_NAMESPACE": "staging"}``). Raises
    BrokerUnavailable when Redis cannot be reached, InvalidArgument for a
    bad setting.
    """

    def __init__(self, broker_url: Optional[str] = None,
                 dotenv: Optional[str] = None,
                 settings: Optional[Dict[str, str]] = None) -> None:
        self._lib = _native.lib()
        self._lock = threading.RLock()
        self._cfg = ctypes.c_void_p()
        self._c = ctypes.c_void_p()
        self._progress: Optional[_ProgressThread] = None
        err = _native.Error()
        self._check(self._lib.syncq_config_new(ctypes.byref(self._cfg), err),
                    err)
        try:
            self._check(self._lib.syncq_config_load(self._cfg, _b(dotenv),
                                                    err), err)
            for k, v in (settings or {}).items():
                self._check(self._lib.syncq_config_set(
                    self._cfg, _b(k), _b(str(v)), b"python", err), err)
            self._check(self._lib.syncq_client_open(
                _b(broker_url), self._cfg, ctypes.byref(self._c), err), err)
        except SyncqError:
            self._lib.syncq_config_free(self._cfg)
            self._cfg = ctypes.c_void_p()
            raise

    # ---- plumbing ---------------------------------------------------------

    def _check(self, rc: int, err: _native.Error) -> None:
        if rc != 0:
            code = self._lib.syncq_code_name(rc).decode()
            raise error_for(code, rc, err.msg.decode(errors="replace"))

    def _take_text(self, p: ctypes.c_void_p) -> Any:
        """Decode an owned JSON text (char *) and free it."""
        if not p:
            return None
        try:
            return json.loads(ctypes.string_at(p).decode())
        finally:
            self._lib.syncq_free(p)

    def _take_json(self, p: ctypes.c_void_p) -> Any:
        """Decode an owned json_t * and release it."""
        if not p:
            return None
        try:
            return self._take_text(ctypes.c_void_p(
                self._lib.syncq_json_text(p)))
        finally:
            self._lib.syncq_json_release(p)

    def _client(self) -> ctypes.c_void_p:
        if not self._c:
            raise SyncqError("ESTATE", -9, "the QueueManager is closed")
        return self._c

    def _spec_call(self, fn: str, spec: Any) -> Any:
        out = ctypes.c_void_p()
        err = _native.Error()
        try:
            text = json.dumps(spec).encode()
        except (TypeError, ValueError) as e:
            raise error_for("EINVAL", -1, f"not JSON: {e}") from None
        with self._lock:
            self._check(getattr(self._lib, fn)(self._client(), text,
                                               ctypes.byref(out), err), err)
        return self._take_text(out)

    def _json_call(self, fn: str, *args: Any) -> Any:
        out = ctypes.c_void_p()
        err = _native.Error()
        with self._lock:
            self._check(getattr(self._lib, fn)(self._client(), *args,
                                               ctypes.byref(out), err), err)
        return self._take_json(out)

    def close(self) -> None:
        """Stop progress callbacks and close the connection (idempotent)."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        with self._lock:
            if self._c:
                self._lib.syncq_client_close(self._c)
                self._c = ctypes.c_void_p()
            if self._cfg:
                self._lib.syncq_config_free(self._cfg)
                self._cfg = ctypes.c_void_p()

    def __enter__(self) -> "QueueManager":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass

    # ---- tasks ------------------------------------------------------------

    @staticmethod
    def _task_spec(task_name: str, **o: Any) -> Dict[str, Any]:
        """create_task's arguments as a task spec (syncq/spec.h)."""
        unknown = set(o) - _TASK_OPTIONS
        if unknown:
            raise error_for("EINVAL", -1,
                            f"unknown option(s) {sorted(unknown)}")
        args, eta = o.get("args"), o.get("eta")
        priority = o.get("priority", TaskPriority.NORMAL)
        return _spec(name=task_name, kwargs=o.get("kwargs"),
                     args=list(args) if args is not None else None,
                     priority=_priority(priority),
                     queue=o.get("queue"),
                     countdown=_seconds(o.get("countdown"), "countdown"),
                     eta=_iso(eta) if eta is not None else None,
                     expires=_when(o.get("expires")),
                     max_retries=o.get("max_retries"),
                     retry_policy=o.get("retry_policy"),
                     unique_key=o.get("unique_key"),
                     time_limit=_seconds(o.get("time_limit"), "time_limit"),
                     soft_time_limit=_seconds(o.get("soft_time_limit"),
                                              "soft_time_limit"),
                     task_id=o.get("task_id"))

    def create_task(self, task_name: str,
                    kwargs: Optional[Dict[str, Any]] = None,
                    args: Optional[Iterable[Any]] = None,
                    priority: Optional[int] = TaskPriority.NORMAL,
                    queue: Optional[str] = None,
                    countdown: Optional[Seconds] = None,
                    eta: Optional[_dt.datetime] = None,
                    expires: Optional[When] = None,
                    max_retries: Optional[int] = None,
                    retry_policy: Optional[Dict[str, Any]] = None,
                    unique_key: Optional[str] = None,
                    time_limit: Optional[Seconds] = None,
                    soft_time_limit: Optional[Seconds] = None,
                    task_id: Optional[str] = None) -> str:
        """Create one task and return its id.

        ``task_name`` may be the seed's long name
        (``src.queue.tasks.crawler.fetch_products``). ``countdown`` and
        durations are seconds (or timedelta); ``eta`` a datetime;
        ``expires`` seconds from now or a datetime. With ``unique_key``
        held by an earlier task, that task's id is returned. Raises
        InvalidArgument (the message names the field), PayloadTooLarge,
        BrokerUnavailable; nothing is written on any error.
        """
        options = dict(locals())
        del options["self"]
        spec = self._task_spec(**options)
        return self._spec_call("syncq_task_create_json", spec)["id"]

    def create_tasks(self, tasks: Iterable[Dict[str, Any]]) -> List[str]:
        """Create many tasks at once, all or none: each item holds
        create_task's arguments (``task_name`` required). Returns the ids
        in order. Up to 10,000 per call."""
        specs = [self._task_spec(**t) for t in tasks]
        return self._spec_call("syncq_task_create_many_json", specs)["ids"]

    def create_batch_task(self, task_name: str, items: Iterable[Any],
                          batch_size: int = 100,
                          kwargs: Optional[Dict[str, Any]] = None,
                          queue: Optional[str] = None,
                          priority: Optional[int] = None,
                          on_complete: Optional[str] = None,
                          max_in_flight: Optional[int] = None,
                          rate: Optional[str] = None,
                          fail_fast: Optional[bool] = None) -> str:
        """Split ``items`` into chunks of ``batch_size`` and create one
        ``task_name`` task per chunk with kwargs ``{"items": [...],
        **kwargs}``; returns the batch id (read it with get_batch_info).
        ``max_in_flight``/``rate`` ("10/s")/``fail_fast`` send the chunks
        in waves."""
        spec = _spec(task=task_name, items=list(items),
                     batch_size=batch_size, kwargs=kwargs, queue=queue,
                     priority=_priority(priority), on_complete=on_complete,
                     max_in_flight=max_in_flight, rate=rate,
                     fail_fast=fail_fast)
        return self._spec_call("syncq_batch_create_json", spec)["batch_id"]

    def get_batch_info(self, batch_id: str) -> Dict[str, Any]:
        """A batch's progress: total, done, failed, pending, state, ..."""
        return self._json_call("syncq_batch_progress", _b(batch_id))

    def get_task_info(self, task_id: str) -> Dict[str, Any]:
        """The task record: state, result, error, progress, attempt,
        retries, times (docs/redis-keys.md). Raises TaskNotFound."""
        return self._json_call("syncq_task_info", _b(task_id))

    def list_tasks(self, state: Optional[str] = None,
                   queue: Optional[str] = None, name: Optional[str] = None,
                   limit: int = 100, offset: int = 0) -> List[Dict[str, Any]]:
        """Search tasks by state, queue and name (newest first): at most
        ``limit`` (1..1,000,000) after skipping ``offset`` (>= 0)."""
        f = _native.TaskFilter(_b(state), _b(queue), _b(name),
                               _count(offset, "offset", 0, 2**62),
                               _count(limit, "limit", 1, 1000000))
        return self._json_call("syncq_task_list", ctypes.byref(f))

    def cancel_task(self, task_id: str) -> str:
        """Revoke a task at any stage: "revoked" (it never ran),
        "requested" (running: its worker stops it) or "final" (already
        ended; nothing changed)."""
        outcome = ctypes.c_int(-1)
        state = ctypes.create_string_buffer(16)
        err = _native.Error()
        with self._lock:
            self._check(self._lib.syncq_task_revoke(
                self._client(), _b(task_id), b"python",
                ctypes.byref(outcome), state, err), err)
        return {0: "revoked", 1: "requested", 2: "final"}.get(
            outcome.value, "unknown")

    def wait_for_task(self, task_id: str,
                      timeout: Optional[float] = None) -> Dict[str, Any]:
        """Wait until the task ends (SUCCESS, FAILURE, REVOKED, EXPIRED,
        SKIPPED, DEAD) and return its record; ``timeout`` seconds (None:
        forever). Raises TaskTimeout (with ``.task``, the current record)
        when it runs out. The lock is held while waiting: use another
        QueueManager to create tasks meanwhile."""
        return self._wait("syncq_task_wait", task_id, timeout)

    def _wait(self, fn: str, task_id: str,
              timeout: Optional[float]) -> Dict[str, Any]:
        """A wait call: the record, or TaskTimeout carrying the last one."""
        out = ctypes.c_void_p()
        err = _native.Error()
        ms = -1
        if timeout is not None:
            t = _seconds(timeout, "timeout")
            # the CLI's bound for a duration; NaN fails the comparison too
            if not 0 <= t <= 9.0e12:
                raise error_for("EINVAL", -1, f"timeout: must be 0..9e12 "
                                f"seconds (None: wait forever), got "
                                f"{timeout!r}")
            ms = int(t * 1000)
        with self._lock:
            rc = getattr(self._lib, fn)(self._client(), _b(task_id), ms,
                                        ctypes.byref(out), err)
        record = self._take_json(out)
        if rc != 0:
            exc = error_for(self._lib.syncq_code_name(rc).decode(), rc,
                            err.msg.decode(errors="replace"))
            if isinstance(exc, TaskTimeout):
                exc.task = record or {}
            raise exc
        return record

    def resume_task(self, task_id: str, strategy: str = "auto",
                    queue: Optional[str] = None) -> Dict[str, Any]:
        """Resume an ended task: strategy auto (resume from the last good
        checkpoint if any, else retry), retry, resume, restart, skip or
        manual. Returns {strategy, prev_state, checkpoint_seq}."""
        s = self._lib.syncq_resume_strategy_parse(_b(strategy))
        if s < 0:
            raise error_for("EINVAL", -1, f"unknown strategy '{strategy}' "
                            "(auto, retry, resume, restart, skip, manual)")
        opts = _native.ResumeOptions(b"python", _b(queue))
        res = _native.ResumeResult()
        err = _native.Error()
        with self._lock:
            self._check(self._lib.syncq_task_resume(
                self._client(), _b(task_id), s, ctypes.byref(opts),
                ctypes.byref(res), err), err)
        return {"strategy": self._lib.syncq_resume_strategy_name(
                    res.strategy).decode(),
                "prev_state": res.prev_state.decode(),
                "checkpoint_seq": res.checkpoint_seq
                if res.checkpoint_seq >= 0 else None}

    def list_checkpoints(self, task_id: str) -> List[Dict[str, Any]]:
        """The task's checkpoints, newest first: seq, size, at, sha256,
        ok, quarantined, problem."""
        return self._json_call("syncq_checkpoint_list", _b(task_id))

    # ---- Celery (docs/celery.md) ---------------------------------------------

    def celery_send(self, task_name: str,
                    args: Optional[Iterable[Any]] = None,
                    kwargs: Optional[Dict[str, Any]] = None,
                    queue: Optional[str] = None,
                    priority: Optional[int] = None,
                    countdown: Optional[Seconds] = None,
                    eta: Optional[_dt.datetime] = None,
                    expires: Optional[When] = None,
                    time_limit: Optional[Seconds] = None,
                    soft_time_limit: Optional[Seconds] = None,
                    task_id: Optional[str] = None,
                    parent_id: Optional[str] = None,
                    root_id: Optional[str] = None) -> str:
        """Publish a Celery protocol 2 message, as ``app.send_task()``
        does, that an unchanged Python ``celery worker`` (or ``syncq
        worker --celery``) runs; returns the task id
        (syncq_celery_send). ``task_name`` is sent as given;
        ``queue`` defaults to "celery"; ``priority`` is syncq's 0..10
        (10 first, Celery's 9 - min(p, 9)); ``countdown``, durations and
        a number ``expires`` are seconds, ``eta``/``expires`` datetimes
        (naive: UTC). Arguments of a name syncq declares are checked
        against the declaration. Raises InvalidArgument (the message
        names the field), PayloadTooLarge, BrokerUnavailable; nothing is
        pushed on any error. Read the result with celery_result /
        celery_wait."""
        o = _native.TaskOptions()
        self._lib.syncq_task_options_init(ctypes.byref(o))
        keep = [_b(queue), _b(task_id), _b(parent_id), _b(root_id)]
        o.queue, o.task_id, o.parent_id, o.root_id = keep
        if priority is not None:
            if isinstance(priority, bool) or not isinstance(priority, int):
                raise error_for("EINVAL", -1, "priority: must be an integer "
                                f"0..10, got {priority!r}")
            o.priority = int(priority)
        if countdown is not None:
            o.countdown_ms = int(_seconds(countdown, "countdown") * 1000)
        if eta is not None:
            o.eta_ms = _epoch_ms(eta)
        if isinstance(expires, _dt.datetime):
            o.expires_ms = _epoch_ms(expires)
        elif expires is not None:
            o.expires_in_ms = max(1, int(_seconds(expires, "expires") * 1000))
        if time_limit is not None:
            o.time_limit_ms = int(_seconds(time_limit, "time_limit") * 1000)
        if soft_time_limit is not None:
            o.soft_time_limit_ms = int(_seconds(soft_time_limit,
                                                "soft_time_limit") * 1000)
        try:
            a = json.dumps(list(args)).encode() if args is not None else None
            k = json.dumps(kwargs).encode() if kwargs is not None else None
        except (TypeError, ValueError) as e:
            raise error_for("EINVAL", -1, f"not JSON: {e}") from None
        tid = ctypes.create_string_buffer(_native.ID_SIZE)
        err = _native.Error()
        with self._lock:
            self._check(self._lib.syncq_celery_send(
                self._client(), _b(task_name), a, k, ctypes.byref(o), tid,
                err), err)
        return tid.value.decode()

    def celery_result(self, task_id: str) -> Dict[str, Any]:
        """The Celery result of ``task_id`` as Celery's Redis backend
        stores it (``celery-task-meta-<id>``): {id, state, result, error
        {class: the exception type, message}, traceback, done_at, origin:
        "celery"} (syncq_celery_result). Raises TaskNotFound while there
        is none (Celery's PENDING)."""
        return self._json_call("syncq_celery_result", _b(task_id))

    def celery_wait(self, task_id: str,
                    timeout: Optional[float] = None) -> Dict[str, Any]:
        """Wait until the Celery result of ``task_id`` is ready (SUCCESS,
        FAILURE, REVOKED) and return it as celery_result does;
        ``timeout`` seconds (None: forever). Raises TaskTimeout (``.task``
        holds the last state seen) when it runs out."""
        return self._wait("syncq_celery_wait", task_id, timeout)

    # ---- schedules --------------------------------------------------------

    def add_schedule(self, config: ScheduleConfig,
                     replace: bool = False) -> Dict[str, Any]:
        """Store a schedule (replace=True replaces one of that name) and
        return it with its next run. Raises InvalidArgument (bad cron,
        zone, task...), AlreadyExists."""
        st = ScheduleType(config.schedule_type)
        spec = _spec(name=config.name, task=config.task, type=st.value,
                     cron=config.cron_expression,
                     interval=_seconds(config.interval_seconds, "interval"),
                     at=_iso(config.run_at) if config.run_at else None,
                     timezone=config.timezone, args=config.args,
                     kwargs=config.kwargs, queue=config.queue,
                     priority=_priority(config.priority),
                     enabled=config.enabled, missed=config.missed,
                     expires=_seconds(config.expires, "expires"),
                     max_retries=config.max_retries,
                     replace=True if replace else None)
        spec.update(config.extra)
        try:
            return self._spec_call("syncq_schedule_add_json", spec)
        except AlreadyExists as e:
            # the library's message names the JSON field; say this
            # method's parameter
            raise AlreadyExists(
                e.code, e.errno,
                f"schedule {config.name} exists (remove_schedule() it "
                f"first, or pass replace=True)") from None

    def remove_schedule(self, name: str) -> bool:
        """Delete a schedule; True. Raises TaskNotFound."""
        err = _native.Error()
        with self._lock:
            self._check(self._lib.syncq_schedule_remove(
                self._client(), _b(name), err), err)
        return True

    def pause_schedule(self, name: str) -> Dict[str, Any]:
        """Pause a schedule; returns it."""
        self._name_call("syncq_schedule_pause", name)
        return self.get_schedule(name)

    def resume_schedule(self, name: str) -> Dict[str, Any]:
        """Resume a paused schedule; returns it."""
        self._name_call("syncq_schedule_resume", name)
        return self.get_schedule(name)

    def run_schedule(self, name: str) -> str:
        """Fire a schedule now; returns the task id."""
        tid = ctypes.create_string_buffer(_native.ID_SIZE)
        err = _native.Error()
        with self._lock:
            self._check(self._lib.syncq_schedule_run(
                self._client(), _b(name), tid, err), err)
        return tid.value.decode()

    def _name_call(self, fn: str, name: str) -> None:
        err = _native.Error()
        with self._lock:
            self._check(getattr(self._lib, fn)(self._client(), _b(name),
                                               err), err)

    def get_schedule(self, name: str) -> Dict[str, Any]:
        """One schedule with its state and next run."""
        return self._json_call("syncq_schedule_info", _b(name))

    def list_schedules(self) -> List[Dict[str, Any]]:
        """Every schedule, by name."""
        return self._json_call("syncq_schedule_list")

    # ---- monitoring -------------------------------------------------------

    def get_system_health(self) -> Dict[str, Any]:
        """{status (healthy, degraded, unhealthy), live, ready, reasons,
        checked_at}; never raises because Redis is down (that is an
        answer)."""
        out = ctypes.c_void_p()
        status = ctypes.c_int()
        err = _native.Error()
        with self._lock:
            self._check(self._lib.syncq_monitor_health(
                self._c, None, ctypes.byref(out), ctypes.byref(status),
                err), err)
        return self._take_json(out)

    def get_running_tasks_progress(self) -> List[Dict[str, Any]]:
        """Running tasks with their progress, rate and ETA."""
        snap = self._json_call("syncq_monitor_snapshot")
        return snap.get("running", [])

    def add_progress_callback(self,
                              callback: Union[ProgressCallback, str],
                              task_id: Union[None, str,
                                             ProgressCallback] = None
                              ) -> None:
        """Call ``callback(update)`` (a ProgressUpdate) for progress of
        ``task_id`` (None: every task), from a background thread fed by
        the events stream. The seed's order ``(task_id, callback)`` works
        too. A one-task callback ends after the task's final update."""
        if isinstance(callback, str):
            callback, task_id = task_id, callback  # seed order
        if not callable(callback):
            raise error_for("EINVAL", -1, "callback must be callable")
        with self._lock:
            if self._progress is None:
                self._progress = _ProgressThread(self._lib, self._client())
        self._progress.add(callback, task_id)


class _ProgressThread:
    """A progress monitor (own connection) polled by a daemon thread."""

    def __init__(self, lib: ctypes.CDLL, client: ctypes.c_void_p) -> None:
        self._lib = lib
        self._m = ctypes.c_void_p()
        self._mu = threading.Lock()
        self._stop = threading.Event()
        self._callbacks: Dict[int, ProgressCallback] = {}
        self._tramp = _native.PROGRESS_FN(self._deliver)
        err = _native.Error()
        rc = lib.syncq_progress_monitor_new(client, ctypes.byref(self._m),
                                            err)
        if rc != 0:
            raise error_for(lib.syncq_code_name(rc).decode(), rc,
                            err.msg.decode(errors="replace"))
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="syncq-progress")
        self._thread.start()

    def _deliver(self, ud: Optional[int], p: Any) -> None:
        cb = self._callbacks.get(ud or 0)
        if cb is None:
            return
        v = p.contents

        def s(x: Optional[bytes]) -> str:
            return x.decode(errors="replace") if x else ""

        try:
            cb(ProgressUpdate(
                task_id=s(v.task_id), name=s(v.name), state=s(v.state),
                current=v.current, total=v.total,
                percent=v.percent if v.percent >= 0 else None,
                rate=v.rate, message=s(v.message),
                eta_s=v.eta_s if v.eta_s >= 0 else None, at_ms=v.at_ms,
                is_final=bool(v.is_final)))
        except Exception:  # a callback's bug must not stop the others
            import traceback
            traceback.print_exc()

    def add(self, cb: ProgressCallback, task_id: Optional[str]) -> None:
        err = _native.Error()
        with self._mu:
            key = len(self._callbacks) + 1
            self._callbacks[key] = cb
            rc = self._lib.syncq_progress_monitor_add_callback(
                self._m, _b(task_id), self._tramp, key, err)
        if rc != 0:
            raise error_for(self._lib.syncq_code_name(rc).decode(), rc,
                            err.msg.decode(errors="replace"))

    def _run(self) -> None:
        err = _native.Error()
        while not self._stop.is_set():
            with self._mu:
                rc = self._lib.syncq_progress_monitor_poll(self._m, 200, None,
                                                           err)
            if rc != 0:
                self._stop.wait(1.0)  # Redis away: try again later

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        with self._mu:
            self._lib.syncq_progress_monitor_free(self._m)
            self._m = ctypes.c_void_p()
