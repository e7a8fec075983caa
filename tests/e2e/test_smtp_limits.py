#!/usr/bin/python3
"""End-to-end test of scop-mailbridge's session limits and event loop:
many concurrent clients served by one thread, the connection cap, and the
idle and whole-session time limits (421 4.4.2).  Every client here comes
from 127.0.0.1, so the per-address limits (test_smtp_policy.py) are off."""
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scoptest import Tap, Proc, binary, free_port, wait_port  # noqa: E402

t = Tap()
tmp = tempfile.mkdtemp(prefix="scop-smtp-limits-")


def start(name, limits, wrap=()):
    port = free_port()
    conf = os.path.join(tmp, name + ".yaml")
    with open(conf, "w") as f:
        f.write("hostname: mx.test.example\nlocal_domains: [example.org]\n"
                "listeners: {mx: {address: 127.0.0.1, port: %d}}\n"
                "spool_dir: %s\nlog_level: warn\nlimits: %s\n"
                "client_limits: {max_connections: 0, max_connection_rate: 0}\n"
                % (port, os.path.join(tmp, name + "-spool"), limits))
    p = Proc(list(wrap) + [binary("scop-mailbridge"), "-c", conf], os.path.join(tmp, name + ".log"))
    wait_port(port, proc=p.p)
    return p, port


def read_line(s, buf):
    while b"\r\n" not in buf[0]:
        chunk = s.recv(4096)
        if not chunk:
            raise EOFError("closed")
        buf[0] += chunk
    line, buf[0] = buf[0].split(b"\r\n", 1)
    return line.decode()


def threads(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return -1


N = 200
big, big_port = start("many", "{max_sessions: %d, idle_timeout: 120, session_timeout: 300}" % N)
socks = []


@t.case("%d concurrent clients each get a greeting, served without a thread per client" % N)
def _():
    # wait_port's probe connection may still count for a moment: retry
    # a refused one briefly.
    for _ in range(N):
        for attempt in range(50):
            s, buf = socket.create_connection(("127.0.0.1", big_port), timeout=30), [b""]
            line = read_line(s, buf)
            if line.startswith("220 "):
                break
            s.close()
            time.sleep(0.1)
        assert line.startswith("220 "), line
        socks.append((s, buf))
    n = threads(big.p.pid)
    assert 1 <= n <= 4, "daemon runs %d threads for %d idle clients" % (n, N)


@t.case("the connection past max_sessions gets 421 4.3.2")
def _():
    s = socket.create_connection(("127.0.0.1", big_port), timeout=30)
    buf = [b""]
    line = read_line(s, buf)
    assert line.startswith("421 4.3.2"), line
    s.close()


@t.case("all %d clients deliver a pipelined message at once" % N)
def _():
    for i, (s, _) in enumerate(socks):
        s.sendall(("EHLO c%d\r\nMAIL FROM:<a%d@remote.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n" % (i, i))
                  .encode())
    for s, buf in socks:
        while not read_line(s, buf).startswith("250 "):  # end of the EHLO reply
            pass
        codes = [read_line(s, buf)[:3] for _ in range(3)]
        assert codes == ["250", "250", "354"], codes
    for i, (s, _) in enumerate(socks):
        s.sendall(b"Subject: concurrent %d\r\n\r\nhello\r\n.\r\nQUIT\r\n" % i)
    for s, buf in socks:
        line = read_line(s, buf)
        assert line.startswith("250 2.0.0 Ok: queued"), line
        assert read_line(s, buf).startswith("221 ")
        s.close()
    assert len(os.listdir(os.path.join(tmp, "many-spool", "queue"))) == N


@t.case("clients that reset the connection right after the final dot do not upset the daemon")
def _():
    import struct
    before = len(os.listdir(os.path.join(tmp, "many-spool", "queue")))
    for i in range(40):
        s = socket.create_connection(("127.0.0.1", big_port), timeout=30)
        s.sendall(b"EHLO c\r\nMAIL FROM:<r@remote.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n")
        buf = [b""]
        while not read_line(s, buf).startswith("354"):
            pass
        s.sendall(b"Subject: reset %d\r\n\r\nbye\r\n.\r\n" % i)
        # SO_LINGER 0: close() sends a RST, possibly while the message is
        # still being committed on a worker thread.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    s = socket.create_connection(("127.0.0.1", big_port), timeout=30)
    buf = [b""]
    assert read_line(s, buf).startswith("220 ")
    s.sendall(b"QUIT\r\n")
    assert read_line(s, buf).startswith("221 ")
    s.close()
    after = len(os.listdir(os.path.join(tmp, "many-spool", "queue")))
    assert before <= after <= before + 40, (before, after)
    assert big.p.poll() is None


rc = big.stop()
t.ok(rc == 0, "daemon exits cleanly on SIGTERM after the load", "exit status %s" % rc)
small, small_port = start("timeouts", "{idle_timeout: 1, session_timeout: 3}")


@t.case("an idle client is told 421 4.4.2 and disconnected")
def _():
    s = socket.create_connection(("127.0.0.1", small_port), timeout=30)
    buf = [b""]
    assert read_line(s, buf).startswith("220 ")
    line = read_line(s, buf)
    assert line.startswith("421 4.4.2"), line
    assert s.recv(1) == b""
    s.close()


@t.case("a busy client is still cut off at the session time limit")
def _():
    s = socket.create_connection(("127.0.0.1", small_port), timeout=30)
    buf = [b""]
    assert read_line(s, buf).startswith("220 ")
    last = ""
    for _ in range(100):
        s.sendall(b"NOOP\r\n")
        last = read_line(s, buf)
        if not last.startswith("250"):
            break
        time.sleep(0.3)
    assert last.startswith("421 4.4.2"), last
    s.close()


rc = small.stop()
t.ok(rc == 0, "daemon exits cleanly on SIGTERM", "exit status %s" % rc)

# Out of file descriptors: the daemon must pause accepting, not spin or die.
lowfd, lowfd_port = start("lowfd", "{max_sessions: 1000}", wrap=("prlimit", "--nofile=48:48"))


@t.case("out of file descriptors: accepting pauses, and resumes once clients leave")
def _():
    held = []
    for _ in range(80):
        held.append(socket.create_connection(("127.0.0.1", lowfd_port), timeout=30))
    deadline = time.monotonic() + 20
    log = ""
    while time.monotonic() < deadline and "pausing the listener" not in log:
        time.sleep(0.1)
        with open(os.path.join(tmp, "lowfd.log"), errors="replace") as f:
            log = f.read()
    assert "pausing the listener" in log, log[-2000:]
    for s in held:
        s.close()
    # Once the held connections are gone, new clients are served again.
    for attempt in range(100):
        s = socket.create_connection(("127.0.0.1", lowfd_port), timeout=30)
        buf = [b""]
        try:
            line = read_line(s, buf)
        except (EOFError, OSError):
            line = ""
        if line.startswith("220 "):
            s.sendall(b"QUIT\r\n")
            s.close()
            break
        s.close()
        time.sleep(0.1)
    assert line.startswith("220 "), line
    assert lowfd.p.poll() is None, "daemon died"


rc = lowfd.stop()
t.ok(rc == 0, "daemon exits cleanly after running out of descriptors", "exit status %s" % rc)
subprocess.run(["rm", "-rf", tmp])
t.done()
