# SPDX-License-Identifier: MIT
"""syncq: the Python client of the syncq task queue.

A thin ctypes binding of libsyncq with the seed's interface::

    from syncq import QueueManager, TaskPriority, ScheduleConfig, ScheduleType

    qm = QueueManager()                      # SYNCQ_BROKER_URL / .env
    tid = qm.create_task("crawler.fetch_products",
                         kwargs={"category_id": "1031"},
                         priority=TaskPriority.HIGH)
    qm.wait_for_task(tid, timeout=60)["state"]

The broker protocol lives only in the C library; this package converts
values. Errors raise SyncqError subclasses carrying syncq's error code.
"""

from .client import QueueManager
from .errors import (AlreadyExists, BrokerUnavailable, InvalidArgument,
                     InvalidState, PayloadTooLarge, SyncqError, TaskNotFound,
                     TaskTimeout)
from .model import (ProgressUpdate, ScheduleConfig, ScheduleType,
                    TaskPriority)

__all__ = [
    "QueueManager", "TaskPriority", "ScheduleType", "ScheduleConfig",
    "ProgressUpdate", "SyncqError", "InvalidArgument", "TaskNotFound",
    "BrokerUnavailable", "TaskTimeout", "InvalidState", "AlreadyExists",
    "PayloadTooLarge", "version",
]


def version() -> str:
    """libsyncq's version string."""
    from ._native import lib
    return lib().syncq_version().decode()
