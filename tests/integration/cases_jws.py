"""The `jws` transform through the real gateway over mTLS: a partner's detached (RFC 7797) and
compact JWS verified with the signing certificate of its bundle and audited with the signer and the
digest of the signed bytes; each refusal a 401 problem with its code, audited; our answers signed
and checked here with the openssl CLI. Keys and certificates are made by the test."""

import hashlib
import json
import os

import cases_audit
import cases_check
import client
import scenario
from client import check
from harness import case
from sigkeys import b64u, cert_sha256, es256, openssl, raw_to_der, signing_key, unb64u


def detached(key, body, kid=None, alg="ES256"):
    """A detached JWS with unencoded payload (RFC 7797) over body, signed with key."""
    h = {"alg": alg, "b64": False, "crit": ["b64"]}
    if kid:
        h["kid"] = kid
    hb = b64u(json.dumps(h, separators=(",", ":")).encode())
    return "%s..%s" % (hb, b64u(es256(key, hb.encode() + b"." + body)))


def compact(key, payload, kid=None):
    h = {"alg": "ES256"}
    if kid:
        h["kid"] = kid
    inp = b64u(json.dumps(h, separators=(",", ":")).encode()) + "." + b64u(payload)
    return inp + "." + b64u(es256(key, inp.encode()))


VERIFY_FIELD = [{"jws": {"verify": {"algorithms": ["ES256"]}, "header": "X-JWS-Signature"}}]
VERIFY_BODY = [{"jws": {"verify": {"algorithms": ["ES256"]}}}]


def setup(ctx, up, acme_routes):
    """The standard setup with the embedded audit broker; acme and globex each sign with a key
    of their own (acme's named acme-sig-1). Returns (setup, acme key, acme cert, globex key)."""
    akey, acert, _ = signing_key(ctx, "acme-sign")
    gkey, gcert, _ = signing_key(ctx, "globex-sign")
    s = scenario.build(ctx, tls="require", acme_routes=acme_routes, up=up,
                       acme_files={"signing.pem": acert},
                       acme_extra={"signing": [{"certificate": "signing.pem",
                                                "kid": "acme-sig-1"}]},
                       globex_files={"signing.pem": gcert},
                       globex_extra={"signing": [{"certificate": "signing.pem",
                                                  "kid": "globex-sig-1"}]},
                       config_extra=cases_audit.audit_config("embedded"))
    return s, akey, acert, gkey


def post(s, path, body, headers=()):
    return client.request(s.tls, "POST", path, [("Content-Type", "application/json")]
                          + list(headers), body, ctx=s.tls_ctx("acme-client"))


@case(timeout=90)
def jws_verified_signer_audited(ctx):
    """A detached JWS over the body and a compact one as the body, each signed with acme's
    bundle key: forwarded (the compact one unwrapped to its payload), and the audit event names
    the signer (partner, kid, certificate SHA-256) and the SHA-256 of the exact signed bytes."""
    up = ctx.upstream("echo")
    u = "http://127.0.0.1:%d" % up.port
    s, akey, acert, _ = setup(ctx, up, [
        scenario.route("signed", "/acme/signed", u, methods=["POST"], request=VERIFY_FIELD),
        scenario.route("signed-body", "/acme/signed-body", u, methods=["POST"],
                       request=VERIFY_BODY)])
    addr = cases_audit.embedded_addr(s.gw)
    body = b'{"pain001": {"MsgId": "M-1", "amount": 12.50}}'
    sig = detached(akey, body, kid="acme-sig-1")
    r = post(s, "/acme/signed", body, [("X-JWS-Signature", sig)])
    doc = s.echo(r)
    check(doc["body_sha256"] == hashlib.sha256(body).hexdigest(),
          "the upstream got another body (%d bytes)" % doc["body_len"])
    hb = sig.split(".")[0]
    signed = hb.encode() + b"." + body
    tok = compact(akey, body)
    r2 = post(s, "/acme/signed-body", tok.encode())
    doc2 = s.echo(r2)
    check(doc2["body_sha256"] == hashlib.sha256(body).hexdigest(),
          "the compact JWS was not unwrapped to its payload (%d bytes)" % doc2["body_len"])
    msgs = cases_audit.wait_events(addr, 2)
    events = {m["event"]["route"]: m["event"] for m in msgs}
    cases_audit.valid(events.values())
    want = {"alg": "ES256", "kid": "acme-sig-1", "kind": "jws", "op": "verified",
            "partner": "acme", "phase": "request", "cert_sha256": cert_sha256(acert),
            "signed_sha256": hashlib.sha256(signed).hexdigest()}
    check(events["signed"]["signatures"] == [want], "signatures %r, expected [%r]"
          % (events["signed"]["signatures"], want))
    sigs = events["signed-body"]["signatures"]
    check(len(sigs) == 1 and sigs[0]["kid"] is None and sigs[0]["signed_sha256"]
          == hashlib.sha256(tok.rsplit(".", 1)[0].encode()).hexdigest(),
          "compact JWS audited as %r" % sigs)


@case(timeout=90)
def jws_refusals_each_code(ctx):
    """Unsigned, tampered, signed by another partner (globex's key, named or not), with "none"
    and with an algorithm the route does not take: each a 401 problem with its own code, never
    forwarded, and audited as refused with that reason and no signature."""
    up = ctx.upstream("echo")
    s, akey, _, gkey = setup(ctx, up, [scenario.route(
        "signed", "/acme/signed", "http://127.0.0.1:%d" % up.port, methods=["POST"],
        request=VERIFY_FIELD)])
    addr = cases_audit.embedded_addr(s.gw)
    body = b'{"amount": 12.50}'
    none_h = b64u(b'{"alg":"none","b64":false,"crit":["b64"]}')
    hs_h = b64u(b'{"alg":"HS256","b64":false,"crit":["b64"]}')
    cases = [
        ("signature-missing", []),
        ("signature-invalid", [("X-JWS-Signature", detached(akey, b'{"amount": 99.00}'))]),
        ("signature-wrong-signer", [("X-JWS-Signature", detached(gkey, body, "globex-sig-1"))]),
        ("signature-wrong-signer", [("X-JWS-Signature", detached(gkey, body))]),
        ("signature-algorithm-refused", [("X-JWS-Signature", none_h + "..")]),
        ("signature-algorithm-refused", [("X-JWS-Signature", hs_h + ".." + b64u(b"x" * 32))]),
    ]
    rids = []
    for code, headers in cases:
        r = post(s, "/acme/signed", body, headers)
        client.check_problem(r, 401, code)
        rids.append((r.get("x-request-id"), code))
    check(not up.requests, "a refused request reached the upstream")
    msgs = cases_audit.wait_events(addr, len(cases))
    by_rid = {m["event"]["request_id"]: m["event"] for m in msgs}
    cases_audit.valid(by_rid.values())
    for rid, code in rids:
        e = by_rid.get(rid)
        check(e is not None, "no audit event for the %s request" % code)
        check(e["status"] == 401 and e["outcome"] == "refused" and e["reason"] == code
              and e["signatures"] == [] and e["upstream"] is None,
              "%s audited as %s %s %s %r" % (code, e["status"], e["outcome"], e["reason"],
                                             e["signatures"]))


@case(timeout=90)
def jws_signs_answers(ctx):
    """A response chain signs the upstream's answer with our key: the partner gets a detached
    JWS (unencoded payload) that openssl verifies over the body as it arrived, and the audit
    event records the signature as ours."""
    key, _, pub = signing_key(ctx, "gw-sign", cert=False)
    up = ctx.upstream("echo")
    sign = {"jws": {"sign": {"key": "gw-sign.key", "alg": "ES256", "kid": "portico-1"},
                    "header": "X-JWS-Signature"}}
    s = scenario.build(ctx, tls="require", up=up, acme_files={"gw-sign.key": key},
                       acme_routes=[scenario.route("answers", "/acme/answers",
                                                   "http://127.0.0.1:%d" % up.port,
                                                   methods=["POST"], response=[sign])],
                       config_extra=cases_audit.audit_config("embedded"))
    addr = cases_audit.embedded_addr(s.gw)
    r = post(s, "/acme/answers", b'{"q": 1}')
    check(r.status == 200, "status %d" % r.status)
    sig = r.get("x-jws-signature")
    check(sig is not None and sig.count(".") == 2 and ".." in sig, "no detached JWS: %r" % sig)
    hb, _, sb = sig.split(".")
    h = json.loads(unb64u(hb))
    check(h == {"alg": "ES256", "kid": "portico-1", "b64": False, "crit": ["b64"]},
          "protected header %r" % h)
    signed = hb.encode() + b"." + r.body
    sigfile = os.path.join(ctx.dir, "answer.sig")
    with open(sigfile, "wb") as f:
        f.write(raw_to_der(unb64u(sb)))
    out = openssl("dgst", "-sha256", "-verify", pub, "-signature", sigfile, data=signed)
    check(b"Verified OK" in out, "openssl: %r" % out)
    e = cases_audit.wait_events(addr, 1)[0]["event"]
    check(e["signatures"] == [{"alg": "ES256", "cert_sha256": None, "kid": "portico-1",
                               "kind": "jws", "op": "signed", "partner": None,
                               "phase": "response",
                               "signed_sha256": hashlib.sha256(signed).hexdigest()}],
          "audited %r" % e["signatures"])


@case
def jws_check_refuses_bad_signing_configs(ctx):
    """`portico check` names each bad signing key and each bad jws step at its file, line and
    JSON path: two keys in one entry, a secret too short, a kid twice, a public key file that is
    none, "none" among the algorithms, HMAC to sign with, a key that does not fit its alg."""
    key, cert, _ = signing_key(ctx, "acme-sign")
    short = os.path.join(ctx.dir, "short.secret")
    with open(short, "w") as f:
        f.write(b64u(b"x" * 16) + "\n")
    s = scenario.build(ctx, start=False, acme_files={"signing.pem": cert, "short.secret": short,
                                                     "sign.key": key})
    with open(s.gw.partner_file("acme")) as f:
        acme = json.load(f)
    up = acme["routes"][0]["upstream"]
    acme["signing"] = [
        {"certificate": "signing.pem", "secret": "short.secret"},
        {"secret": "short.secret", "kid": "k"},
        {"certificate": "signing.pem", "kid": "k"},
        {"public_key": "signing.pem"},
    ]
    acme["routes"] += [
        scenario.route("v", "/acme/v", up, request=[{"jws": {"verify": {
            "algorithms": ["ES256", "none"]}}}]),
        scenario.route("s1", "/acme/s1", up, response=[{"jws": {"sign": {
            "key": "sign.key", "alg": "HS256"}}}]),
        scenario.route("s2", "/acme/s2", up, response=[{"jws": {"sign": {
            "key": "sign.key", "alg": "RS256"}}}]),
    ]
    pfile = s.gw.partner_file("acme")
    with open(pfile, "w") as f:
        json.dump(acme, f, indent=2)
    p = ctx.run([ctx.env.portico, "check", "-c", s.gw.config_path])
    out = (p.stdout + p.stderr).decode(errors="replace")
    check(p.returncode == 1, "check exited %d: %s" % (p.returncode, out[-600:]))
    got = {(m["path"], m["msg"]) for m in cases_check.located(out)
           if m["file"].endswith("acme/partner.json")}
    want = [
        ("signing[0]", "names both"),
        ("signing[1].secret", "at least 32 bytes"),
        ("signing[2]", "kid \"k\" is already used by signing[1]"),
        ("signing[3].public_key", "no public key"),
        ("routes[2].request[0].jws.verify.algorithms[1]", "\"none\" is never accepted"),
        ("routes[3].response[0].jws.sign.alg", "not a shared secret"),
        ("routes[4].response[0].jws.sign.alg", "does not fit the key"),
    ]
    for path, text in want:
        check(any(gp == path and text in gm for gp, gm in got),
              "no problem at %s saying %r in: %s" % (path, text, out[-1500:]))
