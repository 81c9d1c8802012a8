# SPDX-License-Identifier: MIT
"""ctypes declarations of the libsyncq calls the Python client uses.

Nothing here knows the broker protocol: every operation is one call of the
C library (include/syncq/*.h), which validates its input and writes Redis.
This module only loads the library and declares argument and result
types. The library is found, in order, at ``$SYNCQ_LIBRARY``, beside the package
under the prefix it was installed to (``cmake --install --prefix P``: the
generated ``_layout.py`` says where), as ``libsyncq.so.0`` on the loader's
path, or in the source tree's ``build/`` directory.
"""

from __future__ import annotations

import ctypes
import os
from ctypes import (CFUNCTYPE, POINTER, Structure, c_bool, c_char, c_char_p,
                    c_double, c_int, c_int64, c_size_t, c_void_p)
from pathlib import Path
from typing import Optional

ID_SIZE = 37  # SYNCQ_ID_SIZE: a UUID and its NUL


class Error(Structure):
    """struct syncq_error (syncq/error.h)."""

    _fields_ = [("code", c_int), ("sys_errno", c_int), ("msg", c_char * 256)]


class TaskFilter(Structure):
    """struct syncq_task_filter (syncq/client.h)."""

    _fields_ = [("state", c_char_p), ("queue", c_char_p), ("name", c_char_p),
                ("offset", c_size_t), ("limit", c_size_t)]


class TaskOptions(Structure):
    """struct syncq_task_options (syncq/client.h); fill it after
    syncq_task_options_init, which sets every field to "default"."""

    _fields_ = [("queue", c_char_p), ("priority", c_int),
                ("countdown_ms", c_int64), ("eta_ms", c_int64),
                ("expires_ms", c_int64), ("max_retries", c_int),
                ("unique_key", c_char_p), ("unique_ttl_ms", c_int64),
                ("time_limit_ms", c_int64), ("soft_time_limit_ms", c_int64),
                ("result_expires_ms", c_int64), ("task_id", c_char_p),
                ("parent_id", c_char_p), ("root_id", c_char_p),
                ("batch_id", c_char_p), ("retry_policy_json", c_char_p),
                ("expires_in_ms", c_int64)]


class ResumeOptions(Structure):
    """struct syncq_resume_options (syncq/recovery.h)."""

    _fields_ = [("who", c_char_p), ("queue", c_char_p)]


class ResumeResult(Structure):
    """struct syncq_resume_result (syncq/recovery.h)."""

    _fields_ = [("strategy", c_int), ("prev_state", c_char * 16),
                ("checkpoint_seq", c_int64)]


class Progress(Structure):
    """struct syncq_progress (syncq/monitor.h), lent to a callback."""

    _fields_ = [("task_id", c_char_p), ("name", c_char_p),
                ("state", c_char_p), ("current", c_int64),
                ("total", c_int64), ("message", c_char_p),
                ("rate", c_double), ("percent", c_double),
                ("eta_s", c_double), ("at_ms", c_int64),
                ("is_final", c_bool)]


PROGRESS_FN = CFUNCTYPE(None, c_void_p, POINTER(Progress))

_E = POINTER(Error)
_P = POINTER(c_void_p)

# name: (restype, argtypes)
_SIGNATURES = {
    "syncq_version": (c_char_p, []),
    "syncq_code_name": (c_char_p, [c_int]),
    "syncq_free": (None, [c_void_p]),
    "syncq_json_text": (c_void_p, [c_void_p]),
    "syncq_json_release": (None, [c_void_p]),
    "syncq_config_new": (c_int, [_P, _E]),
    "syncq_config_free": (None, [c_void_p]),
    "syncq_config_load": (c_int, [c_void_p, c_char_p, _E]),
    "syncq_config_set": (c_int, [c_void_p, c_char_p, c_char_p, c_char_p, _E]),
    "syncq_client_open": (c_int, [c_char_p, c_void_p, _P, _E]),
    "syncq_client_close": (None, [c_void_p]),
    "syncq_client_url": (c_char_p, [c_void_p]),
    "syncq_task_create_json": (c_int, [c_void_p, c_char_p, _P, _E]),
    "syncq_task_create_many_json": (c_int, [c_void_p, c_char_p, _P, _E]),
    "syncq_batch_create_json": (c_int, [c_void_p, c_char_p, _P, _E]),
    "syncq_schedule_add_json": (c_int, [c_void_p, c_char_p, _P, _E]),
    "syncq_task_info": (c_int, [c_void_p, c_char_p, _P, _E]),
    "syncq_task_options_init": (None, [POINTER(TaskOptions)]),
    "syncq_celery_send": (c_int, [c_void_p, c_char_p, c_char_p, c_char_p,
                                  POINTER(TaskOptions), c_char_p, _E]),
    "syncq_celery_result": (c_int, [c_void_p, c_char_p, _P, _E]),
    "syncq_celery_wait": (c_int, [c_void_p, c_char_p, c_int64, _P, _E]),
    "syncq_task_list": (c_int, [c_void_p, POINTER(TaskFilter), _P, _E]),
    "syncq_task_revoke": (c_int, [c_void_p, c_char_p, c_char_p,
                                  POINTER(c_int), c_char_p, _E]),
    "syncq_task_wait": (c_int, [c_void_p, c_char_p, c_int64, _P, _E]),
    "syncq_task_resume": (c_int, [c_void_p, c_char_p, c_int,
                                  POINTER(ResumeOptions),
                                  POINTER(ResumeResult), _E]),
    "syncq_resume_strategy_parse": (c_int, [c_char_p]),
    "syncq_resume_strategy_name": (c_char_p, [c_int]),
    "syncq_checkpoint_list": (c_int, [c_void_p, c_char_p, _P, _E]),
    "syncq_batch_progress": (c_int, [c_void_p, c_char_p, _P, _E]),
    "syncq_schedule_remove": (c_int, [c_void_p, c_char_p, _E]),
    "syncq_schedule_pause": (c_int, [c_void_p, c_char_p, _E]),
    "syncq_schedule_resume": (c_int, [c_void_p, c_char_p, _E]),
    "syncq_schedule_run": (c_int, [c_void_p, c_char_p, c_char_p, _E]),
    "syncq_schedule_info": (c_int, [c_void_p, c_char_p, _P, _E]),
    "syncq_schedule_list": (c_int, [c_void_p, _P, _E]),
    "syncq_monitor_health": (c_int, [c_void_p, c_char_p, _P,
                                     POINTER(c_int), _E]),
    "syncq_monitor_snapshot": (c_int, [c_void_p, _P, _E]),
    "syncq_progress_monitor_new": (c_int, [c_void_p, _P, _E]),
    "syncq_progress_monitor_free": (None, [c_void_p]),
    "syncq_progress_monitor_add_callback": (c_int, [c_void_p, c_char_p,
                                                    PROGRESS_FN, c_void_p,
                                                    _E]),
    "syncq_progress_monitor_poll": (c_int, [c_void_p, c_int64,
                                            POINTER(c_size_t), _E]),
}


def _installed_beside(here: Path) -> list:
    """The library of the prefix this package was installed under."""
    try:
        from . import _layout
    except ImportError:  # the source tree: no install layout
        return []
    site = str(here.parent)
    if not site.endswith("/" + _layout.PYTHON_DIR):
        return []
    prefix = Path(site[: -len(_layout.PYTHON_DIR)])
    lib = prefix / _layout.LIB_DIR / _layout.SONAME
    return [str(lib)] if lib.exists() else []


def _candidates() -> list:
    env = os.environ.get("SYNCQ_LIBRARY")
    if env:
        return [env]
    here = Path(__file__).resolve().parent
    return (_installed_beside(here) +
            ["libsyncq.so.0", str(here.parent.parent / "build" / "libsyncq.so")])


def _load() -> ctypes.CDLL:
    errors = []
    for cand in _candidates():
        try:
            lib = ctypes.CDLL(cand)
        except OSError as exc:
            errors.append(str(exc))
            continue
        for name, (res, args) in _SIGNATURES.items():
            fn = getattr(lib, name)
            fn.restype = res
            fn.argtypes = args
        return lib
    raise ImportError("cannot load libsyncq (set SYNCQ_LIBRARY, or install "
                      "libsyncq0): " + "; ".join(errors))


_lib: Optional[ctypes.CDLL] = None


def lib() -> ctypes.CDLL:
    """The loaded library (loaded on first use)."""
    global _lib
    if _lib is None:
        _lib = _load()
    return _lib
