"""Turn the raw records of tests/bench/run.sh into the results table (markdown).

usage: report.py RAW.tsv RESULTS.md

RAW.tsv has one tab-separated record per line, written by run.sh. ROLE is the side of a case:
a, b or c.
  info KEY VALUE                       settings, versions, load average, start time
  case NAME TITLE A B GOALS [C]        A, B and C (a third side, when there is one) are
                                       TARGET:LISTENER:PATH; GOALS are checked on A/B and A/C
  wrk NAME ROLE ROUND FILE             one measured wrk round (its full output), at saturation
  pace NAME MS SECONDS CONNS           the case has paced rounds: CONNS connections, each waiting
                                       MS milliseconds after a response before its next request,
                                       SECONDS per run
  paced NAME ROLE ROUND FILE US TICKS REQUESTS
                                       one paced wrk run (equal offered load), run after the
                                       side's saturated run of that round, and its CPU as in cpu;
                                       not part of the saturated figures
  cpu NAME ROLE ROUND US TICKS REQUESTS
                                       CPU of that round: the target's utime + stime over its
                                       process tree (TICKS, clock ticks) over the REQUESTS wrk
                                       reports, in microseconds per request (US, "-" if none)
  threads NAME ROLE ROUND GROUP TICKS REQUESTS
                                       for a Portico target, the CPU ticks of that round of one
                                       group of its threads (by thread name; "workers" for
                                       portico-w0, portico-w1, ...; for portico-audit and
                                       portico-kafka also "kafka-dev (separate process)", the
                                       broker, not part of the gateway), and the requests of
                                       the round
  hwm_reset NAME ROLE yes|no           whether the peak RSS could be reset before the case
  hwm NAME ROLE KIB                    peak RSS (VmHWM, summed over the process tree)
  pss NAME ROLE KIB                    PSS at the end of the case (summed over the tree)
  access_log NAME ROLE LINES REQUESTS  nginx-log: the lines its access log gained during the
                                       case, and the requests wrk completed (warm-up included)
  audit_count "WRITTEN SHIPPED DROPPED" IN_KAFKA
                                       the audited gateway's counts at stop, and the events kcat
                                       read back from the topic
  idle LISTENER TARGET BEFORE AFTER N  RSS in KiB before and with N idle connections
  tls_seen LISTENER TARGET "PROTO CIPHER"
  tfbench ROUND FILE                   one round of tests/tools/transform_bench (its TSV output)

Prints the table and writes it to RESULTS.md. Exits 1 when a measured round had errors
(socket errors or non-2xx answers): such figures are not comparable.
"""

import os
import platform
import re
import statistics
import sys
from collections import defaultdict

NAMES = {"portico": "Portico", "portico-audit": "Portico with audit",
         "portico-prev": "previous Portico", "portico-kafka": "Portico (kafka case)",
         "portico-metrics": "Portico with metrics", "portico-redis": "Portico (limits in Redis)",
         "nginx": "nginx", "nginx-log": "nginx with access log", "haproxy": "HAProxy"}
KAFKA = "kafka-dev (separate process)"  # the broker's CPU: beside the gateway's, not in it
REDIS = "redis-server (separate process)"  # the same for the cluster's Redis
SEPARATE = (KAFKA, REDIS)
UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


def parse_wrk(path):
    """Requests/s, p50 and p99 latency (ms) and the error count of one wrk output."""
    text = open(path, encoding="utf-8", errors="replace").read()
    out = {"rps": None, "p50": None, "p99": None, "errors": 0}
    m = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    if m:
        out["rps"] = float(m.group(1))
    for pct, key in (("50", "p50"), ("99", "p99")):
        m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s|m|h)\s*$" % pct, text, re.M)
        if m:
            out[key] = float(m.group(1)) * UNIT_MS[m.group(2)]
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        out["errors"] += sum(int(g) for g in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        out["errors"] += int(m.group(1))
    if out["rps"] is None or out["p99"] is None:
        out["errors"] += 1  # an output we cannot read is not a measurement
    return out


def read_raw(path):
    data = {"info": {}, "cases": [], "title": {}, "spec": {}, "goals": {},
            "wrk": defaultdict(list), "cpu": defaultdict(list), "hwm": {}, "pss": {},
            "hwm_reset": {}, "idle": {}, "tls": {}, "tf": defaultdict(list),
            "threads": defaultdict(lambda: defaultdict(dict)), "access_log": {},
            "pace": {}, "paced": defaultdict(list)}
    for line in open(path, encoding="utf-8"):
        f = line.rstrip("\n").split("\t")
        kind = f[0]
        if kind == "info":
            data["info"][f[1]] = f[2] if len(f) > 2 else ""
        elif kind == "case":
            name = f[1]
            data["cases"].append(name)
            data["title"][name] = f[2]
            data["spec"][(name, "a")] = f[3]
            data["spec"][(name, "b")] = f[4]
            data["goals"][name] = f[5] if len(f) > 5 else ""
            if len(f) > 6 and f[6]:
                data["spec"][(name, "c")] = f[6]
        elif kind == "wrk":
            data["wrk"][(f[1], f[2])].append(parse_wrk(f[4]))
        elif kind == "pace":
            data["pace"][f[1]] = (int(f[2]), int(f[3]), int(f[4]))
        elif kind == "paced":
            run = parse_wrk(f[4])
            run["round"] = int(f[3])
            run["cpu"] = None if f[5] == "-" else float(f[5])
            data["paced"][(f[1], f[2])].append(run)
        elif kind in ("hwm", "pss"):
            data[kind][(f[1], f[2])] = int(f[3])
        elif kind == "cpu":
            us = None if f[4] == "-" else float(f[4])
            data["cpu"][(f[1], f[2])].append((int(f[3]), us, int(f[5])))
        elif kind == "threads":
            # (case, role) -> group -> round -> (ticks, requests)
            data["threads"][(f[1], f[2])][f[4]][int(f[3])] = (int(f[5]), int(f[6]))
        elif kind == "access_log":
            data["access_log"][(f[1], f[2])] = (int(f[3]), int(f[4]))
        elif kind == "hwm_reset":
            data["hwm_reset"][(f[1], f[2])] = f[3]
        elif kind == "idle":
            data["idle"][(f[1], f[2])] = (int(f[3]), int(f[4]), int(f[5]))
        elif kind == "tls_seen" and len(f) > 3 and f[3]:
            data["tls"][(f[1], f[2])] = f[3]
        elif kind == "audit_count":
            data["audit"] = (f[1].split(), int(f[2] or 0))
        elif kind == "tfbench":
            for row in open(f[2], encoding="utf-8"):
                t = row.rstrip("\n").split("\t")
                if len(t) == 4 and t[0] != "file":
                    data["tf"][(os.path.basename(t[0]), t[1])].append(
                        (float(t[2]), None if t[3] == "-" else float(t[3])))
    return data


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value, kind):
    if value is None:
        return "n/a"
    if kind == "rps":
        return "{:,.0f}".format(value)
    if kind == "ms":
        return "{:.3f}".format(value) if value < 10 else "{:.1f}".format(value)
    if kind == "us2":
        return "{:.2f}".format(value)
    return "{:.1f}".format(value)


def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b


def diff(a, b):
    return None if a is None or b is None else a - b


def parse_goals(goals, data):
    """GOALS with each "KEY<=Nxparse:NAME" made "KEY<=B": B is N times libxml2's bare parse of
    the document whose name holds NAME, in µs, the median of the run's transform_bench rounds
    (left as it is without them: then it is not checked)."""
    out = []
    for g in goals.split():
        m = re.match(r"(\w+)<=([\d.]+)xparse:(\S+)$", g)
        if m:
            files = sorted(f for f, meas in data["tf"] if meas == "bare_parse" and m.group(3) in f)
            parse = median([r[0] for r in data["tf"][(files[0], "bare_parse")]]) if files else None
            if parse is not None:
                g = "%s<=%.1f" % (m.group(1), float(m.group(2)) * parse * 1e6)
        out.append(g)
    return " ".join(out)


def goal_text(goals, key, r):
    """'>= 1: met' for a figure that has a design goal in GOALS ("rps>=1 p99<=1")."""
    return goals_text(goals, key, [("", r)])


def goals_text(goals, key, values):
    """The goal on KEY in GOALS checked on each of VALUES, (label, ratio or difference) pairs:
    '≥ 1: met' for one, '≥ 1: met (nginx), **missed** (HAProxy)' for several."""
    for g in goals.split():
        m = re.match(r"(\w+)(>=|<=)([\d.]+)$", g)
        if not m or m.group(1) != key:
            continue
        bound = float(m.group(3))
        sign = "≥" if m.group(2) == ">=" else "≤"
        verdicts = []
        for lab, r in values:
            if r is None:
                continue
            met = r >= bound if m.group(2) == ">=" else r <= bound
            verdict = "met" if met else "**missed**"
            verdicts.append("%s (%s)" % (verdict, lab) if len(values) > 1 else verdict)
        if not verdicts:
            return "%s %g" % (sign, bound)
        return "%s %g: %s" % (sign, bound, ", ".join(verdicts))
    return ""


def label(spec, other):
    """Column name for TARGET:LISTENER:PATH; the path is added when both sides are one target."""
    target, _, path = spec.split(":", 2)
    name = NAMES.get(target, target)
    return name if target != other.split(":", 1)[0] else "%s %s" % (name, path)


def fmt_diff(value, digits=1):
    return "n/a" if value is None else "%+.*f" % (digits, value)


def thread_medians(data, name, role, hz):
    """Group -> median CPU µs per request over the rounds, for one side of a case; the total of
    the gateway's own threads (the broker not counted) under None. Empty without thread records.
    A group missing from a round that has thread records counts 0 in it."""
    groups = data["threads"].get((name, role))
    if not groups:
        return {}
    rounds = sorted({r for per_round in groups.values() for r in per_round})
    requests = {}
    for per_round in groups.values():
        for r, (_, n) in per_round.items():
            requests[r] = n
    us = {g: {r: (per_round[r][0] if r in per_round else 0) * 1e6 / hz / requests[r]
              for r in rounds if requests.get(r)} for g, per_round in groups.items()}
    out = {g: median(list(v.values())) for g, v in us.items()}
    out[None] = median([sum(us[g].get(r, 0) for g in us if g not in SEPARATE)
                        for r in rounds if requests.get(r)])
    return out


def thread_order(group):
    return {"workers": (0, ""), "portico": (1, ""), "portico-ship": (2, ""),
            KAFKA: (4, ""), REDIS: (4, ""), None: (5, "")}.get(group, (3, group))


THREAD_LABELS = {"workers": "workers (portico-w0, portico-w1, ...)",
                 "portico": "portico (the main thread)",
                 None: "**the gateway's threads, total**"}


def thread_section(data, name, roles, labels, hz):
    """CPU per request by thread group, for the sides that are Portico targets."""
    med = {role: thread_medians(data, name, role, hz) for role in roles}
    sides = [role for role in roles if med[role]]
    if not sides:
        return []
    others = [role for role in sides if role != "a"] if "a" in sides else []
    groups = sorted({g for role in sides for g in med[role]}, key=thread_order)
    out = ["CPU per request by thread, µs (median of the rounds):", "",
           "| thread | " + " | ".join(labels[role] for role in sides) +
           "".join(" | %s − %s" % (labels["a"], labels[o]) for o in others) + " |",
           "|---|" + "---:|" * (len(sides) + len(others))]
    for g in groups:
        cells = [fmt(med[role].get(g), "us2") if g in med[role] else "–" for role in sides]
        cells += [fmt_diff(diff(med["a"].get(g, 0), med[o].get(g, 0)), 2) for o in others]
        title = THREAD_LABELS.get(g, g)
        if g is None and any(x in groups for x in SEPARATE):
            title += " (the separate processes not counted)"
        out.append("| %s | %s |" % (title, " | ".join(cells)))
    out.append("")
    return out


def paired_diff(a, b):
    """Median over the rounds of A's CPU per request minus B's in the same round."""
    bs = {r: us for r, us, _ in b}
    return median([us - bs[r] for r, us, _ in a if us is not None and bs.get(r) is not None])


def equal_load_notes(name, roles, labels, med, paced):
    """Whether the paced runs were what they are for: the same load on every side (requests/s
    within 5 % of A's), well below each side's saturated requests/s (at most 90 %). Notes, not
    problems: the figures stand, but their latencies then hold a queue again."""
    out = []
    for o in roles[1:]:
        r = ratio(med["a"]["rpspaced"], med[o]["rpspaced"])
        if r is not None and abs(r - 1) > 0.05:
            out.append("- at equal load, %s did %.2f times the requests/s of %s: not the same "
                       "load; a longer wait (BENCH_PACE_MS) evens it out" % (labels["a"], r,
                                                                             labels[o]))
    for role in roles:
        r = ratio(med[role]["rpspaced"], med[role]["rps"])
        if paced[role] and r is not None and r > 0.9:
            out.append("- at equal load, %s did %.0f %% of its saturated requests/s: near "
                       "saturation, its latency is still mostly queueing; a longer wait "
                       "(BENCH_PACE_MS) lowers the load" % (labels[role], 100 * r))
    return out + [""] if out else []


def case_section(data, name, problems):
    roles = [role for role in "abc" if (name, role) in data["spec"]]
    spec = {role: data["spec"][(name, role)] for role in roles}
    labels = {"a": label(spec["a"], spec["b"])}
    for role in roles[1:]:
        labels[role] = label(spec[role], spec["a"])
    others = roles[1:]
    runs = {role: data["wrk"].get((name, role), []) for role in roles}
    if not any(runs.values()):
        return []
    hz = float(data["info"].get("clk_tck") or 100)
    med = {role: {k: median([r[k] for r in runs[role]]) for k in ("rps", "p50", "p99")}
           for role in roles}
    cpu = {role: sorted(data["cpu"].get((name, role), [])) for role in roles}
    for role in roles:
        med[role]["cpu"] = median([us for _, us, _ in cpu[role]])
    paced = {role: sorted(data["paced"].get((name, role), []), key=lambda r: r["round"])
             for role in roles}
    for role in roles:
        med[role].update({k + "paced": median([r[k] for r in paced[role]])
                          for k in ("rps", "p50", "p99")})
    errors = {role: sum(r["errors"] for r in runs[role]) for role in roles}
    paced_errors = {role: sum(r["errors"] for r in paced[role]) for role in roles}
    mib = {k: {role: None if data[k].get((name, role)) is None
               else data[k][(name, role)] / 1024 for role in roles} for k in ("hwm", "pss")}
    goals = parse_goals(data["goals"][name], data)
    n = max(len(v) for v in runs.values())
    rows = [
        ("requests/s (median of %d)" % n, "rps", "rps", "rps"),
        ("CPU per request, µs (median)", "us", "cpu", "cpu"),
        ("latency p50, ms (median)", "ms", "p50", "p50"),
        ("latency p99, ms (median)", "ms", "p99", "p99"),
    ]
    sides = " | ".join(labels[role] for role in roles)
    ratios = " | ".join("%s/%s" % (labels["a"], labels[o]) for o in others)
    out = ["## %s" % data["title"][name], "",
           "%s." % "; ".join("%s: %s (`%s`)" % (role.upper(), labels[role], spec[role])
                              for role in roles), ""]
    pace = data["pace"].get(name)
    if pace:
        out += ["Equal load: in every round, after its saturated run, each side also gets a "
                "paced run, `wrk -t1 -c%d -d%ds --latency -s pace.lua`: each connection waits "
                "**%d ms** (BENCH_PACE_MS) after a response before it sends its next request, "
                "so both sides are offered nearly the same load, below saturation, and their "
                "latencies compare at that load; p99 at saturation is mostly the queue of the "
                "closed loop (%d connections over the throughput). The paced runs are not "
                "in the saturated figures (requests/s, CPU, p50, p99)."
                % (pace[2], pace[1], pace[0], pace[2]),
                ""]
    out += ["| figure | %s | %s | goal |" % (sides, ratios),
           "|---|" + "---:|" * (len(roles) + len(others)) + "---|"]

    def row(title, cells, key, values):
        out.append("| %s | %s | %s |" % (title, " | ".join(cells), goals_text(
            goals, key, [(labels[o], v) for o, v in zip(others, values)])))

    for title, kind, fig, key in rows:
        values = [ratio(med["a"][fig], med[o][fig]) for o in others]
        row(title, [fmt(med[role][fig], kind) for role in roles] +
            ["n/a" if r is None else "%.2f" % r for r in values], key, values)
    names = " and ".join("A − %s" % o.upper() for o in others)
    values = [diff(med["a"]["cpu"], med[o]["cpu"]) for o in others]
    row("CPU per request, %s, µs (difference of the medians)" % names,
        [""] * len(roles) + [fmt_diff(v) for v in values], "", values)
    # the rounds alternate who goes first, so that the machine's drift hits both sides alike: the
    # two sides of one round are the pair to compare, and the goal is on their median difference
    values = [paired_diff(cpu["a"], cpu[o]) for o in others]
    row("CPU per request, %s, µs (median of the rounds' differences)" % names,
        [""] * len(roles) + [fmt_diff(v) for v in values], "cpudiff", values)
    if pace:
        npaced = max(len(v) for v in paced.values())
        for title, kind, fig in (
                ("requests/s at equal load (each connection waits %d ms between requests), "
                 "median of %d" % (pace[0], npaced), "rps", "rpspaced"),
                ("latency p50 at equal load, ms (median)", "ms", "p50paced"),
                ("latency p99 at equal load, ms (median)", "ms", "p99paced")):
            values = [ratio(med["a"][fig], med[o][fig]) for o in others]
            row(title, [fmt(med[role][fig], kind) for role in roles] +
                ["n/a" if r is None else "%.2f" % r for r in values], fig, values)
    for title, k, key in (("peak RSS, MiB (VmHWM)", "hwm", "rss"),
                          ("PSS after the case, MiB", "pss", "pss")):
        values = [ratio(mib[k]["a"], mib[k][o]) for o in others]
        row(title, [fmt(mib[k][role], "mib") for role in roles] +
            ["n/a" if r is None else "%.2f" % r for r in values], key, values)
    out.append("| errors (socket + non-2xx, all rounds%s) | %s | must be 0 |" % (
        ", paced ones included" if pace else "",
        " | ".join(["%d" % (errors[role] + paced_errors[role]) for role in roles] +
                   [""] * len(others))))
    out.append("")
    if pace:
        out += equal_load_notes(name, roles, labels, med, paced)
    for role in roles:
        lab = labels[role]
        if runs[role]:
            out.append("- %s, requests/s by round: %s" % (lab, ", ".join(
                fmt(r["rps"], "rps") for r in runs[role])))
        if cpu[role]:
            out.append("- %s, CPU µs/request by round: %s" % (lab, ", ".join(
                fmt(us, "us") for _, us, _ in cpu[role])))
        if paced[role]:
            out.append("- %s, at equal load, requests/s by round: %s" % (lab, ", ".join(
                fmt(r["rps"], "rps") for r in paced[role])))
            out.append("- %s, at equal load, latency p99 by round, ms: %s" % (lab, ", ".join(
                fmt(r["p99"], "ms") for r in paced[role])))
        if any(us is None or ticks <= 0 for _, us, ticks in cpu[role]):
            problems.append("%s, %s: CPU time not measured in every round"
                            % (data["title"][name], lab))
        if errors[role]:
            problems.append("%s, %s: %d errors" % (data["title"][name], lab, errors[role]))
        if paced_errors[role]:
            problems.append("%s, %s: %d errors in the paced runs"
                            % (data["title"][name], lab, paced_errors[role]))
        if data["hwm_reset"].get((name, role)) == "no":
            out.append("- %s: peak RSS could not be reset; it covers the run so far" % lab)
        if (name, role) in data["access_log"]:
            lines, requests = data["access_log"][(name, role)]
            out.append("- %s: %d lines written to its access log during the case, for %d "
                       "requests wrk completed (warm-up included)" % (lab, lines, requests))
            if lines < requests:
                problems.append("%s, %s: %d access log lines for %d requests"
                                % (data["title"][name], lab, lines, requests))
    out.append("")
    out += thread_section(data, name, roles, labels, hz)
    return out


def idle_section(data):
    listeners = sorted({ep for ep, _ in data["idle"]}, key=lambda e: (e != "plain", e))
    if not listeners:
        return []
    a = "portico"
    others = [t for t in ("nginx", "haproxy") if any(t == x for _, x in data["idle"])]
    n = next(iter(data["idle"].values()))[2]
    out = ["## Idle keep-alive connections (%d each, one request then idle)" % n, "",
           "| figure | %s | %s | %s |" % (NAMES[a], " | ".join(NAMES[o] for o in others),
                                         " | ".join("%s/%s" % (NAMES[a], NAMES[o])
                                                    for o in others)),
           "|---|" + "---:|" * (1 + 2 * len(others))]
    for ep in listeners:
        what = "plain HTTP" if ep == "plain" else "TLS with client certificate" \
            if ep == "tls" else ep
        rows = [
            ("%s: RSS before, MiB" % what, "mib", lambda v: v[0] / 1024),
            ("%s: RSS with the connections, MiB" % what, "mib", lambda v: v[1] / 1024),
            ("%s: **KiB per idle connection**" % what, "kib", lambda v: (v[1] - v[0]) / v[2]),
        ]
        for title, kind, f in rows:
            x = {t: None if data["idle"].get((ep, t)) is None else f(data["idle"][(ep, t)])
                 for t in [a] + others}
            out.append("| %s | %s | %s |" % (
                title, " | ".join(fmt(x[t], kind) for t in [a] + others),
                " | ".join("n/a" if ratio(x[a], x[o]) is None else "%.2f" % ratio(x[a], x[o])
                           for o in others)))
    out.append("")
    seen = sorted(set(data["tls"].values()))
    if seen:
        out.append("- TLS negotiated: %s" % "; ".join(
            "%s: %s" % (NAMES.get(t, t), v) for (_, t), v in sorted(data["tls"].items())))
        out.append("")
    return out


TF_MEASURES = [("bare_parse", "libxml2 parse (the floor)"),
               ("tf_xml_parse", "threat-protected parse"),
               ("xml_to_json", "xml_to_json"),
               ("json_to_xml", "json_to_xml (of that JSON)"),
               ("jansson", "jansson load + dump (of that JSON)"),
               ("chain", "the chain case's chain (xml_to_json + json_map)")]


def transform_section(data):
    """MB/s per core of the conversions beside the parsers under them, medians of the rounds."""
    files = sorted({f for f, _ in data["tf"]})
    if not files:
        return []
    rounds = max(len(v) for v in data["tf"].values())
    out = ["## XML and JSON conversion, one core (median of %d rounds)" % rounds, "",
           "| document | " + " | ".join("%s, MB/s" % t for _, t in TF_MEASURES) +
           " | xml_to_json / libxml2 parse, CPU time | goal | chain / libxml2 parse |",
           "|---|" + "---:|" * len(TF_MEASURES) + "---:|---|---:|"]
    for f in files:
        cells = [fmt(median([r[1] for r in data["tf"].get((f, m), [])]), "mib")
                 for m, _ in TF_MEASURES]
        r = median([v[0] for v in data["tf"].get((f, "ratio_xml_to_json_bare_parse"), [])])
        c = median([v[0] for v in data["tf"].get((f, "ratio_chain_bare_parse"), [])])
        out.append("| %s | %s | %s | %s | %s |" % (f, " | ".join(cells),
                                                  "n/a" if r is None else "%.2f" % r,
                                                  goal_text("time<=2.5", "time", r),
                                                  "n/a" if c is None else "%.2f" % c))
    out.append("")
    return out


def audit_section(data, problems):
    """Did every event of the audited runs reach Kafka? (counted with kcat after the stop)"""
    if "audit" not in data:
        return []
    counts, in_kafka = data["audit"]
    if len(counts) != 3:
        problems.append("audit: the audited gateway did not report its counts at stop")
        return []
    written, shipped, dropped = map(int, counts)
    out = ["## Audit events of the audited runs", "",
           "- written to the write-ahead log: %d; shipped and acknowledged by Kafka: %d; "
           "dropped: %d" % (written, shipped, dropped),
           "- still in the topic, read back with kcat: %d (`portico kafka-dev` keeps about the "
           "last 5 MiB of each partition, as librdkafka's mock cluster does)" % in_kafka, ""]
    if dropped or shipped < written:
        problems.append("audit: %d events dropped, %d of %d acknowledged by Kafka"
                        % (dropped, shipped, written))
    return out


def machine():
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return "%d CPUs (nproc), %s, Linux %s" % (len(os.sched_getaffinity(0)), cpu,
                                             platform.release())


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: report.py RAW.tsv RESULTS.md\n")
        return 2
    data = read_raw(argv[1])
    info = data["info"]
    problems = []
    out = ["# Portico vs nginx and HAProxy: `make bench`", "",
           "- date: %s" % info.get("started", "?"),
           "- machine: %s" % machine(),
           "- load average before / after: %s / %s" % (info.get("load_before", "?"),
                                                       info.get("load_after", "?")),
           "- load: %s; proxies loaded one after the other, who goes first rotating by round"
           % info.get("settings", "?"),
           "- versions: Portico %s; nginx %s; HAProxy %s; %s; %s" % (
               info.get("portico", "not run"), info.get("nginx", "?"),
               info.get("haproxy", "not run"), info.get("wrk", "?"), info.get("openssl", "?"))]
    if "portico_prev" in info:
        out.append("- previous Portico (BENCH_PREV): %s" % info["portico_prev"])
    out += ["- CPU per request: utime + stime of the proxy's processes (all threads; nginx's "
            "master and workers; HAProxy's one process) over a measured round, divided by the "
            "requests wrk completed in it (clock ticks of 1/%s s); wrk's and the upstream's CPU "
            "are not counted; for Portico also by thread, read from /proc/PID/task"
            % info.get("clk_tck", "?"),
            "- ratios are the first side, A, over the others (e.g. Portico/nginx): above 1 is "
            "better for requests/s, below 1 for the rest; differences A − B are in µs per "
            "request, below 0 is better",
            ""]
    for name in data["cases"]:
        out += case_section(data, name, problems)
    out += transform_section(data)
    out += audit_section(data, problems)
    out += idle_section(data)
    if problems:
        out += ["## Problems", ""] + ["- %s" % p for p in problems] + [""]
    text = "\n".join(out) + "\n"
    with open(argv[2], "w", encoding="utf-8") as f:
        f.write(text)
    sys.stdout.write(text)
    sys.stdout.write("written to %s\n" % argv[2])
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
