"""The public use (partners/consumer.h): consumers and their API keys on routes with "auth": "key"
or ["mtls", "key"]. Keys made by `portico consumer` into consumers_dir and by the admin API into
the node's store; refusals as RFC 9457 problems, audited without the key; rotation with an
overlap, revocation, a restart; a plan's limits per consumer; `portico check`."""

import json
import os
import re
import secrets
import subprocess
import time

import cases_audit
import client
import scenario
from cases_check import key_line, located
from client import check, check_problem, poll
from harness import case, free_port

KEY_RE = re.compile(r"^ptk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$", re.M)

PLANS = [
    {"name": "basic", "routes": ["k-orders", "both"]},
    {"name": "gold", "routes": "*"},
    {"name": "tiny", "routes": ["k-orders"], "limits": {"requests_per_s": 1}},
]


def kid_of(key):
    return key[4:16]


def keys_setup(ctx, tls=None, plans=None, consumers=(), admin=False, dev=None, access_log=False,
               secret=True, start=True):
    """The standard setup plus the key routes:
      k-orders  /k/orders/*   echo upstream   "auth": "key"
      k-admin   /k/admin/*    echo upstream   "auth": "key"   (in no plan but gold)
      both      /both/*       echo upstream   "auth": ["mtls", "key"], partner acme
    the plans basic (k-orders, both), gold (every key route) and tiny (k-orders, 1 request a
    second), api_keys.secret_file (a fresh secret), and consumers [(id, plan)] made with
    `portico consumer new` before the start. Returns (setup, {id: key}); setup.admin is the admin
    port when admin."""
    up = ctx.upstream("echo")
    u = "http://127.0.0.1:%d" % up.port
    routes = [scenario.route("k-orders", "/k/orders/*", u, auth="key"),
              scenario.route("k-admin", "/k/admin/*", u, auth="key"),
              scenario.route("both", "/both/*", u, auth=["mtls", "key"], partners=["acme"])]
    conf = {"consumers_dir": "consumers.d", "plans": plans if plans is not None else PLANS}
    if secret:
        conf["api_keys"] = {"secret_file": "secret"}
    port = None
    if admin:
        port = free_port()
        conf["admin"] = {"address": "127.0.0.1:%d" % port}
    if dev is not None:
        conf.update(cases_audit.audit_config(dev.addr))
    if access_log:
        conf["access_log"] = {"path": "logs/access.log", "format": "text"}
    s = scenario.build(ctx, tls=tls, up=up, routes=routes, config_extra=conf, start=False)
    s.admin = port
    os.makedirs(os.path.join(s.gw.dir, "consumers.d"), exist_ok=True)
    with open(os.path.join(s.gw.dir, "secret"), "w") as f:
        f.write(secrets.token_hex(32) + "\n")
    os.makedirs(os.path.join(s.gw.dir, "logs"), exist_ok=True)
    keys = {cid: cli_new(ctx, s, cid, plan) for cid, plan in consumers}
    if start:
        s.gw.start()
    return s, keys


def cli(ctx, s, *args):
    """`portico consumer ARGS -c portico.json` in the gateway's folder: (exit code, stdout,
    stderr)."""
    p = subprocess.run([ctx.env.portico, "consumer"] + list(args) + ["-c", s.gw.config_path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30, cwd=s.gw.dir)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def printed_key(out):
    keys = KEY_RE.findall(out)
    check(len(keys) == 1, "expected one key on a line of its own: %r" % out)
    return keys[0]


def cli_new(ctx, s, cid, plan):
    rc, out, err = cli(ctx, s, "new", cid, "--plan", plan)
    check(rc == 0, "portico consumer new %s: exit %d: %s %s" % (cid, rc, out, err))
    key = printed_key(out)
    check(out.count(key) == 1 and key[17:] not in out.replace(key, "") and key not in err and
          "wrote " in out and "shown" in out, "portico consumer new %s printed: %r %r"
          % (cid, out, err))
    return key


def key_get(s, path, key=None, how="header", **kw):
    headers = []
    if key is not None:
        headers.append(("X-API-Key", key) if how == "header" else ("Authorization",
                                                                   "Bearer " + key))
    return client.request(s.plain, "GET", path, headers, **kw)


def upstream_saw_no_key(doc, *keys):
    """The echo document: neither the key's field nor the key itself reached the upstream."""
    names = [n.lower() for n, _ in doc["headers"]]
    check("x-api-key" not in names and "authorization" not in names,
          "the key's field reached the upstream: %r" % doc["headers"])
    text = json.dumps(doc)
    check(not any(k in text for k in keys), "the key reached the upstream: %r" % doc["headers"])


def check_refused(r, status, code):
    doc = check_problem(r, status, code)
    if status == 401:
        check(r.get("www-authenticate", "").startswith("Bearer"),
              "401 %s without WWW-Authenticate: Bearer: %r" % (code, r.headers))
    return doc


def admin_req(s, method, path, body=None):
    data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    r = client.request(s.admin, method, path,
                       [("Content-Type", "application/json")] if data is not None else [], data)
    return r


def reloaded(s, fn, timeout=10):
    """SIGHUP, then wait until fn() is true."""
    s.gw.reload()
    return poll(fn, timeout)


def leaks(text, keys):
    return [k for k in keys if k in text]


# -- portico consumer, a consumers_dir consumer --------------------------------------------------

@case
def keys_cli_consumer_calls_a_key_route(ctx):
    """`portico consumer new` makes jane.json with one key (printed once, only its hash in the
    file); the key opens a key route in X-API-Key and as Authorization: Bearer, and the upstream
    never sees it; `consumer key` adds a second, `consumer revoke` ends the first at the next
    reload; usage and refusals say so with exit 2 and 1."""
    s, keys = keys_setup(ctx, consumers=[("jane", "basic")])
    key = keys["jane"]
    path = os.path.join(s.gw.dir, "consumers.d", "jane.json")
    doc = json.load(open(path))
    check(doc["id"] == "jane" and doc["plan"] == "basic" and len(doc["keys"]) == 1 and
          doc["keys"][0]["kid"] == kid_of(key) and re.fullmatch("[0-9a-f]{64}",
                                                                doc["keys"][0]["hash"]),
          "jane.json: %r" % doc)
    check(key not in open(path).read() and key[17:] not in open(path).read(),
          "the key is in the file")
    for how in ("header", "bearer"):
        d = s.echo(key_get(s, "/k/orders/1", key, how))
        upstream_saw_no_key(d, key)
    r = key_get(s, "/k/orders/1", key + "x")
    check_refused(r, 401, "key-invalid")
    # the same key both ways: served, neither reaches the upstream; another credential in
    # Authorization beside X-API-Key is the upstream's and goes on
    r = client.request(s.plain, "GET", "/k/orders/2", [("X-API-Key", key),
                                                       ("Authorization", "Bearer " + key)])
    upstream_saw_no_key(s.echo(r), key)
    r = client.request(s.plain, "GET", "/k/orders/2", [("X-API-Key", key),
                                                       ("Authorization", "Bearer eyJ.up.stream")])
    d = s.echo(r)
    check(scenario.hvals(d, "authorization") == ["Bearer eyJ.up.stream"] and
          not scenario.hvals(d, "x-api-key"), "headers upstream: %r" % d["headers"])
    # a second key, and the first one revoked
    rc, out, err = cli(ctx, s, "key", "jane", "--expires", "2099-01-01T00:00:00Z")
    check(rc == 0, "consumer key: %d %s %s" % (rc, out, err))
    key2 = printed_key(out)
    check(kid_of(key2) != kid_of(key) and "2099-01-01T00:00:00Z" in open(path).read(),
          "second key: %s" % out)
    check(reloaded(s, lambda: key_get(s, "/k/orders/2", key2).status == 200),
          "the second key does not work after a reload")
    # two different keys in one request: which one is meant is not guessed
    for h2 in (("X-API-Key", key2), ("Authorization", "Bearer " + key2)):
        r = client.request(s.plain, "GET", "/k/orders/2", [("X-API-Key", key), h2])
        check_refused(r, 401, "key-invalid")
    rc, out, err = cli(ctx, s, "revoke", "jane", kid_of(key))
    check(rc == 0 and json.load(open(path))["keys"][0]["revoked"] is True,
          "consumer revoke: %d %s %s" % (rc, out, err))
    check(reloaded(s, lambda: key_get(s, "/k/orders/3", key).status == 401),
          "the revoked key still works after a reload")
    check_refused(key_get(s, "/k/orders/3", key), 401, "key-revoked")
    s.echo(key_get(s, "/k/orders/4", key2, "bearer"))
    # refusals (exit 1) and usage errors (exit 2), nothing written
    before = open(path).read()
    for args, want, said in ((("new", "jane", "--plan", "basic"), 1, "already exists"),
                             (("new", "joe", "--plan", "platinum"), 1, 'no plan is named'),
                             (("new", "joe"), 2, "--plan PLAN is required"),
                             (("new", "Joe!", "--plan", "basic"), 2, "not a consumer id"),
                             (("key", "nobody"), 1, "no consumer nobody"),
                             (("key", "jane", "--expires", "tomorrow"), 2, "UTC time"),
                             (("revoke", "jane", "0000000000ff"), 1, "no key 0000000000ff"),
                             (("revoke", "jane", "xyz"), 2, "not a key id")):
        rc, out, err = cli(ctx, s, *args)
        check(rc == want and said in err, "consumer %s: exit %d, %r" % (" ".join(args), rc, err))
    check(open(path).read() == before and
          not os.path.exists(os.path.join(s.gw.dir, "consumers.d", "joe.json")),
          "a refused command changed the files")
    # portico.json named by a relative path with a folder in it: the secret is found all the same
    # (it was once looked for under gw/gw/)
    rel = os.path.relpath(s.gw.config_path, ctx.dir)
    p = ctx.run([ctx.env.portico, "consumer", "new", "kim", "--plan", "basic", "--name",
                 "Kim's App", "-c", rel])
    kim = os.path.join(s.gw.dir, "consumers.d", "kim.json")
    check(p.returncode == 0 and os.path.exists(kim) and json.load(open(kim))["name"] == "Kim's App",
          "consumer new -c %s: %d %r" % (rel, p.returncode, p.stderr))
    p = ctx.run([ctx.env.portico, "check", "-c", rel])
    check(p.returncode == 0, "check -c %s: %d %r" % (rel, p.returncode, p.stderr))
    p = subprocess.run([ctx.env.portico, "consumer", "help"], stdout=subprocess.PIPE, timeout=30)
    check(p.returncode == 0 and b"portico consumer new ID --plan PLAN" in p.stdout,
          "consumer help: %r" % p.stdout[:200])


# -- refusals: problems, audited, never the key ---------------------------------------------------

@case(timeout=90)
def keys_refusals_audited_without_the_key(ctx):
    """No key (401 key-missing), not a key's form, an unknown key id, a known id with the wrong
    secret (401 key-invalid), a key whose plan leaves the route out (403 plan-not-allowed): each an
    application/problem+json with its type, each audited with the status, the problem code as
    reason and a detail naming the key id where one was sent; no key string in any audit event
    (read raw from the topic), in the gateway's log or in the access log."""
    dev = cases_audit.KafkaDev(ctx)
    s, keys = keys_setup(ctx, consumers=[("jane", "basic")], dev=dev, access_log=True)
    key = keys["jane"]
    kid = kid_of(key)
    wrong = "ptk_%s_%s" % (kid, "A" * 43)
    unknown = "ptk_ffffffffffff_%s" % ("B" * 43)
    malformed = "ptk_notakey_Zq9Xv7Wm"
    sent = [key, wrong, unknown, malformed, key[17:]]
    want = {}  # request id -> (status, reason, what the detail names)
    r = key_get(s, "/k/orders/ok", key)
    s.echo(r)
    want[r.get("x-request-id")] = (200, None, None)
    cases = [(None, "header", 401, "key-missing", None),
             (malformed, "header", 401, "key-invalid", None),
             (malformed, "bearer", 401, "key-invalid", None),
             (unknown, "header", 401, "key-invalid", "ffffffffffff"),
             (wrong, "bearer", 401, "key-invalid", kid),
             (key, "header", 403, "plan-not-allowed", kid)]
    for k, how, status, code, names in cases:
        r = key_get(s, "/k/admin/x" if code == "plan-not-allowed" else "/k/orders/x", k, how)
        check_refused(r, status, code)
        want[r.get("x-request-id")] = (status, code, names)
    s.echo(key_get(s, "/k/orders/ok2", key, "bearer"))
    msgs = cases_audit.wait_events(dev.addr, len(want) + 1, events=False)
    raw = "\n".join(json.dumps(m) for m in msgs)
    check(not leaks(raw, sent), "a key is in the audit topic: %r" % leaks(raw, sent))
    events = {e["request_id"]: e for e in (json.loads(m["payload"]) for m in msgs)}
    for rid, (status, code, names) in want.items():
        e = events.get(rid)
        check(e is not None, "no audit event for request %s (%s)" % (rid, code))
        check(e["kind"] == "exchange" and e["status"] == status and e["reason"] == code and
              e["partner"] is None and e["route"] in ("k-orders", "k-admin"),
              "audit event of %s: %r" % (code, e))
        check(names is None or names in (e.get("detail") or ""),
              "the audit detail of %s does not name key %s: %r" % (code, names, e.get("detail")))
    check(s.gw.stop() is None, "the gateway did not stop cleanly")
    logs = s.gw.stderr_text() + open(s.gw.stdout_path).read()
    check(not leaks(logs, sent), "a key is in the gateway's log: %r" % leaks(logs, sent))
    access = open(os.path.join(s.gw.dir, "logs", "access.log")).read()
    check(len(access.splitlines()) >= len(want) + 1, "access log: %r" % access[-500:])
    check(not leaks(access, sent), "a key is in the access log: %r" % leaks(access, sent))


# -- the admin API --------------------------------------------------------------------------------

@case(timeout=90)
def keys_admin_api_consumers_rotation_revocation(ctx):
    """POST /consumers makes a consumer whose key works at once; GET shows its key id, never a
    hash or a key; a rotation with overlap_s 2 keeps both keys working, then the old one is
    key-expired; DELETE revokes at once; bad requests get 400, 404, 405 with Allow, 422; each
    change is an admin audit event naming what it changed."""
    dev = cases_audit.KafkaDev(ctx)
    s, _ = keys_setup(ctx, admin=True, dev=dev)
    r = admin_req(s, "POST", "/consumers", {"plan": "basic", "id": "app1", "name": "App One"})
    check(r.status == 201, "POST /consumers: %d %r" % (r.status, r.body))
    made = r.json()
    key1, kid1 = made["key"], made["kid"]
    check(KEY_RE.fullmatch(key1) and kid_of(key1) == kid1 and made["consumer"] == "app1" and
          made["plan"] == "basic", "201 body: %r" % made)
    upstream_saw_no_key(s.echo(key_get(s, "/k/orders/a", key1)), key1)
    for path in ("/consumers/app1", "/consumers"):
        r = admin_req(s, "GET", path)
        check(r.status == 200 and r.get("content-type") == "application/json" and
              b"hash" not in r.body and key1.encode() not in r.body and
              key1[17:].encode() not in r.body and
              not re.search(rb"[0-9a-f]{64}", r.body), "GET %s: %d %r" % (path, r.status, r.body))
    view = admin_req(s, "GET", "/consumers/app1").json()
    check(view["id"] == "app1" and view["name"] == "App One" and view["plan"] == "basic" and
          [(k["kid"], k["state"]) for k in view["keys"]] == [(kid1, "active")],
          "GET /consumers/app1: %r" % view)
    check("app1" in [c["id"] for c in admin_req(s, "GET", "/consumers").json()["consumers"]],
          "GET /consumers does not list app1")
    # rotation: both keys during the overlap, then only the new one
    r = admin_req(s, "POST", "/consumers/app1/keys", {"replaces": kid1, "overlap_s": 2})
    check(r.status == 201, "rotation: %d %r" % (r.status, r.body))
    t0 = time.time()
    key2, kid2 = r.json()["key"], r.json()["kid"]
    check(key_get(s, "/k/orders/old", key1).status == 200, "the old key stopped at once")
    check(key_get(s, "/k/orders/new", key2).status == 200, "the new key does not work")
    check(poll(lambda: key_get(s, "/k/orders/old", key1).status == 401, 8),
          "the old key still works after the overlap")
    check(time.time() - t0 >= 0.9, "the old key stopped %.2f s into a 2 s overlap"
          % (time.time() - t0))
    check_refused(key_get(s, "/k/orders/old", key1), 401, "key-expired")
    s.echo(key_get(s, "/k/orders/new", key2))
    # revocation, at once
    r = admin_req(s, "DELETE", "/consumers/app1/keys/" + kid2)
    check(r.status == 200 and r.json()["state"] == "revoked", "DELETE: %d %r" % (r.status, r.body))
    check_refused(key_get(s, "/k/orders/new", key2), 401, "key-revoked")
    states = {k["kid"]: k["state"] for k in admin_req(s, "GET", "/consumers/app1").json()["keys"]}
    check(states == {kid1: "expired", kid2: "revoked"}, "key states: %r" % states)
    # bad requests
    for method, path, body, status, allow in (
            ("POST", "/consumers", b"{not json", 400, None),
            ("POST", "/consumers", {"plan": "basic", "colour": "red"}, 400, None),
            ("POST", "/consumers", {"plan": "basic", "expires_in_s": "soon"}, 400, None),
            ("POST", "/consumers", {"plan": "basic", "id": 7}, 400, None),
            ("POST", "/consumers/app1/keys", {"overlap_s": 5}, 400, None),
            ("POST", "/consumers", {"plan": "platinum"}, 422, None),
            ("POST", "/consumers", {}, 422, None),
            ("GET", "/consumers/nobody", None, 404, None),
            ("POST", "/consumers/nobody/keys", {}, 404, None),
            ("DELETE", "/consumers/app1/keys/0000000000ff", None, 404, None),
            ("PUT", "/consumers", b"{}", 405, "GET, POST"),
            ("POST", "/consumers/app1", {}, 405, "GET"),
            ("GET", "/consumers/app1/keys", None, 405, "POST"),
            ("GET", "/consumers/app1/keys/" + kid1, None, 405, "DELETE")):
        r = admin_req(s, method, path, body)
        check(r.status == status and r.get("content-type") == "application/problem+json" and
              r.json()["status"] == status and (allow is None or r.get("allow") == allow),
              "%s %s %r: %d %r %r" % (method, path, body, r.status, r.get("allow"), r.body))
    check(r.json()["type"].startswith("urn:portico:problem:"), "problem type: %r" % r.body)
    # the audit: every change, by what it changed; never a key
    want = [("consumer-create", "consumer app1"), ("key-create", "key %s of consumer app1" % kid1),
            ("key-create", "key %s of consumer app1" % kid2),
            ("key-revoke", "key %s of consumer app1" % kid1),
            ("key-revoke", "key %s of consumer app1" % kid2)]
    end = time.time() + 30
    while True:
        msgs = cases_audit.kcat(dev.addr, events=False)
        admin = [json.loads(m["payload"]) for m in msgs]
        admin = [e for e in admin if e["kind"] == "admin"]
        if len(admin) >= len(want) or time.time() > end:
            break
        time.sleep(0.3)
    got = [(e["admin"]["action"], e["admin"]["target"]) for e in admin]
    check(got == want, "admin events: %r" % got)
    check(all(e["admin"]["accepted"] is True and e["admin"]["via"] == "api" for e in admin),
          "admin events: %r" % admin)
    raw = "\n".join(m["payload"] for m in msgs)
    check(not leaks(raw, [key1, key2, key1[17:], key2[17:]]), "a key is in the audit topic")


@case(timeout=90)
def keys_store_survives_a_restart(ctx):
    """Consumers and keys made through the admin API, and a revocation of a consumers_dir key,
    are kept in the store file: after a restart the keys work (or stay revoked) as before; the
    store holds no key."""
    s, keys = keys_setup(ctx, admin=True, consumers=[("jane", "basic")])
    jane = keys["jane"]
    r = admin_req(s, "POST", "/consumers", {"plan": "basic", "id": "app2"})
    check(r.status == 201, "POST /consumers: %d %r" % (r.status, r.body))
    keep = r.json()["key"]
    r = admin_req(s, "POST", "/consumers/app2/keys", {})
    check(r.status == 201, "POST keys: %d %r" % (r.status, r.body))
    gone = r.json()["key"]
    for k in (keep, gone, jane):
        s.echo(key_get(s, "/k/orders/before", k))
    for kid in (kid_of(gone), kid_of(jane)):
        r = admin_req(s, "DELETE", "/consumers/%s/keys/%s" % ("app2" if kid != kid_of(jane)
                                                              else "jane", kid))
        check(r.status == 200, "DELETE %s: %d %r" % (kid, r.status, r.body))
    check(s.gw.stop() is None, "the gateway did not stop cleanly")
    store = open(os.path.join(s.gw.dir, "consumers.store.jsonl")).read()
    check(not leaks(store, [keep, gone, keep[17:], gone[17:]]) and "app2" in store,
          "the store: %r" % store)
    s.start_again()
    s.echo(key_get(s, "/k/orders/after", keep))
    check_refused(key_get(s, "/k/orders/after", gone), 401, "key-revoked")
    check_refused(key_get(s, "/k/orders/after", jane), 401, "key-revoked")
    view = admin_req(s, "GET", "/consumers/app2").json()
    check(view["plan"] == "basic" and {k["kid"]: k["state"] for k in view["keys"]} ==
          {kid_of(keep): "active", kid_of(gone): "revoked"}, "after the restart: %r" % view)
    # the store's consumer is not made a second time in consumers_dir
    rc, out, err = cli(ctx, s, "new", "app2", "--plan", "basic")
    check(rc == 1 and "made through the admin API" in err and
          not os.path.exists(os.path.join(s.gw.dir, "consumers.d", "app2.json")),
          "consumer new app2: %d %r" % (rc, err))


@case(timeout=90)
def keys_file_revocation_wins_over_a_rotation(ctx):
    """A consumers_dir key the admin API rotated with a long overlap, then revoked in its file
    with `portico consumer revoke`: after the reload it is revoked (the stricter word wins), in
    the gateway and in GET /consumers/{id}."""
    s, keys = keys_setup(ctx, admin=True, consumers=[("jane", "basic")])
    old = keys["jane"]
    r = admin_req(s, "POST", "/consumers/jane/keys", {"replaces": kid_of(old),
                                                      "overlap_s": 3600})
    check(r.status == 201, "rotation: %d %r" % (r.status, r.body))
    new = r.json()["key"]
    for k in (old, new):
        s.echo(key_get(s, "/k/orders/x", k))
    rc, out, err = cli(ctx, s, "revoke", "jane", kid_of(old))
    check(rc == 0, "consumer revoke: %d %s %s" % (rc, out, err))
    check(reloaded(s, lambda: key_get(s, "/k/orders/y", old).status == 401),
          "the key revoked in its file still works during the rotation's overlap")
    check_refused(key_get(s, "/k/orders/y", old), 401, "key-revoked")
    s.echo(key_get(s, "/k/orders/y", new))
    states = {k["kid"]: k["state"] for k in admin_req(s, "GET", "/consumers/jane").json()["keys"]}
    check(states == {kid_of(old): "revoked", kid_of(new): "active"}, "key states: %r" % states)


# -- limits, per consumer -------------------------------------------------------------------------

@case
def keys_plan_limits_per_consumer(ctx):
    """Plan tiny allows 1 request a second to each of its consumers: one that sends more gets
    429 "consumer X allows ...", while another consumer on the plan (from the file or the admin
    API) is still served; a consumer's own "limits" go over its plan's."""
    s, keys = keys_setup(ctx, admin=True, start=False,
                         consumers=[("ann", "tiny"), ("bea", "tiny"), ("cid", "tiny")])
    path = os.path.join(s.gw.dir, "consumers.d", "cid.json")
    doc = json.load(open(path))
    doc["limits"] = {"requests_per_s": 1000, "burst": 100}
    json.dump(doc, open(path, "w"), indent=2)
    s.gw.start()
    r = admin_req(s, "POST", "/consumers", {"plan": "tiny", "id": "dan"})
    check(r.status == 201, "POST /consumers: %d %r" % (r.status, r.body))
    keys["dan"] = r.json()["key"]
    for who, other in (("ann", "bea"), ("dan", "bea")):
        got = [key_get(s, "/k/orders/%s%d" % (who, i), keys[who]) for i in range(5)]
        statuses = [g.status for g in got]
        check(statuses[0] == 200 and 429 in statuses and set(statuses) <= {200, 429},
              "%s: %r" % (who, statuses))
        doc = check_problem(next(g for g in got if g.status == 429), 429, "rate-limited")
        check(doc["detail"].startswith("consumer %s allows 1 request" % who),
              "detail: %r" % doc["detail"])
        # another consumer on the plan is not held by this one's count
        s.echo(key_get(s, "/k/orders/%s-after-%s" % (other, who), keys[other]))
        time.sleep(1.1)
    statuses = [key_get(s, "/k/orders/c%d" % i, keys["cid"]).status for i in range(4)]
    check(statuses == [200] * 4, "cid, with its own 1000 a second (burst 100): %r" % statuses)


# -- portico check ---------------------------------------------------------------------------------

@case
def keys_check_reports_plans_consumers_and_secret(ctx):
    """`portico check` says, each at file:line:column: json.path: a plan's route that does not
    exist or takes no keys, a consumer on an unknown plan, and a key route without
    api_keys.secret_file (then a secret that is too short)."""
    plans = [{"name": "basic", "routes": ["k-orders", "ghost", "pub"]}]
    s, _ = keys_setup(ctx, plans=plans, secret=False, start=False)
    cdir = os.path.join(s.gw.dir, "consumers.d")
    os.makedirs(cdir, exist_ok=True)
    bob = os.path.join(cdir, "bob.json")
    with open(bob, "w") as f:
        json.dump({"id": "bob", "plan": "nope", "keys": []}, f, indent=2)
    p = ctx.run([ctx.env.portico, "check", "-c", s.gw.config_path])
    out = (p.stdout + p.stderr).decode()
    check(p.returncode == 1, "check exit %d: %s" % (p.returncode, out))
    found = {(os.path.basename(m.group("file")), m.group("path")): m for m in located(out)}

    def at(file, jpath, line, msg):
        m = found.get((file, jpath))
        check(m is not None and msg in m.group("msg") and
              (line is None or int(m.group("line")) == line),
              "check does not say %s:%s:COL: %s: %s: %s" % (file, line, jpath, msg, out))
    cfg = s.gw.config_path
    plans_at = key_line(cfg, '"plans"')
    lines = open(cfg).read().splitlines()
    pub_at = next(i for i, l in enumerate(lines, 1) if i > plans_at and '"pub"' in l)
    at("portico.json", "plans[0].routes[1]", key_line(cfg, '"ghost"'),
       'no route is named "ghost"')
    at("portico.json", "plans[0].routes[2]", pub_at, "route pub does not take API keys")
    at("bob.json", "plan", key_line(bob, '"nope"'), 'no plan is named "nope"')
    check("api_keys.secret_file: routes take API keys" in out, "no word of the secret: %s" % out)
    # a secret too short
    cfg_doc = s.gw.read_config()
    cfg_doc["api_keys"] = {"secret_file": "secret"}
    cfg_doc["plans"] = PLANS
    s.gw.write_config(cfg_doc)
    os.remove(bob)
    with open(os.path.join(s.gw.dir, "secret"), "w") as f:
        f.write("short\n")
    p = ctx.run([ctx.env.portico, "check", "-c", s.gw.config_path])
    out = (p.stdout + p.stderr).decode()
    check(p.returncode == 1 and "api_keys.secret_file" in out and
          "holds 5 bytes: a secret needs at least 32" in out, "short secret: %s" % out)


# -- mtls or key -----------------------------------------------------------------------------------

@case
def keys_mtls_or_key_route(ctx):
    """A route with "auth": ["mtls", "key"]: partner acme with its client certificate is served
    without a key; a consumer with its key and no certificate is served (the key does not reach
    the upstream); neither gets 401 key-missing."""
    s, keys = keys_setup(ctx, tls="optional", consumers=[("jane", "basic")])
    key = keys["jane"]
    d = s.echo(s.tls_get("acme-client", "/both/p"))
    check(d["target"] == "/both/p", "partner: %r" % d)
    # a partner known by its certificate that sends a key too: the key goes no further either;
    # a Bearer token that is no key is the upstream's and goes on
    upstream_saw_no_key(s.echo(s.tls_get("acme-client", "/both/p", [("X-API-Key", key)])), key)
    d = s.echo(s.tls_get("acme-client", "/both/p", [("Authorization", "Bearer eyJ.partner")]))
    check(scenario.hvals(d, "authorization") == ["Bearer eyJ.partner"],
          "the partner's own Authorization: %r" % d["headers"])
    r = client.request(s.tls, "GET", "/both/c", [("X-API-Key", key)], ctx=s.tls_ctx(None))
    upstream_saw_no_key(s.echo(r), key)
    r = client.request(s.tls, "GET", "/both/c", [("Authorization", "Bearer " + key)],
                       ctx=s.tls_ctx(None))
    upstream_saw_no_key(s.echo(r), key)
    upstream_saw_no_key(s.echo(key_get(s, "/both/plain", key)), key)
    check_refused(client.request(s.tls, "GET", "/both/n", ctx=s.tls_ctx(None)), 401,
                  "key-missing")
    check_refused(key_get(s, "/both/n"), 401, "key-missing")
    # a key-only route is not opened by a certificate
    check_refused(s.tls_get("acme-client", "/k/orders/x"), 401, "key-missing")


@case
def keys_watch_sees_consumers_dir(ctx):
    """With "reload": {"watch": true}, a consumer written into consumers_dir by `portico consumer
    new` is served without a signal, and its key revoked in the file stops working."""
    s, keys = keys_setup(ctx, start=False)
    cfg = s.gw.read_config()
    cfg["reload"] = {"watch": True, "debounce_ms": 100}
    s.gw.write_config(cfg)
    s.gw.start()
    key = cli_new(ctx, s, "watched", "basic")
    check(poll(lambda: key_get(s, "/k/orders/1", key).status == 200, timeout=5),
          "the consumer written into consumers_dir is not served: %s" % s.gw.stderr_tail(3))
    rc, out, err = cli(ctx, s, "revoke", "watched", kid_of(key))
    check(rc == 0, "revoke: %d %s %s" % (rc, out, err))
    check(poll(lambda: key_get(s, "/k/orders/2", key).status == 401, timeout=5),
          "the key revoked in the file still works")
