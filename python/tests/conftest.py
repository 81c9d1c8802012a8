# SPDX-License-Identifier: MIT
"""Fixtures: a private Redis (the one run-with-redis.sh started, or one of
our own on a unix socket) and a real `syncq worker` on queue "py"."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))
BUILD = Path(os.environ.get("SYNCQ_BUILD_DIR", ROOT / "build"))
os.environ.setdefault("SYNCQ_LIBRARY", str(BUILD / "libsyncq.so"))
SYNCQ = os.environ.get("SYNCQ_BIN", str(BUILD / "syncq"))


@pytest.fixture(scope="session")
def redis_sock(tmp_path_factory):
    """The Redis socket: run-with-redis.sh's, else a private server."""
    sock = os.environ.get("SYNCQ_REDIS_SOCK")
    if sock:
        yield sock
        return
    d = tmp_path_factory.mktemp("redis")
    sock = str(d / "redis.sock")
    proc = subprocess.Popen(
        ["redis-server", "--port", "0", "--unixsocket", sock, "--save", "",
         "--dir", str(d)], stdout=subprocess.DEVNULL)
    for _ in range(100):
        if os.path.exists(sock):
            break
        time.sleep(0.05)
    os.environ["SYNCQ_BROKER_URL"] = "unix://" + sock
    yield sock
    proc.terminate()
    proc.wait(10)


def redis(sock: str, *args: str) -> str:
    """One redis-cli command (checks what a call wrote)."""
    return subprocess.run(["redis-cli", "-s", sock, *args], check=True,
                          capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="session")
def worker(redis_sock, tmp_path_factory):
    """A real worker, two children, on queue "py"."""
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    env = dict(os.environ, SYNCQ_BROKER_URL="unix://" + redis_sock,
               SYNCQ_HEARTBEAT_INTERVAL="1")
    proc = subprocess.Popen([SYNCQ, "worker", "-Q", "py", "-c", "2",
                             "--logfile", str(log)], env=env)
    yield proc
    proc.terminate()
    proc.wait(20)


@pytest.fixture
def qm(redis_sock):
    import syncq
    m = syncq.QueueManager(broker_url="unix://" + redis_sock)
    yield m
    m.close()


def have_tool(name: str) -> bool:
    return shutil.which(name) is not None
