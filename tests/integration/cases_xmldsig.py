"""The xmldsig step through the real gateway over mutual TLS: a pain.001 that acme signed is
forwarded unchanged and audited with the signer; a changed one, an unsigned one, one signed with
another partner's key, one with an algorithm the route does not accept and one with two
signatures are refused with 401 and their problem codes, and audited so; `portico check` refuses
a bad step. acme's and globex's signing keys are made for the run with the openssl CLI; the
documents are signed by the gateway's own sign mode on a second route (its key in acme's bundle
for the test's sake: in production the partner signs)."""

import json
import os
import re

import client
import scenario
from cases_audit import audit_config, embedded_addr, valid, wait_events
from client import check, check_problem
from harness import case
from sigkeys import cert_sha256, signing_key

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PAIN001 = os.path.join(ROOT, "tests", "data", "samples", "pain.001.001.03.ch.02-musterfile.xml")
RSA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
ES256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
XML = [("Content-Type", "application/xml")]


def mirror(port, name, path, chain):
    """An acme route to the upstream's mirror (the body it got comes back) with a request chain."""
    return scenario.route(name, path, "http://127.0.0.1:%d/x/~mirror" % port, request=chain)


def setup(ctx):
    acme_key, acme_pem, _ = signing_key(ctx, "acme", "rsa")
    acme_sha = cert_sha256(acme_pem)
    globex_key, globex_pem, _ = signing_key(ctx, "globex", "rsa")
    up = ctx.upstream("echo")
    sign = {"key": "sign.key", "certificate": "signing.pem", "alg": RSA256, "kid": "acme-sign"}
    other = {"key": "globex.key", "certificate": "globex.pem", "alg": RSA256}
    routes = [
        mirror(up.port, "sign", "/acme/sign/*", [{"xmldsig": {"sign": sign}}]),
        mirror(up.port, "sign-globex", "/acme/sign-globex/*", [{"xmldsig": {"sign": other}}]),
        mirror(up.port, "verify", "/acme/verify/*",
               [{"xmldsig": {"verify": {"algorithms": [RSA256, ES256]}}}]),
        mirror(up.port, "verify-ec", "/acme/verify-ec/*",
               [{"xmldsig": {"verify": {"algorithms": [ES256]}}}]),
    ]
    s = scenario.build(ctx, tls="optional", up=up, acme_routes=routes, start=False,
                       acme_files={"sign.key": acme_key, "signing.pem": acme_pem,
                                   "globex.key": globex_key, "globex.pem": globex_pem},
                       acme_extra={"signing": [{"certificate": "signing.pem", "kid": "acme-sign"}]},
                       config_extra=audit_config("embedded"))
    with open(s.gw.partner_file("globex")) as f:
        globex = json.load(f)
    globex["signing"] = [{"certificate": "signing.pem", "kid": "globex-sign"}]
    s.gw.write_partner("globex", {"json": globex, "files": {"ca.pem": s.certs.pem("globex-ca"),
                                                            "signing.pem": globex_pem}})
    s.gw.start()
    return s, acme_sha


def post(s, path, body):
    return client.request(s.tls, "POST", path, XML, body, ctx=s.tls_ctx("acme-client"))


def signed(s, path, body):
    r = post(s, path, body)
    check(r.status == 200, "%s: status %d %r" % (path, r.status, r.body[:300]))
    check(b"<ds:Signature" in r.body, "%s: no signature in %r" % (path, r.body[:300]))
    return r.body


@case(timeout=90)
def xmldsig_verify_and_refusals_audited(ctx):
    """A signed pain.001 goes on as sent, its event naming acme's key and the digest of the
    SignedInfo the signing exchange made; each refusal is a 401 problem with its code and an
    event with that reason and no signature."""
    s, acme_sha = setup(ctx)
    with open(PAIN001, "rb") as f:
        pain = f.read()
    addr = embedded_addr(s.gw)
    rids = {}

    doc = signed(s, "/acme/sign/1", pain)
    r = post(s, "/acme/verify/1", doc)
    check(r.status == 200, "a good signature: status %d %r" % (r.status, r.body[:300]))
    check(r.body == doc, "the upstream did not get the signed document as sent")
    rids["good"] = r.get("x-request-id")

    # the amount changed after signing
    amounts = re.findall(rb"<InstdAmt Ccy=\"[A-Z]+\">[0-9.]+</InstdAmt>", doc)
    check(amounts, "no amount in the sample")
    tampered = doc.replace(amounts[0], re.sub(rb">[0-9.]+<", b">999999.00<", amounts[0]), 1)
    cases = [
        ("tampered", "/acme/verify/2", tampered, "signature-invalid", "does not verify"),
        ("missing", "/acme/verify/3", pain, "signature-missing", "no ds:Signature"),
        ("globex", "/acme/verify/4", signed(s, "/acme/sign-globex/1", pain),
         "signature-wrong-signer", "globex"),
        ("alg", "/acme/verify-ec/1", doc, "signature-algorithm-refused", RSA256),
        ("twice", "/acme/verify/5", signed(s, "/acme/sign/2", doc), "signature-invalid",
         "2 Signatures"),
    ]
    for name, path, body, code, detail in cases:
        r = post(s, path, body)
        check_problem(r, 401, code, detail)
        rids[name] = r.get("x-request-id")
    s.assert_alive()

    # three signing exchanges, the good one, the refusals and the alive check
    msgs = wait_events(addr, 3 + 1 + len(cases) + 1)
    events = {m["event"]["request_id"]: m["event"] for m in msgs}
    valid(events.values())
    good = events.get(rids["good"])
    check(good is not None, "no event for the good exchange")
    check(good["status"] == 200 and good["outcome"] == "ok", "good: %s %s"
          % (good["status"], good["outcome"]))
    sigs = good["signatures"]
    check(len(sigs) == 1, "good: signatures %r" % sigs)
    got = sigs[0]
    want = {"kind": "xmldsig", "phase": "request", "op": "verified", "alg": RSA256,
            "kid": "acme-sign", "partner": "acme", "cert_sha256": acme_sha}
    check({k: got.get(k) for k in want} == want, "good: signature %r, expected %r" % (got, want))
    # what acme signed is what the signing exchange made: the same SignedInfo
    made = [e for e in events.values() if e["route"] == "sign" and e["signatures"]
            and e["signatures"][0]["op"] == "signed"]
    check(any(e["signatures"][0]["signed_sha256"] == got["signed_sha256"] for e in made),
          "the verified signed_sha256 %s is none of the made ones %r"
          % (got["signed_sha256"], [e["signatures"] for e in made]))
    for name, path, body, code, _ in cases:
        e = events.get(rids[name])
        check(e is not None, "%s: no event" % name)
        check((e["status"], e["outcome"], e["reason"], e["signatures"]) ==
              (401, "refused", code, []), "%s: event %r" % (name, {
                  k: e[k] for k in ("status", "outcome", "reason", "signatures")}))


@case
def xmldsig_check_refuses_bad_steps(ctx):
    """`portico check` refuses an algorithm the step does not accept, and a step that both signs
    and verifies, at their JSON paths."""
    s = scenario.build(ctx, start=False, acme_routes=[
        scenario.route("sha1", "/acme/sha1", "mock:200", request=[{"xmldsig": {"verify": {
            "algorithms": ["http://www.w3.org/2000/09/xmldsig#rsa-sha1"]}}}]),
        scenario.route("both", "/acme/both", "mock:200", request=[{"xmldsig": {
            "verify": {"algorithms": [RSA256]}, "sign": {"key": "k.pem", "alg": RSA256}}}]),
    ])
    p = ctx.run([ctx.env.portico, "check", "-c", s.gw.config_path])
    out = (p.stdout + p.stderr).decode(errors="replace")
    check(p.returncode == 1, "check exited %d: %s" % (p.returncode, out[-600:]))
    for want in ("routes[2].request[0].xmldsig.verify.algorithms[0]: not an algorithm this step "
                 "knows", "routes[3].request[0].xmldsig: needs exactly one of \"verify\" and "
                 "\"sign\""):
        check(want in out, "check does not say %r:\n%s" % (want, out[-1200:]))
