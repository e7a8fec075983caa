"""Mail authentication at the MX, end to end: scop-mailbridge's MX listener
checks SPF, DKIM and DMARC for what swaks delivers, against records a real
DNS server (Knot, tests/dns/dnsserver.py) serves, with signatures made by
dkimpy.  Accepted mail is spooled with our Authentication-Results field on
top (python3-authres must read it) and without forged ones; a DMARC
p=reject failure gets 550 5.7.1 and nothing is spooled; a DNS server that
never answers gets 451 4.7.0, not a hung session."""
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from scoptest import Tap, SRCDIR, Proc, binary, free_port, wait_port  # noqa: E402
from loginstub import LoginStub, self_signed_cert  # noqa: E402

sys.path.insert(0, os.path.join(SRCDIR, "tests", "dns"))
from dnsserver import KnotServer, txt_rdata, write_zone  # noqa: E402

import authres  # noqa: E402  (Debian's python3-authres)
import authres.dmarc  # noqa: E402,F401
import dkim  # noqa: E402  (Debian's python3-dkim)

t = Tap()
HOST = "mx.scop.test"


def run(argv, data=None):
    p = subprocess.run(argv, input=data, capture_output=True, timeout=120)
    if p.returncode != 0:
        raise RuntimeError("%s exited %d: %s" % (argv[:2], p.returncode, p.stderr.decode(errors="replace")))
    return p.stdout



def message(from_addr, extra=b"", body=b"Hello from the MX test.\r\n"):
    return (extra + b"From: Someone <" + from_addr.encode() + b">\r\n"
            b"To: bob@" + HOST.encode() + b"\r\n"
            b"Subject: mx auth test\r\n"
            b"Date: Mon, 23 Nov 2026 20:00:00 +0000\r\n"
            b"Message-ID: <mx-auth-" + str(time.monotonic_ns()).encode() + b"@example.net>\r\n"
            b"\r\n" + body)


def swaks(port, mail_from, data, timeout="30"):
    with tempfile.NamedTemporaryFile(suffix=".eml", delete=False) as f:
        f.write(data)
        path = f.name
    try:
        r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(port), "--helo", "client.example.net",
                            "--timeout", timeout, "--from", mail_from, "--to", "bob@" + HOST, "--data", "@" + path],
                           capture_output=True, text=True, timeout=120)
    finally:
        os.unlink(path)
    return r.returncode, r.stdout + r.stderr


def start(tmp, name, dns, submission=""):
    port = free_port()
    spool = os.path.join(tmp, name + "-spool")
    conf = os.path.join(tmp, name + ".yaml")
    with open(conf, "w") as f:
        f.write("hostname: %s\nlocal_domains: [%s]\n"
                "listeners: {mx: {address: 127.0.0.1, port: %d}%s}\n"
                "spool_dir: %s\nlog_level: info\n"
                "mail_auth: {enabled: true, dmarc_reject: true, spf_reject: false}\n"
                "dns: %s\n" % (HOST, HOST, port, submission, spool, dns))
    p = Proc([binary("scop-mailbridge"), "-c", conf], os.path.join(tmp, name + ".log"))
    wait_port(port, proc=p.p)
    return p, port, os.path.join(spool, "queue")


def queue(qdir):
    return sorted(os.listdir(qdir)) if os.path.isdir(qdir) else []


def stored(qdir, qid):
    with open(os.path.join(qdir, qid), "rb") as f:
        return f.read().split(b"\n\n", 1)[1]


def our_fields(msg):
    """The unfolded Authentication-Results fields of msg's header block."""
    head = msg.split(b"\r\n\r\n", 1)[0].decode()
    fields, cur = [], None
    for line in head.split("\r\n"):
        if line[:1] in (" ", "\t") and cur is not None:
            cur += " " + line.strip()
            continue
        if cur is not None:
            fields.append(cur)
        cur = line
    fields.append(cur)
    return [f for f in fields if f.lower().startswith("authentication-results:")]


def results(field):
    hdr = authres.AuthenticationResultsHeader.parse(field)
    return hdr.authserv_id, {r.method: r for r in hdr.results}


with tempfile.TemporaryDirectory(prefix="scop-mxauth-") as tmp:
    key = os.path.join(tmp, "k.pem")
    run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key])
    with open(key, "rb") as f:
        keypem = f.read()
    rec = run([binary("scop-dkim"), "pubkey", "--key", key]).decode().strip()
    zones = []
    for origin, lines in (
            # example.net: 127.0.0.1 may send; p=reject.
            ("example.net", ["@ TXT \"v=spf1 ip4:127.0.0.1 -all\"",
                             "_dmarc TXT \"v=DMARC1; p=reject\"",
                             "s1._domainkey TXT " + txt_rdata(rec)]),
            # example.org: 127.0.0.1 may not; p=reject; q. has p=quarantine.
            ("example.org", ["@ TXT \"v=spf1 -all\"",
                             "_dmarc TXT \"v=DMARC1; p=reject\"",
                             "s1._domainkey TXT " + txt_rdata(rec),
                             "q TXT \"v=spf1 -all\"",
                             "_dmarc.q TXT \"v=DMARC1; p=quarantine\""])):
        zones.append(write_zone(tmp, origin, lines))
    srv = KnotServer(os.path.join(tmp, "knot"), zones)
    try:
        srv.start()
        up = True
    except Exception as e:  # noqa: BLE001
        up = False
        t.ok(False, "knotd serves the SPF, DKIM and DMARC records", e)

    if up:
        mb, port, qdir = start(tmp, "mx", "{forwarder: \"%s\", timeout_ms: 4000}" % srv.forwarder)

        @t.case("dkimpy-signed mail from an SPF-permitted address: 250, spooled with spf/dkim/dmarc=pass")
        def _():
            before = queue(qdir)
            msg = message("alice@example.net")
            signed = dkim.sign(msg, b"s1", b"example.net", keypem) + msg
            rc, out = swaks(port, "alice@example.net", signed)
            assert rc == 0 and "250 2.0.0 Ok: queued as" in out, out
            ids = queue(qdir)
            assert len(ids) == len(before) + 1, ids
            data = stored(qdir, ids[-1])
            assert data.startswith(b"Received: ") and b"\r\nAuthentication-Results: " + HOST.encode() + b";" in data
            fields = our_fields(data)
            assert len(fields) == 1, fields
            ident, r = results(fields[0])
            assert ident == HOST, fields
            assert r["spf"].result == "pass" and r["dkim"].result == "pass" and r["dmarc"].result == "pass", fields
            assert r["spf"].smtp_mailfrom == "alice@example.net", fields
            assert r["dkim"].header_d == "example.net", fields
            assert b"\r\n\r\nHello from the MX test.\r\n" in data, data[-200:]

        @t.case("p=reject domain, failing signature and SPF: 550 5.7.1, nothing spooled")
        def _():
            before = queue(qdir)
            msg = message("mallory@example.org")
            signed = dkim.sign(msg, b"s1", b"example.org", keypem) + msg.replace(b"Hello", b"Jello")
            rc, out = swaks(port, "mallory@example.org", signed)
            assert rc != 0 and "550 5.7.1" in out and "DMARC" in out, out
            assert queue(qdir) == before, queue(qdir)

        @t.case("forged Authentication-Results with our authserv-id are removed; others' stay")
        def _():
            before = queue(qdir)
            forged = (b"Authentication-Results: " + HOST.encode() + b"; spf=pass smtp.mailfrom=x@example.org;\r\n"
                      b"\tdkim=pass header.d=example.org; dmarc=pass header.from=example.org\r\n"
                      b"Authentication-Results: upstream.example; spf=neutral\r\n"
                      b"authentication-results: MX.SCOP.TEST (forged); arc=pass\r\n")
            msg = message("alice@example.net", extra=forged)
            rc, out = swaks(port, "alice@example.net", dkim.sign(msg, b"s1", b"example.net", keypem) + msg)
            assert rc == 0, out
            ids = queue(qdir)
            assert len(ids) == len(before) + 1, ids
            data = stored(qdir, ids[-1])
            fields = our_fields(data)
            assert len(fields) == 2, fields
            ident, r = results(fields[0])
            assert ident == HOST and r["dmarc"].result == "pass" and "arc" not in r, fields
            assert fields[1] == "Authentication-Results: upstream.example; spf=neutral", fields
            assert b"(forged)" not in data and b"x@example.org" not in data

        @t.case("p=quarantine failure is accepted and marked (dis=quarantine)")
        def _():
            rc, out = swaks(port, "eve@q.example.org", message("eve@q.example.org"))
            assert rc == 0, out
            fields = our_fields(stored(qdir, queue(qdir)[-1]))
            _, r = results(fields[0])
            assert r["spf"].result == "fail" and r["dkim"].result == "none" and r["dmarc"].result == "fail", fields
            assert "dis=quarantine" in fields[0], fields

        @t.case("an ARC chain dkimpy sealed is verified and reported (arc=pass), not acted on")
        def _():
            msg = message("alice@example.net")
            msg = dkim.sign(msg, b"s1", b"example.net", keypem) + msg
            ar = b"Authentication-Results: hop.example.net; dkim=pass header.d=example.net\r\n"
            sset = dkim.arc_sign(ar + msg, b"s1", b"example.net", keypem, b"hop.example.net")
            assert sset, "dkimpy did not seal"
            rc, out = swaks(port, "alice@example.net", b"".join(sset) + ar + msg)
            assert rc == 0, out
            fields = our_fields(stored(qdir, queue(qdir)[-1]))
            ours = fields[0]
            assert ours.startswith("Authentication-Results: %s;" % HOST), fields
            assert "arc=pass smtp.remote-ip=127.0.0.1 header.oldest-pass=0" in ours, ours
            assert "dmarc=pass" in ours, ours
            # The first hop's field is not ours: it stays.
            assert "Authentication-Results: hop.example.net; dkim=pass header.d=example.net" in fields, fields

        @t.case("the daemon logs each verdict")
        def _():
            mb.log.flush()
            with open(mb.log.name, "rb") as f:
                log = f.read().decode(errors="replace")
            qid = queue(qdir)[0]
            assert "auth: %s client=127.0.0.1 spf=pass (mailfrom) dkim=pass (1 signatures) arc=none dmarc=pass" % qid in log, log[-2000:]
            assert "queued %s" % qid in log, log[-2000:]
            assert "refused message from 127.0.0.1" in log and "550 5.7.1" in log, log[-2000:]
        mb.stop()
    srv.stop()

    # A DNS server that takes queries and never answers: the DMARC record
    # is needed (p=reject may apply), so 451 4.7.0 once timeout_ms is spent.
    # The same daemon's submission listener runs no inbound checks, so its
    # mail is stored at once and without our field.
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    hs = LoginStub({"alice": ("s3cret", "@alice:" + HOST)})
    cert, key = self_signed_cert(tmp)
    sub_port = free_port()
    mb, port, qdir = start(tmp, "silent", "{forwarder: \"127.0.0.1@%d\", timeout_ms: 1000}\n"
                           "tls: {cert: %s, key: %s}\nhomeserver_url: http://127.0.0.1:%d"
                           % (silent.getsockname()[1], cert, key, hs.port),
                           submission=", submission: {address: 127.0.0.1, port: %d}" % sub_port)
    wait_port(sub_port, proc=mb.p)

    @t.case("DNS that never answers: 451 4.7.0 (the DMARC policy is needed), nothing spooled, the daemon keeps serving")
    def _():
        rc, out = swaks(port, "alice@example.net", message("alice@example.net"), timeout="20")
        assert rc != 0 and "451 4.7.0" in out, out
        assert queue(qdir) == [], queue(qdir)
        rc, out = swaks(port, "alice@example.net", message("alice@example.net"), timeout="20")
        assert "451 4.7.0" in out, out

    @t.case("submission (587, authenticated) runs no inbound checks: stored without Authentication-Results")
    def _():
        msg = message("alice@" + HOST)
        with tempfile.NamedTemporaryFile(suffix=".eml") as f:
            f.write(msg)
            f.flush()
            r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(sub_port), "--helo", "laptop.example",
                                "--timeout", "20", "-tls", "--auth", "PLAIN", "--auth-user", "alice",
                                "--auth-password", "s3cret", "--from", "alice@" + HOST, "--to", "bob@" + HOST,
                                "--data", "@" + f.name], capture_output=True, text=True, timeout=60)
        out = r.stdout + r.stderr
        assert r.returncode == 0 and "250 2.0.0 Ok: queued as" in out, out
        ids = queue(qdir)
        assert len(ids) == 1, ids
        data = stored(qdir, ids[0])
        assert our_fields(data) == [], data[:500]
    mb.stop()
    hs.close()
    silent.close()

t.done()
