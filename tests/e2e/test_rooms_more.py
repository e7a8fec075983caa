#!/usr/bin/python3
"""End-to-end tests of scopd's knock, room upgrade, presence and lazy-loaded
members on SQLite and (with SCOP_TEST_PG_DSN) PostgreSQL, over raw HTTP.
Prints TAP."""
import json
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scoptest import Tap  # noqa: E402
from test_rooms_common import C, expect, run_on_backends  # noqa: E402

t = Tap()


def sync(srv, token, since=None, filt=None, extra=None):
    q = {"timeout": "0"}
    if since:
        q["since"] = since
    if filt is not None:
        q["filter"] = json.dumps(filt)
    q.update(extra or {})
    return expect(srv.call("GET", C + "/sync?" + urllib.parse.urlencode(q), None, token), 200)


def knock_suite(srv, tag, users):
    def case(desc):
        return t.case("%s: knock: %s" % (tag, desc))

    (a, ta), (b, tb), (c, tc) = users
    rid = expect(srv.call("POST", C + "/createRoom", {"room_alias_name": "knockable"}, ta),
                 200)["room_id"]
    expect(srv.call("PUT", C + "/rooms/%s/state/m.room.join_rules" % rid,
                    {"join_rule": "knock"}, ta), 200)
    closed = expect(srv.call("POST", C + "/createRoom", {}, ta), 200)["room_id"]
    since_b = sync(srv, tb)["next_batch"]

    @case("knocking on an invite-only room is 403 M_FORBIDDEN")
    def _():
        expect(srv.call("POST", C + "/knock/" + closed, {}, tb), 403, "M_FORBIDDEN")

    @case("knocking on an unknown room is 404; a non-ID is 400")
    def _():
        expect(srv.call("POST", C + "/knock/!nope:rooms.test", {}, tb), 404, "M_NOT_FOUND")
        expect(srv.call("POST", C + "/knock/nope", {}, tb), 400, "M_INVALID_PARAM")

    @case("a knock with a reason answers room_id and the member event says knock")
    def _():
        j = expect(srv.call("POST", C + "/knock/" + rid, {"reason": "let me in"}, tb), 200)
        assert j == {"room_id": rid}, j
        st = expect(srv.call("GET", C + "/rooms/%s/state/m.room.member/%s" % (rid, b), None, ta), 200)
        assert st["membership"] == "knock" and st["reason"] == "let me in", st

    @case("the knocker's sync lists the room under rooms.knock with knock_state")
    def _():
        j = sync(srv, tb, since_b)
        k = j["rooms"]["knock"].get(rid)
        assert k, j["rooms"]
        evs = k["knock_state"]["events"]
        types = {e["type"] for e in evs}
        assert "m.room.create" in types and "m.room.join_rules" in types, types
        assert all("event_id" not in e for e in evs), evs
        assert rid not in j["rooms"]["join"]

    @case("knocking by alias works; a knocker cannot join directly")
    def _():
        alias = urllib.parse.quote("#knockable:rooms.test")
        assert expect(srv.call("POST", C + "/knock/" + alias, {}, tc), 200) == {"room_id": rid}
        expect(srv.call("POST", C + "/join/" + rid, {}, tc), 403, "M_FORBIDDEN")

    @case("a pending knock cannot be forgotten (400); a second knock is allowed")
    def _():
        expect(srv.call("POST", C + "/rooms/%s/forget" % rid, {}, tc), 400)
        expect(srv.call("POST", C + "/knock/" + rid, {"reason": "again"}, tc), 200)

    @case("a knocker may rescind by leaving")
    def _():
        expect(srv.call("POST", C + "/rooms/%s/leave" % rid, {}, tc), 200)
        st = expect(srv.call("GET", C + "/rooms/%s/state/m.room.member/%s" % (rid, c), None, ta), 200)
        assert st["membership"] == "leave", st

    @case("the admin invites the knocker, who then joins")
    def _():
        expect(srv.call("POST", C + "/rooms/%s/invite" % rid, {"user_id": b}, ta), 200)
        expect(srv.call("POST", C + "/join/" + rid, {}, tb), 200)
        assert rid in expect(srv.call("GET", C + "/joined_rooms", None, tb), 200)["joined_rooms"]

    @case("a joined member or a banned user cannot knock (403)")
    def _():
        expect(srv.call("POST", C + "/knock/" + rid, {}, tb), 403, "M_FORBIDDEN")
        expect(srv.call("POST", C + "/rooms/%s/ban" % rid, {"user_id": c}, ta), 200)
        expect(srv.call("POST", C + "/knock/" + rid, {}, tc), 403, "M_FORBIDDEN")
        expect(srv.call("POST", C + "/rooms/%s/unban" % rid, {"user_id": c}, ta), 200)

    @case("knock_restricted rooms (v10) take knocks too; v6 rooms do not know knock")
    def _():
        r10 = expect(srv.call("POST", C + "/createRoom", {"room_version": "10"}, ta), 200)["room_id"]
        expect(srv.call("PUT", C + "/rooms/%s/state/m.room.join_rules" % r10,
                        {"join_rule": "knock_restricted", "allow": []}, ta), 200)
        expect(srv.call("POST", C + "/knock/" + r10, {}, tc), 200)
        r6 = expect(srv.call("POST", C + "/createRoom", {"room_version": "6"}, ta), 200)
        if r6 is not None:
            rid6 = r6["room_id"]
            srv.call("PUT", C + "/rooms/%s/state/m.room.join_rules" % rid6, {"join_rule": "knock"}, ta)
            expect(srv.call("POST", C + "/knock/" + rid6, {}, tc), 403, "M_FORBIDDEN")


def upgrade_suite(srv, tag, users):
    def case(desc):
        return t.case("%s: upgrade: %s" % (tag, desc))

    (a, ta), (b, tb) = users
    rid = expect(srv.call("POST", C + "/createRoom",
                          {"name": "old", "topic": "old topic", "room_alias_name": "upg",
                           "preset": "public_chat", "room_version": "10"}, ta), 200)["room_id"]
    expect(srv.call("PUT", C + "/rooms/%s/state/m.room.encryption" % rid,
                    {"algorithm": "m.megolm.v1.aes-sha2"}, ta), 200)
    expect(srv.call("POST", C + "/join/" + rid, {}, tb), 200)
    banned, _ = srv.register("upg_banned")
    expect(srv.call("POST", C + "/rooms/%s/ban" % rid, {"user_id": banned}, ta), 200)
    expect(srv.call("PUT", C + "/directory/list/room/" + rid, {"visibility": "public"}, ta), 200)
    up = C + "/rooms/%s/upgrade" % rid
    new = {}

    @case("unknown version is 400 M_UNSUPPORTED_ROOM_VERSION; missing new_version is 400")
    def _():
        expect(srv.call("POST", up, {"new_version": "99"}, ta), 400, "M_UNSUPPORTED_ROOM_VERSION")
        expect(srv.call("POST", up, {}, ta), 400)

    @case("a member without power for m.room.tombstone gets 403; an outsider 403")
    def _():
        expect(srv.call("POST", up, {"new_version": "11"}, tb), 403, "M_FORBIDDEN")
        _, tc = srv.register("upg_outsider")
        expect(srv.call("POST", up, {"new_version": "11"}, tc), 403, "M_FORBIDDEN")

    @case("the creator upgrades: replacement_room answered")
    def _():
        j = expect(srv.call("POST", up, {"new_version": "11"}, ta), 200)
        assert j["replacement_room"].startswith("!"), j
        new["id"] = j["replacement_room"]

    @case("new room: version, predecessor and the transferable state copied")
    def _():
        n = new["id"]
        cr = expect(srv.call("GET", C + "/rooms/%s/state/m.room.create/" % n, None, ta), 200)
        assert cr["room_version"] == "11" and cr["predecessor"]["room_id"] == rid, cr
        g = lambda typ: expect(srv.call("GET", C + "/rooms/%s/state/%s/" % (n, typ), None, ta), 200)
        assert g("m.room.name") == {"name": "old"}
        assert g("m.room.topic")["topic"] == "old topic"
        assert g("m.room.join_rules")["join_rule"] == "public"
        assert g("m.room.encryption")["algorithm"] == "m.megolm.v1.aes-sha2"
        assert g("m.room.history_visibility")["history_visibility"] == "shared"
        assert g("m.room.power_levels")["users"][a] == 100

    @case("bans and the directory listing carry over")
    def _():
        m = expect(srv.call("GET", C + "/rooms/%s/state/m.room.member/%s" % (new["id"], banned), None, ta), 200)
        assert m["membership"] == "ban", m
        pub = expect(srv.call("GET", C + "/publicRooms", None, ta), 200)
        ids = {r["room_id"] for r in pub["chunk"]}
        assert new["id"] in ids and rid not in ids, ids

    @case("the alias now points at the new room")
    def _():
        alias = urllib.parse.quote("#upg:rooms.test")
        j = expect(srv.call("GET", C + "/directory/room/" + alias, None, ta), 200)
        assert j["room_id"] == new["id"], j

    @case("old room: tombstone and restricted power levels; members can no longer talk")
    def _():
        ts = expect(srv.call("GET", C + "/rooms/%s/state/m.room.tombstone/" % rid, None, ta), 200)
        assert ts["replacement_room"] == new["id"], ts
        pl = expect(srv.call("GET", C + "/rooms/%s/state/m.room.power_levels/" % rid, None, ta), 200)
        assert pl["events_default"] >= 50 and pl["invite"] >= 50, pl
        expect(srv.call("PUT", C + "/rooms/%s/send/m.room.message/t1" % rid,
                        {"msgtype": "m.text", "body": "hi"}, tb), 403, "M_FORBIDDEN")

    @case("the other member can join the replacement room; it upgrades again to v12")
    def _():
        expect(srv.call("POST", C + "/join/" + new["id"], {}, tb), 200)
        j = expect(srv.call("POST", C + "/rooms/%s/upgrade" % new["id"], {"new_version": "12"}, ta), 200)
        cr = expect(srv.call("GET", C + "/rooms/%s/state/m.room.create/" % j["replacement_room"], None, ta), 200)
        assert cr["room_version"] == "12", cr


def presence_suite(srv, tag):
    def case(desc):
        return t.case("%s: presence: %s" % (tag, desc))

    a, ta = srv.register("pres_a")
    b, tb = srv.register("pres_b")
    d, td = srv.register("pres_d")
    rid = expect(srv.call("POST", C + "/createRoom", {"preset": "public_chat"}, ta), 200)["room_id"]
    expect(srv.call("POST", C + "/join/" + rid, {}, tb), 200)
    sb = sync(srv, tb, extra={"set_presence": "offline"})["next_batch"]
    sd = sync(srv, td, extra={"set_presence": "offline"})["next_batch"]
    st = lambda u, tok: srv.call("GET", C + "/presence/%s/status" % urllib.parse.quote(u), None, tok)

    @case("PUT own status: unavailable with a status_msg; GET reads it back")
    def _():
        expect(srv.call("PUT", C + "/presence/%s/status" % a,
                        {"presence": "unavailable", "status_msg": "lunch"}, ta), 200)
        j = expect(st(a, ta), 200)
        assert j["presence"] == "unavailable" and j["status_msg"] == "lunch", j
        assert isinstance(j["last_active_ago"], int) and j["currently_active"] is False, j

    @case("errors: another user's status 403, bad presence 400, missing presence 400")
    def _():
        expect(srv.call("PUT", C + "/presence/%s/status" % b, {"presence": "online"}, ta), 403, "M_FORBIDDEN")
        expect(srv.call("PUT", C + "/presence/%s/status" % a, {"presence": "busy"}, ta), 400)
        expect(srv.call("PUT", C + "/presence/%s/status" % a, {"status_msg": "x"}, ta), 400)
        expect(srv.call("GET", C + "/presence/nobody/status", None, ta), 400)

    @case("a user who shares no room cannot read the status (403); a room peer can")
    def _():
        expect(st(a, td), 403, "M_FORBIDDEN")
        assert expect(st(a, tb), 200)["presence"] == "unavailable"

    @case("the room peer's sync carries the m.presence event; the stranger's does not")
    def _():
        j = sync(srv, tb, sb, extra={"set_presence": "offline"})
        evs = [e for e in j["presence"]["events"] if e["sender"] == a]
        assert evs and evs[0]["type"] == "m.presence", j["presence"]
        c = evs[0]["content"]
        assert c["presence"] == "unavailable" and c["status_msg"] == "lunch", c
        j2 = sync(srv, td, sd, extra={"set_presence": "offline"})
        assert not [e for e in j2["presence"]["events"] if e["sender"] == a], j2["presence"]

    @case("set_presence on /sync: online makes the user currently active; bad value 400")
    def _():
        expect(srv.call("GET", C + "/sync?timeout=0&set_presence=away", None, ta), 400, "M_INVALID_PARAM")
        sync(srv, ta, extra={"set_presence": "online"})
        j = expect(st(a, tb), 200)
        assert j["presence"] == "online" and j["currently_active"] is True, j
        assert j["status_msg"] == "lunch", j
        sync(srv, ta, extra={"set_presence": "unavailable"})
        assert expect(st(a, tb), 200)["presence"] == "unavailable"

    @case("a user never seen is offline")
    def _():
        expect(srv.call("POST", C + "/rooms/%s/invite" % rid, {"user_id": d}, ta), 200)
        expect(srv.call("POST", C + "/join/" + rid, {}, td), 200)
        _, te = srv.register("pres_e")
        e = "@pres_e:rooms.test"
        expect(srv.call("POST", C + "/join/" + rid, {}, te), 200)
        assert expect(st(e, ta), 200)["presence"] == "offline"


def lazy_suite(srv, tag):
    def case(desc):
        return t.case("%s: lazy members: %s" % (tag, desc))

    names = ["lazy_a", "lazy_b", "lazy_c", "lazy_d"]
    (a, ta), (b, tb), (c, tc), (d, td) = [srv.register(n) for n in names]
    rid = expect(srv.call("POST", C + "/createRoom", {"preset": "public_chat"}, ta), 200)["room_id"]
    for tok in (tb, tc, td):
        expect(srv.call("POST", C + "/join/" + rid, {}, tok), 200)
    n = [0]

    def say(tok):
        n[0] += 1
        expect(srv.call("PUT", C + "/rooms/%s/send/m.room.message/lz%d" % (rid, n[0]),
                        {"msgtype": "m.text", "body": "m%d" % n[0]}, tok), 200)

    def members(room):
        return sorted(e["state_key"] for e in room["state"]["events"] if e["type"] == "m.room.member")

    lazy = {"room": {"state": {"lazy_load_members": True}, "timeline": {"limit": 1}}}
    say(tc)
    st = {}

    @case("initial sync: member events only for the timeline's sender and the user")
    def _():
        j = sync(srv, tb, filt=lazy)
        room = j["rooms"]["join"][rid]
        assert members(room) == sorted([b, c]), members(room)
        assert "m.room.create" in {e["type"] for e in room["state"]["events"]}
        st["b"] = j["next_batch"]

    @case("without lazy loading every member is in the state")
    def _():
        j = sync(srv, tb, filt={"room": {"timeline": {"limit": 1}}})
        assert members(j["rooms"]["join"][rid]) == sorted([a, b, c, d])

    @case("incremental: a sender already introduced is not sent again; a new one is")
    def _():
        say(tc)
        j = sync(srv, tb, st["b"], filt=lazy)
        assert members(j["rooms"]["join"][rid]) == [], j["rooms"]["join"][rid]["state"]
        say(td)
        j = sync(srv, tb, j["next_batch"], filt=lazy)
        assert members(j["rooms"]["join"][rid]) == [d], j["rooms"]["join"][rid]["state"]
        st["b"] = j["next_batch"]

    @case("include_redundant_members sends them again")
    def _():
        say(tc)
        f = {"room": {"state": {"lazy_load_members": True, "include_redundant_members": True},
                      "timeline": {"limit": 1}}}
        j = sync(srv, tb, st["b"], filt=f)
        assert c in members(j["rooms"]["join"][rid]), j["rooms"]["join"][rid]["state"]

    @case("/messages with lazy_load_members: state holds the chunk's senders once per device")
    def _():
        q = lambda f: C + "/rooms/%s/messages?dir=b&limit=2&filter=%s" % (rid, urllib.parse.quote(json.dumps(f)))
        j = expect(srv.call("GET", q({"lazy_load_members": True}), None, tc), 200)
        senders = {e["sender"] for e in j["chunk"]}
        got = {e["state_key"] for e in j["state"]}
        assert senders <= got and got <= senders | {c}, (senders, got)
        j2 = expect(srv.call("GET", q({"lazy_load_members": True}), None, tc), 200)
        assert j2["state"] == [], j2["state"]
        j3 = expect(srv.call("GET", q({"lazy_load_members": True, "include_redundant_members": True}),
                             None, tc), 200)
        assert {e["state_key"] for e in j3["state"]} == got
        j4 = expect(srv.call("GET", C + "/rooms/%s/messages?dir=b&limit=2" % rid, None, tc), 200)
        assert j4["state"] == []

    @case("/context with lazy_load_members: member state only for the senders shown")
    def _():
        j = expect(srv.call("GET", C + "/rooms/%s/messages?dir=b&limit=1" % rid, None, tb), 200)
        eid = j["chunk"][0]["event_id"]
        f = urllib.parse.quote(json.dumps({"lazy_load_members": True, "include_redundant_members": True}))
        j = expect(srv.call("GET", C + "/rooms/%s/context/%s?limit=0&filter=%s" % (rid, eid, f), None, tb), 200)
        got = {e["state_key"] for e in j["state"] if e["type"] == "m.room.member"}
        assert got == {j["event"]["sender"], b}, got
        j = expect(srv.call("GET", C + "/rooms/%s/context/%s?limit=0" % (rid, eid), None, tb), 200)
        got = {e["state_key"] for e in j["state"] if e["type"] == "m.room.member"}
        assert got == {a, b, c, d}, got

    @case("a non-boolean lazy_load_members is a bad filter (400)")
    def _():
        expect(srv.call("GET", C + "/sync?timeout=0&filter=" + urllib.parse.quote(
            json.dumps({"room": {"state": {"lazy_load_members": "yes"}}})), None, tb), 400)
        expect(srv.call("GET", C + "/rooms/%s/messages?filter=%s" % (
            rid, urllib.parse.quote('{"lazy_load_members":1}')), None, tb), 400)


def main():
    def suites(srv, name):
        users = [srv.register(u) for u in ("alice", "bob", "carol", "dave")]
        knock_suite(srv, name, users[:3])
        upgrade_suite(srv, name, users[2:4])
        presence_suite(srv, name)
        lazy_suite(srv, name)
    run_on_backends(t, "rmore", suites)


if __name__ == "__main__":
    main()
