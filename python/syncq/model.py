# SPDX-License-Identifier: MIT
"""Value types of the seed's interface: TaskPriority, ScheduleType,
ScheduleConfig and the ProgressUpdate handed to progress callbacks."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from enum import Enum, IntEnum
from typing import Any, Dict, List, Optional, Union


class TaskPriority(IntEnum):
    """Priorities: strict per queue, higher first (any int 0..10 works)."""

    LOW = 0
    NORMAL = 5
    HIGH = 8
    URGENT = 10


class ScheduleType(str, Enum):
    """Kinds of schedule."""

    CRON = "cron"
    INTERVAL = "interval"
    ONCE = "once"
    ONE_TIME = "once"  # alias


Seconds = Union[int, float, _dt.timedelta]
When = Union[int, float, _dt.timedelta, _dt.datetime]


@dataclass
class ScheduleConfig:
    """A schedule, as the seed's ScheduleConfig: ``schedule_type`` CRON
    with ``cron_expression``, INTERVAL with ``interval_seconds``, or ONCE
    with ``run_at`` (a datetime; naive means UTC)."""

    name: str
    task: str
    schedule_type: ScheduleType = ScheduleType.CRON
    cron_expression: Optional[str] = None
    interval_seconds: Optional[Seconds] = None
    run_at: Optional[_dt.datetime] = None
    args: Optional[List[Any]] = None
    kwargs: Optional[Dict[str, Any]] = None
    queue: Optional[str] = None
    priority: Optional[int] = None
    timezone: Optional[str] = None
    enabled: bool = True
    missed: str = "skip"
    expires: Optional[Seconds] = None
    max_retries: Optional[int] = None
    extra: Dict[str, Any] = field(default_factory=dict)


@dataclass
class ProgressUpdate:
    """One progress update of a task, as a progress callback gets it.
    ``percent`` is None while the total is unknown; ``rate`` is units per
    second (0 unknown); ``eta_s`` seconds to go (None unknown)."""

    task_id: str
    name: str
    state: str
    current: int
    total: int
    percent: Optional[float]
    rate: float
    message: str
    eta_s: Optional[float]
    at_ms: int
    is_final: bool
