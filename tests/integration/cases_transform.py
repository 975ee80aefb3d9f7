"""Transform chains through the real gateway: request and response chains on partner routes over
mutual TLS, bodies buffered for the chains that need them (Content-Length and chunked, both ways),
headers-only chains that stream, conditions, partner defaults, threat vectors refused with the
worker still serving, `portico check` on chain errors and `portico transform` offline."""

import json
import os
import re

import client
import scenario
from client import Conn, build_request, check, check_problem
from harness import case
from scenario import hvals

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SAMPLES = os.path.join(ROOT, "tests", "data", "samples")
PAIN001 = os.path.join(SAMPLES, "pain.001.001.03.ch.02-musterfile.xml")
CAMT053 = os.path.join(SAMPLES, "camt.053-sample.xml")
LOC = re.compile(r"(?P<file>[^\s:]+):(?P<line>\d+):(?P<col>\d+): (?P<path>[^\s:]+): (?P<msg>.*)$")


def sample(path):
    with open(path, "rb") as f:
        return f.read()


def mirror_route(s, name, path, request=None, response=None, mode="mirror", **kw):
    """An acme route to the upstream's mirror (or another mode) with the given chains."""
    r = scenario.route(name, path, "http://127.0.0.1:%d/x/~%s" % (s, mode), **kw)
    if request is not None:
        r["request"] = request
    if response is not None:
        r["response"] = response
    return r


def acme_request(s, method, path, headers=None, body=None, **kw):
    """A request as acme over mutual TLS, on a fresh connection."""
    return client.request(s.tls, method, path, headers, body, ctx=s.tls_ctx("acme-client"), **kw)


def setup(ctx, acme_routes, tls="optional", **kw):
    up = ctx.upstream("echo")
    routes = [r(up.port) if callable(r) else r for r in acme_routes]
    return scenario.build(ctx, tls=tls, up=up, acme_routes=routes, **kw)


# -- headers-only chains: no buffering -------------------------------------------------------------

@case
def transform_headers_both_ways(ctx):
    """A request chain and a response chain of `headers` on an mTLS partner route: the upstream
    sees what the request chain set and not what it removed; the partner sees the response's."""
    s = setup(ctx, [lambda p: scenario.route(
        "hdr", "/acme/hdr/*", "http://127.0.0.1:%d" % p,
        request=[{"headers": {"remove": ["X-Debug"],
                              "set": {"X-Route": "${route.name}", "X-Caller": "${partner.id}"}}}],
        response=[{"headers": {"set": {"X-Answered-For": "${partner.id}/${request.id}"},
                               "remove": ["X-Upstream"]}}])])
    r = acme_request(s, "GET", "/acme/hdr/1", [("X-Debug", "1"), ("X-Keep", "yes")])
    doc = s.echo(r)
    check(hvals(doc, "x-route") == ["hdr"], "X-Route at the upstream %r" % hvals(doc, "x-route"))
    check(hvals(doc, "x-caller") == ["acme"], "X-Caller %r" % hvals(doc, "x-caller"))
    check(hvals(doc, "x-debug") == [], "X-Debug reached the upstream")
    check(hvals(doc, "x-keep") == ["yes"], "an untouched field was lost")
    check(hvals(doc, "x-partner-id") == ["acme"], "the gateway's identity field is gone")
    rid = r.get("x-request-id")
    check(r.get("x-answered-for") == "acme/%s" % rid, "X-Answered-For %r (request id %s)"
          % (r.get("x-answered-for"), rid))
    check(r.get("x-upstream") is None, "the response chain did not remove X-Upstream")


@case
def transform_request_header_as_sent(ctx):
    """${request.header.NAME} and the `accept` condition read the request as the partner sent it,
    in either chain, though the request chain changed or removed those fields on the way in
    (transforms/README.md, Templates); with and without a buffered body."""
    sent = {"headers": {"set": {"X-Echo-Ref": "${request.header.X-Ref}",
                                "X-Echo-Trace": "${request.header.X-Trace}"}}}
    wants_xml = {"headers": {"set": {"X-Wants-Xml": "1"}}, "when": {"accept": "xml"}}
    s = setup(ctx, [
        lambda p: scenario.route(
            "sent", "/acme/sent/*", "http://127.0.0.1:%d" % p,
            request=[{"headers": {"set": {"X-Ref": "internal-7", "Accept": "application/json",
                                          "X-Ref-In": "${request.header.X-Ref}"},
                                  "remove": ["X-Trace"]}}],
            response=[sent, wants_xml]),
        lambda p: mirror_route(p, "sent-map", "/acme/sent-map/*",
                               request=[{"headers": {"set": {"X-Ref": "internal-8"},
                                                     "remove": ["X-Trace"]}},
                                        {"json_map": MAP_OPS}],
                               response=[sent]),
    ])
    r = acme_request(s, "GET", "/acme/sent/1", [("X-Ref", "PO-42"), ("X-Trace", "t-1"),
                                                 ("Accept", "application/xml")])
    doc = s.echo(r)
    check(hvals(doc, "x-ref") == ["internal-7"] and hvals(doc, "x-trace") == [] and
          hvals(doc, "accept") == ["application/json"],
          "the request chain did not run: X-Ref %r X-Trace %r Accept %r at the upstream"
          % (hvals(doc, "x-ref"), hvals(doc, "x-trace"), hvals(doc, "accept")))
    check(hvals(doc, "x-ref-in") == ["PO-42"], "request chain: X-Ref-In %r, the partner sent "
          "PO-42" % hvals(doc, "x-ref-in"))
    check(r.get("x-echo-ref") == "PO-42", "response chain: X-Echo-Ref %r, the partner sent X-Ref: "
          "PO-42 (the request chain made it internal-7)" % r.get("x-echo-ref"))
    check(r.get("x-echo-trace") == "t-1", "response chain: X-Echo-Trace %r, the partner sent "
          "X-Trace: t-1 (the request chain removed it)" % r.get("x-echo-trace"))
    check(r.get("x-wants-xml") == "1", "response chain: the partner's Accept: application/xml "
          "did not match (the request chain sent Accept: application/json upstream)")
    r = acme_request(s, "POST", "/acme/sent-map/1", [("Content-Type", "application/json"),
                                                      ("X-Ref", "PO-43"), ("X-Trace", "t-2")],
                     ORDER)
    check(r.status == 200 and r.body == ORDER_MAPPED, "buffered: %d %r" % (r.status, r.body[:200]))
    check(r.get("x-echo-ref") == "PO-43" and r.get("x-echo-trace") == "t-2",
          "buffered body: X-Echo-Ref %r X-Echo-Trace %r, the partner sent PO-43 and t-2"
          % (r.get("x-echo-ref"), r.get("x-echo-trace")))


@case
def transform_identity_claims_unseen(ctx):
    """X-Partner-* and X-Client-Cert* a client sends (any case) are gone before a chain or a
    template reads the request: ${request.header.X-Partner-Id} is never the partner's own claim,
    in either chain; the upstream gets the gateway's X-Partner-Id alone."""
    claims = {"headers": {"set": {"X-Seen-Id": "[${request.header.X-Partner-Id}]",
                                  "X-Seen-Cert": "[${request.header.x-client-cert}]"}}}
    s = setup(ctx, [lambda p: scenario.route("claims", "/acme/claims/*",
                                             "http://127.0.0.1:%d" % p,
                                             request=[claims], response=[claims])])
    r = acme_request(s, "GET", "/acme/claims/1", [("X-PARTNER-ID", "globex"),
                                                   ("x-client-cert", "forged")])
    doc = s.echo(r)
    check(hvals(doc, "x-seen-id") == ["[]"] and hvals(doc, "x-seen-cert") == ["[]"],
          "request chain read the client's claims: %r %r"
          % (hvals(doc, "x-seen-id"), hvals(doc, "x-seen-cert")))
    check(r.get("x-seen-id") == "[]" and r.get("x-seen-cert") == "[]",
          "response chain read the client's claims: %r %r"
          % (r.get("x-seen-id"), r.get("x-seen-cert")))
    check(hvals(doc, "x-partner-id") == ["acme"] and hvals(doc, "x-client-cert") == [],
          "upstream got X-Partner-Id %r X-Client-Cert %r"
          % (hvals(doc, "x-partner-id"), hvals(doc, "x-client-cert")))


@case
def transform_headers_chain_streams_large_body(ctx):
    """A chain that never touches the body lets a body above max_buffered_body_bytes stream."""
    s = setup(ctx, [lambda p: scenario.route(
        "big", "/acme/big/*", "http://127.0.0.1:%d" % p,
        request=[{"headers": {"set": {"X-Seen": "1"}}}])],
        limits={"max_buffered_body_bytes": 65536})
    body = os.urandom(3 * 1024 * 1024)
    doc = s.echo(acme_request(s, "POST", "/acme/big/up", [], body, timeout=20))
    check(doc["body_len"] == len(body), "upstream got %d bytes of %d" % (doc["body_len"], len(body)))
    check(hvals(doc, "x-seen") == ["1"], "the headers step did not run")


@case
def transform_when_conditions(ctx):
    """Steps run only where their "when" holds: content type, the request's Accept, status."""
    s = setup(ctx, [lambda p: scenario.route(
        "cond", "/acme/cond/*", "http://127.0.0.1:%d" % p,
        request=[{"headers": {"set": {"X-Json": "1"}}, "when": {"content_type": "json"}},
                 {"headers": {"set": {"X-Wants-Xml": "1"}}, "when": {"accept": "xml"}}],
        response=[{"headers": {"set": {"X-Ok": "1"}}, "when": {"status": ["2xx"]}},
                  {"headers": {"set": {"X-Err": "1"}}, "when": {"status": [404, "5xx"]}}])])
    doc = s.echo(acme_request(s, "POST", "/acme/cond/a",
                              [("Content-Type", "application/json; charset=utf-8"),
                               ("Accept", "application/xml;q=0.9, */*")], b"{}"))
    check(hvals(doc, "x-json") == ["1"], "content_type json did not match application/json")
    check(hvals(doc, "x-wants-xml") == ["1"], "accept xml did not match application/xml;q=0.9")
    r = acme_request(s, "POST", "/acme/cond/b",
                     [("Content-Type", "text/plain"), ("Accept", "*/*, application/xml;q=0")],
                     b"x")
    doc = s.echo(r)
    check(hvals(doc, "x-json") == [], "content_type json matched text/plain")
    check(hvals(doc, "x-wants-xml") == [], "accept xml matched */* or a q=0 type")
    check(r.get("x-ok") == "1" and r.get("x-err") is None, "status 200: X-Ok %r X-Err %r"
          % (r.get("x-ok"), r.get("x-err")))
    r = acme_request(s, "GET", "/acme/cond/~echo/status=404")
    check(r.status == 404 and r.get("x-err") == "1" and r.get("x-ok") is None,
          "status 404: X-Ok %r X-Err %r" % (r.get("x-ok"), r.get("x-err")))


@case
def transform_partner_default_chain(ctx):
    """A partner's "transforms" apply to its calls of routes without chains of their own, shared
    ones included; a route's own chain replaces them."""
    s = setup(ctx, [lambda p: scenario.route(
        "own", "/acme/own/*", "http://127.0.0.1:%d" % p,
        request=[{"headers": {"set": {"X-Chain": "route"}}}])],
        acme_extra={"transforms": {"request": [{"headers": {"set": {"X-Chain": "acme"}}}]}})
    doc = s.echo(acme_request(s, "GET", "/shared/x"))
    check(hvals(doc, "x-chain") == ["acme"], "shared route: X-Chain %r" % hvals(doc, "x-chain"))
    doc = s.echo(acme_request(s, "GET", "/acme/own/x"))
    check(hvals(doc, "x-chain") == ["route"], "own chain: X-Chain %r" % hvals(doc, "x-chain"))
    doc = s.echo(client.request(s.tls, "GET", "/shared/x", ctx=s.tls_ctx("globex-client")))
    check(hvals(doc, "x-chain") == [], "globex got acme's default chain")


# -- configuration -----------------------------------------------------------------------------------

@case
def transform_check_reports_chain_errors(ctx):
    """`portico check` names the file, line, column and JSON path of a bad step."""
    s = scenario.build(ctx, start=False, acme_routes=[
        scenario.route("bad", "/acme/bad", "mock:200",
                       request=[{"nosuch": {}}, {"headers": {"set": {"X-A": "1"}},
                                                 "when": {"status": [200]}}],
                       response=[{"headers": {"frobnicate": 1}}, "text"])])
    p = ctx.run([ctx.env.portico, "check", "-c", s.gw.config_path])
    out = (p.stdout + p.stderr).decode(errors="replace")
    check(p.returncode == 1, "check exited %d: %s" % (p.returncode, out[-600:]))
    found = {m.group("path"): m for m in (LOC.search(line) for line in out.splitlines()) if m}
    want = ["routes[2].request[0].nosuch", "routes[2].request[1].when.status",
            "routes[2].response[0].headers.frobnicate", "routes[2].response[1]"]
    for path in want:
        check(path in found, "no located message for %s in:\n%s" % (path, out[-1200:]))
        check(found[path].group("file").endswith("partners.d/acme/partner.json"),
              "%s reported in %s" % (path, found[path].group("file")))
    check("unknown transform" in found[want[0]].group("msg"), found[want[0]].group(0))
    with open(s.gw.partner_file("acme")) as f:
        lines = f.read().splitlines()
    line = int(found[want[0]].group("line"))
    check('"nosuch"' in lines[line - 1], "line %d of partner.json is %r, not the step"
          % (line, lines[line - 1]))


@case
def transform_check_refuses_stylesheet_dtd(ctx):
    """`portico check` refuses an XSLT stylesheet with a DOCTYPE (its entities would come out
    empty), at the step's `stylesheet` with file:line:column, as a schema with a DTD is."""
    xsl = os.path.join(ctx.dir, "dtd.xsl")
    with open(xsl, "w") as f:
        f.write('<?xml version="1.0"?>\n<!DOCTYPE xsl:stylesheet [<!ENTITY who "ACME">]>\n'
                '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">'
                '<xsl:template match="/"><to>&who;</to></xsl:template></xsl:stylesheet>\n')
    s = scenario.build(ctx, start=False, acme_files={"dtd.xsl": xsl}, acme_routes=[
        scenario.route("dtd", "/acme/dtd", "mock:200",
                       request=[{"xslt": {"stylesheet": "dtd.xsl"}}])])
    p = ctx.run([ctx.env.portico, "check", "-c", s.gw.config_path])
    out = (p.stdout + p.stderr).decode(errors="replace")
    check(p.returncode == 1, "check exited %d on a stylesheet with a DTD: %s"
          % (p.returncode, out[-600:]))
    found = [m for m in (LOC.search(line) for line in out.splitlines()) if m
             and m.group("path") == "routes[2].request[0].xslt.stylesheet"]
    check(found and found[0].group("msg") == "dtd.xsl: XML: DTDs are not accepted (line 2)",
          "no located refusal of the DTD in:\n%s" % out[-1200:])
    with open(s.gw.partner_file("acme")) as f:
        lines = f.read().splitlines()
    line = int(found[0].group("line"))
    check('"dtd.xsl"' in lines[line - 1], "line %d of partner.json is %r, not the stylesheet"
          % (line, lines[line - 1]))


# -- chains that need the body: buffered, transformed, sent on with a length ------------------------

ORDER = b'{"order":{"id":"PO-1","amount":6.20,"lines":[{"sku":"A-1"},{"sku":"B-2"}]}}'
ORDER_MAPPED = (b'{"order":{"id":"PO-1"},"total":6.20,"skus":["A-1","B-2"],'
                b'"partner":"acme"}')
MAP_OPS = {"ops": [{"move": {"from": "/order/amount", "to": "/total"}},
                   {"copy": {"from": "/order/lines/*/sku", "to": "/skus"}},
                   {"delete": {"path": "/order/lines"}},
                   {"set": {"path": "/partner", "value": "${partner.id}"}}]}
ORDER_SCHEMA = {"type": "object", "required": ["order"], "properties": {"order": {
    "type": "object", "required": ["id", "amount"],
    "properties": {"id": {"type": "string", "pattern": "^PO-[0-9]+$"},
                   "amount": {"type": "number", "minimum": 0}}}}}


def map_setup(ctx, **kw):
    return setup(ctx, [
        lambda p: mirror_route(p, "map-in", "/acme/map-in/*", request=[{"json_map": MAP_OPS}]),
        lambda p: mirror_route(p, "map-out", "/acme/map-out/*", response=[{"json_map": MAP_OPS}]),
        lambda p: mirror_route(p, "map-out-chunked", "/acme/map-out-chunked/*",
                               response=[{"json_map": MAP_OPS}], mode="mirror/chunked=1"),
        lambda p: mirror_route(p, "map-out-big", "/acme/map-out-big/*",
                               response=[{"json_map": MAP_OPS}], mode="big/size=4096"),
        lambda p: mirror_route(p, "check-in", "/acme/check-in/*",
                               request=[{"validate": {"json_schema": ORDER_SCHEMA}}]),
        lambda p: mirror_route(p, "check-out", "/acme/check-out/*",
                               response=[{"validate": {"json_schema": ORDER_SCHEMA}}]),
    ], **kw)


@case
def transform_request_body_buffered(ctx):
    """A request chain that needs the body gets all of it, Content-Length or chunked (with
    Expect: 100-continue), and the upstream gets the result with a Content-Length."""
    s = map_setup(ctx)
    json_ct = [("Content-Type", "application/json")]
    r = acme_request(s, "POST", "/acme/map-in/1", json_ct, ORDER)
    check(r.status == 200 and r.body == ORDER_MAPPED, "mapped body at the upstream %d %r"
          % (r.status, r.body[:300]))
    with Conn(s.tls, s.tls_ctx("acme-client")) as c:
        head = build_request("POST", "/acme/map-in/2", json_ct + [("Expect", "100-continue"),
                                                                  ("Transfer-Encoding", "chunked")])
        c.send(head)
        _, status, _, _ = c.read_head(timeout=3)
        check(status == 100, "status %d before the body, expected 100 Continue" % status)
        for part in (ORDER[:20], ORDER[20:50], ORDER[50:]):
            c.send(b"%x\r\n%s\r\n" % (len(part), part))
        c.send(b"0\r\n\r\n")
        r = c.read_response("POST")
    check(r.status == 200 and r.body == ORDER_MAPPED, "chunked: %d %r" % (r.status, r.body[:300]))
    reqs = [q for q in s.up.snapshot()[0] if q["target"].startswith("/x/~mirror")]
    check(len(reqs) == 2, "%d requests reached the upstream" % len(reqs))
    for q in reqs:
        check(hvals(q, "content-length") == [str(len(ORDER_MAPPED))] and
              hvals(q, "transfer-encoding") == [],
              "upstream framing: Content-Length %r Transfer-Encoding %r"
              % (hvals(q, "content-length"), hvals(q, "transfer-encoding")))


@case
def transform_response_body_buffered(ctx):
    """A response chain that needs the body reads all of it (Content-Length or chunked) and sends
    the result with a Content-Length; the connection carries the next request."""
    s = map_setup(ctx)
    json_ct = [("Content-Type", "application/json")]
    with Conn(s.tls, s.tls_ctx("acme-client")) as c:
        for path in ("/acme/map-out/1", "/acme/map-out-chunked/2", "/acme/map-out/3"):
            c.send(build_request("POST", path, json_ct, ORDER))
            r = c.read_response("POST")
            check(r.status == 200 and r.body == ORDER_MAPPED, "%s: %d %r"
                  % (path, r.status, r.body[:300]))
            check(r.get("content-length") == str(len(ORDER_MAPPED)) and
                  r.get("transfer-encoding") is None, "%s: framing CL %r TE %r"
                  % (path, r.get("content-length"), r.get("transfer-encoding")))
            check(r.get("content-type") == "application/json", "Content-Type %r"
                  % r.get("content-type"))


@case
def transform_validation_failures(ctx):
    """A request that fails its schema is 400 with the errors listed and never reaches the
    upstream; a response that fails is 502; the worker goes on serving."""
    s = map_setup(ctx)
    json_ct = [("Content-Type", "application/json")]
    bad = b'{"order":{"id":"X-1","amount":-3}}'
    r = acme_request(s, "POST", "/acme/check-in/1", json_ct, bad)
    doc = check_problem(r, 400, "validation-failed")
    paths = sorted(e.get("path") for e in doc.get("errors", []))
    check(paths == ["/order/amount", "/order/id"], "errors %r" % doc.get("errors"))
    check(not [q for q in s.up.snapshot()[0] if q["target"].endswith("/1")],
          "a request that failed validation reached the upstream")
    r = acme_request(s, "POST", "/acme/check-in/2", json_ct, ORDER)
    check(r.status == 200 and r.body == ORDER, "a valid order: %d %r" % (r.status, r.body[:200]))
    r = acme_request(s, "POST", "/acme/check-out/1", json_ct, bad)
    doc = check_problem(r, 502, "bad-upstream-response")
    check(len(doc.get("errors", [])) == 2, "response errors %r" % doc.get("errors"))
    s.assert_alive()


@case
def transform_buffered_body_limits(ctx):
    """Bodies above max_buffered_body_bytes: 413 for a request (announced or chunked), 502 for a
    response; the worker goes on serving."""
    s = map_setup(ctx, limits={"max_buffered_body_bytes": 1024})
    big = b'{"order":{"id":"PO-1","amount":1,"pad":"' + b"x" * 4096 + b'"}}'
    json_ct = [("Content-Type", "application/json")]
    check_problem(acme_request(s, "POST", "/acme/map-in/1", json_ct, big), 413,
                  "body-too-large", detail="max_buffered_body_bytes")
    with Conn(s.tls, s.tls_ctx("acme-client")) as c:
        c.send(build_request("POST", "/acme/map-in/2", json_ct, [big[:2000], big[2000:]],
                             chunked=True))
        check_problem(c.read_response("POST"), 413, "body-too-large")
    # the response limit: a request under it whose mirrored answer the chain must hold
    ok = b'{"order":{"id":"PO-1","amount":1,"pad":"' + b"y" * 900 + b'"}}'
    r = acme_request(s, "POST", "/acme/map-out-chunked/3", json_ct, ok)
    check(r.status == 200, "a response under the limit: %d %r" % (r.status, r.body[:200]))
    check_problem(acme_request(s, "GET", "/acme/map-out-big/4"), 502, "bad-upstream-response",
                  detail="max_buffered_body_bytes")
    s.assert_alive()


@case
def transform_json_threats_refused(ctx):
    """Hostile JSON bodies on a route with a JSON chain: refused with 400, never parsed whole;
    the worker goes on."""
    s = map_setup(ctx)
    json_ct = [("Content-Type", "application/json")]
    vectors = {
        "nesting 10000 deep": b"[" * 10000 + b"]" * 10000,
        "duplicate keys": b'{"order":{"id":"PO-1","id":"PO-2","amount":1}}',
        "invalid UTF-8": b'{"order":{"id":"PO-\xff\xfe","amount":1}}',
        "trailing garbage": ORDER + b"}",
        "beyond a double": b'{"order":{"id":"PO-1","amount":1.5e+9999}}',
    }
    for what, body in vectors.items():
        r = acme_request(s, "POST", "/acme/map-in/t", json_ct, body)
        check(r.status == 400, "%s: status %d %r" % (what, r.status, r.body[:200]))
        check_problem(r, 400, "invalid-body")
    s.assert_alive()


@case
def transform_empty_json_body_skipped(ctx):
    """An empty body declared application/json passes every JSON step untouched, strict ones and
    validate included, both ways (transforms/README.md, json_map and validate): no body is not a
    malformed body, and an upstream's empty 202 must not become a 502."""
    strict_map = {"strict": True, "ops": [{"set": {"path": "/partner", "value": "${partner.id}"}}]}
    steps = [{"validate": {"json_schema": ORDER_SCHEMA}}, {"json_map": strict_map},
             {"json_to_xml": {"strict": True}}]
    s = setup(ctx, [lambda p: mirror_route(p, "empty", "/acme/empty/*", request=steps,
                                           response=steps, mode="mirror/status=202")])
    r = acme_request(s, "POST", "/acme/empty/1", [("Content-Type", "application/json")], b"")
    check(r.status == 202 and r.body == b"", "an empty JSON POST: %d %r" % (r.status, r.body[:200]))
    check(r.get("content-type") == "application/json", "Content-Type %r" % r.get("content-type"))
    reqs = [q for q in s.up.snapshot()[0] if q["target"].startswith("/x/~mirror")]
    check(len(reqs) == 1 and hvals(reqs[0], "content-length") in (["0"], []),
          "the upstream got %r" % [hvals(q, "content-length") for q in reqs])
    s.assert_alive()


# -- XML transforms and a plugin, end to end over mutual TLS ----------------------------------------

DATA = os.path.join(ROOT, "tests", "data")


def load_json(path):
    with open(path) as f:
        return json.load(f)


@case
def transform_xml_map_and_xslt_on_pain001(ctx):
    """pain.001 from a partner: xml_map turns it into our JSON on the way in; an XSLT stylesheet
    from the bundle (with template parameters) does the same; both as the golden files say."""
    xml_map = load_json(os.path.join(DATA, "xml_map", "pain001.json"))
    s = setup(ctx, [
        lambda p: mirror_route(p, "by-map", "/acme/by-map/*", request=[xml_map]),
        lambda p: mirror_route(p, "by-xslt", "/acme/by-xslt/*", request=[{"xslt": {
            "stylesheet": "pain001-to-json.xsl",
            "params": {"partner": "acme-bank", "request": "req-1"}}}]),
    ], acme_files={"pain001-to-json.xsl": os.path.join(DATA, "xslt", "pain001-to-json.xsl"),
                   "lib/json.xsl": os.path.join(DATA, "xslt", "lib", "json.xsl")})
    xml_ct = [("Content-Type", "application/xml")]
    for path, golden in (("/acme/by-map/1", os.path.join(DATA, "xml_map", "pain001.out")),
                         ("/acme/by-xslt/1", os.path.join(DATA, "xslt", "pain001-to-json.out"))):
        r = acme_request(s, "POST", path, xml_ct, sample(PAIN001))
        want = sample(golden).rstrip(b"\n")
        check(r.status == 200, "%s: status %d %r" % (path, r.status, r.body[:300]))
        check(r.body.rstrip(b"\n") == want, "%s: body differs from %s: %r"
              % (path, golden, r.body[:300]))
        check(r.get("x-seen-content-type", "").startswith("application/json"),
              "%s: the upstream got Content-Type %r" % (path, r.get("x-seen-content-type")))


@case
def transform_soap_fault_from_upstream(ctx):
    """A SOAP response chain unwraps the body; a SOAP fault from the upstream becomes a problem
    (a Client fault: 400, a Server fault: 502) with the fault's code and string."""
    s = setup(ctx, [lambda p: mirror_route(p, "soap", "/acme/soap/*", mode="mirror/type=text+xml",
                                           response=[{"soap": {"action": "unwrap"}}])])
    r = acme_request(s, "POST", "/acme/soap/1", [("Content-Type", "text/xml")],
                     sample(os.path.join(DATA, "soap", "fault11-client.xml")))
    doc = check_problem(r, 400, "upstream-fault")
    check("Invalid IBAN" in json.dumps(doc), "the fault string is not in the problem: %r" % doc)
    check("PaymentService.java" not in r.body.decode(errors="replace"),
          "the fault's detail (a stack trace) reached the partner")
    r = acme_request(s, "POST", "/acme/soap/2", [("Content-Type", "text/xml")],
                     sample(os.path.join(DATA, "soap", "fault11-server.xml")))
    check_problem(r, 502, "upstream-fault")
    s.assert_alive()


@case
def transform_plugin_loaded_and_run(ctx):
    """The example plugin (transforms/examples/sign.c) loads from "plugins" and signs the request
    body the upstream receives; a plugin file that is not there refuses the configuration."""
    import hashlib
    import hmac
    so = os.path.join(ctx.env.itdir, "..", "plugins", "sign.so")
    check(os.path.exists(so), "%s is not built" % so)
    key = b"k" * 40
    keyfile = os.path.join(ctx.dir, "hmac.key")
    with open(keyfile, "wb") as f:
        f.write(key + b"\n")
    s = setup(ctx, [lambda p: scenario.route(
        "signed", "/acme/signed/*", "http://127.0.0.1:%d" % p,
        request=[{"sign": {"key_file": "hmac.key", "header": "X-Body-Mac", "prefix": "sha256="}}])],
        acme_files={"hmac.key": keyfile}, config_extra={"plugins": [os.path.abspath(so)]})
    body = b'{"order":"PO-9"}'
    doc = s.echo(acme_request(s, "POST", "/acme/signed/1", [("Content-Type", "application/json")],
                              body))
    want = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
    check(hvals(doc, "x-body-mac") == [want], "X-Body-Mac %r, expected %r"
          % (hvals(doc, "x-body-mac"), want))
    cfg = s.gw.read_config()
    cfg["plugins"] = ["no/such/plugin.so"]
    bad = os.path.join(s.gw.dir, "bad.json")
    with open(bad, "w") as f:
        json.dump(cfg, f, indent=2)
    p = ctx.run([ctx.env.portico, "check", "-c", bad])
    out = (p.stdout + p.stderr).decode(errors="replace")
    check(p.returncode == 1 and re.search(r"bad\.json:\d+:\d+: plugins\[0\]: cannot load", out),
          "a missing plugin: %s" % out[-400:])


# -- xml_to_json / json_to_xml through the gateway, and XML threats --------------------------------

@case
def transform_xml_to_json_and_back(ctx):
    """pain.001 as a partner sends it becomes the documented JSON at the upstream (the golden
    file, byte for byte); a JSON answer goes back as XML to a partner that asks for XML, and stays
    JSON for one that does not."""
    s = setup(ctx, [
        lambda p: mirror_route(p, "x2j", "/acme/x2j/*", request=[
            {"xml_to_json": {}, "when": {"content_type": "xml"}}]),
        lambda p: mirror_route(p, "j2x", "/acme/j2x/*", response=[
            {"json_to_xml": {}, "when": {"accept": "xml", "content_type": "json"}}]),
    ])
    r = acme_request(s, "POST", "/acme/x2j/1", [("Content-Type", "application/xml")],
                     sample(PAIN001))
    want = sample(os.path.join(DATA, "xml_json", "pain.001.out.json")).rstrip(b"\n")
    check(r.status == 200 and r.body.rstrip(b"\n") == want,
          "pain.001 at the upstream differs from the golden JSON: %d %r" % (r.status, r.body[:200]))
    check(r.get("x-seen-content-type") == "application/json",
          "the upstream got Content-Type %r" % r.get("x-seen-content-type"))
    json_ct = [("Content-Type", "application/json")]
    r = acme_request(s, "POST", "/acme/j2x/1", json_ct + [("Accept", "application/xml")], want)
    check(r.status == 200 and r.get("content-type", "").startswith("application/xml"),
          "Accept xml: %d %r %r" % (r.status, r.get("content-type"), r.body[:200]))
    golden_xml = sample(os.path.join(DATA, "xml_json", "pain.001.out.xml")).rstrip(b"\n")
    check(r.body.rstrip(b"\n") == golden_xml, "the XML answer differs from %s: %r"
          % ("pain.001.out.xml", r.body[:300]))
    r = acme_request(s, "POST", "/acme/j2x/2", json_ct + [("Accept", "application/json")], want)
    check(r.status == 200 and r.body == want, "Accept json: the answer changed: %r" % r.body[:200])


XXE = (b'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
       b'<d>&x;</d>')
LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">' +
          b"".join(b'<!ENTITY %s "%s">' % (chr(98 + i).encode(), (b"&%s;" % chr(97 + i).encode())
                                             * 10) for i in range(9)) +
          b']>\n<l>&j;</l>')
QUADRATIC = (b'<?xml version="1.0"?>\n<!DOCTYPE q [<!ENTITY a "' + b"x" * 50000 + b'">]>\n<q>' +
             b"&a;" * 5000 + b"</q>")


@case
def transform_xml_threats_refused(ctx):
    """Hostile XML on a route with an XML chain: XXE, billion laughs, quadratic blowup, 100,000
    deep nesting, 10,000 attributes, invalid UTF-8: each is a 400 with a reason, nothing of
    /etc/passwd comes back, the upstream never sees them and the worker goes on."""
    s = setup(ctx, [lambda p: mirror_route(p, "x2j", "/acme/x2j/*", request=[{"xml_to_json": {}}])])
    vectors = {
        "XXE": (XXE, "DTD"),
        "billion laughs": (LAUGHS, "DTD"),
        "quadratic blowup": (QUADRATIC, "DTD"),
        "deep nesting": (b"<a>" * 100000 + b"</a>" * 100000, "depth"),
        "attribute count": (b"<a " + b" ".join(b'x%d="1"' % i for i in range(10000)) + b"/>",
                            "attribute"),
        "invalid UTF-8": (b'<?xml version="1.0" encoding="UTF-8"?><a>\xff\xfe</a>', "UTF-8"),
        "not well-formed": (b"<a><b></a>", "XML"),
    }
    for what, (body, says) in vectors.items():
        r = acme_request(s, "POST", "/acme/x2j/t", [("Content-Type", "application/xml")], body,
                         timeout=20)
        doc = check_problem(r, 400, "invalid-body")
        check(says.lower() in doc["detail"].lower(), "%s: detail %r does not say %r"
              % (what, doc["detail"], says))
        check(b"root:" not in r.body, "%s: /etc/passwd content in the answer" % what)
    check(not s.up.snapshot()[0], "a refused body reached the upstream")
    s.assert_alive()


@case
def transform_cli_offline(ctx):
    """`portico transform` runs the chain a partner gets on a route, offline: the same output as
    through the gateway; a refused body prints the problem and exits 1."""
    s = scenario.build(ctx, start=False, acme_routes=[
        scenario.route("x2j", "/acme/x2j", "mock:200", request=[{"xml_to_json": {}}],
                       response=[{"json_to_xml": {}, "when": {"accept": "xml"}}])])
    base = [ctx.env.portico, "transform", "-c", s.gw.config_path, "--partner", "acme",
            "--route", "x2j"]
    p = ctx.run(base + ["--phase", "request", PAIN001])
    want = sample(os.path.join(DATA, "xml_json", "pain.001.out.json")).rstrip(b"\n")
    check(p.returncode == 0 and p.stdout.rstrip(b"\n") == want, "request phase: exit %d, %r %r"
          % (p.returncode, p.stdout[:200], p.stderr[-300:]))
    reply = os.path.join(ctx.dir, "reply.json")
    with open(reply, "wb") as f:
        f.write(want)
    p = ctx.run(base + ["--phase", "response", "-R", "Accept: application/xml", "-i", reply])
    out = p.stdout.decode(errors="replace")
    check(p.returncode == 0 and "status: 200" in out and "Content-Type: application/xml" in out,
          "response phase: exit %d, %r" % (p.returncode, out[:300]))
    bad = os.path.join(ctx.dir, "xxe.xml")
    with open(bad, "wb") as f:
        f.write(XXE)
    p = ctx.run(base + ["--phase", "request", bad])
    err = p.stderr.decode(errors="replace")
    check(p.returncode == 1 and "400 invalid-body" in err and "DTD" in err,
          "a refused body: exit %d, %r" % (p.returncode, err[-300:]))
    p = ctx.run(base[:-2] + ["--route", "nosuch", PAIN001])
    check(p.returncode == 1 and b"no route" in p.stderr, "an unknown route: exit %d %r"
          % (p.returncode, p.stderr[-200:]))


def include_head(out):
    """The fields `portico transform -i` printed before the body, as (name, value) pairs, and the
    body."""
    head, _, body = out.partition(b"\n\n")
    fields = []
    for line in head.decode(errors="replace").splitlines():
        name, _, value = line.partition(": ")
        if name != "status":
            fields.append((name, value))
    return fields, body


def named(fields, name):
    return [v for n, v in fields if n.lower() == name.lower()]


@case
def transform_cli_fields_set(ctx):
    """`portico transform -H` sets a field (a field of the same name, in any case, is replaced; of
    several, the last wins), and the body is read as the Content-Type given (-H or
    --content-type), not as its first byte suggests; ${request.header.NAME} is the field as given,
    though the chain removed it, in either phase."""
    echo = {"headers": {"set": {"X-Echo": "${request.header.X-Trace}"}}}
    s = scenario.build(ctx, start=False, acme_routes=[
        scenario.route("x2j", "/acme/x2j", "mock:200", request=[{"xml_to_json": {}}]),
        scenario.route("hdr", "/acme/hdr", "mock:200",
                       request=[{"headers": {"remove": ["X-Trace"]}}, echo],
                       response=[{"headers": {"remove": ["X-Trace"]}}, echo])])
    base = [ctx.env.portico, "transform", "-c", s.gw.config_path, "--partner", "acme", "-i"]
    xml = os.path.join(ctx.dir, "order.xml")
    with open(xml, "wb") as f:
        f.write(b"<order><id>PO-1</id></order>")
    for given in (["-H", "Content-Type: text/plain"], ["-H", "content-type: text/plain"],
                  ["--content-type", "text/plain"],
                  ["-H", "Content-Type: application/json", "-H", "CONTENT-TYPE: text/plain"]):
        p = ctx.run(base + ["--route", "x2j"] + given + [xml])
        fields, body = include_head(p.stdout)
        check(p.returncode == 0 and named(fields, "content-type") == ["text/plain"],
              "%s: exit %d, Content-Type fields %r (one, text/plain, expected): %r"
              % (" ".join(given), p.returncode, named(fields, "content-type"), p.stderr[-300:]))
        check(body == b"<order><id>PO-1</id></order>", "%s: a text/plain body was converted "
              "as XML: %r" % (" ".join(given), body[:200]))
    p = ctx.run(base + ["--route", "x2j", "-H", "Content-Type: application/xml", xml])
    fields, body = include_head(p.stdout)
    check(p.returncode == 0 and body.startswith(b"{") and
          named(fields, "content-type") == ["application/json"],
          "-H Content-Type: application/xml: exit %d, %r %r"
          % (p.returncode, fields, body[:200]))
    p = ctx.run(base + ["--route", "hdr", "-H", "X-Trace: t-1", "-H", "X-A: 1", "-H", "x-a: 2",
                        xml])
    fields, _ = include_head(p.stdout)
    check(p.returncode == 0 and named(fields, "x-a") == ["2"], "-H X-A: 1 -H x-a: 2 gave %r"
          % named(fields, "x-a"))
    check(named(fields, "x-trace") == [] and named(fields, "x-echo") == ["t-1"],
          "request phase: X-Trace %r X-Echo %r (removed, and t-1 as given)"
          % (named(fields, "x-trace"), named(fields, "x-echo")))
    p = ctx.run(base + ["--route", "hdr", "--phase", "response", "-R", "X-Trace: t-2", xml])
    fields, _ = include_head(p.stdout)
    check(p.returncode == 0 and named(fields, "x-echo") == ["t-2"],
          "response phase: X-Echo %r (-R X-Trace: t-2)" % named(fields, "x-echo"))


@case
def transform_cli_options_documented(ctx):
    """Every option `portico transform` takes (its usage line) is in README.md's row for it."""
    p = ctx.run([ctx.env.portico, "transform"])
    usage = p.stderr.decode(errors="replace")
    check(p.returncode == 2 and "usage: portico transform" in usage, "no usage: exit %d %r"
          % (p.returncode, usage[-300:]))
    opts = set(re.findall(r"\[(--?[A-Za-z][\w-]*)", usage))
    check({"-H", "-R", "--content-type"} <= opts, "options read from the usage: %r" % opts)
    with open(os.path.join(ROOT, "README.md")) as f:
        row = next((l for l in f if l.startswith("| `bin/portico transform ")), None)
    check(row is not None, "README.md has no row for bin/portico transform")
    synopsis = row.split("`")[1]
    missing = sorted(o for o in opts if "[%s" % o not in synopsis)
    check(not missing, "README.md's portico transform row lacks %s: %s" % (missing, synopsis))
