"""Keys and signatures for the signature tests (cases_jws, cases_xmldsig, cases_http_signature),
made with the openssl CLI in the test's folder: a partner's signing key with its self-signed
certificate, the certificate's SHA-256 the audit names, ECDSA signatures as JOSE's and RFC 9421's
raw r||s, and base64url."""

import base64
import hashlib
import os
import subprocess

from client import check


def openssl(*args, data=None, cwd=None):
    """Run `openssl args...` (standard input data); its standard output, or the test fails."""
    p = subprocess.run(["openssl"] + list(args), input=data, capture_output=True, cwd=cwd,
                       timeout=60)
    check(p.returncode == 0, "openssl %s: %s" % (" ".join(args), p.stderr.decode()[-300:]))
    return p.stdout


KINDS = {"p256": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
         "ed25519": ["-algorithm", "ED25519"],
         "rsa": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]}


def signing_key(ctx, name, kind="p256", cert=True):
    """A private key of kind (p256, ed25519, rsa) in ctx.dir/name.key, its public key in
    name.pub.pem and, with cert, a self-signed certificate in name.pem. Returns the paths:
    (key, certificate or None, public key)."""
    key = os.path.join(ctx.dir, name + ".key")
    pub = os.path.join(ctx.dir, name + ".pub.pem")
    openssl("genpkey", *KINDS[kind], "-out", key)
    openssl("pkey", "-in", key, "-pubout", "-out", pub)
    if not cert:
        return key, None, pub
    pem = os.path.join(ctx.dir, name + ".pem")
    openssl("req", "-x509", "-new", "-key", key, "-subj", "/CN=%s signing" % name, "-days", "30",
            "-out", pem)
    return key, pem, pub


def cert_sha256(pem):
    """The SHA-256 (hex) of a certificate's DER: the audit's cert_sha256."""
    return hashlib.sha256(openssl("x509", "-in", pem, "-outform", "DER")).hexdigest()


def der_to_raw(der, half=32):
    """An ECDSA signature from DER (a SEQUENCE of two INTEGERs) to the raw r||s."""
    check(der[0] == 0x30 and der[1] < 0x80, "DER: not a short SEQUENCE")
    out, i = b"", 2
    for _ in range(2):
        check(der[i] == 0x02, "DER: not an INTEGER")
        n = der[i + 1]
        out += der[i + 2:i + 2 + n].lstrip(b"\0").rjust(half, b"\0")
        i += 2 + n
    return out


def raw_to_der(raw):
    """The raw r||s of an ECDSA signature as DER, for openssl to verify."""
    def integer(b):
        b = b.lstrip(b"\0") or b"\0"
        if b[0] & 0x80:
            b = b"\0" + b
        return bytes([2, len(b)]) + b
    body = integer(raw[:len(raw) // 2]) + integer(raw[len(raw) // 2:])
    return bytes([0x30, len(body)]) + body


def es256(key, data):
    """data signed with the P-256 key (SHA-256), as the raw r||s."""
    return der_to_raw(openssl("dgst", "-sha256", "-sign", key, data=data))


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
