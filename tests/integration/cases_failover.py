"""Failover (issue 14): an upstream set whose targets are real processes, killed with SIGKILL under
load and started again on the same port.

The upstreams here are upstream_proc.py processes (not the threads of upstream.py), so that one can
die at once, sockets and all, as a crashed backend does. Each logs the unique id of every POST it
received, durably, before answering, so that after a SIGKILL the test can count every POST any of
them took. The contract checked (partners/README.md, "Upstream sets"; the audit event's
`upstream.tries`):

- a GET never fails for one dead target: the gateway tries it again on another;
- no POST reaches two targets; a POST that did not get 200 got a problem answer (502, 503, 504);
- a dead target is out (no tries to it) within one second of its death, through outlier ejection
  or the health checks;
- a target that comes back gets exchanges again within one health interval (and some slack) of its
  return: the health check's success ends the ejection;
- every target dead: 503 upstream-unavailable with Retry-After once they are found down, and the
  audit events say why.

Each exchange's audit event (through `portico kafka-dev`, read with kcat) carries `upstream.tries`:
[{"address": "127.0.0.1:PORT", "error": null or a code ("connect-failed", "closed", "timeout"),
  "status": int or null, "latency_us": int}], the last of which is `upstream`'s own address and
status.
"""

import json
import os
import select
import subprocess
import sys
import threading
import time

import client
import scenario
from cases_audit import KafkaDev, audit_config, kcat
from client import check
from harness import case, free_port

HERE = os.path.dirname(os.path.abspath(__file__))
PROC = os.path.join(HERE, "upstream_proc.py")

EJECTED_WITHIN = 1.0      # s after a target's death: no more tries to it
BACK_WITHIN = 1.5         # s after its return: exchanges again (health interval 0.5 s + slack)
ALL_DOWN_WITHIN = 1.5     # s after every target died: 503 with Retry-After


def trio_set(ports):
    """The set under test: three targets, outlier ejection and active health checks."""
    return {
        "targets": ["http://127.0.0.1:%d" % p for p in ports],
        "outlier": {"consecutive_failures": 3, "base_ejection_ms": 30000},
        "health": {"path": "/health", "interval_ms": 500, "timeout_ms": 300,
                   "healthy_threshold": 1, "unhealthy_threshold": 2},
    }


class UpstreamProc:
    """One upstream_proc.py process on 127.0.0.1:port, killed (SIGKILL) at the end of the test
    whatever happens. ready_at: time.monotonic() when it said it listens."""

    def __init__(self, ctx, name, port, post_delay_ms=0, timeout=10.0, post_status=200):
        self.name = name
        self.port = port
        self.address = "127.0.0.1:%d" % port
        self.log_path = os.path.join(ctx.dir, name + ".log")
        self.err = open(os.path.join(ctx.dir, name + ".stderr"), "wb")
        self.proc = subprocess.Popen([sys.executable, PROC, "--port", str(port), "--name", name,
                                      "--log", self.log_path,
                                      "--post-delay-ms", str(post_delay_ms),
                                      "--post-status", str(post_status)],
                                     stdout=subprocess.PIPE, stderr=self.err)
        ctx.defer(self.kill)
        end = time.monotonic() + timeout
        line = b""
        while not line.endswith(b"\n"):
            left = end - time.monotonic()
            check(left > 0, "upstream %s did not listen on port %d within %gs" % (name, port,
                                                                                 timeout))
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 256)
                check(chunk, "upstream %s exited before listening (%s): %s"
                      % (name, self.proc.poll(), self.stderr_text()[-300:]))
                line += chunk
        check(line.strip() == b"ready %d" % port, "upstream %s said %r" % (name, line))
        self.ready_at = time.monotonic()

    def stderr_text(self):
        try:
            with open(self.err.name, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def kill(self):
        """SIGKILL and reap (once; a no-op when it is already dead)."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        if not self.err.closed:
            self.err.close()
            self.proc.stdout.close()

    def ids(self):
        """The POST ids this process logged, in order."""
        try:
            with open(self.log_path) as f:
                return [l.rstrip("\n") for l in f if l.strip()]
        except FileNotFoundError:
            return []


class Rec:
    """One request of the load: what was sent, when, and what came back."""

    def __init__(self, method, key, start):
        self.method = method
        self.key = key
        self.start = start
        self.end = None
        self.resp = None
        self.status = None
        self.rid = None
        self.server = None
        self.error = None

    def __repr__(self):
        return "%s %s at %.3f: %s" % (self.method, self.key, self.start,
                                     self.status if self.error is None else self.error)


class Load:
    """Four threads, each on its own keep-alive connection (a new one after a close or an error),
    alternating GET /fo/get/KEY and POST /fo/post/KEY with the body {"id": KEY}; KEY is unique.
    Runs until finish(), at most `seconds` and `per_thread` requests a thread, each thread at
    most `rate` requests a second: `portico kafka-dev` (librdkafka's mock cluster) keeps only the
    last 5 MiB of a partition, and every event of these public exchanges has the key "-", so one
    partition: about 15,000 events. Unpaced, this load makes some 3,000 a second."""

    def __init__(self, port, seconds=20.0, per_thread=3000, threads=4, rate=300):
        self.port = port
        self.hard_end = time.monotonic() + seconds
        self.per_thread = per_thread
        self.interval = 1.0 / rate
        self.halt = threading.Event()
        self.lock = threading.Lock()
        self.records = []
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True)
                        for i in range(threads)]
        for t in self.threads:
            t.start()

    def run(self, i):
        conn = None
        n = 0
        t0 = time.monotonic()
        try:
            while (not self.halt.is_set() and time.monotonic() < self.hard_end
                   and n < self.per_thread):
                pause = t0 + n * self.interval - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                n += 1
                key = "t%d-%d" % (i, n)
                if n % 2:
                    method = "GET"
                    req = client.build_request("GET", "/fo/get/" + key)
                else:
                    method = "POST"
                    req = client.build_request("POST", "/fo/post/" + key,
                                               [("Content-Type", "application/json")],
                                               json.dumps({"id": key}).encode())
                rec = Rec(method, key, time.monotonic())
                try:
                    if conn is None:
                        conn = client.Conn(self.port, timeout=5.0)
                    conn.send(req)
                    r = conn.read_response(method)
                    rec.resp, rec.status, rec.rid = r, r.status, r.get("x-request-id")
                    if r.status == 200:
                        doc = json.loads(r.body)
                        rec.server = doc.get("server")
                        want = "/fo/get/" + key if method == "GET" else key  # path unchanged
                        got = doc.get("target") if method == "GET" else doc.get("id")
                        if got != want:
                            rec.error = "answered for %r, not %r" % (got, want)
                    if r.closes():
                        conn.close()
                        conn = None
                except (OSError, client.Closed, AssertionError, ValueError) as e:
                    rec.error = "%s: %s" % (type(e).__name__, e)
                    if conn is not None:
                        conn.close()
                    conn = None
                rec.end = time.monotonic()
                with self.lock:
                    self.records.append(rec)
        finally:
            if conn is not None:
                conn.close()

    def finish(self):
        self.halt.set()
        for t in self.threads:
            t.join(15)
        check(not any(t.is_alive() for t in self.threads), "the load threads did not stop")
        return sorted(self.records, key=lambda r: r.start)


class Findings:
    """Independent parts of a test's contract, each checked even when another failed; the test
    fails at the end with every part that did not hold."""

    def __init__(self):
        self.failed = []

    def part(self, title, fn):
        try:
            fn()
        except AssertionError as e:
            self.failed.append("%s: %s" % (title, e))

    def done(self):
        check(not self.failed, " || ".join(self.failed))


def events_by_rid(addr, rids, into, timeout=60):
    """The audit events of these request ids into the dict `into`, by request id; then fails
    unless every one arrived."""
    want = set(rids)
    end = time.monotonic() + timeout
    while True:
        for m in kcat(addr):
            e = m["event"]
            if e.get("kind") == "exchange" and e.get("request_id") in want:
                into[e["request_id"]] = e
        missing = [r for r in rids if r not in into]
        if not missing or time.monotonic() > end:
            break
        time.sleep(0.5)
    check(not missing, "%d of %d exchanges have no audit event (e.g. %s)"
          % (len(missing), len(rids), missing[:3]))
    return into


def tries_of(e):
    """The event's upstream.tries, checked against the documented shape; [] without upstream."""
    up = e.get("upstream")
    if up is None:
        return []
    tries = up.get("tries")
    check(isinstance(tries, list), "request %s: upstream %r has no \"tries\" list"
          % (e.get("request_id"), up))
    for t in tries:
        check(isinstance(t, dict) and isinstance(t.get("address"), str)
              and (t.get("error") is None or isinstance(t.get("error"), str))
              and (t.get("status") is None or isinstance(t.get("status"), int))
              and isinstance(t.get("latency_us"), int),
              "request %s: a try %r is not {address, error, status, latency_us}"
              % (e.get("request_id"), t))
    if tries:
        last = tries[-1]
        check(last["address"] == up.get("address") and last["status"] == up.get("status"),
              "request %s: last try %r, but upstream says %s status %s"
              % (e.get("request_id"), last, up.get("address"), up.get("status")))
        for t in tries[:-1]:  # an answer (even a 5xx) is relayed, not tried again
            check(t["error"] is not None and t["status"] is None,
                  "request %s: a try that is not the last has no error: %r"
                  % (e.get("request_id"), tries))
    return tries


def problem_answer(r):
    """A non-200 answer of the set: 502, 503 or 504 with a problem body."""
    codes = {502: ["upstream-unavailable", "bad-upstream-response"],
             503: ["upstream-unavailable"], 504: ["upstream-timeout"]}
    check(r.status in codes, "status %d (body %r)" % (r.status, r.body[:200]))
    client.check_problem(r, r.status, codes[r.status])


def retry_after_seconds(r):
    v = r.get("retry-after")
    check(v is not None and v.isdigit() and int(v) >= 1,
          "503 with Retry-After %r, expected a number of seconds >= 1" % v)
    return int(v)


def warm_up(s, ups, timeout=5.0):
    """GETs through the gateway until each target has answered one (bounded): the load starts on
    a set that works (however the health checks treat targets they have not checked yet)."""
    want = {u.name for u in ups}
    seen = set()
    end = time.monotonic() + timeout
    n = 0
    while seen != want:
        check(time.monotonic() < end, "after %gs only %r answered through the gateway"
              % (timeout, sorted(seen)))
        n += 1
        r = client.request(s.plain, "GET", "/fo/warm/%d" % n)
        if r.status == 200:
            seen.add(r.json().get("server"))
        else:
            time.sleep(0.05)


def build(ctx, k, ports):
    return scenario.build(ctx, routes=[scenario.route("failover", "/fo/*", "trio", public=True)],
                          config_extra=dict(upstreams={"trio": trio_set(ports)},
                                            **audit_config(k.addr)))


@case(timeout=180)
def failover_kill_one_upstream_under_load(ctx):
    """Three upstream processes under a load of GETs and POSTs; one is SIGKILLed 1 s in and
    started again on its port 2 s later. GETs all succeed, no POST reaches two targets, the dead
    target gets no tries 1 s after its death, and exchanges again soon after its return."""
    k = KafkaDev(ctx)
    ports = [free_port() for _ in range(3)]
    # the one to be killed takes 50 ms over each POST after logging it, so that the kill finds
    # POSTs it received and did not answer (some on pooled connections): those must fail (502),
    # not go to another target as well
    ups = [UpstreamProc(ctx, "u%d" % i, p, post_delay_ms=50 if i == 1 else 0)
           for i, p in enumerate(ports)]
    s = build(ctx, k, ports)
    warm_up(s, ups)
    victim = ups[1]
    load = Load(s.plain)
    back = None
    try:
        time.sleep(1.0)
        victim.kill()
        t_kill = time.monotonic()
        time.sleep(2.0)
        t_spawn = time.monotonic()
        back = UpstreamProc(ctx, "u1-again", ports[1])
        time.sleep(BACK_WITHIN + 0.5)
    finally:
        recs = load.finish()
    t_back = back.ready_at
    ctx.note("kill at +%.3f s, spawn at +%.3f, back at +%.3f; %d requests"
             % (t_kill - recs[0].start, t_spawn - recs[0].start, t_back - recs[0].start,
                len(recs)))

    # enough load in every phase for the test to mean something
    phases = [("before the kill", recs[0].start, t_kill), ("while it was dead", t_kill, t_spawn),
              ("after its return", t_back, float("inf"))]
    for what, a, b in phases:
        n = sum(1 for r in recs if a <= r.start < b)
        check(n >= 50, "only %d requests %s" % (n, what))
    before = {r.server for r in recs if r.start < t_kill and r.status == 200}
    check(before == {u.name for u in ups}, "before the kill only %r answered" % sorted(before))

    f = Findings()
    gets = [r for r in recs if r.method == "GET"]
    posts = [r for r in recs if r.method == "POST"]

    def every_get_200():
        bad = [r for r in gets if r.error is not None or r.status != 200]
        check(not bad, "%d of %d GETs did not get the upstream's 200, e.g. %s"
              % (len(bad), len(gets), bad[:5]))
    f.part("GETs", every_get_200)

    events = {}

    def audit_events():
        events_by_rid(k.addr, [r.rid for r in recs if r.rid], events)
    f.part("audit events", audit_events)
    by_key = {r.key: r for r in recs}

    def tries_said(key):
        r = by_key.get(key)
        e = events.get(r.rid) if r is not None else None
        return (e.get("upstream") or {}).get("tries") if e else "no event"

    logs = {u.name: u.ids() for u in ups + [back]}
    seen = {}
    for name, ids in logs.items():
        for i in ids:
            seen.setdefault(i, []).append(name)

    def no_post_twice():
        twice = {i: w for i, w in seen.items() if len(w) > 1}
        check(not twice, "%d POST ids reached the upstreams more than once, e.g. %s"
              % (len(twice), "; ".join("%s in %r, answered %s, tries %r"
                                       % (i, w, by_key[i].status if i in by_key else None,
                                          tries_said(i))
                                       for i, w in sorted(twice.items())[:3])))
        sent = {r.key for r in posts}
        strange = sorted(set(seen) - sent)
        check(not strange, "the upstreams logged ids never sent: %s" % strange[:5])
    f.part("POSTs received twice", no_post_twice)

    def posts_answered():
        for r in posts:
            check(r.error is None, "POST %s: %s" % (r.key, r.error))
            if r.status == 200:
                where = seen.get(r.key, [])
                check(where == [r.server], "POST %s answered 200 by %s is in the logs of %r"
                      % (r.key, r.server, where))
            else:
                try:
                    problem_answer(r.resp)
                except AssertionError as e:
                    raise AssertionError("POST %s at +%.3f s: %s" % (r.key, r.start - t_kill, e))
        ctx.note("POSTs: %d answered 200, others: %r" % (
            sum(1 for r in posts if r.status == 200),
            sorted({r.status for r in posts if r.status != 200})))
    f.part("POST answers", posts_answered)

    def failed_posts_not_done_elsewhere():
        # a POST answered with an error reached no target that stayed up: only the dead one may
        # have taken it (and died before its answer)
        alive = {u.name for u in ups if u is not victim} | {back.name}
        done = [(r.key, r.status, seen[r.key]) for r in posts
                if r.status != 200 and alive & set(seen.get(r.key, []))]
        check(not done, "POSTs answered with an error were taken by a live target: %s"
              % done[:5])
    f.part("failed POSTs", failed_posts_not_done_elsewhere)

    def ejected_by_address():
        # what the event's upstream object already says: the last try of an exchange begun more
        # than EJECTED_WITHIN after the death never went to the dead target
        late = [r for r in recs if t_kill + EJECTED_WITHIN <= r.start < t_spawn and r.rid]
        check(late, "no exchange between %.1f s after the kill and the restart" % EJECTED_WITHIN)
        bad = [(r.key, r.status) for r in late if r.rid in events
               and (events[r.rid].get("upstream") or {}).get("address") == victim.address]
        check(not bad, "%d exchanges begun over %.1f s after the kill still ended on the dead "
              "target, e.g. %s" % (len(bad), EJECTED_WITHIN, bad[:5]))
    if events:
        f.part("ejected (upstream.address)", ejected_by_address)

    def ejected_by_tries():
        failed_tries = []
        for r in recs:
            if r.rid not in events:
                continue
            tries = tries_of(events[r.rid])
            if r.status == 200:
                check(tries and tries[-1]["status"] == 200 and tries[-1]["error"] is None,
                      "%s %s answered 200, tries %r" % (r.method, r.key, tries))
            to_dead = [t for t in tries if t["address"] == victim.address]
            if r.start < t_spawn:  # (those in flight at the kill too)
                failed_tries += [t for t in to_dead if t["error"] is not None]
            if t_kill <= r.start < t_spawn:
                check(all(t["error"] is not None for t in to_dead),
                      "%s %s begun after the kill: a try to the dead target without an error: "
                      "%r" % (r.method, r.key, tries))
            if t_kill + EJECTED_WITHIN <= r.start < t_spawn:
                check(not to_dead, "%s %s begun %.3f s after the kill still tried the dead "
                      "target: %r" % (r.method, r.key, r.start - t_kill, tries))
        check(failed_tries, "no event shows a failed try to the dead target")
        ctx.note("failed tries to the dead target: %d, errors %r"
                 % (len(failed_tries), sorted({t["error"] for t in failed_tries})))
    if events:
        f.part("ejected (upstream.tries)", ejected_by_tries)

    def comes_back():
        took = [r for r in recs if r.server == back.name]
        check(took, "the target started again on its port got no exchange in the %.1f s the load "
              "ran after its return" % (recs[-1].start - t_back))
        first = min(r.end for r in took)
        check(first - t_back <= BACK_WITHIN, "the target started again got its first exchange "
              "%.3f s after its return, expected within %.1f s" % (first - t_back, BACK_WITHIN))
        ctx.note("back: first answer %.3f s after its return; %d exchanges"
                 % (first - t_back, len(took)))
    f.part("back after restart", comes_back)
    f.done()


@case(timeout=120)
def failover_every_upstream_down(ctx):
    """Every target of the set SIGKILLed: the first answers may be 502 (the connects fail), and
    from 1.5 s on the route answers 503 upstream-unavailable with Retry-After; the audit events
    say why."""
    k = KafkaDev(ctx)
    ports = [free_port() for _ in range(3)]
    ups = [UpstreamProc(ctx, "d%d" % i, p) for i, p in enumerate(ports)]
    s = build(ctx, k, ports)
    # the processes answer (asked directly: an exchange through the gateway would leave pooled
    # connections, whose failure is not a connect error); let one round of health checks pass
    for u in ups:
        r = client.request(u.port, "GET", "/health")
        check(r.status == 200 and r.body == b"ok", "%s: /health answered %r" % (u.name, r))
    time.sleep(0.6)
    for u in ups:
        u.kill()
    t_kill = time.monotonic()
    got = []  # (start, method, response)
    n = 0
    while time.monotonic() < t_kill + 3.0 and n < 100:
        n += 1
        start = time.monotonic()
        if n % 2:
            r = client.request(s.plain, "GET", "/fo/down/%d" % n)
            got.append((start, "GET", r))
        else:
            r = client.request(s.plain, "POST", "/fo/down/%d" % n,
                               [("Content-Type", "application/json")],
                               json.dumps({"id": "down-%d" % n}).encode())
            got.append((start, "POST", r))
        time.sleep(0.1)
    ctx.note("answers: %s" % ", ".join("+%.2f %s %d" % (t - t_kill, m, r.status)
                                        for t, m, r in got))
    check(sum(1 for t, _, _ in got if t >= t_kill + ALL_DOWN_WITHIN) >= 5,
          "too few requests after %.1f s" % ALL_DOWN_WITHIN)

    f = Findings()

    def answers():
        for t, m, r in got:
            try:
                if t < t_kill + ALL_DOWN_WITHIN:
                    check(r.status in (502, 503), "status %d, expected 502 or 503" % r.status)
                else:
                    check(r.status == 503, "status %d, expected 503 (every target down)"
                          % r.status)
                client.check_problem(r, r.status, "upstream-unavailable")
                if r.status == 503:
                    retry_after_seconds(r)
            except AssertionError as e:
                raise AssertionError("%s +%.3f s after the kill: %s" % (m, t - t_kill, e))
    f.part("answers", answers)

    events = {}

    def audited():
        rids = [r.get("x-request-id") for _, _, r in got]
        check(all(rids), "answers without X-Request-Id")
        events_by_rid(k.addr, rids, events)
        for t, m, r in got:
            e = events[r.get("x-request-id")]
            check(e.get("status") == r.status and e.get("reason") == "upstream-unavailable",
                  "%s +%.3f s after the kill (%d): event says status %s reason %s"
                  % (m, t - t_kill, r.status, e.get("status"), e.get("reason")))
    f.part("audit", audited)

    def tried():
        for t, m, r in got:
            e = events.get(r.get("x-request-id"))
            if e is None:
                continue
            where = "%s +%.3f s after the kill (%d)" % (m, t - t_kill, r.status)
            tries = tries_of(e)
            if r.status == 502:
                check(tries, "%s: no tries in the event: %r" % (where, e.get("upstream")))
                for x in tries:
                    check(x["status"] is None and (x["error"] or "").startswith("connect")
                          and x["address"] in {u.address for u in ups},
                          "%s: a try %r is not a failed connect to a target" % (where, x))
            else:
                check(all(x["status"] is None for x in tries),
                      "%s: a try got an answer: %r" % (where, tries))
    f.part("audit tries", tried)
    f.done()
