"""The harness: one folder per test, the gateway process, the config it runs with.

A test gets a Ctx. Ctx.gateway(...) writes portico.json and the partner bundles into the test's
folder, starts `$PORTICO serve -c FILE` on free loopback ports and waits until every listener
accepts. At teardown the gateway gets SIGTERM; the test fails if the process had died, crashed
(killed by a signal other than SIGTERM), did not exit, or wrote a line with "[alert]", "[crit]" or
sanitizer output to stderr.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import time

import client
import upstream

BAD_LOG_MARKS = ("[alert]", "[crit]", '"level":"crit"', "AddressSanitizer", "LeakSanitizer",
                 "runtime error")


GIVEN_PORTS = set()  # every port free_port handed out in this run


def free_port():
    """A loopback port nothing listens on, never one handed out before in this run: the kernel
    may give the same free port to two binds in a row, and a configuration with two listeners on
    one port is refused."""
    while True:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        if port not in GIVEN_PORTS:
            GIVEN_PORTS.add(port)
            return port


def wait_port(host, port, proc, timeout):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


class Env:
    """What the whole run shares: the binary, the build folder, the certificates."""

    def __init__(self, portico, itdir, certs):
        self.portico = portico
        self.itdir = itdir
        self.certs = certs


class Ctx:
    """One test: its folder, what to undo at the end, the failures found while undoing it."""

    def __init__(self, env, name):
        self.env = env
        self.certs = env.certs
        self.name = name
        self.dir = os.path.join(env.itdir, "run", name)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self._cleanups = []
        self.notes = []

    def note(self, msg):
        self.notes.append(msg)

    def defer(self, fn):
        self._cleanups.append(fn)

    def teardown(self):
        """Run the cleanups, newest first. Returns the failures they reported."""
        problems = []
        while self._cleanups:
            fn = self._cleanups.pop()
            try:
                msg = fn()
                if msg:
                    problems.append(msg)
            except Exception as e:  # a cleanup must not stop the others
                problems.append("cleanup: %s: %s" % (type(e).__name__, e))
        return problems

    def upstream(self, name="up", tls=None, also_v6=False, host="127.0.0.1", port=0):
        up = upstream.Upstream(name, tls=tls, also_v6=also_v6, host=host, port=port)
        self.defer(lambda: up.close())
        return up

    def gateway(self, config, partners=None, start=True, folder="gw"):
        gw = Gateway(self, config, partners or {}, folder)
        if start:
            gw.start()
        return gw

    def run(self, args, timeout=30):
        return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout, cwd=self.dir)


class Gateway:
    """A portico process with its config folder.

    config: the portico.json document; listener addresses may use the placeholders
    "127.0.0.1:{plain}", "127.0.0.1:{tls}" (any "{name}" is replaced with a free port, kept in
    .ports). partners: {id: {"json": partner.json document, "files": {name: source path}}}.
    Other files to copy next to portico.json: config["_files"] = {name: source path}.
    """

    def __init__(self, ctx, config, partners, folder="gw"):
        self.ctx = ctx
        self.dir = os.path.join(ctx.dir, folder)
        os.makedirs(self.dir, exist_ok=True)
        self.ports = {}
        self.hosts = {}
        self.proc = None
        self.stopped = False
        cfg = dict(config)
        for name, src in cfg.pop("_files", {}).items():
            shutil.copy(src, os.path.join(self.dir, name))
        for lst in cfg.get("listeners", []):
            addr = lst["address"]
            if "{" in addr:
                key = addr[addr.index("{") + 1:addr.index("}")]
                self.ports.setdefault(key, free_port())
                self.hosts[key] = addr.rsplit(":", 1)[0].strip("[]") or "127.0.0.1"
                lst["address"] = addr.replace("{%s}" % key, str(self.ports[key]))
        self.config_path = os.path.join(self.dir, "portico.json")
        with open(self.config_path, "w") as f:
            json.dump(cfg, f, indent=2)
            f.write("\n")
        self.partners_dir = os.path.join(self.dir, cfg.get("partners_dir", "partners.d"))
        os.makedirs(self.partners_dir, exist_ok=True)
        for pid, bundle in partners.items():
            self.write_partner(pid, bundle)
        tag = "" if folder == "gw" else "-" + folder
        self.stdout_path = os.path.join(ctx.dir, "gateway%s.stdout" % tag)
        self.stderr_path = os.path.join(ctx.dir, "gateway%s.stderr" % tag)

    def write_partner(self, pid, bundle):
        """(Re)write the bundle partners_dir/pid: {"json": document, "files": {name: source}}."""
        bdir = os.path.join(self.partners_dir, pid)
        os.makedirs(bdir, exist_ok=True)
        for name, src in bundle.get("files", {}).items():
            os.makedirs(os.path.dirname(os.path.join(bdir, name)), exist_ok=True)
            shutil.copy(src, os.path.join(bdir, name))
        tmp = os.path.join(self.dir, ".partner-%s.json.tmp" % pid)
        with open(tmp, "w") as f:
            json.dump(bundle["json"], f, indent=2)
            f.write("\n")
        os.rename(tmp, os.path.join(bdir, "partner.json"))

    def partner_file(self, pid):
        return os.path.join(self.partners_dir, pid, "partner.json")

    def write_config(self, cfg):
        """Replace portico.json (atomically) with the document cfg."""
        tmp = self.config_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(cfg, f, indent=2)
            f.write("\n")
        os.rename(tmp, self.config_path)

    def read_config(self):
        with open(self.config_path) as f:
            return json.load(f)

    def reload(self):
        """SIGHUP: the gateway reloads its configuration."""
        self.proc.send_signal(signal.SIGHUP)

    @property
    def plain(self):
        return self.ports.get("plain")

    @property
    def tls(self):
        return self.ports.get("tls")

    def start(self, timeout=15.0):
        self.out = open(self.stdout_path, "wb")
        self.err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen([self.ctx.env.portico, "serve", "-c", self.config_path],
                                     stdout=self.out, stderr=self.err, cwd=self.dir)
        self.ctx.defer(self.stop)
        for name, port in self.ports.items():
            if not wait_port(self.hosts.get(name, "127.0.0.1"), port, self.proc, timeout):
                rc = self.proc.poll()
                raise client.TestFailure("gateway %s on port %d: %s; stderr: %s" % (
                    "exited with %s before listening" % rc if rc is not None
                    else "not listening after %gs" % timeout, port, name, self.stderr_tail()))
        return self

    def stderr_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stderr_tail(self, n=3):
        lines = [l for l in self.stderr_text().splitlines() if l.strip()]
        return " | ".join(lines[-n:]) if lines else "(empty)"

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM and judge how the process ended. Returns a failure message or None."""
        if self.proc is None or self.stopped:
            return None
        self.stopped = True
        problems = []
        rc = self.proc.poll()
        if rc is not None:
            problems.append("gateway died during the test (%s)" % describe_rc(rc))
        else:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                problems.append("gateway still running 10s after SIGTERM")
                rc = None
            if rc is not None and rc != 0 and rc != -signal.SIGTERM:
                problems.append("gateway ended with %s after SIGTERM" % describe_rc(rc))
        self.out.close()
        self.err.close()
        bad = [l for l in self.stderr_text().splitlines()
               if any(m in l for m in BAD_LOG_MARKS)]
        if bad:
            problems.append("gateway stderr: %s" % " | ".join(bad[:3]))
        if problems:
            return "; ".join(problems) + " (logs: %s)" % self.ctx.dir
        return None


def describe_rc(rc):
    if rc < 0:
        try:
            return "signal %s" % signal.Signals(-rc).name
        except ValueError:
            return "signal %d" % -rc
    return "exit status %d" % rc


TESTS = []


def case(fn=None, timeout=60):
    """Register a test function fn(ctx); its name is the function's name. timeout: seconds
    before the runner gives up on it."""
    def reg(f):
        TESTS.append((f.__name__, f, timeout))
        return f
    return reg(fn) if fn is not None else reg
