"""dns.h over libunbound against a real Knot DNS server on loopback: DNSSEC
secure/insecure/bogus, NXDOMAIN/NODATA, TXT joining, MX order, PTR, CNAME,
null MX, SRV, and a server that never answers (TEMPFAIL after the timeout)."""
import json
import os
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from scoptest import Tap, SRCDIR, BUILDDIR  # noqa: E402

sys.path.insert(0, os.path.join(SRCDIR, "tests", "dns"))
from dnsserver import KnotServer, free_port  # noqa: E402

ZONES = os.path.join(SRCDIR, "tests", "dns", "zones")
DNSTOOL = os.path.join(BUILDDIR, "tests", "dns", "dnstool")

t = Tap()


def lookup(srv_args, *pairs):
    argv = [DNSTOOL] + srv_args + ["lookup"]
    for name, typ in pairs:
        argv += [name, typ]
    out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError("dnstool: %s" % out.stderr)
    return [json.loads(line) for line in out.stdout.splitlines()]


with tempfile.TemporaryDirectory(prefix="scop-dns-") as tmp:
    zonefiles = [os.path.join(ZONES, z) for z in sorted(os.listdir(ZONES)) if z.endswith(".zone")]
    srv = KnotServer(os.path.join(tmp, "knot"), zonefiles,
                     sign=["secure.example.org"], bogus=["bogus.example.org"])
    try:
        srv.start()
        started = True
    except Exception as e:  # noqa: BLE001
        started = False
        t.ok(False, "knotd starts with the test zones", e)
    if started:
        try:
            fwd = ["--fwd", srv.forwarder, "--ta", srv.trust_anchor, "--timeout", "8000"]
            r = lookup(fwd,
                       ("secure.example.org", "A"), ("secure.example.org", "TXT"),
                       ("nope.secure.example.org", "A"), ("secure.example.org", "AAAA"),
                       ("bogus.example.org", "A"),
                       ("example.com", "A"), ("nope.example.com", "A"), ("onlya.example.com", "TXT"),
                       ("split.example.com", "TXT"), ("multi.example.com", "TXT"),
                       ("example.com", "MX"), ("30.2.0.192.in-addr.arpa", "PTR"),
                       ("www.example.com", "A"), ("nullmx.example.com", "MX"),
                       ("example.com", "AAAA"), ("EXAMPLE.com.", "A"), ("bad..example.com", "A"))
            t.ok(r[0]["status"] == "OK" and r[0]["security"] == "secure" and r[0]["records"] == ["192.0.2.50"],
                 "signed zone: A validates as secure", r[0])
            t.ok(r[1]["security"] == "secure" and r[1]["records"] == ["v=spf1 ip4:192.0.2.50 -all"],
                 "signed zone: TXT validates as secure", r[1])
            t.ok(r[2]["status"] == "NXDOMAIN" and r[2]["security"] == "secure",
                 "signed zone: NXDOMAIN proven secure (NSEC)", r[2])
            t.ok(r[3]["status"] == "NODATA" and r[3]["security"] == "secure",
                 "signed zone: NODATA proven secure", r[3])
            t.ok(r[4]["status"] == "TEMPFAIL" and r[4]["security"] == "bogus" and r[4]["why_bogus"] != ""
                 and r[4]["records"] == [], "tampered record: bogus, TEMPFAIL, with a reason", r[4])
            t.ok(r[5]["status"] == "OK" and r[5]["security"] == "insecure" and r[5]["records"] == ["192.0.2.10"]
                 and r[5]["ttl"] == 300, "unsigned zone: insecure answer with its TTL", r[5])
            t.ok(r[6]["status"] == "NXDOMAIN", "unsigned zone: NXDOMAIN", r[6])
            t.ok(r[7]["status"] == "NODATA", "unsigned zone: NODATA", r[7])
            t.ok(r[8]["records"] == ["v=spf1 ip4:192.0.2.1 ip4:192.0.2.2 -all"],
                 "TXT character-strings are joined", r[8])
            t.ok(sorted(r[9]["records"]) == ["first string", "second string"],
                 "two TXT records stay two records", r[9])
            t.ok([m["pref"] for m in r[10]["records"]] == [10, 20, 30] and
                 r[10]["records"][0]["host"] == "mx1.example.com", "MX records sorted by preference", r[10])
            t.ok(sorted(r[11]["records"]) == ["onlya.example.com", "other.example.net"], "PTR lookup", r[11])
            t.ok(r[12]["records"] == ["192.0.2.10"], "CNAME is followed", r[12])
            t.ok(r[13]["records"] == [{"pref": 0, "host": "."}], "null MX gives the root as '.'", r[13])
            t.ok(r[14]["records"] == ["2001:db8::10"], "AAAA lookup", r[14])
            t.ok(r[15]["records"] == ["192.0.2.10"], "names are case-insensitive, trailing dot allowed", r[15])
            t.ok(r[16]["status"] == "PERMFAIL", "an invalid name is PERMFAIL, not sent", r[16])

            r = lookup(fwd, ("_matrix-fed._tcp.example.com", "SRV"), ("_matrix._tcp.none.example.com", "SRV"),
                       ("_matrix._tcp.example.com", "SRV"), ("example.com", "SRV"),
                       ("_matrix-fed._tcp.secure.example.org", "SRV"))
            t.ok(r[0]["status"] == "OK" and r[0]["records"] == [
                {"priority": 10, "weight": 5, "port": 8449, "host": "target.example.com"},
                {"priority": 20, "weight": 5, "port": 9999, "host": "backup.example.com"},
                {"priority": 30, "weight": 0, "port": 8450, "host": "last.example.com"}],
                "SRV: priority, weight, port and target, sorted by priority", r[0])
            t.ok(r[1]["records"] == [{"priority": 0, "weight": 0, "port": 0, "host": "."}],
                 "SRV with target '.' (service not offered)", r[1])
            t.ok(r[2]["status"] == "NXDOMAIN" and r[3]["status"] == "NODATA", "SRV: NXDOMAIN and NODATA", r[2:4])
            t.ok(r[4]["status"] == "OK" and r[4]["security"] == "secure" and r[4]["records"][0]["port"] == 8448,
                 "SRV in a signed zone validates as secure", r[4])

            r = lookup(fwd, ("_25._tcp.mail.secure.example.org", "TLSA"), ("_25._tcp.www.example.com", "TLSA"))
            t.ok(r[0]["status"] == "OK" and r[0]["security"] == "secure" and r[0]["records"] == [
                {"usage": 3, "selector": 1, "mtype": 1,
                 "data": "0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6"}],
                "TLSA (RFC 6698) in a signed zone: usage, selector, matching type, data; secure", r[0])
            t.ok(r[1]["status"] in ("NXDOMAIN", "NODATA") and r[1]["security"] == "insecure",
                 "TLSA absent from an unsigned zone: insecure denial", r[1])

            r = lookup(["--fwd", srv.forwarder, "--ta", srv.trust_anchor_dnskey],
                       ("secure.example.org", "A"), ("bogus.example.org", "A"))
            t.ok(r[0]["security"] == "secure" and r[1]["security"] == "bogus",
                 "a DNSKEY trust anchor works as well as a DS one", r)

            # Without the trust anchor nothing can be proven: insecure, and
            # the tampered zone is not detected.
            r = lookup(["--fwd", srv.forwarder], ("secure.example.org", "A"), ("bogus.example.org", "A"))
            t.ok(r[0]["status"] == "OK" and r[0]["security"] == "insecure", "no trust anchor: insecure", r[0])
            t.ok(r[1]["status"] == "OK" and r[1]["security"] == "insecure", "no trust anchor: no bogus", r[1])

            # One resolver shared by several threads (the cache and the
            # answer hand-off are shared): every answer must be the full one.
            for threads in (4, 8):
                argv = [DNSTOOL, "--fwd", srv.forwarder, "--ta", srv.trust_anchor, "stress", str(threads), "25",
                        "example.com", "MX", "secure.example.org", "TXT", "multi.example.com", "TXT",
                        "30.2.0.192.in-addr.arpa", "PTR", "www.example.com", "A",
                        "_matrix-fed._tcp.example.com", "SRV"]
                out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
                st = json.loads(out.stdout) if out.returncode == 0 else {"error": out.stderr}
                t.ok(st.get("threads") == threads and st.get("same") == threads * 25 * 6 and st.get("differ") == 0,
                     "%d threads x 150 lookups on one resolver all get full answers" % threads, st)
        finally:
            srv.stop()

    # A server that receives but never answers: TEMPFAIL once the timeout passes.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        r = lookup(["--fwd", "127.0.0.1@%d" % port, "--timeout", "1000"], ("example.com", "A"), ("example.com", "TXT"))
        t.ok(all(x["status"] == "TEMPFAIL" for x in r), "silent server: TEMPFAIL after the timeout", r)
        # Several threads all waiting on it: each gives up at its own
        # deadline, and the others go on waiting (none hangs, none errs).
        argv = [DNSTOOL, "--fwd", "127.0.0.1@%d" % port, "--timeout", "300", "stress", "4", "2",
                "example.com", "A", "example.com", "SRV"]
        out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
        st = json.loads(out.stdout) if out.returncode == 0 else {"error": out.stderr}
        t.ok(st.get("threads") == 4 and st.get("same") == 0 and st.get("differ") == 4 * 2 * 2,
             "4 threads on a silent server: every lookup ends in TEMPFAIL", st)
    # Nothing listening at all (ICMP port unreachable).
    r = lookup(["--fwd", "127.0.0.1@%d" % free_port(), "--timeout", "1000"], ("example.com", "MX"))
    t.ok(r[0]["status"] == "TEMPFAIL", "closed port: TEMPFAIL", r[0])

t.done()
