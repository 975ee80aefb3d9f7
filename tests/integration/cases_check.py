"""`portico check -c FILE` and a refused `portico serve` on a bad config."""

import json
import os
import re
import socket
import subprocess

import scenario
from client import check
from harness import case

LOC = re.compile(r"(?P<file>[^\s:]+):(?P<line>\d+):(?P<col>\d+): (?P<path>[^\s:]+): (?P<msg>.*)$")


def key_line(path, needle):
    """1-based line of the first line of file `path` that contains needle."""
    with open(path) as f:
        for i, line in enumerate(f, 1):
            if needle in line:
                return i
    raise AssertionError("%r not in %s" % (needle, path))


def located(output):
    """Every `FILE:LINE:COL: json.path: message` in the output (a level prefix such as
    "error: " may come first)."""
    out = []
    for line in output.splitlines():
        m = LOC.search(line)
        if m:
            out.append(m)
    return out


def bad_setup(ctx):
    """The standard setup, not started, with a typo'd limit key in portico.json and a bad upstream
    URL in acme's bundle."""
    s = scenario.build(ctx, start=False)
    gw = s.gw
    cfg = json.load(open(gw.config_path))
    cfg["limits"]["max_header_byte"] = 100
    with open(gw.config_path, "w") as f:
        json.dump(cfg, f, indent=2)
    pfile = gw.partner_file("acme")
    p = json.load(open(pfile))
    p["routes"][0]["upstream"] = "htp://x"
    with open(pfile, "w") as f:
        json.dump(p, f, indent=2)
    return s, pfile


@case
def check_good_config(ctx):
    s = scenario.build(ctx, tls="require", start=False)
    p = ctx.run([ctx.env.portico, "check", "-c", s.gw.config_path])
    out = (p.stdout + p.stderr).decode(errors="replace")
    check(p.returncode == 0, "check exited %d on a good config: %s" % (p.returncode, out[-400:]))
    check(not re.search(r"^error", out, re.M), "check printed errors on a good config: %s"
          % out[-400:])


@case
def check_bad_config_lists_every_problem(ctx):
    s, pfile = bad_setup(ctx)
    p = ctx.run([ctx.env.portico, "check", "-c", s.gw.config_path])
    out = (p.stdout + p.stderr).decode(errors="replace")
    check(p.returncode == 1, "check exited %d on a bad config (expected 1): %s"
          % (p.returncode, out[-400:]))
    locs = located(out)
    check(locs, "no FILE:LINE:COL: path: message line in: %s" % out[-400:])
    # the unknown key, at the key itself (or at its object, naming the key)
    unknown = [m for m in locs if m["file"].endswith("portico.json")
               and m["path"] in ("limits.max_header_byte", "limits")
               and (m["path"] != "limits" or "max_header_byte" in m["msg"])]
    check(unknown, "the unknown key limits.max_header_byte is not reported: %s" % out[-600:])
    m = unknown[0]
    want = key_line(s.gw.config_path, '"max_header_byte"' if m["path"] != "limits"
                    else '"limits"')
    check(int(m["line"]) == want and int(m["col"]) >= 1, "unknown key reported at %s:%s, "
          "it is on line %d" % (m["line"], m["col"], want))
    bad_url = [m for m in locs if m["file"].endswith("acme/partner.json")
               and m["path"] == "routes[0].upstream"]
    check(bad_url, "the bad upstream URL of acme's routes[0] is not reported: %s" % out[-600:])
    want = key_line(pfile, '"htp://x"')
    check(int(bad_url[0]["line"]) == want, "bad URL reported on line %s, it is on line %d"
          % (bad_url[0]["line"], want))


@case
def check_serve_refuses_bad_config(ctx):
    s, _ = bad_setup(ctx)
    port = s.gw.ports["plain"]
    proc = subprocess.Popen([ctx.env.portico, "serve", "-c", s.gw.config_path],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        listening = True
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            listening = False
        proc.kill()
        proc.communicate()
        raise AssertionError("serve still running 10s after starting on a bad config%s"
                             % (" (and listening)" if listening else ""))
    check(proc.returncode not in (0, None) and proc.returncode > 0,
          "serve on a bad config exited with %d" % proc.returncode)
    text = (out + err).decode(errors="replace")
    check("htp://x" in text or "routes[0].upstream" in text,
          "serve did not say why it refused: %s" % text[-400:])



@case
def check_json_syntax_error(ctx):
    s = scenario.build(ctx, start=False)
    text = open(s.gw.config_path).read()
    lines = text.splitlines()
    # a trailing comma after the last member of "limits"
    i = next(n for n, l in enumerate(lines) if '"max_body_bytes"' in l)
    lines[i] = lines[i].rstrip() + ","
    open(s.gw.config_path, "w").write("\n".join(lines) + "\n")
    p = ctx.run([ctx.env.portico, "check", "-c", s.gw.config_path])
    out = (p.stdout + p.stderr).decode(errors="replace")
    check(p.returncode == 1, "check exited %d on broken JSON: %s" % (p.returncode, out[-300:]))
    m = re.search(r"(\S*portico\.json):(\d+):(\d+): ", out)
    check(m, "no FILE:LINE:COL for the syntax error in: %s" % out[-300:])
    check(int(m.group(2)) in (i + 1, i + 2), "syntax error reported on line %s, the stray "
          "comma is on line %d" % (m.group(2), i + 1))


@case
def check_missing_pem_file(ctx):
    s = scenario.build(ctx, start=False)
    pfile = s.gw.partner_file("globex")
    p = json.load(open(pfile))
    p["identity"]["ca"] = "missing-ca.pem"
    with open(pfile, "w") as f:
        json.dump(p, f, indent=2)
    r = ctx.run([ctx.env.portico, "check", "-c", s.gw.config_path])
    out = (r.stdout + r.stderr).decode(errors="replace")
    check(r.returncode == 1, "check exited %d with a missing CA file" % r.returncode)
    hits = [m for m in located(out) if m["file"].endswith("globex/partner.json")
            and m["path"] == "identity.ca"]
    check(hits, "missing identity.ca of globex not reported: %s" % out[-400:])
    check(int(hits[0]["line"]) == key_line(pfile, '"missing-ca.pem"'),
          "missing CA reported on line %s" % hits[0]["line"])


@case
def check_audit_ring_size(ctx):
    """The audit's memory ring: a size that is not whole pages, or too small for two of the
    largest records, is refused where it is written."""
    for bad, words in ((5000000, "multiple of 4096"), (1048576, "4194304")):
        s = scenario.build(ctx, start=False)
        cfg = json.load(open(s.gw.config_path))
        cfg["audit"] = {"brokers": "127.0.0.1:9", "ring_bytes": bad}
        with open(s.gw.config_path, "w") as f:
            json.dump(cfg, f, indent=2)
        r = ctx.run([ctx.env.portico, "check", "-c", s.gw.config_path])
        out = (r.stdout + r.stderr).decode(errors="replace")
        check(r.returncode == 1, "check exited %d with ring_bytes %d" % (r.returncode, bad))
        hits = [m for m in located(out) if m["path"] == "audit.ring_bytes"]
        check(hits and words in hits[0]["msg"], "ring_bytes %d not refused at audit.ring_bytes "
              "(%r): %s" % (bad, words, out[-400:]))
        check(int(hits[0]["line"]) == key_line(s.gw.config_path, '"ring_bytes"'),
              "ring_bytes reported on line %s" % hits[0]["line"])


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS = ["README.md", "partners/README.md", "transforms/README.md"]
# A problem as check prints it: its level, then where and what.
LINE = re.compile(r"^(?P<level>error|warning): " + LOC.pattern)
# The summary of a refused configuration (gateway/main.c).
SUMMARY = re.compile(r"^portico: \S+: \d+ errors?, \d+ warnings?$")
# A problem as the docs show one, in a code block or inline code.
DOC_LINE = re.compile(r"^\s*`?((?:[a-z]+: )?[\w./-]+\.(?:json|xsl|xsd|pem):\d+:\d+: .*?)`?\.?$")


def shape(line):
    """A problem's line without what differs from one setup to another: the folder up to and
    including the partner's, the line and column, quoted values."""
    line = re.sub(r"\S*partners\.d/[^/\s]+/", "partners.d/P/", line.strip())
    line = re.sub(r":\d+:\d+: ", ":L:C: ", line)
    return re.sub(r'"[^"]*"', '"S"', line)


def doc_lines():
    """(doc, line) for every problem line the docs show as check's output."""
    out = []
    for doc in DOCS:
        with open(os.path.join(ROOT, doc)) as f:
            for line in f:
                m = DOC_LINE.match(line)
                if m:
                    out.append((doc, m.group(1)))
    return out


@case
def check_line_format_matches_docs(ctx):
    """Every problem check prints is `error: FILE:LINE:COL: json.path: message` (or `warning: `),
    as README.md and partners/README.md say; every such line the docs show has that form, and the
    ones for the mistakes made here read as what check prints for them."""
    s = scenario.build(ctx, start=False)
    pfile = s.gw.partner_file("acme")
    p = json.load(open(pfile))
    p["routes"][0]["upstream"] = "htp://x"
    p["routes"][0]["request"] = [{"headers": {"set": {"X-A": "1"}}},
                                 {"headers": {"set": {"X-Partner-Id": "x"},
                                              "add": {"X-Ok": "${nope}"}}}]
    with open(pfile, "w") as f:
        json.dump(p, f, indent=2)
    gfile = s.gw.partner_file("globex")
    g = json.load(open(gfile))
    g["id"] = "globex-corp"
    with open(gfile, "w") as f:
        json.dump(g, f, indent=2)
    r = ctx.run([ctx.env.portico, "check", "-c", s.gw.config_path])
    out = (r.stdout + r.stderr).decode(errors="replace")
    check(r.returncode == 1, "check exited %d: %s" % (r.returncode, out[-600:]))
    lines = [l for l in out.splitlines() if l]
    odd = [l for l in lines if not LINE.match(l) and not SUMMARY.match(l)]
    check(not odd, "lines that are not `error|warning: FILE:LINE:COL: path: message`: %r" % odd)
    with open(pfile) as f:
        text = f.read().splitlines()
    n = key_line(pfile, '"htp://x"')  # located at its member's key
    want = ('error: %s:%d:%d: routes[0].upstream: "htp://x" is not a URL (http, https, kafka, '
            'mock or deliveries:)' % (pfile, n, text[n - 1].index('"upstream"') + 1))
    check(want in lines, "no line %r in:\n%s" % (want, out[-1200:]))
    docs = doc_lines()
    check(len(docs) >= 8, "found %d problem lines in %s" % (len(docs), DOCS))
    unlabelled = ["%s: %s" % d for d in docs if not re.match(r"(error|warning): ", d[1])]
    check(not unlabelled, "doc lines without their level: %r" % unlabelled)
    printed = {shape(l) for l in lines}
    made_here = ['"htp://x" is not a URL', "does not match its folder name",
                 "X-Partner-Id is a partner identity field", "unknown variable ${nope}"]
    for what in made_here:
        shown = [d for d in docs if what in d[1]]
        check(shown, "no doc shows the problem %r" % what)
        for doc, line in shown:
            check(shape(line) in printed, "%s shows\n  %s\nbut check prints\n  %s"
                  % (doc, line, "\n  ".join(l for l in lines if what.split()[-1] in l)))
