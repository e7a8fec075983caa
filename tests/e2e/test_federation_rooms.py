#!/usr/bin/python3
"""Rooms across scopd instances over TLS on loopback (issue 6).

hs1 and hs2 (tests/federation/fedhs.py) federate with short sender
backoff.  Checks: a user of hs2 joins a room of hs1 (make_join/send_join,
the state checked and adopted), messages and state changes both ways,
a room of hs2 joined from hs1, a restart of hs2 while hs1 keeps sending
(hs1's outbox and retries catch it up), forged and unauthorised PDUs
refused without changing state, and leaving.  With SCOP_TEST_PG_DSN, hs2
runs on a fresh PostgreSQL database (hs1 and hs3 on SQLite)."""
import os
import shutil
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(__file__))
from scoptest import Tap, SRCDIR, free_port  # noqa: E402
from test_rooms_common import backends  # noqa: E402

sys.path.insert(0, os.path.join(SRCDIR, "tests", "federation"))
import fedhs  # noqa: E402
from fedhs import q  # noqa: E402
from make_pdu_vectors import sign_pdu  # noqa: E402

import signedjson.key  # noqa: E402

t = Tap()
work = tempfile.mkdtemp(prefix="scop-fedrooms-")
servers = []
proxies = []
cleanups = []


def joined(hs, tok, room):
    s, j = hs.client("GET", "/_matrix/client/v3/rooms/%s/joined_members" % q(room), token=tok)
    return set((j or {}).get("joined", {})) if s == 200 else set()


try:
    fedhs.make_pki(work, ["hs1.fed.test", "hs2.fed.test", "hs3.fed.test"])
    p1, p2, p3 = free_port(), free_port(), free_port()
    # Each server reaches the other through a relay the test can cut.
    to1, to2 = fedhs.Proxy(p1), fedhs.Proxy(p2)
    proxies += [to1, to2]
    overrides = ["hs1.fed.test:%d:127.0.0.1:%d" % (p1, to1.port), "hs2.fed.test:%d:127.0.0.1:%d" % (p2, to2.port),
                 "hs3.fed.test:%d:127.0.0.1:%d" % (p3, p3)]
    hs1 = fedhs.HS(work, "hs1.fed.test", p1, overrides)
    servers.append(hs1)
    dbs = backends(work, "fedrooms")
    cleanups += [d[2] for d in dbs]
    hs2 = fedhs.HS(work, "hs2.fed.test", p2, overrides, database=dbs[-1][1])
    servers.append(hs2)
    alice, atok = hs1.register("alice")
    bob, btok = hs2.register("bob")

    # ---- a room of hs1, joined from hs2 ----
    s, j = hs1.client("POST", "/_matrix/client/v3/createRoom", {"preset": "public_chat", "name": "One"}, token=atok)
    room = j["room_id"]
    s, j = hs2.client("POST", "/_matrix/client/v3/join/%s?server_name=%s" % (q(room), q(hs1.name)), {},
                      token=btok)
    t.ok(s == 200 and j.get("room_id") == room, "bob on hs2 joins alice's room on hs1 over federation", (s, j))
    t.ok(joined(hs1, atok, room) == {alice, bob}, "hs1 has bob joined", joined(hs1, atok, room))
    t.ok(joined(hs2, btok, room) == {alice, bob}, "hs2 has the room with both joined", joined(hs2, btok, room))
    ids1, ids2 = hs1.state_ids(atok, room), hs2.state_ids(btok, room)
    t.ok(ids1 and ids1 == ids2, "both servers have the same current state after the join", (ids1, ids2))
    s, j = hs2.client("GET", "/_matrix/client/v3/sync?timeout=0", token=btok)
    rj = (j or {}).get("rooms", {}).get("join", {}).get(room, {})
    names = [e for e in rj.get("state", {}).get("events", []) + rj.get("timeline", {}).get("events", [])
             if e.get("type") == "m.room.name"]
    t.ok(s == 200 and rj and names and names[0]["content"]["name"] == "One",
         "the joined room shows in bob's /sync with its state", (s, list(rj)))

    # ---- messages both ways ----
    s, j = hs1.send(atok, room, "hello bob", "a1")
    ok, got = hs2.wait_bodies(btok, room, ["hello bob"])
    t.ok(s == 200 and ok, "alice's message reaches bob on hs2", got)
    s, j = hs2.send(btok, room, "hello alice", "b1")
    ok, got = hs1.wait_bodies(atok, room, ["hello alice"])
    t.ok(s == 200 and ok, "bob's message reaches alice on hs1", got)
    s, j = hs1.client("GET", "/_matrix/client/v3/sync?timeout=0", token=atok)
    tl = (j or {}).get("rooms", {}).get("join", {}).get(room, {}).get("timeline", {}).get("events", [])
    t.ok(any(e.get("content", {}).get("body") == "hello alice" for e in tl), "... and shows in alice's /sync",
         [e.get("type") for e in tl])

    # ---- a third server joins through hs1; hs2 hears of it from hs1 ----
    hs3 = fedhs.HS(work, "hs3.fed.test", p3, overrides)
    servers.append(hs3)
    carol, ctok = hs3.register("carol")
    s, j = hs3.client("POST", "/_matrix/client/v3/join/%s?server_name=%s" % (q(room), q(hs1.name)), {},
                      token=ctok)
    t.ok(s == 200 and hs2.wait(lambda: carol in joined(hs2, btok, room)),
         "carol on hs3 joins through hs1, which forwards her join to hs2", (s, j, joined(hs2, btok, room)))
    hs3.send(ctok, room, "hello from hs3", "c1")
    ok2, got2 = hs2.wait_bodies(btok, room, ["hello from hs3"])
    ok1, got1 = hs1.wait_bodies(atok, room, ["hello from hs3"])
    t.ok(ok1 and ok2, "carol's message reaches both other servers", (got1, got2))
    s, j = hs3.client("POST", "/_matrix/client/v3/rooms/%s/leave" % q(room), {}, token=ctok)
    t.ok(s == 200 and hs2.wait(lambda: carol not in joined(hs2, btok, room)) and
         hs1.wait(lambda: carol not in joined(hs1, atok, room)), "carol leaves; both see it", (s, j))
    s, j = hs3.client("POST", "/_matrix/client/v3/join/%s?server_name=%s&via=%s" % (q(room), q(hs1.name), q(hs2.name)),
                      {"reason": "back again"}, token=ctok)
    t.ok(s == 200 and hs1.wait(lambda: carol in joined(hs1, atok, room)) and
         (hs1.client("GET", "/_matrix/client/v3/rooms/%s/state/m.room.member/%s" % (q(room), q(carol)),
                     token=atok)[1] or {}).get("reason") == "back again",
         "carol joins again naming server_name and via, with a reason", (s, j))
    s, j = hs3.client("POST", "/_matrix/client/v3/rooms/%s/leave" % q(room), {}, token=ctok)
    t.ok(s == 200 and hs1.wait(lambda: carol not in joined(hs1, atok, room)), "and leaves again", (s, j))

    # ---- state changes both ways ----
    s, j = hs1.put_state(atok, room, "m.room.name", {"name": "Renamed"})
    t.ok(s == 200, "alice renames the room", (s, j))
    t.ok(hs2.wait(lambda: (hs2.state_ids(btok, room) or {}).get(("m.room.name", "")) == j.get("event_id")),
         "hs2's current state has the new name")
    s, j = hs2.put_state(btok, room, "m.room.topic", {"topic": "bob's"})
    t.ok(s == 403, "bob (power level 0) may not set the topic", (s, j))
    s, pl = hs1.client("GET", "/_matrix/client/v3/rooms/%s/state/m.room.power_levels/" % q(room), token=atok)
    pl["users"][bob] = 100
    s, j = hs1.put_state(atok, room, "m.room.power_levels", pl)
    t.ok(s == 200 and hs2.wait(lambda: (hs2.state_ids(btok, room) or {}).get(("m.room.power_levels", "")) ==
                               j.get("event_id")), "alice raises bob's power level; hs2 sees it", (s, j))
    s, j = hs2.put_state(btok, room, "m.room.topic", {"topic": "bob's"})
    t.ok(s == 200 and hs1.wait(lambda: (hs1.state_ids(atok, room) or {}).get(("m.room.topic", "")) ==
                               j.get("event_id")), "now bob sets the topic on hs2; hs1 takes it", (s, j))

    # ---- a room of hs2 joined from hs1 ----
    s, j = hs2.client("POST", "/_matrix/client/v3/createRoom", {"preset": "public_chat"}, token=btok)
    room2 = j["room_id"]
    s, j = hs1.client("POST", "/_matrix/client/v3/rooms/%s/join?server_name=%s" % (q(room2), q(hs2.name)), {},
                      token=atok)
    t.ok(s == 200 and joined(hs2, btok, room2) == {alice, bob},
         "alice on hs1 joins bob's room on hs2 (/rooms/{id}/join with server_name)", (s, j))
    s, j = hs2.client("POST", "/_matrix/client/v3/createRoom", {"preset": "public_chat", "room_alias_name": "lobby"},
                      token=btok)
    room4 = (j or {}).get("room_id")
    s, j = hs1.client("POST", "/_matrix/client/v3/join/%s" % q("#lobby:" + hs2.name), {}, token=atok)
    t.ok(s == 200 and j.get("room_id") == room4 and alice in joined(hs2, btok, room4),
         "alice joins #lobby on hs2 by its alias (directory query over federation)", (s, j))
    s, j = hs1.client("POST", "/_matrix/client/v3/join/%s" % q("#nothere:" + hs2.name), {}, token=atok)
    t.ok(s == 404 and (j or {}).get("errcode") == "M_NOT_FOUND", "an unknown remote alias is 404", (s, j))
    hs2.send(btok, room2, "in room two", "b2")
    ok, got = hs1.wait_bodies(atok, room2, ["in room two"])
    t.ok(ok, "messages flow in the second room", got)

    # ---- invites (v2) both ways, then joins through the inviting server ----
    dave, dtok = hs2.register("dave")
    s, j = hs1.client("POST", "/_matrix/client/v3/rooms/%s/invite" % q(room), {"user_id": dave}, token=atok)
    t.ok(s == 200, "alice on hs1 invites dave of hs2 (hs2 countersigns the invite)", (s, j))

    def invited(hs, tok, rid):
        s, j = hs.client("GET", "/_matrix/client/v3/sync?timeout=0", token=tok)
        return (j or {}).get("rooms", {}).get("invite", {}).get(rid)
    inv = hs2.wait(lambda: invited(hs2, dtok, room))
    evs = (inv or {}).get("invite_state", {}).get("events", [])
    t.ok(any(e["type"] == "m.room.name" and e["content"].get("name") == "Renamed" for e in evs) and
         any(e["type"] == "m.room.member" and e["state_key"] == dave and e["content"]["membership"] == "invite"
             for e in evs), "dave's /sync on hs2 shows the invite with the stripped state", inv)
    s, j = hs2.client("POST", "/_matrix/client/v3/rooms/%s/join" % q(room), {}, token=dtok)
    t.ok(s == 200 and hs1.wait(lambda: dave in joined(hs1, atok, room)),
         "dave joins through the inviting server (no server_name needed)", (s, j))
    s, j = hs2.client("POST", "/_matrix/client/v3/createRoom", {"preset": "private_chat", "name": "Private",
                                                                "invite": [alice]}, token=btok)
    room3 = (j or {}).get("room_id")
    inv = hs1.wait(lambda: invited(hs1, atok, room3))
    t.ok(s == 200 and inv, "bob creates a private room on hs2 inviting alice; hs1 shows the invite", (s, j, inv))
    s, j = hs1.client("POST", "/_matrix/client/v3/join/%s" % q(room3), {}, token=atok)
    t.ok(s == 200 and joined(hs2, btok, room3) == {alice, bob}, "alice accepts: joined on both sides", (s, j))
    erin, etok = hs2.register("erin")
    s, j = hs1.client("POST", "/_matrix/client/v3/rooms/%s/invite" % q(room), {"user_id": erin}, token=atok)
    t.ok(s == 200 and hs2.wait(lambda: invited(hs2, etok, room)), "alice invites erin of hs2; hs2 shows it",
         (s, j))
    s0, j0 = hs2.client("GET", "/_matrix/client/v3/sync?timeout=0", token=etok)
    s, j = hs2.client("POST", "/_matrix/client/v3/rooms/%s/leave" % q(room), {"reason": "no thanks"}, token=etok)

    def member_of(hs, tok, rid, user):
        s, j = hs.client("GET", "/_matrix/client/v3/rooms/%s/state/m.room.member/%s" % (q(rid), q(user)), token=tok)
        return (j or {}).get("membership") if s == 200 else None
    t.ok(s == 200 and hs1.wait(lambda: member_of(hs1, atok, room, erin) == "leave"),
         "erin on hs2 rejects alice's invite (hs2 is in the room: its own leave, sent to hs1)", (s, j))
    s, j = hs2.client("GET", "/_matrix/client/v3/sync?since=%s&timeout=0" % j0.get("next_batch"), token=etok)
    s2, j2 = hs2.client("GET", "/_matrix/client/v3/sync?timeout=0", token=etok)
    t.ok(s == 200 and s2 == 200 and room not in (j2 or {}).get("rooms", {}).get("invite", {}),
         "erin's /sync no longer lists the invite", (s, j, j2))
    s, j = hs1.client("POST", "/_matrix/client/v3/createRoom", {"name": "Not for hs2", "invite": [erin]}, token=atok)
    room7 = (j or {}).get("room_id")
    t.ok(s == 200 and hs2.wait(lambda: invited(hs2, etok, room7)),
         "alice invites erin to a room hs2 is not in; hs2 shows it", (s, j))
    s, j = hs2.client("POST", "/_matrix/client/v3/rooms/%s/leave" % q(room7), {}, token=etok)
    t.ok(s == 200 and hs1.wait(lambda: member_of(hs1, atok, room7, erin) == "leave") and
         hs2.wait(lambda: not invited(hs2, etok, room7)),
         "erin rejects it through hs1 (make_leave/send_leave); the invite is gone from her /sync", (s, j))
    # ---- a restricted room of hs1: members of `room` may join ----
    s, j = hs1.client("POST", "/_matrix/client/v3/createRoom", {
        "preset": "private_chat", "name": "Members only",
        "initial_state": [{"type": "m.room.join_rules", "state_key": "",
                           "content": {"join_rule": "restricted",
                                       "allow": [{"type": "m.room_membership", "room_id": room}]}}]},
        token=atok)
    room6 = (j or {}).get("room_id")
    s, j = hs2.client("POST", "/_matrix/client/v3/join/%s?server_name=%s" % (q(room6), q(hs1.name)), {},
                      token=btok)
    ev = hs1.client("GET", "/_matrix/client/v3/rooms/%s/state/m.room.member/%s" % (q(room6), q(bob)),
                    token=atok)[1] or {}
    t.ok(s == 200 and bob in joined(hs1, atok, room6) and ev.get("join_authorised_via_users_server") == alice,
         "bob (a member of the allowed room) joins a restricted room of hs1, vouched for by alice", (s, j, ev))
    outsider, otok = hs2.register("outsider")
    s, j = hs2.client("POST", "/_matrix/client/v3/join/%s?server_name=%s" % (q(room6), q(hs1.name)), {},
                      token=otok)
    t.ok(s == 403 and outsider not in joined(hs1, atok, room6), "a user in none of the allowed rooms may not", (s, j))

    # ---- knocking on a room of hs1 from hs2 ----
    s, j = hs1.client("POST", "/_matrix/client/v3/createRoom", {
        "preset": "private_chat", "name": "Knock here",
        "initial_state": [{"type": "m.room.join_rules", "state_key": "", "content": {"join_rule": "knock"}}]},
        token=atok)
    room5 = (j or {}).get("room_id")
    s, j = hs2.client("POST", "/_matrix/client/v3/knock/%s?server_name=%s" % (q(room5), q(hs1.name)),
                      {"reason": "let me in"}, token=etok)
    t.ok(s == 200 and j.get("room_id") == room5 and member_of(hs1, atok, room5, erin) == "knock",
         "erin on hs2 knocks on a knock room of hs1 (make_knock/send_knock)", (s, j))
    s, j = hs2.client("GET", "/_matrix/client/v3/sync?timeout=0", token=etok)
    kn = (j or {}).get("rooms", {}).get("knock", {}).get(room5, {}).get("knock_state", {}).get("events", [])
    t.ok(any(e["type"] == "m.room.name" and e["content"].get("name") == "Knock here" for e in kn),
         "erin's /sync shows the knock with the room's stripped state", j)
    s, j = hs1.client("POST", "/_matrix/client/v3/rooms/%s/invite" % q(room5), {"user_id": erin}, token=atok)
    s2, j2 = hs2.client("POST", "/_matrix/client/v3/rooms/%s/join" % q(room5), {}, token=etok)
    t.ok(s == 200 and s2 == 200 and erin in joined(hs1, atok, room5), "alice lets erin in; erin joins",
         (s, j, s2, j2))
    s, j = hs2.client("POST", "/_matrix/client/v3/rooms/%s/invite" % q(room3),
                      {"user_id": "@nobody:unreachable.invalid"}, token=btok)
    t.ok(s in (403, 502) and hs2.state_ids(btok, room3).get(("m.room.member", "@nobody:unreachable.invalid"))
         is None, "an invite the invitee's server cannot countersign fails and is not stored", (s, j))

    # ---- forged and unauthorised PDUs change nothing ----
    before = hs1.state_ids(atok, room)
    s, j = hs2.client("GET", "/_matrix/client/v3/rooms/%s/messages?dir=b&limit=1" % q(room), token=btok)
    last = j["chunk"][0]
    _, st = hs1.state(atok, room)
    v12 = [e for e in st if e["type"] == "m.room.create"][0]["content"].get("room_version") == "12"
    pdu = {"room_id": room, "sender": bob, "type": "m.room.name", "state_key": "",
           "content": {"name": "forged"}, "prev_events": [last["event_id"]],
           "auth_events": [before[("m.room.power_levels", "")], before[("m.room.member", bob)]],
           "depth": 1000, "origin_server_ts": int(time.time() * 1000)}
    if not v12:
        pdu["auth_events"].append(before[("m.room.create", "")])
    rogue = signedjson.key.generate_signing_key(hs2.sk.version)
    fid = sign_pdu(dict(pdu), hs2.name, rogue)
    forged = dict(pdu)
    sign_pdu(forged, hs2.name, rogue)
    txn = {"origin": hs2.name, "origin_server_ts": 1, "pdus": [forged]}
    s, j = hs1.signed(hs2.name, hs2.sk, "PUT", "/_matrix/federation/v1/send/forged1", txn)
    t.ok(s == 200 and "error" in (j or {}).get("pdus", {}).get(fid, {}),
         "a PDU with a forged signature is refused", (s, j))
    s, j = hs1.signed(hs2.name, signedjson.key.generate_signing_key("x9"), "PUT",
                      "/_matrix/federation/v1/send/forged2", txn)
    t.ok(s == 401, "a transaction signed with a key hs2 does not have is 401", (s, j))
    carol = "@carol:" + hs2.name
    noauth = dict(pdu, sender=carol, content={"name": "not a member"})
    noauth["auth_events"] = [before[("m.room.power_levels", "")]]
    nid = sign_pdu(noauth, hs2.name, hs2.sk)
    s, j = hs1.signed(hs2.name, hs2.sk, "PUT", "/_matrix/federation/v1/send/noauth", {
        "origin": hs2.name, "origin_server_ts": 1, "pdus": [noauth]})
    t.ok(s == 200 and "error" in (j or {}).get("pdus", {}).get(nid, {}),
         "a correctly signed event of a non-member fails the auth rules", (s, j))
    wrong = dict(pdu, sender="@eve:" + hs1.name, content={"name": "wrong origin"})
    wid = sign_pdu(wrong, hs2.name, hs2.sk)
    s, j = hs1.signed(hs2.name, hs2.sk, "PUT", "/_matrix/federation/v1/send/wrong", {
        "origin": hs2.name, "origin_server_ts": 1, "pdus": [wrong]})
    t.ok(s == 200 and "error" in (j or {}).get("pdus", {}).get(wid, {}),
         "an event of hs1's user signed only by hs2 is dropped", (s, j))
    t.ok(hs1.state_ids(atok, room) == before, "none of them changed hs1's state")

    # ---- hs2 down: hs1 keeps sending, then catches hs2 up ----
    rc = hs2.stop()
    t.ok(rc == 0, "hs2 stops cleanly", rc)
    for i in range(3):
        s, j = hs1.send(atok, room, "while down %d" % i, "down%d" % i)
    time.sleep(0.5)
    hs1.stop()
    hs1.start()  # the outbox survives hs1's own restart too
    hs2.start()
    ok, got = hs2.wait_bodies(btok, room, ["while down 0", "while down 1", "while down 2"], timeout=30)
    t.ok(ok, "after restarts of both, hs2 has every message hs1 sent while it was down", got)
    s, j = hs2.send(btok, room, "back again", "b3")
    ok, got = hs1.wait_bodies(atok, room, ["back again"])
    t.ok(ok, "and talks to hs1 again", got)

    # ---- a netsplit: both sides keep sending, then converge ----
    to1.pause()
    to2.pause()
    hs1.send(atok, room, "split from hs1", "s1")
    s1, j1 = hs1.put_state(atok, room, "m.room.topic", {"topic": "topic of hs1"})
    hs2.send(btok, room, "split from hs2", "s2")
    s2, j2 = hs2.put_state(btok, room, "m.room.topic", {"topic": "topic of hs2"})
    hs2.put_state(btok, room, "m.room.name", {"name": "named on hs2"})
    time.sleep(1)
    t.ok(s1 == 200 and s2 == 200 and "split from hs1" not in hs2.bodies(btok, room),
         "during the split both sides accept events, and nothing crosses", (s1, s2))
    to1.resume()
    to2.resume()
    want = ["split from hs1", "split from hs2"]
    ok1, got1 = hs1.wait_bodies(atok, room, want, timeout=30)
    ok2, got2 = hs2.wait_bodies(btok, room, want, timeout=30)
    t.ok(ok1 and ok2, "after the split both sides have every message", (got1, got2))
    # One more event from each side merges the forks.
    hs1.send(atok, room, "merge 1", "m1")
    hs2.send(btok, room, "merge 2", "m2")
    hs1.wait_bodies(atok, room, ["merge 2"])
    hs2.wait_bodies(btok, room, ["merge 1"])
    same = hs1.wait(lambda: hs1.state_ids(atok, room) == hs2.state_ids(btok, room), timeout=20)
    ids1, ids2 = hs1.state_ids(atok, room), hs2.state_ids(btok, room)
    t.ok(same and ids1.get(("m.room.name", "")) == hs2.state_ids(btok, room).get(("m.room.name", "")) and
         ids1.get(("m.room.topic", "")) in (j1.get("event_id"), j2.get("event_id")),
         "both sides resolve the split to the same current state (state resolution v2)",
         {k: (ids1.get(k), ids2.get(k)) for k in set(ids1 or {}) | set(ids2 or {})
          if (ids1 or {}).get(k) != (ids2 or {}).get(k)})

    # ---- left, invited again, back in ----
    s, j = hs1.client("POST", "/_matrix/client/v3/rooms/%s/leave" % q(room2), {}, token=atok)
    left = hs2.wait(lambda: alice not in joined(hs2, btok, room2))
    s2, j2 = hs2.client("POST", "/_matrix/client/v3/rooms/%s/invite" % q(room2), {"user_id": alice}, token=btok)
    inv = hs1.wait(lambda: invited(hs1, atok, room2))
    s3, j3 = hs1.client("POST", "/_matrix/client/v3/rooms/%s/join" % q(room2), {}, token=atok)
    t.ok(s == 200 and left and s2 == 200 and inv and s3 == 200 and
         hs2.wait(lambda: alice in joined(hs2, btok, room2)),
         "alice leaves bob's room, is invited again (hs1 knows the room, nobody of hs1 in it) and rejoins",
         (s, left, s2, j2, inv, s3, j3))
    hs2.send(btok, room2, "welcome back", "wb")
    ok, got = hs1.wait_bodies(atok, room2, ["welcome back"])
    t.ok(ok, "and gets the room's new messages", got)

    # ---- leaving ----
    s, j = hs2.client("POST", "/_matrix/client/v3/rooms/%s/leave" % q(room), {}, token=btok)
    t.ok(s == 200 and hs1.wait(lambda: bob not in joined(hs1, atok, room)),
         "bob leaves; hs1 sees him gone", (s, j, joined(hs1, atok, room)))
    s, j = hs1.send(atok, room, "after bob left", "a9")
    ok, got = hs2.wait_bodies(dtok, room, ["after bob left"])
    t.ok(ok, "dave, still in the room on hs2, gets the next message", got)
    s, j = hs2.client("GET", "/_matrix/client/v3/rooms/%s/messages?dir=b&limit=5" % q(room), token=btok)
    t.ok("after bob left" not in [e.get("content", {}).get("body") for e in (j or {}).get("chunk", [])],
         "bob, who left, does not see it", (s, j))

    for hs in servers:
        log = hs.log()
        t.ok(fedhs.SECRET not in log and "sig=" not in log, "%s log has no secrets or signatures" % hs.host)
except Exception:  # noqa: BLE001
    t.ok(False, "test run raised", traceback.format_exc())
finally:
    stopped = [hs.stop() for hs in servers]
    for p in proxies:
        p.stop()
    for c in cleanups:
        c()
    if stopped:
        t.ok(all(rc == 0 for rc in stopped), "scopd instances stop cleanly", stopped)
    if t.failed:
        for hs in servers:
            sys.stderr.write(hs.log()[-4000:])
    if not os.environ.get("KEEP"):
        shutil.rmtree(work, ignore_errors=True)
t.done()
