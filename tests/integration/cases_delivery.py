"""Routes with "delivery": "async" (connectors/delivery.c): 202 with a delivery id once the request
is in the node's delivery log, then delivered to the upstream (an upstream_proc.py process that
logs every POST with its Idempotency-Key before answering) with retries, in order per partner;
after its attempts, to the dead-letter topic (kafka-dev in its own process, read with kcat);
GET on a deliveries: route tells where a delivery stands."""

import time

import cases_audit
import client
import loadgen
import scenario
from cases_audit import KafkaDev
from cases_failover import UpstreamProc
from cases_kafka import headers_of, wait_topic
from client import check, check_problem
from harness import case, free_port

DEAD = "dead.letters"


def delivery_setup(ctx, k, port, workers=2, **async_opts):
    opts = {"backoff_ms": 100, "max_backoff_ms": 400, "dead_letter": DEAD}
    opts.update(async_opts)
    return scenario.build(ctx, workers=workers, tls="optional", routes=[
        scenario.route("async-in", "/async/*", "http://127.0.0.1:%d" % port, methods=["POST"],
                       public=True, delivery="async", **{"async": opts}),
        scenario.route("deliveries", "/deliveries/*", "deliveries:", methods=["GET"],
                       public=True)],
        acme_routes=[scenario.route("acme-async", "/acme/async", "http://127.0.0.1:%d" % port,
                                    methods=["POST"], delivery="async", **{"async": opts})],
        config_extra=dict(cases_audit.audit_config(k.addr),
                          connectors={"kafka": {"brokers": k.addr}}))


def post(s, path, mid, ctx=None):
    port = s.tls if ctx is not None else s.plain
    r = client.request(port, "POST", path, [("Content-Type", "application/json")],
                       body=b'{"id": "%s"}' % mid.encode(), ctx=ctx, timeout=5)
    return r


def accepted(r, what):
    check(r.status == 202, "%s: %d %r" % (what, r.status, r.body[:300]))
    doc = r.json()
    check(doc == {"delivery_id": r.get("x-request-id"), "state": "pending"}, "202 body: %r" % doc)
    return doc["delivery_id"]


def wait_logged(up, n, within=30):
    end = time.time() + within
    while len(up.ids()) < n and time.time() < end:
        time.sleep(0.1)
    return [l.split("\t") for l in up.ids()]


def status(s, did):
    return client.request(s.plain, "GET", "/deliveries/" + did)


@case
def delivery_async_202_then_delivered_in_order(ctx):
    k = KafkaDev(ctx)
    port = free_port()
    up = UpstreamProc(ctx, "backend", port)
    s = delivery_setup(ctx, k, port)
    ids = {}
    for i in range(20):
        ids["m-%d" % i] = accepted(post(s, "/async/orders", "m-%d" % i), "POST %d" % i)
    acme = s.tls_ctx("acme-client")
    pid = accepted(post(s, "/acme/async", "p-0", ctx=acme), "partner POST")
    got = wait_logged(up, 21)
    public = [g for g in got if g[2] == "-"]
    check([g[0] for g in public] == ["m-%d" % i for i in range(20)],
          "the upstream got %r, not m-0..m-19 in order" % [g[0] for g in public])
    check(all(g[1] == ids[g[0]] for g in public), "Idempotency-Key is not the delivery id: %r"
          % public[:3])
    check(["p-0", pid, "acme"] in got, "the partner's delivery: %r" % got)
    end = time.time() + 5
    while time.time() < end:
        r = status(s, ids["m-19"])
        if r.status == 200 and r.json()["state"] == "delivered":
            break
        time.sleep(0.1)
    doc = r.json()
    check(r.status == 200 and doc["state"] == "delivered" and doc["status"] == 200 and
          doc["attempts"] == 1 and doc["route"] == "async-in" and doc["delivery_id"] == ids["m-19"],
          "GET the delivery: %d %r" % (r.status, doc))
    # another partner's (or the public's) id is not told: the partner's delivery is acme's
    check_problem(status(s, pid), 404, "not-found")
    check_problem(status(s, "no-such-id"), 404, "not-found")
    s.assert_alive()


class Posters(loadgen.Clients):
    """Three threads POSTing numbered messages ("t<thread>-<n>") until stopped (bounded by count
    and time), a few milliseconds apart so that a fast machine does not spend the count before
    the test's later steps; each records, in order, the messages answered 202 and their delivery
    ids."""

    def __init__(self, s, limit=4000, seconds=40):
        self.s = s
        self.limit = limit
        self.accepted = {}  # thread -> [(message id, delivery id)]
        loadgen.Clients.__init__(self, 3, seconds)

    def run(self, i):
        n = 0
        while self.going() and n < self.limit:
            n += 1
            mid = "t%d-%d" % (i, n)
            try:
                r = post(self.s, "/async/x", mid)
            except (OSError, client.Closed, client.TestFailure):
                time.sleep(0.02)  # the gateway is down (killed): nothing was answered
                continue
            if r.status == 202:
                with self.lock:
                    self.accepted.setdefault(i, []).append((mid, r.json()["delivery_id"]))
            time.sleep(0.005)

    def count(self):
        with self.lock:
            return sum(len(v) for v in self.accepted.values())


@case(timeout=180)
def delivery_upstream_down_and_sigkill_every_202_delivered(ctx):
    """Three clients post while the upstream is down; the gateway is SIGKILLed in the middle of
    it and started again; the upstream comes back while they go on: every request answered 202
    reaches the upstream, with its delivery id as Idempotency-Key (a request sent twice has one
    key), each client's in the order they were accepted."""
    k = KafkaDev(ctx)
    port = free_port()
    s = delivery_setup(ctx, k, port, workers=2, attempts=1000)
    with Posters(s) as load:
        load.wait_for(60)
        s.kill()
        s.start_again()
        load.wait_for(load.count() + 40)
        up = UpstreamProc(ctx, "late", port)
        load.wait_for(load.count() + 60)
    accepted = [x for v in load.accepted.values() for x in v]
    got = wait_logged(up, len(accepted), within=60)
    keys = {}
    for mid, key, _ in got:
        check(keys.setdefault(mid, key) == key, "%s came with two keys: %s, %s"
              % (mid, keys[mid], key))
    missing = [mid for mid, did in accepted if keys.get(mid) != did]
    check(not missing, "%d of %d answers 202 not delivered with their id as the key (e.g. %r)"
          % (len(missing), len(accepted), missing[:5]))
    # in order per client: its messages' numbers only grow in what the upstream got first (a
    # message the killed gateway had taken without its 202 reaching the client may be there too)
    first = []
    for mid, _, _ in got:
        if mid not in first:
            first.append(mid)
    for t in load.accepted:
        mine = [int(m.split("-")[1]) for m in first if m.startswith("t%d-" % t)]
        check(mine == sorted(mine), "client %d delivered out of order: %r" % (t, mine))


@case(timeout=120)
def delivery_500_forever_dead_letter_after_attempts(ctx):
    k = KafkaDev(ctx)
    port = free_port()
    up = UpstreamProc(ctx, "failing", port, post_status=500)
    s = delivery_setup(ctx, k, port, attempts=3, order="none")
    dids = [accepted(post(s, "/async/bad", "bad-%d" % i), "POST") for i in range(2)]
    msgs = wait_topic(k.addr, DEAD, 2, timeout=30)
    check(len(msgs) == 2, "%d dead letters for 2 deliveries" % len(msgs))
    for m in msgs:
        h = headers_of(m)
        check(h.get("delivery-id") in dids and h.get("attempts") == "3" and
              h.get("status") == "500" and "500" in h.get("error", "") and
              h.get("route") == "async-in" and m["payload"].startswith('{"id": "bad-'),
              "dead letter: %r %r" % (h, m["payload"][:80]))
    got = wait_logged(up, 6)
    for did in dids:
        check(sum(1 for g in got if g[1] == did) == 3, "%s: %d attempts, not 3"
              % (did, sum(1 for g in got if g[1] == did)))
    doc = status(s, dids[0]).json()
    check(doc["state"] == "dead" and doc["attempts"] == 3 and doc["status"] == 500 and
          "500" in doc["last_error"], "GET the dead delivery: %r" % doc)
    # the audit: each accepted request, each attempt, the dead letter
    events = [m["event"] for m in cases_audit.wait_events(k.addr, 2 + 6 + 1, timeout=20)]
    cases_audit.valid(events)
    for did in dids:
        acc = [e for e in events if e["request_id"] == did and e["kind"] == "exchange"]
        att = sorted((e for e in events if e["kind"] == "delivery" and
                      e["delivery"]["id"] == did), key=lambda e: e["delivery"]["attempt"])
        check(len(acc) == 1 and acc[0]["status"] == 202 and
              acc[0]["delivery"]["outcome"] == "accepted" and acc[0]["delivery"]["attempt"] == 0,
              "the accepting event of %s: %r" % (did, acc))
        check([(e["delivery"]["attempt"], e["delivery"]["outcome"], e["status"],
                e["upstream"]["status"]) for e in att] ==
              [(1, "retry", 500, 500), (2, "retry", 500, 500), (3, "dead", 500, 500)],
              "the attempts of %s: %r" % (did, [e["delivery"] for e in att]))
        check(att[0]["delivery"]["next_attempt"] is not None and
              att[2]["delivery"]["next_attempt"] is None and
              att[2]["delivery"]["dead_letter"] == DEAD and att[2]["route"] == "async-in" and
              all(e["delivery"]["accepted"] == acc[0]["time"]["received"] for e in att),
              "attempt events: %r" % [e["delivery"] for e in att])
