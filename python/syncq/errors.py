# SPDX-License-Identifier: MIT
"""Exceptions raised by the syncq client: each carries syncq's error code
(``code``, e.g. ``"EINVAL"``), its number (``errno``, negative) and the
library's one-line message (``message``)."""

from __future__ import annotations


class SyncqError(Exception):
    """A syncq call failed. ``code`` is the stable token of the C error
    code (EINVAL, ECONN, ENOTFOUND, ...), ``message`` the library's
    message naming the field or input at fault."""

    def __init__(self, code: str, errno: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.errno = errno
        self.message = message


class InvalidArgument(SyncqError, ValueError):
    """EINVAL: bad input (the message names the field)."""


class TaskNotFound(SyncqError, LookupError):
    """ENOTFOUND: no such task, schedule or batch (or its result expired)."""


class BrokerUnavailable(SyncqError, ConnectionError):
    """ECONN: Redis unreachable; nothing was written."""


class TaskTimeout(SyncqError, TimeoutError):
    """ETIMEDOUT: the task did not end in time. ``task`` holds its current
    record."""

    task: dict = {}


class InvalidState(SyncqError):
    """ESTATE: not allowed in the task's current state."""


class AlreadyExists(SyncqError):
    """EEXIST: e.g. a schedule of that name exists."""


class PayloadTooLarge(SyncqError):
    """ETOOBIG: arguments over SYNCQ_MAX_PAYLOAD."""


_BY_CODE = {
    "EINVAL": InvalidArgument,
    "ENOTFOUND": TaskNotFound,
    "ECONN": BrokerUnavailable,
    "ETIMEDOUT": TaskTimeout,
    "ESTATE": InvalidState,
    "EEXIST": AlreadyExists,
    "ETOOBIG": PayloadTooLarge,
}


def error_for(code: str, errno: int, message: str) -> SyncqError:
    """The exception class of ``code`` (SyncqError for the others)."""
    return _BY_CODE.get(code, SyncqError)(code, errno, message)
