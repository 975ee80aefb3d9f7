"""Scripted upstream servers: a thread per connection, HTTP/1.1 keep-alive, behaviour chosen by
the request path.

A path segment starting with "~" names the behaviour and the segments after it are key=value
parameters: "/pub/~slow/ms=3000" sleeps 3 s and then echoes. Without a "~" segment the request is
echoed. Behaviours:

  echo            200 (or status=N), JSON of what arrived, Content-Length; close=1: with
                  Connection: close, then close
  dropidle        echo without Connection: close, then close the connection ms=N later
  chunked         size=N bytes of seeded random data (or the echo JSON) in random-sized chunks
  big             size=N bytes of seeded random data with Content-Length
  eof             a close-delimited response: no Content-Length, no Transfer-Encoding, then close
  slow            sleep ms=N, then echo
  close           read the request, close without a word
  truncate        head announcing Content-Length 100000, 1000 bytes, close
  clte            response with both Content-Length and Transfer-Encoding
  badstatus       a status line that is not one ("HTTP/1.1 2OO OK")
  badchunk        chunked response whose first chunk size is "zz" (sent with the head)
  badchunklater   chunked response: 64 KiB of good chunks, a pause, then a bad chunk size
  mirror          the request's own body back, with its Content-Type (type=a+b: a/b instead),
                  status=N, chunked=1 (in two chunks); X-Seen-Content-Type: what arrived

Random bodies carry their SHA-256 in X-Body-Sha256 so the client can check what it got.
Everything that arrived is kept (requests, connection source ports, protocol errors seen on the
gateway's side of the wire) for the tests to assert on.
"""

import hashlib
import json
import random
import select
import socket
import ssl
import threading
import time


class ProtocolError(Exception):
    pass


class Reader:
    """Buffered reads from a socket with a deadline per call."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError()
        self.buf += data

    def until(self, sep, limit):
        while True:
            i = self.buf.find(sep)
            if i >= 0:
                out, self.buf = self.buf[:i + len(sep)], self.buf[i + len(sep):]
                return out
            if len(self.buf) > limit:
                raise ProtocolError("no %r within %d bytes" % (sep, limit))
            self._fill()

    def exact(self, n, sink=None):
        """Read n bytes; with a sink, pass pieces to it instead of returning them."""
        parts = []
        while n > 0:
            if not self.buf:
                self._fill()
            take = self.buf[:n]
            self.buf = self.buf[len(take):]
            n -= len(take)
            if sink:
                sink(take)
            else:
                parts.append(take)
        return b"".join(parts)


class _Keep:
    """A hash that also keeps what it is fed (the mirror mode's body)."""

    def __init__(self, h, kept):
        self.h, self.kept = h, kept

    def update(self, b):
        self.h.update(b)
        self.kept.append(bytes(b))

    def hexdigest(self):
        return self.h.hexdigest()


def parse_head(raw):
    """Request head bytes to (method, target, version, [(name, value)]), strictly."""
    lines = raw[:-4].split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
        raise ProtocolError("bad request line %r" % lines[0][:100])
    headers = []
    for line in lines[1:]:
        if b"\n" in line or b"\r" in line or line[:1] in (b" ", b"\t") or b":" not in line:
            raise ProtocolError("bad header line %r" % line[:100])
        name, value = line.split(b":", 1)
        if name != name.strip() or not name:
            raise ProtocolError("bad header name %r" % name[:100])
        headers.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
    return (parts[0].decode("latin-1"), parts[1].decode("latin-1"),
            parts[2].decode("latin-1"), headers)


def hget(headers, name):
    name = name.lower()
    vals = [v for n, v in headers if n.lower() == name]
    return vals


def mode_of(target):
    path = target.split("?", 1)[0]
    mode, params = "echo", {}
    segs = path.split("/")
    for i, seg in enumerate(segs):
        if seg.startswith("~"):
            mode = seg[1:]
            for p in segs[i + 1:]:
                if "=" in p:
                    k, v = p.split("=", 1)
                    params[k] = v
            break
    return mode, params


def random_body(size, seed):
    return random.Random(seed).randbytes(size)


def chunk_sizes(total, seed):
    rnd = random.Random(seed + 1)
    sizes = []
    while total > 0:
        n = min(total, rnd.choice([1, 7, 100, 1000, 4096, 8192, 30000]))
        sizes.append(n)
        total -= n
    return sizes


class Upstream:
    """One scripted upstream on a free loopback port (127.0.0.1, and ::1 with also_v6), or on the
    given loopback address and port."""

    def __init__(self, name="up", tls=None, also_v6=False, host="127.0.0.1", port=0):
        self.name = name
        self.tls = tls
        self.lock = threading.Lock()
        self.requests = []        # one dict per request (the echo document plus "mode")
        self.conns = []           # source port of every accepted connection, in order
        self.big_sent = 0         # body bytes the "big" mode has handed to the kernel
        self.errors = []          # protocol errors in what the gateway sent
        self.aborted = 0          # requests whose connection ended mid-body
        self.tls_errors = []      # failed handshakes
        self.body_bytes = 0       # request body bytes read so far, all requests
        self.stopping = False
        self.socks = []
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        s.listen(128)
        self.port = s.getsockname()[1]
        self.socks.append(s)
        if also_v6:
            try:
                s6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
                s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                s6.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s6.bind(("::1", self.port))
                s6.listen(128)
                self.socks.append(s6)
            except OSError:
                pass
        self.wake_r, self.wake_w = socket.socketpair()
        self.open_conns = set()
        t = threading.Thread(target=self._accept_loop, daemon=True)
        t.start()
        self.acceptor = t

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self):
        if self.stopping:  # closed already (a test may close it early)
            return
        self.stopping = True
        self.wake_w.send(b"x")
        self.acceptor.join(2)
        for s in self.socks + [self.wake_r, self.wake_w]:
            s.close()
        with self.lock:
            conns = list(self.open_conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()

    def _accept_loop(self):
        while not self.stopping:
            r, _, _ = select.select(self.socks + [self.wake_r], [], [], 1.0)
            for s in r:
                if s is self.wake_r:
                    return
                try:
                    c, peer = s.accept()
                except OSError:
                    continue
                with self.lock:
                    self.conns.append(peer[1])
                    self.open_conns.add(c)
                t = threading.Thread(target=self._serve, args=(c, peer), daemon=True)
                t.start()

    # -- what the tests read -----------------------------------------------------------------

    def snapshot(self):
        with self.lock:
            return list(self.requests), list(self.conns), list(self.errors)

    def wait_requests(self, n, timeout=5.0):
        end = time.time() + timeout
        while time.time() < end:
            with self.lock:
                if len(self.requests) >= n:
                    return True
            time.sleep(0.02)
        return False

    # -- serving -----------------------------------------------------------------------------

    def _serve(self, c, peer):
        conn_id = peer[1]
        sock = c
        try:
            c.settimeout(30)
            if self.tls is not None:
                try:
                    sock = self.tls.wrap_socket(c, server_side=True)
                except (ssl.SSLError, OSError) as e:
                    with self.lock:
                        self.tls_errors.append(str(e))
                    return
            rd = Reader(sock)
            nreq = 0
            while not self.stopping:
                try:
                    head = rd.until(b"\r\n\r\n", 65536)
                except EOFError:
                    return
                nreq += 1
                if not self._one(sock, rd, head, conn_id, nreq):
                    return
        except ProtocolError as e:
            with self.lock:
                self.errors.append(str(e))
        except EOFError:
            with self.lock:
                self.aborted += 1
        except (OSError, ssl.SSLError):
            pass
        finally:
            with self.lock:
                self.open_conns.discard(c)
            try:
                sock.close()
            except OSError:
                pass

    def _read_body(self, sock, rd, headers, version, h):
        """Read the request body into hash h; returns its length."""
        cl, te = hget(headers, "content-length"), hget(headers, "transfer-encoding")
        total = [0]

        def sink(b):
            h.update(b)
            total[0] += len(b)
            with self.lock:
                self.body_bytes += len(b)

        if cl and te:
            raise ProtocolError("request with Content-Length and Transfer-Encoding")
        if len(cl) > 1:
            raise ProtocolError("several Content-Length fields")
        if [v.lower() for v in hget(headers, "expect")] == ["100-continue"] and (cl or te):
            sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        if te:
            if [v.lower() for v in te] != ["chunked"]:
                raise ProtocolError("request Transfer-Encoding %r" % te)
            while True:
                line = rd.until(b"\r\n", 4096)[:-2]
                size = line.split(b";", 1)[0]
                if not size or any(ch not in b"0123456789abcdefABCDEF" for ch in size):
                    raise ProtocolError("bad chunk size line %r" % line[:50])
                n = int(size, 16)
                if n == 0:
                    while rd.until(b"\r\n", 8192) != b"\r\n":
                        pass
                    break
                rd.exact(n, sink)
                if rd.exact(2) != b"\r\n":
                    raise ProtocolError("no CRLF after chunk data")
        elif cl:
            if not cl[0].isdigit():
                raise ProtocolError("bad Content-Length %r" % cl[0])
            rd.exact(int(cl[0]), sink)
        return total[0]

    def _one(self, sock, rd, head, conn_id, nreq):
        """Serve one request. Returns False when the connection is to be closed."""
        method, target, version, headers = parse_head(head)
        mode, params = mode_of(target)
        h = hashlib.sha256()
        kept = []
        if mode == "mirror":
            h = _Keep(h, kept)
        body_len = self._read_body(sock, rd, headers, version, h)
        doc = {
            "server": self.name, "method": method, "target": target, "version": version,
            "headers": headers, "body_len": body_len, "body_sha256": h.hexdigest(),
            "peer_port": conn_id, "conn_request": nreq, "mode": mode,
        }
        if kept:
            doc["body"] = b"".join(kept)
        if self.tls is not None:
            peer = sock.getpeercert()
            doc["client_cert"] = dict(x[0] for x in peer["subject"]) if peer else None
        with self.lock:
            self.requests.append(doc)
        head_only = method == "HEAD"
        closing = any("close" in v.lower() for v in hget(headers, "connection"))
        handler = getattr(self, "_m_" + mode, None)
        if handler is None:
            return self._send_echo(sock, doc, head_only, closing, 400)
        return handler(sock, doc, params, head_only, closing)

    def _send(self, sock, status, headers, body, head_only):
        out = "HTTP/1.1 %d %s\r\n" % (status, "OK" if status == 200 else "Status")
        out += "".join("%s: %s\r\n" % kv for kv in headers) + "\r\n"
        sock.sendall(out.encode("latin-1") + (b"" if head_only else body))

    def _send_echo(self, sock, doc, head_only, closing, status=200):
        body = json.dumps(doc).encode()
        hdrs = [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                ("X-Upstream", self.name)]
        if closing:
            hdrs.append(("Connection", "close"))
        self._send(sock, status, hdrs, body, head_only)
        return not closing

    def _m_echo(self, sock, doc, params, head_only, closing):
        return self._send_echo(sock, doc, head_only, closing or params.get("close") == "1",
                               int(params.get("status", 200)))

    def _m_mirror(self, sock, doc, params, head_only, closing):
        """Answer with the request's body and Content-Type (status=N, chunked=1, type=T)."""
        body = doc.pop("body", b"")
        ctype = params.get("type", "").replace("+", "/") or \
            (hget(doc["headers"], "content-type") or ["application/octet-stream"])[0]
        hdrs = [("Content-Type", ctype), ("X-Upstream", self.name),
                ("X-Seen-Content-Type", ",".join(hget(doc["headers"], "content-type")))]
        if params.get("chunked") == "1":
            hdrs.append(("Transfer-Encoding", "chunked"))
            half = len(body) // 2
            payload = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (body[:half], body[half:])
                               if p) + b"0\r\n\r\n"
        else:
            hdrs.append(("Content-Length", str(len(body))))
            payload = body
        if closing:
            hdrs.append(("Connection", "close"))
        self._send(sock, int(params.get("status", 200)), hdrs, payload, head_only)
        return not closing

    def _m_dropidle(self, sock, doc, params, head_only, closing):
        """Echo as if keeping the connection, then close it soon after (an idle timeout)."""
        self._send_echo(sock, doc, head_only, False)
        time.sleep(float(params.get("ms", 50)) / 1000.0)
        return False

    def _m_slow(self, sock, doc, params, head_only, closing):
        time.sleep(int(params.get("ms", 3000)) / 1000.0)
        return self._send_echo(sock, doc, head_only, closing)

    def _m_big(self, sock, doc, params, head_only, closing):
        size, seed = int(params.get("size", 1000)), int(params.get("seed", 1))
        body = random_body(size, seed)
        hdrs = [("Content-Type", "application/octet-stream"), ("Content-Length", str(size)),
                ("X-Body-Sha256", hashlib.sha256(body).hexdigest())]
        self._send(sock, 200, hdrs, b"", True)
        if not head_only:
            # in slices, counting, so that a test can see how far a reader let it get
            for off in range(0, size, 262144):
                sock.sendall(body[off:off + 262144])
                with self.lock:
                    self.big_sent += len(body[off:off + 262144])
        return not closing

    def _m_chunked(self, sock, doc, params, head_only, closing):
        if "size" in params:
            size, seed = int(params["size"]), int(params.get("seed", 1))
            body = random_body(size, seed)
        else:
            seed, body = 7, json.dumps(doc).encode()
        hdrs = [("Content-Type", "application/octet-stream"), ("Transfer-Encoding", "chunked"),
                ("X-Body-Sha256", hashlib.sha256(body).hexdigest())]
        self._send(sock, 200, hdrs, b"", True)
        if head_only:
            return not closing
        off = 0
        for n in chunk_sizes(len(body), seed):
            sock.sendall(b"%x\r\n" % n + body[off:off + n] + b"\r\n")
            off += n
        sock.sendall(b"0\r\n\r\n")
        return not closing

    def _m_eof(self, sock, doc, params, head_only, closing):
        size, seed = int(params.get("size", 5000)), int(params.get("seed", 3))
        body = random_body(size, seed)
        hdrs = [("Content-Type", "application/octet-stream"), ("Connection", "close"),
                ("X-Body-Sha256", hashlib.sha256(body).hexdigest())]
        self._send(sock, 200, hdrs, b"", True)
        for i in range(0, len(body), 1000):
            sock.sendall(body[i:i + 1000])
        return False

    def _m_close(self, sock, doc, params, head_only, closing):
        return False

    def _m_truncate(self, sock, doc, params, head_only, closing):
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000)
        time.sleep(0.2)
        return False

    def _m_clte(self, sock, doc, params, head_only, closing):
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n"
                     b"\r\n0\r\n\r\n")
        return False

    def _m_badstatus(self, sock, doc, params, head_only, closing):
        sock.sendall(b"HTTP/1.1 2OO OK\r\nContent-Length: 2\r\n\r\nok")
        return False

    def _m_badchunk(self, sock, doc, params, head_only, closing):
        sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"zz\r\nhello\r\n0\r\n\r\n")
        return False

    def _m_badchunklater(self, sock, doc, params, head_only, closing):
        sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(8):
            sock.sendall(b"2000\r\n" + b"a" * 8192 + b"\r\n")
        time.sleep(0.3)
        sock.sendall(b"zz\r\nhello\r\n0\r\n\r\n")
        time.sleep(0.2)
        return False


def tls_server_context(certs, cert_name, client_ca=None):
    """A server context for an https upstream; with client_ca, a client certificate issued by
    that CA is required."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(certs.pem(cert_name), certs.key(cert_name))
    if client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(certs.pem(client_ca))
    return ctx
