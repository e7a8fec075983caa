#!/usr/bin/python3
"""End-to-end test of scop-mailbridge's submission sender checks and
per-client-address limits: the real daemon on loopback, driven by swaks,
smtplib and raw sockets.  Each case connects from its own loopback source
address (127.0.0.N), since the limits are per address.

Passwords are checked by logging in to a homeserver; a small loopback
stub serves /_matrix/client/v3/login (alice / s3cret -> @alice:example.org),
as in test_smtp_swaks.py."""
import re
import os
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scoptest import Tap, Proc, binary, free_port, wait_port  # noqa: E402
from loginstub import LoginStub, self_signed_cert  # noqa: E402

t = Tap()
tmp = tempfile.mkdtemp(prefix="scop-smtp-policy-")
PASSWORD = "s3cret"


hs = LoginStub({"alice": (PASSWORD, "@alice:example.org")})
cert, key = self_signed_cert(tmp)
mx_port, sub_port = free_port(), free_port()
spool = os.path.join(tmp, "spool")
conf = os.path.join(tmp, "mailbridge.yaml")
with open(conf, "w") as f:
    f.write("""hostname: mx.test.example
local_domains: [example.org, example.net]
listeners:
  mx: {address: 127.0.0.1, port: %d}
  submission: {address: 127.0.0.1, port: %d}
tls: {cert: %s, key: %s}
spool_dir: %s
homeserver_url: http://127.0.0.1:%d
log_level: info
# Mail authentication has its own test (test_mx_auth_e2e.py); these
# senders' domains have no DNS here.
mail_auth: {enabled: false}
limits: {max_messages: 3}
client_limits:
  max_connections: 3
  max_connection_rate: 30
  connection_rate_window: 600
  max_auth_failures: 3
  auth_failure_window: 600
  auth_block_time: 600
  exempt: [127.0.9.0/24]
submission_policy:
  sender_addresses:
    "@alice:example.org": [alice.smith@example.org, "@lists.example"]
""" % (mx_port, sub_port, cert, key, spool, hs.port))

daemon = Proc([binary("scop-mailbridge"), "-c", conf], os.path.join(tmp, "daemon.log"))
# wait_port probes from 127.0.0.1; no case below connects from there.
wait_port(mx_port, proc=daemon.p)
wait_port(sub_port, proc=daemon.p)


def daemon_log():
    daemon.log.flush()
    with open(daemon.log.name, "rb") as f:
        return f.read().decode(errors="replace")


def queue_ids():
    q = os.path.join(spool, "queue")
    return sorted(os.listdir(q)) if os.path.isdir(q) else []


def swaks(src, *args):
    r = subprocess.run(["swaks", "--server", "127.0.0.1", "--local-interface", src, "--helo", "client.test",
                        "--timeout", "20"] + list(args), capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout + r.stderr


def submit(src, mail_from, *args):
    return swaks(src, "--port", str(sub_port), "-tls", "--auth", "PLAIN", "--auth-user", "alice",
                 "--auth-password", PASSWORD, "--from", mail_from, "--to", "friend@far.example", *args)


def tls_ctx():
    ctx = ssl.create_default_context(cafile=cert)
    ctx.check_hostname = False
    return ctx


def greeting(src, port, timeout=20):
    """Connects from src and returns (socket, first reply line)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(src, 0))
    data = b""
    while b"\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return s, data.split(b"\r\n", 1)[0].decode(errors="replace")


@t.case("submission: MAIL FROM the user's own address (localpart@local domain) is accepted")
def _():
    before = len(queue_ids())
    rc, out = submit("127.0.1.1", "alice@example.org")
    assert rc == 0 and "250 2.0.0 Ok: queued" in out, out
    rc, out = submit("127.0.1.1", "Alice@Example.NET")
    assert rc == 0 and "250 2.0.0 Ok: queued" in out, out
    assert len(queue_ids()) == before + 2


@t.case("submission: addresses granted in sender_addresses (address and whole domain) are accepted")
def _():
    rc, out = submit("127.0.1.2", "alice.smith@example.org")
    assert rc == 0 and "250 2.0.0 Ok: queued" in out, out
    rc, out = submit("127.0.1.2", "announce@lists.example")
    assert rc == 0 and "250 2.0.0 Ok: queued" in out, out


@t.case("submission: MAIL FROM someone else's address gets 553 5.7.1 and nothing is queued")
def _():
    before = len(queue_ids())
    for addr in ("bob@example.org", "alice@elsewhere.example", "alice+x@example.org"):
        rc, out = submit("127.0.1.3", addr)
        assert rc != 0, out
        assert ("553 5.7.1 <%s>: Sender address rejected: not owned by user @alice:example.org" % addr) in out, out
    assert len(queue_ids()) == before


@t.case("submission: the null sender <> gets 553 5.7.1")
def _():
    with smtplib.SMTP("127.0.0.1", sub_port, timeout=20, source_address=("127.0.1.4", 0)) as s:
        s.starttls(context=tls_ctx())
        s.login("alice", PASSWORD)
        code, msg = s.docmd("MAIL", "FROM:<>")
        assert code == 553 and msg.startswith(b"5.7.1 Sender address rejected"), (code, msg)
        code, msg = s.docmd("MAIL", "FROM:<alice@example.org>")
        assert code == 250, (code, msg)


@t.case("submission: a From: header with someone else's address gets 550 5.7.1 after DATA")
def _():
    before = len(queue_ids())
    rc, out = submit("127.0.1.5", "alice@example.org", "--header", "From: Bob <bob@example.org>")
    assert rc != 0 and "550 5.7.1 From: header address rejected: not owned by user" in out, out
    # Display-name tricks and two From fields are refused too.
    with smtplib.SMTP("127.0.0.1", sub_port, timeout=20, source_address=("127.0.1.5", 0)) as s:
        s.starttls(context=tls_ctx())
        s.login("alice", PASSWORD)
        for head in (b"From: alice@example.org <bob@example.org>\r\n",
                     b"From: alice@example.org\r\nFrom: bob@example.org\r\n"):
            try:
                s.sendmail("alice@example.org", ["x@far.example"], head + b"Subject: s\r\n\r\nx\r\n")
                raise AssertionError("accepted %r" % head)
            except smtplib.SMTPDataError as e:
                assert e.smtp_code == 550 and e.smtp_error.startswith(b"5.7.1"), e
        # The session goes on: the user's own From: is fine.
        refused = s.sendmail("alice@example.org", ["x@far.example"],
                             b"From: \"Alice\" <alice@example.org>\r\nSubject: ok\r\n\r\nfine\r\n")
        assert refused == {}, refused
    assert len(queue_ids()) == before + 1
    assert "tmp" not in os.listdir(spool) or os.listdir(os.path.join(spool, "tmp")) == []


@t.case("the MX port applies no sender policy: <> and any From: are accepted there")
def _():
    rc, out = swaks("127.0.1.6", "--port", str(mx_port), "--from", "<>", "--to", "bob@example.org",
                    "--header", "From: anyone@far.example")
    assert rc == 0 and "MAIL FROM:<>" in out and "250 2.0.0 Ok: queued" in out, out


@t.case("the connection past max_connections from one address gets 421 4.7.0; others are not affected")
def _():
    held = []
    for _ in range(3):
        s, line = greeting("127.0.2.1", mx_port)
        assert line.startswith("220 "), line
        held.append(s)
    s, line = greeting("127.0.2.1", sub_port)
    assert line == "421 4.7.0 Too many connections from your address, try again later", line
    s.close()
    s, line = greeting("127.0.2.2", mx_port)
    assert line.startswith("220 "), line
    s.close()
    # Once one leaves, the address may connect again.
    held.pop().close()
    line = ""
    for _ in range(20):
        s, line = greeting("127.0.2.1", mx_port)
        s.close()
        if line.startswith("220 "):
            break
        time.sleep(0.2)
    assert line.startswith("220 "), line
    for s in held:
        s.close()


@t.case("connections past max_connection_rate in the window get 421 4.7.0")
def _():
    lines = []
    for _ in range(32):
        s, line = greeting("127.0.3.1", mx_port)
        lines.append(line[:9])
        s.close()
    assert lines[:30] == ["220 mx.te"] * 30, lines
    assert lines[30:] == ["421 4.7.0"] * 2, lines


@t.case("exempt addresses are not limited")
def _():
    held = []
    for _ in range(6):
        s, line = greeting("127.0.9.7", mx_port)
        assert line.startswith("220 "), line
        held.append(s)
    for s in held:
        s.close()


@t.case("AUTH brute force: the 3rd failure gets 421 4.7.0, then the address may not even connect to submission")
def _():
    src = "127.0.4.1"
    with smtplib.SMTP("127.0.0.1", sub_port, timeout=20, source_address=(src, 0)) as s:
        s.starttls(context=tls_ctx())
        s.ehlo("c")
        for i in range(2):
            code, msg = s.docmd("AUTH", "PLAIN AGFsaWNlAHdyb25n")  # \0alice\0wrong
            assert code == 535 and msg.startswith(b"5.7.8"), (i, code, msg)
        code, msg = s.docmd("AUTH", "PLAIN AGFsaWNlAHdyb25n")
        assert code == 421 and msg.startswith(b"4.7.0 Too many failed authentication attempts"), (code, msg)
    # The right password does not help now: no AUTH from this address.
    s, line = greeting(src, sub_port)
    assert line.startswith("421 4.7.0 Too many failed authentication attempts"), line
    s.close()
    rc, out = submit(src, "alice@example.org")
    assert rc != 0 and "235" not in out and "421 4.7.0" in out, out
    # The MX port still takes mail from there; other addresses may log in.
    s, line = greeting(src, mx_port)
    assert line.startswith("220 "), line
    s.close()
    rc, out = submit("127.0.4.2", "alice@example.org")
    assert rc == 0 and "235 2.7.0" in out, out
    assert "too many failed AUTH attempts from %s" % src in daemon_log()


@t.case("failures spread over sessions count together (swaks, 3 sessions)")
def _():
    src = "127.0.4.3"
    outs = []
    for _ in range(3):
        rc, out = swaks(src, "--port", str(sub_port), "-tls", "--auth", "LOGIN", "--auth-user", "alice",
                        "--auth-password", "guess", "--from", "alice@example.org", "--to", "x@far.example")
        assert rc != 0
        outs.append(out)
    assert "535 5.7.8" in outs[0] and "535 5.7.8" in outs[1], outs[:2]
    assert "421 4.7.0 Too many failed authentication attempts" in outs[2], outs[2]


@t.case("messages per session: the 4th MAIL in one session gets 421 4.7.0 and the session ends")
def _():
    with smtplib.SMTP("127.0.0.1", mx_port, timeout=20, source_address=("127.0.5.1", 0)) as s:
        for i in range(3):
            assert s.sendmail("a@far.example", ["bob@example.org"], b"Subject: %d\r\n\r\nx\r\n" % i) == {}
        code, msg = s.docmd("MAIL", "FROM:<a@far.example>")
        assert code == 421 and msg.startswith(b"4.7.0 Too many messages"), (code, msg)


@t.case("no password appears in the daemon log, and it still serves")
def _():
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "refused" not in daemon_log():
        time.sleep(0.1)
    log = daemon_log()
    # Refusals are summed up (one line a second at most), not logged each.
    assert re.search(r"refused (a connection|\d+ connections over per-address limits; the last) from "
                     r"127\.0\.\d+\.\d+: (connection rate|too many connections|AUTH blocked)", log), log[-3000:]
    assert PASSWORD not in log and "guess" not in log, log[-2000:]
    assert daemon.p.poll() is None


rc = daemon.stop()
t.ok(rc == 0, "daemon exits cleanly on SIGTERM", "exit status %s" % rc)


def ipv6_case():
    desc = "IPv6 (::1): the per-address connection limit applies to IPv6 clients too"
    try:
        probe = socket.socket(socket.AF_INET6)
        probe.bind(("::1", 0))
        v6_port = probe.getsockname()[1]
        probe.close()
    except OSError as e:
        print("ok %d - %s # SKIP no IPv6 loopback: %s" % (t.n + 1, desc, e))
        t.n += 1
        return
    conf6 = os.path.join(tmp, "v6.yaml")
    with open(conf6, "w") as f:
        f.write("hostname: mx.test.example\nlocal_domains: [example.org]\n"
                "listeners: {mx: {address: '::1', port: %d}}\nspool_dir: %s\nlog_level: warn\n"
                "mail_auth: {enabled: false}\n"
                "client_limits: {max_connections: 2, max_connection_rate: 0}\n"
                % (v6_port, os.path.join(tmp, "v6-spool")))
    d6 = Proc([binary("scop-mailbridge"), "-c", conf6], os.path.join(tmp, "v6.log"))

    @t.case(desc)
    def _():
        try:
            wait_port(v6_port, host="::1", proc=d6.p)
            line = ""
            for _ in range(20):  # wait_port's probe may still be counted for a moment
                held = [socket.create_connection(("::1", v6_port), timeout=20) for _ in range(3)]
                lines = []
                for s in held:
                    data = b""
                    while b"\r\n" not in data:
                        chunk = s.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    lines.append(data.decode(errors="replace")[:9])
                for s in held:
                    s.close()
                line = lines
                if lines == ["220 mx.te", "220 mx.te", "421 4.7.0"]:
                    break
                time.sleep(0.2)
            assert line == ["220 mx.te", "220 mx.te", "421 4.7.0"], line
        finally:
            d6.stop()


ipv6_case()
hs.close()
subprocess.run(["rm", "-rf", tmp])
t.done()
