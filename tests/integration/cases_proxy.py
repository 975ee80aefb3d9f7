"""The proxy: headers to the upstream, keep-alive and pooling, bodies, upstream failures,
client timeouts."""

import hashlib
import random
import re
import socket
import threading
import time

import client
import harness
import scenario
from client import Conn, build_request, check, check_problem
from harness import case
from scenario import hvals

HEX32 = re.compile(r"^[0-9a-fA-F]{32}$")



def forwarded_pairs(value):
    """The pairs of the last element of a Forwarded value, lower-case keys, quotes removed."""
    last = value.split(",")[-1]
    out = {}
    for pair in last.split(";"):
        if "=" in pair:
            k, v = pair.split("=", 1)
            out[k.strip().lower()] = v.strip().strip('"')
    return out


# -- headers to the upstream ---------------------------------------------------------------------

@case
def headers_identity_claims_removed(ctx):
    s = scenario.build(ctx)
    doc = s.echo(s.get("/pub/h", [
        ("X-Partner-Id", "acme"), ("X-Partner-Subject", "CN=acme-client,O=ACME"),
        ("X-Partner-Fingerprint", "00" * 32), ("x-partner-role", "admin"),
        ("X-Client-Cert", "MIIB..."), ("X-Client-Cert-Chain", "MIIC..."),
        ("X-Client-Cert-Subject", "CN=x"), ("X-End-To-End", "kept")]))
    leaked = [n for n, _ in doc["headers"]
              if n.lower().startswith("x-partner-") or n.lower().startswith("x-client-cert")]
    check(not leaked, "client-sent identity headers reached the upstream: %s" % leaked)
    check(hvals(doc, "x-end-to-end") == ["kept"], "an end-to-end header was not passed on")


@case
def headers_forwarding_untrusted_client(ctx):
    s = scenario.build(ctx)
    sent_id = "%032x" % random.getrandbits(128)
    r = s.get("/pub/f", [("X-Forwarded-For", "203.0.113.9"), ("X-Request-Id", sent_id),
                         ("Forwarded", "for=203.0.113.9;proto=https")])
    doc = s.echo(r)
    check(hvals(doc, "x-forwarded-for") == ["127.0.0.1"],
          "X-Forwarded-For at the upstream %r, expected the client address only"
          % hvals(doc, "x-forwarded-for"))
    fwd = hvals(doc, "forwarded")
    check(len(fwd) == 1 and "203.0.113.9" not in fwd[0],
          "Forwarded at the upstream %r: an untrusted client's value must be replaced" % fwd)
    pairs = forwarded_pairs(fwd[0])
    check(pairs.get("for") == "127.0.0.1" and pairs.get("proto") == "http",
          "Forwarded %r, expected for=127.0.0.1;proto=http" % fwd[0])
    check(hvals(doc, "via") == ["1.1 " + scenario.NODE], "Via %r, expected '1.1 %s'"
          % (hvals(doc, "via"), scenario.NODE))
    rid = hvals(doc, "x-request-id")
    check(len(rid) == 1 and HEX32.match(rid[0]), "X-Request-Id at the upstream %r" % rid)
    check(rid[0] != sent_id, "an untrusted client's X-Request-Id was kept")
    check(r.get("x-request-id") == rid[0], "response X-Request-Id %r, upstream saw %r"
          % (r.get("x-request-id"), rid[0]))


@case
def headers_forwarding_trusted_proxy(ctx):
    s = scenario.build(ctx, trusted=["127.0.0.0/8"])
    sent_id = "%032x" % random.getrandbits(128)
    r = s.get("/pub/t", [("X-Forwarded-For", "203.0.113.9"), ("X-Request-Id", sent_id)])
    doc = s.echo(r)
    xff = ",".join(hvals(doc, "x-forwarded-for"))
    check([p.strip() for p in xff.split(",")] == ["203.0.113.9", "127.0.0.1"],
          "X-Forwarded-For %r from a trusted proxy, expected '203.0.113.9, 127.0.0.1'" % xff)
    check(hvals(doc, "x-request-id") == [sent_id], "a trusted proxy's X-Request-Id became %r"
          % hvals(doc, "x-request-id"))
    check(r.get("x-request-id") == sent_id, "response X-Request-Id %r" % r.get("x-request-id"))


@case
def headers_forwarding_trusted_proxy_several_lines(ctx):
    """A trusted proxy's X-Forwarded-For and Forwarded in several lines arrive as one list each,
    in order, with the gateway's own element once at the end."""
    s = scenario.build(ctx, trusted=["127.0.0.0/8"])
    doc = s.echo(s.get("/pub/t", [("X-Forwarded-For", "203.0.113.9"),
                                  ("X-Forwarded-For", "198.51.100.7"),
                                  ("Forwarded", "for=203.0.113.9"),
                                  ("Forwarded", "for=198.51.100.7")]))
    xff = hvals(doc, "x-forwarded-for")
    check(xff == ["203.0.113.9, 198.51.100.7, 127.0.0.1"], "X-Forwarded-For %r" % xff)
    fwd = hvals(doc, "forwarded")
    check(fwd == ["for=203.0.113.9, for=198.51.100.7, for=127.0.0.1;proto=http"],
          "Forwarded %r" % fwd)

@case
def headers_hop_by_hop_removed(ctx):
    s = scenario.build(ctx)
    doc = s.echo(s.get("/pub/hop", [
        ("Connection", "keep-alive, X-Hop-Custom"), ("X-Hop-Custom", "1"),
        ("Keep-Alive", "timeout=5"), ("TE", "trailers"), ("Trailer", "X-Checksum"),
        ("Upgrade", "example/1"), ("Proxy-Connection", "keep-alive"),
        ("Proxy-Authorization", "Basic Zm9vOmJhcg=="), ("X-End-To-End", "kept")]))
    names = {n.lower() for n, _ in doc["headers"]}
    left = names & {"x-hop-custom", "keep-alive", "te", "trailer", "upgrade",
                    "proxy-connection", "proxy-authorization"}
    check(not left, "hop-by-hop headers reached the upstream: %s" % sorted(left))
    for v in hvals(doc, "connection"):
        toks = {t.strip().lower() for t in v.split(",") if t.strip()}
        check(toks <= {"keep-alive", "close"}, "Connection %r reached the upstream" % v)
    check(hvals(doc, "x-end-to-end") == ["kept"], "an end-to-end header was not passed on")


@case
def headers_response_request_id(ctx):
    s = scenario.build(ctx)
    ids = set()
    for _ in range(3):
        r = s.get("/pub/id")
        doc = s.echo(r)
        rid = r.get("x-request-id")
        check(rid and HEX32.match(rid), "response X-Request-Id %r" % rid)
        check(hvals(doc, "x-request-id") == [rid], "upstream saw %r, client got %r"
              % (hvals(doc, "x-request-id"), rid))
        ids.add(rid)
    check(len(ids) == 3, "request ids repeat: %s" % ids)


@case
def headers_forwarding_ipv6_client(ctx):
    s = scenario.build(ctx, listeners=[{"address": "[::1]:{v6}"}])
    with Conn(s.gw.ports["v6"], host="::1") as c:
        c.send(build_request("GET", "/pub/v6"))
        doc = s.echo(c.read_response())
    check(hvals(doc, "x-forwarded-for") == ["::1"], "X-Forwarded-For %r for an IPv6 client"
          % hvals(doc, "x-forwarded-for"))
    fwd = hvals(doc, "forwarded")
    # RFC 7239 6: an IPv6 address is bracketed and, since ':' is not a token character, quoted
    check(len(fwd) == 1 and 'for="[::1]"' in fwd[0] and "proto=http" in fwd[0],
          "Forwarded %r for an IPv6 client, expected for=\"[::1]\";proto=http" % fwd)


# -- keep-alive and pooling ----------------------------------------------------------------------

@case
def keepalive_client_connection_reused(ctx):
    s = scenario.build(ctx)
    with Conn(s.plain) as c:
        for i in range(6):
            c.send(build_request("GET", "/pub/ka%d" % i))
            r = c.read_response()
            doc = s.echo(r)
            check(doc["target"] == "/pub/ka%d" % i, "response %d was for %s" % (i, doc["target"]))
            check(not r.closes(), "gateway closed a keep-alive connection after request %d" % i)
    _, conns, _ = s.up.snapshot()
    check(1 <= len(conns) <= 2, "6 requests on one client connection used %d upstream "
          "connections" % len(conns))


@case
def keepalive_upstream_pool_across_clients(ctx):
    s = scenario.build(ctx)
    for k in range(5):
        with Conn(s.plain) as c:
            for i in range(2):
                c.send(build_request("GET", "/pub/pool%d-%d" % (k, i)))
                s.echo(c.read_response())
    reqs, conns, _ = s.up.snapshot()
    check(len(reqs) == 10, "upstream saw %d requests" % len(reqs))
    # two workers, each with its own pool: at most two upstream connections
    check(len(conns) <= 2, "10 requests from 5 client connections in turn used %d upstream "
          "connections (no pooling?)" % len(conns))


@case
def keepalive_upstream_connection_close_honoured(ctx):
    """An upstream answering with Connection: close is not reused; the client's connection
    goes on."""
    s = scenario.build(ctx)
    with Conn(s.plain) as c:
        c.send(build_request("GET", "/pub/~echo/close=1"))
        s.echo(c.read_response())
        c.send(build_request("GET", "/pub/next"))
        check(s.echo(c.read_response())["target"] == "/pub/next",
              "request after an upstream Connection: close failed")
    _, conns, errors = s.up.snapshot()
    check(not errors, "the upstream got malformed data: %s" % errors[:2])
    check(len(conns) == 2, "%d upstream connections, expected a new one after close"
          % len(conns))


@case
def keepalive_pooled_connection_dropped_by_upstream(ctx):
    """The upstream closes an idle pooled connection (its keep-alive timeout): the next request
    gets a 200, not a 502."""
    s = scenario.build(ctx)
    for _ in range(3):
        with Conn(s.plain) as c:
            c.send(build_request("GET", "/pub/~dropidle/ms=20"))
            s.echo(c.read_response())
        time.sleep(0.3)
    with Conn(s.plain) as c:
        c.send(build_request("GET", "/pub/after-drop"))
        r = c.read_response()
        check(r.status == 200, "request after the upstream dropped its idle connection: %d %r"
              % (r.status, r.body[:150]))


@case
def concurrent_clients_no_crosstalk(ctx):
    """40 client connections at once, 5 requests each with distinct bodies: every response is
    the echo of its own request."""
    s = scenario.build(ctx)
    failures = []

    def worker(k):
        try:
            with Conn(s.plain, timeout=15) as c:
                for i in range(5):
                    body = b"%d-%d-" % (k, i) + b"x" * (k * 37 + i)
                    c.send(build_request("POST", "/pub/c%d/%d" % (k, i), body=body))
                    doc = s.echo(c.read_response(timeout=15))
                    if (doc["target"] != "/pub/c%d/%d" % (k, i)
                            or doc["body_sha256"] != hashlib.sha256(body).hexdigest()):
                        failures.append("client %d request %d got the echo of %s"
                                        % (k, i, doc["target"]))
        except Exception as e:
            failures.append("client %d: %s: %s" % (k, type(e).__name__, e))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    check(not failures, "%d failures, first: %s" % (len(failures), failures[:2]))
    reqs, _, errors = s.up.snapshot()
    check(len(reqs) == 200 and not errors, "upstream saw %d requests, errors %s"
          % (len(reqs), errors[:2]))


@case
def client_aborts(ctx):
    """Clients that vanish mid-body, mid-response and mid-upstream-wait do no harm."""
    s = scenario.build(ctx)
    c = Conn(s.plain)
    c.send(build_request("POST", "/pub/abort", [("Content-Length", "100000")]) + b"x" * 5000)
    time.sleep(0.1)
    c.close()
    c = Conn(s.plain)
    c.send(build_request("GET", "/pub/~big/size=5000000"))
    c.read_head()
    c.close()
    c = Conn(s.plain)
    c.send(build_request("GET", "/pub/~slow/ms=500"))
    time.sleep(0.1)
    c.close()
    c = Conn(s.plain)
    c.send(build_request("POST", "/pub/abort-chunked", body=[b"a" * 100], chunked=True)[:-5])
    c.close()
    time.sleep(0.6)
    s.assert_alive("after clients aborted")


# -- bodies ----------------------------------------------------------------------------------------

@case
def body_chunked_request_intact(ctx):
    s = scenario.build(ctx)
    rnd = random.Random(11)
    data = rnd.randbytes(300000)
    pieces, off = [], 0
    while off < len(data):
        n = rnd.choice([1, 10, 333, 4096, 20000])
        pieces.append(data[off:off + n])
        off += n
    with Conn(s.plain, timeout=15) as c:
        c.send(build_request("POST", "/pub/chunked-in", body=pieces, chunked=True))
        doc = s.echo(c.read_response())
    check(doc["body_len"] == len(data), "upstream got %d bytes of %d" % (doc["body_len"],
                                                                         len(data)))
    check(doc["body_sha256"] == hashlib.sha256(data).hexdigest(), "body changed on the way")


@case
def body_chunked_response_intact(ctx):
    s = scenario.build(ctx)
    with Conn(s.plain, timeout=15) as c:
        c.send(build_request("GET", "/pub/~chunked/size=400000/seed=5"))
        r = c.read_response()
        check(r.status == 200, "status %d" % r.status)
        check(len(r.body) == 400000, "got %d of 400000 bytes" % len(r.body))
        check(hashlib.sha256(r.body).hexdigest() == r.get("x-body-sha256"),
              "chunked response body changed on the way")
        c.send(build_request("GET", "/pub/after"))
        check(s.echo(c.read_response())["target"] == "/pub/after", "connection not reusable")


@case
def body_close_delimited_response_intact(ctx):
    s = scenario.build(ctx)
    with Conn(s.plain, timeout=15) as c:
        c.send(build_request("GET", "/pub/~eof/size=200000/seed=4"))
        r = c.read_response()
        check(r.status == 200, "status %d" % r.status)
        check(len(r.body) == 200000, "got %d of 200000 bytes" % len(r.body))
        check(hashlib.sha256(r.body).hexdigest() == r.get("x-body-sha256"),
              "close-delimited response body changed on the way")
    s.assert_alive("after a close-delimited response")


@case
def body_partner_limit_413(ctx):
    """A partner's own max_body_bytes (lower than the gateway's) applies to its requests."""
    s = scenario.build(ctx, tls="optional", acme_limits={"max_body_bytes": 1000})
    body = b"p" * 2000
    r = client.request(s.tls, "POST", "/acme/orders", body=body, ctx=s.tls_ctx("acme-client"))
    check_problem(r, 413, "body-too-large")
    r = client.request(s.tls, "POST", "/acme/orders", body=body[:900],
                       ctx=s.tls_ctx("acme-client"))
    check(s.echo(r)["body_len"] == 900, "a body under acme's limit was not passed on")
    r = client.request(s.tls, "POST", "/shared/x", body=body, ctx=s.tls_ctx("globex-client"))
    check(s.echo(r)["body_len"] == 2000, "acme's limit applied to globex")
    check(all(q["body_len"] <= 1000 for q in s.up.snapshot()[0] if "acme" in
              "".join(hvals(q, "x-partner-id"))), "acme's over-limit body reached the upstream")


@case(timeout=120)
def body_10mb_request_streamed(ctx):
    s = scenario.build(ctx, timeouts={"client_body_ms": 20000, "upstream_response_ms": 30000})
    size = 10 * 1000 * 1000
    data = random.Random(3).randbytes(size)
    with Conn(s.plain, timeout=60) as c:
        c.send(build_request("POST", "/pub/big-in", [("Content-Length", str(size))]))
        half = size // 2
        c.send(data[:half])
        # the route has no body transform: the upstream must see bytes before the client ends
        end = time.time() + 10
        while s.up.body_bytes == 0 and time.time() < end:
            time.sleep(0.05)
        check(s.up.body_bytes > 0, "upstream saw no body byte while the client had sent %d "
              "(body buffered, not streamed)" % half)
        c.send(data[half:])
        doc = s.echo(c.read_response(timeout=60))
    check(doc["body_len"] == size, "upstream got %d of %d bytes" % (doc["body_len"], size))
    check(doc["body_sha256"] == hashlib.sha256(data).hexdigest(), "10 MB body changed")


@case(timeout=120)
def body_10mb_response_intact(ctx):
    s = scenario.build(ctx)
    with Conn(s.plain, timeout=60) as c:
        c.send(build_request("GET", "/pub/~big/size=10000000/seed=9"))
        r = c.read_response(timeout=60)
        check(r.status == 200, "status %d" % r.status)
        check(len(r.body) == 10000000, "got %d of 10000000 bytes" % len(r.body))
        check(hashlib.sha256(r.body).hexdigest() == r.get("x-body-sha256"),
              "10 MB response body changed")


# -- upstream failures ---------------------------------------------------------------------------

@case
def upstream_refused_502(ctx):
    dead = harness.free_port()
    s = scenario.build(ctx, routes=[
        scenario.route("dead", "/dead/*", "http://127.0.0.1:%d" % dead, public=True)])
    check_problem(s.get("/dead/x"), 502, "upstream-unavailable")
    s.assert_alive()


@case
def upstream_timeout_504(ctx):
    s = scenario.build(ctx)
    t0 = time.time()
    r = s.get("/slow/~slow/ms=4000", timeout=10)
    took = time.time() - t0
    check_problem(r, 504, "upstream-timeout")
    check(0.9 <= took <= 3.5, "504 after %.2fs on a route with timeout_ms 1000" % took)
    s.assert_alive()


@case
def upstream_partner_route_timeout_504(ctx):
    """A partner route's timeout_ms (1500) wins over the gateway's upstream_response_ms (5000)."""
    up = ctx.upstream("echo")
    s = scenario.build(ctx, tls="optional", up=up, acme_routes=[
        scenario.route("slow", "/acme/slow/*", "http://127.0.0.1:%d" % up.port,
                       timeout_ms=1500)])
    t0 = time.time()
    r = client.request(s.tls, "GET", "/acme/slow/~slow/ms=4500", ctx=s.tls_ctx("acme-client"),
                       timeout=10)
    took = time.time() - t0
    check_problem(r, 504, "upstream-timeout")
    check(1.3 <= took <= 4.0, "504 after %.2fs on a route with timeout_ms 1500" % took)


@case
def upstream_closes_without_response_502(ctx):
    s = scenario.build(ctx)
    check_problem(s.get("/pub/~close"), 502)
    s.assert_alive()


@case
def upstream_closes_mid_response(ctx):
    s = scenario.build(ctx)
    with Conn(s.plain, timeout=8) as c:
        c.send(build_request("GET", "/pub/~truncate"))
        t0 = time.time()
        try:
            r = c.read_response(timeout=8)
        except client.Closed:
            r = None  # head relayed, then the connection closed: the client knows it is cut
        except socket.timeout:
            raise client.TestFailure("client left hanging %.1fs after the upstream closed "
                                     "mid-response" % (time.time() - t0))
        if r is not None:
            check_problem(r, 502)
    s.assert_alive()


def bad_upstream(ctx, mode):
    s = scenario.build(ctx)
    with Conn(s.plain, timeout=8) as c:
        c.send(build_request("GET", "/pub/~" + mode))
        try:
            r = c.read_response(timeout=8)
        except client.Closed as e:
            raise client.TestFailure("connection closed instead of a 502 (%d bytes: %r)"
                                     % (len(e.partial), e.partial[:60]))
        check_problem(r, 502, "bad-upstream-response")
    s.assert_alive()


@case
def upstream_response_cl_te_502(ctx):
    bad_upstream(ctx, "clte")


@case
def upstream_response_bad_status_line_502(ctx):
    bad_upstream(ctx, "badstatus")


@case
def upstream_response_bad_chunk_502(ctx):
    bad_upstream(ctx, "badchunk")


@case
def upstream_response_bad_chunk_after_data(ctx):
    """A bad chunk after 64 KiB of good ones: either a 502, or the relayed response is cut
    (connection closed without the last chunk), never presented as complete, never a hang."""
    s = scenario.build(ctx)
    with Conn(s.plain, timeout=8) as c:
        c.send(build_request("GET", "/pub/~badchunklater"))
        try:
            r = c.read_response(timeout=8)
        except client.Closed:
            r = None
        except socket.timeout:
            raise client.TestFailure("client left hanging after a bad upstream chunk")
        if r is not None:
            check(r.status != 200, "a response with a bad chunk reached the client as a "
                                   "complete 200 (%d bytes)" % len(r.body))
            check_problem(r, 502)
    s.assert_alive()


# -- client timeouts -----------------------------------------------------------------------------

def expect_timeout(c, lo, hi, what):
    """Wait for a 408 problem or a close; check it came between lo and hi seconds."""
    t0 = time.time()
    try:
        r = c.read_response(timeout=hi + 2)
        check_problem(r, 408, "client-timeout")
        check(c.wait_closed(2) == "closed", "connection open after the 408")
    except client.Closed:
        pass
    except socket.timeout:
        raise client.TestFailure("%s: no 408 and no close within %.1fs" % (what, hi + 2))
    took = time.time() - t0
    check(lo <= took <= hi, "%s: ended after %.2fs, expected %.1f-%.1fs" % (what, took, lo, hi))


@case
def timeout_client_header(ctx):
    s = scenario.build(ctx, timeouts={"client_header_ms": 1000})
    with Conn(s.plain) as c:
        c.send(b"GET /pub/x HTTP/1.1\r\nHost: loc")
        expect_timeout(c, 0.8, 3.5, "half a head")
    s.assert_alive()


@case
def timeout_client_header_trickle(ctx):
    """A head sent one byte at a time (slowloris) still ends at client_header_ms: the gateway
    answers 408 or closes although bytes keep coming."""
    s = scenario.build(ctx, timeouts={"client_header_ms": 1000})
    head = b"GET /pub/x HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 200
    with Conn(s.plain) as c:
        t0 = time.time()
        state = "timeout"
        for b in head:
            try:
                c.send(bytes([b]))
            except OSError:
                state = "closed"
                break
            state = c.wait_closed(0.1)
            if state != "timeout" or time.time() - t0 > 5:
                break
        took = time.time() - t0
        check(state != "timeout", "a trickled head still open after %.1fs, client_header_ms "
                                  "1000" % took)
        check(took < 3.5, "a trickled head was cut after %.1fs, client_header_ms 1000" % took)
        if state == "data":
            try:
                check_problem(c.read_response(timeout=2), 408, "client-timeout")
            except client.Closed:
                pass
    s.assert_alive()


@case
def timeout_client_body(ctx):
    s = scenario.build(ctx, timeouts={"client_body_ms": 1000})
    with Conn(s.plain) as c:
        c.send(build_request("POST", "/pub/b", [("Content-Length", "100")]) + b"0123456789")
        expect_timeout(c, 0.8, 3.5, "a stalled body")
    s.assert_alive()


@case
def timeout_keepalive_idle(ctx):
    s = scenario.build(ctx, timeouts={"keepalive_ms": 1000})
    with Conn(s.plain) as c:
        c.send(build_request("GET", "/pub/k1"))
        s.echo(c.read_response())
        time.sleep(0.4)
        c.send(build_request("GET", "/pub/k2"))
        s.echo(c.read_response())
        t0 = time.time()
        state = c.wait_closed(4)
        took = time.time() - t0
        check(state == "closed", "idle keep-alive connection: %s after %.1fs" % (state, took))
        check(0.7 <= took <= 3.0, "idle connection closed after %.2fs, keepalive_ms 1000" % took)
    s.assert_alive()

