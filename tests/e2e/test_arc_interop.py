"""ARC (RFC 8617) interoperability with dkimpy (python3-dkim's arc_sign and
arc_verify) and mailauth (Node.js, tests/arc): chains they seal verify in
scop-dkim, which reads the keys from a real DNS server (Knot,
tests/dns/dnsserver.py) on loopback through dns_unbound; chains scop-dkim
seals verify in them; and two- and three-hop chains with the hops
alternating, one with all three implementations.  dkimpy 1.1.4 does ARC
with rsa-sha256 only, and mailauth 4.12 (the last for Node 20) hashes
Ed25519 seals differently when verifying than when signing, so Ed25519
seals are checked by scop-dkim alone.  The mailauth cases are skipped
when node or tests/arc/node_modules is missing (scripts/install-deps.sh
installs them)."""
import json
import shutil
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from scoptest import Tap, SRCDIR, binary  # noqa: E402

sys.path.insert(0, os.path.join(SRCDIR, "tests", "dns"))
from dnsserver import KnotServer, txt_rdata  # noqa: E402

import dkim  # noqa: E402  (Debian's python3-dkim)

t = Tap()
SCOP_DKIM = binary("scop-dkim")
ZONE = "arc.example.net"  # not .test: unbound answers that TLD locally
HOP1, HOP2, HOP3 = ("hop%d.%s" % (i, ZONE) for i in (1, 2, 3))

MESSAGE = (b"From: Alice Example <alice@origin.example.org>\r\n"
           b"To: list@lists.example.org\r\n"
           b"Subject: ARC interop  test,\r\n"
           b"\tfolded\r\n"
           b"Date: Mon, 23 Nov 2026 20:00:00 +0000\r\n"
           b"Message-ID: <arc-interop-1@origin.example.org>\r\n"
           b"MIME-Version: 1.0\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n"
           b"\r\n"
           b"Hello list,  \r\n"
           b"\r\n"
           b"\tthis line has  odd   spacing \t\r\n"
           + b"A longer line of body text to make the body hash do some work. " * 20 + b"\r\n")


def run(argv, data=None, check=True):
    p = subprocess.run(argv, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    if check and p.returncode != 0:
        raise RuntimeError("%s exited %d: %s" % (argv[:2], p.returncode, p.stderr.decode(errors="replace")))
    return p


with tempfile.TemporaryDirectory(prefix="scop-arc-") as tmp:
    keys = {}
    for sel, args in (("rsa", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]),
                      ("ed", ["-algorithm", "ED25519"])):
        path = os.path.join(tmp, sel + ".pem")
        run(["openssl", "genpkey"] + args + ["-out", path])
        os.chmod(path, 0o600)
        rec = run([SCOP_DKIM, "pubkey", "--key", path]).stdout.decode().strip()
        keys[sel] = (path, rec)
    with open(keys["rsa"][0], "rb") as f:
        rsa_pem = f.read()

    records = {}
    for hop in (HOP1, HOP2, HOP3):
        for sel in ("rsa", "ed"):
            records["%s._domainkey.%s" % (sel, hop)] = keys[sel][1]
    zone = os.path.join(tmp, ZONE + ".zone")
    with open(zone, "w") as f:
        f.write("$ORIGIN %s.\n$TTL 300\n" % ZONE)
        f.write("@ SOA ns.%s. hostmaster.%s. 1 3600 600 86400 300\n@ NS ns.%s.\nns A 127.0.0.1\n"
                % (ZONE, ZONE, ZONE))
        for name, rec in records.items():
            f.write("%s. TXT %s\n" % (name, txt_rdata(rec)))

    def dnsfunc(name, timeout=5):
        return records.get(name.decode().rstrip("."), "").encode() or None

    def theirs_verify(msg):
        cv, results, why = dkim.arc_verify(msg, dnsfunc=dnsfunc)
        return cv, why

    def theirs_seal(msg, domain):
        """A dkimpy hop: verify the chain, add its Authentication-Results,
        seal.  (Each hop its own authserv-id: dkimpy takes every A-R field
        with its id as its own.)"""
        srv_id = b"dkimpy." + domain.encode()
        cv, _ = theirs_verify(msg)
        ar = b"Authentication-Results: " + srv_id + b"; arc=" + (cv or b"fail") + b"\r\n"
        sset = dkim.arc_sign(ar + msg, b"rsa", domain.encode(), rsa_pem, srv_id)
        assert sset, "dkimpy did not seal"
        return b"".join(sset) + ar + msg

    srv = KnotServer(os.path.join(tmp, "knot"), [zone])
    try:
        srv.start()
    except Exception as e:  # noqa: BLE001
        t.ok(False, "knotd serves the key records", e)
        t.done()

    def ours_seal(msg, domain, sel="rsa", expect_rc=0):
        p = run([SCOP_DKIM, "arc-seal", "--key", keys[sel][0], "--domain", domain, "--selector", sel,
                 "--authserv-id", "mx." + domain, "--remote-ip", "192.0.2.25", "--dns", srv.forwarder],
                msg, check=False)
        assert p.returncode == expect_rc, (p.returncode, p.stderr)
        return p.stdout

    NODE = shutil.which("node")
    MAILAUTH = os.path.join(SRCDIR, "tests", "arc")
    # Installed, and loadable by this node (the usage message comes after the imports).
    have_mailauth = (NODE and os.path.isdir(os.path.join(MAILAUTH, "node_modules", "mailauth")) and
                     run([NODE, os.path.join(MAILAUTH, "mailauth_arc.mjs"), "probe", "127.0.0.1@1"], b"",
                         check=False).returncode == 2)

    def mailauth_seal(msg, domain):
        p = run([NODE, os.path.join(MAILAUTH, "mailauth_arc.mjs"), "seal", srv.forwarder, keys["rsa"][0],
                 domain, "rsa"], msg)
        return p.stdout

    def mailauth_verify(msg):
        p = run([NODE, os.path.join(MAILAUTH, "mailauth_arc.mjs"), "verify", srv.forwarder], msg)
        return json.loads(p.stdout)

    def ours_verify(msg):
        p = run([SCOP_DKIM, "arc-verify", "--dns", srv.forwarder], msg, check=False)
        return p.returncode, p.stdout.decode(errors="replace")

    @t.case("dkimpy's one-hop seal verifies in scop-dkim (keys over DNS)")
    def _():
        m = theirs_seal(MESSAGE, HOP1)
        rc, out = ours_verify(m)
        assert rc == 0 and out.startswith("pass i=1 oldest-pass=0"), out
        assert "set i=1 cv=none ams=pass d=%s as=pass d=%s" % (HOP1, HOP1) in out, out

    @t.case("scop-dkim's one-hop RSA seal verifies in dkimpy")
    def _():
        m = ours_seal(MESSAGE, HOP1)
        assert m.startswith(b"ARC-Seal: i=1; a=rsa-sha256;"), m[:200]
        assert b"arc=none smtp.remote-ip=192.0.2.25" in m, m[:1500]
        cv, why = theirs_verify(m)
        assert cv == b"pass", why

    @t.case("dkimpy seals, scop-dkim seals on top, dkimpy verifies the two-hop chain (and scop-dkim agrees)")
    def _():
        m = ours_seal(theirs_seal(MESSAGE, HOP1), HOP2)
        assert b"arc=pass smtp.remote-ip=192.0.2.25 header.oldest-pass=0" in m, m[:2500]
        cv, why = theirs_verify(m)
        assert cv == b"pass", why
        rc, out = ours_verify(m)
        assert rc == 0 and out.startswith("pass i=2"), out

    @t.case("scop-dkim seals, dkimpy seals on top, scop-dkim verifies the two-hop chain (and dkimpy agrees)")
    def _():
        m = theirs_seal(ours_seal(MESSAGE, HOP1), HOP2)
        rc, out = ours_verify(m)
        assert rc == 0 and out.startswith("pass i=2 oldest-pass=0"), out
        cv, why = theirs_verify(m)
        assert cv == b"pass", why

    @t.case("three hops, dkimpy / scop-dkim / dkimpy: both pass")
    def _():
        m = theirs_seal(ours_seal(theirs_seal(MESSAGE, HOP1), HOP2), HOP3)
        rc, out = ours_verify(m)
        assert rc == 0 and out.startswith("pass i=3"), out
        cv, why = theirs_verify(m)
        assert cv == b"pass", why

    @t.case("scop-dkim Ed25519 seals over a dkimpy chain verify in scop-dkim")
    def _():
        m = ours_seal(ours_seal(theirs_seal(MESSAGE, HOP1), HOP2, "ed"), HOP3, "ed")
        assert b"ARC-Seal: i=3; a=ed25519-sha256;" in m, m[:300]
        rc, out = ours_verify(m)
        assert rc == 0 and out.startswith("pass i=3 oldest-pass=0"), out
        assert "set i=1 cv=none ams=pass d=%s as=pass" % HOP1 in out, out

    @t.case("a body changed after dkimpy's seal fails in both; scop-dkim says the seals still hold")
    def _():
        m = theirs_seal(ours_seal(MESSAGE, HOP1), HOP2).replace(b"Hello list", b"Hello Eve")
        cv, why = theirs_verify(m)
        assert cv == b"fail", (cv, why)
        rc, out = ours_verify(m)
        assert rc == 1 and out.startswith("fail i=2") and "body hash mismatch" in out, out
        assert "set i=2 cv=pass ams=fail d=%s as=pass" % HOP2 in out, out

    @t.case("a seal dkimpy made, then changed, fails in scop-dkim")
    def _():
        m = theirs_seal(MESSAGE, HOP1).replace(b"; arc=none", b"; arc=pass", 1)
        rc, out = ours_verify(m)
        assert rc == 1 and "ARC-Seal i=1: ARC-Seal did not verify" in out, out

    @t.case("scop-dkim seals a broken chain with cv=fail; dkimpy and scop-dkim see it ended; no one extends it")
    def _():
        broken = theirs_seal(MESSAGE, HOP1).replace(b"Hello list", b"Hello Eve")
        m = ours_seal(broken, HOP2)
        assert b"cv=fail;" in m.split(b"ARC-Message-Signature")[0], m[:300]
        assert b"arc=fail" in m, m[:2000]
        cv, why = theirs_verify(m)
        assert cv != b"pass", (cv, why)
        rc, out = ours_verify(m)
        assert rc == 1 and "cv=fail: the chain has ended" in out, out
        again = ours_seal(m, HOP3, expect_rc=3)
        assert b"i=3" not in again, again[:400]

    @t.case("a message with no ARC fields: none in both")
    def _():
        rc, out = ours_verify(MESSAGE)
        assert rc == 1 and out.startswith("none i=0"), out
        cv, why = theirs_verify(MESSAGE)
        assert cv == b"none", why

    def mcase(desc):
        """A mailauth case: skipped (in TAP) when mailauth is not installed."""
        if have_mailauth:
            return t.case(desc)

        def skip(fn):
            t.ok(True, desc + " # SKIP node or mailauth missing or unusable (scripts/install-deps.sh installs them)")
            return fn
        return skip

    @mcase("mailauth's one-hop seal verifies in scop-dkim")
    def _():
        m = mailauth_seal(MESSAGE, HOP1)
        rc, out = ours_verify(m)
        assert rc == 0 and out.startswith("pass i=1 oldest-pass=0"), out

    @mcase("scop-dkim's RSA seals (one and two hops) verify in mailauth")
    def _():
        m = ours_seal(MESSAGE, HOP1)
        r = mailauth_verify(m)
        assert r["result"] == "pass" and r["i"] == 1, r
        m = ours_seal(m, HOP2)
        r = mailauth_verify(m)
        assert r["result"] == "pass" and r["i"] == 2, r

    @mcase("dkimpy, scop-dkim, mailauth seal in turn: all three verify the three-hop chain")
    def _():
        m = mailauth_seal(ours_seal(theirs_seal(MESSAGE, HOP1), HOP2), HOP3)
        rc, out = ours_verify(m)
        assert rc == 0 and out.startswith("pass i=3 oldest-pass=0"), out
        cv, why = theirs_verify(m)
        assert cv == b"pass", why
        r = mailauth_verify(m)
        assert r["result"] == "pass" and r["i"] == 3, r

    @mcase("a body changed after scop-dkim's seal fails in mailauth")
    def _():
        m = ours_seal(mailauth_seal(MESSAGE, HOP1), HOP2).replace(b"Hello list", b"Hello Eve")
        r = mailauth_verify(m)
        assert r["result"] == "fail", r

    srv.stop()

t.done()
