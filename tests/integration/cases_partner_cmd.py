"""Onboarding commands: `portico partner new` scaffolds a bundle that `portico check` accepts and
that lets the partner's certificate through once the gateway reloads; a certificate of a
partner's CA that fits no partner is logged and audited with the constraint that failed while the
client gets only the terse refusal; `partner csr` makes a 0600 key and a CSR openssl verifies;
`partner expiry` lists certificates soonest first and fails on one that ends within N days.

The partner's PKI is made here, per test, with the openssl CLI (never committed). Its client
certificate's subject is written the way `openssl req -subj /CN=initech-client/O=Initech` takes
it, so that RFC 2253 (which the gateway compares) prints it the other way round."""

import hashlib
import json
import os
import socket
import ssl
import stat
import subprocess
import time

import cases_audit
import client
import scenario
from client import check, check_problem, poll
from harness import case
from scenario import hvals

SUBJECT_ARG = "/CN=initech-client/O=Initech"
RFC2253 = "O=Initech,CN=initech-client"      # what the gateway compares
HAND_WRITTEN = "CN=initech-client,O=Initech"  # what a user copies from the -subj above


def openssl(ctx, *args):
    p = ctx.run(["openssl"] + list(args))
    check(p.returncode == 0, "openssl %s: %s" % (args[0], p.stderr.decode()[-300:]))
    return p.stdout.decode()


def make_ca(ctx, d, name, subject, days=3650):
    os.makedirs(d, exist_ok=True)
    pem, key = os.path.join(d, name + ".pem"), os.path.join(d, name + ".key")
    openssl(ctx, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", key, "-out", pem, "-subj", subject, "-days", str(days),
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return pem


def issue(ctx, d, name, ca, subject, san=None, days=825):
    """A client certificate signed by the CA d/ca.pem (its key beside it); returns (pem, key)."""
    pem, key, csr = (os.path.join(d, name + ext) for ext in (".pem", ".key", ".csr"))
    ext = os.path.join(d, name + ".ext")
    openssl(ctx, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", csr, "-subj", subject)
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=clientAuth\n" + ("subjectAltName=%s\n" % san if san else ""))
    openssl(ctx, "x509", "-req", "-in", csr, "-CA", os.path.join(d, ca + ".pem"),
            "-CAkey", os.path.join(d, ca + ".key"), "-set_serial", str(int(time.time() * 1e6)),
            "-days", str(days), "-extfile", ext, "-out", pem)
    return pem, key


def initech_pki(ctx):
    d = os.path.join(ctx.dir, "pki")
    make_ca(ctx, d, "initech-ca", "/O=Initech/CN=Initech Partner CA")
    make_ca(ctx, d, "other-ca", "/O=Other/CN=Other CA")
    issue(ctx, d, "initech-client", "initech-ca", SUBJECT_ARG, san="DNS:client.initech.example")
    return d


def portico(ctx, *args):
    return ctx.run([ctx.env.portico] + list(args))


def out(p):
    return (p.stdout + p.stderr).decode(errors="replace")


def initech_ctx(s, d):
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.load_verify_locations(s.certs.pem("server-ca"))
    c.load_cert_chain(os.path.join(d, "initech-client.pem"), os.path.join(d, "initech-client.key"))
    return c


def sha256_hex(pem):
    with open(pem) as f:
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()



# -- partner new ----------------------------------------------------------------------------------

@case(timeout=90)
def partner_cmd_new_bundle_checks_and_serves(ctx):
    """A bundle scaffolded from the CA and a sample certificate: the subject in RFC 2253 order,
    the SAN and the fingerprint of the sample, 0644 files; `portico check` takes it, and after a
    SIGHUP the sample's holder reaches the route over mTLS."""
    d = initech_pki(ctx)
    s = scenario.build(ctx, tls="require")
    up = "http://127.0.0.1:%d" % s.up.port
    cfg = s.gw.config_path
    p = portico(ctx, "partner", "new", "initech", "--ca", os.path.join(d, "initech-ca.pem"),
                "--client-cert", os.path.join(d, "initech-client.pem"), "--name", "Initech",
                "--route", "orders=GET+POST,/initech/orders/*," + up, "-c", cfg)
    check(p.returncode == 0, "partner new: %s" % out(p))
    check(RFC2253 in p.stdout.decode(), "partner new does not show the subject it took: %s"
          % out(p))
    bundle = os.path.join(s.gw.partners_dir, "initech")
    with open(os.path.join(bundle, "partner.json")) as f:
        doc = json.load(f)
    want = {"ca": "ca.pem", "subject": RFC2253, "san": ["client.initech.example"],
            "fingerprints": [sha256_hex(os.path.join(d, "initech-client.pem"))]}
    check(doc["identity"] == want, "identity %r, expected %r" % (doc["identity"], want))
    check(doc["id"] == "initech" and doc["name"] == "Initech", "id/name %r" % doc)
    check(doc["routes"] == [{"name": "orders", "methods": ["GET", "POST"],
                             "path": "/initech/orders/*", "upstream": up}],
          "routes %r" % doc["routes"])
    for name in ("partner.json", "ca.pem"):
        mode = stat.S_IMODE(os.stat(os.path.join(bundle, name)).st_mode)
        check(mode == 0o644, "%s has mode %o, expected 644" % (name, mode))
    check(sorted(os.listdir(s.gw.partners_dir)) == ["acme", "globex", "initech"],
          "partners folder holds %s" % os.listdir(s.gw.partners_dir))
    p = portico(ctx, "check", "-c", cfg)
    check(p.returncode == 0, "portico check refuses the new bundle: %s" % out(p))

    # the running gateway takes it on SIGHUP; the sample's holder is served
    s.gw.reload()

    def served():
        try:
            r = client.request(s.tls, "POST", "/initech/orders/1", body=b"{}",
                               ctx=initech_ctx(s, d))
        except (OSError, client.Closed):
            return None
        return r if r.status == 200 else None

    r = poll(served)
    check(r is not None, "initech's route not served 5s after SIGHUP: %s" % s.gw.stderr_tail())
    doc = s.echo(r)
    check(hvals(doc, "x-partner-id") == ["initech"] and
          hvals(doc, "x-partner-subject") == [RFC2253],
          "at the upstream: X-Partner-Id %r, X-Partner-Subject %r"
          % (hvals(doc, "x-partner-id"), hvals(doc, "x-partner-subject")))

    # never over an existing bundle
    before = open(os.path.join(bundle, "partner.json")).read()
    p = portico(ctx, "partner", "new", "initech", "--ca", os.path.join(d, "other-ca.pem"),
                "-c", cfg)
    check(p.returncode == 1 and "already exists" in out(p),
          "partner new over an existing bundle: exit %d: %s" % (p.returncode, out(p)))
    check(open(os.path.join(bundle, "partner.json")).read() == before, "the bundle changed")


@case
def partner_cmd_new_refuses_bad_input(ctx):
    """A sample the CA did not issue, a file that is no PEM, a CA that is no CA, an id that is
    not one: one line saying so, nothing written; without a sample, the CA alone, said plainly."""
    d = initech_pki(ctx)
    pdir = os.path.join(ctx.dir, "partners.d")
    os.makedirs(pdir)
    ca, other = os.path.join(d, "initech-ca.pem"), os.path.join(d, "other-ca.pem")
    sample = os.path.join(d, "initech-client.pem")
    cases = [
        (["x", "--ca", other, "--client-cert", sample], 1, "was not issued by the CA"),
        (["x", "--ca", os.path.join(d, "initech-client.key")], 1, "no certificate"),
        (["x", "--ca", sample], 1, "is not a CA"),
        (["x", "--ca", os.path.join(d, "missing.pem")], 1, "No such file"),
        (["Not_An_Id", "--ca", ca], 2, "is not a partner id"),
        (["x", "--ca", ca, "--route", "a=FETCH,/x,mock:"], 2, "is not a method"),
        (["x"], 2, "--ca FILE is required"),
    ]
    for args, rc, words in cases:
        p = portico(ctx, "partner", "new", *(args + ["-d", pdir]))
        err = p.stderr.decode()
        check(p.returncode == rc and words in err and len(err.strip().splitlines()) == 1,
              "partner new %s: exit %d, expected %d with %r on one line: %r"
              % (" ".join(args), p.returncode, rc, words, err))
        check(os.listdir(pdir) == [], "partner new %s left %s" % (args, os.listdir(pdir)))
    p = portico(ctx, "partner", "new", "bare", "--ca", ca, "-d", pdir)
    check(p.returncode == 0 and "EVERY" in p.stdout.decode() and "RFC 2253" in p.stdout.decode(),
          "partner new without a sample should say the CA alone identifies: %s" % out(p))
    with open(os.path.join(pdir, "bare", "partner.json")) as f:
        check(json.load(f)["identity"] == {"ca": "ca.pem"}, "identity without a sample")


# -- which constraint failed ------------------------------------------------------------------------

def expect_alert(port, ctx):
    """The handshake must end in a TLS alert (TLS 1.3: on the first read)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        tls = ctx.wrap_socket(raw, server_hostname="localhost")
        data = tls.recv(1)
        raise client.TestFailure("handshake accepted or closed without an alert (%r)" % data)
    except ssl.SSLError as e:
        check("alert" in str(e).lower(), "refused without an alert: %s" % e)
        return str(e)
    finally:
        raw.close()


@case(timeout=90)
def partner_cmd_identity_mismatch_named(ctx):
    """The subject written by hand in -subj order: the log line and the audit events (handshake
    on a require listener, 401 exchange on an optional one) name the subject constraint with both
    values; the client gets only the alert or "matches no partner"; the chain still verifies."""
    d = initech_pki(ctx)
    s = scenario.build(ctx, tls="require", start=False,
                       listeners=[{"address": "127.0.0.1:{opt}", "tls": {
                           "certificates": [{"cert": "server.pem", "key": "server.key"}],
                           "client_auth": "optional"}}],
                       config_extra=cases_audit.audit_config("embedded"))
    s.gw.write_partner("initech", {
        "json": {"id": "initech", "name": "Initech",
                 "identity": {"ca": "ca.pem", "subject": HAND_WRITTEN},
                 "routes": [scenario.route("api", "/initech/*", "mock:200")]},
        "files": {"ca.pem": os.path.join(d, "initech-ca.pem")}})
    s.gw.start()
    addr = cases_audit.embedded_addr(s.gw)
    alert = expect_alert(s.tls, initech_ctx(s, d))
    check("initech" not in alert and "subject" not in alert, "the alert says too much: %s" % alert)
    r = client.request(s.gw.ports["opt"], "GET", "/initech/x", ctx=initech_ctx(s, d))
    doc = check_problem(r, 401, "partner-unidentified")
    check(doc["detail"] == "client certificate matches no partner",
          "the 401 says more than it should: %r" % doc["detail"])
    said = 'partner initech: subject "%s" is not "%s"' % (RFC2253, HAND_WRITTEN)

    def logged():
        return [l for l in s.gw.stderr_text().splitlines() if said in l]

    lines = poll(logged)
    check(len(lines) == 2 and "opposite order" in lines[0],
          "log lines naming the subject: %s (stderr: %s)" % (lines, s.gw.stderr_tail(4)))
    check("TLS handshake refused: client certificate matches no partner" in lines[0] and
          "[info]" in lines[0], "handshake log line: %s" % lines[0])
    events = [m["event"] for m in cases_audit.wait_events(addr, 2)]
    cases_audit.valid(events)
    cases_audit.chain_ok(events)
    got = sorted((e["kind"], e["reason"], e.get("detail", "")[:len(said)]) for e in events)
    check(got == [("exchange", "partner-unidentified", said),
                  ("handshake", "certificate-no-partner", said)],
          "audit events (kind, reason, detail): %s" % got)
    check(all(e["cert"]["subject"] == RFC2253 for e in events), "cert.subject in the events")
    v = portico(ctx, "audit", "verify", "-b", addr, "-t", cases_audit.TOPIC)
    check(v.returncode == 0, "audit verify with the detail member: %s" % out(v))
    # acme is still served
    doc = s.echo(s.tls_get("acme-client", "/acme/api/x"))
    check(hvals(doc, "x-partner-id") == ["acme"], "acme not served")


# -- partner csr ----------------------------------------------------------------------------------

@case
def partner_cmd_csr_key_and_request(ctx):
    """A 0600 key (never overwritten) and a CSR openssl verifies, with the subject asked for; the
    partner's CA signs it and the outbound block printed makes a bundle `portico check` takes."""
    d = initech_pki(ctx)
    pdir = os.path.join(ctx.dir, "partners.d")
    p = portico(ctx, "partner", "new", "initech", "--ca", os.path.join(d, "initech-ca.pem"),
                "-d", pdir)
    check(p.returncode == 0, "partner new: %s" % out(p))
    bundle = os.path.join(pdir, "initech")
    p = portico(ctx, "partner", "csr", "initech", "--cn", "portico-out.example", "-d", pdir)
    check(p.returncode == 0, "partner csr: %s" % out(p))
    key, csr = os.path.join(bundle, "out.key"), os.path.join(bundle, "out.csr")
    mode = stat.S_IMODE(os.stat(key).st_mode)
    check(mode == 0o600, "key mode %o, expected 600" % mode)
    v = ctx.run(["openssl", "req", "-in", csr, "-noout", "-verify", "-subject",
                 "-nameopt", "RFC2253"])
    check(v.returncode == 0 and "subject=CN=portico-out.example" in v.stdout.decode(),
          "openssl req -verify: %s" % out(v))
    check(openssl(ctx, "req", "-in", csr, "-noout", "-pubkey") ==
          openssl(ctx, "pkey", "-in", key, "-pubout"), "the CSR is not for the key")
    block = '"outbound": { "cert": "out.pem", "key": "out.key" }'
    check(block in p.stdout.decode(), "partner csr does not show the outbound block: %s" % out(p))
    before = open(key).read()
    p = portico(ctx, "partner", "csr", "initech", "-d", pdir)
    check(p.returncode == 1 and "never overwritten" in out(p) and open(key).read() == before,
          "a second csr: exit %d: %s" % (p.returncode, out(p)))
    # the partner signs it; with the block added the bundle checks
    openssl(ctx, "x509", "-req", "-in", csr, "-CA", os.path.join(d, "initech-ca.pem"),
            "-CAkey", os.path.join(d, "initech-ca.key"), "-set_serial", "77", "-days", "90",
            "-copy_extensions", "copy", "-out", os.path.join(bundle, "out.pem"))
    pj = os.path.join(bundle, "partner.json")
    with open(pj) as f:
        doc = json.load(f)
    doc.update(json.loads("{" + block + "}"))
    with open(pj, "w") as f:
        json.dump(doc, f)
    cfg = os.path.join(ctx.dir, "portico.json")
    with open(cfg, "w") as f:
        json.dump({"listeners": [{"address": "127.0.0.1:1"}], "partners_dir": "partners.d"}, f)
    p = portico(ctx, "check", "-c", cfg)
    check(p.returncode == 0, "check with the signed outbound certificate: %s" % out(p))
    # rsa, and a bundle that is not there
    os.unlink(key)
    p = portico(ctx, "partner", "csr", "initech", "--key-type", "rsa", "-c", cfg)
    check(p.returncode == 0 and "modulus" in openssl(ctx, "pkey", "-in", key, "-noout", "-text"),
          "rsa key: %s" % out(p))
    p = portico(ctx, "partner", "csr", "nobody", "-d", pdir)
    check(p.returncode == 1 and "no bundle" in out(p), "csr for no bundle: %s" % out(p))


# -- partner expiry -------------------------------------------------------------------------------

@case
def partner_cmd_expiry_order_and_exit(ctx):
    """The listener's server certificate and each partner's CA, soonest first; exit 1 while one
    ends within --days (default 30), 0 when none does; --json says the same."""
    d = os.path.join(ctx.dir, "pki")
    pdir = os.path.join(ctx.dir, "partners.d")
    for pid, days in (("later", 400), ("soon", 5)):
        make_ca(ctx, d, pid, "/O=%s/CN=%s CA" % (pid, pid), days)
        p = portico(ctx, "partner", "new", pid, "--ca", os.path.join(d, pid + ".pem"), "-d", pdir)
        check(p.returncode == 0, "partner new %s: %s" % (pid, out(p)))
    cfg = os.path.join(ctx.dir, "portico.json")
    with open(cfg, "w") as f:
        json.dump({"listeners": [{"address": "127.0.0.1:1", "tls": {"certificates": [
            {"cert": ctx.certs.pem("server"), "key": ctx.certs.key("server")}]}}]}, f)
    p = portico(ctx, "partner", "expiry", "-c", cfg)
    rows = p.stdout.decode().splitlines()[1:4]
    check(p.returncode == 1, "expiry with a CA ending in 5 days: exit %d: %s" % (p.returncode,
                                                                                out(p)))
    order = [("soon" in r, "later" in r, "server certificate" in r) for r in rows]
    check(order == [(True, False, False), (False, True, False), (False, False, True)],
          "expiry order (soon, later, server): %s" % rows)
    check(rows[0].split()[1] in ("4", "5") and rows[1].split()[1] in ("399", "400"),
          "days left: %s" % rows[:2])
    p = portico(ctx, "partner", "expiry", "-c", cfg, "--days", "3", "--json")
    doc = json.loads(p.stdout)
    check(p.returncode == 0 and doc["expiring"] == 0, "--days 3: exit %d, %r"
          % (p.returncode, doc.get("expiring")))
    ends = [c["not_after"] for c in doc["certificates"]]
    check(ends == sorted(ends) and [c["kind"] for c in doc["certificates"]] ==
          ["ca", "ca", "server"], "--json order: %s" % doc["certificates"])
    p = portico(ctx, "partner", "expiry", "-d", pdir, "--days", "6")
    check(p.returncode == 1, "-d with --days 6: exit %d" % p.returncode)
    os.unlink(os.path.join(pdir, "soon", "ca.pem"))
    p = portico(ctx, "partner", "expiry", "-d", pdir)
    check(p.returncode == 1 and "soon/ca.pem" in p.stderr.decode(),
          "a missing file: exit %d: %s" % (p.returncode, out(p)))
    subprocess.run(["rm", "-r", os.path.join(pdir, "soon")], check=True)
    p = portico(ctx, "partner", "expiry", "-d", pdir)
    check(p.returncode == 0, "only the 400-day CA left: exit %d: %s" % (p.returncode, out(p)))
    p = portico(ctx, "partner", "expiry", "--days", "x", "-d", pdir)
    check(p.returncode == 2, "--days x: exit %d" % p.returncode)
