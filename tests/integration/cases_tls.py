"""Mutual TLS: partner identity on `require` and `optional` listeners, the CA names the gateway
asks for, and https upstreams with the gateway's outbound client certificate."""

import os
import shutil
import socket
import ssl
import subprocess
import time

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


# -- protocol settings -----------------------------------------------------------------------------

def tls12_handshake(port, ciphers=None, alpn=None):
    """A TLS 1.2 handshake offering only `ciphers` (and `alpn`): the cipher and ALPN protocol
    chosen, or the SSLError that ended it."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if ciphers:
        ctx.set_ciphers(ciphers)
    if alpn:
        ctx.set_alpn_protocols(alpn)
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            return tls.cipher()[0], tls.selected_alpn_protocol()
    except ssl.SSLError as e:
        return e
    finally:
        raw.close()


def s_client(ctx, port, *args, stdin=b"", timeout=10):
    """openssl s_client against the gateway: (exit status, stdout and stderr together)."""
    p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port] + list(args),
                       input=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout, cwd=ctx.dir)
    return p.returncode, p.stdout.decode(errors="replace")


def rsa_listener(ctx, name):
    """A listener with an RSA server certificate the test makes (static RSA key exchange needs
    one), client_auth none, its files written for the gateway to copy."""
    key, pem = os.path.join(ctx.dir, "rsa.key"), os.path.join(ctx.dir, "rsa.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", pem, "-subj", "/CN=localhost", "-days", "2"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return {"address": "127.0.0.1:{%s}" % name, "tls": {
        "certificates": [{"cert": "rsa.pem", "key": "rsa.key"}], "client_auth": "none"}}, pem, key


@case
def tls12_forward_secret_aead_only_by_default(ctx):
    """TLS 1.2 offers ECDHE with AEAD only: a client offering only static RSA key exchange, DHE,
    or ECDHE with CBC, is refused with an alert; ECDHE with GCM or ChaCha20 is taken, for an RSA
    and an ECDSA certificate alike. Sessions live 300 s by default."""
    lst, pem, key = rsa_listener(ctx, "rsa")
    s = scenario.build(ctx, tls="optional", listeners=[lst], start=False)
    shutil.copy(pem, os.path.join(s.gw.dir, "rsa.pem"))
    shutil.copy(key, os.path.join(s.gw.dir, "rsa.key"))
    s.gw.start()
    rsa = s.gw.ports["rsa"]
    for port, offer in [(rsa, "AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA256:AES256-SHA256:"
                              "AES128-SHA:AES256-SHA"),
                        (rsa, "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384"),
                        (rsa, "ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA:ECDHE-RSA-AES128-SHA256"),
                        (s.tls, "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384")]:
        got = tls12_handshake(port, offer)
        check(isinstance(got, ssl.SSLError) and "alert" in str(got).lower(),
              "a TLS 1.2 client offering only %s got %s" % (offer, got))
    for port, offer in [(rsa, "ECDHE-RSA-AES128-GCM-SHA256"), (rsa, "ECDHE-RSA-AES256-GCM-SHA384"),
                        (rsa, "ECDHE-RSA-CHACHA20-POLY1305"), (s.tls, "ECDHE-ECDSA-AES128-GCM-SHA256"),
                        (s.tls, "ECDHE-ECDSA-CHACHA20-POLY1305")]:
        got = tls12_handshake(port, offer)
        check(not isinstance(got, Exception) and got[0] == offer,
              "a TLS 1.2 client offering %s got %s" % (offer, got))
    rc, out = s_client(ctx, s.tls, "-tls1_2", "-sess_out", "default.sess")
    check("lifetime hint: 300 " in ticket_name(ctx, "default.sess")[1], "default lifetime hint")


@case
def tls_ciphers_curves_set_per_listener(ctx):
    """ciphers, ciphersuites and curves of one listener apply to it alone."""
    s = scenario.build(ctx, tls="optional", listeners=[
        {"address": "127.0.0.1:{strict}", "tls": {
            "certificates": [{"cert": "server.pem", "key": "server.key"}], "client_auth": "none",
            "ciphers": "ECDHE-ECDSA-AES256-GCM-SHA384", "ciphersuites": "TLS_AES_256_GCM_SHA384",
            "curves": "X25519"}}])
    strict = s.gw.ports["strict"]
    got = tls12_handshake(strict, "ECDHE-ECDSA-AES128-GCM-SHA256")
    check(isinstance(got, ssl.SSLError), "the strict listener took AES128-GCM: %s" % (got,))
    got = tls12_handshake(strict, "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256")
    check(not isinstance(got, Exception) and got[0] == "ECDHE-ECDSA-AES256-GCM-SHA384",
          "the strict listener chose %s" % (got,))
    got = tls12_handshake(s.tls, "ECDHE-ECDSA-AES128-GCM-SHA256")
    check(not isinstance(got, Exception) and got[0] == "ECDHE-ECDSA-AES128-GCM-SHA256",
          "the default listener refused AES128-GCM: %s" % (got,))
    rc, out = s_client(ctx, strict, "-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256")
    check(rc != 0 and "alert" in out, "TLS 1.3 with AES128 on the strict listener: %s" % out[-300:])
    rc, out = s_client(ctx, strict, "-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384")
    check(rc == 0 and "TLS_AES_256_GCM_SHA384" in out, "TLS 1.3 AES256: %s" % out[-300:])
    rc, out = s_client(ctx, strict, "-groups", "P-256")
    check(rc != 0 and "alert" in out, "P-256 on an X25519-only listener: %s" % out[-300:])
    rc, out = s_client(ctx, s.tls, "-groups", "P-256")
    check(rc == 0, "P-256 on the default listener: %s" % out[-300:])


@case
def tls_settings_unknown_refused_at_load(ctx):
    s = scenario.build(ctx, tls="optional", start=False)
    cfg = s.gw.read_config()
    for lst in cfg["listeners"]:
        if "tls" in lst:
            lst["tls"].update({"ciphers": "ECDHE-RSA-AES128-GCM-SHA256:NO-SUCH-CIPHER",
                               "ciphersuites": "TLS_NO_SUCH_SUITE", "curves": "X25519:P-999",
                               "ticket_lifetime_s": -1})
    s.gw.write_config(cfg)
    r = ctx.run([ctx.env.portico, "check", "-c", s.gw.config_path])
    out = r.stdout.decode() + r.stderr.decode()
    check(r.returncode == 1, "check exited %d on unknown TLS settings:\n%s" % (r.returncode, out))
    for path, what in [("listeners[0].tls.ciphers", '"NO-SUCH-CIPHER" is not a TLS 1.2 cipher'),
                       ("listeners[0].tls.ciphersuites", '"TLS_NO_SUCH_SUITE" is not a TLS 1.3'),
                       ("listeners[0].tls.curves", '"P-999" is not a key exchange group'),
                       ("listeners[0].tls.ticket_lifetime_s", "-1 is out of range")]:
        check(any(path + ": " + what in line for line in out.splitlines()),
              "no error %s: %s... in:\n%s" % (path, what, out))
    r = ctx.run([ctx.env.portico, "serve", "-c", s.gw.config_path], timeout=10)
    check(r.returncode != 0, "serve started with unknown TLS settings")


@case
def tls_alpn_http11(ctx):
    """ALPN: http/1.1 is chosen from what the client offers; a client offering only protocols
    the gateway does not speak gets the no_application_protocol alert."""
    s = scenario.build(ctx, tls="optional")
    got = tls12_handshake(s.tls, alpn=["h2", "http/1.1"])
    check(not isinstance(got, Exception) and got[1] == "http/1.1", "ALPN h2,http/1.1: %s" % (got,))
    with Conn(s.tls, s.tls_ctx(None)) as c:  # no ALPN offered: fine
        c.send(build_request("GET", "/health"))
        check(c.read_response().status == 200, "no answer without ALPN")
    got = tls12_handshake(s.tls, alpn=["h2"])
    check(isinstance(got, ssl.SSLError) and "no application protocol" in str(got).lower(),
          "ALPN h2 alone: %s" % (got,))


@case
def tls_renegotiation_refused(ctx):
    """A TLS 1.2 client asking to renegotiate gets a no_renegotiation alert and the connection
    ends; the client does not have to go away by itself."""
    s = scenario.build(ctx, tls="optional")
    p = subprocess.Popen(["openssl", "s_client", "-connect", "127.0.0.1:%d" % s.tls, "-tls1_2"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         cwd=ctx.dir)
    try:
        time.sleep(0.5)
        p.stdin.write(b"R\n")
        p.stdin.flush()  # stdin stays open: only the server can end the session
        out, _ = p.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
        raise client.TestFailure("the connection stayed open after a renegotiation request: %s"
                                 % out.decode(errors="replace")[-300:])
    text = out.decode(errors="replace")
    check("RENEGOTIATING" in text, "s_client did not renegotiate: %s" % text[-300:])
    check("no renegotiation" in text, "no no_renegotiation alert: %s" % text[-400:])
    s.assert_alive()


def ticket_name(ctx, sess):
    """The key name (first 16 bytes) of the ticket in a session file s_client wrote."""
    p = subprocess.run(["openssl", "sess_id", "-in", sess, "-text", "-noout"],
                       stdout=subprocess.PIPE, universal_newlines=True, cwd=ctx.dir, check=True)
    lines = p.stdout.splitlines()
    i = next(k for k, line in enumerate(lines) if "TLS session ticket:" in line)
    hint = next(line for line in lines if "lifetime hint" in line)
    return lines[i + 1].split(" - ", 1)[1][:47], hint


@case
def tls_session_tickets_lifetime_and_rotation(ctx):
    """Tickets carry the listener's lifetime (here 2 s); one key serves every
    worker and connection for a period, then a new one encrypts while the old one still opens its
    tickets; past both periods a ticket no longer resumes."""
    s = scenario.build(ctx, tls="optional", start=False)
    cfg = s.gw.read_config()
    for lst in cfg["listeners"]:
        if "tls" in lst:  # the process's only TLS listener: its lifetime is the key period
            lst["tls"]["ticket_lifetime_s"] = 2
    s.gw.write_config(cfg)
    s.gw.start()
    short = s.tls

    def new_session(name):
        rc, out = s_client(ctx, short, "-tls1_2", "-sess_out", name)
        check(rc == 0, "handshake failed: %s" % out[-300:])
        return ticket_name(ctx, name)

    def resumes(name):
        rc, out = s_client(ctx, short, "-tls1_2", "-sess_in", name)
        return rc == 0 and "Reused, TLSv1.2" in out

    names = [new_session("s%d.sess" % i) for i in range(4)]
    check("lifetime hint: 2 " in names[0][1], "lifetime hint %s" % names[0][1])
    first = names[0][0]
    check(all(n[0] == first for n in names), "ticket keys differ within a period: %s" % names)
    check(resumes("s0.sess"), "a fresh ticket did not resume")
    time.sleep(2.2)
    later = new_session("later.sess")[0]
    check(later != first, "the ticket key was not rotated after its period")
    check(resumes("later.sess"), "a ticket of the new key did not resume")
    time.sleep(4.5)
    check(not resumes("later.sess"), "a ticket resumed past two periods")
    s.assert_alive()
