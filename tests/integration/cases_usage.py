"""`portico audit report --usage` (audit/README.md, "Usage report"): a period's exchanges per
caller, for billing. Partners' exchanges go through a running gateway; consumers' events (the
gateway cannot make them yet) and events of earlier versions are crafted, checked against the
schema, and produced to the same topic with kcat. The expected rows are also worked out here,
from the topic as kcat reads it, without the gateway's code."""

import copy
import csv
import datetime
import io
import json

import client
import scenario
from cases_audit import TOPIC, KafkaDev, audit_config, kcat, produce, valid, wait_events
from client import check
from harness import case

LIMITS = ("rate-limited", "concurrency-limited", "quota-exceeded")
COLUMNS = ["kind", "id", "plan", "requests", "accepted", "refused_by_limit", "refused_other",
           "errors", "request_bytes", "response_bytes"]
EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def utc(t):
    """A datetime (UTC) as the audit writes times: 2026-12-02T17:28:10.123Z."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def parse_utc(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ")


def crafted(seq, received, consumer=None, partner=None, plan=None, status=200, outcome="ok",
            reason=None, req=0, resp=0, kind="exchange", node="crafted", v=5):
    """A whole event of version v as the gateway would write it (consumer: (id, kid) or None).
    Its hash is not worked out: usage does not check chains, verify would."""
    e = {
        "v": v, "id": "%032x" % (0xc0ffee000 + seq), "kind": kind, "node": node, "seq": seq,
        "prev": "0" * 64, "hash": "1" * 64, "request_id": "rq-%d" % seq,
        "time": {"received": received, "forwarded": received, "responded": received},
        "partner": partner,
        "consumer": {"id": consumer[0], "key": consumer[1]} if consumer else None, "plan": plan,
        "cert": None, "client": {"address": "192.0.2.1", "port": 40000}, "route": "weather",
        "method": "GET", "path": "/weather", "status": status, "outcome": outcome,
        "reason": reason, "upstream": None, "latency_us": 1200,
        "request": {"bytes": req, "bytes_out": req, "sha256": None, "sha256_out": None},
        "response": {"bytes": resp, "bytes_out": resp, "sha256": None, "sha256_out": None},
        "chain": {"request": [], "response": []}, "capture": None, "config": "c0ffee",
        "delivery": None, "admin": None, "signatures": [],
    }
    if v < 5:  # before version 5: no signatures
        del e["signatures"]
    if v < 4:  # before version 4: no consumer, no plan
        del e["consumer"], e["plan"]
    if v < 3:  # before version 3: no admin; before version 2: no delivery
        del e["admin"]
    if v < 2:
        del e["delivery"]
    return e


def expected(events, start, end):
    """The usage rows, worked out here: exchange events received in [start, end), a replay (same
    node and seq) once, the caller a consumer, else a partner, else anonymous, the plan of the
    latest event (by time.received) that has one."""
    rows, seen = {}, set()
    for e in events:
        if e.get("kind") != "exchange" or not start <= parse_utc(e["time"]["received"]) < end:
            continue
        if (e["node"], e["seq"]) in seen:
            continue
        seen.add((e["node"], e["seq"]))
        if e.get("consumer"):
            key = ("consumer", e["consumer"]["id"])
        elif e["partner"] is not None:
            key = ("partner", e["partner"])
        else:
            key = ("anonymous", "-")
        r = rows.setdefault(key, dict(zip(COLUMNS, list(key) + [None] + [0] * 7), plan_at=None))
        if "plan" in e and (r["plan_at"] is None or e["time"]["received"] >= r["plan_at"]):
            r["plan"], r["plan_at"] = e["plan"], e["time"]["received"]
        r["requests"] += 1
        if e["outcome"] == "ok":
            r["accepted"] += 1
        elif e["outcome"] == "refused" and e["status"] == 429 and e["reason"] in LIMITS:
            r["refused_by_limit"] += 1
        elif e["outcome"] == "refused":
            r["refused_other"] += 1
        elif e["outcome"] == "error":
            r["errors"] += 1
        r["request_bytes"] += e["request"]["bytes"]
        r["response_bytes"] += e["response"]["bytes_out"]
    for r in rows.values():
        del r["plan_at"]
    return [rows[k] for k in sorted(rows, key=lambda k: (k[0].encode(), k[1].encode()))]


def usage(ctx, where, period, *more):
    """`portico audit report --usage --period P` (where: -c or -b/-t); returns (exit, out, err)."""
    p = ctx.run([ctx.env.portico, "audit", "report", "--usage", "--period", period] + where +
                list(more))
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def row(doc, kind, id_):
    got = [c for c in doc["callers"] if (c["kind"], c["id"]) == (kind, id_)]
    check(len(got) == 1, "%s %s: %d rows in %s" % (kind, id_, len(got), doc["callers"]))
    return got[0]


def counts(r):
    return tuple(r[c] for c in COLUMNS[2:8])


@case(timeout=120)
def audit_usage_report_per_caller(ctx):
    """Partners' exchanges through the gateway (accepted, refused by a route's day quota, refused
    otherwise, errors, anonymous ones) and crafted consumers' events in one topic: one row per
    caller with the right counts and bytes; replays, other kinds and other months left out;
    version 3 events count for their partner; JSON and CSV say the same."""
    k = KafkaDev(ctx)
    up = ctx.upstream("echo")
    u = "http://127.0.0.1:%d" % up.port
    quota = scenario.route("limited", "/acme/limited", u, limits={"requests_per_day": 1})
    dead = scenario.route("dead", "/dead/*", "http://127.0.0.1:9", public=True)
    s = scenario.build(ctx, tls="optional", up=up, routes=[dead], acme_routes=[quota],
                       config_extra=audit_config(k.addr))
    acme = s.tls_ctx("acme-client")
    body = b'{"order": 12345}'
    statuses = []
    for _ in range(3):
        statuses.append(client.request(s.tls, "POST", "/acme/orders",
                                       [("Content-Type", "application/json")], body,
                                       ctx=acme).status)
    statuses += [client.request(s.tls, "GET", "/acme/limited", ctx=acme).status for _ in range(2)]
    statuses.append(s.tls_get("globex-client", "/globex/x").status)
    statuses.append(s.tls_get("globex-client", "/acme/orders").status)
    statuses += [s.get("/pub/x").status, s.get("/nowhere").status, s.get("/dead/x").status]
    check(statuses == [200, 200, 200, 200, 429, 200, 403, 200, 404, 502],
          "statuses: %r" % statuses)
    real = [m["event"] for m in wait_events(k.addr, len(statuses))]
    check(len(real) == len(statuses), "%d events for %d requests" % (len(real), len(statuses)))

    # the consumers' events, crafted around the real ones' time, in their month
    last = max(parse_utc(e["time"]["received"]) for e in real)
    period = utc(last)[:7]
    start = datetime.datetime(last.year, last.month, 1)
    end = datetime.datetime(last.year + (last.month == 12), last.month % 12 + 1, 1)
    at = utc(last)
    weather = ("weather-app", "0123456789ab")
    fake = [
        crafted(1, at, weather, plan="pro", req=10, resp=100),
        crafted(2, at, weather, plan="pro", status=429, outcome="refused", reason="rate-limited",
                resp=80),
        crafted(3, at, weather, plan="pro", status=429, outcome="refused",
                reason="quota-exceeded", resp=80),
        crafted(4, at, weather, plan="pro", status=401, outcome="refused", reason="key-revoked",
                resp=60),
        crafted(5, at, weather, plan="pro", status=504, outcome="error",
                reason="upstream-timeout", req=3),
        crafted(6, at, ("maps-app", "ba9876543210"), plan="free", req=1, resp=2),
        # acme: an event of version 3 (no consumer, no plan), then a later one with a plan
        crafted(7, at, partner="acme", v=3, req=5, resp=6),
        crafted(8, utc(last + datetime.timedelta(milliseconds=1)), partner="acme", plan="gold"),
        # left out: a delivery attempt, last month's exchange
        crafted(9, at, weather, plan="pro", kind="delivery"),
        crafted(10, utc(start - datetime.timedelta(milliseconds=1)), weather, plan="old"),
    ]
    valid([e for e in fake if e["v"] == 5])
    fake.append(copy.deepcopy(fake[0]))  # shipped again after a restart: the same node and seq
    produce(k.addr, TOPIC, [((e.get("consumer") or {}).get("id") or e["partner"] or "-",
                             json.dumps(e, separators=(",", ":"))) for e in fake])
    events = [m["event"] for m in wait_events(k.addr, len(real) + len(fake))]
    check(len(events) == len(real) + len(fake), "%d events in the topic" % len(events))
    if last.day == 1 and any(parse_utc(e["time"]["received"]) < start for e in real):
        return  # the requests went over a month's end: the fixed counts below would not hold

    rc, out, err = usage(ctx, ["-c", s.gw.config_path], period)
    check(rc == 0, "report --usage: exit %d: %s" % (rc, err))
    doc = json.loads(out)
    check(doc["period"] == period and doc["from"] == utc(start) and doc["to"] == utc(end),
          "period, from, to: %r" % {x: doc[x] for x in ("period", "from", "to")})
    check(doc["callers"] == expected(events, start, end),
          "callers:\n%s\nexpected:\n%s" % (doc["callers"], expected(events, start, end)))
    check("1 event shipped twice" in err, "nothing said of the replay: %r" % err)
    # what the test sent, as the columns say it
    check([(c["kind"], c["id"]) for c in doc["callers"]] ==
          [("anonymous", "-"), ("consumer", "maps-app"), ("consumer", "weather-app"),
           ("partner", "acme"), ("partner", "globex")], "rows: %s" % doc["callers"])
    check(counts(row(doc, "consumer", "weather-app")) == ("pro", 5, 1, 2, 1, 1),
          "weather-app: %r" % row(doc, "consumer", "weather-app"))
    w = row(doc, "consumer", "weather-app")
    check((w["request_bytes"], w["response_bytes"]) == (13, 320), "weather-app bytes: %r" % w)
    check(counts(row(doc, "consumer", "maps-app")) == ("free", 1, 1, 0, 0, 0), "maps-app")
    a = row(doc, "partner", "acme")
    check(counts(a) == ("gold", 7, 6, 1, 0, 0) and a["request_bytes"] == 3 * len(body) + 5,
          "acme: %r" % a)
    check(counts(row(doc, "partner", "globex")) == (None, 2, 1, 0, 1, 0), "globex")
    check(counts(row(doc, "anonymous", "-")) == (None, 3, 1, 0, 1, 1), "anonymous")

    rc, out_csv, err = usage(ctx, ["-b", k.addr, "-t", TOPIC], period, "--format", "csv")
    check(rc == 0, "report --usage --format csv: exit %d: %s" % (rc, err))
    lines = out_csv.split("\r\n")
    check(lines[0] == ",".join(COLUMNS) and lines[-1] == "" and "\n" not in out_csv.replace(
        "\r\n", ""), "CSV lines: %r" % out_csv[:400])
    rows = list(csv.DictReader(io.StringIO(out_csv, newline="")))
    as_text = [{c: "" if r[c] is None else str(r[c]) for c in COLUMNS} for r in doc["callers"]]
    check(rows == as_text, "CSV %r, JSON %r" % (rows, as_text))


@case(timeout=60)
def audit_usage_period_and_formats(ctx):
    """A UTC day is the day's events only (its end excluded); a period with no exchange is an
    empty list (CSV: the header alone); ids that need quoting are quoted (RFC 4180); a bad
    period, a period without --usage or a filter with it is a usage error (exit 2)."""
    k = KafkaDev(ctx, partitions=1)
    t = lambda s: "2026-12-05T%s.000Z" % s  # noqa: E731
    evs = [
        crafted(1, "2026-12-04T23:59:59.999Z", ("app-a", "0123456789ab"), plan="free", req=1),
        crafted(2, t("00:00:00"), ("app-a", "0123456789ab"), plan="free", req=2, resp=3),
        crafted(3, t("12:00:00"), ("app-a", "0123456789ab"), plan="pro", status=429,
                outcome="refused", reason="concurrency-limited"),
        crafted(4, t("23:59:59"), partner='odd,"id"', plan=None, req=7),
        crafted(5, "2026-12-06T00:00:00.000Z", ("app-a", "0123456789ab"), plan="x", req=9),
        crafted(6, t("08:00:00"), v=1),
    ]
    produce(k.addr, TOPIC, [("-", json.dumps(e, separators=(",", ":"))) for e in evs])
    check(len(kcat(k.addr)) == len(evs), "the crafted events are not all in the topic")
    where = ["-b", k.addr, "-t", TOPIC]

    rc, out, err = usage(ctx, where, "2026-12-05", "--json")
    check(rc == 0, "exit %d: %s" % (rc, err))
    doc = json.loads(out)
    day = (datetime.datetime(2026, 12, 5), datetime.datetime(2026, 12, 6))
    check(doc["from"] == "2026-12-05T00:00:00.000Z" and doc["to"] == "2026-12-06T00:00:00.000Z"
          and doc["callers"] == expected(evs, *day), "day: %s" % out)
    check(counts(row(doc, "consumer", "app-a")) == ("pro", 2, 1, 1, 0, 0) and
          row(doc, "anonymous", "-")["requests"] == 1, "day rows: %s" % doc["callers"])
    rc, out, err = usage(ctx, where, "2026-12-05", "--format", "csv")
    check(rc == 0 and 'partner,"odd,""id""",,1,1,0,0,0,7,0\r\n' in out, "CSV quoting: %r" % out)
    rc, out, err = usage(ctx, where, "2026-12")
    check(rc == 0 and json.loads(out)["callers"] == expected(evs, datetime.datetime(2026, 12, 1),
                                                             datetime.datetime(2027, 1, 1)),
          "month: %s %s" % (out, err))
    rc, out, err = usage(ctx, where, "2026-11-30", "--format", "csv")
    check(rc == 0 and out == ",".join(COLUMNS) + "\r\n", "an empty day: %r %s" % (out, err))

    for args in (["--usage", "--period", "2026-13"], ["--usage", "--period", "2026-02-29"],
                 ["--usage", "--period", "December"], ["--usage"], ["--period", "2026-12"],
                 ["--usage", "--period", "2026-12", "--partner", "acme"],
                 ["--usage", "--period", "2026-12", "--since", "1d"],
                 ["--usage", "--period", "2026-12", "--format", "table"]):
        p = ctx.run([ctx.env.portico, "audit", "report"] + where + args)
        err = p.stderr.decode()
        check(p.returncode == 2 and p.stdout == b"" and err.startswith("portico: audit: "),
              "%s: exit %d, %r" % (" ".join(args), p.returncode, err))
    p = ctx.run([ctx.env.portico, "audit", "report"] + where + ["--usage", "--period", "2026-13"])
    check("2026-13" in p.stderr.decode() and "2026-12-05" in p.stderr.decode(),
          "the error does not say what a period is: %r" % p.stderr.decode())
    h = ctx.run([ctx.env.portico, "audit", "help"]).stdout.decode()
    check("--usage" in h and "--period" in h and "csv" in h, "help says nothing of --usage")
