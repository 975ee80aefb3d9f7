"""HTTP Message Signatures (RFC 9421) with Content-Digest (RFC 9530) through the real gateway over
mutual TLS: acme signs its requests (a small RFC 9421 signer here, the signature made by the
`openssl` CLI with a P-256 key made in the test's folder, its public key in acme's `signing`);
a good request is forwarded and audited with the signer in the event's `signatures`, each refusal
is a 401 problem with its code and audited with it as the reason; a route whose response chain
signs answers with Content-Digest, Signature-Input and Signature that openssl verifies."""

import base64
import hashlib
import os
import re
import time

import client
import scenario
from cases_audit import audit_config, embedded_addr, wait_events
from client import check, check_problem
from harness import case
from sigkeys import es256, openssl, signing_key

HOST = "localhost"  # client.build_request's Host
COVERED = ["@method", "@target-uri", "@authority", "content-type", "content-digest"]


def sf_str(s):
    return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"')


def sign_request(ctx, key, path, body, kid, alg="ecdsa-p256-sha256", created=None,
                 content_type="application/json", label="sig1"):
    """The fields that sign a POST of body to path: Content-Type, Content-Digest, Signature-Input
    and Signature (RFC 9421 2.5: one line per covered component, then @signature-params).
    Returns (fields, signature base)."""
    digest = "sha-256=:%s:" % base64.b64encode(hashlib.sha256(body).digest()).decode()
    values = {"@method": "POST", "@target-uri": "https://%s%s" % (HOST, path),
              "@authority": HOST, "content-type": content_type, "content-digest": digest}
    params = "(%s);created=%d;keyid=%s;alg=%s" % (
        " ".join(sf_str(c) for c in COVERED), created if created is not None else time.time(),
        sf_str(kid), sf_str(alg))
    base = "".join("%s: %s\n" % (sf_str(c), values[c]) for c in COVERED)
    base += '"@signature-params": ' + params
    sig = es256(key, base.encode())
    fields = [("Content-Type", content_type), ("Content-Digest", digest),
              ("Signature-Input", "%s=%s" % (label, params)),
              ("Signature", "%s=:%s:" % (label, base64.b64encode(sig).decode()))]
    return fields, base


VERIFY = {"http_signature": {"verify": {
    "algorithms": ["ecdsa-p256-sha256", "ed25519"],
    "components": ["@method", "@target-uri", "content-digest"],
    "max_age_s": 300}}}


def setup(ctx):
    acme_key, _, acme_pub = signing_key(ctx, "acme-sig", cert=False)
    globex_key, _, globex_pub = signing_key(ctx, "globex-sig", cert=False)
    gw_key, _, gw_pub = signing_key(ctx, "gw-sig", "ed25519", cert=False)
    up = ctx.upstream("echo")
    u = "http://127.0.0.1:%d" % up.port
    sign = {"http_signature": {
        "sign": {"key": "gw-sig.key", "alg": "ed25519", "kid": "portico-1"},
        "components": ["@status", "content-type", "content-digest"],
        "content_digest": "sha-256"}}
    routes = [scenario.route("signed", "/acme/signed", u, request=[VERIFY]),
              scenario.route("answer", "/acme/answer", u, response=[sign])]
    s = scenario.build(
        ctx, tls="optional", up=up, acme_routes=routes,
        acme_files={"acme-sig.pub.pem": acme_pub, "gw-sig.key": gw_key},
        acme_extra={"signing": [{"public_key": "acme-sig.pub.pem", "kid": "acme-sig"}]},
        globex_files={"globex-sig.pub.pem": globex_pub},
        globex_extra={"signing": [{"public_key": "globex-sig.pub.pem", "kid": "globex-sig"}]},
        config_extra=audit_config("embedded"))
    return s, acme_key, globex_key, gw_pub


def post(s, path, fields, body):
    return client.request(s.tls, "POST", path, fields, body, ctx=s.tls_ctx("acme-client"))


@case(timeout=90)
def http_signature_verify(ctx):
    """A request acme signed is forwarded (the upstream gets the signature fields) and audited
    with acme as the signer and the SHA-256 of the signature base; missing, tampered body,
    tampered field, algorithm, wrong signer and too old are each a 401 with its code, audited."""
    s, acme_key, globex_key, _ = setup(ctx)
    addr = embedded_addr(s.gw)
    body = b'{"amount": 10}'
    fields, base = sign_request(ctx, acme_key, "/acme/signed", body, "acme-sig")
    r = post(s, "/acme/signed", fields, body)
    check(r.status == 200, "a signed request: %d %r" % (r.status, r.body[:300]))
    doc = s.echo(r)
    check(scenario.hvals(doc, "signature") == [fields[3][1]],
          "the upstream got Signature %r" % scenario.hvals(doc, "signature"))
    good = r.get("x-request-id")
    want = {}  # request id -> problem code
    # no signature at all
    r = post(s, "/acme/signed", [("Content-Type", "application/json")], body)
    want[r.get("x-request-id")] = "signature-missing"
    check_problem(r, 401, "signature-missing")
    # the body changed after signing: Content-Digest does not match
    r = post(s, "/acme/signed", fields, b'{"amount": 99}')
    want[r.get("x-request-id")] = "signature-invalid"
    check_problem(r, 401, "signature-invalid", "does not match the body")
    # a covered field changed after signing
    tampered = [("Content-Type", "application/xml")] + fields[1:]
    r = post(s, "/acme/signed", tampered, body)
    want[r.get("x-request-id")] = "signature-invalid"
    check_problem(r, 401, "signature-invalid", "does not verify")
    # an algorithm the step does not accept
    f2, _ = sign_request(ctx, acme_key, "/acme/signed", body, "acme-sig", alg="rsa-v1_5-sha256")
    r = post(s, "/acme/signed", f2, body)
    want[r.get("x-request-id")] = "signature-algorithm-refused"
    check_problem(r, 401, "signature-algorithm-refused", "rsa-v1_5-sha256")
    # signed with globex's key
    f2, _ = sign_request(ctx, globex_key, "/acme/signed", body, "globex-sig")
    r = post(s, "/acme/signed", f2, body)
    want[r.get("x-request-id")] = "signature-wrong-signer"
    check_problem(r, 401, "signature-wrong-signer", "globex")
    # created ten minutes ago, the step takes at most five
    f2, _ = sign_request(ctx, acme_key, "/acme/signed", body, "acme-sig",
                         created=int(time.time()) - 600)
    r = post(s, "/acme/signed", f2, body)
    want[r.get("x-request-id")] = "signature-invalid"
    check_problem(r, 401, "signature-invalid", "old")
    events = {m["event"]["request_id"]: m["event"]
              for m in wait_events(addr, len(want) + 1)}
    e = events.get(good)
    check(e is not None and e["status"] == 200, "no ok event for the signed request")
    sigs = e["signatures"]
    check(len(sigs) == 1, "signatures of the good request: %r" % sigs)
    g = sigs[0]
    check((g["kind"], g["phase"], g["op"], g["alg"], g["kid"], g["partner"]) ==
          ("http_signature", "request", "verified", "ecdsa-p256-sha256", "acme-sig", "acme"),
          "the audited signature: %r" % g)
    check(g["signed_sha256"] == hashlib.sha256(base.encode()).hexdigest(),
          "signed_sha256 %s is not the SHA-256 of the signature base" % g["signed_sha256"])
    for rid, code in want.items():
        e = events.get(rid)
        check(e is not None, "no event for the request refused as %s" % code)
        check((e["status"], e["outcome"], e["reason"], e["signatures"]) ==
              (401, "refused", code, []),
              "refused as %s, audited as %r" % (code, (e["status"], e["outcome"], e["reason"],
                                                       e["signatures"])))


def parse_signature_input(v):
    """label=(components);params -> (label, [components], the serialized inner list)."""
    m = re.match(r'^([a-z*][a-z0-9_.*-]*)=(\((.*?)\).*)$', v)
    check(m is not None, "Signature-Input %r" % v)
    return m.group(1), re.findall(r'"([^"]+)"', m.group(3)), m.group(2)


@case(timeout=60)
def http_signature_sign_response(ctx):
    """A route whose response chain signs: the answer carries Content-Digest (the body's
    SHA-256), Signature-Input and Signature, which openssl verifies with the gateway's public
    key over the signature base rebuilt here; the event lists the signature as made."""
    s, _, _, gw_pub = setup(ctx)
    addr = embedded_addr(s.gw)
    r = client.request(s.tls, "GET", "/acme/answer", ctx=s.tls_ctx("acme-client"))
    check(r.status == 200, "answer: %d %r" % (r.status, r.body[:200]))
    digest = "sha-256=:%s:" % base64.b64encode(hashlib.sha256(r.body).digest()).decode()
    check(r.get("content-digest") == digest,
          "Content-Digest %r, the body's is %r" % (r.get("content-digest"), digest))
    label, comps, params = parse_signature_input(r.get("signature-input", ""))
    check(label == "sig1" and comps == ["@status", "content-type", "content-digest"],
          "Signature-Input %r" % r.get("signature-input"))
    check('keyid="portico-1"' in params and 'alg="ed25519"' in params and ";created=" in params,
          "Signature-Input parameters %r" % params)
    sig = r.get("signature", "")
    check(sig.startswith(label + "=:") and sig.endswith(":"), "Signature %r" % sig)
    base = '"@status": %d\n"content-type": %s\n"content-digest": %s\n"@signature-params": %s' % (
        r.status, r.get("content-type"), r.get("content-digest"), params)
    with open(os.path.join(ctx.dir, "resp-base.txt"), "wb") as f:
        f.write(base.encode())
    with open(os.path.join(ctx.dir, "resp-sig.bin"), "wb") as f:
        f.write(base64.b64decode(sig[len(label) + 2:-1]))
    openssl("pkeyutl", "-verify", "-pubin", "-inkey", gw_pub, "-rawin", "-in", "resp-base.txt",
            "-sigfile", "resp-sig.bin", cwd=ctx.dir)
    e = wait_events(addr, 1)[0]["event"]
    check([(g["kind"], g["phase"], g["op"], g["alg"], g["kid"], g["partner"])
           for g in e["signatures"]] ==
          [("http_signature", "response", "signed", "ed25519", "portico-1", None)],
          "the audited signatures: %r" % e["signatures"])
    check(e["signatures"][0]["signed_sha256"] == hashlib.sha256(base.encode()).hexdigest(),
          "signed_sha256 is not the SHA-256 of the base openssl verified")
