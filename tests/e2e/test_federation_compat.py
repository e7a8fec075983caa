#!/usr/bin/python3
"""What scopd must do for Synapse to talk to it, checked without Synapse.

tests/synapse/interop.py runs a real Synapse against scopd by hand; each
scopd fault it found gets a regression check here, against one scopd over
TLS on loopback and the Python peer (tests/federation/fedpeer.py, Synapse's
signedjson), so CI keeps them fixed.

- Synapse 1.67 fetches keys with the older key-id paths:
  GET /_matrix/key/v2/server/{keyId} (the id is ignored: the whole document)
  and, as a notary client, GET /_matrix/key/v2/query/{serverName}/{keyId}.
- Synapse lets clients put \u0000 in strings and passes such events on;
  scopd refused the whole /send transaction (400 M_NOT_JSON), so every
  PDU and EDU in it was lost.  Now the body is taken and the PDU checked:
  NUL is fine in a message body or a display name, and a format error in
  what the auth rules read (membership).
"""
import json
import os
import shutil
import sys
import tempfile
import traceback

sys.path.insert(0, os.path.dirname(__file__))
from scoptest import Tap, SRCDIR, free_port  # noqa: E402
from test_rooms_common import backends  # noqa: E402

sys.path.insert(0, os.path.join(SRCDIR, "tests", "federation"))
import fedpeer  # noqa: E402
from fedhs import HS, make_pki, q, verified  # noqa: E402
from make_pdu_vectors import sign_pdu  # noqa: E402

import signedjson.key  # noqa: E402

t = Tap()
work = tempfile.mkdtemp(prefix="scop-fedcompat-")


# The first scopd runs on PostgreSQL when SCOP_TEST_PG_DSN names a server
# (jsonb refused \u0000 there: migration 060), else on SQLite; the second
# always on SQLite.
backend = backends(work, "compat")[-1]


hs = hs2 = None
peer = None
try:
    make_pki(work, ["hs.compat.test", "hs2.compat.test", "good.compat.test"])
    peer = fedpeer.Peer(os.path.join(work, "good.compat.test.crt"),
                        os.path.join(work, "good.compat.test.key")).start()
    PEER = "good.compat.test:%d" % peer.port
    fport, fport2 = free_port(), free_port()
    name = "hs.compat.test:%d" % fport
    name2 = "hs2.compat.test:%d" % fport2
    overrides = ["good.compat.test:%d:127.0.0.1:%d" % (peer.port, peer.port),
                 "%s:127.0.0.1:%d" % (name, fport), "%s:127.0.0.1:%d" % (name2, fport2),
                 "down.compat.test:1:127.0.0.1:%d" % free_port()]  # nothing listens there
    hs = HS(work, "hs.compat.test", fport, overrides, sub="hs1", backoff=None, registration=False,
            database=backend[1] if backend[0] == "postgres" else None)
    sk, vk = hs.sk, hs.vk
    fed = hs.fed

    # ---- GET /_matrix/key/v2/server/{keyId} ----
    kid = "ed25519:" + sk.version
    s, plain = fed("GET", "/_matrix/key/v2/server")
    s2, doc = fed("GET", "/_matrix/key/v2/server/" + q(kid))
    t.ok(s == 200 and s2 == 200 and doc.get("server_name") == name and kid in doc.get("verify_keys", {}) and
         verified(doc, name, vk),
         "GET /_matrix/key/v2/server/{keyId} answers the signed key document (Synapse 1.67 asks this)", (s2, doc))
    s, doc = fed("GET", "/_matrix/key/v2/server/" + q("ed25519:unknown"))
    t.ok(s == 200 and kid in doc.get("verify_keys", {}) and verified(doc, name, vk),
         "... whatever the key id: the spec says it is ignored", (s, doc))

    # ---- GET /_matrix/key/v2/query/{serverName}/{keyId} ----
    pvk = signedjson.key.get_verify_key(peer.key_for(PEER))
    s, j = fed("GET", "/_matrix/key/v2/query/%s/%s" % (q(PEER), q("ed25519:k1")))
    docs = (j or {}).get("server_keys", [])
    t.ok(s == 200 and len(docs) == 1 and docs[0].get("server_name") == PEER and verified(docs[0], PEER, pvk) and
         verified(docs[0], name, vk),
         "GET /_matrix/key/v2/query/{serverName}/{keyId} relays the document, countersigned", (s, j))
    s, j = fed("GET", "/_matrix/key/v2/query/%s/%s" % (q(PEER), q("ed25519:nothere")))
    t.ok(s == 200 and j.get("server_keys") == [], "... and leaves it out when it has no such key", (s, j))
    s, j = fed("GET", "/_matrix/key/v2/query/%s/%s" % (q(PEER), "k" * 300))
    t.ok(s == 400, "an overlong key id is 400", (s, j))

    # ---- \u0000 in a transaction from Synapse ----
    _, tok = hs.register("bob")
    _, j = hs.client("POST", "/_matrix/client/v3/createRoom", {"preset": "public_chat", "room_version": "10"}, tok)
    room_id = j["room_id"]
    pk = peer.key_for(PEER)

    def peer_req(method, path, body=None):
        return hs.signed(PEER, pk, method, path, body)

    joiner = "@x:" + PEER
    s, j = peer_req("GET", "/_matrix/federation/v1/make_join/%s/%s?ver=10" % (q(room_id), q(joiner)))
    tmpl = (j or {}).get("event", {})
    nul_name = json.loads(json.dumps(tmpl))
    nul_name["content"]["displayname"] = "x\u0000y"
    nul_name_id = sign_pdu(nul_name, PEER, pk)
    nul_join = json.loads(json.dumps(tmpl))
    nul_join["content"]["membership"] = "join\u0000"
    nul_join_id = sign_pdu(nul_join, PEER, pk)
    msg = {"room_id": room_id, "sender": joiner, "type": "m.room.message",
           "content": {"msgtype": "m.text", "body": "nul \u0000 here"}, "prev_events": tmpl.get("prev_events", []),
           "auth_events": tmpl.get("auth_events", []), "depth": 20, "origin_server_ts": fedpeer.now_ms()}
    msg_id = sign_pdu(msg, PEER, pk)
    txn = {"origin": PEER, "origin_server_ts": fedpeer.now_ms(), "pdus": [msg, nul_join, nul_name]}
    s, j = peer_req("PUT", "/_matrix/federation/v1/send/nul1", txn)
    res = (j or {}).get("pdus", {})
    t.ok(s == 200 and msg_id in res,
         "a transaction whose PDUs carry \\u0000 in strings is taken (was 400 M_NOT_JSON)", (s, j))
    t.ok("auth events" in res.get(msg_id, {}).get("error", ""),
         "... a message with NUL in its body passes format and signature checks (then fails auth: not joined)",
         res.get(msg_id))
    # A PDU dropped at the format check has no event ID to answer under.
    log = hs.log()
    t.ok("NUL" in res.get(nul_join_id, {"error": "NUL"}).get("error", "") and
         "content the auth rules read contains a NUL character" in log,
         "... a join whose membership carries NUL is dropped at the format check", res.get(nul_join_id))
    err = res.get(nul_name_id, {}).get("error", "")
    t.ok(err == "" or err.startswith("accept:"), "... a join with NUL in its display name is accepted",
         res.get(nul_name_id))
    # Stored events carrying NUL must read back: the join is the auth event
    # of the next message, and both show through the client API.
    _, st = hs.client("GET", "/_matrix/client/v3/rooms/%s/state" % q(room_id), token=tok)
    ids = {e["type"]: e["event_id"] for e in st or [] if e["type"] in ("m.room.create", "m.room.power_levels")}
    msg2 = {"room_id": room_id, "sender": joiner, "type": "m.room.message",
            "content": {"msgtype": "m.text", "body": "after a\u0000join"}, "prev_events": [nul_name_id],
            "auth_events": [ids.get("m.room.create"), ids.get("m.room.power_levels"), nul_name_id], "depth": 30,
            "origin_server_ts": fedpeer.now_ms()}
    msg2_id = sign_pdu(msg2, PEER, pk)
    s, j = peer_req("PUT", "/_matrix/federation/v1/send/nul2", {"origin": PEER, "origin_server_ts": fedpeer.now_ms(),
                                                                 "pdus": [msg2]})
    err = (j or {}).get("pdus", {}).get(msg2_id, {}).get("error", "")
    t.ok(s == 200 and (err == "" or err.startswith("accept:")),
         "... a message citing that join as its auth event is accepted (the stored join reads back)", (s, j))
    s, j = hs.client("GET", "/_matrix/client/v3/rooms/%s/messages?dir=b&limit=10" % q(room_id), token=tok)
    got = {e.get("event_id"): e for e in (j or {}).get("chunk", [])}
    t.ok(s == 200 and got.get(msg2_id, {}).get("content", {}).get("body") == "after a\u0000join" and
         got.get(nul_name_id, {}).get("content", {}).get("displayname") == "x\u0000y",
         "... and /messages shows both with their NUL characters", (s, j))

    # ---- the client API asks other servers: profiles and room aliases ----
    # (Synapse's users showed up as "Profile not found" and its aliases as
    # unknown: scopd answered from its own store only.)
    hs2 = HS(work, "hs2.compat.test", fport2, overrides, sub="hs2", backoff=None, registration=False)
    zoe, ztok = hs2.register("zoe")
    hs2.client("PUT", "/_matrix/client/v3/profile/%s/displayname" % q(zoe), {"displayname": "Zoe"}, ztok)
    s, j = hs.client("GET", "/_matrix/client/v3/profile/" + q(zoe), token=tok)
    t.ok(s == 200 and j == {"displayname": "Zoe"}, "GET /profile of a remote user asks their server", (s, j))
    s, j = hs.client("GET", "/_matrix/client/v3/profile/%s/displayname" % q(zoe), token=tok)
    t.ok(s == 200 and j == {"displayname": "Zoe"}, "... and /profile/{userId}/displayname", (s, j))
    s, j = hs.client("GET", "/_matrix/client/v3/profile/%s/avatar_url" % q(zoe), token=tok)
    t.ok(s == 404, "... a field the remote user has not set is 404", (s, j))
    s, j = hs.client("GET", "/_matrix/client/v3/profile/" + q("@nobody:" + name2), token=tok)
    t.ok(s == 404 and j.get("errcode") == "M_NOT_FOUND", "... an unknown remote user is 404 M_NOT_FOUND", (s, j))
    s, j = hs.client("GET", "/_matrix/client/v3/profile/" + q("@x:down.compat.test:1"), token=tok)
    t.ok(s == 502, "... an unreachable server is 502", (s, j))
    _, j = hs2.client("POST", "/_matrix/client/v3/createRoom", {"preset": "public_chat"}, ztok)
    zroom = j["room_id"]
    alias = "#compat:" + name2
    s, j = hs2.client("PUT", "/_matrix/client/v3/directory/room/" + q(alias), {"room_id": zroom}, ztok)
    s, j = hs.client("GET", "/_matrix/client/v3/directory/room/" + q(alias), token=tok)
    t.ok(s == 200 and j.get("room_id") == zroom and name2 in j.get("servers", []),
         "GET /directory/room of a remote alias asks its server", (s, j))
    s, j = hs.client("GET", "/_matrix/client/v3/directory/room/" + q("#nope:" + name2), token=tok)
    t.ok(s == 404 and j.get("errcode") == "M_NOT_FOUND", "... an unknown remote alias is 404", (s, j))
except Exception:  # noqa: BLE001
    t.ok(False, "test run raised", traceback.format_exc())
finally:
    if hs:
        t.ok(hs.stop() == 0, "scopd stops cleanly")
    if hs2:
        t.ok(hs2.stop() == 0, "the second scopd stops cleanly")
    if peer:
        peer.stop()
    if t.failed and hs:
        sys.stderr.write(hs.log()[-3000:])
    backend[2]()
    shutil.rmtree(work, ignore_errors=True)
t.done()
