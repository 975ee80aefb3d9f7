"""Reload on SIGHUP: a new bundle is served without a restart; a bad configuration is refused as
a whole while the old one keeps serving; requests in flight finish."""

import hashlib
import os
import shutil
import threading
import time

import client
import loadgen
import scenario
from client import Conn, build_request, check, check_problem, poll
from harness import case
from scenario import hvals




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


def peer_sha256(conn):
    return hashlib.sha256(conn.sock.getpeercert(binary_form=True)).hexdigest()


@case
def reload_watch_rotates_server_certificate(ctx):
    """With "reload": {"watch": true}, replacing the listener's certificate and key files (by a
    rename, as certificate tools do) is picked up without a signal: a new connection sees the new
    certificate; a connection kept alive from before keeps working on the old one."""
    s = scenario.build(ctx, tls="optional",
                       config_extra={"reload": {"watch": True, "debounce_ms": 200}})
    certs = ctx.certs
    tls = s.tls_ctx("acme-client")
    tls.load_verify_locations(certs.pem("upstream-ca"))
    keep = Conn(s.tls, ctx=tls)
    ctx.defer(keep.close)
    keep.send(build_request("GET", "/acme/orders"))
    check(keep.read_response().status == 200, "first request on the kept connection")
    check(peer_sha256(keep) == certs.sha256("server"), "not the first certificate")
    for name, src in (("server.key", certs.key("upstream")), ("server.pem", certs.pem("upstream"))):
        tmp = os.path.join(s.gw.dir, name + ".new")
        shutil.copyfile(src, tmp)
        os.rename(tmp, os.path.join(s.gw.dir, name))

    def rotated():
        c = Conn(s.tls, ctx=tls)
        try:
            c.send(build_request("GET", "/acme/orders"))
            ok = c.read_response().status == 200
            return ok and peer_sha256(c) == certs.sha256("upstream")
        finally:
            c.close()

    check(poll(rotated, 10), "a new connection does not see the new certificate 10 s after the "
          "files changed: %s" % s.gw.stderr_tail())
    check("watch: a configuration file changed" in s.gw.stderr_text(), "no reload by the watch")
    keep.send(build_request("GET", "/acme/orders"))
    check(keep.read_response().status == 200, "the kept-alive connection broke")
    check(peer_sha256(keep) == certs.sha256("server"), "the kept connection changed certificate")


class Callers(loadgen.Clients):
    """mTLS keep-alive clients of two partners that stay, counting answers and failures."""

    def __init__(self, s, threads=4, seconds=40):
        self.s = s
        self.ok = 0
        self.failed = []
        loadgen.Clients.__init__(self, threads, seconds)

    def run(self, i):
        cert, path = (("acme-client", "/acme/orders"), ("globex-client", "/globex/x"))[i % 2]
        tls = self.s.tls_ctx(cert)
        conn = None
        n = 0
        while self.going() and n < 200000:
            n += 1
            try:
                if conn is None:
                    conn = Conn(self.s.tls, ctx=tls)
                conn.send(build_request("GET", path))
                r = conn.read_response()
            except (OSError, client.Closed) as e:
                with self.lock:
                    self.failed.append("%s: %s" % (cert, e))
                conn = None
                continue
            with self.lock:
                if 200 <= r.status < 300:
                    self.ok += 1
                else:
                    self.failed.append("%s: %d" % (cert, r.status))
            if (r.get("connection") or "").lower() == "close":
                conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def count(self):
        with self.lock:
            return self.ok


@case(timeout=120)
def reload_under_load_fails_nothing(ctx):
    """20 reloads through the admin API in 20 s under mTLS keep-alive load, half of them adding or
    removing a partner, one of them broken: the partners that stay get no failed request and no
    socket error; the broken configuration is refused (422) and the node goes on."""
    import cases_admin
    port = cases_admin.free_port()
    s = scenario.build(ctx, tls="optional",
                       config_extra={"admin": {"address": "127.0.0.1:%d" % port}})
    certs = ctx.certs
    answers = []
    with Callers(s) as load:
        load.wait_for(50)
        for i in range(20):
            t0 = time.time()
            broken = i == 13
            if i % 2 == 0:
                s.gw.write_partner("p%d" % i, {
                    "json": {"id": "p%d" % i, "name": "Partner %d" % i,
                             "identity": {"ca": "ca.pem", "subject": "CN=p%d,O=Nobody" % i},
                             "routes": [scenario.route("api", "/p%d/*" % i,
                                                       "http://127.0.0.1:%d" % s.up.port)]},
                    "files": {"ca.pem": certs.pem("rogue-ca")}})
            elif i > 1:
                shutil.rmtree(os.path.join(s.gw.dir, "partners.d", "p%d" % (i - 3)))
            cfg = s.gw.read_config()
            cfg["limits"]["max_headers"] = 0 if broken else 90 + i
            s.gw.write_config(cfg)
            r = client.request(port, "POST", "/reload", timeout=10)
            answers.append((i, r.status))
            time.sleep(max(0.0, 1.0 - (time.time() - t0)))
        served = load.count()
    want = [(i, 422 if i == 13 else 200) for i in range(20)]
    check(answers == want, "reload answers: %r" % answers)
    check(not load.failed, "%d failed requests under reloads (of %d): %r"
          % (len(load.failed), served + len(load.failed), load.failed[:5]))
    check(served > 400, "only %d requests served in 20 s" % served)
    s.assert_alive("after 20 reloads")
