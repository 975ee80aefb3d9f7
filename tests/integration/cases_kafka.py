"""kafka:// routes (connectors/kafka.c): the request is produced to its topic and answered 202 once
Kafka acknowledged it, with the topic, partition and offset; the key, the headers and the body are
what the route says. `portico kafka-dev` runs in its own process and kcat reads the topic, neither
of them the gateway's code path."""

import time

import cases_audit
import client
import scenario
from cases_audit import KafkaDev
from client import check, check_problem
from harness import case


def wait_topic(addr, topic, want, timeout=20):
    """The topic's messages (payloads as they are), once it holds `want` or the time is up."""
    return cases_audit.wait_events(addr, want, timeout, topic, events=False)


def headers_of(m):
    """kcat -J gives a message's headers as a flat list [name, value, ...]."""
    h = m.get("headers") or []
    return {h[i]: h[i + 1] for i in range(0, len(h), 2)}


@case
def kafka_route_every_202_in_the_topic_once(ctx):
    k = KafkaDev(ctx)
    s = scenario.build(ctx, tls="require", routes=[
        scenario.route("orders-in", "/orders-in", "kafka://orders.in", methods=["POST"],
                       public=True, kafka={"key": "field:X-Order-Id", "fields": ["X-Trace"]}),
        scenario.route("by-body", "/by-body", "kafka://orders.in", methods=["POST"], public=True,
                       kafka={"key": "pointer:/order/id"}),
    ], acme_routes=[scenario.route("acme-in", "/acme/in", "kafka://partner.in", methods=["POST"])],
        config_extra=dict(cases_audit.audit_config("embedded"),
                          connectors={"kafka": {"brokers": k.addr, "timeout_ms": 3000}}))
    sent = {}
    for i in range(20):
        body = b'{"order": {"id": "o-%d", "lines": %d}}' % (i, i)
        r = client.request(s.plain, "POST", "/orders-in",
                           [("Content-Type", "application/json"), ("X-Order-Id", "o-%d" % i),
                            ("X-Trace", "trace-%d" % i), ("X-Other", "not passed")], body=body)
        check(r.status == 202, "POST %d: %d %r" % (i, r.status, r.body[:300]))
        doc = r.json()
        check(doc["topic"] == "orders.in" and isinstance(doc["partition"], int) and
              isinstance(doc["offset"], int) and doc["request_id"] == r.get("x-request-id"),
              "202 body: %r" % doc)
        sent[doc["request_id"]] = (body, "o-%d" % i, "trace-%d" % i, doc)
    r = client.request(s.plain, "POST", "/by-body", [("Content-Type", "application/json")],
                       body=b'{"order": {"id": "from-the-body"}}')
    check(r.status == 202, "POST with the key in the body: %d %r" % (r.status, r.body[:300]))
    by_body = r.json()
    r = client.request(s.tls, "POST", "/acme/in", [("Content-Type", "application/xml")],
                       body=b"<order id='x'/>", ctx=s.tls_ctx("acme-client"))
    check(r.status == 202, "partner POST: %d %r" % (r.status, r.body[:300]))
    msgs = wait_topic(k.addr, "orders.in", 21)
    check(len(msgs) == 21, "%d messages in orders.in for 21 answers 202" % len(msgs))
    seen = set()
    for m in msgs:
        h = headers_of(m)
        rid = h.get("request-id")
        check(rid not in seen, "request %s is in the topic twice" % rid)
        seen.add(rid)
        if rid == by_body["request_id"]:
            check(m["key"] == "from-the-body", "key from the body's /order/id: %r" % m["key"])
            continue
        check(rid in sent, "a message no 202 announced: %r" % h)
        body, key, trace, doc = sent[rid]
        check(m["payload"].encode() == body and m["key"] == key,
              "message %s: key %r payload %r" % (rid, m["key"], m["payload"][:100]))
        check(h.get("content-type") == "application/json" and h.get("route") == "orders-in" and
              h.get("X-Trace") == trace and "X-Other" not in h and "partner-id" not in h,
              "message %s headers: %r" % (rid, h))
        check((m["partition"], m["offset"]) == (doc["partition"], doc["offset"]),
              "message %s at %s/%s, the 202 said %s/%s" % (rid, m["partition"], m["offset"],
                                                         doc["partition"], doc["offset"]))
    check(seen == set(sent) | {by_body["request_id"]}, "answers without their message: %r"
          % (set(sent) - seen))
    # each exchange's audit event says where its message went
    events = [m["event"] for m in cases_audit.wait_events(cases_audit.embedded_addr(s.gw), 22)]
    cases_audit.valid(events)
    by_rid = {e["request_id"]: e for e in events if e["kind"] == "exchange"}
    for rid, (body, key, trace, doc) in sent.items():
        up = by_rid[rid]["upstream"]
        check(by_rid[rid]["status"] == 202 and up["address"] == "kafka://orders.in" and
              (up["partition"], up["offset"]) == (doc["partition"], doc["offset"]) and
              up["latency_us"] >= 0, "the event of %s: %r" % (rid, by_rid[rid]))
    pm = wait_topic(k.addr, "partner.in", 1)
    check(len(pm) == 1 and pm[0]["key"] == "acme" and headers_of(pm[0]).get("partner-id") == "acme"
          and pm[0]["payload"] == "<order id='x'/>",
          "the partner's message: %r" % [(m["key"], headers_of(m), m["payload"]) for m in pm])


def post_until_202(s, key, within=15):
    """POST until Kafka takes it (the producer reconnects after the broker came back)."""
    end, status = time.time() + within, None
    while time.time() < end:
        r = client.request(s.plain, "POST", "/in", [("X-Id", key)], body=b'{"n": "%s"}' % key.encode(),
                           timeout=10)
        status = r.status
        if status == 202:
            return
        time.sleep(0.5)
    check(False, "POST %s after the broker came back: %s" % (key, status))


def post_while_down(s, key):
    """A POST while the broker is down: 503 with Retry-After within the timeout (1500 ms)."""
    t0 = time.time()
    r = client.request(s.plain, "POST", "/in", [("X-Id", key)], body=b'{"n": "down"}', timeout=10)
    took = time.time() - t0
    check_problem(r, 503, "upstream-unavailable")
    check(r.get("retry-after") and took < 3.5, "%s: 503 after %.2f s (timeout_ms 1500), Retry-After "
          "%r" % (key, took, r.get("retry-after")))


@case
def kafka_route_broker_down_503_nothing_written(ctx):
    k = KafkaDev(ctx)
    s = scenario.build(ctx, workers=1, routes=[
        scenario.route("in", "/in", "kafka://events.in", methods=["POST"], public=True,
                       kafka={"key": "field:X-Id"})],
        config_extra={"connectors": {"kafka": {"brokers": k.addr, "timeout_ms": 1500}}})
    # the first message of the worker's producer, made while the broker is down
    k.down()
    time.sleep(0.5)
    post_while_down(s, "first-while-down")
    k.up()
    post_until_202(s, "before")
    k.down()
    time.sleep(1.0)
    post_while_down(s, "while-down")
    k.up()
    post_until_202(s, "after")
    msgs = wait_topic(k.addr, "events.in", 2)
    keys = [m["key"] for m in msgs]
    check("while-down" not in keys and "first-while-down" not in keys and
          keys.count("before") == 1 and keys.count("after") == 1,
          "messages in the topic: %r (those answered 503 must not be there)" % keys)
    s.assert_alive()
