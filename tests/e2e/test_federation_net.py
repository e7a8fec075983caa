#!/usr/bin/python3
"""Federation's network side end to end: tests/federation/fedtool (the C
resolver, keyring and sender) against a Python peer over real TLS that signs
and checks with Synapse's signedjson, and a private Knot DNS for SRV.
Everything listens on 127.0.0.1 free ports; names under example.test are
sent there through the resolver's address overrides."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from scoptest import Tap, SRCDIR, BUILDDIR  # noqa: E402

sys.path.insert(0, os.path.join(SRCDIR, "tests", "dns"))
sys.path.insert(0, os.path.join(SRCDIR, "tests", "federation"))
from dnsserver import KnotServer  # noqa: E402
import fedhs  # noqa: E402
import fedpeer  # noqa: E402

import signedjson.key  # noqa: E402
import signedjson.sign  # noqa: E402

FEDTOOL = os.path.join(BUILDDIR, "tests", "federation", "fedtool")
ORIGIN = "origin.example.test"

t = Tap()
work = tempfile.mkdtemp(prefix="scop-fednet-")
pki = fedpeer.make_pki(work)
peer = fedpeer.Peer(pki["srv.crt"], pki["srv.key"]).start()
badpeer = fedpeer.Peer(pki["bad.crt"], pki["bad.key"]).start()
P, BP = peer.port, badpeer.port

our_key = signedjson.key.generate_signing_key("fed1")
keyfile = os.path.join(work, "signing.key")
with open(keyfile, "w") as f:
    signedjson.key.write_signing_keys(f, [our_key])
our_vk = signedjson.key.get_verify_key(our_key)
peer.origin_keys[ORIGIN] = ("ed25519:fed1", our_vk)

NAMES = ["good", "forged", "expired", "wrong", "down", "notary", "badnotary", "flaky", "fed",
         "d1", "d2", "d3", "d4", "d5"]
overrides = []
for n in NAMES:
    overrides += ["--override", "%s.example.test:%d:127.0.0.1:%d" % (n, P, P)]
# Well-known on port 443 and the SRV targets, all to the peer.
for h in ("example.test:443", "srv.example.test:443", "delegated.example.test:443",
          "nowk.example.test:443", "fed.example.test:8451", "redir.example.test:443", "huge.example.test:443",
          "nocache.example.test:443", "broken.example.test:443"):
    overrides += ["--override", "%s:127.0.0.1:%d" % (h, P)]
overrides += ["--override", "bad.example.test:%d:127.0.0.1:%d" % (BP, BP)]

knot = KnotServer(os.path.join(work, "dns"), [os.path.join(SRCDIR, "tests", "federation", "zones",
                                                           "example.test.zone")])


def fedtool(*args, extra=(), timeout=60):
    argv = [FEDTOOL, "--origin", ORIGIN, "--key", keyfile, "--ca", pki["ca.crt"],
            "--dns", knot.forwarder] + overrides + list(extra) + list(args)
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError("fedtool %s: exit %d: %s" % (args, p.returncode, p.stderr))
    return json.loads(p.stdout.strip().splitlines()[-1])


def notary_args(key):
    return ["--notary", "notary.example.test:%d" % P, "ed25519:" + key.version, fedpeer.verify_key_b64(key)]


try:
    knot.start()

    # ---- keys ----
    r = fedtool("keys", "good.example.test:%d" % P, "ed25519:k1")
    t.ok(r.get("key") == fedpeer.verify_key_b64(peer.key_for("good.example.test:%d" % P)),
         "keyring fetches and verifies a key directly", r)
    for kind, what in (("forged", "signature by an unlisted key"), ("expired", "expired valid_until_ts"),
                       ("wrong", "another server's document")):
        r = fedtool("keys", "%s.example.test:%d" % (kind, P), "ed25519:k1")
        t.ok("error" in r, "keyring rejects a document with a %s" % what, r)

    target = "remote.example.test"
    r = fedtool("keys-notary", target, extra=notary_args(peer.notary_key))
    t.ok(r.get("ok") is True, "keyring accepts keys relayed and signed by a trusted notary", r)
    r = fedtool("keys-notary", target, extra=["--notary", "badnotary.example.test:%d" % P, "ed25519:notary",
                                              fedpeer.verify_key_b64(peer.notary_key)])
    t.ok("error" in r, "keyring rejects a notary answer not signed by the trusted notary key", r)
    down = "down.example.test:%d" % P
    r = fedtool("keys", down, "ed25519:k1", extra=notary_args(peer.notary_key))
    t.ok(r.get("key") == fedpeer.verify_key_b64(peer.key_for(down)),
         "keyring falls back to the notary when the direct fetch fails", r)

    # ---- our server side, checked with signedjson ----
    doc = fedtool("server-keys")
    try:
        signedjson.sign.verify_signed_json(doc, ORIGIN, our_vk)
        ok = doc["server_name"] == ORIGIN and doc["verify_keys"]["ed25519:fed1"]["key"] == \
            signedjson.key.encode_verify_key_base64(our_vk)
    except Exception as e:  # noqa: BLE001
        ok, doc = False, e
    t.ok(ok, "our /_matrix/key/v2/server document verifies with signedjson", doc)

    good = "good.example.test:%d" % P
    resp = fedtool("notary-query", json.dumps({"server_keys": {good: {}}}))
    try:
        d = resp["server_keys"][0]
        signedjson.sign.verify_signed_json(d, ORIGIN, our_vk)
        gvk = signedjson.key.get_verify_key(peer.key_for(good))
        signedjson.sign.verify_signed_json(d, good, gvk)
        ok = d["server_name"] == good
    except Exception as e:  # noqa: BLE001
        ok, resp = False, e
    t.ok(ok, "our notary answer carries the origin's and our signature (signedjson)", resp)
    resp = fedtool("notary-query", json.dumps({"server_keys": {good: {"ed25519:k1": {
        "minimum_valid_until_ts": fedpeer.now_ms() + 10 * 24 * 3600 * 1000}}}}))
    t.ok(resp.get("server_keys") == [], "notary leaves out keys not valid long enough", resp)
    resp = fedtool("notary-query", json.dumps({"server_keys": ["x"]}))
    t.ok("error" in resp, "notary rejects a malformed query body", resp)

    # ---- inbound X-Matrix, signed by signedjson ----
    def xmatrix(origin, sk, method, uri, content, destination=ORIGIN):
        return fedhs.xmatrix(origin, sk, method, uri, content, destination)
    body = {"pdus": [], "edus": [{"edu_type": "m.typing", "content": {"é": 1}}]}
    uri = "/_matrix/federation/v1/send/42?x=%20y"
    hdr = xmatrix(good, peer.key_for(good), "PUT", uri, body)
    r = fedtool("check-auth", "PUT", uri, json.dumps(body), hdr)
    t.ok(r.get("origin") == good, "an inbound request signed by signedjson passes (key fetched from the origin)", r)
    r = fedtool("check-auth", "PUT", uri, json.dumps(dict(body, pdus=[{"x": 1}])), hdr)
    t.ok("error" in r, "the same header over another body is refused", r)
    r = fedtool("check-auth", "PUT", uri, json.dumps(body),
                xmatrix(good, peer.key_for(good), "PUT", uri, body, destination="elsewhere.test"))
    t.ok("error" in r, "a header for another destination is refused", r)
    r = fedtool("check-auth", "GET", "/_matrix/federation/v1/version", "-",
                xmatrix(good, peer.rogue, "GET", "/_matrix/federation/v1/version", None).replace(
                    "ed25519:rogue", "ed25519:k1"))
    t.ok("error" in r, "a signature by a key the origin does not publish is refused", r)

    # ---- TLS ----
    bad = "bad.example.test:%d" % BP
    r = fedtool("keys-direct", bad)
    t.ok("error" in r, "a certificate not signed by a trusted CA is refused", r)
    r = fedtool("keys-direct", bad, extra=["--no-verify", bad])
    t.ok(r.get("ok") is True, "the same server works when it is on the no-verify list", r)

    # ---- discovery ----
    peer.well_known["example.test"] = (200, {"m.server": "fed.example.test:%d" % P},
                                       {"Cache-Control": "max-age=600"})
    r = fedtool("discover", "example.test")
    t.ok(r.get("host") == "fed.example.test" and r.get("port") == P and r.get("via_well_known") is True
         and r.get("tls_name") == "fed.example.test", "well-known over real TLS delegates to host:port", r)
    r = fedtool("discover", "srv.example.test")
    t.ok(r.get("host") == "target.example.test" and r.get("port") == 8449 and r.get("via_srv") is True
         and r.get("tls_name") == "srv.example.test", "no well-known: SRV _matrix-fed._tcp (lowest priority)", r)
    r = fedtool("discover", "legacy.example.test")
    t.ok(r.get("host") == "old.example.test" and r.get("port") == 8450,
         "deprecated SRV _matrix._tcp is used when _matrix-fed is absent", r)
    peer.well_known["delegated.example.test"] = (200, {"m.server": "delegated.example.test"}, {})
    r = fedtool("discover", "delegated.example.test")
    t.ok(r.get("host") == "fed.example.test" and r.get("port") == 8451 and r.get("via_well_known") is True,
         "well-known without a port, then SRV on the delegated name", r)
    r = fedtool("discover", "nowk.example.test")
    t.ok(r.get("host") == "nowk.example.test" and r.get("port") == 8448, "no well-known, no SRV: port 8448", r)
    r = fedtool("discover", "[::1]:8448")
    t.ok(r.get("host") == "::1" and r.get("port") == 8448, "IPv6 literal with a port", r)
    hits = peer.well_known_hits.get("example.test", 0)
    r = fedtool("discover", "example.test")
    t.ok(peer.well_known_hits.get("example.test", 0) == hits + 1 and r.get("via_well_known") is True,
         "each fedtool run fetches the well-known once (cache is per process)", r)
    peer.well_known["redir.example.test"] = (302, {}, {"Location": "https://example.test/.well-known/matrix/server"})
    r = fedtool("discover", "redir.example.test")
    t.ok(r.get("host") == "fed.example.test" and r.get("port") == P and r.get("via_well_known") is True,
         "a redirected well-known is followed", r)
    peer.well_known["huge.example.test"] = (200, {"m.server": "fed.example.test:%d" % P, "pad": "x" * 60000}, {})
    r = fedtool("discover", "huge.example.test")
    t.ok(r.get("host") == "huge.example.test" and r.get("port") == 8448 and r.get("via_well_known") is False,
         "a well-known body over 50 KiB is ignored", r)
    peer.well_known["nocache.example.test"] = (200, {"m.server": "fed.example.test:%d" % P},
                                               {"Cache-Control": "no-store"})
    peer.well_known["broken.example.test"] = (500, {}, {})
    for name in ("nocache", "broken"):
        peer.well_known_hits.pop(name + ".example.test", None)
    hits = peer.well_known_hits.get("example.test", 0)
    p = subprocess.run([FEDTOOL, "--ca", pki["ca.crt"], "--dns", knot.forwarder] + overrides +
                       ["discover", "example.test", "example.test", "nocache.example.test", "nocache.example.test",
                        "broken.example.test", "broken.example.test"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    lines = [json.loads(x) for x in p.stdout.splitlines()]
    t.ok(len(lines) == 6 and all(x.get("via_well_known") for x in lines[:4]) and
         peer.well_known_hits.get("example.test", 0) == hits + 1,
         "a well-known answer is cached within a process (max-age)", (lines, peer.well_known_hits))
    t.ok(peer.well_known_hits.get("nocache.example.test") == 2, "Cache-Control: no-store is not cached",
         peer.well_known_hits)
    t.ok(peer.well_known_hits.get("broken.example.test") == 1 and lines[-1].get("port") == 8448,
         "a failed well-known fetch is cached too (the spec's error caching)", (lines, peer.well_known_hits))

    # One resolver shared by 4 threads: SRV lookups run at the same time
    # (no lock around them) and every answer must be the sequential one.
    r = fedtool("discover-parallel", "4", "10", "srv.example.test", "legacy.example.test",
                "delegated.example.test", "nowk.example.test")
    t.ok(r.get("threads") == 4 and r.get("same") == 4 * 10 * 4 and r.get("differ") == 0,
         "4 threads x 40 discoveries on one resolver get the sequential answers", r)

    r = fedtool("keys", "example.test", "ed25519:k1")
    t.ok("error" in r and "example.test" in json.dumps(r),
         "a key document naming the delegated host instead of the server is refused", r)

    # ---- sender ----
    d1 = "d1.example.test:%d" % P
    del peer.txns[:]
    r = fedtool("send", "0", "120", d1)
    mine = [x for x in peer.txns if x["dest"] == d1]
    t.ok(r.get("idle") and len(mine) == 2 and [len(x["edus"]) for x in mine] == [100, 20],
         "120 EDUs go out as 2 transactions (100 + 20)", (r, [len(x["edus"]) for x in mine]))
    t.ok(all(x["sig_ok"] for x in mine), "the peer verifies our X-Matrix signatures with signedjson",
         [x["why"] for x in mine])

    flaky = "flaky.example.test:%d" % P
    peer.fail_first = 3
    r = fedtool("send", "5", "0", flaky, extra=["--backoff", "50"])
    att = [a for a in peer.attempts if a[0] == flaky]
    got = [x for x in peer.txns if x["dest"] == flaky]
    t.ok(r.get("idle") and len(att) == 4 and len({a[1] for a in att}) == 1 and [a[2] for a in att] ==
         [500, 500, 500, 200] and len(got) == 1 and len(got[0]["pdus"]) == 5 and r.get("txns_failed") == 3,
         "after 3 x 500 the same txn id is retried and delivered once", (r, att))

    # Catch-up: the destination is down (nothing listening) when the PDUs
    # are queued and comes up later; the sender keeps retrying and delivers.
    import socket
    import time
    with socket.socket() as s_:
        s_.bind(("127.0.0.1", 0))
        late_port = s_.getsockname()[1]
    late_dest = "127.0.0.1:%d" % late_port
    proc = subprocess.Popen([FEDTOOL, "--origin", ORIGIN, "--key", keyfile, "--ca", pki["ca.crt"],
                             "--backoff", "100", "--timeout", "30000", "send", "60", "3", late_dest],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    late = fedpeer.Peer(pki["srv.crt"], pki["srv.key"], port=late_port)
    late.origin_keys[ORIGIN] = peer.origin_keys[ORIGIN]
    late.start()
    try:
        out, errout = proc.communicate(timeout=60)
        r = json.loads(out.strip().splitlines()[-1])
        seqs = [p_["seq"] for x in late.txns for p_ in x["pdus"]]
        t.ok(r.get("idle") and r.get("txns_failed", 0) >= 1 and seqs == list(range(60)) and
             all(x["sig_ok"] for x in late.txns),
             "a destination that was down gets every PDU, in order, once it is back", (r, seqs))
    finally:
        late.stop()

    # A destination whose discovery is slow (the well-known answer takes 3 s)
    # does not hold up the others: the send loop never blocks on it.
    peer.well_known["slow.example.test"] = (200, {"m.server": "d5.example.test:%d" % P}, {})
    peer.well_known_delay["slow.example.test"] = 3.0
    del peer.txns[:]
    r = fedtool("send", "1", "0", "slow.example.test", "d4.example.test:%d" % P,
                extra=["--override", "slow.example.test:443:127.0.0.1:%d" % P])
    order = [x["dest"] for x in peer.txns]
    t.ok(r.get("idle") and order == ["d4.example.test:%d" % P, "d5.example.test:%d" % P],
         "a slow discovery does not hold up other destinations", (r, order))

    # An IPv6 literal destination: bracketed in the URL and CONNECT_TO, and
    # the certificate checked against the address.
    try:
        peer6 = fedpeer.Peer(pki["srv.crt"], pki["srv.key"], host="::1")
    except OSError:
        peer6 = None
    if peer6 is None:
        t.ok(True, "# SKIP no IPv6 loopback")
    else:
        peer6.origin_keys[ORIGIN] = peer.origin_keys[ORIGIN]
        peer6.start()
        try:
            d6 = "[::1]:%d" % peer6.port
            r = fedtool("send", "3", "1", d6)
            got = peer6.txns
            t.ok(r.get("idle") and len(got) == 1 and got[0]["dest"] == d6 and got[0]["sig_ok"] and
                 len(got[0]["pdus"]) == 3, "an IPv6 literal destination gets its transaction over verified TLS",
                 (r, got))
        finally:
            peer6.stop()

    dests = ["d%d.example.test:%d" % (i, P) for i in range(1, 6)] + ["127.0.0.1:%d" % P]
    del peer.txns[:]
    r = fedtool("send", "120", "7", *dests)
    ok_order = True
    per = {}
    for d in dests:
        got = [x for x in peer.txns if x["dest"] == d]
        seqs = [p["seq"] for x in got for p in x["pdus"]]
        per[d] = ([len(x["pdus"]) for x in got], seqs[:3])
        if seqs != list(range(120)) or [len(x["pdus"]) for x in got] != [50, 50, 20]:
            ok_order = False
    t.ok(r.get("idle") and r.get("pdus_sent") == 720 and r.get("edus_sent") == 42,
         "6 destinations on one sender thread all delivered", r)
    t.ok(r.get("journal_queued") == 720 and r.get("journal_delivered") == 720,
         "the persistence hooks see every PDU queued and then delivered", r)
    t.ok(ok_order, "PDUs arrive in order per destination, 50 per transaction", per)
    t.ok(all(x["sig_ok"] for x in peer.txns), "every transaction's X-Matrix verifies (incl. IP literal)",
         [x["why"] for x in peer.txns if not x["sig_ok"]])
except Exception as e:  # noqa: BLE001
    import traceback
    t.ok(False, "test run", traceback.format_exc())
finally:
    try:
        knot.stop()
    except Exception:  # noqa: BLE001
        pass
    peer.stop()
    badpeer.stop()
    shutil.rmtree(work, ignore_errors=True)
t.done()
