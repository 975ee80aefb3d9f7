"""Connectors (connectors/connector.h): a mock route as a partner's sandbox (status, fields, a body
file from the bundle, a delay), and what `portico check` says of a route's connector settings."""

import json
import os
import re
import time

import client
import scenario
from client import check
from harness import case, free_port

ORDER = b'{"order": "PO-1001", "lines": [{"sku": "A-1", "qty": 3}], "note": "caf\xc3\xa9\x00end"}'


def sandbox(ctx, mock, path="/sandbox/orders", body=ORDER, name="order.json"):
    """The standard setup with a public shared route on a mock with `mock` settings; `body` is
    written to `name` next to portico.json. Returns the Setup (started)."""
    src = os.path.join(ctx.dir, name)
    with open(src, "wb") as f:
        f.write(body)
    return scenario.build(ctx, routes=[
        scenario.route("sandbox", path, "mock:", public=True, mock=mock),
    ], config_extra={"_files": {name: src}})


@case
def mock_sandbox_answers_as_configured(ctx):
    s = sandbox(ctx, {"status": 201, "headers": {"X-Sandbox": "yes", "Cache-Control": "no-store"},
                      "body_file": "order.json"})
    r = s.get("/sandbox/orders")
    check(r.status == 201, "status %d, expected the mock's 201" % r.status)
    check(r.body == ORDER, "body %r, expected the body file's bytes as they are" % r.body[:80])
    check(r.get("content-type") == "application/json", "Content-Type %r, expected the one of a "
          ".json file" % r.get("content-type"))
    check(r.get("x-sandbox") == "yes" and r.get("cache-control") == "no-store",
          "the mock's fields are missing: %r" % r.headers)
    check(r.get("content-length") == str(len(ORDER)), "Content-Length %r" % r.get("content-length"))
    check(r.get("x-request-id"), "no X-Request-Id on a mock's answer")
    h = client.request(s.plain, "HEAD", "/sandbox/orders")
    check(h.status == 201 and h.body == b"" and h.get("content-length") == str(len(ORDER)),
          "HEAD: %r %r" % (h, h.headers))
    # without settings, a mock still answers its small JSON document
    d = s.get("/health").json()
    check(d.get("route") == "health" and d.get("request_id"), "default mock document %r" % d)


@case
def mock_delay_waits_then_keeps_the_connection(ctx):
    s = sandbox(ctx, {"delay_ms": 400, "content_type": "text/xml", "body_file": "order.xml"},
                body=b"<order id='1'/>", name="order.xml")
    with client.Conn(s.plain) as c:
        for i in range(2):
            t0 = time.monotonic()
            c.send(client.build_request("GET", "/sandbox/orders"))
            r = c.read_response()
            took = time.monotonic() - t0
            check(r.status == 200 and r.body == b"<order id='1'/>", "answer %d: %r %r"
                  % (i, r, r.body))
            check(r.get("content-type") == "text/xml", "Content-Type %r, expected the configured "
                  "one" % r.get("content-type"))
            check(0.38 <= took < 3.0, "answer %d took %.3f s, expected the 0.4 s delay" % (i, took))
            check(not r.closes(), "the connection closes after a delayed answer")
    # a client that leaves during the delay: the gateway drops the timer and goes on
    for _ in range(20):
        c = client.Conn(s.plain)
        c.send(client.build_request("GET", "/sandbox/orders"))
        c.close()
    time.sleep(0.6)
    s.assert_alive("after clients left during a mock's delay")
    check("[crit]" not in s.gw.stderr_text() and "[alert]" not in s.gw.stderr_text(),
          "internal error logged: %s" % s.gw.stderr_tail())


@case
def mock_settings_checked(ctx):
    """Every bad connector setting is an error with its file, position and JSON path."""
    s = scenario.build(ctx, start=False, routes=[
        scenario.route("m1", "/m1", "mock:", public=True,
                       mock={"status": 99, "delay_ms": 70000, "colour": "red",
                             "headers": {"Content-Length": "5", "Bad Name": "x",
                                         "X-Ok": "a\nb", "Content-Type": "text/plain"},
                             "body_file": "missing.json"}),
        scenario.route("m2", "/m2", "http://127.0.0.1:9", public=True, mock={"status": 200}),
        scenario.route("m3", "/m3", "mock:", public=True, mock={"content_type": "text/plain"}),
    ])
    p = ctx.run([ctx.env.portico, "check", "-c", s.gw.config_path])
    out = (p.stdout + p.stderr).decode(errors="replace")
    check(p.returncode != 0, "check accepted bad mock settings: %s" % out[-600:])
    want = [
        "routes[5].mock.status: ",
        "routes[5].mock.delay_ms: ",
        "routes[5].mock.colour: unknown key",
        "routes[5].mock.headers.Content-Length: \"Content-Length\" is written by the gateway",
        "routes[5].mock.headers.Bad Name: \"Bad Name\" is not a field name",
        "routes[5].mock.headers.X-Ok: expected a field value",
        "routes[5].mock.headers.Content-Type: \"Content-Type\" is written by the gateway (a "
        "mock's is \"content_type\")",
        "routes[5].mock.body_file: cannot read",
        "routes[6].mock: only a \"mock:\" upstream takes \"mock\"",
        "routes[7].mock: \"content_type\" goes with \"body_file\"",
    ]
    for w in want:
        line = [ln for ln in out.splitlines() if w in ln]
        check(line, "no error %r in: %s" % (w, out[-1500:]))
        check(line[0].startswith("error: ") and "portico.json:" in line[0],
              "not an error with its place: %r" % line[0])
    cfg = json.load(open(s.gw.config_path))
    check(cfg["routes"][5]["mock"]["status"] == 99, "the config under test changed")


@case
def log_lines_carry_their_exchange(ctx):
    """A line about an exchange names the worker, the request id, the partner and the client,
    though no message passes them (base/log.h's context)."""
    dead = free_port()  # nothing listens there: the upstream is unavailable
    s = scenario.build(ctx, tls="require", acme_routes=[
        scenario.route("down", "/acme/down", "http://127.0.0.1:%d" % dead),
    ])
    r = s.tls_get("acme-client", "/acme/down")
    check(r.status == 502, "status %d, expected 502 from a closed upstream port" % r.status)
    rid = r.get("x-request-id")
    lines = [ln for ln in s.gw.stderr_text().splitlines() if "cannot connect" in ln]
    check(lines, "no log line for the refused connection: %s" % s.gw.stderr_tail())
    want = re.compile(r"\[info\] w\d+ rid=%s partner=acme client=127\.0\.0\.1: " % re.escape(rid))
    check(all(want.search(ln) for ln in lines), "a line lacks its context (want %s): %s"
          % (want.pattern, lines))
    s.gw.stop()
    stopped = [ln for ln in s.gw.stderr_text().splitlines() if "stopped after" in ln]
    check(len(stopped) == 2 and all(re.search(r"\] w\d+: stopped after", ln) for ln in stopped),
          "each worker's last line should name it: %s" % stopped)
