"""The standard test setup: one echo upstream, a plain listener, optionally a TLS listener, the
partners acme and globex, and the routes most tests use.

Shared routes (portico.json):
  health    GET /health      mock:200                       public
  pub       /pub/*           echo upstream                  public
  only-get  GET /only-get    echo upstream                  public
  slow      /slow/*          echo upstream, timeout 1000 ms public
  shared    /shared/*        echo upstream                  partners acme, globex
Partner acme (identity: acme-ca + CRL, subject CN=acme-client,O=ACME):
  orders    POST,GET /acme/orders   echo upstream, timeout 2000 ms
  api       /acme/api/*             echo upstream
Partner globex (identity: globex-ca, subject CN=globex-client,O=Globex unless told otherwise):
  api       /globex/*               echo upstream
"""

import copy

import client
from client import check

NODE = "it"

DEFAULT_LIMITS = {"max_header_bytes": 16384, "max_headers": 100, "max_body_bytes": 10485760}
DEFAULT_TIMEOUTS = {"client_header_ms": 5000, "client_body_ms": 5000, "keepalive_ms": 15000,
                    "upstream_connect_ms": 2000, "upstream_response_ms": 5000}


class Setup:
    def __init__(self, ctx, gw, up):
        self.ctx = ctx
        self.gw = gw
        self.up = up
        self.certs = ctx.certs

    @property
    def plain(self):
        return self.gw.plain

    @property
    def tls(self):
        return self.gw.tls

    def tls_ctx(self, cert=None, **kw):
        return client.client_context(self.certs, cert, **kw)

    def get(self, path, headers=None, **kw):
        """GET on the plain listener, fresh connection."""
        return client.request(self.plain, "GET", path, headers, **kw)

    def tls_get(self, cert, path, headers=None, **kw):
        return client.request(self.tls, "GET", path, headers, ctx=self.tls_ctx(cert), **kw)

    def echo(self, r):
        """The upstream's echo document from a response, checking it is one."""
        check(r.status == 200, "status %d, expected 200 from the upstream (body %r)"
              % (r.status, r.body[:300]))
        doc = r.json()
        check(isinstance(doc, dict) and "headers" in doc, "not an echo document: %r"
              % r.body[:200])
        return doc

    def kill(self):
        """SIGKILL the gateway (nothing it holds is flushed or closed) and reap it."""
        self.gw.proc.kill()
        self.gw.proc.wait(10)
        self.gw.stopped = True
        self.gw.out.close()
        self.gw.err.close()

    def start_again(self):
        """A new gateway process with the same configuration, folders and ports (after kill()
        or gw.stop()); self.gw is the new one, and returned."""
        gw = self.ctx.gateway(self.gw.read_config(), start=False)
        gw.ports = self.gw.ports
        gw.hosts = self.gw.hosts
        gw.start()
        self.gw = gw
        return gw

    def assert_alive(self, what="after the bad input"):
        """The gateway process runs and serves a normal request on a new connection."""
        check(self.gw.alive(), "gateway process gone %s: %s" % (what, self.gw.stderr_tail()))
        try:
            r = self.get("/pub/alive-check")
        except (client.Closed, OSError) as e:
            raise client.TestFailure("normal request %s failed: %s" % (what, e))
        doc = self.echo(r)
        check(doc["target"] == "/pub/alive-check" and doc["method"] == "GET",
              "normal request %s reached the upstream as %s %s"
              % (what, doc["method"], doc["target"]))


def hvals(doc, name):
    """Values of header `name` (any case) in an echo document, in order."""
    name = name.lower()
    return [v for n, v in doc["headers"] if n.lower() == name]


def route(name, path, upstream, **kw):
    r = {"name": name, "path": path, "upstream": upstream}
    r.update(kw)
    return r


def build(ctx, tls=None, limits=None, timeouts=None, trusted=None, routes=(), acme_routes=(),
          acme_outbound=False, acme_limits=None, globex_subject=True, up=None, workers=2,
          listeners=(), start=True, acme_files=None, acme_extra=None, config_extra=None,
          globex_files=None, globex_extra=None):
    """Build the standard setup and start the gateway. tls: None, "require" or "optional".
    routes / acme_routes: extra shared / acme routes; listeners: extra listeners (addresses may
    hold a "{name}" port placeholder); acme_limits: acme's "limits"; acme_files: more files for
    acme's bundle {name: source path}; acme_extra / config_extra: more top-level keys of acme's
    partner.json / portico.json; globex_files / globex_extra: the same for globex. Returns a
    Setup."""
    certs = ctx.certs
    if up is None:
        up = ctx.upstream("echo")
    u = "http://127.0.0.1:%d" % up.port
    listeners = [{"address": "127.0.0.1:{plain}"}] + [dict(lst) for lst in listeners]
    files = {}
    if tls:
        listeners.insert(0, {"address": "127.0.0.1:{tls}", "tls": {
            "certificates": [{"cert": "server.pem", "key": "server.key"}],
            "client_auth": tls}})
        files = {"server.pem": certs.pem("server"), "server.key": certs.key("server")}
    lim = dict(DEFAULT_LIMITS)
    lim.update(limits or {})
    tmo = dict(DEFAULT_TIMEOUTS)
    tmo.update(timeouts or {})
    shared = [
        route("health", "/health", "mock:200", methods=["GET"], public=True),
        route("pub", "/pub/*", u, public=True),
        route("only-get", "/only-get", u, methods=["GET"], public=True),
        route("slow", "/slow/*", u, public=True, timeout_ms=1000),
        route("shared", "/shared/*", u, partners=["acme", "globex"]),
    ] + list(routes)
    config = {
        "node": NODE, "workers": workers, "listeners": listeners,
        "partners_dir": "partners.d",
        "trusted_proxies": trusted if trusted is not None else ["10.0.0.0/8"],
        "limits": lim, "timeouts": tmo, "routes": shared, "_files": files,
    }
    acme = {
        "id": "acme", "name": "ACME Bank",
        "identity": {"ca": "ca.pem", "crl": "crl.pem", "subject": certs.subject("acme-client")},
        "routes": [
            route("orders", "/acme/orders", u, methods=["POST", "GET"], timeout_ms=2000),
            route("api", "/acme/api/*", u),
        ] + list(acme_routes),
    }
    if acme_limits:
        acme["limits"] = acme_limits
    acme.update(acme_extra or {})
    config.update(config_extra or {})
    extra_files = acme_files or {}
    acme_files = {"ca.pem": certs.pem("acme-ca"), "crl.pem": certs.crl("acme")}
    acme_files.update(extra_files)
    if acme_outbound:
        acme["outbound"] = {"cert": "out.pem", "key": "out.key", "ca": "upstream-ca.pem"}
        acme_files.update({"out.pem": certs.pem("outbound"), "out.key": certs.key("outbound"),
                           "upstream-ca.pem": certs.pem("upstream-ca")})
    globex = {
        "id": "globex", "name": "Globex Logistics",
        "identity": {"ca": "ca.pem"},
        "routes": [route("api", "/globex/*", u)],
    }
    if globex_subject:
        globex["identity"]["subject"] = certs.subject("globex-client")
    globex.update(globex_extra or {})
    gfiles = {"ca.pem": certs.pem("globex-ca")}
    gfiles.update(globex_files or {})
    partners = {
        "acme": {"json": acme, "files": acme_files},
        "globex": {"json": globex, "files": gfiles},
    }
    gw = ctx.gateway(copy.deepcopy(config), partners, start=start)
    return Setup(ctx, gw, up)
