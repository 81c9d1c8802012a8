#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""redis_cut_proxy.py LISTEN_SOCK REDIS_SOCK CTL_DIR: a unix-socket proxy in
front of the test's real redis-server that loses one connection on demand,
the way a network or a restarted Redis does (issue 12 item 3, issue 16's
idempotency gap). Every byte is passed through unchanged until the test
writes CTL_DIR/cut, one line "MODE PATTERN":

  reply PATTERN    the next request containing PATTERN is passed to Redis,
                   which runs it; its reply is thrown away and the client's
                   connection closed (a reply lost after the command ran)
  request PATTERN  the connection is closed as soon as a request
                   containing PATTERN starts arriving, before it is passed
                   on (the client's write fails part-way: EPIPE)

After acting the proxy removes CTL_DIR/cut and appends "MODE PATTERN" to
CTL_DIR/cuts.log, so the test knows the cut happened. Only the standard
library; one thread per connection.
"""

import os
import select
import socket
import sys
import threading

LISTEN, REDIS, CTL = sys.argv[1], sys.argv[2], sys.argv[3]
CUT = os.path.join(CTL, "cut")
LOG = os.path.join(CTL, "cuts.log")
lock = threading.Lock()


def take_cut(data: bytes):
    """The armed cut if `data` holds its pattern (then disarmed)."""
    with lock:
        try:
            with open(CUT) as f:
                mode, pattern = f.read().split(None, 1)
        except (OSError, ValueError):
            return None
        pattern = pattern.strip()
        if pattern.encode() not in data:
            return None
        os.unlink(CUT)
        with open(LOG, "a") as f:
            f.write(f"{mode} {pattern}\n")
        return mode


def serve(client: socket.socket):
    redis = socket.socket(socket.AF_UNIX)
    try:
        redis.connect(REDIS)
    except OSError:
        client.close()
        return
    dropping = False
    tail = b""  # the end of the last chunk: a pattern may straddle two
    try:
        while True:
            ready, _, _ = select.select([client, redis], [], [])
            if client in ready:
                data = client.recv(65536)
                if not data:
                    return
                mode = take_cut(tail + data)
                tail = data[-256:]
                if mode == "request":
                    return  # closed with the request unread
                redis.sendall(data)
                if mode == "reply":
                    dropping = True
            if redis in ready:
                data = redis.recv(65536)
                if not data:
                    return
                if dropping:
                    return  # the reply is dropped with the connection
                client.sendall(data)
    except OSError:
        pass
    finally:
        client.close()
        redis.close()


def main():
    try:
        os.unlink(LISTEN)
    except FileNotFoundError:
        pass
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(LISTEN)
    srv.listen(64)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
