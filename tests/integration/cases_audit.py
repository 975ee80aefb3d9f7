"""The audit trail through the real gateway and a real Kafka protocol: every exchange and every
refused handshake gives exactly one event, read back with kcat (an independent consumer); events
survive a broker outage under load, SIGTERM and SIGKILL (the write-ahead log); the hash chain is
checked here independently of `portico audit verify`, which must catch a deleted, an altered and a
reordered event."""

import base64
import hashlib
import json
import os
import signal
import subprocess
import threading
import time

import jsonschema

import client
import loadgen
import scenario
from client import check
from harness import case

TOPIC = "portico.audit"
HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "..", "..", "audit", "event.schema.json")) as _f:
    SCHEMA = jsonschema.Draft202012Validator(json.load(_f))


def valid(events):
    """Every event holds to audit/event.schema.json."""
    for e in events:
        errors = sorted(SCHEMA.iter_errors(e), key=lambda x: list(x.path))
        check(not errors, "event seq %s breaks the schema: %s at %s"
              % (e.get("seq"), errors[0].message if errors else "",
                 "/".join(map(str, errors[0].path)) if errors else ""))


# -- Kafka: the embedded broker or `portico kafka-dev`, read with kcat ------------------------------

class KafkaDev:
    """`portico kafka-dev` in its own process: a broker the test can take down and bring up."""

    def __init__(self, ctx, partitions=4):
        self.ctx = ctx
        self.addr_file = os.path.join(ctx.dir, "kafka-dev.addr")
        self.log = open(os.path.join(ctx.dir, "kafka-dev.log"), "wb")
        self.proc = subprocess.Popen(
            [ctx.env.portico, "kafka-dev", "--addr-file", self.addr_file, "--topic", TOPIC,
             "--partitions", str(partitions)], stdout=self.log, stderr=subprocess.STDOUT)
        ctx.defer(self.stop)
        end = time.time() + 10
        while not os.path.exists(self.addr_file):
            check(self.proc.poll() is None and time.time() < end, "kafka-dev did not start")
            time.sleep(0.05)
        with open(self.addr_file) as f:
            self.addr = f.read().strip()

    def down(self):
        self.proc.send_signal(signal.SIGUSR1)

    def up(self):
        self.proc.send_signal(signal.SIGUSR2)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


def embedded_addr(gw, timeout=10):
    """The embedded broker's address, from the file the gateway writes in its audit folder."""
    path = os.path.join(gw.dir, "audit", "broker.addr")
    end = time.time() + timeout
    while not os.path.exists(path):
        check(time.time() < end, "the gateway wrote no %s" % path)
        time.sleep(0.05)
    with open(path) as f:
        return f.read().strip()


def kcat(addr, topic=TOPIC, events=True):
    """Every message of the topic, read with kcat: [{key, partition, offset, headers, payload}],
    and with events the payload parsed as the audit event it is, in "event"."""
    p = subprocess.run(["kcat", "-b", addr, "-C", "-t", topic, "-e", "-q", "-J",
                        "-X", "topic.metadata.refresh.interval.ms=1000"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    out = []
    for line in p.stdout.decode().splitlines():
        m = json.loads(line)
        if events:
            m["event"] = json.loads(m["payload"])
        out.append(m)
    return out


def wait_events(addr, want, timeout=30, topic=TOPIC, events=True):
    """Read the topic until it holds at least `want` messages (or the time is up); events: each
    payload is an audit event (see kcat)."""
    end = time.time() + timeout
    while True:
        msgs = kcat(addr, topic, events)
        if len(msgs) >= want or time.time() > end:
            return msgs
        time.sleep(0.3)


def audit_config(brokers, **kw):
    a = {"brokers": brokers, "topic": TOPIC, "dir": "audit", "fsync_ms": 200}
    a.update(kw)
    return {"audit": a}


def chain_ok(events):
    """Check the hash chain of one node here, without the gateway's code: canonical JSON (sorted
    keys, no spaces, UTF-8), hash = SHA-256(prev bytes + canonical). Returns the events by seq."""
    by_seq = {}
    for e in events:
        by_seq.setdefault(e["seq"], e)
    seqs = sorted(by_seq)
    check(seqs == list(range(seqs[0], seqs[0] + len(seqs))), "gaps in the chain: %s" % seqs)
    prev = None
    for s in seqs:
        e = dict(by_seq[s])
        h = e.pop("hash")
        canon = json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        mine = hashlib.sha256(bytes.fromhex(e["prev"]) + canon.encode()).hexdigest()
        check(mine == h, "event seq %d: hash %s, recomputed %s" % (s, h, mine))
        if prev is not None:
            check(e["prev"] == prev, "event seq %d does not link to seq %d" % (s, s - 1))
        prev = h
    return by_seq


def summary(events):
    return "; ".join("%s %s %s %s %s" % (e["seq"], e["kind"], e["status"], e["reason"], e["path"])
                     for e in sorted(events, key=lambda e: e["seq"]))


def rid(r):
    v = r.get("x-request-id")
    check(v, "response without X-Request-Id")
    return v


# -- every outcome, exactly once --------------------------------------------------------------------

@case(timeout=90)
def audit_every_outcome_once(ctx):
    """Requests of every outcome (ok through the upstream and the mock, refused 4xx by route,
    identity, method and parser, error 502) and refused handshakes each give exactly one event,
    with the fields a compliance reader needs; the node's chain verifies."""
    dead = scenario.route("dead", "/dead/*", "http://127.0.0.1:9", public=True)
    s = scenario.build(ctx, tls="optional", routes=[dead], workers=2,
                       listeners=[{"address": "127.0.0.1:{req}", "tls": {
                           "certificates": [{"cert": "server.pem", "key": "server.key"}],
                           "client_auth": "require"}}],
                       config_extra=audit_config("embedded"))
    addr = embedded_addr(s.gw)
    want = {}  # request id -> (status, outcome, reason, partner, route)
    acme = s.tls_ctx("acme-client")
    for i in range(3):
        r = client.request(s.tls, "POST", "/acme/orders", [("Content-Type", "application/json")],
                           b'{"n": %d}' % i, ctx=acme)
        check(r.status == 200, "acme order: %d" % r.status)
        want[rid(r)] = (200, "ok", None, "acme", "orders")
    r = s.get("/health")
    want[rid(r)] = (200, "ok", None, None, "health")
    r = s.get("/nowhere")
    want[rid(r)] = (404, "refused", "route-not-found", None, None)
    r = client.request(s.tls, "GET", "/acme/orders", ctx=s.tls_ctx(None))
    want[rid(r)] = (401, "refused", "partner-unidentified", None, "orders")
    r = client.request(s.tls, "GET", "/acme/orders", ctx=s.tls_ctx("globex-client"))
    want[rid(r)] = (403, "refused", "partner-not-allowed", "globex", "orders")
    r = client.request(s.plain, "DELETE", "/only-get")
    want[rid(r)] = (405, "refused", "method-not-allowed", None, None)
    with client.Conn(s.plain) as c:
        c.send(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
        r = c.read_response()
    want[rid(r)] = (400, "refused", "bad-request", None, None)
    r = s.get("/dead/x")
    want[rid(r)] = (502, "error", "upstream-unavailable", None, "dead")
    # handshakes refused for what the certificate says (unknown CA, expired) or for having none
    for name in ("rogue-client", "acme-expired", None):
        try:
            client.request(s.gw.ports["req"], "GET", "/acme/orders", ctx=s.tls_ctx(name))
        except (OSError, client.Closed):
            pass
    total = len(want) + 3
    msgs = wait_events(addr, total)
    events = [m["event"] for m in msgs]
    check(len(events) == total, "%d events for %d exchanges and handshakes: %s"
          % (len(events), total, summary(events)))
    check(len({e["id"] for e in events}) == total, "event ids repeat")
    valid(events)
    by_rid = {}
    for e in events:
        if e["kind"] == "exchange":
            check(e["request_id"] not in by_rid, "two events for request %s" % e["request_id"])
            by_rid[e["request_id"]] = e
    check(set(by_rid) == set(want), "request ids: events %s, answers %s"
          % (sorted(by_rid), sorted(want)))
    for k, (status, outcome, reason, partner, route) in want.items():
        e = by_rid[k]
        got = (e["status"], e["outcome"], e["reason"], e["partner"], e["route"])
        check(got == (status, outcome, reason, partner, route),
              "request %s: event says %s, expected %s" % (k, got, (status, outcome, reason,
                                                                   partner, route)))
        check(e["v"] == 5 and e["admin"] is None and e["delivery"] is None and e["node"] == scenario.NODE and
              e["time"]["received"].endswith("Z"),
              "event header: %r" % {x: e[x] for x in ("v", "delivery", "node", "time")})
    # no API keys nor plans in this setup: every event says so (version 4's members, null)
    check(all(e["consumer"] is None and e["plan"] is None for e in events),
          "consumer and plan: %r" % sorted({(str(e["consumer"]), e["plan"]) for e in events}))
    order = [e for e in events if e["route"] == "orders" and e["status"] == 200][0]
    check(order["cert"]["subject"] == s.certs.subject("acme-client"),
          "cert subject %r, expected %r" % (order["cert"]["subject"], s.certs.subject("acme-client")))
    check(order["cert"]["sha256"] == s.certs.sha256("acme-client"),
          "cert fingerprint %s, expected %s" % (order["cert"]["sha256"],
                                                s.certs.sha256("acme-client")))
    body = b'{"n": 0}'
    check(any(e["request"]["sha256"] == hashlib.sha256(body).hexdigest() and
              e["request"]["bytes"] == len(body) for e in events),
          "no event carries the digest of the request body")
    check(order["upstream"]["status"] == 200 and order["upstream"]["latency_us"] >= 0,
          "upstream: %r" % order["upstream"])
    hs = sorted((e["reason"], e["cert"]["subject"] if e["cert"] else None)
                for e in events if e["kind"] == "handshake")
    check([h[0] for h in hs] == ["certificate-expired", "certificate-missing",
                                 "certificate-unknown-ca"], "handshake events: %s" % hs)
    check(hs[0][1] == hs[2][1] == s.certs.subject("acme-client") and hs[1][1] is None,
          "handshake events should say what the certificate said: %s" % hs)
    for m in msgs:
        e = m["event"]
        check(m["key"] == (e["partner"] or "-"), "message key %r for partner %r"
              % (m["key"], e["partner"]))
    chain_ok(events)
    # the consumer commands read the same topic: the embedded broker found through the config
    cfg = ["-c", s.gw.config_path]
    rep = ctx.run([ctx.env.portico, "audit", "report"] + cfg + ["--json"])
    check(rep.returncode == 0, "audit report: %s" % rep.stderr.decode())
    total = json.loads(rep.stdout)["total"]
    outcomes = [e["outcome"] for e in events]
    check((total["count"], total["ok"], total["refused"], total["error"]) ==
          (len(events), outcomes.count("ok"), outcomes.count("refused"), outcomes.count("error")),
          "audit report totals %r for outcomes %s" % (total, outcomes))
    # refusals are the partner's doing, errors the gateway's or the upstream's: two rates
    n = len(events)
    want = (round(outcomes.count("refused") / n, 4), round(outcomes.count("error") / n, 4))
    check((total.get("refused_rate"), total.get("error_rate")) == want,
          "audit report rates (refused_rate, error_rate) %r, expected %r (audit/README.md)"
          % ((total.get("refused_rate"), total.get("error_rate")), want))
    tail = ctx.run([ctx.env.portico, "audit", "tail"] + cfg + ["--outcome", "refused",
                                                              "--partner", "globex"])
    lines = [json.loads(l) for l in tail.stdout.decode().splitlines()]
    check(tail.returncode == 0 and [e["reason"] for e in lines] == ["partner-not-allowed"],
          "audit tail --outcome refused --partner globex: %s" % tail.stdout.decode()[:300])


# -- broker away under load -------------------------------------------------------------------------

class Load(loadgen.Clients):
    """Requests from four threads until told to stop (bounded by count and time). Records the
    request id of every complete answer, in order per partner."""

    def __init__(self, s, limit, seconds=40):
        self.s = s
        self.limit = limit
        self.answered = []   # (request id, status)
        self.errors = 0
        loadgen.Clients.__init__(self, 4, seconds)

    def run(self, i):
        acme = self.s.tls_ctx("acme-client") if i % 2 == 0 else None
        while self.going():
            with self.lock:
                if len(self.answered) + self.errors >= self.limit:
                    return
            try:
                if acme is not None:
                    r = client.request(self.s.tls, "POST", "/acme/orders",
                                       [("Content-Type", "application/json")], b'{"i": %d}' % i,
                                       ctx=acme)
                else:
                    r = self.s.get("/pub/load")
                with self.lock:
                    self.answered.append((rid(r), r.status))
            except (OSError, client.Closed, client.TestFailure):
                with self.lock:
                    self.errors += 1
                time.sleep(0.02)

    def count(self):
        with self.lock:
            return len(self.answered)


def per_partition_order(msgs):
    """Within each partition, the node's sequence only grows (replays aside: those repeat a seq
    already seen, with the same id)."""
    seen = {}
    for m in sorted(msgs, key=lambda m: (m["partition"], m["offset"])):
        e = m["event"]
        last = seen.get(m["partition"])
        if last is not None and e["seq"] <= last[0]:
            check(e["seq"] in last[1], "partition %d: seq %d after %d" % (m["partition"],
                                                                           e["seq"], last[0]))
            continue
        ids = last[1] if last else set()
        ids.add(e["seq"])
        seen[m["partition"]] = (e["seq"], ids)


@case(timeout=150)
def audit_broker_outage_under_load(ctx):
    """The broker goes down for a few seconds under load and comes back: every answered exchange's
    event arrives, once, in per-partner order, and the chain verifies."""
    k = KafkaDev(ctx)
    s = scenario.build(ctx, tls="optional", config_extra=audit_config(k.addr))
    with Load(s, limit=100000) as load:
        load.wait_for(150)
        k.down()
        before = load.count()
        time.sleep(4)
        during = load.count() - before
        k.up()
        load.wait_for(before + during + 150)
    check(during > 50, "only %d exchanges were answered while the broker was down: audit "
          "must not hold up the gateway" % during)
    ids = {x[0] for x in load.answered}
    msgs = wait_events(k.addr, len(ids), timeout=60)
    got = {m["event"]["request_id"] for m in msgs}
    missing = ids - got
    check(not missing, "%d of %d answered exchanges have no event (e.g. %s)"
          % (len(missing), len(ids), sorted(missing)[:3]))
    per_partition_order(msgs)
    chain_ok([m["event"] for m in msgs])


def wait_log(gw, text, timeout):
    """Until a line of the gateway's stderr holds text (or the time is up): the lines."""
    end = time.time() + timeout
    while True:
        lines = gw.stderr_text().splitlines()
        if any(text in l for l in lines) or time.time() > end:
            return lines
        time.sleep(0.1)


@case(timeout=90)
def audit_broker_outage_told_once(ctx):
    """An outage of the broker is an expected state, the events wait in the log: one warning when
    the broker is out of reach, no error (librdkafka tries to connect every second), and an info
    line when it is back; every event arrives."""
    k = KafkaDev(ctx)
    s = scenario.build(ctx, config_extra=audit_config(k.addr))
    rids = [rid(s.get("/pub/before%d" % i)) for i in range(3)]
    wait_events(k.addr, 3)
    k.down()
    t0 = time.time()
    rids += [rid(s.get("/pub/during%d" % i)) for i in range(5)]
    lines = wait_log(s.gw, "Kafka unreachable", 10)
    told = time.time() - t0
    time.sleep(3)  # three more reconnection attempts, which must say nothing
    k.up()
    lines = wait_log(s.gw, "Kafka reachable again", 10)
    msgs = wait_events(k.addr, len(rids))
    got = {m["event"]["request_id"] for m in msgs}
    check(set(rids) <= got, "%d events did not arrive after the outage" % len(set(rids) - got))
    errors = [l for l in lines if "[error]" in l]
    check(not errors, "the outage was logged as errors: %s" % " | ".join(errors[:3]))
    warns = [l for l in lines if "[warn]" in l and "audit" in l]
    check(len(warns) == 1 and "Kafka unreachable" in warns[0],
          "the outage should be one warning (\"Kafka unreachable\"), not: %s" % " | ".join(warns))
    check(told < 6, "the outage was told %.1fs after it began" % told)
    check(any("[info]" in l and "Kafka reachable again" in l for l in lines),
          "no info line when the broker came back: %s" % s.gw.stderr_tail(4))


# -- the gateway stops or dies ----------------------------------------------------------------------

@case(timeout=150)
def audit_sigkill_loses_nothing(ctx):
    """SIGKILL in the middle of load: after a restart every exchange whose answer reached the
    client is in Kafka (from the write-ahead log), and `portico audit verify` finds the chain whole
    (events shipped twice after the replay are told apart as replays)."""
    k = KafkaDev(ctx)
    s = scenario.build(ctx, tls="optional", config_extra=audit_config(k.addr, fsync_ms=60000))
    k.down()  # what is written now reaches Kafka only through the log, after the restart
    with Load(s, limit=100000, seconds=20) as load:
        load.wait_for(300)
        s.kill()
    ids = {x[0] for x in load.answered}
    k.up()
    s.start_again()
    msgs = wait_events(k.addr, len(ids), timeout=60)
    got = {m["event"]["request_id"] for m in msgs}
    missing = ids - got
    check(not missing, "%d of %d answered exchanges lost after SIGKILL (e.g. %s)"
          % (len(missing), len(ids), sorted(missing)[:3]))
    v = ctx.run([ctx.env.portico, "audit", "verify", "-b", k.addr, "-t", TOPIC])
    check(v.returncode == 0, "audit verify after the replay: exit %d: %s %s"
          % (v.returncode, v.stdout.decode()[-800:], v.stderr.decode()[-400:]))


@case(timeout=120)
def audit_sigterm_keeps_the_rest(ctx):
    """SIGTERM while the broker is down: the gateway stops in time and keeps the events in its log;
    the next start ships them."""
    k = KafkaDev(ctx)
    s = scenario.build(ctx, tls="optional", config_extra=audit_config(k.addr))
    k.down()
    rids = [rid(s.get("/pub/t%d" % i)) for i in range(20)]
    t0 = time.time()
    msg = s.gw.stop()
    check(msg is None, msg or "")
    check(time.time() - t0 < 9, "stopping took %.1fs with the broker down" % (time.time() - t0))
    check("left in the log" in s.gw.stderr_text(), "the stop did not say what it left: %s"
          % s.gw.stderr_tail())
    # the events Kafka did not take are expected to wait in the log: said, not an error
    log = s.gw.stderr_text().splitlines()
    errors = [l for l in log if "[error]" in l]
    check(not errors, "stopping with the broker away logged errors: %s" % " | ".join(errors[:3]))
    check(any("[info]" in l and "stay in the write-ahead log" in l for l in log),
          "the stop did not say that the events Kafka did not take stay in the log: %s"
          % s.gw.stderr_tail(4))
    k.up()
    s.start_again()
    msgs = wait_events(k.addr, len(rids), timeout=30)
    got = {m["event"]["request_id"] for m in msgs}
    check(set(rids) <= got, "events kept over SIGTERM did not arrive: %s" % (set(rids) - got))


# -- the log fills up -------------------------------------------------------------------------------

@case(timeout=120)
def audit_full_log_rejects_then_recovers(ctx):
    """With the broker away and the log at its bound, new exchanges get 503 audit-unavailable
    (the default policy); once the broker is back they are served again, and every exchange that
    was served has its event."""
    k = KafkaDev(ctx)
    s = scenario.build(ctx, tls="optional", config_extra=audit_config(k.addr, max_bytes=1048576))
    k.down()
    served, refused = [], 0
    for i in range(3000):
        r = s.get("/pub/fill")
        if r.status == 503:
            client.check_problem(r, 503, "audit-unavailable")
            refused += 1
            if refused >= 3:
                break
        else:
            served.append(rid(r))
    check(refused >= 3, "no 503 after %d exchanges with a 1 MiB log and no broker" % len(served))
    k.up()
    end = time.time() + 30
    while s.get("/pub/again").status == 503:
        check(time.time() < end, "still refusing 30s after the broker came back")
        time.sleep(0.3)
    msgs = wait_events(k.addr, len(served), timeout=30)
    got = {m["event"]["request_id"] for m in msgs}
    check(set(served) <= got, "%d served exchanges without an event" % len(set(served) - got))


# -- verify catches tampering -----------------------------------------------------------------------

def produce(addr, topic, msgs):
    """Write messages (key, payload) to partition 0 of topic with kcat, in order."""
    data = "".join("%s\t%s\n" % (k, p) for k, p in msgs)
    p = subprocess.run(["kcat", "-b", addr, "-P", "-t", topic, "-p", "0", "-K", "\t"],
                       input=data.encode(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    check(p.returncode == 0, "kcat -P: %s" % p.stderr.decode())


def verify(ctx, addr, topic):
    return ctx.run([ctx.env.portico, "audit", "verify", "-b", addr, "-t", topic])


@case(timeout=90)
def audit_verify_catches_tampering(ctx):
    """`portico audit verify` passes the gateway's own topic and a faithful copy, and reports a
    copy with one event deleted, one altered and one reordered."""
    s = scenario.build(ctx, tls="optional", config_extra=audit_config("embedded"))
    addr = embedded_addr(s.gw)
    for i in range(8):
        s.get("/pub/v%d" % i)
    events = sorted((m["event"] for m in wait_events(addr, 8)), key=lambda e: e["seq"])
    check(len(events) == 8, "%d events" % len(events))
    v = verify(ctx, addr, TOPIC)
    check(v.returncode == 0, "verify on the gateway's topic: %d %s" % (v.returncode, v.stdout))

    def copy(name, evs):
        produce(addr, name, [("-", json.dumps(e, separators=(",", ":"))) for e in evs])
        time.sleep(0.2)
        return verify(ctx, addr, name)

    v = copy("copy-faithful", events)
    check(v.returncode == 0, "faithful copy: %d %s" % (v.returncode, v.stdout))
    v = copy("copy-deleted", events[:3] + events[4:])
    out = v.stdout.decode()
    check(v.returncode == 1 and "gap" in out.lower() and str(events[3]["seq"]) in out,
          "deleted seq %d: exit %d: %s" % (events[3]["seq"], v.returncode, out))
    altered = [dict(e) for e in events]
    altered[5]["status"] = 201
    v = copy("copy-altered", altered)
    out = v.stdout.decode()
    check(v.returncode == 1 and "alter" in out.lower() and str(events[5]["seq"]) in out,
          "altered seq %d: exit %d: %s" % (events[5]["seq"], v.returncode, out))
    swapped = events[:2] + [events[3], events[2]] + events[4:]
    v = copy("copy-reordered", swapped)
    out = v.stdout.decode()
    check(v.returncode == 1 and "order" in out.lower(),
          "reordered: exit %d: %s" % (v.returncode, out))


# -- payload capture and redaction ------------------------------------------------------------------

CARD = "4111111111111111"
IBAN = "CH9300762011623852957"


@case(timeout=90)
def audit_capture_redacts(ctx):
    """A route with capture "body" and redaction rules: the JSON and XML bodies are in the events
    (both ways, the upstream mirrors them), the card number and the IBAN are nowhere in the topic;
    a body that cannot be parsed is withheld; capture "none" carries no digests."""
    up = ctx.upstream("echo")
    mirror = "http://127.0.0.1:%d/x/~mirror" % up.port
    redact = {"capture": "body", "redact": {
        "json": ["/card/number", "/payments/*/iban"],
        "xml": ["//p:IBAN", "//@secret"],
        "namespaces": {"p": "urn:example:pay"}}}
    routes = [scenario.route("cap", "/acme/cap/*", mirror, audit=redact),
              scenario.route("quiet", "/acme/quiet/*", mirror, audit={"capture": "none"})]
    s = scenario.build(ctx, tls="optional", up=up, acme_routes=routes,
                       config_extra=audit_config("embedded"))
    addr = embedded_addr(s.gw)
    acme = s.tls_ctx("acme-client")
    jbody = json.dumps({"card": {"number": CARD, "holder": "A. Smith"},
                        "payments": [{"iban": IBAN, "amount": 5}, {"iban": IBAN, "amount": 7}]})
    xbody = ('<p:Doc xmlns:p="urn:example:pay"><p:Acct secret="%s"><p:IBAN>%s</p:IBAN>'
             '<p:Nm>ACME</p:Nm></p:Acct></p:Doc>' % (CARD, IBAN))
    sent = [("application/json", jbody), ("application/xml", xbody),
            ("application/json", '{"card": {"number": "%s"' % CARD)]  # not JSON: withheld
    rids = []
    for ctype, body in sent:
        r = client.request(s.tls, "POST", "/acme/cap/x", [("Content-Type", ctype)],
                           body.encode(), ctx=acme)
        check(r.status == 200 and r.body == body.encode(), "mirror: %d %r" % (r.status, r.body))
        rids.append(rid(r))
    r = client.request(s.tls, "POST", "/acme/quiet/x", [("Content-Type", "application/json")],
                       jbody.encode(), ctx=acme)
    quiet = rid(r)
    msgs = wait_events(addr, 4)
    raw = subprocess.run(["kcat", "-b", addr, "-C", "-t", TOPIC, "-e", "-q"],
                         stdout=subprocess.PIPE, timeout=30).stdout.decode()
    check(len(msgs) == 4 and raw.count('"v":5') == 4, "%d events" % len(msgs))
    for secret in (CARD, IBAN):
        check(secret not in raw, "the redacted value %s is in the topic" % secret)
    valid([m["event"] for m in msgs])
    ev = {m["event"]["request_id"]: m["event"] for m in msgs}
    j, x, bad = (ev[k]["capture"] for k in rids)
    for side in ("request", "response"):
        doc = json.loads(j[side]["body"])
        check(doc["card"] == {"number": "[redacted]", "holder": "A. Smith"} and
              [p["iban"] for p in doc["payments"]] == ["[redacted]"] * 2 and
              j[side]["encoding"] == "utf-8" and not j[side]["withheld"],
              "JSON %s capture: %r" % (side, j[side]))
        check("<p:IBAN>[redacted]</p:IBAN>" in x[side]["body"] and
              'secret="[redacted]"' in x[side]["body"] and "<p:Nm>ACME</p:Nm>" in x[side]["body"],
              "XML %s capture: %r" % (side, x[side]))
        check(bad[side]["withheld"] and bad[side]["body"] is None,
              "a body that does not parse must be withheld: %r" % bad[side])
    q = ev[quiet]
    check(q["capture"] is None and q["request"]["sha256"] is None and
          q["request"]["bytes"] == len(jbody), "capture none: %r" % q["request"])
    check(ev[rids[0]]["request"]["sha256"] == hashlib.sha256(jbody.encode()).hexdigest(),
          "the digest is of the body as sent, before redaction")


EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@case(timeout=90)
def audit_capture_object_as_documented(ctx):
    """What audit/README.md says of `capture` and of the digests: each side is an object
    {body, encoding, truncated, withheld}; UTF-8 text is cut at max_body_bytes without splitting a
    character, other bytes come in base64, an empty body is "" (not cut, not withheld) and its
    digest is SHA-256 of no bytes, not null."""
    up = ctx.upstream("echo")
    mirror = "http://127.0.0.1:%d/x/~mirror" % up.port
    cap = scenario.route("cap", "/cap/*", mirror, public=True,
                         audit={"capture": "body", "max_body_bytes": 16})
    s = scenario.build(ctx, up=up, routes=[cap], config_extra=audit_config("embedded"))
    addr = embedded_addr(s.gw)
    sent = {
        "short": "héllo".encode(),                         # whole: UTF-8, not cut
        "cut": ("a" * 15 + "€ and more").encode(),         # the cut at 16 would split the €
        "binary": b"\xff\xfe\x00\x01binary",                # not UTF-8: base64
        "empty": b"",
    }
    rids = {}
    for name, body in sent.items():
        r = client.request(s.plain, "POST", "/cap/" + name,
                           [("Content-Type", "application/octet-stream")], body)
        check(r.status == 200 and r.body == body, "mirror %s: %d %r" % (name, r.status, r.body))
        rids[rid(r)] = name
    r = s.get("/health")  # no body at all, capture digest (the default)
    rids[rid(r)] = "health"
    msgs = wait_events(addr, len(rids))
    events = {rids[m["event"]["request_id"]]: m["event"] for m in msgs}
    check(sorted(events) == sorted(rids.values()), "events for %s" % sorted(events))
    valid(events.values())
    want = {
        "short": {"body": "héllo", "encoding": "utf-8", "truncated": False, "withheld": False},
        "cut": {"body": "a" * 15, "encoding": "utf-8", "truncated": True, "withheld": False},
        "binary": {"body": base64.b64encode(sent["binary"]).decode(), "encoding": "base64",
                   "truncated": False, "withheld": False},
        "empty": {"body": "", "encoding": "utf-8", "truncated": False, "withheld": False},
    }
    for name, w in want.items():
        e = events[name]
        for side in ("request", "response"):
            check(e["capture"][side] == w, "%s: capture.%s is %r, the README says %r"
                  % (name, side, e["capture"][side], w))
            digest = hashlib.sha256(sent[name]).hexdigest()
            check(e[side]["sha256"] == e[side]["sha256_out"] == digest and
                  e[side]["bytes"] == e[side]["bytes_out"] == len(sent[name]),
                  "%s: %s is %r, expected %d bytes with SHA-256 %s"
                  % (name, side, e[side], len(sent[name]), digest))
    h = events["health"]
    check(h["capture"] is None, "capture digest: capture %r, expected null" % h["capture"])
    check(h["request"]["sha256"] == h["request"]["sha256_out"] == EMPTY_SHA256 and
          h["request"]["bytes"] == 0, "a GET without a body: request is %r, expected 0 bytes "
          "and the SHA-256 of nothing" % h["request"])


# -- tail with a consumer group, run after run ------------------------------------------------------

def tail_group(ctx, addr, group, bound):
    """`portico audit tail --group` to the end of the topic: its events, within bound seconds."""
    t0 = time.time()
    p = ctx.run([ctx.env.portico, "audit", "tail", "-b", addr, "-t", TOPIC, "--group", group,
                 "--timeout", "30"], timeout=40)
    took = time.time() - t0
    check(p.returncode == 0, "tail --group %s: exit %d after %.1fs: %s"
          % (group, p.returncode, took, p.stderr.decode()[-300:]))
    check(took < bound, "tail --group %s took %.1fs (bound %ds): the group's last member was "
          "not let go" % (group, took, bound))
    return [json.loads(l) for l in p.stdout.decode().splitlines()]


@case(timeout=120)
def audit_tail_group_run_after_run(ctx):
    """`portico audit tail --group G` three times in a row against `portico kafka-dev`: a run that
    stops at the end of the topic, one that follows and is stopped by SIGINT, and one more. Each
    leaves the group on its way out, so the next gets its partitions within seconds, and each
    reads only what came after the one before (the offsets were committed)."""
    k = KafkaDev(ctx)
    s = scenario.build(ctx, config_extra=audit_config(k.addr))
    bound = 12  # the dev broker waits up to 5 s after a member leaves (audit/README.md)
    first = [rid(s.get("/pub/g%d" % i)) for i in range(3)]
    wait_events(k.addr, 3)
    got = tail_group(ctx, k.addr, "ops", bound)
    check([e["request_id"] for e in got] == first, "first run: %s, expected %s"
          % ([e["request_id"] for e in got], first))
    second = [rid(s.get("/pub/h%d" % i)) for i in range(2)]
    wait_events(k.addr, 5)
    t0 = time.time()
    p = subprocess.Popen([ctx.env.portico, "audit", "tail", "-b", k.addr, "-t", TOPIC,
                          "--group", "ops", "-f"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(p.stdout), daemon=True)
    reader.start()
    while len(lines) < 2 and time.time() - t0 < bound and p.poll() is None:
        time.sleep(0.05)
    took = time.time() - t0
    p.send_signal(signal.SIGINT)
    try:
        rc = p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(5)
        rc = None
    reader.join(5)
    err = p.stderr.read().decode()
    p.stderr.close()
    check([json.loads(l)["request_id"] for l in lines] == second,
          "second run (-f) read %d events in %.1fs, expected %s: %s" % (len(lines), took, second,
                                                                          err[-300:]))
    check(rc == 0, "tail -f after SIGINT: exit %s: %s" % (rc, err[-300:]))
    third = [rid(s.get("/pub/i0"))]
    wait_events(k.addr, 6)
    got = tail_group(ctx, k.addr, "ops", bound)
    check([e["request_id"] for e in got] == third, "third run: %s, expected %s"
          % ([e["request_id"] for e in got], third))
