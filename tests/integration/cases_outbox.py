"""kafka:// routes with ack "local" (connectors/kafka_outbox.c): 202 as soon as the node's outbox
has the message, then shipped to the topic in order. Across a broker outage and a SIGKILL of the
gateway, every message answered 202 is in the topic exactly once, in order per key. kafka-dev runs
in its own process and kcat reads the topic."""

import time

import cases_audit
import client
import loadgen
import scenario
from cases_audit import KafkaDev
from cases_kafka import headers_of, wait_topic
from client import check, check_problem
from harness import case

TOPIC = "local.in"


def outbox_setup(ctx, k, **outbox):
    return scenario.build(ctx, workers=2, routes=[
        scenario.route("in", "/in", "kafka://" + TOPIC, methods=["POST"], public=True,
                       kafka={"ack": "local", "key": "field:X-Key", "fields": ["X-Seq"]})],
        config_extra={"connectors": {"kafka": {"brokers": k.addr, "outbox": outbox}}})


class Senders(loadgen.Clients):
    """Four threads, one key each ("k0" to "k3"), POSTing numbered messages until stopped
    (bounded by count and time). Records, per key, the numbers answered 202."""

    def __init__(self, s, limit=4000, seconds=30):
        self.s = s
        self.limit = limit
        self.accepted = {}   # key -> [seq answered 202]
        self.unanswered = {} # key -> [seq whose request got no answer (the gateway was killed)]
        self.other = []      # statuses other than 202 (with the gateway alive)
        loadgen.Clients.__init__(self, 4, seconds)

    def run(self, i):
        key, seq = "k%d" % i, 0
        while self.going() and seq < self.limit:
            seq += 1
            try:
                r = client.request(self.s.plain, "POST", "/in",
                                   [("Content-Type", "application/json"), ("X-Key", key),
                                    ("X-Seq", str(seq))],
                                   body=b'{"key": "%s", "seq": %d}' % (key.encode(), seq), timeout=5)
            except (OSError, client.Closed, client.TestFailure):
                with self.lock:
                    self.unanswered.setdefault(key, []).append(seq)
                time.sleep(0.02)  # the gateway is down (killed): nothing was answered
                continue
            with self.lock:
                if r.status == 202:
                    self.accepted.setdefault(key, []).append(seq)
                else:
                    self.other.append((r.status, r.body[:200]))

    def count(self):
        with self.lock:
            return sum(len(v) for v in self.accepted.values())


def check_exactly_once_in_order(msgs, accepted):
    """Every accepted (key, seq) is in msgs once; per key, the topic's order is the seq order."""
    seen, last = {}, {}
    for m in sorted(msgs, key=lambda m: (m["partition"], m["offset"])):
        h = headers_of(m)
        key, seq = m["key"], int(h["X-Seq"])
        check((key, seq) not in seen, "%s #%d is in the topic twice (%s and %s/%s)"
              % (key, seq, seen.get((key, seq)), m["partition"], m["offset"]))
        seen[(key, seq)] = "%s/%s" % (m["partition"], m["offset"])
        check(seq > last.get(key, 0), "%s #%d comes after #%d in the topic" % (key, seq, last.get(key, 0)))
        last[key] = seq
        check(m["payload"].encode() == b'{"key": "%s", "seq": %d}' % (key.encode(), seq) and
              h.get("route") == "in" and h.get("portico-outbox"),
              "message %s #%d: %r %r" % (key, seq, m["payload"][:80], h))
    lost = [(k, s) for k, v in accepted.items() for s in v if (k, s) not in seen]
    check(not lost, "%d messages answered 202 are not in the topic (e.g. %s)"
          % (len(lost), lost[:5]))


@case
def outbox_202_then_in_the_topic(ctx):
    k = KafkaDev(ctx)
    s = outbox_setup(ctx, k)
    rids = []
    for i in range(10):
        r = client.request(s.plain, "POST", "/in", [("Content-Type", "application/json"),
                                                    ("X-Key", "a"), ("X-Seq", str(i + 1))],
                           body=b'{"key": "a", "seq": %d}' % (i + 1))
        check(r.status == 202, "POST %d: %d %r" % (i, r.status, r.body[:300]))
        doc = r.json()
        check(doc == {"topic": TOPIC, "ack": "local", "request_id": r.get("x-request-id")},
              "202 body: %r" % doc)
        rids.append(doc["request_id"])
    msgs = wait_topic(k.addr, TOPIC, 10)
    check_exactly_once_in_order(msgs, {"a": list(range(1, 11))})
    check([headers_of(m)["request-id"] for m in sorted(msgs, key=lambda m: m["offset"])] == rids,
          "the messages' request ids are not the answers' in order")


@case
def outbox_broker_down_still_202(ctx):
    """The broker is down: the route still answers 202 at once; the messages reach the topic when
    it is back, once each, in order."""
    k = KafkaDev(ctx)
    s = outbox_setup(ctx, k)
    k.down()
    time.sleep(0.3)
    t0 = time.time()
    for i in range(30):
        r = client.request(s.plain, "POST", "/in", [("X-Key", "b"), ("X-Seq", str(i + 1))],
                           body=b'{"key": "b", "seq": %d}' % (i + 1))
        check(r.status == 202, "POST %d while the broker is down: %d %r" % (i, r.status, r.body))
    check(time.time() - t0 < 5, "30 POSTs took %.1f s with the broker down" % (time.time() - t0))
    time.sleep(1)
    k.up()
    msgs = wait_topic(k.addr, TOPIC, 30, timeout=30)
    check_exactly_once_in_order(msgs, {"b": list(range(1, 31))})


@case(timeout=180)
def outbox_sigkill_and_outage_exactly_once(ctx):
    """Load from four keys; the broker goes down and comes back; the gateway is SIGKILLed in the
    middle of the load and started again: every message answered 202 is in the topic exactly once
    (the restart reads back what the killed run delivered without checkpointing it), in order per
    key."""
    k = KafkaDev(ctx)
    s = outbox_setup(ctx, k, fsync_ms=60000)  # only the page cache has it: SIGKILL, not power
    with Senders(s, seconds=60) as load:
        load.wait_for(200)
        k.down()
        n = load.count()
        load.wait_for(n + 200)
        k.up()
        time.sleep(0.3)  # delivering again when the kill comes
        load.wait_for(load.count() + 300)
        s.kill()
        gw2 = s.start_again()
        load.wait_for(load.count() + 200)
    check(not load.other, "answers other than 202 with the gateway up: %r" % load.other[:5])
    total = load.count()
    wait_topic(k.addr, TOPIC, total, timeout=60)
    time.sleep(2)  # anything sent twice has come too by now
    msgs = wait_topic(k.addr, TOPIC, total, timeout=5)
    check_exactly_once_in_order(msgs, load.accepted)
    # beyond the 202s, only messages the killed gateway had taken without its answer reaching
    # the client (a POST that got no answer at all)
    extra = [(m["key"], int(headers_of(m)["X-Seq"])) for m in msgs
             if int(headers_of(m)["X-Seq"]) not in load.accepted.get(m["key"], [])]
    check(all(seq in load.unanswered.get(key, []) for key, seq in extra),
          "messages in the topic that were neither answered 202 nor left without an answer: %r"
          % [x for x in extra if x[1] not in load.unanswered.get(x[0], [])][:5])
    check("read back" in gw2.stderr_text(), "the restart did not read back what the killed run "
          "sent: %s" % gw2.stderr_tail(6))


@case
def outbox_full_503_too_large_413(ctx):
    k = KafkaDev(ctx)
    s = outbox_setup(ctx, k, max_bytes=1 << 20, ring_bytes=4 << 20)
    k.down()
    big = b"x" * (3 << 20)
    r = client.request(s.plain, "POST", "/in", [("X-Key", "c"), ("X-Seq", "0")], body=big)
    check_problem(r, 413, "payload-too-large")
    body = b"y" * 60000
    statuses = []
    for i in range(40):  # 2.4 MB into a log of 1 MiB while Kafka takes nothing
        r = client.request(s.plain, "POST", "/in", [("X-Key", "c"), ("X-Seq", str(i + 1))],
                           body=body)
        statuses.append(r.status)
        if r.status == 503:
            check_problem(r, 503, "upstream-unavailable")
            check(r.get("retry-after"), "503 without Retry-After")
            break
    check(statuses[-1] == 503 and statuses.count(202) >= 10,
          "a full outbox: %r (expected 202s, then 503)" % statuses)
    k.up()
    msgs = wait_topic(k.addr, TOPIC, statuses.count(202), timeout=30)
    check(len(msgs) == statuses.count(202), "%d in the topic for %d answers 202"
          % (len(msgs), statuses.count(202)))
    s.assert_alive()
