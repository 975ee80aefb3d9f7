"""Reload on SIGHUP: a new bundle is served without a restart; a bad configuration is refused as
a whole while the old one keeps serving; requests in flight finish."""

import threading
import time

import client
import scenario
from client import Conn, build_request, check, check_problem
from harness import case
from scenario import hvals


def poll(fn, timeout=5.0):
    """Call fn until it returns true or timeout passes; returns its last value."""
    end = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() > end:
            return v
        time.sleep(0.1)



@case
def reload_onboards_partner(ctx):
    s = scenario.build(ctx, tls="optional")
    certs = ctx.certs
    check_problem(s.tls_get("rogue-client", "/initech/x"), 404)
    check_problem(s.tls_get("rogue-client", "/shared/x"), 401)
    s.gw.write_partner("initech", {
        "json": {"id": "initech", "name": "Initech", "identity": {"ca": "ca.pem"},
                 "routes": [scenario.route("api", "/initech/*",
                                           "http://127.0.0.1:%d" % s.up.port)]},
        "files": {"ca.pem": certs.pem("rogue-ca")}})
    s.gw.reload()

    def served():
        try:
            r = s.tls_get("rogue-client", "/initech/x")
        except (OSError, client.Closed):
            return None
        return r if r.status == 200 else None

    r = poll(served)
    check(r is not None, "the new partner's route is not served 5s after SIGHUP")
    check(hvals(s.echo(r), "x-partner-id") == ["initech"], "new partner identified as %r"
          % hvals(s.echo(r), "x-partner-id"))
    doc = s.echo(s.tls_get("acme-client", "/acme/orders"))
    check(hvals(doc, "x-partner-id") == ["acme"], "acme lost after the reload")


@case
def reload_bad_config_keeps_old(ctx):
    s = scenario.build(ctx)
    keep = Conn(s.plain)
    ctx.defer(keep.close)
    keep.send(build_request("GET", "/pub/before"))
    s.echo(keep.read_response())
    cfg = s.gw.read_config()
    cfg["routes"].append(scenario.route("new", "/newroute", "http://127.0.0.1:%d" % s.up.port,
                                        public=True))
    s.gw.write_config(cfg)
    pfile = s.gw.partner_file("acme")
    text = open(pfile).read()
    open(pfile, "w").write(text.replace("http://127.0.0.1:%d" % s.up.port, "htp://x", 1))
    s.gw.reload()
    said = poll(lambda: "htp://x" in s.gw.stderr_text() or "routes[0].upstream"
                in s.gw.stderr_text(), 5)
    check(said, "the refused reload did not log its problems: %s" % s.gw.stderr_tail())
    check(s.gw.alive(), "gateway exited on a bad reload")
    check_problem(s.get("/newroute"), 404)
    keep.send(build_request("GET", "/pub/after"))
    check(s.echo(keep.read_response())["target"] == "/pub/after",
          "connection open across the refused reload broke")
    s.assert_alive("after a refused reload")


@case
def reload_keeps_requests_in_flight(ctx):
    s = scenario.build(ctx)
    out = {}

    def slow():
        try:
            out["r"] = s.get("/pub/~slow/ms=1500", timeout=10)
        except Exception as e:
            out["e"] = e

    t = threading.Thread(target=slow)
    t.start()
    check(s.up.wait_requests(1, 3), "the slow request did not reach the upstream")
    cfg = s.gw.read_config()
    cfg["routes"].append(scenario.route("new", "/newroute", "http://127.0.0.1:%d" % s.up.port,
                                        public=True))
    s.gw.write_config(cfg)
    s.gw.reload()
    t.join(10)
    check("r" in out, "request in flight during the reload failed: %s" % out.get("e"))
    check(s.echo(out["r"])["target"] == "/pub/~slow/ms=1500", "in-flight request answered wrong")

    def new_served():
        r = s.get("/newroute")
        return r if r.status == 200 else None

    check(poll(new_served) is not None, "route added by the reload not served")
