#!/usr/bin/python3
"""A standalone upstream server, in its own process, for the tests that kill upstreams (SIGKILL)
and start them again on the same port (cases_failover.py). Python standard library only.

Usage: upstream_proc.py --port N --name NAME --log FILE [--post-delay-ms MS] [--post-status N]
                         [--host 127.0.0.1]

A thread per connection, HTTP/1.1 keep-alive. It answers:
  GET /health   200 "ok" (text/plain)
  GET other     200, JSON {"server": NAME, "method": "GET", "target": ...}
  POST          the body's unique id (JSON {"id": "..."}, else the X-Body-Id field) is appended
                to FILE, one per line, with flush and fsync BEFORE the answer: 200, JSON
                {"server": NAME, "method": "POST", "id": ...}, sent MS milliseconds after the
                fsync (default 0; MS > 0 is a backend at work). A process killed at any moment
                has logged every POST it answered, and maybe some it had not answered yet.
                A POST with an Idempotency-Key field is logged as "ID<TAB>KEY<TAB>PARTNER" (the
                X-Partner-Id field, or "-"). With --post-status N, every POST is logged and
                answered N (a backend that fails).
  PUT, DELETE, PATCH, OPTIONS 405; a POST without an id 400.

The listening socket takes SO_REUSEADDR, so that a new process can listen on the port of one
that was just killed. Once it listens it prints "ready PORT" on stdout (one line, flushed) and
nothing more.
"""

import argparse
import http.server
import json
import os
import sys
import threading
import time


class Server(http.server.ThreadingHTTPServer):
    allow_reuse_address = True   # SO_REUSEADDR: listen again on the port of a killed process
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, addr, name, log_path, post_delay, post_status=200):
        self.name = name
        self.post_delay = post_delay
        self.post_status = post_status
        self.log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.log_lock = threading.Lock()
        http.server.ThreadingHTTPServer.__init__(self, addr, Handler)

    def record(self, body_id):
        """Append the id to the log and make it durable before anyone is told it arrived."""
        line = (body_id + "\n").encode()
        with self.log_lock:
            os.write(self.log_fd, line)  # O_APPEND: one write, one line
            os.fsync(self.log_fd)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"    # keep-alive unless the client says close
    disable_nagle_algorithm = True   # no 40 ms delayed-ACK stall on small answers

    def log_message(self, fmt, *args):  # quiet: the test reads the log file, not stderr
        pass

    def answer(self, status, body, ctype="application/json"):
        """The whole response in one write: a SIGKILL comes before it or after it, never between
        the head and the body (a head without its body would be another test)."""
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        head = "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s\r\n" % (
            status, self.responses.get(status, ("",))[0], ctype, len(body),
            "Connection: close\r\n" if self.close_connection else "")
        self.wfile.write(head.encode("latin-1") + body)
        self.wfile.flush()

    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if te == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def do_GET(self):
        if self.path.split("?", 1)[0] == "/health":
            self.answer(200, "ok", "text/plain")
            return
        self.answer(200, {"server": self.server.name, "method": "GET", "target": self.path})

    def do_POST(self):
        body = self.read_body()
        body_id = None
        try:
            doc = json.loads(body)
            if isinstance(doc, dict) and isinstance(doc.get("id"), str):
                body_id = doc["id"]
        except ValueError:
            pass
        if body_id is None:
            body_id = self.headers.get("X-Body-Id")
        if not body_id or "\n" in body_id:
            self.answer(400, {"server": self.server.name, "error": "no id in the body"})
            return
        key = self.headers.get("Idempotency-Key")
        if key is not None:
            body_id = "%s\t%s\t%s" % (body_id, key, self.headers.get("X-Partner-Id") or "-")
        self.server.record(body_id)
        if self.server.post_delay > 0:
            time.sleep(self.server.post_delay)
        self.answer(self.server.post_status, {"server": self.server.name, "method": "POST",
                                              "id": body_id})

    def do_other(self):
        self.read_body()
        self.answer(405, {"server": self.server.name, "error": "GET or POST only"})

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_other


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--post-delay-ms", type=int, default=0)
    p.add_argument("--post-status", type=int, default=200)
    p.add_argument("--host", default="127.0.0.1")
    a = p.parse_args()
    srv = Server((a.host, a.port), a.name, a.log, a.post_delay_ms / 1000.0, a.post_status)
    sys.stdout.write("ready %d\n" % srv.server_address[1])
    sys.stdout.flush()
    srv.serve_forever(poll_interval=0.2)


if __name__ == "__main__":
    main()
