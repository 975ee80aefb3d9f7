"""Logs a collector can read: the process's lines as JSON ("log_format"), and the access log
("access_log"), text in nginx's combined habit or JSON, one line per exchange, reopened on
SIGUSR1 after logrotate moved it."""

import json
import os
import re
import signal
import threading
import time

import client
import scenario
from client import check, poll
from harness import case, free_port

RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
LEVELS = {"crit", "error", "warn", "info", "debug"}

# nginx's combined format, the partner as the remote user, then name=value
TEXT_LINE = re.compile(
    r'^(?P<client>\S+) - (?P<partner>\S+) \[(?P<time>\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000)\] '
    r'"(?:(?P<method>\S+) (?P<target>\S+) (?P<protocol>HTTP/1\.[01])|-)" (?P<status>\d{3}) '
    r'(?P<bytes_out>\d+) "(?P<referer>[^"]*)" "(?P<user_agent>[^"]*)" '
    r'request_id=(?P<request_id>\S+) route=(?P<route>\S+) upstream_status=(?P<upstream_status>\S+) '
    r'outcome=(?P<outcome>ok|refused|error) bytes_in=(?P<bytes_in>\d+) '
    r'request_ms=(?P<request_ms>\d+\.\d{3}) upstream_ms=(?P<upstream_ms>\d+\.\d{3}|-)$')



def lines_of(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    check(data == b"" or data.endswith(b"\n"), "%s does not end with a whole line" % path)
    return data.decode().splitlines()


def stop(s):
    """Stop the gateway now (SIGTERM), failing on what the harness fails on."""
    msg = s.gw.stop()
    check(msg is None, msg)


def json_log(s):
    """Every stderr line of the gateway, each checked to be a JSON log object."""
    docs = []
    for line in s.gw.stderr_text().splitlines():
        try:
            d = json.loads(line)
        except ValueError:
            raise client.TestFailure("stderr line is not JSON: %r" % line)
        check(isinstance(d, dict) and RFC3339_MS.match(d.get("time", "")) and
              d.get("level") in LEVELS and isinstance(d.get("message"), str),
              "not a log object (time, level, message): %r" % line)
        check(isinstance(d.get("worker", 0), int), "worker is not a number: %r" % line)
        check(d["level"] != "crit", "an internal error was logged: %r" % line)
        docs.append(d)
    return docs


@case
def logs_json_lines(ctx):
    dead = "http://127.0.0.1:%d" % free_port()  # nothing listens there
    s = scenario.build(ctx, tls="optional", config_extra={"log_format": "json"},
                       acme_routes=[scenario.route("down", "/acme/down", dead)])
    check(s.get("/pub/fine").status == 200, "GET /pub/fine")
    r = client.request(s.tls, "GET", "/acme/down", ctx=s.tls_ctx("acme-client"))
    client.check_problem(r, 502)
    rid = r.get("x-request-id")
    stop(s)
    docs = json_log(s)
    check(len(docs) >= 4, "only %d lines on stderr" % len(docs))
    mine = [d for d in docs if d.get("request_id") == rid]
    check(mine, "no line carries the 502's request id %s: %r" % (rid, docs))
    for d in mine:
        check(d.get("partner") == "acme" and d.get("client") == "127.0.0.1" and
              isinstance(d.get("worker"), int), "the 502's line: %r" % d)
    check(any(dead[len("http://"):] in d["message"] for d in mine),
          "no line of the 502 names the upstream %s: %r" % (dead, mine))
    main = [d for d in docs if "serving" in d["message"]]
    check(len(main) == 1 and "worker" not in main[0] and "request_id" not in main[0],
          "the main thread's start line: %r" % main)
    check(any("stopped after" in d["message"] and isinstance(d.get("worker"), int)
              for d in docs), "no worker's stop line: %r" % docs[-5:])


@case
def logs_format_follows_reload(ctx):
    s = scenario.build(ctx)
    check(poll(lambda: " serving: node " in s.gw.stderr_text()), "no start line")
    before = s.gw.stderr_text().splitlines()
    check(before and all(re.match(r"^\S+Z \[\w+\] ", l) for l in before),
          "text lines first: %r" % before[:3])
    cfg = s.gw.read_config()
    cfg["log_format"] = "json"
    s.gw.write_config(cfg)
    s.gw.reload()
    check(poll(lambda: '"reloaded: configuration' in s.gw.stderr_text()),
          "no JSON line saying the reload: %s" % s.gw.stderr_tail())
    check(s.get("/pub/after").status == 200, "GET after the reload")
    stop(s)
    after = s.gw.stderr_text().splitlines()[len(before):]
    for line in after:
        d = json.loads(line)
        check(d["level"] in LEVELS and RFC3339_MS.match(d["time"]), "after the reload: %r" % line)


def access_setup(ctx, fmt):
    return scenario.build(ctx, tls="optional",
                          config_extra={"access_log": {"path": "logs/access.log", "format": fmt}},
                          start=False)


def start(s):
    os.makedirs(os.path.join(s.gw.dir, "logs"))
    s.gw.start()
    return os.path.join(s.gw.dir, "logs", "access.log")


def parse_access(line, fmt):
    """An access log line as a dict of the JSON format's members (absent ones left out)."""
    if fmt == "json":
        d = json.loads(line)
        check(RFC3339_MS.match(d.get("time", "")), "time: %r" % line)
        return d
    m = TEXT_LINE.match(line)
    check(m is not None, "not a combined-style line: %r" % line)
    d = {k: v for k, v in m.groupdict().items() if v not in ("-", None)}
    for k in ("status", "bytes_out", "bytes_in", "upstream_status"):
        if k in d:
            d[k] = int(d[k])
    for k in ("request_ms", "upstream_ms"):
        if k in d:
            d[k] = float(d[k])
    if "user_agent" in d:
        d["user_agent"] = d["user_agent"].replace("\\x22", '"')
    return d


def access_log_case(ctx, fmt):
    s = access_setup(ctx, fmt)
    path = start(s)
    acme = s.tls_ctx("acme-client")
    ua = [("User-Agent", 'it "%s"' % fmt)]
    sent = []  # (response, what the line must say)
    for i in range(3):
        body = b"x" * (100 + i)
        r = client.request(s.tls, "POST", "/acme/orders", ua, body=body, ctx=acme)
        sent.append((r, {"partner": "acme", "route": "orders", "method": "POST",
                         "target": "/acme/orders", "status": 200, "upstream_status": 200,
                         "outcome": "ok", "bytes_in": len(body)}))
    for i in range(2):
        r = client.request(s.plain, "GET", "/pub/a?q=%d&x=y" % i, ua)
        sent.append((r, {"route": "pub", "method": "GET", "target": "/pub/a?q=%d&x=y" % i,
                         "status": 200, "upstream_status": 200, "outcome": "ok", "bytes_in": 0}))
    r = client.request(s.plain, "GET", "/nowhere", ua)
    sent.append((r, {"method": "GET", "target": "/nowhere", "status": 404, "outcome": "refused",
                     "bytes_in": 0}))
    with client.Conn(s.plain) as c:  # a head that cannot be read: no request to tell
        c.send(b"GET /bad\x01 HTTP/1.1\r\nHost: x\r\nUser-Agent: %s\r\n\r\n" % ua[0][1].encode())
        r = c.read_response()
    sent.append((r, {"status": 400, "outcome": "refused", "bytes_in": 0}))
    lines = poll(lambda: len(lines_of(path)) >= len(sent) and lines_of(path), timeout=5)
    check(len(lines or []) == len(sent), "%d lines in the access log for %d requests: %r"
          % (len(lines or []), len(sent), lines))
    got = {}
    for line in lines:
        d = parse_access(line, fmt)
        got[d.get("request_id")] = d
    for r, want in sent:
        rid = r.get("x-request-id")
        d = got.get(rid)
        check(rid and d is not None, "no line for request %s: %r" % (rid, lines))
        want = dict(want, client="127.0.0.1", bytes_out=len(r.body))
        if "method" in want:
            want.update(protocol="HTTP/1.1", user_agent='it "%s"' % fmt)
        else:
            check(not {"method", "target", "protocol", "user_agent"} & set(d),
                  "a request told for a head that could not be read: %r" % d)
        bad = {k: (d.get(k), v) for k, v in want.items() if d.get(k) != v}
        check(not bad, "line for %s %s: (got, expected) %r in %r"
              % (want.get("method"), want.get("target"), bad, d))
        check(("partner" in want) == ("partner" in d) and ("route" in want) == ("route" in d),
              "partner or route where there is none: %r" % d)
        check(d["request_ms"] >= 0 and (d.get("upstream_ms", 0) <= d["request_ms"]),
              "latencies: %r" % d)
        check(("upstream_ms" in d) == ("upstream_status" in want), "upstream_ms: %r" % d)
    stop(s)
    check(lines_of(path) == lines, "the access log changed at the stop")


@case
def logs_access_text(ctx):
    access_log_case(ctx, "text")


@case
def logs_access_json(ctx):
    access_log_case(ctx, "json")


@case(timeout=90)
def logs_access_reopen_on_sigusr1(ctx):
    """logrotate's way: the file is renamed, the gateway gets SIGUSR1 and writes to a new file at
    the path; under load, no line is lost or written twice."""
    s = access_setup(ctx, "text")
    path = start(s)
    first = [client.request(s.plain, "GET", "/pub/before/%d" % i).get("x-request-id")
             for i in range(5)]
    check(poll(lambda: len(lines_of(path)) == 5), "the first 5 lines: %r" % lines_of(path))

    ids, errors, stop_load = [], [], threading.Event()

    def load():
        n = 0
        while not stop_load.is_set():
            try:
                r = client.request(s.plain, "GET", "/pub/load/%d" % n)
                n += 1
                if r.status != 200:
                    errors.append(r.status)
                ids.append(r.get("x-request-id"))
            except (OSError, client.Closed) as e:
                errors.append(repr(e))
    t = threading.Thread(target=load)
    t.start()
    try:
        time.sleep(0.5)
        os.rename(path, path + ".1")
        time.sleep(0.3)  # lines still go to the renamed file, as with logrotate
        s.gw.proc.send_signal(signal.SIGUSR1)
        check(poll(lambda: "access log: reopened" in s.gw.stderr_text()),
              "no reopen in the log: %s" % s.gw.stderr_tail())
        time.sleep(0.7)
    finally:
        stop_load.set()
        t.join(10)
    check(not errors, "requests failed under the rotation: %r" % errors[:5])
    last = [client.request(s.plain, "GET", "/pub/after/%d" % i).get("x-request-id")
            for i in range(4)]
    check(s.gw.alive(), "SIGUSR1 ended the gateway")
    total = 5 + len(ids) + 4

    def both():
        return len(lines_of(path + ".1")) + len(lines_of(path)) >= total
    poll(both, timeout=5)
    old = [TEXT_LINE.match(l) for l in lines_of(path + ".1")]
    new = [TEXT_LINE.match(l) for l in lines_of(path)]
    check(all(old) and all(new), "lines that are not access lines")
    old_ids = [m["request_id"] for m in old]
    new_ids = [m["request_id"] for m in new]
    check(sorted(old_ids[:5]) == sorted(first),
          "the renamed file lost its first lines: %r" % old_ids[:5])
    check(set(last) <= set(new_ids), "requests after the reopen are not in the new file")
    everything = old_ids + new_ids
    check(len(everything) == total and sorted(everything) == sorted(first + ids + last),
          "%d requests, %d lines (%d in the renamed file, %d in the new one); missing %r, extra %r"
          % (total, len(everything), len(old_ids), len(new_ids),
             list(set(first + ids + last) - set(everything))[:3],
             list(set(everything) - set(first + ids + last))[:3]))
    check(len(ids) > 20, "the load sent only %d requests" % len(ids))


@case
def logs_check_refuses_bad_settings(ctx):
    s = scenario.build(ctx, start=False, config_extra={
        "log_format": "yaml", "access_log": {"path": "nowhere/access.log", "format": "xml"}})
    r = ctx.run([ctx.env.portico, "check", "-c", s.gw.config_path])
    out = (r.stdout + r.stderr).decode(errors="replace")
    cfg = re.escape(s.gw.config_path)
    for want in (r'log_format: "yaml" is not one of text, json',
                 r'access_log\.format: "xml" is not one of text, json',
                 r'access_log\.path: no folder \S*/nowhere for "\S*/nowhere/access\.log"'):
        check(re.search(r"^error: %s:\d+:\d+: %s$" % (cfg, want), out, re.M),
              "check does not say %r:\n%s" % (want, out[-800:]))
    check(r.returncode == 1, "check exited %d" % r.returncode)
