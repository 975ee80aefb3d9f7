"""Traffic limits (partners/README.md, "Limits"): a partner's rate with a burst, a route's
requests under way and its day quota, counted for the whole node; a refusal is a 429 with
Retry-After and the RateLimit fields, a problem naming the limit, and an audit event; a reload
keeps the counts."""

import json
import subprocess
import threading
import time

import client
import scenario
from client import Conn, build_request, check, poll
from harness import case


def limited(r):
    return r.status == 429


def check_429(r, code, policy, quota, window):
    doc = r.json()
    check(r.status == 429 and doc["type"] == "urn:portico:problem:" + code and
          r.get("content-type") == "application/problem+json", "429 %s: %d %r"
          % (code, r.status, r.body))
    retry = int(r.get("retry-after"))
    check(r.get("ratelimit-policy") == '"%s";q=%d;w=%d' % (policy, quota, window) and
          r.get("ratelimit") == '"%s";r=0;t=%d' % (policy, retry) and retry >= 1,
          "RateLimit fields: %r" % r.headers)
    return doc


@case
def limits_partner_rate_with_burst(ctx):
    """acme: 5 requests a second, burst 3: of 20 back to back, the burst and the rate's share
    go through, the rest get 429 rate-limited; a second later it is served again."""
    s = scenario.build(ctx, tls="optional", acme_limits={"requests_per_s": 5, "burst": 3})
    conn = Conn(s.tls, ctx=s.tls_ctx("acme-client"))
    ctx.defer(conn.close)
    t0 = time.time()
    got = []
    for i in range(20):
        conn.send(build_request("GET", "/acme/orders"))
        got.append(conn.read_response())
    took = time.time() - t0
    ok = sum(1 for r in got if r.status == 200)
    # the burst (3) and the first (1), and what the rate gave back while they went (5 a second)
    check(4 <= ok <= 4 + int(took * 5) + 1 and all(r.status in (200, 429) for r in got),
          "%d of 20 served in %.2f s: %r" % (ok, took, [r.status for r in got]))
    doc = check_429(next(r for r in got if limited(r)), "rate-limited", "rate", 5, 1)
    check("partner acme" in doc["detail"] and "5 requests a second, burst 3" in doc["detail"],
          "detail: %r" % doc["detail"])
    time.sleep(1.0)
    conn.send(build_request("GET", "/acme/orders"))
    check(conn.read_response().status == 200, "not served again a second later")
    # another partner is not limited by acme's
    check(all(s.tls_get("globex-client", "/globex/x").status == 200 for _ in range(10)),
          "globex refused by acme's limit")


@case
def limits_route_concurrent(ctx):
    """A route with 1 request under way at once: a second one meanwhile gets 429
    concurrency-limited; once the first is answered, the next goes through."""
    s = scenario.build(ctx)
    cfg = s.gw.read_config()
    cfg["routes"].append(scenario.route("one", "/one/*", "http://127.0.0.1:%d" % s.up.port,
                                        public=True, limits={"concurrent": 1}))
    s.gw.write_config(cfg)
    s.gw.reload()
    check(poll(lambda: s.get("/one/x").status == 200), "the limited route is not served")
    out = {}

    def first():
        out["r"] = s.get("/one/~slow/ms=1200", timeout=10)

    with s.up.lock:
        seen = len(s.up.requests)
    t = threading.Thread(target=first)
    t.start()
    check(s.up.wait_requests(seen + 1, 3), "the slow request did not reach the upstream")
    r = s.get("/one/y")
    t.join(10)
    check_429(r, "concurrency-limited", "concurrent", 1, 1)
    check(out["r"].status == 200, "the first: %d" % out["r"].status)
    check(s.get("/one/z").status == 200, "not served once the first was answered")


@case
def limits_route_day_quota_kept_across_reload(ctx):
    """A route's quota of 6 a day: 6 served, the rest 429 quota-exceeded (Retry-After: the
    seconds to UTC midnight), still refused after a reload; the audit says which limit."""
    import cases_audit
    route = scenario.route("quota", "/quota/*", "mock:200", public=True,
                           limits={"requests_per_day": 6})
    s = scenario.build(ctx, routes=[route], config_extra=cases_audit.audit_config("embedded"))
    addr = cases_audit.embedded_addr(s.gw)
    got = [s.get("/quota/%d" % i) for i in range(9)]
    check([r.status for r in got] == [200] * 6 + [429] * 3, "statuses: %r"
          % [r.status for r in got])
    to_midnight = 86400 - int(time.time()) % 86400
    doc = check_429(got[6], "quota-exceeded", "day", 6, 86400)
    check(abs(int(got[6].get("retry-after")) - to_midnight) <= 2 and "route quota" in
          doc["detail"], "Retry-After %s, %d s to midnight; %r"
          % (got[6].get("retry-after"), to_midnight, doc))
    cfg = s.gw.read_config()
    cfg["limits"]["max_headers"] = 99
    s.gw.write_config(cfg)
    s.gw.reload()
    check(poll(lambda: "reloaded: configuration" in s.gw.stderr_text()), "no reload")
    check(s.get("/quota/after").status == 429, "the quota started again at the reload")
    rid = got[7].get("x-request-id")
    events = [m["event"] for m in cases_audit.wait_events(addr, 11)]
    e = [x for x in events if x["request_id"] == rid]
    check(len(e) == 1 and e[0]["status"] == 429 and e[0]["outcome"] == "refused" and
          e[0]["reason"] == "quota-exceeded" and "6 requests a day" in (e[0].get("detail") or ""),
          "the refusal's audit event: %r" % e)


@case
def limits_check_refuses_bad_settings(ctx):
    s = scenario.build(ctx, start=False, acme_limits={"burst": 5, "requests_per_day": 10,
                                                      "requests_per_month": 5, "rate": 3})
    p = subprocess.run([ctx.env.portico, "check", "-c", s.gw.config_path], cwd=s.gw.dir,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    out = p.stdout.decode()
    for what in ("limits.burst: a burst without requests_per_s",
                 "limits.requests_per_day: 10 a day is more than the month's 5",
                 "limits.rate: unknown key"):
        check(what in out, "check does not say %r: %s" % (what, out))
    check(p.returncode == 1, "check exit %d" % p.returncode)


@case
def limits_route_bytes_per_day(ctx):
    """A route's 3,000 body bytes a day: the bytes of an exchange (the request's as received,
    the response's as sent) count once it is over; posts of 1,000 bytes are served while the
    day's bytes are not spent, then get 429 quota-exceeded (policy bytes-day); a refused one
    counts nothing."""
    up = ctx.upstream("echo")
    route = scenario.route("metered", "/metered/*", "http://127.0.0.1:%d" % up.port,
                           public=True, limits={"bytes_per_day": 3000})
    s = scenario.build(ctx, routes=[route], up=up)
    spent, want, got = 0, [], []
    for i in range(5):
        want.append(200 if spent < 3000 else 429)
        r = client.request(s.plain, "POST", "/metered/%d" % i, body=b"x" * 1000)
        got.append(r.status)
        if r.status == 200:
            spent += 1000 + len(r.body)
    check(got == want and got.count(429) >= 2, "statuses %r, want %r (spent %d)"
          % (got, want, spent))
    r = client.request(s.plain, "POST", "/metered/last", body=b"x" * 1000)
    doc = check_429(r, "quota-exceeded", "bytes-day", 3000, 86400)
    check("route metered allows 3000 body bytes a day" in doc["detail"], "detail: %r" % doc)
