"""Mutual TLS: partner identity on `require` and `optional` listeners, the CA names the gateway
asks for, and https upstreams with the gateway's outbound client certificate."""

import os
import socket
import ssl

import client
import scenario
import upstream
from client import Conn, build_request, check, check_problem
from harness import case
from scenario import hvals



def expect_refused(s, cert, tls_max=None):
    """The handshake with `cert` (None: no certificate) must end in a TLS alert. Under TLS 1.3 the
    client finishes its side first and the server's verdict arrives on the first read."""
    ctx = s.tls_ctx(cert, tls_max=tls_max)
    raw = socket.create_connection(("127.0.0.1", s.tls), timeout=5)
    err = None
    try:
        tls = ctx.wrap_socket(raw, server_hostname="localhost", suppress_ragged_eofs=False)
        try:
            data = tls.recv(1)
        except socket.timeout:
            data = None
        if data is None:
            # the server is waiting for a request: the certificate was taken; prove it
            tls.sendall(build_request("GET", "/acme/api/refused"))
            try:
                tls.settimeout(5)
                reply = tls.recv(200)
            except (ssl.SSLError, OSError) as e:
                reply = ("error %s" % e).encode()
            raise client.TestFailure("handshake with %s accepted (reply to a request: %r)"
                                     % (cert or "no certificate", reply[:60]))
        if not data:
            raise client.TestFailure("handshake with %s: connection closed without a TLS alert"
                                     % (cert or "no certificate"))
        raise client.TestFailure("handshake with %s: server sent %r instead of an alert"
                                 % (cert or "no certificate", data))
    except ssl.SSLError as e:
        err = e
    except OSError as e:
        raise client.TestFailure("handshake with %s: %s, expected a TLS alert"
                                 % (cert or "no certificate", e))
    finally:
        raw.close()
    check("alert" in str(err).lower(), "handshake with %s failed without an alert: %s"
          % (cert or "no certificate", err))
    reqs, _, _ = s.up.snapshot()
    check(not reqs, "a request reached the upstream after a refused handshake")
    return str(err)


# -- require ---------------------------------------------------------------------------------------

@case
def mtls_require_valid_partner(ctx):
    s = scenario.build(ctx, tls="require")
    certs = ctx.certs
    r = s.tls_get("acme-client", "/acme/api/who", [("X-Partner-Id", "globex"),
                                                  ("X-Client-Cert", "forged")])
    doc = s.echo(r)
    check(hvals(doc, "x-partner-id") == ["acme"], "X-Partner-Id at the upstream %r"
          % hvals(doc, "x-partner-id"))
    check(hvals(doc, "x-partner-subject") == [certs.subject("acme-client")],
          "X-Partner-Subject %r, expected %r" % (hvals(doc, "x-partner-subject"),
                                                 certs.subject("acme-client")))
    check(hvals(doc, "x-partner-fingerprint") == [certs.sha256("acme-client")],
          "X-Partner-Fingerprint %r, expected %s" % (hvals(doc, "x-partner-fingerprint"),
                                                     certs.sha256("acme-client")))
    check(not hvals(doc, "x-client-cert"), "client-sent X-Client-Cert reached the upstream")
    fwd = hvals(doc, "forwarded")
    check(len(fwd) == 1 and "proto=https" in fwd[0].replace('"', ""),
          "Forwarded %r on a TLS listener, expected proto=https" % fwd)


@case
def mtls_require_keepalive(ctx):
    s = scenario.build(ctx, tls="require")
    with Conn(s.tls, s.tls_ctx("acme-client")) as c:
        for i in range(4):
            c.send(build_request("POST", "/acme/orders", body=b'{"n": %d}' % i))
            doc = s.echo(c.read_response())
            check(doc["method"] == "POST" and doc["body_len"] == len(b'{"n": %d}' % i),
                  "request %d arrived as %s with %d bytes" % (i, doc["method"], doc["body_len"]))
            check(hvals(doc, "x-partner-id") == ["acme"], "partner lost on request %d" % i)
    _, conns, _ = s.up.snapshot()
    check(len(conns) <= 2, "4 requests on one TLS connection used %d upstream connections"
          % len(conns))


@case
def mtls_require_other_partner(ctx):
    s = scenario.build(ctx, tls="require")
    doc = s.echo(s.tls_get("globex-client", "/shared/x"))
    check(hvals(doc, "x-partner-id") == ["globex"], "X-Partner-Id %r on a shared route"
          % hvals(doc, "x-partner-id"))
    check(s.echo(s.tls_get("globex-client", "/globex/y"))["target"] == "/globex/y",
          "globex's own route failed")
    check_problem(s.tls_get("globex-client", "/acme/api/x"), 403, "partner-not-allowed")
    check_problem(s.tls_get("acme-client", "/globex/y"), 403, "partner-not-allowed")


def refused_case(cert, tls_max=None):
    def t(ctx):
        s = scenario.build(ctx, tls="require")
        expect_refused(s, cert, tls_max)
        s.assert_alive("after a refused handshake")
        doc = s.echo(s.tls_get("acme-client", "/acme/api/after"))
        check(hvals(doc, "x-partner-id") == ["acme"], "valid partner not served afterwards")
    return t


for _name, _cert in [("expired", "acme-expired"), ("not_yet_valid", "acme-future"),
                     ("revoked", "acme-revoked"), ("unknown_ca", "rogue-client"),
                     ("no_certificate", None), ("subject_copy_other_ca", "globex-copy")]:
    _t = refused_case(_cert)
    _t.__name__ = "mtls_require_refuses_" + _name
    case(_t)

_t = refused_case("acme-expired", ssl.TLSVersion.TLSv1_2)
_t.__name__ = "mtls_require_refuses_expired_tls12"
case(_t)
_t = refused_case("globex-copy", ssl.TLSVersion.TLSv1_2)
_t.__name__ = "mtls_require_refuses_subject_copy_tls12"
case(_t)


@case
def mtls_ca_names_in_certificate_request(ctx):
    s = scenario.build(ctx, tls="require")
    certs = ctx.certs
    p = ctx.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % s.tls,
                 "-servername", "localhost", "-CAfile", certs.pem("server-ca"),
                 "-cert", certs.pem("acme-client"), "-key", certs.key("acme-client")],
                timeout=15)
    out = p.stdout.decode(errors="replace")
    check("Acceptable client certificate CA names" in out,
          "s_client saw no CA names in the CertificateRequest: %s"
          % [l for l in out.splitlines() if "CA names" in l])
    names = []
    grab = False
    for line in out.splitlines():
        if line.startswith("Acceptable client certificate CA names"):
            grab = True
            continue
        if grab:
            if not line.strip() or line.startswith(("Requested", "Client Certificate", "---",
                                                    "Shared", "Peer")):
                break
            names.append(line.strip())
    text = "\n".join(names)
    for ca in ("acme-ca", "globex-ca"):
        check(certs.ca_cn(ca) in text, "CA names %r lack %s" % (names, certs.ca_cn(ca)))
    check(certs.ca_cn("rogue-ca") not in text, "CA names list an unknown CA: %r" % names)


# -- optional --------------------------------------------------------------------------------------

@case
def mtls_optional_public_route_without_cert(ctx):
    s = scenario.build(ctx, tls="optional")
    r = s.tls_get(None, "/health")
    check(r.status == 200, "public mock route without a certificate: %d" % r.status)
    doc = s.echo(s.tls_get(None, "/pub/anon", [("X-Partner-Id", "acme")]))
    check(not hvals(doc, "x-partner-id"), "an anonymous request carried X-Partner-Id %r"
          % hvals(doc, "x-partner-id"))


@case
def mtls_optional_partner_route_valid(ctx):
    s = scenario.build(ctx, tls="optional")
    doc = s.echo(s.tls_get("acme-client", "/acme/orders"))
    check(hvals(doc, "x-partner-id") == ["acme"], "X-Partner-Id %r" % hvals(doc, "x-partner-id"))


def unidentified_case(cert, detail):
    def t(ctx):
        s = scenario.build(ctx, tls="optional")
        check_problem(s.tls_get(cert, "/acme/api/x"), 401, "partner-unidentified", detail)
        check_problem(s.tls_get(cert, "/shared/x"), 401, "partner-unidentified", detail)
        check(not s.up.snapshot()[0], "an unidentified request reached the upstream")
        r = s.tls_get(cert, "/health")
        check(r.status == 200, "public route with %s: %d" % (cert, r.status))
    return t


for _name, _cert, _detail in [
        ("no_certificate", None, "no client certificate"),
        ("expired", "acme-expired", "expired"),
        ("not_yet_valid", "acme-future", "not yet valid"),
        ("revoked", "acme-revoked", "revoked"),
        ("unknown_ca", "rogue-client", "unknown CA")]:
    _t = unidentified_case(_cert, _detail)
    _t.__name__ = "mtls_optional_401_" + _name
    case(_t)


@case
def mtls_optional_other_partner_403(ctx):
    s = scenario.build(ctx, tls="optional")
    check_problem(s.tls_get("globex-client", "/acme/orders"), 403, "partner-not-allowed")
    check_problem(s.tls_get("globex-client", "/acme/api/x"), 403, "partner-not-allowed")
    check(not s.up.snapshot()[0], "a refused request reached the upstream")


@case
def mtls_optional_subject_copy_never_acme(ctx):
    """globex constrains its subject, so globex's CA copying acme's subject matches no partner."""
    s = scenario.build(ctx, tls="optional")
    r = s.tls_get("globex-copy", "/acme/api/x")
    check(r.status != 200, "B's certificate copying A's subject was served on A's route")
    check_problem(r, [401, 403])
    if r.status == 401:
        check_problem(r, 401, "partner-unidentified", "matches no partner")
    check(not s.up.snapshot()[0], "the copied subject reached the upstream")


@case
def mtls_optional_subject_copy_is_globex(ctx):
    """globex without a subject constraint: the copy is globex's, whatever its subject says."""
    s = scenario.build(ctx, tls="optional", globex_subject=False)
    r = s.tls_get("globex-copy", "/acme/api/x")
    check(r.status != 200, "B's certificate copying A's subject was served on A's route")
    check_problem(r, 403, "partner-not-allowed")
    doc = s.echo(s.tls_get("globex-copy", "/shared/x"))
    check(hvals(doc, "x-partner-id") == ["globex"], "the copy was taken for %r"
          % hvals(doc, "x-partner-id"))


# -- https upstream with outbound mTLS -----------------------------------------------------------

def https_setup(ctx, cert_name):
    tls = upstream.tls_server_context(ctx.certs, cert_name, client_ca="bank-ca")
    up = ctx.upstream("bank", tls=tls, also_v6=True)
    s = scenario.build(ctx, tls="require", acme_outbound=True, acme_routes=[
        scenario.route("bank", "/acme/bank/*", "https://localhost:%d" % up.port)])
    return s, up


@case
def https_upstream_outbound_mtls(ctx):
    s, up = https_setup(ctx, "upstream")
    for i in range(3):
        doc = s.echo(s.tls_get("acme-client", "/acme/bank/pay%d" % i))
        check(doc["server"] == "bank", "answered by %s" % doc["server"])
        check(doc.get("client_cert") and doc["client_cert"].get("commonName")
              == "portico-outbound", "https upstream saw client certificate %r"
              % doc.get("client_cert"))
        check(hvals(doc, "x-partner-id") == ["acme"], "X-Partner-Id %r"
              % hvals(doc, "x-partner-id"))
    check(not up.tls_errors, "handshakes failed at the https upstream: %s" % up.tls_errors[:2])
    _, conns, _ = up.snapshot()
    check(len(conns) <= 2, "3 requests in turn used %d https upstream connections" % len(conns))


def https_refused(ctx, cert_name):
    s, up = https_setup(ctx, cert_name)
    check_problem(s.tls_get("acme-client", "/acme/bank/pay"), 502)
    reqs, _, _ = up.snapshot()
    check(not reqs, "the request reached an https upstream that failed verification")
    s.assert_alive()


@case
def https_upstream_unknown_ca_502(ctx):
    https_refused(ctx, "upstream-rogue")


@case
def https_upstream_wrong_name_502(ctx):
    https_refused(ctx, "upstream-wrongname")


@case(timeout=120)
def mtls_large_response_backpressure(ctx):
    """A partner that does not read its 48 MB response holds the upstream back instead of making the
    gateway buffer the response: the upstream cannot get most of it out while the partner waits
    (the sockets on the way hold a few MB), and the body then arrives intact."""
    import hashlib
    import time
    size = 48000000
    s = scenario.build(ctx, tls="require")
    with Conn(s.tls, s.tls_ctx("acme-client"), timeout=60) as c:
        c.send(build_request("GET", "/acme/api/~big/size=%d/seed=3" % size))
        time.sleep(2.0)  # without backpressure the upstream sends it all within this
        with s.up.lock:
            sent = s.up.big_sent
        check(sent < size // 2, "the upstream sent %d of %d bytes while the partner read "
              "nothing: the gateway buffered them (no backpressure)" % (sent, size))
        _, status, _, headers = c.read_head(timeout=30)
        want = dict((n.lower(), v) for n, v in headers).get("x-body-sha256")
        h, got = hashlib.sha256(c.buf), len(c.buf)
        c.buf = b""
        while got < size:
            data = c.sock.recv(1 << 20)
            check(data, "connection closed after %d of %d body bytes" % (got, size))
            h.update(data)
            got += len(data)
        check(status == 200 and got == size, "status %d, %d of %d bytes" % (status, got, size))
        check(h.hexdigest() == want, "large response body changed over TLS")
    s.assert_alive()


@case
def tls_server_certificate_by_sni(ctx):
    """A listener with two certificates answers with the one whose name the client asked for
    (SNI), and with the default one for any other name or none."""
    import shutil
    certs = ctx.certs
    s = scenario.build(ctx, tls="optional", start=False)
    shutil.copy(certs.pem("upstream-wrongname"), os.path.join(s.gw.dir, "sni.pem"))
    shutil.copy(certs.key("upstream-wrongname"), os.path.join(s.gw.dir, "sni.key"))
    cfg = s.gw.read_config()
    for lst in cfg["listeners"]:
        if "tls" in lst:
            lst["tls"]["certificates"].append(
                {"cert": "sni.pem", "key": "sni.key", "sni": "wrong.example"})
    s.gw.write_config(cfg)
    s.gw.start()
    # the SNI certificate verifies only for wrong.example, under the upstream CA
    sni_ctx = client.client_context(certs, None, ca="upstream-ca")
    with Conn(s.tls, sni_ctx, server_hostname="wrong.example") as c:
        c.send(build_request("GET", "/health", host="wrong.example"))
        check(c.read_response().status == 200, "no answer over the SNI certificate")
    # another name, and no name at all: the default (localhost, server CA)
    with Conn(s.tls, s.tls_ctx(None), server_hostname="localhost") as c:
        c.send(build_request("GET", "/health"))
        check(c.read_response().status == 200, "no answer over the default certificate")
    plain_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    plain_ctx.check_hostname = False
    plain_ctx.load_verify_locations(certs.pem("server-ca"))
    with Conn(s.tls, plain_ctx, server_hostname=None) as c:
        c.send(build_request("GET", "/health"))
        check(c.read_response().status == 200, "no answer without SNI")
    s.assert_alive()
