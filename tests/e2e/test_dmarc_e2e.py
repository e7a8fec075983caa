"""DMARC end to end: scop-dkim check verifies DKIM, finds the DMARC
record (at the From domain or its organizational domain, via Debian's
public suffix list) on a real DNS server (Knot, tests/dns/dnsserver.py)
through dns_unbound, applies alignment and policy, and writes an
Authentication-Results field, which python3-authres must read back.
Fields python3-authres writes must parse in scop-dkim parse-ar."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from scoptest import Tap, SRCDIR, binary  # noqa: E402

sys.path.insert(0, os.path.join(SRCDIR, "tests", "dns"))
from dnsserver import KnotServer, txt_rdata, write_zone  # noqa: E402

import authres  # noqa: E402  (Debian's python3-authres)
import authres.dmarc  # noqa: E402,F401
import dkim  # noqa: E402

t = Tap()
SCOP_DKIM = binary("scop-dkim")


def run(argv, data=None, check=True):
    p = subprocess.run(argv, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    if check and p.returncode != 0:
        raise RuntimeError("%s exited %d: %s" % (argv[:2], p.returncode, p.stderr.decode(errors="replace")))
    return p



def message(from_addr, body=b"Hello.\r\n"):
    return (b"From: Someone <" + from_addr.encode() + b">\r\n"
            b"To: bob@example.com\r\n"
            b"Subject: dmarc test\r\n"
            b"Date: Mon, 23 Nov 2026 20:00:00 +0000\r\n"
            b"Message-ID: <dmarc-test@example.net>\r\n"
            b"\r\n" + body)


def sign(key, domain, selector, msg):
    return run([SCOP_DKIM, "sign", "--key", key, "--domain", domain, "--selector", selector,
                "--canon", "relaxed/relaxed"], msg).stdout


def check(fwd, msg, *extra):
    out = run([SCOP_DKIM, "check", "--dns", fwd, "--authserv-id", "mx.scop.test", "--sample", "50"]
              + list(extra), msg).stdout.decode()
    hdr = authres.AuthenticationResultsHeader.parse(out.replace("\r\n\t", " ").strip())
    assert hdr.authserv_id == "mx.scop.test", out
    return {r.method: r for r in hdr.results}, out


def prop(result, name):
    for p in result.properties:
        if "%s.%s" % (p.type, p.name) == name:
            return p.value
    return None


with tempfile.TemporaryDirectory(prefix="scop-dmarc-") as tmp:
    key = os.path.join(tmp, "k.pem")
    run(["openssl", "genpkey", "-algorithm", "ED25519", "-out", key])
    rec = run([SCOP_DKIM, "pubkey", "--key", key]).stdout.decode().strip()
    zones = []
    for origin, lines in (
            ("example.net", ["_dmarc TXT \"v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@example.net\"",
                             "s1._domainkey.mail TXT " + txt_rdata(rec),
                             "s1._domainkey TXT " + txt_rdata(rec),
                             "_dmarc.strict TXT \"v=DMARC1; p=reject; adkim=s; aspf=s\"",
                             "_dmarc.half TXT \"v=DMARC1; p=reject; pct=40\"",
                             "_dmarc.two TXT \"v=DMARC1; p=none\"",
                             "_dmarc.two TXT \"v=DMARC1; p=reject\"",
                             "_dmarc.notdmarc TXT \"v=spf1 -all\""]),
            ("example.org", ["k1._domainkey TXT " + txt_rdata(rec)])):
        zones.append(write_zone(tmp, origin, lines))
    srv = KnotServer(os.path.join(tmp, "knot"), zones)
    try:
        srv.start()
        up = True
    except Exception as e:  # noqa: BLE001
        up = False
        t.ok(False, "knotd serves the DMARC and key records", e)

    if up:
        fwd = srv.forwarder

        @t.case("subdomain From, aligned DKIM (relaxed): dmarc=pass; record found at the organizational domain")
        def _():
            r, out = check(fwd, sign(key, "mail.example.net", "s1", message("alice@mail.example.net")))
            assert r["dkim"].result == "pass" and r["dmarc"].result == "pass", out
            assert prop(r["dmarc"], "header.from") == "mail.example.net", out
            assert "p=reject sp=quarantine dis=none" in out, out

        @t.case("organizational From, DKIM d= a subdomain: relaxed alignment passes")
        def _():
            r, out = check(fwd, sign(key, "mail.example.net", "s1", message("alice@example.net")))
            assert r["dmarc"].result == "pass", out

        @t.case("adkim=s: a subdomain signature does not align; p=reject applies")
        def _():
            r, out = check(fwd, sign(key, "example.net", "s1", message("bob@strict.example.net")))
            assert r["dkim"].result == "pass" and r["dmarc"].result == "fail", out
            assert "dis=reject" in out, out

        @t.case("unsigned, SPF pass for an aligned MAIL FROM: dmarc=pass")
        def _():
            r, out = check(fwd, message("alice@example.net"), "--spf", "pass", "--mail-from", "bounce@mail.example.net")
            assert r["dkim"].result == "none" and r["spf"].result == "pass" and r["dmarc"].result == "pass", out
            assert prop(r["spf"], "smtp.mailfrom") == "bounce@mail.example.net", out

        @t.case("third-party signature only (example.org): dmarc=fail, subdomain gets sp=quarantine")
        def _():
            r, out = check(fwd, sign(key, "example.org", "k1", message("carol@news.example.net")),
                           "--spf", "pass", "--mail-from", "x@example.org")
            assert r["dkim"].result == "pass" and r["dmarc"].result == "fail", out
            assert "dis=quarantine" in out, out

        @t.case("pct=40 with sample 50: left out, reject softened to quarantine")
        def _():
            r, out = check(fwd, message("dave@half.example.net"))
            assert r["dmarc"].result == "fail" and "dis=quarantine pct-sampled-out" in out, out

        @t.case("tampered body: dkim=fail, dmarc=fail")
        def _():
            signed = sign(key, "example.net", "s1", message("erin@example.net")).replace(b"Hello.", b"Hellx.")
            r, out = check(fwd, signed)
            assert r["dkim"].result == "fail" and r["dmarc"].result == "fail", out

        @t.case("no DMARC record anywhere, or two at the From domain: dmarc=none; only non-DMARC TXT: fall back")
        def _():
            r, out = check(fwd, message("frank@example.org"))
            assert r["dmarc"].result == "none", out
            r, out = check(fwd, message("gina@notdmarc.example.net"))
            assert r["dmarc"].result == "fail" and "dis=quarantine" in out, out
            r, out = check(fwd, message("hal@two.example.net"))
            assert r["dmarc"].result == "none", out

        @t.case("dkimpy's signature counts for DMARC too")
        def _():
            with open(key) as f:
                import base64
                der = base64.b64decode("".join(l for l in f.read().splitlines() if not l.startswith("-----")))
            msg = message("ivy@example.net")
            sig = dkim.sign(msg, b"s1", b"example.net", base64.b64encode(der[-32:]),
                            signature_algorithm=b"ed25519-sha256")
            r, out = check(fwd, sig + msg)
            assert r["dkim"].result == "pass" and r["dmarc"].result == "pass", out
    srv.stop()

    @t.case("fields python3-authres writes parse in scop-dkim")
    def _():
        hdr = authres.AuthenticationResultsHeader(authserv_id="mx.example.org", results=[
            authres.DKIMAuthenticationResult(result="pass", header_d="example.com", header_i="@example.com",
                                             header_s="sel"),
            authres.SPFAuthenticationResult(result="fail", smtp_mailfrom="x@example.net", reason="not permitted"),
            authres.dmarc.DMARCAuthenticationResult(result="pass", header_from="example.com", policy="REJECT")])
        out = run([SCOP_DKIM, "parse-ar"], (str(hdr) + "\r\n").encode()).stdout.decode().splitlines()
        assert out == ["authserv-id=mx.example.org version=0",
                       "dkim=pass header.d=example.com header.i=@example.com header.s=sel",
                       "spf=fail reason=not permitted smtp.mailfrom=x@example.net",
                       "dmarc=pass header.from=example.com policy.dmarc=REJECT"], out

    @t.case("scop-dkim parse-ar refuses a broken field")
    def _():
        p = run([SCOP_DKIM, "parse-ar"], b"Authentication-Results: mx; dkim=pass header.d\r\n", check=False)
        assert p.returncode == 1

t.done()
