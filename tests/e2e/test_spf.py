"""SPF end to end: our check_host() (through libunbound) and pyspf (Debian's
python3-spf, through dnspython) ask the same Knot DNS server with the same
zones, for every pair of test domain and client address; the results must
agree.  Plus DNSSEC cases pyspf cannot see: a bogus answer is a temperror."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from scoptest import Tap, SRCDIR, BUILDDIR  # noqa: E402

sys.path.insert(0, os.path.join(SRCDIR, "tests", "dns"))
from dnsserver import KnotServer  # noqa: E402

ZONES = os.path.join(SRCDIR, "tests", "dns", "zones")
DNSTOOL = os.path.join(BUILDDIR, "tests", "dns", "dnstool")

DOMAINS = ["example.com", "_spf.example.net", "split.example.com", "soft.example.com", "neutral.example.com",
           "macro.example.com", "redir.example.com", "explain.example.com", "ptrspf.example.com",
           "loop.example.com", "toomany.example.com", "voids.example.com", "twospf.example.com",
           "bad.example.com", "tempinc.example.com", "notspf.example.com", "six.example.com",
           "nxdomain.example.com", "onlya.example.com", "secure.example.org", "usesecure.example.com",
           "ptrmacro.example.com", "mxa.example.com", "deep.example.com", "upper.example.com"]
IPS = ["192.0.2.11", "192.0.2.20", "198.51.100.7", "203.0.113.5", "192.0.2.99", "192.0.2.1", "192.0.2.3",
       "192.0.2.30", "192.0.2.10", "192.0.2.50", "2001:db8::10", "2001:db8:beef::1", "2001:db8:1::5"]
LOCALS = {"macro.example.com": "user"}

t = Tap()


def ours(fwd, ta, cases):
    argv = [DNSTOOL, "--fwd", fwd, "--ta", ta, "--timeout", "8000", "spf"]
    for ip, domain, sender, helo in cases:
        argv += [ip, domain, sender, helo]
    out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError("dnstool: %s" % out.stderr)
    return [json.loads(line) for line in out.stdout.splitlines()]


def pyspf_setup(port):
    import dns.resolver
    import spf
    res = dns.resolver.Resolver(configure=False)
    res.nameservers = ["127.0.0.1"]
    res.port = port
    res.lifetime = 5
    dns.resolver.default_resolver = res
    return spf


with tempfile.TemporaryDirectory(prefix="scop-spf-") as tmp:
    zonefiles = [os.path.join(ZONES, z) for z in sorted(os.listdir(ZONES)) if z.endswith(".zone")]
    srv = KnotServer(os.path.join(tmp, "knot"), zonefiles, sign=["secure.example.org"], bogus=["bogus.example.org"])
    try:
        srv.start()
    except Exception as e:  # noqa: BLE001
        t.ok(False, "knotd starts with the test zones", e)
        t.done()
    try:
        spf = pyspf_setup(srv.port)
        cases = []
        for d in DOMAINS:
            for ip in IPS:
                cases.append((ip, d, "%s@%s" % (LOCALS.get(d, "someone"), d), "mail.example.org"))
        # HELO identity (empty MAIL FROM): sender becomes postmaster@HELO.
        for d in DOMAINS[:8]:
            for ip in IPS[:6]:
                cases.append((ip, d, "", d))
        got = ours(srv.forwarder, srv.trust_anchor, cases)
        t.ok(len(got) == len(cases), "our checker answered every case (%d)" % len(cases))
        disagree = []
        known = []
        counts = {}
        for (ip, d, s, h), g in zip(cases, got):
            q = spf.query(i=ip, s=s, h=h, querytime=5)  # s="" checks the HELO
            q.set_default_explanation("")
            res, _code, exp = q.check()
            counts[res] = counts.get(res, 0) + 1
            same = res == g["result"]
            # Explanations: compare when both gave one.  pyspf writes %{i} of
            # IPv6 in upper case (RFC 7208 7.4 shows lower); none here use it.
            if same and res == "fail" and exp and g["explanation"]:
                same = exp == g["explanation"]
            line = "%s %s: ours %s (%s) expl=%r, pyspf %s expl=%r" % (
                d, ip, g["result"], g["problem"], g["explanation"], res, exp)
            if same:
                continue
            # Known, understood differences (see the report):
            # - pyspf writes %{i} of IPv6 in upper case; RFC 7208 7.4 shows lower.
            # - pyspf counts the A/AAAA lookups of MX hosts as void lookups;
            #   RFC 7208 4.6.4 limits *terms* with void answers, and the mx
            #   term's own MX query had data.
            if res == g["result"] and exp.lower() == g["explanation"].lower():
                known.append("ipv6 %{i} case: " + line)
            elif res == "permerror" and "Void lookup" in exp and g["result"] != "permerror":
                known.append("MX host voids: " + line)
            else:
                disagree.append(line)
        t.ok(not disagree, "pyspf agrees on %d of %d evaluations (%s); %d known differences" % (
            len(cases) - len(disagree) - len(known), len(cases),
            ", ".join("%s %d" % kv for kv in sorted(counts.items())), len(known)), "\n".join(disagree))
        for k in known:
            print("# known: " + k)

        def one(ip, d, sender=None):
            return ours(srv.forwarder, srv.trust_anchor, [(ip, d, sender or "u@" + d, "mail.example.org")])[0]

        r = one("192.0.2.11", "example.com")
        t.ok(r["result"] == "pass" and r["mechanism"] == "mx", "pass via mx, mechanism reported", r)
        r = one("203.0.113.5", "example.com")
        t.ok(r["result"] == "pass" and r["mechanism"] == "include:_spf.example.net", "pass via include", r)
        r = one("192.0.2.1", "explain.example.com")
        t.ok(r["result"] == "fail" and r["explanation"] == "192.0.2.1 is not one of explain.example.com's "
             "designated mail servers.", "fail with the exp= explanation expanded", r)
        r = one("192.0.2.30", "ptrmacro.example.com")
        t.ok(r["explanation"].startswith("192.0.2.30 (onlya.example.com) is not allowed"),
             "explanation with %{c} and a validated %{p}", r)
        r = one("192.0.2.50", "secure.example.org")
        t.ok(r["result"] == "pass", "DNSSEC-signed SPF record: pass", r)
        r = one("192.0.2.60", "usebogus.example.com")
        t.ok(r["result"] == "temperror" and "bogus.example.org" in r["problem"],
             "an a: target whose answer is DNSSEC-bogus gives temperror", r)
        r = one("192.0.2.1", "loop.example.com")
        t.ok(r["result"] == "permerror" and "more than 10" in r["problem"], "include loop stops at 10 lookups", r)
        r = one("192.0.2.1", "voids.example.com")
        t.ok(r["result"] == "permerror" and "void" in r["problem"], "third void lookup is permerror", r)
    finally:
        srv.stop()

t.done()
