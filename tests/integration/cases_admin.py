"""The admin listener (gateway/admin.c): health, readiness, status, and Prometheus metrics
checked by promtool (Debian's prometheus package) and against the requests the test sent."""

import calendar
import json
import os
import re
import shutil
import subprocess
import time

import client
import scenario
from client import check, poll
from harness import case, free_port


def admin_setup(ctx, extra=None, **kw):
    port = free_port()
    conf = {"admin": {"address": "127.0.0.1:%d" % port}}
    conf.update(extra or {})
    s = scenario.build(ctx, tls="optional", config_extra=conf, **kw)
    return s, port


def not_after(path):
    """A certificate's notAfter, UTC seconds, as openssl reads it."""
    out = subprocess.run(["openssl", "x509", "-in", path, "-noout", "-enddate"],
                         stdout=subprocess.PIPE, check=True).stdout.decode().strip()
    return calendar.timegm(time.strptime(out.split("=", 1)[1], "%b %d %H:%M:%S %Y GMT"))


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
    # ready once the workers run, a moment after the client ports are bound (what the harness
    # waited for): a probe asks again
    r = poll(lambda: (lambda x: x if x.status == 200 else None)(admin_get(port, "/health/ready")))
    r = r or admin_get(port, "/health/ready")
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
    check(samples[("portico_tls_handshakes_total", (("resumed", "false"),))] == 4,
          "TLS handshakes: %r" % {k: v for k, v in samples.items() if "handshakes" in k[0]})
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


def check_admin(ctx, s, admin):
    """`portico check` on the running configuration with another "admin": (exit code, output)."""
    conf = s.gw.read_config()
    conf["admin"] = admin
    path = s.gw.config_path + ".admin.json"
    with open(path, "w") as f:
        json.dump(conf, f)
    p = subprocess.run([ctx.env.portico, "check", "-c", path], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30, cwd=s.gw.dir)
    return p.returncode, p.stdout.decode()


@case
def admin_refuses_a_non_loopback_address(ctx):
    s, port = admin_setup(ctx)
    rc, out = check_admin(ctx, s, {"address": "0.0.0.0:%d" % port})
    check(rc == 1 and "admin.address" in out and "not a loopback address" in out,
          "check with admin on 0.0.0.0: %d %s" % (rc, out[-600:]))


def audit_admin_events(addr, want, timeout=30):
    """The admin events of the audit topic once there are `want` of them, checked by the schema."""
    import cases_audit
    end = time.time() + timeout
    while True:
        events = [m["event"] for m in cases_audit.kcat(addr)]
        admin = [e for e in events if e["kind"] == "admin"]
        if len(admin) >= want or time.time() > end:
            break
        time.sleep(0.3)
    cases_audit.valid(events)
    cases_audit.chain_ok(events)
    return admin


@case
def admin_reload_answers_and_is_audited(ctx):
    """POST /reload takes a new partner (200, the new version) and refuses a broken configuration
    whole (422 with every problem as check prints it, the old version still served); each reload,
    by the API or SIGHUP, is an audit event of kind admin in the node's chain."""
    import cases_audit
    port = free_port()
    conf = {"admin": {"address": "127.0.0.1:%d" % port}}
    conf.update(cases_audit.audit_config("embedded"))
    s = scenario.build(ctx, tls="optional", config_extra=conf)
    addr = cases_audit.embedded_addr(s.gw)
    v0 = admin_get(port, "/status").json()["config"]["version"]
    s.gw.write_partner("initech", {
        "json": {"id": "initech", "name": "Initech", "identity": {"ca": "ca.pem"},
                 "routes": [scenario.route("api", "/initech/*",
                                           "http://127.0.0.1:%d" % s.up.port)]},
        "files": {"ca.pem": ctx.certs.pem("rogue-ca")}})
    r = client.request(port, "POST", "/reload")
    doc = r.json()
    check(r.status == 200 and doc["accepted"] is True and doc["changed"] is True and
          doc["config"]["previous"] == v0 and doc["config"]["version"] != v0,
          "POST /reload with a new partner: %d %r" % (r.status, r.body))
    v1 = doc["config"]["version"]
    check(admin_get(port, "/status").json()["config"]["version"] == v1, "status not on " + v1)
    check(s.tls_get("rogue-client", "/initech/x").status == 200, "the new partner is not served")
    r = client.request(port, "POST", "/reload")
    check(r.status == 200 and r.json()["changed"] is False and r.json()["config"]["version"] == v1,
          "a reload with nothing changed: %d %r" % (r.status, r.body))
    pfile = s.gw.partner_file("acme")
    text = open(pfile).read()
    open(pfile, "w").write(text.replace("http://127.0.0.1:%d" % s.up.port, "htp://x", 1))
    r = client.request(port, "POST", "/reload")
    doc = r.json()
    check(r.status == 422 and r.get("content-type") == "application/problem+json" and
          doc["type"] == "urn:portico:problem:configuration-refused" and
          doc["config"]["version"] == v1 and
          any(p.startswith("error: ") and "routes[0].upstream" in p and "htp://x" in p
              for p in doc["problems"]),
          "POST /reload with a broken bundle: %d %r" % (r.status, r.body))
    p = subprocess.run([ctx.env.portico, "check", "-c", s.gw.config_path], cwd=s.gw.dir,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    said = [x for x in p.stdout.decode().splitlines() if x.startswith(("error: ", "warning: "))]
    check(sorted(doc["problems"]) == sorted(said),
          "the 422's problems %r are not check's %r" % (doc["problems"], p.stdout.decode()))
    check(admin_get(port, "/status").json()["config"]["version"] == v1, "a refused reload "
          "changed the version")
    check(s.tls_get("acme-client", "/acme/orders").status == 200, "acme lost after a refusal")
    r = client.request(port, "GET", "/reload")
    check(r.status == 405 and r.get("allow") == "POST", "GET /reload: %d" % r.status)
    open(pfile, "w").write(text)
    s.gw.reload()
    admin = audit_admin_events(addr, 5)
    got = [(e["admin"]["via"], e["admin"]["who"], e["admin"]["accepted"], e["admin"]["before"],
            e["admin"]["after"], e["status"], e["outcome"]) for e in admin]
    want = [("api", "loopback", True, v0, v1, 200, "ok"), ("api", "loopback", True, v1, v1, 200, "ok"),
            ("api", "loopback", False, v1, None, 422, "refused"),
            ("signal", "SIGHUP", True, v1, v1, None, "ok")]
    check(got[:2] == want[:2] and got[2] == want[2] and got[3] == want[3] and len(admin) == 4,
          "admin events: %r" % got)
    check(admin[2]["admin"]["problems"] == doc["problems"] and admin[0]["admin"]["problems"] == []
          and admin[0]["client"]["address"] == "127.0.0.1" and admin[0]["method"] == "POST" and
          admin[0]["path"] == "/reload" and admin[3]["client"]["address"] == "local",
          "admin event details: %r" % admin)
    samples = scrape(port)
    check(samples[("portico_reloads_total", (("result", "ok"),))] == 3 and
          samples[("portico_reloads_total", (("result", "refused"),))] == 1,
          "reloads_total: %r" % {k: v for k, v in samples.items() if k[0] == "portico_reloads_total"})


def admin_tls_conf(ctx, port, address=None):
    c = ctx.certs
    return {"address": address or "127.0.0.1:%d" % port,
            "tls": {"cert": c.pem("server"), "key": c.key("server")},
            "admins": [{"name": "ops", "identity": {"ca": c.pem("acme-ca"),
                                                    "fingerprints": [c.sha256("acme-client")]}}]}


@case
def admin_tls_knows_its_admins(ctx):
    """An admin listener with TLS: an admin's certificate is served; a certificate of the admins'
    CA that is no admin's gets 403; another CA's, or none, fails the handshake. Off loopback,
    check accepts it only with TLS."""
    port = free_port()
    s = scenario.build(ctx, config_extra={"admin": admin_tls_conf(ctx, port)})
    ops = s.tls_ctx("acme-client")
    r = client.request(port, "GET", "/status", ctx=ops)
    check(r.status == 200 and r.json()["node"] == scenario.NODE, "admin: %d" % r.status)
    r = client.request(port, "POST", "/reload", ctx=ops)
    check(r.status == 200 and r.json()["accepted"] is True, "admin reload: %d" % r.status)
    r = client.request(port, "GET", "/status", ctx=s.tls_ctx("acme-revoked"))
    check(r.status == 403 and r.json()["type"] == "urn:portico:problem:not-an-admin",
          "not an admin: %d %r" % (r.status, r.body))
    check("is no admin's" in s.gw.stderr_text(), "the refusal was not logged")
    for cert in ("globex-client", None):
        try:
            r = client.request(port, "GET", "/status", ctx=s.tls_ctx(cert))
            failed = False
        except (OSError, client.Closed):
            failed = True
        check(failed, "client certificate %s was let in: %d" % (cert, r.status))
    try:
        client.request(port, "GET", "/status")
        plain = True
    except (OSError, client.Closed):
        plain = False
    check(not plain, "plain HTTP answered on a TLS admin listener")
    for admin, ok in ((admin_tls_conf(ctx, port, "10.1.2.3:9901"), True),
                      ({"address": "10.1.2.3:9901", "admins": admin_tls_conf(ctx, port)["admins"]},
                       False)):
        rc, out = check_admin(ctx, s, admin)
        check((rc == 0) == ok and (ok or "needs \"tls\"" in out),
              "check, admin off loopback (tls: %s): %d %s" % (ok, rc, out[-600:]))


@case
def admin_shows_partners_routes_upstreams(ctx):
    """GET /partners, /partners/{id}, /routes and /upstreams show the snapshot served; the
    certificates' expiry and the upstream targets' health are metrics too."""
    up = ctx.upstream("echo")
    sets = {"upstreams": {"pool": {"targets": ["http://127.0.0.1:%d" % up.port]}}}
    s, port = admin_setup(ctx, extra=sets, up=up,
                          routes=[scenario.route("pooled", "/pooled/*", "pool", public=True),
                                  scenario.route("x2j", "/x2j", "mock:200", public=True,
                                                 request=[{"xml_to_json": {}}])])
    for i in range(2):
        r = client.request(s.plain, "POST", "/x2j", [("Content-Type", "application/xml")],
                           b"<a><b></a>")
        check(r.status == 400, "bad XML: %d %r" % (r.status, r.body))
    acme = s.tls_ctx("acme-client")
    for i in range(3):
        check(client.request(s.tls, "GET", "/acme/orders", ctx=acme).status == 200, "acme GET")
    check(client.request(s.tls, "GET", "/acme/nothing", ctx=acme).status == 404, "acme 404")
    check(s.get("/pooled/x").status == 200, "pooled route")
    doc = admin_get(port, "/partners").json()
    check([p["id"] for p in doc["partners"]] == ["acme", "globex"] and
          doc["partners"][0]["routes"] == 2 and len(doc["config"]) == 16,
          "partners: %s" % json.dumps(doc))
    r = admin_get(port, "/partners/acme")
    a = r.json()
    ca = a["identity"]["cas"][0]
    check(r.status == 200 and [x["name"] for x in a["routes"]] == ["orders", "api"] and
          a["identity"]["subject"] == ctx.certs.subject("acme-client") and
          ca["not_after"] == not_after(ctx.certs.pem("acme-ca")) and a["outbound"] is None and
          a["counters"]["requests"] == 4 and a["counters"]["by_status_class"]["2xx"] == 3 and
          a["counters"]["by_status_class"]["4xx"] == 1 and a["identity"]["crls"] == 1,
          "partner acme: %s" % json.dumps(a))
    r = admin_get(port, "/partners/nobody")
    check(r.status == 404 and r.json()["type"] == "urn:portico:problem:not-found",
          "unknown partner: %d" % r.status)
    routes = {x["name"]: x for x in admin_get(port, "/routes").json()["routes"]}
    check(routes["pub"]["access"] == "public" and routes["pub"]["match"] == "prefix" and
          routes["orders"]["owner"] == "acme" and routes["orders"]["methods"] == ["GET", "POST"]
          and routes["shared"]["partners"] == ["acme", "globex"] and
          routes["pooled"]["set"] == "pool",
          "routes: %s" % json.dumps(routes)[:1500])
    ups = admin_get(port, "/upstreams").json()["upstreams"]
    check(len(ups) == 1 and ups[0]["name"] == "pool" and ups[0]["owner"] is None and
          ups[0]["targets"][0]["url"] == "http://127.0.0.1:%d" % up.port and
          ups[0]["targets"][0]["healthy"] is True and ups[0]["targets"][0]["ejected"] is False,
          "upstreams: %s" % json.dumps(ups))
    samples = scrape(port)
    exp = {dict(k[1])["kind"] + ":" + dict(k[1])["owner"]: v for k, v in samples.items()
           if k[0] == "portico_certificate_expiry_timestamp_seconds"}
    check(exp.get("partner_ca:acme") == not_after(ctx.certs.pem("acme-ca")) and
          exp.get("server:127.0.0.1:%d" % s.tls) == not_after(ctx.certs.pem("server")) and
          "partner_ca:globex" in exp, "certificate expiry: %r" % exp)
    fails = {k[1]: v for k, v in samples.items() if k[0] == "portico_transform_failures_total"}
    check(fails == {(("chain", "request"), ("route", "x2j"), ("step", "xml_to_json")): 2},
          "transform failures: %r" % fails)
    key = ("portico_upstream_target_healthy", (("owner", ""), ("set", "pool"),
                                               ("target", "127.0.0.1:%d" % up.port)))
    check(samples.get(key) == 1, "target health: %r" % {k: v for k, v in samples.items()
                                                       if "upstream_target" in k[0]})


def partner_diff(ctx, s, *extra):
    p = subprocess.run([ctx.env.portico, "partner", "diff", "-c", s.gw.config_path] + list(extra),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30, cwd=s.gw.dir)
    return p.returncode, p.stdout.decode()


@case
def admin_partner_diff_shows_what_a_reload_would_change(ctx):
    """`portico partner diff` asks the running node through its admin API and lists the partners
    and routes a reload of the files would add, remove or change; after the reload, nothing. A
    TLS admin listener is asked with an admin's certificate."""
    s, port = admin_setup(ctx)
    rc, out = partner_diff(ctx, s)
    check(rc == 0 and "no partner or route would change" in out, "diff, same files: %d %s"
          % (rc, out))
    s.gw.write_partner("initech", {
        "json": {"id": "initech", "name": "Initech", "identity": {"ca": "ca.pem"},
                 "routes": [scenario.route("api", "/initech/*", "http://127.0.0.1:%d" % s.up.port)]},
        "files": {"ca.pem": ctx.certs.pem("rogue-ca")}})
    shutil.rmtree(os.path.join(s.gw.dir, "partners.d", "globex"))
    pfile = s.gw.partner_file("acme")
    acme = json.load(open(pfile))
    acme["routes"][0]["timeout_ms"] = 3000
    json.dump(acme, open(pfile, "w"))
    cfg = s.gw.read_config()
    cfg["routes"] = [r for r in cfg["routes"] if r["name"] != "shared"]
    cfg["routes"].append(scenario.route("extra", "/extra", "mock:200", public=True))
    s.gw.write_config(cfg)
    rc, out = partner_diff(ctx, s)
    lines = sorted(x for x in out.splitlines() if x[:2] in ("+ ", "- ", "~ "))
    check(rc == 1 and lines == ["+ partner initech (Initech): 1 route", "+ shared route extra: "
                                "/extra mock:200", "- partner globex", "- shared route shared",
                                "~ partner acme: route orders changed"],
          "diff: %d %s" % (rc, out))
    r = client.request(port, "POST", "/reload")
    check(r.status == 200, "reload: %d %r" % (r.status, r.body))
    rc, out = partner_diff(ctx, s)
    check(rc == 0, "diff after the reload: %d %s" % (rc, out))


@case
def admin_partner_diff_over_tls(ctx):
    port = free_port()
    s = scenario.build(ctx, config_extra={"admin": admin_tls_conf(ctx, port)})
    c = ctx.certs
    rc, out = partner_diff(ctx, s, "--cert", c.pem("acme-client"), "--key", c.key("acme-client"),
                           "--cacert", c.pem("server-ca"))
    check(rc == 0 and "no partner or route would change" in out, "diff over TLS: %d %s"
          % (rc, out))
    rc, out = partner_diff(ctx, s, "--cacert", c.pem("server-ca"))
    check(rc == 2 and "TLS" in out, "diff over TLS without a certificate: %d %s" % (rc, out))


@case(timeout=120)
def admin_audit_backlog_age(ctx):
    """While Kafka is away the oldest unshipped audit event's age grows in the metrics and
    /status; once Kafka is back and has everything, it is 0."""
    import cases_audit
    dev = cases_audit.KafkaDev(ctx)
    port = free_port()
    conf = {"admin": {"address": "127.0.0.1:%d" % port}}
    conf.update(cases_audit.audit_config(dev.addr))
    s = scenario.build(ctx, config_extra=conf)
    check(s.get("/pub/a").status == 200, "first request")
    cases_audit.wait_events(dev.addr, 1)
    end = time.time() + 10
    while scrape(port)[("portico_audit_oldest_unshipped_seconds", ())] != 0:
        check(time.time() < end, "the age is not 0 with nothing waiting")
        time.sleep(0.2)
    dev.down()
    time.sleep(0.5)
    t0 = time.time()
    for i in range(5):
        check(s.get("/pub/b%d" % i).status == 200, "request while Kafka is away")
    time.sleep(2.5)
    age = scrape(port)[("portico_audit_oldest_unshipped_seconds", ())]
    status = admin_get(port, "/status").json()["audit"]
    check(2.0 <= age <= time.time() - t0 + 0.5 and status["oldest_unshipped_seconds"] >= 2.0 and
          status["events_written"] - status["events_shipped"] >= 5,
          "backlog age %r (status %r), %.1f s after the first unshipped event"
          % (age, status, time.time() - t0))
    dev.up()
    end = time.time() + 60
    while scrape(port)[("portico_audit_oldest_unshipped_seconds", ())] != 0:
        check(time.time() < end, "the age did not come back to 0 once Kafka was back")
        time.sleep(0.3)
