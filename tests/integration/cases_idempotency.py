"""Routes with "idempotency" (gateway/idempotency.c): concurrent copies of one message reach the
upstream once and all get its answer; the id with another body is refused (422); the answers are
kept across a restart. The upstream is an upstream_proc.py process that logs every POST it gets
(with fsync) before answering, slowly."""

import threading

import client
import scenario
from cases_failover import UpstreamProc
from client import check, check_problem
from harness import case, free_port


def idem_setup(ctx, port, **idem):
    return scenario.build(ctx, workers=2, routes=[
        scenario.route("idem", "/idem", "http://127.0.0.1:%d" % port, methods=["POST"],
                       public=True, idempotency=idem or {}),
        scenario.route("by-body", "/by-body", "http://127.0.0.1:%d" % port, methods=["POST"],
                       public=True, idempotency={"key": "pointer:/order/id"})])


def post(s, path, key, body):
    fields = [("Content-Type", "application/json")]
    if key is not None:
        fields.append(("Idempotency-Key", key))
    return client.request(s.plain, "POST", path, fields, body=body, timeout=20)


@case(timeout=120)
def idempotency_50_copies_one_upstream_call(ctx):
    port = free_port()
    up = UpstreamProc(ctx, "slow", port, post_delay_ms=400)
    s = idem_setup(ctx, port)
    body = b'{"id": "order-1", "total": 42}'
    answers, lock = [], threading.Lock()

    def send():
        r = post(s, "/idem", "key-1", body)
        with lock:
            answers.append(r)

    threads = [threading.Thread(target=send) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    check(len(answers) == 50, "%d answers of 50" % len(answers))
    calls = up.ids()
    check(len(calls) == 1, "the upstream got %d calls for 50 copies: %r" % (len(calls), calls))
    first = answers[0]
    check(all(r.status == 200 and r.body == first.body and
              r.get("content-type") == first.get("content-type") for r in answers),
          "answers differ: %r" % sorted({(r.status, r.body[:80]) for r in answers}))
    check(sum(1 for r in answers if r.get("idempotent-replayed") == "true") == 49,
          "%d answers say they are replayed, not 49"
          % sum(1 for r in answers if r.get("idempotent-replayed") == "true"))
    # the same id with another body: refused, and the upstream is not called
    check_problem(post(s, "/idem", "key-1", b'{"id": "order-1", "total": 43}'), 422,
                  "idempotency-key-reused")
    # another id is another message; no id is an ordinary request
    check(post(s, "/idem", "key-2", body).status == 200, "another id")
    check(post(s, "/idem", None, body).status == 200, "no id")
    check(post(s, "/idem", None, body).status == 200, "no id, again")
    check(len(up.ids()) == 4, "the upstream got %d calls, not 4: %r" % (len(up.ids()), up.ids()))
    # the id in the body
    a = post(s, "/by-body", None, b'{"order": {"id": "B-7"}, "id": "b7"}')
    b = post(s, "/by-body", None, b'{"order": {"id": "B-7"}, "id": "b7"}')
    check(a.status == 200 and b.status == 200 and a.body == b.body and
          b.get("idempotent-replayed") == "true" and len(up.ids()) == 5,
          "the id at /order/id: %d %d, %d calls" % (a.status, b.status, len(up.ids())))
    s.assert_alive()


@case(timeout=90)
def idempotency_restart_keeps_the_answers(ctx):
    port = free_port()
    up = UpstreamProc(ctx, "backend", port)
    s = idem_setup(ctx, port, window_ms=600000)
    body = b'{"id": "order-9"}'
    first = post(s, "/idem", "key-9", body)
    check(first.status == 200, "first: %d" % first.status)
    msg = s.gw.stop()
    check(msg is None, msg or "")
    s.start_again()
    again = post(s, "/idem", "key-9", body)
    check(again.status == 200 and again.body == first.body and
          again.get("idempotent-replayed") == "true",
          "after the restart: %d %r %r" % (again.status, again.body[:100], again.headers))
    check(len(up.ids()) == 1, "the upstream got %d calls: %r" % (len(up.ids()), up.ids()))
    check_problem(post(s, "/idem", "key-9", b'{"id": "other"}'), 422, "idempotency-key-reused")


@case(timeout=60)
def idempotency_failed_first_lets_the_id_go(ctx):
    """A first request that got no answer to keep (the upstream answered 500) does not hold its
    id: the repeat goes to the upstream again."""
    port = free_port()
    up = UpstreamProc(ctx, "failing", port, post_status=500)
    s = idem_setup(ctx, port)
    for _ in range(2):
        r = post(s, "/idem", "key-x", b'{"id": "x"}')
        check(r.status == 500 and r.get("idempotent-replayed") is None,
              "500 from the upstream: %d %r" % (r.status, r.headers))
    check(len(up.ids()) == 2, "the upstream got %d calls, not 2" % len(up.ids()))
