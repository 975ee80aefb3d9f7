"""Client helpers: raw sockets that send exact bytes, a small response reader, TLS contexts."""

import json
import socket
import ssl
import time


class TestFailure(AssertionError):
    pass


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


class Response:
    def __init__(self, version, status, reason, headers, body):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers  # [(name, value)] in order
        self.body = body

    def all(self, name):
        name = name.lower()
        return [v for n, v in self.headers if n.lower() == name]

    def get(self, name, default=None):
        v = self.all(name)
        return v[0] if v else default

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            raise TestFailure("response body is not JSON: %r" % self.body[:200])

    def closes(self):
        return any("close" in v.lower() for v in self.all("connection"))

    def __repr__(self):
        return "<%d %s, %d body bytes>" % (self.status, self.reason, len(self.body))


class Closed(Exception):
    """The server closed the connection before a whole response arrived."""

    def __init__(self, msg, partial=b""):
        Exception.__init__(self, msg)
        self.partial = partial


def client_context(certs, cert=None, ca="server-ca", tls_max=None):
    """A TLS client context trusting the gateway's server CA, presenting `cert` if given."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(certs.pem(ca))
    if cert:
        ctx.load_cert_chain(certs.pem(cert), certs.key(cert))
    if tls_max:
        ctx.maximum_version = tls_max
    return ctx


class Conn:
    """One client connection (plain or TLS) to host:port (default 127.0.0.1)."""

    def __init__(self, port, ctx=None, timeout=5.0, server_hostname="localhost",
                 handshake=True, host="127.0.0.1"):
        self.raw = socket.create_connection((host, port), timeout=timeout)
        self.raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self.raw
        self.buf = b""
        self.eof = False
        if ctx is not None:
            self.sock = ctx.wrap_socket(self.raw, server_hostname=server_hostname,
                                        do_handshake_on_connect=handshake,
                                        suppress_ragged_eofs=True)
        self.timeout = timeout

    def local_port(self):
        return self.raw.getsockname()[1]

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data)

    def _fill(self, deadline):
        left = deadline - time.time()
        if left <= 0:
            raise socket.timeout("timed out")
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(262144)
        except ConnectionResetError:
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def _until(self, sep, deadline, limit=1 << 20):
        while True:
            i = self.buf.find(sep)
            if i >= 0:
                out, self.buf = self.buf[:i + len(sep)], self.buf[i + len(sep):]
                return out
            if len(self.buf) > limit:
                raise TestFailure("no %r in %d bytes from the gateway" % (sep, limit))
            if not self._fill(deadline):
                raise Closed("connection closed after %d bytes" % len(self.buf), self.buf)

    def _exact(self, n, deadline):
        while len(self.buf) < n:
            if not self._fill(deadline):
                raise Closed("connection closed with %d of %d body bytes" % (len(self.buf), n),
                             self.buf)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_head(self, timeout=None):
        """Read one response head. Returns (version, status, reason, headers)."""
        deadline = time.time() + (timeout or self.timeout)
        raw = self._until(b"\r\n\r\n", deadline, 1 << 20)
        lines = raw[:-4].split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        check(len(parts) >= 2 and parts[0] in (b"HTTP/1.1", b"HTTP/1.0")
              and len(parts[1]) == 3 and parts[1].isdigit(),
              "bad status line from the gateway: %r" % lines[0][:100])
        headers = []
        for line in lines[1:]:
            check(b":" in line and line[:1] not in (b" ", b"\t"),
                  "bad header line from the gateway: %r" % line[:100])
            n, v = line.split(b":", 1)
            check(n == n.strip(), "whitespace in header name from the gateway: %r" % n)
            headers.append((n.decode("latin-1"), v.strip(b" \t").decode("latin-1")))
        reason = parts[2].decode("latin-1") if len(parts) > 2 else ""
        return parts[0].decode(), int(parts[1]), reason, headers

    def read_response(self, method="GET", timeout=None, allow_interim=False):
        """Read one whole response (1xx interim responses are skipped unless allow_interim).
        Raises Closed if the connection ends before the response does."""
        deadline = time.time() + (timeout or self.timeout)
        while True:
            version, status, reason, headers = self.read_head(max(0.01, deadline - time.time()))
            if status >= 200 or allow_interim:
                break
        r = Response(version, status, reason, headers, b"")
        te, cl = r.all("transfer-encoding"), r.all("content-length")
        check(not (te and cl), "gateway sent Content-Length and Transfer-Encoding")
        check(len(cl) <= 1, "gateway sent %d Content-Length fields" % len(cl))
        if method == "HEAD" or status < 200 or status in (204, 304):
            return r
        if te:
            check([t.lower() for t in te] == ["chunked"], "gateway sent TE %r" % te)
            r.body = self._chunked(deadline)
        elif cl:
            check(cl[0].isdigit(), "bad Content-Length from the gateway %r" % cl[0])
            r.body = self._exact(int(cl[0]), deadline)
        else:
            while self._fill(deadline):
                pass
            r.body, self.buf = self.buf, b""
        return r

    def _chunked(self, deadline):
        parts = []
        while True:
            line = self._until(b"\r\n", deadline, 8192)[:-2]
            size = line.split(b";", 1)[0].strip()
            try:
                n = int(size, 16)
            except ValueError:
                raise TestFailure("bad chunk size from the gateway: %r" % line[:60])
            if n == 0:
                while self._until(b"\r\n", deadline, 8192) != b"\r\n":
                    pass
                return b"".join(parts)
            parts.append(self._exact(n, deadline))
            check(self._exact(2, deadline) == b"\r\n", "no CRLF after chunk from the gateway")

    def wait_closed(self, timeout=3.0):
        """Wait for the server to close. Returns "closed", "timeout" or "data" (bytes arrived,
        kept in self.buf)."""
        if self.eof:
            return "closed" if not self.buf else "data"
        if self.buf:
            return "data"
        deadline = time.time() + timeout
        try:
            if self._fill(deadline):
                return "data"
            return "closed"
        except socket.timeout:
            return "timeout"
        except ssl.SSLError:
            return "closed"
        except OSError:
            return "closed"

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def build_request(method, path, headers=None, body=None, host="localhost", version="HTTP/1.1",
                  chunked=False):
    """Request bytes. headers: list of (name, value); Content-Length added for a body unless
    chunked (then body is a list of chunks) or the caller set one."""
    lines = ["%s %s %s" % (method, path, version)]
    if host is not None:
        lines.append("Host: " + host)
    hdrs = list(headers or [])
    names = {n.lower() for n, _ in hdrs}
    if chunked:
        hdrs.append(("Transfer-Encoding", "chunked"))
    elif body is not None and "content-length" not in names:
        hdrs.append(("Content-Length", str(len(body))))
    lines += ["%s: %s" % kv for kv in hdrs]
    out = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    if chunked:
        for c in body or []:
            out += b"%x\r\n" % len(c) + c + b"\r\n"
        out += b"0\r\n\r\n"
    elif body is not None:
        out += body
    return out


def request(port, method, path, headers=None, body=None, ctx=None, timeout=5.0, **kw):
    """One request on a fresh connection; returns the Response."""
    with Conn(port, ctx, timeout) as c:
        c.send(build_request(method, path, headers, body, **kw))
        return c.read_response(method)


PROBLEM_CODES = {
    400: ["bad-request"], 401: ["partner-unidentified"], 403: ["partner-not-allowed"],
    404: ["route-not-found"], 405: ["method-not-allowed"], 408: ["client-timeout"],
    413: ["body-too-large"], 414: ["uri-too-long"], 417: ["expectation-failed"],
    431: ["header-too-large"], 501: ["not-implemented"],
    502: ["upstream-unavailable", "bad-upstream-response"], 504: ["upstream-timeout"],
    505: ["version-not-supported"],
}


def check_problem(r, statuses, codes=None, detail=None):
    """Assert an RFC 9457 problem response. statuses: int or list; codes: the allowed problem
    codes (default: the ones that go with the status); detail: substrings of which one must be
    in the detail (case-insensitive). Returns the parsed document."""
    if isinstance(statuses, int):
        statuses = [statuses]
    check(r.status in statuses, "status %d, expected %s (body %r)"
          % (r.status, "/".join(map(str, statuses)), r.body[:200]))
    ctype = r.get("content-type", "")
    check(ctype.split(";")[0].strip().lower() == "application/problem+json",
          "%d with Content-Type %r, expected application/problem+json" % (r.status, ctype))
    doc = r.json()
    check(isinstance(doc, dict), "problem body is not an object")
    allowed = codes if codes is not None else PROBLEM_CODES.get(r.status, [])
    if isinstance(allowed, str):
        allowed = [allowed]
    check(doc.get("type") in ["urn:portico:problem:" + c for c in allowed],
          "problem type %r, expected urn:portico:problem:%s" % (doc.get("type"), "|".join(allowed)))
    check(isinstance(doc.get("title"), str) and doc["title"], "problem without a title")
    check(doc.get("status") == r.status, "problem status %r in a %d response"
          % (doc.get("status"), r.status))
    check(isinstance(doc.get("detail"), str), "problem without a detail")
    rid = r.get("x-request-id")
    check(rid is not None, "problem response without X-Request-Id")
    check(doc.get("request_id") == rid, "problem request_id %r != X-Request-Id %r"
          % (doc.get("request_id"), rid))
    if detail:
        if isinstance(detail, str):
            detail = [detail]
        check(any(d.lower() in doc["detail"].lower() for d in detail),
              "problem detail %r does not say %s" % (doc["detail"], " or ".join(map(repr, detail))))
    return doc


def poll(fn, timeout=5.0):
    """Call fn until it returns true or timeout passes; returns its last value."""
    end = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() > end:
            return v
        time.sleep(0.1)
