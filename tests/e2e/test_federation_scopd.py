#!/usr/bin/python3
"""Two scopd instances federating over TLS on loopback.

hs1.fed.test:P1 and hs2.fed.test:P2 are server names with explicit ports,
sent to 127.0.0.1 by each server's federation_address_overrides; each has
its own certificate from a test CA made with the openssl CLI and trusts
that CA (federation_ca_file).  A Python peer (tests/federation/fedpeer.py,
Synapse's signedjson) plays a third server, good.fed.test:PP.

Checks: key documents (verified with signedjson), the notary endpoints,
hs1 -> hs2 and hs2 -> hs1 X-Matrix requests made by scopd itself (each side
fetches the other's key), and refusals (401) for forged signatures, a wrong
origin, a wrong destination, a changed URI and a missing header."""
import os
import shutil
import sys
import tempfile
import time
import traceback
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from scoptest import Tap, SRCDIR, free_port  # noqa: E402

sys.path.insert(0, os.path.join(SRCDIR, "tests", "federation"))
import fedpeer  # noqa: E402
from fedhs import HS, SECRET, make_pki, verified, xmatrix  # noqa: E402
from make_pdu_vectors import sign_pdu  # noqa: E402

import signedjson.key  # noqa: E402

t = Tap()
work = tempfile.mkdtemp(prefix="scop-fedhs-")


servers = []
peer = None
try:
    make_pki(work, ["hs1.fed.test", "hs2.fed.test", "good.fed.test"])
    peer = fedpeer.Peer(os.path.join(work, "good.fed.test.crt"), os.path.join(work, "good.fed.test.key")).start()
    PEER = "good.fed.test:%d" % peer.port
    p1, p2 = free_port(), free_port()
    overrides = ["hs1.fed.test:%d:127.0.0.1:%d" % (p1, p1), "hs2.fed.test:%d:127.0.0.1:%d" % (p2, p2),
                 "good.fed.test:%d:127.0.0.1:%d" % (peer.port, peer.port)]
    hs1 = HS(work, "hs1.fed.test", p1, overrides, backoff=None)
    servers.append(hs1)
    hs2 = HS(work, "hs2.fed.test", p2, overrides, backoff=None)
    servers.append(hs2)

    # ---- key documents and the notary ----
    for hs in (hs1, hs2):
        s, doc = hs.fed("GET", "/_matrix/key/v2/server")
        kid = "ed25519:" + hs.sk.version
        t.ok(s == 200 and doc.get("server_name") == hs.name and
             doc["verify_keys"][kid]["key"] == signedjson.key.encode_verify_key_base64(hs.vk) and
             verified(doc, hs.name, hs.vk),
             "%s serves its key document over TLS, verified by signedjson" % hs.host, (s, doc))
    s, j = hs1.fed("GET", "/_matrix/federation/v1/version")
    t.ok(s == 200 and j["server"]["name"] == "scopd", "federation version endpoint", (s, j))

    s, j = hs2.fed("POST", "/_matrix/key/v2/query", {"server_keys": {hs1.name: {}}})
    docs = (j or {}).get("server_keys", [])
    t.ok(s == 200 and len(docs) == 1 and docs[0]["server_name"] == hs1.name and
         verified(docs[0], hs1.name, hs1.vk) and verified(docs[0], hs2.name, hs2.vk),
         "hs2 as notary fetches hs1's keys over TLS and countersigns them", (s, j))
    s, j = hs1.fed("GET", "/_matrix/key/v2/query/" + urllib.parse.quote(PEER))
    docs = (j or {}).get("server_keys", [])
    pvk = signedjson.key.get_verify_key(peer.key_for(PEER))
    t.ok(s == 200 and len(docs) == 1 and verified(docs[0], PEER, pvk) and verified(docs[0], hs1.name, hs1.vk),
         "GET notary query relays the Python peer's document", (s, j))
    s, j = hs1.fed("POST", "/_matrix/key/v2/query", {"server_keys": ["nope"]})
    t.ok(s == 400 and j.get("errcode") == "M_BAD_JSON", "malformed notary query is 400 M_BAD_JSON", (s, j))

    # ---- scopd to scopd, signed and checked by the servers themselves ----
    bob, bobtok = hs2.signup("bob", "BOBPHONE")
    carol, _ = hs1.signup("carol", "CAROLPAD")
    _, tok1 = hs1.register("admin1", admin=True)
    _, tok2 = hs2.register("admin2", admin=True)
    s, j = hs1.client("GET", "/_scop/admin/v1/federation/user_devices/" + urllib.parse.quote(bob), token=tok1)
    body = (j or {}).get("body") or {}
    t.ok(s == 200 and j.get("status") == 200 and body.get("user_id") == bob and
         [d["device_id"] for d in body.get("devices", [])] == ["BOBPHONE"] and
         body["devices"][0].get("device_display_name") == "phone of bob",
         "hs1 -> hs2: X-Matrix signed by hs1, key fetched by hs2, devices returned", (s, j))
    s, j = hs2.client("GET", "/_scop/admin/v1/federation/user_devices/" + urllib.parse.quote(carol), token=tok2)
    body = (j or {}).get("body") or {}
    t.ok(s == 200 and j.get("status") == 200 and [d["device_id"] for d in body.get("devices", [])] == ["CAROLPAD"],
         "hs2 -> hs1: the same the other way", (s, j))
    s, j = hs1.client("GET", "/_scop/admin/v1/federation/user_devices/" + urllib.parse.quote(bob))
    t.ok(s == 401, "the admin federation tool needs an access token", (s, j))

    # ---- inbound checks at hs2 with requests made in Python ----
    dpath = "/_matrix/federation/v1/user/devices/" + urllib.parse.quote(bob)
    hdr = xmatrix(hs1.name, hs1.sk, "GET", dpath, None, hs2.name)
    s, j = hs2.fed("GET", dpath, headers={"Authorization": hdr})
    t.ok(s == 200 and j.get("user_id") == bob, "a request signed with hs1's key by signedjson is accepted", (s, j))
    rogue = signedjson.key.generate_signing_key(hs1.sk.version)
    s, j = hs2.signed(hs1.name, rogue, "GET", dpath)
    t.ok(s == 401 and j.get("errcode") == "M_UNAUTHORIZED", "forged signature (another key, same key id) is 401",
         (s, j))
    s, j = hs2.fed("GET", dpath, headers={"Authorization": xmatrix(PEER, hs1.sk, "GET", dpath, None, hs2.name)
                                          .replace("ed25519:" + hs1.sk.version, "ed25519:k1")})
    t.ok(s == 401, "wrong origin (hs1's signature claimed by another server) is 401", (s, j))
    s, j = hs2.fed("GET", dpath, headers={"Authorization": xmatrix(hs1.name, hs1.sk, "GET", dpath, None,
                                                                   "hs3.fed.test:1")})
    t.ok(s == 401, "wrong destination is 401", (s, j))
    s, j = hs2.fed("GET", dpath + "x", headers={"Authorization": hdr})
    t.ok(s == 401, "a header signed for another URI is 401", (s, j))
    s, j = hs2.fed("GET", dpath)
    t.ok(s == 401 and j.get("errcode") == "M_UNAUTHORIZED", "no Authorization header is 401", (s, j))
    for bad in ("Bearer abc", "X-Matrix garbage", 'X-Matrix origin="%s",key="ed25519:%s",sig="%s"' % (
            hs1.name, hs1.sk.version, "A" * 4000), "X-Matrix " + "origin=x," * 600):
        s, j = hs2.fed("GET", dpath, headers={"Authorization": bad})
        t.ok(s == 401, "malformed Authorization %r... is 401" % bad[:20], (s, j))
    s, j = hs2.fed("GET", "/_matrix/key/v2/query/%s?minimum_valid_until_ts=soon" % urllib.parse.quote(hs1.name))
    t.ok(s == 400, "a bad minimum_valid_until_ts is 400", (s, j))
    txn = {"origin": hs1.name, "origin_server_ts": 1, "pdus": [], "edus": []}
    s, j = hs2.signed(hs1.name, rogue, "PUT", "/_matrix/federation/v1/send/1", txn)
    t.ok(s == 401, "a transaction with a forged signature is 401", (s, j))
    epath = "/_matrix/federation/v1/no_such_endpoint/%24nothing"
    s, j = hs2.signed(hs1.name, rogue, "GET", epath)
    t.ok(s == 401, "unknown federation endpoints authenticate first (forged: 401)", (s, j))
    s, j = hs2.signed(hs1.name, hs1.sk, "GET", epath)
    t.ok(s == 404 and j.get("errcode") == "M_UNRECOGNIZED", "... then answer 404 M_UNRECOGNIZED", (s, j))

    # ---- inbound transactions: PDUs through the receipt checks ----
    def send(origin, sk, txn_id, txn):
        path = "/_matrix/federation/v1/send/" + txn_id
        return hs2.signed(origin, sk, "PUT", path, txn)
    s, j = send(hs1.name, hs1.sk, "2", dict(txn, origin=PEER))
    t.ok(s == 400, "a transaction whose origin is not the authenticated server is 400", (s, j))
    s, j = send(hs1.name, hs1.sk, "3", dict(txn, pdus="x"))
    t.ok(s == 400 and j.get("errcode") == "M_BAD_JSON", "a malformed transaction is 400 M_BAD_JSON", (s, j))
    s, j = send(hs1.name, hs1.sk, "4", txn)
    t.ok(s == 200 and j == {"pdus": {}}, "an empty transaction is 200", (s, j))

    s, j = hs2.client("POST", "/_matrix/client/v3/createRoom", {"preset": "public_chat"}, token=bobtok)
    room_id = j["room_id"]
    s, j = hs2.client("GET", "/_matrix/client/v3/rooms/%s/state" % urllib.parse.quote(room_id), token=bobtok)
    create_id = [e["event_id"] for e in j if e["type"] == "m.room.create"][0]
    pl_id = [e["event_id"] for e in j if e["type"] == "m.room.power_levels"][0]
    v12 = [e for e in j if e["type"] == "m.room.create"][0]["content"].get("room_version") == "12"
    pk = peer.key_for(PEER)
    pdu = {"room_id": room_id, "sender": "@x:" + PEER, "type": "m.room.message",
           "content": {"msgtype": "m.text", "body": "not joined"}, "prev_events": [create_id],
           "auth_events": [] if v12 else [create_id], "depth": 10, "origin_server_ts": fedpeer.now_ms()}
    pid = sign_pdu(pdu, PEER, pk)
    forged = dict(pdu, content={"body": "forged"})
    fid = sign_pdu(forged, PEER, signedjson.key.generate_signing_key("k1"))
    lost = dict(pdu, room_id="!nowhere:" + hs2.name)
    lid = sign_pdu(lost, PEER, pk)
    s, j = send(PEER, pk, "5", {"origin": PEER, "origin_server_ts": 1, "pdus": [pdu, forged, lost],
                                "edus": [{"edu_type": "m.typing", "content": {}}]})
    res = (j or {}).get("pdus", {})
    t.ok(s == 200 and "not allowed by its auth events" in res.get(pid, {}).get("error", ""),
         "a PDU signed by the Python peer passes format and signature checks and is rejected by the auth "
         "rules (sender not joined)", (s, j))
    t.ok("signature" in res.get(fid, {}).get("error", ""), "a PDU with a forged signature is dropped", (s, j))
    t.ok(res.get(lid, {}).get("error") == "Unknown room", "a PDU for an unknown room is refused", (s, j))

    # ---- make_join, and the signed template through /send ----
    def peer_get(path):
        return hs2.signed(PEER, pk, "GET", path)
    joiner = "@x:" + PEER
    mj = "/_matrix/federation/v1/make_join/%s/%s" % (urllib.parse.quote(room_id), urllib.parse.quote(joiner))
    s, j = peer_get(mj + "?ver=10&ver=11&ver=12")
    tmpl = (j or {}).get("event", {})
    t.ok(s == 200 and tmpl.get("type") == "m.room.member" and tmpl.get("state_key") == joiner and
         tmpl.get("content") == {"membership": "join"} and tmpl.get("room_id") == room_id and
         tmpl.get("prev_events") and "signatures" not in tmpl,
         "make_join answers a join template for a public room", (s, j))
    s, j = peer_get(mj)
    t.ok(s == 400 and j.get("errcode") == "M_INCOMPATIBLE_ROOM_VERSION" and j.get("room_version"),
         "make_join without a supported ver is 400 M_INCOMPATIBLE_ROOM_VERSION", (s, j))
    other = "/_matrix/federation/v1/make_join/%s/%s?ver=12&ver=10&ver=11" % (
        urllib.parse.quote(room_id), urllib.parse.quote("@y:elsewhere.test"))
    s, j = peer_get(other)
    t.ok(s == 403 and j.get("errcode") == "M_FORBIDDEN", "make_join for another server's user is 403", (s, j))
    s, j = peer_get("/_matrix/federation/v1/make_join/%s/%s?ver=10" % (
        urllib.parse.quote("!none:" + hs2.name), urllib.parse.quote(joiner)))
    t.ok(s == 404 and j.get("errcode") == "M_NOT_FOUND", "make_join for an unknown room is 404", (s, j))
    if tmpl:
        join_id = sign_pdu(tmpl, PEER, pk)
        s, j = send(PEER, pk, "6", {"origin": PEER, "origin_server_ts": 1, "pdus": [tmpl]})
        t.ok(s == 200 and (j or {}).get("pdus", {}).get(join_id) == {},
             "the template signed by the Python peer passes every receipt check and is stored ({})", (s, j))
        s, j = send(PEER, pk, "6", {"origin": PEER, "origin_server_ts": 1, "pdus": [tmpl]})
        t.ok(s == 200 and (j or {}).get("pdus", {}).get(join_id) == {},
             "the same transaction again answers the same (idempotent)", (s, j))
        msg = {"room_id": room_id, "sender": joiner, "type": "m.room.message",
               "content": {"msgtype": "m.text", "body": "hello from the peer"}, "prev_events": [join_id],
               "auth_events": [a for a in tmpl["auth_events"] if a in (create_id, pl_id)] + [join_id],
               "depth": tmpl["depth"] + 1, "origin_server_ts": fedpeer.now_ms()}
        mid = sign_pdu(msg, PEER, pk)
        s, j = send(PEER, pk, "7", {"origin": PEER, "origin_server_ts": 1, "pdus": [msg]})
        t.ok(s == 200 and (j or {}).get("pdus", {}).get(mid) == {}, "a message of the joined peer is accepted",
             (s, j))
        s, j = hs2.client("GET", "/_matrix/client/v3/rooms/%s/messages?dir=b&limit=5" % urllib.parse.quote(room_id),
                          token=bobtok)
        bodies = [e.get("content", {}).get("body") for e in (j or {}).get("chunk", [])]
        t.ok(s == 200 and "hello from the peer" in bodies, "bob on hs2 sees the remote message", (s, bodies))
        s, j = hs2.client("GET", "/_matrix/client/v3/rooms/%s/joined_members" % urllib.parse.quote(room_id),
                          token=bobtok)
        t.ok(s == 200 and joiner in (j or {}).get("joined", {}), "the remote user is a joined member", (s, j))
        # A gap: the peer sends m3 whose prev m2 hs2 never got; hs2 asks for it.
        m2 = dict(msg, content={"msgtype": "m.text", "body": "missed"}, prev_events=[mid], depth=msg["depth"] + 1,
                  origin_server_ts=fedpeer.now_ms())
        m2.pop("hashes", None)
        m2.pop("signatures", None)
        m2id = sign_pdu(m2, PEER, pk)
        m3 = dict(m2, content={"msgtype": "m.text", "body": "after the gap"}, prev_events=[m2id],
                  depth=m2["depth"] + 1)
        m3.pop("hashes", None)
        m3.pop("signatures", None)
        m3id = sign_pdu(m3, PEER, pk)
        with peer.lock:
            peer.missing_events = [m2]
        s, j = send(PEER, pk, "gap", {"origin": PEER, "origin_server_ts": 1, "pdus": [m3]})
        with peer.lock:
            asks = list(peer.missing_asks)
        s2, j2 = hs2.client("GET", "/_matrix/client/v3/rooms/%s/messages?dir=b&limit=5" % urllib.parse.quote(room_id),
                            token=bobtok)
        bodies = [e.get("content", {}).get("body") for e in (j2 or {}).get("chunk", [])]
        t.ok(s == 200 and (j or {}).get("pdus", {}).get(m3id) == {} and asks and
             asks[0].get("latest_events") == [m3id] and bodies[:2] == ["after the gap", "missed"],
             "a PDU after a gap: hs2 fetches the missing event with get_missing_events, then takes both",
             (s, j, asks, bodies))
        # A deeper gap: x1 cites x0, which hs2 never saw and get_missing_events
        # does not give; hs2 asks for the state at x0 and fetches x0 by /event.
        _, stj = hs2.client("GET", "/_matrix/client/v3/rooms/%s/state" % urllib.parse.quote(room_id), token=bobtok)
        x0 = dict(m3, content={"msgtype": "m.text", "body": "x0 never sent"}, prev_events=[m3id],
                  depth=m3["depth"] + 1, origin_server_ts=fedpeer.now_ms())
        x0.pop("hashes", None)
        x0.pop("signatures", None)
        x0id = sign_pdu(x0, PEER, pk)
        x1 = dict(x0, content={"msgtype": "m.text", "body": "x1 after a deep gap"}, prev_events=[x0id],
                  depth=x0["depth"] + 1)
        x1.pop("hashes", None)
        x1.pop("signatures", None)
        x1id = sign_pdu(x1, PEER, pk)
        with peer.lock:
            peer.missing_events = []
            peer.state_ids[x0id] = {"pdu_ids": [e["event_id"] for e in stj], "auth_chain_ids": []}
            peer.events[x0id] = x0
        s, j = send(PEER, pk, "deepgap", {"origin": PEER, "origin_server_ts": 1, "pdus": [x1]})
        s2, j2 = hs2.client("GET", "/_matrix/client/v3/rooms/%s/messages?dir=b&limit=5" %
                            urllib.parse.quote(room_id), token=bobtok)
        bodies = [e.get("content", {}).get("body") for e in (j2 or {}).get("chunk", [])]
        t.ok(s == 200 and (j or {}).get("pdus", {}).get(x1id) == {} and "x1 after a deep gap" in bodies and
             "x0 never sent" not in bodies,
             "a PDU after a deeper gap: hs2 takes the state at its prev from /state_ids and /event (x0 kept as "
             "an outlier) and puts it in the room", (s, j, bodies))
        s, j = hs2.client("PUT", "/_matrix/client/v3/rooms/%s/send/m.room.message/out1" % urllib.parse.quote(room_id),
                          {"msgtype": "m.text", "body": "to the peer"}, token=bobtok)
        out_id = (j or {}).get("event_id")
        got = None
        for _ in range(100):
            with peer.lock:
                got = [p for tx in peer.txns for p in tx["pdus"]
                       if p.get("content", {}).get("body") == "to the peer" and tx["origin"] == hs2.name]
            if got:
                break
            time.sleep(0.1)
        t.ok(s == 200 and got and got[0]["room_id"] == room_id and got[0]["sender"] == bob,
             "hs2 sends bob's new message to the joined peer's server in a transaction", (s, j, got))
        s, j = hs2.client("GET", "/_matrix/client/v3/rooms/%s/event/%s" % (urllib.parse.quote(room_id),
                                                                           urllib.parse.quote(out_id or "")),
                          token=bobtok)
        t.ok(s == 200, "the sent event is readable", (s, j))
        # Soft-fail: bob bans the peer's user; an event citing the state from
        # before the ban passes its own checks but not the current state.
        s, j = hs2.client("POST", "/_matrix/client/v3/rooms/%s/ban" % urllib.parse.quote(room_id),
                          {"user_id": joiner}, token=bobtok)
        late = dict(m3, content={"msgtype": "m.text", "body": "after my ban"}, prev_events=[m3id],
                    depth=m3["depth"] + 1, origin_server_ts=fedpeer.now_ms())
        late.pop("hashes", None)
        late.pop("signatures", None)
        late_id = sign_pdu(late, PEER, pk)
        s2, j2 = send(PEER, pk, "late", {"origin": PEER, "origin_server_ts": 1, "pdus": [late]})
        s3, j3 = hs2.client("GET", "/_matrix/client/v3/rooms/%s/messages?dir=b&limit=10" %
                            urllib.parse.quote(room_id), token=bobtok)
        bodies = [e.get("content", {}).get("body") for e in (j3 or {}).get("chunk", [])]
        t.ok(s == 200 and s2 == 200 and (j2 or {}).get("pdus", {}).get(late_id) == {} and
             "after my ban" not in bodies and "soft-fail" in hs2.log(),
             "an event of a banned user citing older state is soft-failed: taken ({}), kept out of the room",
             (s, j, s2, j2, bodies))

    # ---- hs1 -> hs2: make_join, then the join signed by hs1 through hs2's checks ----
    s, j = hs1.client("POST", "/_scop/admin/v1/federation/join_probe",
                      {"room_id": room_id, "user_id": carol, "server_name": hs2.name}, token=tok1)
    jid = (j or {}).get("event_id", "")
    t.ok(s == 200 and j.get("send_status") == 200 and j.get("send", {}).get("pdus", {}).get(jid) == {},
         "scopd to scopd: hs1 gets a join template from hs2, signs it, and hs2's receipt checks accept it "
         "(hs2 fetches hs1's key)", (s, j))
    s, j = hs1.client("POST", "/_scop/admin/v1/federation/join_probe",
                      {"room_id": "!nowhere:" + hs2.name, "user_id": carol, "server_name": hs2.name}, token=tok1)
    t.ok(s == 200 and j.get("make_join_status") == 404, "join probe reports make_join's 404", (s, j))

    # ---- the Python peer (Synapse's signedjson) as origin ----
    ppath = "/_matrix/federation/v1/query/profile?user_id=" + urllib.parse.quote(bob) + "&field=displayname"
    s, j = hs2.signed(PEER, peer.key_for(PEER), "GET", ppath)
    t.ok(s == 200 and j.get("displayname", "bob") == "bob" and "avatar_url" not in j,
         "a request signed by the Python peer is accepted (key fetched from the peer)", (s, j))
    npath = "/_matrix/federation/v1/query/profile?user_id=" + urllib.parse.quote("@nobody:" + hs2.name)
    s, j = hs2.signed(PEER, peer.key_for(PEER), "GET", npath)
    t.ok(s == 404 and j.get("errcode") == "M_NOT_FOUND", "profile of an unknown user is 404 M_NOT_FOUND", (s, j))
    s, j = hs2.fed("GET", ppath.replace("displayname", "avatar_url"),
                   headers={"Authorization": xmatrix(PEER, peer.key_for(PEER), "GET", ppath, None, hs2.name)})
    t.ok(s == 401, "the query string is covered by the signature", (s, j))

    for hs in servers:
        log = hs.log()
        t.ok(SECRET not in log and "sig=" not in log and "origin=" not in log and "A" * 40 not in log,
             "%s log has no secrets or signatures" % hs.host)
except Exception:  # noqa: BLE001
    t.ok(False, "test run raised", traceback.format_exc())
finally:
    stopped = []
    for hs in servers:
        stopped.append(hs.stop())
    if peer:
        peer.stop()
    if stopped:
        t.ok(all(rc == 0 for rc in stopped), "scopd instances stop cleanly", stopped)
    if t.failed:
        for hs in servers:
            sys.stderr.write(hs.log()[-3000:])
    if not os.environ.get('KEEP'):
        shutil.rmtree(work, ignore_errors=True)
t.done()
