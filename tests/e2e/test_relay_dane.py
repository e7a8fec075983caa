#!/usr/bin/python3
"""DANE for SMTP (RFC 7672) in the outbound relay, end to end.  Knot serves
DNSSEC-signed zones (plus one unsigned) whose MX hosts all point at one
receiving scop-mailbridge (B); B's certificate is issued by a test CA.
scop-relay validates with the zones' trust anchors and, under the default
`tls: dane`:
  - a signed DANE-EE (3 1 1) record matching B's key: delivered, "Verified"
    (no name check: B's certificate does not name that MX host);
  - a signed DANE-TA (2 0 1) record for the CA, the MX host in B's
    certificate: delivered, "Verified";
  - the same DANE-TA record for an MX host B's certificate does not name,
    and a signed 3 1 1 record with the wrong digest: deferred, never sent
    in the clear, reason recorded;
  - a signed matching record for a server that offers no STARTTLS:
    deferred, nothing sent in the clear;
  - an unsigned zone (even with a wrong TLSA record): opportunistic TLS as
    before ("Untrusted")."""
import hashlib
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scoptest import Tap, SRCDIR, Proc, binary, free_port, wait_port  # noqa: E402
from loginstub import LoginStub  # noqa: E402
from smtpsink import SmtpSink, free_port_on_all, wait_for  # noqa: E402

sys.path.insert(0, os.path.join(SRCDIR, "tests", "dns"))
from dnsserver import KnotServer, write_zone  # noqa: E402

t = Tap()
PASSWORD = "s3cret"


def run(argv, stdin=None):
    p = subprocess.run(argv, capture_output=True, timeout=60, input=stdin)
    if p.returncode != 0:
        raise RuntimeError("%s: %s" % (argv[0], p.stderr.decode(errors="replace")))
    return p.stdout


def make_certs(d):
    """A test CA and a leaf for mx.ta.test it issued; returns (chain file,
    leaf key, 3 1 1 digest of the leaf, 2 0 1 digest of the CA)."""
    ca_key, ca = os.path.join(d, "ca.key"), os.path.join(d, "ca.pem")
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=SCoP test CA"])
    key, csr, leaf = os.path.join(d, "leaf.key"), os.path.join(d, "leaf.csr"), os.path.join(d, "leaf.pem")
    run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", key, "-out", csr, "-subj", "/CN=mx.ta.test"])
    ext = os.path.join(d, "leaf.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:mx.ta.test\nbasicConstraints=CA:FALSE\n")
    run(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
         "-days", "2", "-extfile", ext, "-out", leaf])
    chain = os.path.join(d, "chain.pem")
    with open(chain, "wb") as out:
        for p in (leaf, ca):
            with open(p, "rb") as f:
                out.write(f.read())
    spki = run(["openssl", "pkey", "-pubin", "-outform", "DER"],
               stdin=run(["openssl", "x509", "-in", leaf, "-noout", "-pubkey"]))
    ca_der = run(["openssl", "x509", "-in", ca, "-outform", "DER"])
    return chain, key, hashlib.sha256(spki).hexdigest(), hashlib.sha256(ca_der).hexdigest()


def relay_records(spool):
    d = os.path.join(spool, "relay")
    out = []
    for name in os.listdir(d) if os.path.isdir(d) else []:
        try:
            with open(os.path.join(d, name)) as f:
                out.append(f.read())
        except OSError:
            pass
    return out


def received(spool, subject):
    q = os.path.join(spool, "queue")
    for name in os.listdir(q) if os.path.isdir(q) else []:
        try:
            with open(os.path.join(q, name), "rb") as f:
                data = f.read()
        except OSError:
            continue
        if subject.encode() in data:
            return data
    return None


tmp = tempfile.mkdtemp(prefix="scop-relay-dane-")
procs = []
sink = None
srv = None
try:
    chain, key, ee_hash, ta_hash = make_certs(tmp)
    mxport = free_port_on_all(["127.0.0.1", "127.0.0.2"])
    tlsa = "_%d._tcp.mx TLSA" % mxport
    wrong = "%064x" % (int(ee_hash, 16) ^ 1)
    signed = {
        "dane.test": ["%s 3 1 1 %s" % (tlsa, ee_hash)],
        "ta.test": ["%s 2 0 1 %s" % (tlsa, ta_hash)],
        "tawrong.test": ["%s 2 0 1 %s" % (tlsa, ta_hash)],
        "badtlsa.test": ["%s 3 1 1 %s" % (tlsa, wrong)],
        "notls.test": ["%s 3 1 1 %s" % (tlsa, ee_hash)],
    }
    mx_addr = {"notls.test": "127.0.0.2"}
    unsigned = {"plain.test": ["%s 3 1 1 %s" % (tlsa, wrong)], "local.test": []}
    zones = []
    for origin, lines in list(signed.items()) + list(unsigned.items()):
        zones.append(write_zone(tmp, origin, ["@ MX 10 mx", "mx A " + mx_addr.get(origin, "127.0.0.1")] + lines))
    srv = KnotServer(os.path.join(tmp, "knot"), zones, sign=list(signed))
    srv.start()
    dns = "dns: {forwarder: \"%s\", trust_anchor_file: %s, timeout_ms: 4000}\n" % (srv.forwarder,
                                                                                    srv.trust_anchor)
    hs = LoginStub({"alice": (PASSWORD, "@alice:local.test")})

    # B: the one receiving MX for every test domain.
    spool_b = os.path.join(tmp, "spool-b")
    conf_b = os.path.join(tmp, "b.yaml")
    with open(conf_b, "w") as f:
        f.write("hostname: mx.ta.test\nlocal_domains: [%s]\n"
                "listeners: {mx: {address: 127.0.0.1, port: %d}}\n"
                "tls: {cert: %s, key: %s}\nspool_dir: %s\nlog_level: info\n"
                "client_limits: {max_connections: 0, max_connection_rate: 0}\n%s"
                % (", ".join(list(signed) + ["plain.test"]), mxport, chain, key, spool_b, dns))
    sink = SmtpSink("127.0.0.2", mxport)
    b = Proc([binary("scop-mailbridge"), "-c", conf_b], os.path.join(tmp, "b.log"))
    procs.append(b)
    wait_port(mxport, proc=b.p)

    # A: submission, and the relay (tls left at its default: dane).
    sub_port = free_port()
    spool_a = os.path.join(tmp, "spool-a")
    conf_a = os.path.join(tmp, "a.yaml")
    with open(conf_a, "w") as f:
        f.write("hostname: out.local.test\nlocal_domains: [local.test]\n"
                "listeners: {submission: {address: 127.0.0.1, port: %d}}\n"
                "tls: {cert: %s, key: %s}\nspool_dir: %s\nlog_level: debug\n"
                "homeserver_url: http://127.0.0.1:%d\n%s"
                "relay:\n  retry_schedule: [1]\n  max_age: 600\n  poll_interval_ms: 100\n"
                "  connect_timeout: 2\n  smtp_timeout: 10\n  port: %d\n"
                % (sub_port, chain, key, spool_a, hs.port, dns, mxport))
    a = Proc([binary("scop-mailbridge"), "-c", conf_a], os.path.join(tmp, "a.log"))
    procs.append(a)
    wait_port(sub_port, proc=a.p)
    relay = Proc([binary("scop-relay"), "-c", conf_a], os.path.join(tmp, "relay.log"))
    procs.append(relay)

    def submit(to, subject):
        r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(sub_port), "-tls", "--auth", "PLAIN",
                            "--auth-user", "alice", "--auth-password", PASSWORD, "--helo", "client.test",
                            "--from", "alice@local.test", "--to", to, "--header", "Subject: " + subject,
                            "--body", "Hello over DANE.\n", "--timeout", "20"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr

    def relay_log():
        with open(os.path.join(tmp, "relay.log"), "rb") as f:
            return f.read().decode(errors="replace")

    def delivered(to, subject, verified):
        submit(to, subject)
        wait_for(lambda: received(spool_b, subject), what="delivery to B")
        host = "mx." + to.split("@")[1]
        line = "%s TLS connection established to %s[127.0.0.1]:%d" % (
            "Verified" if verified else "Untrusted", host, mxport)
        wait_for(lambda: line in relay_log(), timeout=5, what=line)

    def deferred(to, subject, why):
        submit(to, subject)
        host = "mx." + to.split("@")[1]

        def retried():
            for r in relay_records(spool_a):
                m = re.search(r"^attempts: (\d+)$", r, re.M)
                if m and int(m.group(1)) >= 2 and " pending 0 4.7.5 %s " % host in r and why in r:
                    return True
            return False
        wait_for(retried, what="two deferrals saying " + why)
        assert received(spool_b, subject) is None, "delivered despite the TLSA mismatch"

    @t.case("signed DANE-EE 3 1 1 matching the server key: delivered, logged as Verified (no name check)")
    def _():
        delivered("bob@dane.test", "dane ee", True)

    @t.case("signed DANE-TA 2 0 1 for the issuing CA, the MX host named in the certificate: Verified")
    def _():
        delivered("bob@ta.test", "dane ta", True)

    @t.case("signed 3 1 1 with a wrong digest: deferred (retried), never delivered in the clear")
    def _():
        deferred("bob@badtlsa.test", "dane bad", "not trusted")
        assert "DANE verification failed for mx.badtlsa.test" in relay_log()

    @t.case("DANE-TA match but neither the MX host nor the domain in the certificate: deferred")
    def _():
        deferred("bob@tawrong.test", "dane taname", "hostname mismatch")

    @t.case("signed matching TLSA but the server offers no STARTTLS: deferred, no MAIL in the clear")
    def _():
        deferred_enh = "4.7.10"
        submit("bob@notls.test", "dane notls")
        host = "mx.notls.test"

        def retried():
            for r in relay_records(spool_a):
                m = re.search(r"^attempts: (\d+)$", r, re.M)
                if m and int(m.group(1)) >= 2 and " %s %s " % (deferred_enh, host) in r:
                    return True
            return False
        wait_for(retried, what="two deferrals for want of STARTTLS")
        assert sink.sessions >= 2 and sink.mails == 0, (sink.sessions, sink.mails)
        assert "no TLS with mx.notls.test[127.0.0.2]" in relay_log()

    @t.case("unsigned zone (its TLSA record ignored): opportunistic TLS as before, Untrusted")
    def _():
        delivered("bob@plain.test", "dane plain", False)

    relay.stop()
    t.ok("ERROR" not in relay_log(), "the relay logged no errors")
finally:
    if sink is not None:
        sink.close()
    for p in procs:
        p.stop()
    if srv is not None:
        srv.stop()
    if not os.environ.get("SCOP_KEEP_TMP"):
        subprocess.run(["rm", "-rf", tmp])
t.done()
