#!/usr/bin/python3
"""The outbound relay end to end.  A user submits mail with swaks to
scop-mailbridge A (STARTTLS, AUTH checked against a homeserver login
stub); scop-relay, reading A's configuration, delivers it by MX: Knot
serves the MX records (all pointing at 127.0.0.x, the relay's port
override sends to our port there) and the DKIM public key.  The
receiving MX is a second scop-mailbridge (B) with its mail
authentication on, which must find our DKIM signatures (RSA, and Ed25519
for a second sending domain) valid (dkim=pass),
and dkimpy checks the delivered copy too.  Python sinks act as faulty
servers: a 4xx that clears on retry, a 5xx that must come back as an
RFC 3464 DSN in the sender's (local) spool, a null MX (DSN too), and a
host that is down and comes up later (retried, not lost)."""
import email
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scoptest import Tap, SRCDIR, Proc, binary, free_port, wait_port  # noqa: E402
from loginstub import LoginStub, self_signed_cert  # noqa: E402
from smtpsink import SmtpSink, free_port_on_all, wait_for  # noqa: E402

sys.path.insert(0, os.path.join(SRCDIR, "tests", "dns"))
from dnsserver import KnotServer, txt_rdata, write_zone  # noqa: E402

import dkim  # noqa: E402  (Debian's python3-dkim)

t = Tap()
PASSWORD = "s3cret"


def run(argv):
    p = subprocess.run(argv, capture_output=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError("%s: %s" % (argv[0], p.stderr.decode(errors="replace")))
    return p.stdout



def queue_files(spool):
    """{id: (header dict, message bytes)} of a spool's queue."""
    q = os.path.join(spool, "queue")
    out = {}
    for name in sorted(os.listdir(q)) if os.path.isdir(q) else []:
        try:
            with open(os.path.join(q, name), "rb") as f:
                head, msg = f.read().split(b"\n\n", 1)
        except (OSError, ValueError):
            continue
        h = {"rcpt": []}
        for line in head.decode().split("\n")[1:]:
            k, _, v = line.partition(": ")
            if k == "rcpt":
                h["rcpt"].append(v)
            else:
                h[k] = v
        out[name] = (h, msg)
    return out


tmp = tempfile.mkdtemp(prefix="scop-relay-")
procs = []
sinks = []
srv = None
try:
    key = os.path.join(tmp, "dkim.pem")
    run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key])
    rec = run([binary("scop-dkim"), "pubkey", "--key", key]).decode().strip()
    edkey = os.path.join(tmp, "dkim-ed.pem")
    run(["openssl", "genpkey", "-algorithm", "ED25519", "-out", edkey])
    edrec = run([binary("scop-dkim"), "pubkey", "--key", edkey]).decode().strip()
    cert, tkey = self_signed_cert(tmp)

    zones = []
    for origin, lines in (
            ("local.test", ["@ TXT \"v=spf1 ip4:127.0.0.0/8 -all\"", "_dmarc TXT \"v=DMARC1; p=reject\"",
                            "s1._domainkey TXT " + txt_rdata(rec)]),
            ("ed.test", ["@ TXT \"v=spf1 ip4:127.0.0.0/8 -all\"", "s2._domainkey TXT " + txt_rdata(edrec)]),
            ("remote.test", ["@ MX 10 mx", "mx A 127.0.0.1"]),
            ("flaky.test", ["@ MX 10 mx", "mx A 127.0.0.2"]),
            ("reject.test", ["@ MX 10 mx", "mx A 127.0.0.3"]),
            # The first MX host is down for good; the second comes up later.
            ("down.test", ["@ MX 10 dead", "@ MX 20 mx", "dead A 127.0.0.5", "mx A 127.0.0.4"]),
            ("null.test", ["@ MX 0 ."]),
            # Its MX (the 4xx-then-250 sink) offers no STARTTLS.
            ("tlsonly.test", ["@ MX 10 mx", "mx A 127.0.0.2"])):
        zones.append(write_zone(tmp, origin, lines))
    srv = KnotServer(os.path.join(tmp, "knot"), zones)
    srv.start()
    dns = "dns: {forwarder: \"%s\", timeout_ms: 4000}\n" % srv.forwarder

    hs = LoginStub({"alice": (PASSWORD, "@alice:local.test")})

    mxport = free_port_on_all(["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"])
    # B: the receiving MX for remote.test, checking what arrives.
    spool_b = os.path.join(tmp, "spool-b")
    conf_b = os.path.join(tmp, "b.yaml")
    with open(conf_b, "w") as f:
        f.write("hostname: mx.remote.test\nlocal_domains: [remote.test]\n"
                "listeners: {mx: {address: 127.0.0.1, port: %d}}\n"
                "tls: {cert: %s, key: %s}\nspool_dir: %s\nlog_level: info\n"
                "mail_auth: {enabled: true, dmarc_reject: true}\n"
                "client_limits: {max_connections: 0, max_connection_rate: 0}\n%s"
                % (mxport, cert, tkey, spool_b, dns))
    b = Proc([binary("scop-mailbridge"), "-c", conf_b], os.path.join(tmp, "b.log"))
    procs.append(b)
    wait_port(mxport, proc=b.p)

    # A: submission for local.test, and the relay's configuration.
    sub_port = free_port()
    spool_a = os.path.join(tmp, "spool-a")
    conf_a = os.path.join(tmp, "a.yaml")
    with open(conf_a, "w") as f:
        f.write("hostname: out.local.test\nlocal_domains: [local.test]\n"
                "listeners: {submission: {address: 127.0.0.1, port: %d}}\n"
                "tls: {cert: %s, key: %s}\nspool_dir: %s\nlog_level: info\n"
                "homeserver_url: http://127.0.0.1:%d\n%s"
                "submission_policy: {sender_addresses: {\"@alice:local.test\": [\"@ed.test\"]}}\n"
                "relay:\n  dkim: [{domain: local.test, selector: s1, key_file: %s},\n"
                "         {domain: ed.test, selector: s2, key_file: %s}]\n"
                "  retry_schedule: [1]\n  max_age: 600\n  poll_interval_ms: 100\n"
                "  connect_timeout: 2\n  smtp_timeout: 10\n  port: %d\n"
                "  require_tls_domains: [tlsonly.test]\n"
                % (sub_port, cert, tkey, spool_a, hs.port, dns, key, edkey, mxport))
    a = Proc([binary("scop-mailbridge"), "-c", conf_a], os.path.join(tmp, "a.log"))
    procs.append(a)
    wait_port(sub_port, proc=a.p)
    relay = Proc([binary("scop-relay"), "-c", conf_a], os.path.join(tmp, "relay.log"))
    procs.append(relay)

    def submit(to, subject, sender="alice@local.test"):
        r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(sub_port), "-tls", "--auth", "PLAIN",
                            "--auth-user", "alice", "--auth-password", PASSWORD, "--helo", "client.test",
                            "--from", sender, "--to", to, "--header", "Subject: " + subject,
                            "--body", "Hello through the relay.\n.leading dot\n", "--timeout", "20"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr

    def a_has_submission(subject):
        return any(h.get("listener") == "submission" and subject.encode() in m
                   for h, m in queue_files(spool_a).values())

    def dsn_for(rcpt):
        for h, m in queue_files(spool_a).values():
            if h.get("listener") == "mx" and h.get("from") == "" and rcpt.encode() in m:
                return h, m
        return None

    def keyfunc(name, timeout=5):
        name = name.rstrip(b".")
        assert name in (b"s1._domainkey.local.test", b"s2._domainkey.ed.test"), name
        return (rec if name.endswith(b"local.test") else edrec).encode()

    @t.case("submitted mail is relayed by MX over STARTTLS and stored by the receiving MX with dkim=pass")
    def _():
        submit("bob@remote.test", "relay one")
        got = wait_for(lambda: [x for x in queue_files(spool_b).values() if b"relay one" in x[1]],
                       what="delivery to B")
        h, msg = got[0]
        assert h["listener"] == "mx" and h["from"] == "alice@local.test" and h["rcpt"] == ["bob@remote.test"], h
        assert h["tls"] != "none", h
        head = msg.split(b"\r\n\r\n", 1)[0]
        assert b"DKIM-Signature: " in head and b"d=local.test" in head, head
        ar = [ln for ln in email.message_from_bytes(msg).get_all("Authentication-Results")]
        assert any("dkim=pass" in v and "header.d=local.test" in v for v in ar), ar
        assert b"\r\n..leading dot" not in msg and b"\r\n.leading dot" in msg, msg[-200:]
        assert dkim.verify(msg, dnsfunc=keyfunc), "dkimpy does not verify the delivered copy"
        wait_for(lambda: not a_has_submission("relay one"), what="A's queue to drop the message")

    @t.case("mail from another sending domain is signed with its Ed25519 key (ed25519-sha256): dkim=pass")
    def _():
        submit("bob@remote.test", "relay ed25519", sender="alice@ed.test")
        got = wait_for(lambda: [x for x in queue_files(spool_b).values() if b"relay ed25519" in x[1]],
                       what="delivery to B")
        msg = got[0][1]
        head = msg.split(b"\r\n\r\n", 1)[0]
        assert b"a=ed25519-sha256" in head and b"d=ed.test" in head, head
        ar = email.message_from_bytes(msg).get_all("Authentication-Results")
        assert any("dkim=pass" in v and "header.d=ed.test" in v for v in ar), ar
        assert dkim.verify(msg, dnsfunc=keyfunc), "dkimpy does not verify the Ed25519 signature"

    @t.case("a 4xx is retried on schedule and then delivered; nothing bounces")
    def _():
        s = SmtpSink("127.0.0.2", mxport, ["451 4.7.1 greylisted", "250 2.1.5 ok"])
        sinks.append(s)
        submit("carol@flaky.test", "relay flaky")
        wait_for(lambda: s.messages, what="the retry to deliver")
        assert s.rcpts_seen == 2, s.rcpts_seen
        assert b"DKIM-Signature:" in s.messages[0]
        wait_for(lambda: not a_has_submission("relay flaky"), what="A's queue to drop the message")
        assert dsn_for("carol@flaky.test") is None

    @t.case("a 5xx fails the recipient for good: a multipart/report DSN lands in the sender's spool")
    def _():
        s = SmtpSink("127.0.0.3", mxport, ["550 5.1.1 <dave@reject.test>: no such user"])
        sinks.append(s)
        submit("dave@reject.test", "relay reject")
        h, m = wait_for(lambda: dsn_for("dave@reject.test"), what="the DSN")
        assert h["rcpt"] == ["alice@local.test"], h
        msg = email.message_from_bytes(m)
        assert msg.get_content_type() == "multipart/report", msg.get_content_type()
        assert msg.get_param("report-type") == "delivery-status"
        parts = [p.get_content_type() for p in msg.walk()]
        assert "message/delivery-status" in parts and "text/rfc822-headers" in parts, parts
        text = m.decode(errors="replace")
        assert "Final-Recipient: rfc822; dave@reject.test" in text and "Status: 5.1.1" in text, text
        assert "Diagnostic-Code: smtp; 550 5.1.1" in text and "Subject: relay reject" in text, text
        assert not s.messages
        wait_for(lambda: not a_has_submission("relay reject"), what="A's queue to drop the message")

    @t.case("a null MX (RFC 7505) bounces at once with 5.1.10")
    def _():
        submit("erin@null.test", "relay null")
        h, m = wait_for(lambda: dsn_for("erin@null.test"), what="the DSN")
        assert b"Status: 5.1.10" in m, m
        wait_for(lambda: not a_has_submission("relay null"), what="A's queue to drop the message")

    @t.case("a receiving side that is down is retried, not lost, and gets the mail once it is up")
    def _():
        submit("frank@down.test", "relay down")
        recs = os.path.join(spool_a, "relay")
        # At least two attempts with nobody listening.
        def attempts():
            for name in os.listdir(recs):
                if name.endswith(".tmp"):
                    continue
                try:
                    with open(os.path.join(recs, name)) as f:
                        for line in f:
                            if line.startswith("attempts: "):
                                if int(line.split()[1]) >= 2:
                                    return True
                except OSError:
                    pass
            return False
        wait_for(attempts, what="two failed attempts")
        assert a_has_submission("relay down")
        assert dsn_for("frank@down.test") is None
        s = SmtpSink("127.0.0.4", mxport, ["250 2.1.5 ok"])
        sinks.append(s)
        wait_for(lambda: s.messages, what="delivery once the host is up")
        wait_for(lambda: not a_has_submission("relay down"), what="A's queue to drop the message")

    @t.case("a domain that requires TLS is not sent to in the clear: deferred, with the reason recorded")
    def _():
        s = sinks[0]  # 127.0.0.2: no STARTTLS
        before = len(s.messages)
        submit("gina@tlsonly.test", "relay tlsonly")
        recs = os.path.join(spool_a, "relay")

        def deferred():
            for name in os.listdir(recs):
                try:
                    with open(os.path.join(recs, name)) as f:
                        if "TLS is required" in f.read():
                            return True
                except OSError:
                    pass
            return False
        wait_for(deferred, what="a deferral for want of TLS")
        assert len(s.messages) == before, "sent in the clear"
        assert a_has_submission("relay tlsonly")
        assert dsn_for("gina@tlsonly.test") is None

    @t.case("MX-received mail is never relayed (no open relay); the relay holds the DKIM key, A never opens it")
    def _():
        # The DSNs above are MX mail in A's spool: still there.
        assert dsn_for("dave@reject.test") is not None
        with open(os.path.join(tmp, "a.log"), "rb") as f:
            alog = f.read()
        with open(os.path.join(tmp, "relay.log"), "rb") as f:
            rlog = f.read()
        assert b"DKIM signing for local.test" in rlog, rlog[-500:]
        assert b"dkim.pem" not in alog and b"DKIM signing" not in alog

    relay.stop()
    with open(os.path.join(tmp, "relay.log"), "rb") as f:
        t.ok(b"ERROR" not in f.read(), "the relay logged no errors")
finally:
    for s in sinks:
        s.close()
    for p in procs:
        p.stop()
    if srv is not None:
        srv.stop()
    if not os.environ.get("SCOP_KEEP_TMP"):
        subprocess.run(["rm", "-rf", tmp])
t.done()
