"""Shared helpers for end-to-end test scripts: TAP output, free loopback
ports, starting the built binaries, and waiting for them.  Test scripts run
with Debian's /usr/bin/python3 (so Debian's python3-* modules are there) and
get SCOP_SRCDIR / SCOP_BUILDDIR from the build's test environment."""
import os
import socket
import subprocess
import sys
import time
import traceback

SRCDIR = os.environ.get("SCOP_SRCDIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BUILDDIR = os.environ.get("SCOP_BUILDDIR", os.path.join(SRCDIR, "build"))


class Tap:
    """Collects results and prints TAP.  Use t.ok(cond, desc) or the
    t.case(desc) decorator for a function whose exception means failure."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, desc, diag=None):
        self.n += 1
        if not cond:
            self.failed += 1
        print(("ok" if cond else "not ok") + " %d - %s" % (self.n, desc), flush=True)
        if not cond and diag:
            for line in str(diag).splitlines():
                print("# " + line, flush=True)
        return cond

    def case(self, desc):
        def wrap(fn):
            try:
                fn()
                self.ok(True, desc)
            except Exception:
                self.ok(False, desc, traceback.format_exc())
            return fn
        return wrap

    def done(self):
        print("1..%d" % self.n, flush=True)
        sys.exit(1 if self.failed else 0)


def free_port(host="127.0.0.1"):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_port(port, host="127.0.0.1", timeout=20.0, proc=None):
    """Waits until something accepts on host:port; raises on timeout or
    when proc exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("process exited with %s before listening" % proc.returncode)
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("nothing listening on %s:%d" % (host, port))


def binary(name):
    """Path of a built program, e.g. binary('scopd')."""
    for cand in (os.path.join(BUILDDIR, name), os.path.join(BUILDDIR, "homeserver", name),
                 os.path.join(BUILDDIR, "bridge-smtp", name)):
        if os.path.exists(cand):
            return cand
    raise FileNotFoundError(name)


class Proc:
    """A child process whose output goes to a log file, stopped on exit
    (use as a context manager)."""

    def __init__(self, argv, log_path, env=None):
        self.log = open(log_path, "wb")
        self.p = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, env=env)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self, timeout=10):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()
        return self.p.returncode
