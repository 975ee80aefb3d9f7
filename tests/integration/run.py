#!/usr/bin/python3
"""Portico integration suite: the real binary, real sockets, real TLS.

Usage: run.py [FILTER]    (FILTER: a substring of the test names to run)
Env:   PORTICO  the gateway binary (default: bin/portico of this tree)
       BUILD    a build folder; generated files go to $BUILD/it (default: build/release)

Prints "ok NAME" or "FAIL NAME: reason" per test and ends with "N passed, N failed"; exits 1 when
any test failed. Each test's files (config, gateway stdout/stderr, failure trace) stay in
$BUILD/it/run/NAME for a look afterwards.
"""

import os
import shutil
import signal
import sys
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # keep the source tree clean

import certs  # noqa: E402
import harness  # noqa: E402

MODULES = ["cases_http", "cases_proxy", "cases_tls", "cases_reload", "cases_check",
           "cases_transform", "cases_audit", "cases_connectors", "cases_upstreams",
           "cases_failover", "cases_kafka", "cases_outbox", "cases_delivery",
           "cases_idempotency", "cases_admin", "cases_logs", "cases_partner_cmd", "cases_limits",
           "cases_usage", "cases_cluster", "cases_keys", "cases_jws",
           "cases_xmldsig", "cases_http_signature"]


NOTES = []


class TestTimeout(Exception):
    pass


def on_alarm(signum, frame):
    raise TestTimeout("test took too long")


def one_line(s):
    return " ".join(str(s).split())[:600]


def run_one(env, name, fn, timeout):
    """Run one test. Returns None on success or the reason it failed; what it noted (figures
    worth seeing, ctx.note) goes to NOTES."""
    reason = None
    ctx = None
    trace = ""
    signal.alarm(timeout)
    try:
        ctx = harness.Ctx(env, name)
        fn(ctx)
    except TestTimeout:
        reason = "no result after %ds" % timeout
        trace = traceback.format_exc()
    except AssertionError as e:
        reason = str(e) or "assertion failed"
        trace = traceback.format_exc()
    except Exception as e:
        reason = "%s: %s" % (type(e).__name__, e)
        trace = traceback.format_exc()
    finally:
        signal.alarm(0)
    if ctx is not None:
        signal.alarm(30)
        try:
            problems = ctx.teardown()
        except TestTimeout:
            problems = ["teardown took too long"]
        finally:
            signal.alarm(0)
        if problems:
            reason = "; ".join(([reason] if reason else []) + problems)
        if reason:
            with open(os.path.join(ctx.dir, "failure.txt"), "w") as f:
                f.write(reason + "\n\n" + trace + "\n" + "\n".join(ctx.notes) + "\n")
        NOTES[:] = ctx.notes
    return reason


def main():
    filt = sys.argv[1] if len(sys.argv) > 1 else ""
    root = os.path.dirname(os.path.dirname(HERE))
    portico = os.path.abspath(os.environ.get("PORTICO") or os.path.join(root, "bin", "portico"))
    build = os.path.abspath(os.environ.get("BUILD") or os.path.join(root, "build", "release"))
    itdir = os.path.join(build, "it")
    signal.signal(signal.SIGALRM, on_alarm)
    for m in MODULES:
        __import__(m)
    tests = [t for t in harness.TESTS if filt in t[0]]
    passed = failed = 0
    try:
        cs = certs.ensure(os.path.join(itdir, "certs"))
    except Exception as e:
        print("FAIL setup: certificates: %s" % one_line(e), flush=True)
        print("0 passed, 1 failed", flush=True)
        return 1
    if not filt:
        shutil.rmtree(os.path.join(itdir, "run"), ignore_errors=True)
    env = harness.Env(portico, itdir, cs)
    for name, fn, timeout in tests:
        reason = run_one(env, name, fn, timeout)
        if reason is None:
            passed += 1
            print("ok %s" % name, flush=True)
            for n in NOTES:
                print("   %s" % n, flush=True)
        else:
            failed += 1
            print("FAIL %s: %s" % (name, one_line(reason)), flush=True)
    if not tests:
        print("FAIL select: no test name contains %r" % filt, flush=True)
        failed += 1
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
