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
