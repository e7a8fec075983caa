"""DKIM interoperability: signatures scop-dkim makes verify in dkimpy
(python3-dkim) and OpenDKIM (opendkim -t with TestPublicKeys), and
signatures dkimpy and OpenDKIM make verify in scop-dkim, which reads the
keys from a real DNS server (Knot, tests/dns/dnsserver.py) on loopback
through dns_unbound.  RSA-2048 and Ed25519, every canonicalization."""
import base64
import os
import re
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
OPENDKIM = "/usr/sbin/opendkim"
DOMAIN = "mail.example.net"  # not .test: unbound answers that TLD locally
CANONS = ["simple/simple", "simple/relaxed", "relaxed/simple", "relaxed/relaxed"]

MESSAGE = (b"From: Alice Example <alice@mail.example.net>\r\n"
           b"To: Bob <bob@example.net>\r\n"
           b"Subject: Interop  test,\r\n"
           b"\tfolded\r\n"
           b"Date: Mon, 23 Nov 2026 20:00:00 +0000\r\n"
           b"Message-ID: <interop-1@mail.example.net>\r\n"
           b"MIME-Version: 1.0\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n"
           b"\r\n"
           b"Hello Bob,  \r\n"
           b"\r\n"
           b"\tthis line has  odd   spacing \t\r\n"
           + b"A longer line of body text to make the body hash do some work. " * 20 + b"\r\n"
           b"\r\n\r\n")


def run(argv, data=None, check=True):
    p = subprocess.run(argv, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    if check and p.returncode != 0:
        raise RuntimeError("%s exited %d: %s" % (argv[:2], p.returncode, p.stderr.decode(errors="replace")))
    return p


def ed_seed_b64(pem_path):
    """dkimpy wants the raw Ed25519 seed: the last 32 bytes of the PKCS#8 DER."""
    with open(pem_path) as f:
        der = base64.b64decode("".join(l for l in f.read().splitlines() if not l.startswith("-----")))
    return base64.b64encode(der[-32:])


def ours_sign(key, selector, canon, msg=MESSAGE):
    return run([SCOP_DKIM, "sign", "--key", key, "--domain", DOMAIN, "--selector", selector,
                "--canon", canon], msg).stdout


def ours_verify(msg, forwarder):
    p = run([SCOP_DKIM, "verify", "--dns", forwarder], msg, check=False)
    return p.returncode, p.stdout.decode(errors="replace")


def opendkim_conf(tmp, lines):
    path = os.path.join(tmp, "opendkim.conf")
    with open(path, "w") as f:
        f.write("\n".join(lines + ["Syslog no", "RequireSafeKeys no"]) + "\n")
    return path


def opendkim_verify(tmp, keyfile, msg):
    path = os.path.join(tmp, "od-verify.eml")
    with open(path, "wb") as f:
        f.write(msg)
    conf = opendkim_conf(tmp, ["Mode v", "TestPublicKeys " + keyfile, "AlwaysAddARHeader yes",
                               "AuthservID test"])
    p = run([OPENDKIM, "-x", conf, "-t", path, "-vvv"], check=False)
    out = (p.stdout + p.stderr).decode(errors="replace")
    return p.returncode, out


def opendkim_sign(tmp, key, selector, algo, canon):
    path = os.path.join(tmp, "od-sign.eml")
    with open(path, "wb") as f:
        f.write(MESSAGE)
    conf = opendkim_conf(tmp, ["Mode s", "Domain " + DOMAIN, "Selector " + selector, "KeyFile " + key,
                               "SignatureAlgorithm " + algo, "Canonicalization " + canon])
    p = run([OPENDKIM, "-x", conf, "-t", path, "-vvv"], check=False)
    out = (p.stdout + p.stderr).decode(errors="replace")
    m = re.search(r"INSHEADER: idx=0 hname='DKIM-Signature' hvalue='([^']*)'", out)
    if not m:
        raise RuntimeError("opendkim did not sign: " + out[-2000:])
    value = m.group(1).replace("\r\n", "\n").replace("\n", "\r\n")
    return b"DKIM-Signature: " + value.encode() + b"\r\n" + MESSAGE


with tempfile.TemporaryDirectory(prefix="scop-dkim-") as tmp:
    keys = {}
    for sel, args in (("rsa", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]),
                      ("ed", ["-algorithm", "ED25519"])):
        path = os.path.join(tmp, sel + ".pem")
        run(["openssl", "genpkey"] + args + ["-out", path])
        os.chmod(path, 0o600)
        rec = run([SCOP_DKIM, "pubkey", "--key", path]).stdout.decode().strip()
        keys[sel] = (path, rec)
    records = {"rsa": keys["rsa"][1], "ed": keys["ed"][1], "gone": "v=DKIM1; k=rsa; p=",
               "tst": keys["ed"][1].replace("k=ed25519;", "k=ed25519; t=y;")}

    zone = os.path.join(tmp, DOMAIN + ".zone")
    with open(zone, "w") as f:
        f.write("$ORIGIN %s.\n$TTL 300\n" % DOMAIN)
        f.write("@ SOA ns.%s. hostmaster.%s. 1 3600 600 86400 300\n@ NS ns.%s.\nns A 127.0.0.1\n"
                % (DOMAIN, DOMAIN, DOMAIN))
        for sel, rec in records.items():
            f.write("%s._domainkey TXT %s\n" % (sel, txt_rdata(rec)))
    pubkeys = os.path.join(tmp, "keys.txt")
    with open(pubkeys, "w") as f:
        for sel, rec in records.items():
            f.write("%s._domainkey.%s %s\n" % (sel, DOMAIN, rec))

    def dnsfunc(name, timeout=5):
        for sel, rec in records.items():
            if name == ("%s._domainkey.%s." % (sel, DOMAIN)).encode():
                return rec.encode()
        return None

    srv = KnotServer(os.path.join(tmp, "knot"), [zone])
    try:
        srv.start()
        up = True
    except Exception as e:  # noqa: BLE001
        up = False
        t.ok(False, "knotd serves the key records", e)

    # --- ours -> dkimpy, OpenDKIM ---
    for sel in ("rsa", "ed"):
        for canon in CANONS:
            @t.case("scop-dkim %s %s signature verifies in dkimpy" % (sel, canon))
            def _():
                signed = ours_sign(keys[sel][0], sel, canon)
                assert dkim.verify(signed, dnsfunc=dnsfunc), signed[:600]

            @t.case("scop-dkim %s %s signature verifies in OpenDKIM" % (sel, canon))
            def _():
                signed = ours_sign(keys[sel][0], sel, canon)
                rc, out = opendkim_verify(tmp, pubkeys, signed)
                assert rc == 0 and "dkim=pass" in out and "dkim=fail" not in out, out[-1500:]

    @t.case("two scop-dkim signatures (RSA over Ed25519) both verify in dkimpy and OpenDKIM")
    def _():
        once = ours_sign(keys["ed"][0], "ed", "relaxed/relaxed")
        twice = ours_sign(keys["rsa"][0], "rsa", "relaxed/simple", once)
        d = dkim.DKIM(twice)
        assert d.verify(idx=0, dnsfunc=dnsfunc) and d.verify(idx=1, dnsfunc=dnsfunc)
        rc, out = opendkim_verify(tmp, pubkeys, twice)
        assert out.count("dkim=pass") == 2, out[-1500:]

    @t.case("a tampered scop-dkim signature fails in dkimpy and OpenDKIM")
    def _():
        signed = ours_sign(keys["rsa"][0], "rsa", "relaxed/relaxed").replace(b"Hello Bob", b"Hello Eve")
        assert not dkim.verify(signed, dnsfunc=dnsfunc)
        rc, out = opendkim_verify(tmp, pubkeys, signed)
        assert "dkim=pass" not in out, out[-1500:]

    @t.case("signed messages shipped in dkimpy's test data (Exim's Ed25519 prototype, RFC 8463 simple/simple) verify")
    def _():
        data = os.path.join(os.path.dirname(dkim.__file__), "tests", "data")
        with open(os.path.join(data, "eximtest.dns")) as f:
            exim_key = f.read().strip()
        cases = [("ed25519test2.msg", exim_key, "pass d=test.ex s=sed a=ed25519-sha256"),
                 ("rfc6376.signed.msg", "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
                  "pass d=football.example.com s=brisbane a=ed25519-sha256")]
        with open(os.path.join(data, "test.txt")) as f:
            cases.append(("rfc6376.signed.rsa.msg", f.read().strip(), "pass d=football.example.com s=test a=rsa-sha256"))
        for name, rec, want in cases:
            with open(os.path.join(data, name), "rb") as f:
                msg = f.read()
            p = run([SCOP_DKIM, "verify", "--now", "1600000000", "--key-record", rec], msg, check=False)
            assert want in p.stdout.decode(), (name, p.stdout)

    # --- dkimpy, OpenDKIM -> ours, keys over real DNS ---
    if up:
        for sel in ("rsa", "ed"):
            for canon in CANONS:
                @t.case("dkimpy %s %s signature verifies in scop-dkim (key over DNS)" % (sel, canon))
                def _():
                    hc, bc = canon.split("/")
                    if sel == "rsa":
                        with open(keys["rsa"][0], "rb") as f:
                            pk = f.read()
                        alg = b"rsa-sha256"
                    else:
                        pk = ed_seed_b64(keys["ed"][0])
                        alg = b"ed25519-sha256"
                    sig = dkim.sign(MESSAGE, sel.encode(), DOMAIN.encode(), pk,
                                    canonicalize=(hc.encode(), bc.encode()), signature_algorithm=alg)
                    rc, out = ours_verify(sig + MESSAGE, srv.forwarder)
                    assert rc == 0 and out.startswith("pass d=mail.example.net s=%s" % sel), out

            # OpenDKIM 2.11's test mode prints Ed25519 signatures with
            # simple header canonicalization folded differently from what
            # it signed (it fails them itself); see the agreement case below.
            for canon in (("relaxed/simple", "simple/relaxed") if sel == "rsa" else ("relaxed/simple", "relaxed/relaxed")):
                @t.case("OpenDKIM %s %s signature verifies in scop-dkim (key over DNS)" % (sel, canon))
                def _():
                    algo = "rsa-sha256" if sel == "rsa" else "ed25519-sha256"
                    signed = opendkim_sign(tmp, keys[sel][0], sel, algo, canon)
                    rc, out = ours_verify(signed, srv.forwarder)
                    assert rc == 0 and out.startswith("pass d=mail.example.net s=%s" % sel), out

        @t.case("OpenDKIM's Ed25519 simple-header signature: scop-dkim agrees with dkimpy and OpenDKIM")
        def _():
            signed = opendkim_sign(tmp, keys["ed"][0], "ed", "ed25519-sha256", "simple/simple")
            theirs = dkim.verify(signed, dnsfunc=dnsfunc)
            rc, od = opendkim_verify(tmp, pubkeys, signed)
            rc, out = ours_verify(signed, srv.forwarder)
            assert out.startswith("pass ") == theirs == ("dkim=pass" in od), (out, theirs, od[-800:])

        @t.case("scop-dkim reports a tampered dkimpy signature as fail")
        def _():
            with open(keys["rsa"][0], "rb") as f:
                sig = dkim.sign(MESSAGE, b"rsa", DOMAIN.encode(), f.read())
            rc, out = ours_verify(sig + MESSAGE.replace(b"Bob,", b"Eve,"), srv.forwarder)
            assert rc == 1 and out.startswith("fail ") and "body hash mismatch" in out, out

        @t.case("scop-dkim: revoked key (p=) is a permerror, testing key flagged")
        def _():
            signed = ours_sign(keys["rsa"][0], "gone", "relaxed/relaxed")
            rc, out = ours_verify(signed, srv.forwarder)
            assert rc == 1 and out.startswith("permerror ") and "key revoked" in out, out
            signed = ours_sign(keys["ed"][0], "tst", "relaxed/relaxed")
            rc, out = ours_verify(signed, srv.forwarder)
            assert rc == 0 and out.startswith("pass ") and " testing" in out, out

        @t.case("scop-dkim: a selector with no record is a permerror")
        def _():
            signed = ours_sign(keys["rsa"][0], "missing", "relaxed/relaxed")
            rc, out = ours_verify(signed, srv.forwarder)
            assert rc == 1 and out.startswith("permerror ") and "no key record" in out, out
    srv.stop()

t.done()
