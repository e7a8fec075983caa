#!/usr/bin/python3
"""The read-only federation endpoints and inbound EDUs of one scopd, asked
by the Python federation peer (tests/federation/fedpeer.py, Synapse's
signedjson) over TLS on loopback.

hs.fed.test:P is scopd; good.fed.test:PP is the peer, whose X-Matrix
requests scopd checks by fetching its key.  Rooms on scopd: a
world-readable published room with an alias and a few messages, a room
with history_visibility joined and one with shared, neither of which the
peer is in.  Checks: /event, /state, /state_ids, /event_auth, /backfill,
/get_missing_events, /query/directory and /publicRooms answer the
world-readable room correctly; the others answer 403; unknown rooms,
events and aliases 404; bad parameters 400.  EDUs for users the origin
does not own or who are not in the room change nothing."""
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from scoptest import Tap, SRCDIR, free_port  # noqa: E402
from test_rooms_common import backends  # noqa: E402

sys.path.insert(0, os.path.join(SRCDIR, "tests", "federation"))
import fedpeer  # noqa: E402
from fedhs import HS, Remote, make_pki  # noqa: E402
from make_pdu_vectors import sign_pdu  # noqa: E402

q = urllib.parse.quote

t = Tap()
work = tempfile.mkdtemp(prefix="scop-fedread-")


def run(label, db, ok):
    """Every check against one scopd on one database backend."""
    global hs
    port = free_port()
    hs = HS(work, "hs.fed.test", port, ["hs.fed.test:%d:127.0.0.1:%d" % (port, port),
                                  "good.fed.test:%d:127.0.0.1:%d" % (peer.port, peer.port)],
            database=db, sub=label, backoff=None)

    remote = Remote(hs, PEER, pk)
    pget, ppost = remote.get, remote.post

    def psend(txn_id, edus):
        txn = {"origin": PEER, "origin_server_ts": fedpeer.now_ms(), "pdus": [], "edus": edus}
        return remote.put("/_matrix/federation/v1/send/" + txn_id, txn)

    alice, atok = hs.signup("alice")

    def create(name, vis, extra=None):
        body = {"preset": "public_chat", "name": name, "topic": "about " + name,
                "initial_state": [{"type": "m.room.history_visibility", "state_key": "",
                                   "content": {"history_visibility": vis}}]}
        body.update(extra or {})
        s, j = hs.client("POST", "/_matrix/client/v3/createRoom", body, token=atok)
        assert s == 200, (s, j)
        return j["room_id"]

    def say(room, body):
        s, j = hs.client("PUT", "/_matrix/client/v3/rooms/%s/send/m.room.message/%s" % (q(room), q(body)),
                         {"msgtype": "m.text", "body": body}, token=atok)
        assert s == 200, (s, j)
        return j["event_id"]

    def state_of(room):
        s, j = hs.client("GET", "/_matrix/client/v3/rooms/%s/state" % q(room), token=atok)
        assert s == 200, (s, j)
        return j

    alias = "#open:" + hs.name
    wr = create("Open Plaza", "world_readable", {"room_alias_name": "open", "visibility": "public"})
    msgs = [say(wr, "hello %d" % i) for i in range(5)]
    joined_room = create("Members Only", "joined")
    jmsg = say(joined_room, "secret")
    shared = create("Shared Room", "shared", {"visibility": "public"})
    smsg = say(shared, "shared secret")
    wr_state = state_of(wr)
    create_id = [e["event_id"] for e in wr_state if e["type"] == "m.room.create"][0]
    pl_id = [e["event_id"] for e in wr_state if e["type"] == "m.room.power_levels"][0]
    member_id = [e["event_id"] for e in wr_state if e["type"] == "m.room.member"][0]

    # ---- /event ----
    s, j = pget("/_matrix/federation/v1/event/" + q(msgs[2]))
    pdus = (j or {}).get("pdus", [])
    ok(s == 200 and j.get("origin") == hs.name and isinstance(j.get("origin_server_ts"), int) and
         len(pdus) == 1 and pdus[0]["content"]["body"] == "hello 2" and pdus[0]["sender"] == alice and
         hs.name in pdus[0].get("signatures", {}) and "sha256" in pdus[0].get("hashes", {}),
         "/event: a world-readable event as a signed PDU in a transaction", (s, j))

    # ---- /state and /state_ids at the last message (no state after it) ----
    s, j = pget("/_matrix/federation/v1/state_ids/%s?event_id=%s" % (q(wr), q(msgs[4])))
    want = sorted(e["event_id"] for e in wr_state)
    ok(s == 200 and sorted(j.get("pdu_ids", [])) == want,
         "/state_ids: the state before the event is the room's state", (s, j, want))
    chain_ids = set((j or {}).get("auth_chain_ids", []))
    ok(create_id in chain_ids and pl_id in chain_ids and member_id in chain_ids and
         chain_ids <= set(want), "/state_ids: the auth chain holds create, power levels and the creator's join",
         (s, j))
    s, j = pget("/_matrix/federation/v1/state/%s?event_id=%s" % (q(wr), q(msgs[4])))
    types = sorted((e["type"], e["state_key"]) for e in (j or {}).get("pdus", []))
    ok(s == 200 and len(j["pdus"]) == len(want) and
         ("m.room.history_visibility", "") in types and ("m.room.member", alice) in types and
         len(j.get("auth_chain", [])) == len(chain_ids),
         "/state: the same as full PDUs, with the auth chain", (s, j))
    s, j = pget("/_matrix/federation/v1/state_ids/%s?event_id=%s" % (q(wr), q(create_id)))
    ok(s == 403, "/state_ids at the create event: before history_visibility was set the default (shared) "
         "hides it from a server not in the room", (s, j))

    # ---- /event_auth ----
    s, j = pget("/_matrix/federation/v1/event_auth/%s/%s" % (q(wr), q(msgs[0])))
    ids = set()
    for e in (j or {}).get("auth_chain", []):
        ids.add(e["type"])
    ok(s == 200 and {"m.room.create", "m.room.power_levels", "m.room.member"} <= ids and
         "m.room.message" not in ids, "/event_auth: the message's auth chain", (s, j))

    # ---- /backfill ----
    s, j = pget("/_matrix/federation/v1/backfill/%s?v=%s&limit=3" % (q(wr), q(msgs[4])))
    pdus = (j or {}).get("pdus", [])
    ok(s == 200 and j.get("origin") == hs.name and [p["content"].get("body") for p in pdus] ==
         ["hello 4", "hello 3", "hello 2"], "/backfill: the given event and those before it, newest first",
         (s, j))
    s, j = pget("/_matrix/federation/v1/backfill/%s?v=%s&v=%s&limit=1000" % (q(wr), q(msgs[1]), q(msgs[3])))
    pdus = (j or {}).get("pdus", [])
    depths = [p["depth"] for p in pdus]
    ok(s == 200 and depths == sorted(depths, reverse=True) and pdus[-1]["type"] == "m.room.create" and
         pdus[0]["content"].get("body") == "hello 3" and len(pdus) == len(set(json.dumps(p) for p in pdus)),
         "/backfill with two starting points and a large limit: back to the create event, no duplicates",
         (s, depths))

    # ---- /get_missing_events ----
    gme = "/_matrix/federation/v1/get_missing_events/" + q(wr)
    s, j = ppost(gme, {"earliest_events": [msgs[0]], "latest_events": [msgs[4]], "limit": 10})
    ok(s == 200 and [e["content"].get("body") for e in j.get("events", [])] ==
         ["hello 1", "hello 2", "hello 3"], "/get_missing_events: the gap between earliest and latest, oldest first",
         (s, j))
    s, j = ppost(gme, {"earliest_events": [], "latest_events": [msgs[4]], "limit": 2})
    ok(s == 200 and [e["content"].get("body") for e in j.get("events", [])] == ["hello 2", "hello 3"],
         "/get_missing_events: limit keeps the newest", (s, j))
    s, j = ppost(gme, {"earliest_events": [], "latest_events": [msgs[4]], "limit": 50,
                       "min_depth": pdus[0]["depth"] - 1})
    ok(s == 200 and [e["content"].get("body") for e in j.get("events", [])] == ["hello 2", "hello 3"],
         "/get_missing_events: nothing below min_depth", (s, j))

    # ---- directory and public rooms ----
    s, j = pget("/_matrix/federation/v1/query/directory?room_alias=" + q(alias))
    ok(s == 200 and j.get("room_id") == wr and j.get("servers") == [hs.name],
         "/query/directory: the local alias's room and servers", (s, j))
    s, j = pget("/_matrix/federation/v1/publicRooms")
    chunk = {c["room_id"]: c for c in (j or {}).get("chunk", [])}
    ok(s == 200 and set(chunk) == {wr, shared} and j.get("total_room_count_estimate") == 2 and
         chunk[wr].get("name") == "Open Plaza" and chunk[wr].get("topic") == "about Open Plaza" and
         chunk[wr].get("canonical_alias") == alias and chunk[wr].get("world_readable") is True and
         chunk[shared].get("world_readable") is False and chunk[wr].get("num_joined_members") == 1 and
         chunk[wr].get("join_rule") == "public", "GET /publicRooms: the published rooms", (s, j))
    s, j = pget("/_matrix/federation/v1/publicRooms?limit=1")
    s2, j2 = pget("/_matrix/federation/v1/publicRooms?limit=1&since=" + q((j or {}).get("next_batch", "")))
    ok(s == 200 and s2 == 200 and len(j["chunk"]) == 1 and len(j2["chunk"]) == 1 and
         j["chunk"][0]["room_id"] != j2["chunk"][0]["room_id"] and "next_batch" not in j2 and
         "prev_batch" in j2, "GET /publicRooms pages with limit and since", (s, j, s2, j2))
    s, j = ppost("/_matrix/federation/v1/publicRooms", {"filter": {"generic_search_term": "plaza"}})
    ok(s == 200 and [c["room_id"] for c in j.get("chunk", [])] == [wr],
         "POST /publicRooms: generic_search_term matches the name, case-insensitively", (s, j))
    s, j = ppost("/_matrix/federation/v1/publicRooms", {"filter": {"room_types": ["m.space"]}, "limit": 5})
    ok(s == 200 and j.get("chunk") == [], "POST /publicRooms: room_types filters", (s, j))

    # ---- rooms the peer may not read: 403 ----
    for room, ev, label in ((joined_room, jmsg, "history_visibility joined"), (shared, smsg, "shared")):
        for path in ("/_matrix/federation/v1/event/" + q(ev),
                     "/_matrix/federation/v1/state/%s?event_id=%s" % (q(room), q(ev)),
                     "/_matrix/federation/v1/state_ids/%s?event_id=%s" % (q(room), q(ev)),
                     "/_matrix/federation/v1/event_auth/%s/%s" % (q(room), q(ev)),
                     "/_matrix/federation/v1/backfill/%s?v=%s&limit=5" % (q(room), q(ev))):
            s, j = pget(path)
            ok(s == 403 and j.get("errcode") == "M_FORBIDDEN",
                 "%s room, peer not in it: %s is 403" % (label, path.split("/")[4]), (s, j))
        s, j = ppost("/_matrix/federation/v1/get_missing_events/" + q(room),
                     {"earliest_events": [], "latest_events": [ev]})
        ok(s == 403 and j.get("errcode") == "M_FORBIDDEN",
             "%s room, peer not in it: get_missing_events is 403" % label, (s, j))

    # ---- unknown: 404 ----
    nowhere = "!nowhere:" + hs.name
    for path in ("/_matrix/federation/v1/event/%24nothing",
                 "/_matrix/federation/v1/state/%s?event_id=%s" % (q(nowhere), q(msgs[0])),
                 "/_matrix/federation/v1/state/%s?event_id=%%24nothing" % q(wr),
                 "/_matrix/federation/v1/state_ids/%s?event_id=%s" % (q(wr), q(jmsg)),
                 "/_matrix/federation/v1/event_auth/%s/%%24nothing" % q(wr),
                 "/_matrix/federation/v1/backfill/%s?v=%s&limit=5" % (q(nowhere), q(msgs[0])),
                 "/_matrix/federation/v1/query/directory?room_alias=" + q("#nope:" + hs.name)):
        s, j = pget(path)
        ok(s == 404 and j.get("errcode") == "M_NOT_FOUND", "unknown: %s is 404" % path[22:70], (s, j))
    s, j = ppost("/_matrix/federation/v1/get_missing_events/" + q(nowhere),
                 {"earliest_events": [], "latest_events": [msgs[0]]})
    ok(s == 404 and j.get("errcode") == "M_NOT_FOUND", "get_missing_events for an unknown room is 404", (s, j))
    s, j = pget("/_matrix/federation/v1/backfill/%s?v=%%24nothing&limit=5" % q(wr))
    ok(s == 200 and j.get("pdus") == [], "backfill from an unknown event is empty", (s, j))

    # ---- bad parameters: 400 ----
    for path in ("/_matrix/federation/v1/state/" + q(wr),
                 "/_matrix/federation/v1/state_ids/" + q(wr),
                 "/_matrix/federation/v1/backfill/%s?v=%s" % (q(wr), q(msgs[0])),
                 "/_matrix/federation/v1/backfill/%s?v=%s&limit=abc" % (q(wr), q(msgs[0])),
                 "/_matrix/federation/v1/backfill/%s?v=%s&limit=0" % (q(wr), q(msgs[0])),
                 "/_matrix/federation/v1/backfill/%s?limit=5" % q(wr),
                 "/_matrix/federation/v1/query/directory",
                 "/_matrix/federation/v1/query/directory?room_alias=nohash",
                 "/_matrix/federation/v1/publicRooms?limit=-1",
                 "/_matrix/federation/v1/publicRooms?limit=99999999999999999999",
                 "/_matrix/federation/v1/publicRooms?since=bogus"):
        s, j = pget(path)
        ok(s == 400 and (j or {}).get("errcode", "").startswith("M_"), "bad: %s is 400" % path[22:90], (s, j))
    for body in ({"earliest_events": "x", "latest_events": []}, {"latest_events": [msgs[1]]},
                 {"earliest_events": [], "latest_events": [1]},
                 {"earliest_events": [], "latest_events": [], "limit": "ten"},
                 {"earliest_events": [], "latest_events": [], "limit": -1}):
        s, j = ppost(gme, body)
        ok(s == 400 and j.get("errcode") == "M_BAD_JSON", "get_missing_events %s is 400" % json.dumps(body)[:50],
             (s, j))
    s, j = ppost("/_matrix/federation/v1/publicRooms", {"filter": "x"})
    ok(s == 400, "POST /publicRooms with a non-object filter is 400", (s, j))
    s, j = hs.fed("GET", "/_matrix/federation/v1/state_ids/%s?event_id=%s" % (q(wr), q(msgs[0])))
    ok(s == 401, "the read endpoints need X-Matrix", (s, j))

    # ---- inbound EDUs that must change nothing ----
    s, j = hs.client("GET", "/_matrix/client/v3/sync?timeout=0", token=atok)
    since = j["next_batch"]
    stranger = "@x:" + PEER
    s, j = psend("e1", [
        {"edu_type": "m.typing", "content": {"room_id": wr, "user_id": stranger, "typing": True}},
        {"edu_type": "m.typing", "content": {"room_id": wr, "user_id": alice, "typing": True}},
        {"edu_type": "m.receipt", "content": {wr: {"m.read": {alice: {"event_ids": [msgs[0]], "data": {}}}}}},
        {"edu_type": "m.receipt", "content": {wr: {"m.read": {stranger: {"event_ids": [msgs[0]], "data": {}}}}}},
        {"edu_type": "m.presence", "content": {"push": [{"user_id": stranger, "presence": "online"}]}},
        {"edu_type": "m.presence", "content": {"push": [{"user_id": alice, "presence": "unavailable"}]}},
        {"edu_type": "m.device_list_update", "content": {"user_id": stranger, "device_id": "D", "stream_id": 1}},
        {"edu_type": "m.direct_to_device", "content": {"sender": stranger, "type": "x", "message_id": "1",
                                                       "messages": {}}},
        {"edu_type": "m.typing", "content": {"room_id": 5, "user_id": [], "typing": "yes"}},
        {"edu_type": "m.receipt", "content": {wr: "garbage"}},
        {"edu_type": "m.presence", "content": {"push": [None, 5, {"user_id": 1}]}},
        {"edu_type": "org.example.unknown", "content": {}},
    ])
    ok(s == 200 and j == {"pdus": {}}, "a transaction of odd and foreign EDUs is accepted", (s, j))
    time.sleep(0.3)
    s, j = hs.client("GET", "/_matrix/client/v3/sync?timeout=0&since=" + q(since), token=atok)
    room = (j or {}).get("rooms", {}).get("join", {}).get(wr, {})
    eph = room.get("ephemeral", {}).get("events", [])
    typing = [u for e in eph if e["type"] == "m.typing" for u in e["content"].get("user_ids", [])]
    receipts = [e for e in eph if e["type"] == "m.receipt"]
    pres = [e for e in (j or {}).get("presence", {}).get("events", []) if e.get("sender") == alice]
    ok(s == 200 and typing == [] and receipts == [] and not any(
        e["content"].get("presence") == "unavailable" for e in pres),
        "EDUs for users of another server, or not in the room, change nothing", (s, j))
    s, j = pget("/_matrix/federation/v1/state_ids/%s?event_id=%s" % (q(wr), q(msgs[4])))
    ok(s == 200, "scopd still answers after the odd EDUs", (s, j))

    joined_peer(ok, remote, psend, alice, atok, wr, msgs, joined_room, jmsg)

    log = hs.log()
    ok("sig=" not in log, "the log has no signatures")
    rc = hs.proc.stop(timeout=20)
    hs = None
    ok(rc == 0, "scopd stops cleanly", rc)


def peer_join(remote, psend, room, user, txn_id):
    """The peer's user joins room on scopd: make_join, the template signed
    with signedjson, then sent in a transaction.  The join's event ID, and
    whether scopd took it in."""
    s, j = remote.get("/_matrix/federation/v1/make_join/%s/%s?ver=10&ver=11&ver=12" % (q(room), q(user)))
    assert s == 200, (s, j)
    tmpl = j["event"]
    jid = sign_pdu(tmpl, remote.origin, remote.sk)
    path = "/_matrix/federation/v1/send/" + txn_id
    txn = {"origin": remote.origin, "origin_server_ts": fedpeer.now_ms(), "pdus": [tmpl]}
    s, j = remote.put(path, txn)
    assert s == 200 and jid in j["pdus"], (s, j)
    return jid, j["pdus"][jid] == {}


def sync_until(hs, token, since, pred, tries=50):
    """Syncs from since until pred(response) holds; the last response."""
    j = None
    for _ in range(tries):
        s, j = hs.client("GET", "/_matrix/client/v3/sync?timeout=200&since=" + q(since), token=token)
        if s == 200 and pred(j):
            return j
        time.sleep(0.05)
    return j


def edus_sent(kind, pred, tries=100):
    """EDUs of edu_type kind that scopd sent the peer matching pred."""
    got = []
    for _ in range(tries):
        with peer.lock:
            got = [e for tx in peer.txns for e in tx["edus"] if e.get("edu_type") == kind and pred(e["content"])]
        if got:
            return got
        time.sleep(0.1)
    return got


def joined_peer(ok, remote, psend, alice, atok, wr, msgs, joined_room, jmsg):
    """With the peer's user joined: history visibility from the join on,
    and typing, receipts and presence both ways."""
    user = "@joiner:" + remote.origin
    hs = remote.hs
    s, j = hs.client("GET", "/_matrix/client/v3/sync?timeout=0", token=atok)
    since = j["next_batch"]
    _, stored = peer_join(remote, psend, wr, user, "j1")
    if not stored:
        ok(True, "joined-peer checks # SKIP this scopd does not store remote joins yet")
        return
    jid, stored = peer_join(remote, psend, joined_room, user, "j2")
    ok(stored, "the peer's user joins both rooms through make_join and /send")

    # ---- history_visibility joined: what the peer sees after joining ----
    s, j = remote.get("/_matrix/federation/v1/state_ids/%s?event_id=%s" % (q(joined_room), q(jmsg)))
    ok(s == 403, "joined room: the state at an event before the peer joined stays hidden", (s, j))
    s, j = remote.get("/_matrix/federation/v1/event/" + q(jmsg))
    pdu = ((j or {}).get("pdus") or [{}])[0]
    ok(s == 200 and pdu.get("type") == "m.room.message" and pdu.get("content") == {},
       "joined room: an event from before the join comes pruned (the server is in the room now)", (s, j))
    s, j = hs.client("PUT", "/_matrix/client/v3/rooms/%s/send/m.room.message/after" % q(joined_room),
                     {"msgtype": "m.text", "body": "after the join"}, token=atok)
    after = (j or {}).get("event_id", "")
    s, j = remote.get("/_matrix/federation/v1/event/" + q(after))
    pdu = ((j or {}).get("pdus") or [{}])[0]
    ok(s == 200 and pdu.get("content", {}).get("body") == "after the join",
       "joined room: an event after the join is served whole", (s, j))
    s, j = remote.get("/_matrix/federation/v1/state_ids/%s?event_id=%s" % (q(joined_room), q(after)))
    ok(s == 200 and jid in j.get("pdu_ids", []), "joined room: the state after the join lists the peer's join",
       (s, j))
    s, j = remote.get("/_matrix/federation/v1/backfill/%s?v=%s&limit=20" % (q(joined_room), q(after)))
    pdus = (j or {}).get("pdus", [])
    secret = [p for p in pdus if p.get("type") == "m.room.message" and p.get("content", {}).get("body") == "secret"]
    pruned = [p for p in pdus if p.get("type") == "m.room.message" and p.get("content") == {}]
    ok(s == 200 and pdus and pdus[0].get("content", {}).get("body") == "after the join" and not secret and pruned,
       "joined room: backfill prunes what came before the join", (s, [p.get("content") for p in pdus]))

    # ---- inbound: typing, receipt and presence of the joined user ----
    s, j = psend("e2", [
        {"edu_type": "m.typing", "content": {"room_id": wr, "user_id": user, "typing": True}},
        {"edu_type": "m.receipt", "content": {wr: {"m.read": {user: {"event_ids": [msgs[3]], "data": {"ts": 1}}}}}},
        {"edu_type": "m.presence", "content": {"push": [{"user_id": user, "presence": "online",
                                                         "status_msg": "from afar", "last_active_ago": 10}]}},
    ])
    ok(s == 200, "EDUs of the joined user are accepted", (s, j))

    def eph(j, kind):
        room = (j or {}).get("rooms", {}).get("join", {}).get(wr, {})
        return [e for e in room.get("ephemeral", {}).get("events", []) if e["type"] == kind]
    j = sync_until(hs, atok, since, lambda j: any(user in e["content"].get("user_ids", []) for e in eph(j, "m.typing")))
    ok(any(user in e["content"].get("user_ids", []) for e in eph(j, "m.typing")),
       "alice's /sync shows the remote user typing", j)
    j = sync_until(hs, atok, since, lambda j: any(
        user in e["content"].get(msgs[3], {}).get("m.read", {}) for e in eph(j, "m.receipt")))
    ok(any(user in e["content"].get(msgs[3], {}).get("m.read", {}) for e in eph(j, "m.receipt")),
       "alice's /sync shows the remote user's read receipt", j)
    j = sync_until(hs, atok, since, lambda j: any(
        e.get("sender") == user for e in j.get("presence", {}).get("events", [])))
    pres = [e for e in (j or {}).get("presence", {}).get("events", []) if e.get("sender") == user]
    ok(pres and pres[-1]["content"].get("presence") == "online" and
       pres[-1]["content"].get("status_msg") == "from afar", "alice's /sync shows the remote user's presence", j)
    s, j = psend("e3", [{"edu_type": "m.typing", "content": {"room_id": wr, "user_id": user, "typing": False}}])
    j = sync_until(hs, atok, since, lambda j: any(
        user not in e["content"].get("user_ids", []) for e in eph(j, "m.typing")))
    ok(any(user not in e["content"].get("user_ids", []) for e in eph(j, "m.typing")),
       "typing: false from the remote server clears it", j)

    # ---- outbound: alice's typing and receipt reach the peer's server ----
    s, j = hs.client("PUT", "/_matrix/client/v3/rooms/%s/typing/%s" % (q(wr), q(alice)),
                     {"typing": True, "timeout": 10000}, token=atok)
    got = edus_sent("m.typing", lambda c: c.get("room_id") == wr and c.get("user_id") == alice and c.get("typing"))
    ok(s == 200 and got, "alice's typing goes to the peer's server as an m.typing EDU", (s, j))
    s, j = hs.client("POST", "/_matrix/client/v3/rooms/%s/receipt/m.read/%s" % (q(wr), q(msgs[4])), {},
                     token=atok)
    got = edus_sent("m.receipt", lambda c: msgs[4] in c.get(wr, {}).get("m.read", {}).get(alice, {})
                    .get("event_ids", []))
    ok(s == 200 and got, "alice's read receipt goes to the peer's server as an m.receipt EDU", (s, j))
    s, j = hs.client("POST", "/_matrix/client/v3/rooms/%s/receipt/m.read.private/%s" % (q(wr), q(msgs[2])), {},
                     token=atok)
    time.sleep(0.3)
    with peer.lock:
        leaked = [e for tx in peer.txns for e in tx["edus"] if msgs[2] in json.dumps(e)]
    ok(s == 200 and not leaked, "a private read receipt stays on this server", leaked)
    with peer.lock:
        echoed = [e for tx in peer.txns for e in tx["edus"] if user in json.dumps(e)]
    ok(not echoed, "the remote user's own EDUs are not sent back", echoed)


hs = None
peer = None
try:
    make_pki(work, ["hs.fed.test", "good.fed.test"])
    peer = fedpeer.Peer(os.path.join(work, "good.fed.test.crt"), os.path.join(work, "good.fed.test.key")).start()
    PEER = "good.fed.test:%d" % peer.port
    pk = peer.key_for(PEER)
    for label, db, cleanup in backends(work, "fedread"):
        def ok(cond, desc, diag=None, label=label):
            return t.ok(cond, "[%s] %s" % (label, desc), diag)
        try:
            run(label, db, ok)
        finally:
            if hs:
                hs.proc.stop(timeout=20)
                if t.failed:
                    sys.stderr.write(hs.log()[-4000:])
            cleanup()
except Exception:  # noqa: BLE001
    t.ok(False, "test run raised", traceback.format_exc())
finally:
    if peer:
        peer.stop()
    if not os.environ.get("KEEP"):
        shutil.rmtree(work, ignore_errors=True)
t.done()
