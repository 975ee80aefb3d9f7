"""Test certificates, made with the openssl CLI at test time (never committed).

Everything lands in one folder (BUILD/it/certs). A stamp file records the layout version: when it
matches, the folder is reused, otherwise it is rebuilt from scratch in a temporary folder that is
renamed into place, so an interrupted run never leaves half a set behind.

The set:
  server-ca      -> server          (localhost, 127.0.0.1): the gateway's listener certificate
  acme-ca        -> acme-client, acme-expired, acme-future, acme-revoked (+ acme-crl.pem)
  globex-ca      -> globex-client, globex-copy (copies acme-client's subject exactly)
  rogue-ca       -> rogue-client (acme's subject, unknown CA), upstream-rogue (localhost)
  upstream-ca    -> upstream (localhost), upstream-wrongname (wrong.example)
  bank-ca        -> outbound (the gateway's client identity towards the https upstream)
"""

import hashlib
import json
import os
import shutil
import ssl
import subprocess
import tempfile

LAYOUT_VERSION = "portico-it-certs-3"

CA_SUBJECTS = {
    "server-ca": "/O=Portico IT/CN=Portico IT Server CA",
    "acme-ca": "/O=ACME/CN=ACME Partner CA",
    "globex-ca": "/O=Globex/CN=Globex Partner CA",
    "rogue-ca": "/O=Rogue/CN=Rogue Unknown CA",
    "upstream-ca": "/O=Portico IT/CN=Portico IT Upstream CA",
    "bank-ca": "/O=Bank/CN=Bank Client CA",
}

ACME_SUBJECT = "/O=ACME/CN=acme-client"

# name: (issuer, subject, kind, subjectAltName or None, (startdate, enddate) or None)
LEAVES = [
    ("server", "server-ca", "/O=Portico IT/CN=localhost", "server",
     "DNS:localhost,IP:127.0.0.1", None),
    ("acme-client", "acme-ca", ACME_SUBJECT, "client", None, None),
    ("acme-expired", "acme-ca", ACME_SUBJECT, "client", None,
     ("20200101000000Z", "20210101000000Z")),
    ("acme-future", "acme-ca", ACME_SUBJECT, "client", None,
     ("20900101000000Z", "20910101000000Z")),
    ("acme-revoked", "acme-ca", ACME_SUBJECT, "client", None, None),
    ("globex-client", "globex-ca", "/O=Globex/CN=globex-client", "client", None, None),
    ("globex-copy", "globex-ca", ACME_SUBJECT, "client", None, None),
    ("rogue-client", "rogue-ca", ACME_SUBJECT, "client", None, None),
    ("upstream", "upstream-ca", "/O=Portico IT/CN=localhost", "server",
     "DNS:localhost,IP:127.0.0.1", None),
    ("upstream-wrongname", "upstream-ca", "/O=Portico IT/CN=wrong.example", "server",
     "DNS:wrong.example", None),
    ("upstream-rogue", "rogue-ca", "/O=Portico IT/CN=localhost", "server",
     "DNS:localhost,IP:127.0.0.1", None),
    ("outbound", "bank-ca", "/O=Portico IT/CN=portico-outbound", "client", None, None),
]

REVOKED = [("acme-revoked", "acme-ca")]
CRLS = ["acme-ca"]

REQ_CONF = """[ req ]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[ dn ]
CN = placeholder
[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""

CA_CONF = """[ ca ]
default_ca = ca_here
[ ca_here ]
dir = {dir}
database = $dir/index.txt
new_certs_dir = $dir/issued
serial = $dir/serial
crlnumber = $dir/crlnumber
certificate = {cert}
private_key = {key}
default_md = sha256
default_days = 3650
default_crl_days = 3650
policy = policy_loose
unique_subject = no
copy_extensions = none
email_in_dn = no
[ policy_loose ]
organizationName = optional
commonName = optional
"""

EXT_CONF = """[ ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = {eku}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
{san}
"""


class CertError(Exception):
    pass


def _run(args, cwd):
    p = subprocess.run(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    if p.returncode != 0:
        raise CertError("%s failed: %s" % (" ".join(args[:3]),
                                           p.stderr.decode(errors="replace").strip()[-400:]))
    return p.stdout.decode(errors="replace")


def _genkey(path, cwd):
    _run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
          "-out", path], cwd)


def _make_ca(name, subject, d):
    key = os.path.join(d, name + ".key")
    cert = os.path.join(d, name + ".pem")
    _genkey(key, d)
    req_conf = os.path.join(d, "req.cnf")
    _run(["openssl", "req", "-config", req_conf, "-x509", "-new", "-key", key, "-subj", subject,
          "-days", "3650", "-sha256", "-out", cert], d)
    cadir = os.path.join(d, "db-" + name)
    os.makedirs(os.path.join(cadir, "issued"))
    open(os.path.join(cadir, "index.txt"), "w").close()
    with open(os.path.join(cadir, "serial"), "w") as f:
        f.write("1000\n")
    with open(os.path.join(cadir, "crlnumber"), "w") as f:
        f.write("1000\n")
    with open(os.path.join(cadir, "ca.cnf"), "w") as f:
        f.write(CA_CONF.format(dir=cadir, cert=cert, key=key))


def _issue(name, issuer, subject, kind, san, dates, d):
    key = os.path.join(d, name + ".key")
    csr = os.path.join(d, name + ".csr")
    cert = os.path.join(d, name + ".pem")
    ext = os.path.join(d, name + ".ext")
    _genkey(key, d)
    _run(["openssl", "req", "-config", os.path.join(d, "req.cnf"), "-new", "-key", key,
          "-subj", subject, "-out", csr], d)
    with open(ext, "w") as f:
        f.write(EXT_CONF.format(eku="serverAuth" if kind == "server" else "clientAuth",
                                san="subjectAltName = " + san if san else ""))
    args = ["openssl", "ca", "-batch", "-notext", "-preserveDN",
            "-config", os.path.join(d, "db-" + issuer, "ca.cnf"),
            "-extfile", ext, "-extensions", "ext", "-in", csr, "-out", cert]
    if dates:
        args += ["-startdate", dates[0], "-enddate", dates[1]]
    _run(args, d)
    os.unlink(csr)
    os.unlink(ext)


def _generate(d):
    with open(os.path.join(d, "req.cnf"), "w") as f:
        f.write(REQ_CONF)
    for name, subject in CA_SUBJECTS.items():
        _make_ca(name, subject, d)
    for leaf in LEAVES:
        _issue(*leaf, d)
    for name, issuer in REVOKED:
        _run(["openssl", "ca", "-batch", "-config", os.path.join(d, "db-" + issuer, "ca.cnf"),
              "-revoke", os.path.join(d, name + ".pem"), "-crl_reason", "keyCompromise"], d)
    for ca in CRLS:
        crl = os.path.join(d, ca.replace("-ca", "") + "-crl.pem")
        _run(["openssl", "ca", "-batch", "-config", os.path.join(d, "db-" + ca, "ca.cnf"),
              "-gencrl", "-out", crl], d)
    info = {}
    for name in list(CA_SUBJECTS) + [leaf[0] for leaf in LEAVES]:
        path = os.path.join(d, name + ".pem")
        subj = _run(["openssl", "x509", "-in", path, "-noout", "-subject", "-nameopt",
                     "RFC2253"], d).strip()
        with open(path) as f:
            der = ssl.PEM_cert_to_DER_cert(f.read())
        info[name] = {"subject": subj.split("=", 1)[1] if subj.startswith("subject=") else subj,
                      "sha256": hashlib.sha256(der).hexdigest()}
    with open(os.path.join(d, "info.json"), "w") as f:
        json.dump(info, f, indent=1)
    with open(os.path.join(d, "STAMP"), "w") as f:
        f.write(LAYOUT_VERSION + "\n")


class Certs:
    """Paths and facts about the generated certificates."""

    def __init__(self, d):
        self.dir = d
        with open(os.path.join(d, "info.json")) as f:
            self.info = json.load(f)

    def pem(self, name):
        return os.path.join(self.dir, name + ".pem")

    def key(self, name):
        return os.path.join(self.dir, name + ".key")

    def crl(self, ca):
        return os.path.join(self.dir, ca + "-crl.pem")

    def subject(self, name):
        """RFC 2253 subject, as `openssl x509 -nameopt RFC2253` prints it."""
        return self.info[name]["subject"]

    def sha256(self, name):
        """Lower-case hex SHA-256 of the certificate's DER encoding."""
        return self.info[name]["sha256"]

    def ca_cn(self, name):
        return CA_SUBJECTS[name].rsplit("CN=", 1)[1]


def ensure(d):
    """Return Certs for folder d, generating the whole set unless a current one is there."""
    stamp = os.path.join(d, "STAMP")
    try:
        with open(stamp) as f:
            if f.read().strip() == LAYOUT_VERSION:
                return Certs(d)
    except OSError:
        pass
    parent = os.path.dirname(os.path.abspath(d))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".certs-", dir=parent)
    try:
        _generate(tmp)
        if os.path.exists(d):
            shutil.rmtree(d)
        os.rename(tmp, d)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    return Certs(d)
