#!/usr/bin/python3
"""End-to-end test of scop-mailbridge's SMTP side: starts the real daemon
on free loopback ports with a self-signed certificate made by the openssl
CLI, drives it with swaks and Python's smtplib (and a raw socket where a
client library would refuse to misbehave), and checks the spool.

Submission passwords are checked by the daemon logging in to a homeserver;
this test serves /_matrix/client/v3/login from a small loopback HTTP stub
(alice / s3cret) so it does not depend on scopd."""
import json
import os
import signal
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
tmp = tempfile.mkdtemp(prefix="scop-smtp-e2e-")
PASSWORD = "s3cret"


hs = LoginStub({"alice": (PASSWORD, "@alice:example.org")}, slow=("slow",))
logouts = hs.logouts
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
log_level: debug
# Mail authentication has its own test (test_mx_auth_e2e.py); these
# senders' domains have no DNS here.
mail_auth: {enabled: false}
limits:
  max_message_size: 65536
  max_recipients: 5
  max_bad_commands: 6
  idle_timeout: 60
""" % (mx_port, sub_port, cert, key, spool, hs.port))

logpath = os.path.join(tmp, "daemon.log")
daemon = None


def start():
    global daemon
    daemon = Proc([binary("scop-mailbridge"), "-c", conf], logpath + ".%d" % time.monotonic_ns())
    wait_port(mx_port, proc=daemon.p)
    wait_port(sub_port, proc=daemon.p)


def daemon_log():
    daemon.log.flush()
    with open(daemon.log.name, "rb") as f:
        return f.read().decode(errors="replace")


def queue_ids():
    q = os.path.join(spool, "queue")
    return sorted(os.listdir(q)) if os.path.isdir(q) else []


def swaks(*args):
    r = subprocess.run(["swaks", "--server", "127.0.0.1", "--helo", "client.test", "--timeout", "20"] + list(args),
                       capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout + r.stderr


class Raw:
    """A raw SMTP connection for what client libraries will not send."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.buf = b""
        self.greeting = self.reply()

    def send(self, data):
        self.s.sendall(data if isinstance(data, bytes) else data.encode())

    def reply(self):
        """Reads one (possibly multi-line) reply; returns its lines."""
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.s.recv(65536)
                if not chunk:
                    raise EOFError("connection closed; got %r" % lines)
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line.decode(errors="replace"))
            if len(line) < 4 or line[3:4] != b"-":
                return lines

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.reply()[-1]

    def closed(self):
        try:
            return self.s.recv(1) == b""
        except OSError:
            return True

    def close(self):
        self.s.close()


def tls_ctx():
    ctx = ssl.create_default_context(cafile=cert)
    ctx.check_hostname = False
    return ctx


start()
n_before = len(queue_ids())


@t.case("swaks: plain delivery to a local domain is spooled with envelope and trace data")
def _():
    rc, out = swaks("--port", str(mx_port), "--from", "sender@remote.example", "--to", "bob@example.org",
                    "--header", "Subject: e2e plain", "--body", "hello from swaks")
    assert rc == 0, out
    assert "250 2.0.0 Ok: queued as" in out, out
    ids = queue_ids()
    assert len(ids) == n_before + 1, ids
    with open(os.path.join(spool, "queue", ids[-1]), "rb") as f:
        data = f.read()
    head, msg = data.split(b"\n\n", 1)
    fields = [line.split(b": ", 1) for line in head.split(b"\n")[1:]]
    env = {k.decode(): v.decode() for k, v in fields}
    assert head.startswith(b"SCOP-SPOOL 1\n"), head
    assert env["from"] == "sender@remote.example" and env["rcpt"] == "bob@example.org", env
    assert env["listener"] == "mx" and env["client"] == "127.0.0.1" and env["helo"] == "client.test", env
    assert env["tls"] == "none" and int(env["size"]) == len(msg), env
    assert b"Subject: e2e plain\r\n" in msg and b"hello from swaks" in msg, msg
    assert msg.startswith(b"Received: from client.test (127.0.0.1)\r\n\tby mx.test.example (SCoP) with ESMTP\r\n"
                          b"\tfor <bob@example.org>; "), msg[:300]
    assert b"\n" not in msg.replace(b"\r\n", b""), "message must keep CRLF line ends"


@t.case("swaks: relaying to a foreign domain on the MX port is denied with 550 5.7.1")
def _():
    rc, out = swaks("--port", str(mx_port), "--from", "a@remote.example", "--to", "victim@elsewhere.example")
    assert rc != 0 and "550 5.7.1" in out, out


@t.case("smtplib: AUTH is not offered before STARTTLS and is refused with 530 5.7.0")
def _():
    with smtplib.SMTP("127.0.0.1", sub_port, timeout=20) as s:
        s.ehlo("client.test")
        assert not s.has_extn("auth"), s.esmtp_features
        assert s.has_extn("starttls")
        code, msg = s.docmd("AUTH", "PLAIN AGFsaWNlAHMzY3JldA==")
        assert code == 530 and msg.startswith(b"5.7.0 Must issue a STARTTLS command first"), (code, msg)
        code, msg = s.docmd("MAIL", "FROM:<alice@example.org>")
        assert code == 530, (code, msg)


@t.case("smtplib: STARTTLS + AUTH PLAIN (homeserver login) then relaying a message")
def _():
    before = len(queue_ids())
    nlogout = len(logouts)
    with smtplib.SMTP("127.0.0.1", sub_port, timeout=20) as s:
        s.ehlo("client.test")
        s.starttls(context=tls_ctx())
        s.ehlo("client.test")
        assert "PLAIN" in s.esmtp_features.get("auth", ""), s.esmtp_features
        s.login("alice@example.org", PASSWORD)  # smtplib picks PLAIN
        refused = s.sendmail("alice@example.org", ["friend@far.example"],
                             b"Subject: submitted\r\n\r\nvia submission\r\n")
        assert refused == {}, refused
    ids = queue_ids()
    assert len(ids) == before + 1
    with open(os.path.join(spool, "queue", ids[-1]), "rb") as f:
        head = f.read().split(b"\n\n", 1)[0].decode()
    assert "listener: submission" in head and "auth: @alice:example.org" in head, head
    assert "tls: TLSv1." in head and "rcpt: friend@far.example" in head, head
    with open(os.path.join(spool, "queue", ids[-1]), "rb") as f:
        msg = f.read().split(b"\n\n", 1)[1]
    assert b"(SCoP) with ESMTPSA\r\n\t(TLSv1." in msg.split(b"\r\n\r\n")[0], msg[:400]
    assert len(logouts) == nlogout + 1 and logouts[-1].startswith("Bearer tok-"), logouts


@t.case("swaks: STARTTLS + AUTH LOGIN succeeds; a wrong password gets 535 5.7.8")
def _():
    rc, out = swaks("--port", str(sub_port), "-tls", "--auth", "LOGIN", "--auth-user", "alice",
                    "--auth-password", PASSWORD, "--from", "alice@example.org", "--to", "x@far.example")
    assert rc == 0 and "235 2.7.0" in out and "250 2.0.0 Ok: queued" in out, out
    rc, out = swaks("--port", str(sub_port), "-tls", "--auth", "PLAIN", "--auth-user", "alice",
                    "--auth-password", "wrong", "--from", "alice@example.org", "--to", "x@far.example")
    assert rc != 0 and "535 5.7.8" in out, out


@t.case("swaks: pipelined session is accepted")
def _():
    rc, out = swaks("--port", str(mx_port), "--pipeline", "--from", "p@remote.example",
                    "--to", "bob@example.org,carol@example.net")
    assert rc == 0 and "250 2.0.0 Ok: queued" in out, out


@t.case("raw: a whole transaction in one write gets its replies in order")
def _():
    r = Raw(mx_port)
    r.send("EHLO c\r\nMAIL FROM:<a@remote.example>\r\nRCPT TO:<bob@example.org>\r\n"
           "RCPT TO:<x@elsewhere.example>\r\nDATA\r\n")
    assert r.reply()[-1].startswith("250 ")
    codes = [r.reply()[-1][:3] for _ in range(4)]
    assert codes == ["250", "250", "550", "354"], codes
    r.send("Subject: pipelined\r\n\r\nbody\r\n.\r\nQUIT\r\n")
    assert r.reply()[-1].startswith("250 2.0.0 Ok: queued")
    assert r.reply()[-1].startswith("221 ")
    r.close()


@t.case("raw: BDAT (CHUNKING) in two chunks, and DATA refused after BDAT")
def _():
    before = len(queue_ids())
    r = Raw(mx_port)
    r.send("EHLO c\r\n")
    assert "250-CHUNKING" in r.reply()
    assert r.cmd("MAIL FROM:<a@remote.example>").startswith("250")
    assert r.cmd("RCPT TO:<bob@example.org>").startswith("250")
    part1 = b"Subject: chunked\r\n\r\n"
    part2 = b"line one\r\n.line starting with a dot\r\n"
    r.send(b"BDAT %d\r\n" % len(part1) + part1)
    assert r.reply()[-1].startswith("250 2.0.0")
    assert r.cmd("DATA").startswith("503 5.5.1")
    r.send(b"BDAT %d LAST\r\n" % len(part2) + part2)
    assert r.reply()[-1].startswith("250 2.0.0 Ok: queued")
    r.cmd("QUIT")
    r.close()
    ids = queue_ids()
    assert len(ids) == before + 1
    with open(os.path.join(spool, "queue", ids[-1]), "rb") as f:
        msg = f.read().split(b"\n\n", 1)[1]
    assert msg.startswith(b"Received: from c (127.0.0.1)") and msg.endswith(b"+0000\r\n" + part1 + part2), msg


@t.case("swaks and smtplib: oversize messages get 552 5.3.4")
def _():
    body = "x" * 900 + "\n"
    rc, out = swaks("--port", str(mx_port), "--from", "a@remote.example", "--to", "bob@example.org",
                    "--body", body * 80)
    assert rc != 0 and "552 5.3.4" in out, out[-2000:]
    with smtplib.SMTP("127.0.0.1", mx_port, timeout=20) as s:
        try:
            s.sendmail("a@remote.example", ["bob@example.org"], ("Subject: big\r\n\r\n" + body * 80).encode())
            raise AssertionError("oversize message accepted")
        except smtplib.SMTPSenderRefused as e:  # smtplib sends SIZE=, refused at MAIL
            assert e.smtp_code == 552 and e.smtp_error.startswith(b"5.3.4"), e


@t.case("raw: bare LF and <LF>.<LF> smuggling are rejected, nothing smuggled is queued")
def _():
    before = len(queue_ids())
    r = Raw(mx_port)
    r.cmd("EHLO c")
    for smuggle in (b"\r\n.\n", b"\n.\r\n", b"\r.\r\n"):
        assert r.cmd("MAIL FROM:<a@remote.example>").startswith("250")
        assert r.cmd("RCPT TO:<bob@example.org>").startswith("250")
        assert r.cmd("DATA").startswith("354")
        r.send(b"Subject: s\r\n\r\nbody" + smuggle + b"MAIL FROM:<evil@remote.example>\r\n"
               b"RCPT TO:<bob@example.org>\r\nDATA\r\nSubject: smuggled\r\n\r\nsmuggled\r\n.\r\n")
        line = r.reply()[-1]
        assert line.startswith("550 5.6.0"), (smuggle, line)
    assert r.cmd("NOOP").startswith("250 "), "no stray replies may follow"
    r.close()
    assert len(queue_ids()) == before


@t.case("smtplib: too many recipients get 452 4.5.3 past the limit")
def _():
    rcpts = ["r%d@example.org" % i for i in range(7)]
    with smtplib.SMTP("127.0.0.1", mx_port, timeout=20) as s:
        refused = s.sendmail("a@remote.example", rcpts, b"Subject: many\r\n\r\nx\r\n")
    assert sorted(refused) == rcpts[5:], refused
    assert all(code == 452 and msg.startswith(b"4.5.3") for code, msg in refused.values()), refused


@t.case("raw: an over-long command line gets 500 5.5.2 and the session goes on")
def _():
    r = Raw(mx_port)
    assert r.cmd("NOOP " + "z" * 5000).startswith("500 5.5.2")
    assert r.cmd("NOOP").startswith("250")
    r.close()


@t.case("raw: too many bad commands close the session with 421")
def _():
    r = Raw(mx_port)
    last = None
    for i in range(6):
        last = r.cmd("BOGUS%d" % i)
    assert last.startswith("421 4.7.0"), last
    assert r.closed()
    r.close()


@t.case("raw: commands pipelined behind STARTTLS are discarded (no injection)")
def _():
    r = Raw(sub_port)
    r.cmd("EHLO c")
    r.send("STARTTLS\r\nRSET\r\n")
    assert r.reply()[-1].startswith("220 2.0.0")
    assert r.buf == b""
    tls = tls_ctx().wrap_socket(r.s, server_hostname="localhost")
    tls.sendall(b"NOOP\r\n")
    data = b""
    while b"\r\n" not in data:
        data += tls.recv(4096)
    assert data.startswith(b"250 2.0.0 OK"), data
    tls.close()


@t.case("raw: SMTPUTF8 address needs the parameter (553 5.6.7) and is accepted with it")
def _():
    r = Raw(mx_port)
    r.cmd("EHLO c")
    assert r.cmd("MAIL FROM:<j\u00f6rg@remote.example>").startswith("553 5.6.7")
    assert r.cmd("MAIL FROM:<j\u00f6rg@remote.example> SMTPUTF8").startswith("250")
    assert r.cmd("RCPT TO:<\u00e9lise@example.org>").startswith("250")
    assert r.cmd("VRFY bob").startswith("252")
    r.close()


def scopd_available():
    try:
        binary("scopd")
        binary("scopctl")
        return True
    except FileNotFoundError:
        return False


def test_with_scopd():
    """The same AUTH path against the real homeserver: a user registered
    with scopctl logs in through SMTP submission."""
    desc = "STARTTLS + AUTH PLAIN checked by the real scopd (login, then logout of the device)"
    if not scopd_available():
        print("ok %d - %s # SKIP scopd not built" % (t.n + 1, desc))
        t.n += 1
        return
    d = os.path.join(tmp, "scopd")
    os.makedirs(d)
    hs_port = free_port()
    hs_conf = os.path.join(d, "homeserver.yaml")
    with open(hs_conf, "w") as f:
        f.write("""server_name: test.local
public_baseurl: http://127.0.0.1:%d
listeners:
  - port: %d
    type: http
    bind_addresses: ['127.0.0.1']
database: {name: sqlite3, args: {database: %s}}
signing_key_path: signing.key
registration_shared_secret: "smtp-e2e-secret"
log_level: info
thread_pool_size: 2
password_hashing: {time_cost: 1, memory_kib: 256, parallelism: 1}
""" % (hs_port, hs_port, json.dumps(os.path.join(d, "hs.db"))))
    hs_proc = Proc([binary("scopd"), "-c", hs_conf], os.path.join(d, "scopd.log"))
    try:
        wait_port(hs_port, proc=hs_proc.p)
    except Exception as e:
        hs_proc.stop()
        print("ok %d - %s # SKIP scopd did not start: %s" % (t.n + 1, desc, e))
        t.n += 1
        return
    mb_port = free_port()
    mb_conf = os.path.join(d, "mailbridge.yaml")
    with open(mb_conf, "w") as f:
        f.write("hostname: mx.test.example\nlocal_domains: [test.local]\n"
                "listeners: {submission: {address: 127.0.0.1, port: %d}}\n"
                "tls: {cert: %s, key: %s}\nspool_dir: %s\nhomeserver_url: http://127.0.0.1:%d\n"
                % (mb_port, cert, key, os.path.join(d, "spool"), hs_port))
    mb = Proc([binary("scop-mailbridge"), "-c", mb_conf], os.path.join(d, "mailbridge.log"))

    @t.case(desc)
    def _():
        try:
            wait_port(mb_port, proc=mb.p)
            p = subprocess.run([binary("scopctl"), "register", "-c", hs_conf, "-u", "carol", "-p", "carol pass"],
                               capture_output=True, text=True, timeout=60)
            assert p.returncode == 0, p.stderr
            rc, out = swaks("--port", str(mb_port), "-tls", "--auth", "PLAIN", "--auth-user", "carol",
                            "--auth-password", "carol pass", "--from", "carol@test.local", "--to", "x@far.example")
            assert rc == 0 and "235 2.7.0" in out and "250 2.0.0 Ok: queued" in out, out
            rc, out = swaks("--port", str(mb_port), "-tls", "--auth", "LOGIN", "--auth-user", "carol",
                            "--auth-password", "wrong", "--from", "carol@test.local", "--to", "x@far.example")
            assert rc != 0 and "535 5.7.8" in out, out
            # The sender check maps @carol:test.local to carol@<local domain> only.
            rc, out = swaks("--port", str(mb_port), "-tls", "--auth", "PLAIN", "--auth-user", "carol",
                            "--auth-password", "carol pass", "--from", "dave@test.local", "--to", "x@far.example")
            assert rc != 0 and "553 5.7.1 <dave@test.local>: Sender address rejected: not owned by user @carol:test.local" in out, out
            q = os.listdir(os.path.join(d, "spool", "queue"))
            with open(os.path.join(d, "spool", "queue", q[0]), "rb") as f:
                assert b"auth: @carol:test.local\n" in f.read()
            with open(mb.log.name, "rb") as f:
                assert b"logout after SMTP AUTH" not in f.read(), "device logout failed"
        finally:
            mb.stop()
            hs_proc.stop()


test_with_scopd()


@t.case("a client that vanishes while its password is being checked does not upset the daemon")
def _():
    import struct
    r = Raw(sub_port)
    r.cmd("EHLO c")
    r.send("STARTTLS\r\n")
    assert r.reply()[-1].startswith("220")
    tls = tls_ctx().wrap_socket(r.s, server_hostname="localhost")
    tls.sendall(b"EHLO c\r\n")
    data = b""
    while b"250 " not in data:
        data += tls.recv(4096)
    tls.sendall(b"AUTH PLAIN AHNsb3cAeHg=\r\n")  # \0slow\0xx
    time.sleep(0.2)
    tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    tls.close()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and "password check finished after the client left" not in daemon_log():
        time.sleep(0.1)
    assert "password check finished after the client left" in daemon_log()
    with smtplib.SMTP("127.0.0.1", mx_port, timeout=20) as s:
        assert s.noop()[0] == 250
    assert daemon.p.poll() is None


@t.case("no password appears in the daemon log")
def _():
    log = daemon_log()
    assert PASSWORD not in log and "AUTH ok for alice" in log, log[-3000:]


@t.case("SIGKILL mid-DATA then restart: queued messages recovered, the unfinished one removed")
def _():
    ids = queue_ids()
    assert ids
    # A client is in the middle of DATA: its message is streaming into tmp/.
    r = Raw(mx_port)
    r.cmd("EHLO c")
    assert r.cmd("MAIL FROM:<a@remote.example>").startswith("250")
    assert r.cmd("RCPT TO:<bob@example.org>").startswith("250")
    assert r.cmd("DATA").startswith("354")
    # Under max_message_size (64 KiB), or the message would be refused and removed.
    r.send(b"Subject: never finished\r\n\r\n" + (b"y" * 78 + b"\r\n") * 500)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not os.listdir(os.path.join(spool, "tmp")):
        time.sleep(0.05)
    left = os.listdir(os.path.join(spool, "tmp"))
    assert len(left) == 1, (left, daemon_log()[-3000:])
    daemon.p.send_signal(signal.SIGKILL)
    daemon.p.wait()
    daemon.stop()
    r.close()
    assert queue_ids() == ids, "a message without its 250 must not be queued"
    start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "queue: %d message(s) waiting" % len(ids) not in daemon_log():
        time.sleep(0.05)
    log = daemon_log()
    assert "queue: %d message(s) waiting" % len(ids) in log, log
    for i in ids:
        assert "recovered queued message %s" % i in log, i
    assert "removed 1 unfinished file" in log, log
    assert os.listdir(os.path.join(spool, "tmp")) == []
    out = subprocess.run([binary("scop-mailbridge"), "-c", conf, "--list-queue"], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0 and len(out.stdout.splitlines()) == len(ids), out


@t.case("--generate-config writes a loadable example once and never overwrites")
def _():
    path = os.path.join(tmp, "generated.yaml")
    p = subprocess.run([binary("scop-mailbridge"), "-c", path, "--generate-config"], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0 and os.path.exists(path), p
    assert os.stat(path).st_mode & 0o077 == 0
    with open(path) as f:
        text = f.read()
    assert "local_domains:" in text and "submission:" in text, text
    p = subprocess.run([binary("scop-mailbridge"), "-c", path, "--generate-config"], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode != 0 and "File exists" in p.stderr, p
    p = subprocess.run([binary("scop-mailbridge"), "-c", os.path.join(tmp, "missing.yaml")],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and "missing.yaml" in p.stderr, p


@t.case("SIGTERM stops the daemon cleanly")
def _():
    daemon.p.send_signal(signal.SIGTERM)
    rc = daemon.p.wait(timeout=20)
    assert rc == 0, (rc, daemon_log()[-2000:])


daemon.stop()
hs.close()
subprocess.run(["rm", "-rf", tmp])
t.done()
