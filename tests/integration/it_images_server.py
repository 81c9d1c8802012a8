#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# it_images_server.py DIR PORTFILE LOGFILE: a loopback HTTP server for the
# image tests. Binds 127.0.0.1 on a free port, writes the port to PORTFILE,
# appends "METHOD PATH" per request to LOGFILE.
#   /img/NAME        the file DIR/NAME
#   /status/CODE     an empty answer with that status (429 and 503 carry
#                    Retry-After: 2)
#   /slow/NAME       headers and half of DIR/NAME, then a 60 s stall
#   /flaky/NAME      like /slow the first time, whole file afterwards
#   /nolength/NAME   DIR/NAME without Content-Length (connection close)
import http.server
import os
import socket
import sys
import threading
import time

root, portfile, logfile = sys.argv[1], sys.argv[2], sys.argv[3]
seen = set()
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # Headers and body go out in separate writes: without NODELAY,
        # Nagle + delayed ACK add ~40 ms to every keep-alive request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):
        pass

    def _log(self):
        with lock:
            with open(logfile, "a") as f:
                f.write("%s %s\n" % (self.command, self.path))

    def _file(self, name):
        path = os.path.join(root, os.path.basename(name))
        with open(path, "rb") as f:
            return f.read()

    def do_GET(self):
        self._log()
        parts = self.path.split("/", 2)
        kind = parts[1] if len(parts) > 1 else ""
        arg = parts[2] if len(parts) > 2 else ""
        try:
            if kind == "status":
                code = int(arg)
                self.send_response(code)
                if code in (429, 503):
                    self.send_header("Retry-After", "2")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = self._file(arg)
        except (OSError, ValueError):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        stall = kind == "slow"
        if kind == "flaky":
            with lock:
                stall = arg not in seen
                seen.add(arg)
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        if kind == "nolength":
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if stall:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            time.sleep(60)
            return
        self.wfile.write(body)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(portfile + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(portfile + ".tmp", portfile)
server.serve_forever()
