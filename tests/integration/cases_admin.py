"""The admin listener (gateway/admin.c): health, readiness, status, and Prometheus metrics
checked by promtool (Debian's prometheus package) and against the requests the test sent."""

import json
import re
import subprocess

import client
import scenario
from client import check
from harness import case, free_port


def admin_setup(ctx, **kw):
    port = free_port()
    s = scenario.build(ctx, tls="optional", config_extra={"admin": {"address": "127.0.0.1:%d"
                                                                    % port}}, **kw)
    return s, port


def admin_get(port, path):
    return client.request(port, "GET", path)


def scrape(port):
    """The metrics text, checked by promtool; and its samples {(name, labels): value}."""
    r = admin_get(port, "/metrics")
    check(r.status == 200 and r.get("content-type", "").startswith("text/plain; version=0.0.4"),
          "GET /metrics: %d %r" % (r.status, r.headers))
    p = subprocess.run(["promtool", "check", "metrics"], input=r.body, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30)
    check(p.returncode == 0, "promtool check metrics: %s" % p.stdout.decode()[-1500:])
    samples = {}
    for line in r.body.decode().splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line)
        check(m is not None, "not a sample line: %r" % line)
        labels = tuple(sorted(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"',
                                         m.group(3) or "")))
        samples[(m.group(1), labels)] = float(m.group(4))
    return samples


def requests(samples, partner, route, cls, outcome):
    key = ("portico_requests_total", tuple(sorted([("partner", partner), ("route", route),
                                                   ("status_class", cls),
                                                   ("outcome", outcome)])))
    return samples.get(key, 0)


@case
def admin_health_status_and_metrics(ctx):
    s, port = admin_setup(ctx)
    r = admin_get(port, "/health/live")
    check(r.status == 200 and r.json() == {"status": "live"}, "live: %d %r" % (r.status, r.body))
    r = admin_get(port, "/health/ready")
    check(r.status == 200 and r.json() == {"status": "ready"}, "ready: %d %r" % (r.status, r.body))
    for i in range(5):
        check(s.get("/pub/m%d" % i).status == 200, "GET /pub")
    for i in range(3):
        check(s.get("/nowhere/%d" % i).status == 404, "GET /nowhere")
    acme = s.tls_ctx("acme-client")
    for i in range(4):
        r = client.request(s.tls, "GET", "/acme/orders", ctx=acme)
        check(r.status == 200, "acme GET: %d" % r.status)
    samples = scrape(port)
    got = (requests(samples, "", "pub", "2xx", "ok"), requests(samples, "", "", "4xx", "refused"),
           requests(samples, "acme", "orders", "2xx", "ok"))
    check(got == (5, 3, 4), "requests_total (pub 2xx, no route 4xx, acme orders 2xx): %r, "
          "samples: %r" % (got, {k: v for k, v in samples.items()
                                 if k[0] == "portico_requests_total"}))
    n = samples[("portico_request_duration_seconds_count", (("route", "pub"),))]
    inf = samples[("portico_request_duration_seconds_bucket", (("le", "+Inf"), ("route", "pub")))]
    up = samples[("portico_upstream_duration_seconds_count", (("route", "orders"),))]
    check(n == 5 and inf == 5 and up == 4, "histograms: pub count %r +Inf %r, orders upstream %r"
          % (n, inf, up))
    check(samples[("portico_ready", ())] == 1, "portico_ready is not 1")
    doc = admin_get(port, "/status").json()
    check(doc["node"] == scenario.NODE and doc["workers"] >= 1 and doc["routes"] > 0 and
          doc["uptime_seconds"] >= 0 and len(doc["config"]["version"]) == 16 and
          doc["audit"] is None,
          "status: %s" % json.dumps(doc))
    check(("portico_config_info", (("version", doc["config"]["version"]),)) in samples,
          "config_info is not the status's version %s" % doc["config"]["version"])
    r = admin_get(port, "/nothing")
    check(r.status == 404 and r.json()["type"] == "urn:portico:problem:not-found",
          "unknown resource: %d %r" % (r.status, r.body))
    r = client.request(port, "POST", "/status", body=b"{}")
    check(r.status == 405, "POST /status: %d" % r.status)


@case
def admin_refuses_a_non_loopback_address(ctx):
    s, port = admin_setup(ctx)
    conf = s.gw.read_config()
    conf["admin"] = {"address": "0.0.0.0:%d" % port}
    path = s.gw.config_path + ".bad.json"
    with open(path, "w") as f:
        json.dump(conf, f)
    p = subprocess.run([ctx.env.portico, "check", "-c", path], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30, cwd=s.gw.dir)
    out = p.stdout.decode()
    check(p.returncode == 1 and "admin.address" in out and "not a loopback address" in out,
          "check with admin on 0.0.0.0: %d %s" % (p.returncode, out[-600:]))
