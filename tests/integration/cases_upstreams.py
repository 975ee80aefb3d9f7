"""Upstream sets (partners/upstream_set.c): a route naming a set spreads its exchanges over the
set's targets by weight; a bundle's own sets serve its routes; `portico check` says what is wrong
with a set, and where."""

import hashlib
import threading
import time

import cases_audit
import client
import dns_server
import scenario
import upstream
from client import check
from cases_check import located
from harness import case, free_port


def spread(s, path, n):
    """n GETs of path over 4 keep-alive connections; every answer must be the upstream's 200."""
    conns = [client.Conn(s.plain) for _ in range(4)]
    try:
        for i in range(n):
            c = conns[i % 4]
            c.send(client.build_request("GET", "%s/%d" % (path, i)))
            r = c.read_response()
            check(r.status == 200, "request %d: status %d (%r)" % (i, r.status, r.body[:200]))
    finally:
        for c in conns:
            c.close()


@case
def upstream_set_spreads_by_weight(ctx):
    ups = [ctx.upstream("t%d" % i) for i in range(3)]
    targets = [{"url": "http://127.0.0.1:%d/base" % u.port, "weight": w}
               for u, w in zip(ups, (1, 2, 3))]
    s = scenario.build(ctx, routes=[scenario.route("trio", "/trio/*", "trio", public=True)],
                       config_extra={"upstreams": {"trio": {"targets": targets}}})
    spread(s, "/trio/orders", 3000)
    got = [len(u.requests) for u in ups]
    for n, w, u in zip(got, (1, 2, 3), ups):
        want = 3000 * w / 6
        check(abs(n - want) <= 0.05 * want, "target of weight %d got %d of 3000 requests, "
              "expected %d within 5 %% (all: %r)" % (w, n, want, got))
    # each target's own path: the route's prefix is replaced by the target's base
    doc = ups[2].requests[-1]
    check(doc["target"].startswith("/base/orders/"), "the target saw %r, expected /base/orders/N"
          % doc["target"])


@case
def upstream_set_least_outstanding_avoids_a_slow_target(ctx):
    fast, slow = ctx.upstream("fast"), ctx.upstream("slow")
    targets = ["http://127.0.0.1:%d" % fast.port, "http://127.0.0.1:%d/~slow/ms=300" % slow.port]
    s = scenario.build(ctx, routes=[scenario.route("lor", "/lor/*", "lor", public=True)],
                       config_extra={"upstreams": {"lor": {"balance": "least_outstanding",
                                                           "targets": targets}}})
    statuses, deadline = [], time.monotonic() + 2.0

    def load():
        with client.Conn(s.plain) as c:
            while time.monotonic() < deadline:
                c.send(client.build_request("GET", "/lor/x"))
                statuses.append(c.read_response().status)

    threads = [threading.Thread(target=load) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    check(statuses and all(st == 200 for st in statuses), "statuses other than 200: %r"
          % sorted(set(statuses)))
    n_fast, n_slow = len(fast.requests), len(slow.requests)
    # round robin would give the slow target every other request (about 50 in 2 s); least
    # outstanding only what comes while the fast one is busy too
    check(n_fast > 200 and n_slow < 0.1 * (n_fast + n_slow), "fast target %d, slow target %d "
          "requests: the slow one should get less than a tenth" % (n_fast, n_slow))


@case
def upstream_set_hash_keeps_a_key_on_one_target(ctx):
    ups = [ctx.upstream("h%d" % i) for i in range(3)]
    targets = ["http://127.0.0.1:%d" % u.port for u in ups]
    s = scenario.build(ctx, tls="require", routes=[
        scenario.route("by-customer", "/cust/*", "by-customer", public=True),
        scenario.route("by-partner", "/part/*", "by-partner", partners=["acme", "globex"]),
    ], config_extra={"upstreams": {
        "by-customer": {"balance": "hash", "hash_on": "field:X-Customer", "targets": targets,
                        "health": {"path": "/health", "interval_ms": 200, "timeout_ms": 150,
                                   "healthy_threshold": 1, "unhealthy_threshold": 1}},
        "by-partner": {"balance": "hash", "targets": targets}}})
    def servers_by_customer(tag, rounds):
        """31 customers, `rounds` GETs each: {customer: the targets that answered}."""
        seen = {}
        with client.Conn(s.plain) as c:
            for rnd in range(rounds):
                for cust in range(31):
                    c.send(client.build_request("GET", "/cust/%s-%d" % (tag, rnd),
                                                headers=[("X-Customer", "customer-%d" % cust)]))
                    r = c.read_response()
                    check(r.status == 200, "customer %d (%s): %d" % (cust, tag, r.status))
                    seen.setdefault(cust, set()).add(s.echo(r)["server"])
        return seen

    seen = servers_by_customer("before", 4)
    split = {k: v for k, v in seen.items() if len(v) != 1}
    check(not split, "customers sent to more than one target: %r" % split)
    used = set().union(*seen.values())
    check(len(used) >= 2, "31 customers all on %r: the hash does not spread" % used)
    for partner in ("acme", "globex"):
        servers = {s.echo(s.tls_get(partner + "-client", "/part/%d" % i))["server"]
                   for i in range(8)}
        check(len(servers) == 1, "%s's exchanges went to %r, expected one target" % (partner,
                                                                                   servers))
    # a target leaves (down, found by its health check): only its customers move
    before = {k: next(iter(v)) for k, v in seen.items()}
    victim = before[0]
    {u.name: u for u in ups}[victim].close()
    time.sleep(0.8)
    after = servers_by_customer("after", 2)
    for cust in range(31):
        got = after[cust]
        if before[cust] != victim:
            check(got == {before[cust]}, "customer %d of %s moved to %r when %s left"
                  % (cust, before[cust], got, victim))
        else:
            check(len(got) == 1 and victim not in got, "customer %d of the target that left "
                  "went to %r" % (cust, got))


@case
def upstream_set_ejects_a_failing_target(ctx):
    good = [ctx.upstream("g%d" % i) for i in range(2)]
    bad = ctx.upstream("bad")
    gone = free_port()  # nothing listens there: every connect is refused
    targets = ["http://127.0.0.1:%d" % u.port for u in good] + [
        "http://127.0.0.1:%d/~echo/status=500" % bad.port, "http://127.0.0.1:%d" % gone]
    s = scenario.build(ctx, routes=[
        scenario.route("ej", "/ej/*", "ej", public=True),
        scenario.route("down", "/down/*", "down", public=True),
    ], config_extra={"upstreams": {
        "ej": {"targets": targets, "outlier": {"consecutive_failures": 3, "base_ejection_ms": 1500,
                                                 "max_ejection_percent": 50},
               "retries": {"attempts": 1}},  # each failure seen as it is (retries: below)
        "down": {"targets": ["http://127.0.0.1:%d" % gone, "http://127.0.0.1:%d" % free_port()],
                 "outlier": {"consecutive_failures": 2, "max_ejection_percent": 100}}}})
    statuses = [s.get("/ej/%d" % i).status for i in range(60)]
    # three answers each from the failing targets, then only the good ones answer
    check(len(bad.requests) == 3, "the target answering 500 got %d requests, expected 3 before it "
          "was ejected" % len(bad.requests))
    check(statuses.count(500) == 3 and statuses.count(502) == 3 and statuses[-40:] == [200] * 40,
          "statuses %r: expected three 500s and three 502s early, then only 200" % statuses)
    time.sleep(1.7)  # the ejections end: each failing target is tried once more, and goes again
    statuses = [s.get("/ej/%d" % i).status for i in range(20)]
    check(len(bad.requests) == 4 and statuses.count(500) == 1 and statuses.count(502) == 1,
          "after the base time: the 500 target got %d requests in all, statuses %r; expected one "
          "more try each" % (len(bad.requests), statuses))
    # every target of a set out: 503 with Retry-After and a problem body
    for i in range(4):
        s.get("/down/%d" % i)
    r = s.get("/down/x")
    check(r.status == 503 and r.get("retry-after") and int(r.get("retry-after")) >= 1,
          "all targets out: %d, Retry-After %r (expected 503 with one)" % (r.status,
                                                                       r.get("retry-after")))
    doc = r.json()
    check(doc.get("type", "").endswith(":upstream-unavailable") and "down" in doc.get("detail", ""),
          "problem body %r" % doc)


@case
def upstream_set_max_connections(ctx):
    slow = ctx.upstream("slow")
    s = scenario.build(ctx, routes=[scenario.route("mc", "/mc/*", "mc", public=True)],
                       config_extra={"upstreams": {"mc": {"targets": [
                           {"url": "http://127.0.0.1:%d/~slow/ms=600" % slow.port,
                            "max_connections": 2}]}}})
    results = []

    def one(i):
        r = s.get("/mc/%d" % i)
        results.append((r.status, r.get("retry-after")))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
        time.sleep(0.05)
    for t in threads:
        t.join(10)
    ok = [r for r in results if r[0] == 200]
    full = [r for r in results if r[0] == 503 and r[1]]
    check(len(ok) == 2 and len(full) == 2, "4 requests at once to a target of max_connections 2: "
          "%r (expected two 200 and two 503 with Retry-After)" % results)
    check(len(slow.requests) == 2, "the target got %d requests, expected 2" % len(slow.requests))
    check(s.get("/mc/after").status == 200, "the target takes exchanges again once they are done")


@case
def upstream_set_retries_only_what_is_safe(ctx):
    good = ctx.upstream("good")
    closing = ctx.upstream("closing")  # reads the request, closes without a word
    gone = free_port()
    s = scenario.build(ctx, routes=[
        scenario.route("safe", "/safe/*", "safe", public=True),
        scenario.route("refused", "/refused/*", "refused", public=True),
        scenario.route("storm", "/storm/*", "storm", public=True),
    ], config_extra={"upstreams": {
        "safe": {"targets": ["http://127.0.0.1:%d" % good.port,
                             "http://127.0.0.1:%d/~close" % closing.port],
                 "outlier": {"consecutive_failures": 0}, "retries": {"budget_percent": 100}},
        "refused": {"targets": ["http://127.0.0.1:%d" % good.port, "http://127.0.0.1:%d" % gone],
                    "outlier": {"consecutive_failures": 0}, "retries": {"budget_percent": 100}},
        "storm": {"targets": ["http://127.0.0.1:%d/~close/n=%d" % (closing.port, i)
                              for i in range(3)],
                  "outlier": {"consecutive_failures": 0}, "retries": {"attempts": 3,
                                                                      "budget_percent": 20}}}})
    # GETs: a connection refused, or closed before the answer, is tried on the other target
    for route in ("safe", "refused"):
        statuses = [s.get("/%s/g%d" % (route, i)).status for i in range(30)]
        check(statuses == [200] * 30, "GETs on %s: %r" % (route, statuses))
    # POSTs with a body: the closing target got their bytes, so they are never tried again
    before_good, before_closing = len(good.requests), len(closing.requests)
    posts = []
    for i in range(12):
        r = client.request(s.plain, "POST", "/safe/p%d" % i, [("Content-Type", "application/json")],
                           body=b'{"id": "post-%d"}' % i)
        posts.append(r.status)
    sent = (len(good.requests) - before_good) + (len(closing.requests) - before_closing)
    check(sent == posts.count(200) + posts.count(502), "POSTs: %d reached an upstream for %r"
          % (sent, posts))
    check(posts.count(502) == len(closing.requests) - before_closing and posts.count(502) > 0,
          "POSTs the closing target took must fail with 502, not go elsewhere: %r" % posts)
    # every target failing: attempts stay within the budget (20 %% of the exchanges, a few more)
    before = len(closing.requests)
    for i in range(100):
        s.get("/storm/%d" % i)
    attempts = len(closing.requests) - before
    check(100 <= attempts <= 120, "100 GETs against failing targets made %d attempts (at most "
          "1.2 times the requests)" % attempts)


@case
def upstream_set_replays_bodies_and_audits_each_try(ctx):
    """A body the route keeps (replay_bytes) goes again to another target when the first closes
    without answering, for PUT and for a POST with an Idempotency-Key; a try that does not answer
    within the route's try_timeout_ms gives way to the next target; a set with every target out
    answers 503. The audit event of each exchange lists its tries and holds to the schema."""
    good, closing, slow = ctx.upstream("good"), ctx.upstream("closing"), ctx.upstream("slow")
    gone = free_port()
    cfg = cases_audit.audit_config("embedded")
    cfg["upstreams"] = {
        "replay": {"targets": ["http://127.0.0.1:%d/~close" % closing.port,
                               "http://127.0.0.1:%d" % good.port],
                   "outlier": {"consecutive_failures": 0}, "retries": {"budget_percent": 100}},
        "tardy": {"targets": ["http://127.0.0.1:%d/~slow/ms=3000" % slow.port,
                              "http://127.0.0.1:%d" % good.port],
                  "outlier": {"consecutive_failures": 0}, "retries": {"budget_percent": 100}},
        "none": {"targets": ["http://127.0.0.1:%d" % gone, "http://127.0.0.1:%d" % gone + "/b"],
                 "outlier": {"consecutive_failures": 1, "max_ejection_percent": 100},
                 "retries": {"attempts": 1}}}
    s = scenario.build(ctx, routes=[
        scenario.route("replay", "/replay/*", "replay", public=True),
        scenario.route("tardy", "/tardy/*", "tardy", public=True,
                       retries={"attempts": 2, "try_timeout_ms": 400}),
        scenario.route("none", "/none/*", "none", public=True)], config_extra=cfg)
    addr = cases_audit.embedded_addr(s.gw)
    good_addr, closing_addr = "127.0.0.1:%d" % good.port, "127.0.0.1:%d" % closing.port
    sent = {}
    for i in range(8):
        body = b'{"order": %d, "pad": "%s"}' % (i, b"x" * (1000 * i))
        fields = [("Content-Type", "application/json")]
        method = "PUT" if i % 2 == 0 else "POST"
        if method == "POST":
            fields.append(("Idempotency-Key", "k-%d" % i))
        r = client.request(s.plain, method, "/replay/o%d" % i, fields, body=body)
        check(r.status == 200, "%s %d: %d %r" % (method, i, r.status, r.body[:200]))
        sent[cases_audit.rid(r)] = body
        doc = s.echo(r)
        check(doc["body_sha256"] == hashlib.sha256(body).hexdigest(),
              "%s %d: the target got a body of %d bytes, not the %d sent" %
              (method, i, doc["body_len"], len(body)))
    check(len(closing.requests) >= 4, "the closing target saw %d of 8 requests"
          % len(closing.requests))
    t0 = time.time()
    for i in range(4):
        r = s.get("/tardy/t%d" % i)
        check(r.status == 200, "GET %d on tardy: %d" % (i, r.status))
    took = time.time() - t0
    check(took < 2.5, "4 GETs, each at most one 400 ms try before the next, took %.2f s" % took)
    statuses = [s.get("/none/%d" % i) for i in range(4)]
    last = statuses[-1]
    check(last.status == 503 and last.get("retry-after"), "every target out: %d %r"
          % (last.status, last.headers))
    events = [m["event"] for m in cases_audit.wait_events(addr, 16)]
    cases_audit.valid(events)
    by_rid = {e["request_id"]: e for e in events if e["kind"] == "exchange"}
    for k in sent:
        up = by_rid[k]["upstream"]
        tries = [(t["address"], t["error"], t["status"]) for t in up["tries"]]
        check(up["set"] == "replay" and up["address"] == good_addr and up["status"] == 200,
              "upstream of a replayed request: %r" % up)
        check(tries in ([(good_addr, None, 200)],
                        [(closing_addr, "closed", None), (good_addr, None, 200)]),
              "tries of a replayed request: %r" % tries)
    retried = [e for e in events if e["route"] == "replay" and len(e["upstream"]["tries"]) == 2]
    check(len(retried) >= 4, "%d of 8 replay events have two tries" % len(retried))
    tardy = [e["upstream"]["tries"] for e in events if e["route"] == "tardy"]
    late = [t for t in tardy if len(t) == 2]
    check(len(tardy) == 4 and late and all(len(t) in (1, 2) and t[-1]["status"] == 200
                                           for t in tardy), "tardy tries: %r" % tardy)
    for t in late:
        check(t[0]["error"] == "timeout" and t[0]["status"] is None and
              350000 <= t[0]["latency_us"] < 1500000 and t[1]["status"] == 200,
              "a try past try_timeout_ms: %r" % t)
    out = [e for e in events if e["route"] == "none" and e["status"] == 503]
    check(out and out[-1]["reason"] == "upstream-unavailable" and
          out[-1]["upstream"] == {"address": None, "latency_us": None, "set": "none",
                                  "status": None, "tries": []},
          "the event of a 503 with every target out: %r" % ([(e["reason"], e["upstream"]) for e in out]))
    refused = [e for e in events if e["route"] == "none" and e["status"] == 502]
    check(refused and refused[0]["upstream"]["tries"][0]["error"] == "connect-failed",
          "the event of a refused connection: %r" % (refused[:1],))


@case
def upstream_set_health_checks(ctx):
    """Active health checks: a target whose check fails (refused, or an answer without the text
    asked for) gets no exchanges; one worker checks a set, not each; a set whose every target is
    unhealthy answers 503 with Retry-After."""
    good, wrong = ctx.upstream("good-one"), ctx.upstream("wrong-one")
    gone = free_port()
    check_conf = {"path": "/health", "body_contains": "good-one", "interval_ms": 200,
                  "timeout_ms": 150, "healthy_threshold": 1, "unhealthy_threshold": 2}
    s = scenario.build(ctx, workers=2, routes=[
        scenario.route("hc", "/hc/*", "hc", public=True),
        scenario.route("dead", "/dead-set/*", "dead", public=True)], config_extra={"upstreams": {
            "hc": {"targets": ["http://127.0.0.1:%d" % u for u in (good.port, wrong.port, gone)],
                   "outlier": {"consecutive_failures": 0}, "retries": {"attempts": 1},
                   "health": check_conf},
            "dead": {"targets": ["http://127.0.0.1:%d" % gone],
                     "health": dict(check_conf, path="/health")}}})
    t0 = time.time()
    time.sleep(1.0)  # a first check, then two failures in a row at most 0.4 s later
    before = len(good.requests)
    for i in range(30):
        r = s.get("/hc/%d" % i)
        check(r.status == 200, "GET %d: %d %r" % (i, r.status, r.body[:200]))
        check(s.echo(r)["server"] == "good-one", "GET %d went to %s" % (i, s.echo(r)["server"]))
    served = [d for d in good.requests[before:] if d["target"] != "/health"]
    check(len(served) == 30, "the healthy target served %d of 30" % len(served))
    checks = [d for d in wrong.requests if d["target"] == "/health"]
    others = [d for d in wrong.requests if d["target"] != "/health"]
    check(not others, "the unhealthy target got %d exchanges" % len(others))
    elapsed = time.time() - t0
    # one worker checks the set: about one check per interval, not one per worker
    want = elapsed / 0.2
    check(0.6 * want <= len(checks) <= 1.3 * want + 1, "%d checks in %.1f s at 200 ms (one "
          "worker: about %d)" % (len(checks), elapsed, want))
    ua = upstream.hget(checks[0]["headers"], "user-agent")
    check(ua == ["portico-health"] and checks[0]["method"] == "GET",
          "a check: %s %r" % (checks[0]["method"], ua))
    # a reload keeps what the checks found: right after it, still nothing to the unhealthy target
    s.gw.reload()
    end, i = time.time() + 1.0, 0
    while time.time() < end:
        r = s.get("/hc/after-reload-%d" % i)
        check(r.status == 200 and s.echo(r)["server"] == "good-one",
              "after the reload, GET %d: %d %r" % (i, r.status, r.body[:200]))
        i += 1
    others = [d for d in wrong.requests if d["target"] != "/health"]
    check(not others, "after the reload the unhealthy target got %d exchanges" % len(others))
    r = s.get("/dead-set/x")
    check(r.status == 503 and r.get("retry-after") and
          r.json().get("type", "").endswith("upstream-unavailable"),
          "every target unhealthy: %d %r %r" % (r.status, r.headers, r.body[:200]))


@case
def upstream_set_names_looked_up_again(ctx):
    """A target known by name is resolved at load through the configured nameserver and looked up
    again every resolve_ms: when the name moves, new exchanges follow it (pooled connections to
    the old address are dropped), within two periods."""
    dns = dns_server.DnsServer({"backend.test": "127.0.0.1"})
    ctx.defer(dns.close)
    first = ctx.upstream("first")
    second = ctx.upstream("second", host="127.0.0.2", port=first.port)
    s = scenario.build(ctx, routes=[scenario.route("named", "/named/*", "named", public=True)],
                       config_extra={"resolver": {"nameservers": ["127.0.0.1:%d" % dns.port]},
                                     "upstreams": {"named": {
                                         "targets": ["http://backend.test:%d" % first.port],
                                         "resolve_ms": 1000}}})
    with client.Conn(s.plain) as c:
        for i in range(5):
            c.send(client.build_request("GET", "/named/a%d" % i))
            doc = s.echo(c.read_response())
            check(doc["server"] == "first", "before the move, GET %d went to %s" % (i, doc["server"]))
        host = upstream.hget(doc["headers"], "host")
        check(host == ["backend.test:%d" % first.port], "Host sent to the target: %r" % host)
        dns.set("backend.test", "127.0.0.2")
        moved, t0 = None, time.time()
        while time.time() - t0 < 4.0:
            c.send(client.build_request("GET", "/named/b"))
            if s.echo(c.read_response())["server"] == "second":
                moved = time.time() - t0
                break
            time.sleep(0.05)
        check(moved is not None and moved <= 2.5, "the name moved; exchanges followed after %s s "
              "(resolve_ms 1000)" % moved)
        for i in range(10):
            c.send(client.build_request("GET", "/named/c%d" % i))
            doc = s.echo(c.read_response())
            check(doc["server"] == "second", "after the move, GET %d went to %s" % (i, doc["server"]))
    asked = [q for q in dns.questions if q[0] == "backend.test" and q[1] == 1]
    check(len(asked) >= 2, "the nameserver was asked %d times for backend.test" % len(asked))


@case
def check_upstream_names(ctx):
    dns = dns_server.DnsServer({})
    ctx.defer(dns.close)
    s = scenario.build(ctx, start=False, routes=[
        scenario.route("nowhere", "/nowhere/*", "nowhere", public=True)], config_extra={
            "resolver": {"nameservers": ["127.0.0.1:%d" % dns.port, "dns.example:53"]},
            "upstreams": {"nowhere": {"targets": ["http://nowhere.test:8080"], "resolve_ms": 10}}})
    p = ctx.run([ctx.env.portico, "check", "-c", s.gw.config_path])
    out = (p.stdout + p.stderr).decode(errors="replace")
    check(p.returncode == 1, "check exited %d, expected 1: %s" % (p.returncode, out[-600:]))
    found = {(m.group("path"), m.group("msg")) for m in located(out)}
    for w in [("resolver.nameservers[1]", "\"dns.example:53\" is not a nameserver address (an IP "
               "address, with :port if not 53)"),
              ("upstreams.nowhere.resolve_ms", "10 is out of range (1000 to 86400000)")]:
        check(w in found, "check did not say %r; it said:\n%s" % (w, out[-1500:]))
    check(any(path == "upstreams.nowhere.targets[0]" and msg.startswith(
        "cannot resolve host \"nowhere.test\"") for path, msg in found),
        "check did not say the name cannot be resolved; it said:\n%s" % out[-1500:])


@case
def upstream_set_of_a_bundle(ctx):
    ups = [ctx.upstream("a%d" % i) for i in range(2)]
    acme_set = {"acme-backends": {"targets": ["http://127.0.0.1:%d" % u.port for u in ups]}}
    s = scenario.build(ctx, tls="require", acme_extra={"upstreams": acme_set},
                       acme_routes=[scenario.route("set", "/acme/set/*", "acme-backends")])
    for i in range(10):
        r = s.tls_get("acme-client", "/acme/set/%d" % i)
        s.echo(r)
    got = [len(u.requests) for u in ups]
    check(got == [5, 5], "two targets of weight 1 got %r of 10 requests, expected 5 each" % got)


@case
def check_upstream_set_problems(ctx):
    s = scenario.build(ctx, start=False, routes=[
        scenario.route("typo", "/typo/*", "tiro", public=True),
        scenario.route("bundle-only", "/bo/*", "acme-backends", public=True),
        scenario.route("one", "/one/*", "http://127.0.0.1:3", public=True, retries={"attempts": 2}),
        scenario.route("six", "/six/*", "duo", public=True, retries={"attempts": 6}),
    ], config_extra={"upstreams": {"trio": {"targets": [
        {"url": "http://127.0.0.1:1", "weight": 0}, "kafka://audit"]},
        "duo": {"targets": ["http://127.0.0.1:4", "http://127.0.0.1:5"],
                "retries": {"replay_bytes": 2097152},
                "health": {"path": "/h", "interval_ms": 50, "statuses": ["200"]}}}},
        acme_extra={"upstreams": {"acme-backends": {"targets": ["http://127.0.0.1:2"]}}})
    p = ctx.run([ctx.env.portico, "check", "-c", s.gw.config_path])
    out = (p.stdout + p.stderr).decode(errors="replace")
    check(p.returncode == 1, "check exited %d, expected 1: %s" % (p.returncode, out[-600:]))
    found = {(m.group("path"), m.group("msg")) for m in located(out)}
    want = [
        ("upstreams.trio.targets[0].weight", "0 is out of range (1 to 1000)"),
        ("upstreams.trio.targets[1]", "\"kafka://audit\": a set's targets are http:// or https:// "
         "URLs"),
        ("routes[5].upstream", "\"tiro\" is neither a URL nor the name of an upstream set "
         "(\"upstreams\" of the bundle or of portico.json)"),
        ("routes[6].upstream", "\"acme-backends\" is neither a URL nor the name of an upstream "
         "set (\"upstreams\" of the bundle or of portico.json)"),
        ("routes[7].retries", "a route to one URL has no other target to try: \"retries\" takes "
         "an upstream set (\"upstreams\")"),
        ("routes[8].retries.attempts", "6 is out of range (1 to 5)"),
        ("upstreams.duo.retries.replay_bytes", "2097152 is out of range (0 to 1048576)"),
        ("upstreams.duo.health.interval_ms", "50 is out of range (100 to 3600000)"),
        ("upstreams.duo.health.statuses[0]", "expected a status from 100 to 599"),
    ]
    for w in want:
        check(w in found, "check did not say %r; it said:\n%s" % (w, out[-1500:]))
