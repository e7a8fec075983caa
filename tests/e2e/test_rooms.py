#!/usr/bin/python3
"""End-to-end tests of scopd's room endpoints on SQLite and (with
SCOP_TEST_PG_DSN) PostgreSQL: raw HTTP for the spec's errors, and
matrix-nio (python3-matrix-nio) as a real client for rooms, messages,
pagination, state, power levels and redaction.  Prints TAP."""
import asyncio
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scoptest import Tap  # noqa: E402
from test_rooms_common import C, Server, expect, run_on_backends  # noqa: E402

t = Tap()
try:
    import nio
    from nio import responses as R
except ImportError:
    nio = None


def send_msg(srv, token, rid, body):
    s, j = srv.call("PUT", C + "/rooms/%s/send/m.room.message/%s" % (rid, body.replace(" ", "_")),
                    {"msgtype": "m.text", "body": body}, token)
    assert s == 200, (s, j)
    return j["event_id"]


def raw_suite(srv, tag):
    def case(desc):
        return t.case("%s: %s" % (tag, desc))

    a, ta = srv.register("alice")
    b, tb = srv.register("bob")
    c, tc = srv.register("carol")
    rid = expect(srv.call("POST", C + "/createRoom", {"name": "raw", "topic": "t"}, ta), 200)["room_id"]

    @case("createRoom makes a room whose state has name, topic, member and power levels")
    def _():
        st = expect(srv.call("GET", C + "/rooms/%s/state" % rid, None, ta), 200)
        types = {e["type"] for e in st}
        assert {"m.room.create", "m.room.member", "m.room.power_levels", "m.room.join_rules",
                "m.room.name", "m.room.topic"} <= types, types
        assert expect(srv.call("GET", C + "/rooms/%s/state/m.room.topic" % rid, None, ta), 200) == {"topic": "t"}
        assert rid in expect(srv.call("GET", C + "/joined_rooms", None, ta), 200)["joined_rooms"]

    @case("unknown room version: 400 M_UNSUPPORTED_ROOM_VERSION")
    def _():
        expect(srv.call("POST", C + "/createRoom", {"room_version": "99"}, ta), 400,
               "M_UNSUPPORTED_ROOM_VERSION")

    @case("room versions 10 and 11 can be created too")
    def _():
        for v in ("10", "11"):
            r = expect(srv.call("POST", C + "/createRoom", {"room_version": v}, ta), 200)["room_id"]
            ev = expect(srv.call("GET", C + "/rooms/%s/state/m.room.create/" % r, None, ta), 200)
            assert ev["room_version"] == v and ev.get("creator") == (a if v == "10" else None), ev

    @case("invalid power levels or initial state: 400, and no room is made")
    def _():
        before = expect(srv.call("GET", C + "/joined_rooms", None, ta), 200)["joined_rooms"]
        expect(srv.call("POST", C + "/createRoom",
                        {"power_level_content_override": {"ban": "lots"}}, ta), 400)
        expect(srv.call("POST", C + "/createRoom",
                        {"power_level_content_override": {"users": {b: "x"}}}, ta), 400)
        # refused by the auth rules half-way through: still no room
        expect(srv.call("POST", C + "/createRoom", {"initial_state": [
            {"type": "m.room.power_levels", "state_key": "", "content": {"users": {b: "x"}}}]}, ta), 400)
        expect(srv.call("POST", C + "/createRoom", {"initial_state": [
            {"type": "m.room.member", "state_key": b, "content": {"membership": "join"}}]}, ta), 400)
        after = expect(srv.call("GET", C + "/joined_rooms", None, ta), 200)["joined_rooms"]
        assert sorted(before) == sorted(after)

    @case("a non-member cannot send, read state or join an invite-only room (403)")
    def _():
        expect(srv.call("PUT", C + "/rooms/%s/send/m.room.message/x1" % rid,
                        {"msgtype": "m.text", "body": "hi"}, tb), 403, "M_FORBIDDEN")
        expect(srv.call("GET", C + "/rooms/%s/state" % rid, None, tb), 403, "M_FORBIDDEN")
        expect(srv.call("POST", C + "/rooms/%s/join" % rid, {}, tb), 403, "M_FORBIDDEN")

    @case("unknown room: 404 M_NOT_FOUND")
    def _():
        expect(srv.call("PUT", C + "/rooms/!nope:rooms.test/send/m.room.message/x",
                        {"body": "x"}, ta), 404, "M_NOT_FOUND")
        expect(srv.call("POST", C + "/join/!nope:rooms.test", {}, tb), 404, "M_NOT_FOUND")

    @case("send with a txn id is idempotent per device")
    def _():
        e1 = expect(srv.call("PUT", C + "/rooms/%s/send/m.room.message/same" % rid,
                             {"msgtype": "m.text", "body": "once"}, ta), 200)["event_id"]
        e2 = expect(srv.call("PUT", C + "/rooms/%s/send/m.room.message/same" % rid,
                             {"msgtype": "m.text", "body": "once"}, ta), 200)["event_id"]
        assert e1 == e2
        msgs = expect(srv.call("GET", C + "/rooms/%s/messages?dir=b&limit=5" % rid, None, ta), 200)
        assert [m["content"].get("body") for m in msgs["chunk"]].count("once") == 1
        assert msgs["chunk"][0]["unsigned"].get("transaction_id") == "same", msgs["chunk"][0]

    @case("an over-size event: 413 M_TOO_LARGE, nothing stored")
    def _():
        expect(srv.call("PUT", C + "/rooms/%s/send/m.room.message/big" % rid,
                        {"msgtype": "m.text", "body": "x" * 70000}, ta), 413, "M_TOO_LARGE")
        msgs = expect(srv.call("GET", C + "/rooms/%s/messages?dir=b&limit=1" % rid, None, ta), 200)
        assert msgs["chunk"][0]["content"].get("body") == "once"

    @case("a member event for another user's state_key is refused (403)")
    def _():
        expect(srv.call("PUT", C + "/rooms/%s/state/m.room.member/%s" % (rid, b),
                        {"membership": "join"}, ta), 403, "M_FORBIDDEN")

    @case("non-object body: 400 M_NOT_JSON / M_BAD_JSON")
    def _():
        s, j = srv.call("PUT", C + "/rooms/%s/send/m.room.message/nj" % rid, raw=b"[1]", token=ta)
        assert s == 400 and j["errcode"] in ("M_NOT_JSON", "M_BAD_JSON"), (s, j)

    @case("invite, join, members filters, joined_members")
    def _():
        expect(srv.call("POST", C + "/rooms/%s/invite" % rid, {"user_id": b}, ta), 200)
        m = expect(srv.call("GET", C + "/rooms/%s/members?membership=invite" % rid, None, ta), 200)
        assert [e["state_key"] for e in m["chunk"]] == [b], m
        expect(srv.call("POST", C + "/join/" + rid, {}, tb), 200)
        m = expect(srv.call("GET", C + "/rooms/%s/members?not_membership=leave" % rid, None, tb), 200)
        assert sorted(e["state_key"] for e in m["chunk"]) == sorted([a, b])
        j = expect(srv.call("GET", C + "/rooms/%s/joined_members" % rid, None, tb), 200)
        assert set(j["joined"]) == {a, b}

    @case("power levels: bob (0) cannot set the name, kick or ban (403)")
    def _():
        expect(srv.call("PUT", C + "/rooms/%s/state/m.room.name/" % rid, {"name": "x"}, tb), 403, "M_FORBIDDEN")
        expect(srv.call("POST", C + "/rooms/%s/kick" % rid, {"user_id": a}, tb), 403, "M_FORBIDDEN")
        expect(srv.call("POST", C + "/rooms/%s/ban" % rid, {"user_id": a}, tb), 403, "M_FORBIDDEN")

    @case("redaction: bob may not redact alice's event; alice may; content goes")
    def _():
        eid = expect(srv.call("PUT", C + "/rooms/%s/send/m.room.message/r1" % rid,
                              {"msgtype": "m.text", "body": "secret"}, ta), 200)["event_id"]
        expect(srv.call("PUT", C + "/rooms/%s/redact/%s/rb" % (rid, eid), {}, tb), 403, "M_FORBIDDEN")
        expect(srv.call("PUT", C + "/rooms/%s/redact/%s/ra" % (rid, eid), {"reason": "oops"}, ta), 200)
        ev = expect(srv.call("GET", C + "/rooms/%s/event/%s" % (rid, eid), None, tb), 200)
        assert ev["content"] == {} and ev["unsigned"]["redacted_because"]["sender"] == a, ev
        expect(srv.call("PUT", C + "/rooms/%s/redact/$nope/rc" % rid, {}, ta), 404, "M_NOT_FOUND")

    @case("kick, ban, unban, leave, forget")
    def _():
        expect(srv.call("POST", C + "/rooms/%s/kick" % rid, {"user_id": b, "reason": "r"}, ta), 200)
        expect(srv.call("PUT", C + "/rooms/%s/send/m.room.message/k1" % rid, {"body": "x"}, tb), 403)
        expect(srv.call("POST", C + "/rooms/%s/ban" % rid, {"user_id": b}, ta), 200)
        expect(srv.call("POST", C + "/rooms/%s/invite" % rid, {"user_id": b}, ta), 403)
        expect(srv.call("POST", C + "/rooms/%s/unban" % rid, {"user_id": c}, ta), 403)
        expect(srv.call("POST", C + "/rooms/%s/unban" % rid, {"user_id": b}, ta), 200)
        expect(srv.call("POST", C + "/rooms/%s/invite" % rid, {"user_id": b}, ta), 200)
        expect(srv.call("POST", C + "/rooms/%s/join" % rid, {}, tb), 200)
        expect(srv.call("POST", C + "/rooms/%s/forget" % rid, {}, tb), 400)
        expect(srv.call("POST", C + "/rooms/%s/leave" % rid, {}, tb), 200)
        late = send_msg(srv, ta, rid, "after bob left")
        m = expect(srv.call("GET", C + "/rooms/%s/messages?dir=b&limit=5" % rid, None, tb), 200)
        assert m["chunk"][0]["type"] == "m.room.member" and m["chunk"][0]["state_key"] == b, m["chunk"][0]
        assert all(e["content"].get("body") != "after bob left" for e in m["chunk"])
        expect(srv.call("GET", C + "/rooms/%s/event/%s" % (rid, late), None, tb), 404, "M_NOT_FOUND")
        expect(srv.call("POST", C + "/rooms/%s/forget" % rid, {}, tb), 200)
        assert rid not in expect(srv.call("GET", C + "/joined_rooms", None, tb), 200)["joined_rooms"]

    @case("public_chat: anyone may join")
    def _():
        pub = expect(srv.call("POST", C + "/createRoom", {"preset": "public_chat"}, ta), 200)["room_id"]
        expect(srv.call("POST", C + "/join/" + pub, {}, tc), 200)
        expect(srv.call("PUT", C + "/rooms/%s/send/m.room.message/p" % pub, {"body": "x"}, tc), 200)

    @case("/context: events around an event, the state at it, and tokens that /messages continues")
    def _():
        ids = [send_msg(srv, ta, rid, "ctx%d" % i) for i in range(7)]
        c = expect(srv.call("GET", C + "/rooms/%s/context/%s?limit=4" % (rid, ids[3]), None, ta), 200)
        assert c["event"]["event_id"] == ids[3]
        assert [e["content"]["body"] for e in c["events_before"]] == ["ctx2", "ctx1"], c["events_before"]
        assert [e["content"]["body"] for e in c["events_after"]] == ["ctx4", "ctx5"], c["events_after"]
        assert any(e["type"] == "m.room.create" for e in c["state"])
        m = expect(srv.call("GET", C + "/rooms/%s/messages?dir=b&limit=1&from=%s" % (rid, c["start"]), None, ta), 200)
        assert m["chunk"][0]["content"]["body"] == "ctx0", m
        m = expect(srv.call("GET", C + "/rooms/%s/messages?dir=f&limit=1&from=%s" % (rid, c["end"]), None, ta), 200)
        assert m["chunk"][0]["content"]["body"] == "ctx6", m
        expect(srv.call("GET", C + "/rooms/%s/context/$nope" % rid, None, ta), 404, "M_NOT_FOUND")

    @case("history visibility joined/invited: a newcomer sees from their join (or invite) on")
    def _():
        for hv, first in (("joined", "join"), ("invited", "invite")):
            r2 = expect(srv.call("POST", C + "/createRoom", {"initial_state": [
                {"type": "m.room.history_visibility", "content": {"history_visibility": hv}}]}, ta),
                200)["room_id"]
            early = send_msg(srv, ta, r2, "before %s" % hv)
            expect(srv.call("POST", C + "/rooms/%s/invite" % r2, {"user_id": c}, ta), 200)
            send_msg(srv, ta, r2, "between %s" % hv)
            expect(srv.call("POST", C + "/join/" + r2, {}, tc), 200)
            send_msg(srv, ta, r2, "after %s" % hv)
            m = expect(srv.call("GET", C + "/rooms/%s/messages?dir=b&limit=50" % r2, None, tc), 200)
            got = [e["content"].get("body") or e["content"].get("membership") for e in m["chunk"]
                   if e["type"] == "m.room.message" or e.get("state_key") == c]
            # (their own invite is always theirs to see)
            want = ["after %s" % hv, "join"] + (["between %s" % hv] if hv == "invited" else []) + ["invite"]
            assert got == want, (hv, got)
            expect(srv.call("GET", C + "/rooms/%s/event/%s" % (r2, early), None, tc), 404, "M_NOT_FOUND")
            s2, j = srv.call("GET", C + "/sync", None, tc)
            bodies = [e["content"].get("body") for e in j["rooms"]["join"][r2]["timeline"]["events"]]
            assert "before %s" % hv not in bodies and "after %s" % hv in bodies, bodies
            # the creator still sees everything
            m = expect(srv.call("GET", C + "/rooms/%s/messages?dir=b&limit=50" % r2, None, ta), 200)
            assert "before %s" % hv in [e["content"].get("body") for e in m["chunk"]]

    @case("/messages: filter types/not_types, bad tokens and dir")
    def _():
        m = expect(srv.call("GET", C + "/rooms/%s/messages?dir=b&limit=50&filter=%s"
                            % (rid, '{"types":["m.room.member"]}'), None, ta), 200)
        assert m["chunk"] and all(e["type"] == "m.room.member" for e in m["chunk"])
        m = expect(srv.call("GET", C + "/rooms/%s/messages?dir=b&limit=50&filter=%s"
                            % (rid, '{"not_types":["m.room.member"]}'), None, ta), 200)
        assert all(e["type"] != "m.room.member" for e in m["chunk"])
        expect(srv.call("GET", C + "/rooms/%s/messages?dir=x" % rid, None, ta), 400, "M_INVALID_PARAM")
        expect(srv.call("GET", C + "/rooms/%s/messages?from=zz" % rid, None, ta), 400, "M_INVALID_PARAM")

    @case("?limit= on /messages and /context: integers >= 0 only; 0 is empty, huge is capped")
    def _():
        ids = [send_msg(srv, ta, rid, "lim%d" % i) for i in range(3)]
        for path in ("/rooms/%s/messages?dir=b&" % rid, "/rooms/%s/context/%s?" % (rid, ids[1])):
            for bad in ("", "-1", "-20", "abc", "5x", "1.5", "+3", "%zz", "%205"):
                expect(srv.call("GET", C + path + "limit=" + bad, None, ta), 400, "M_INVALID_PARAM")
        m = expect(srv.call("GET", C + "/rooms/%s/messages?dir=b&limit=0" % rid, None, ta), 200)
        assert m["chunk"] == [] and m["end"] == m["start"], m
        m2 = expect(srv.call("GET", C + "/rooms/%s/messages?dir=b&limit=1&from=%s" % (rid, m["end"]),
                             None, ta), 200)
        assert m2["chunk"][0]["event_id"] == ids[-1], m2
        m = expect(srv.call("GET", C + "/rooms/%s/messages?dir=b&limit=99999999999999999999999" % rid,
                            None, ta), 200)
        assert len(m["chunk"]) > 10 and "end" not in m, m
        m = expect(srv.call("GET", C + "/rooms/%s/messages?dir=b" % rid, None, ta), 200)
        assert len(m["chunk"]) == 10, len(m["chunk"])   # the default
        c = expect(srv.call("GET", C + "/rooms/%s/context/%s?limit=0" % (rid, ids[1]), None, ta), 200)
        assert c["event"]["event_id"] == ids[1] and c["events_before"] == [] == c["events_after"], c
        c = expect(srv.call("GET", C + "/rooms/%s/context/%s?limit=99999999999999999999" % (rid, ids[1]),
                            None, ta), 200)
        assert [e["event_id"] for e in c["events_after"]] == [ids[2]], c["events_after"]
        assert len(c["events_before"]) > 5, c["events_before"]

    @case("profile: set displayname and avatar, seen in GET /profile and in member events")
    def _():
        expect(srv.call("PUT", C + "/profile/%s/displayname" % a, {"displayname": "Alice A"}, ta), 200)
        expect(srv.call("PUT", C + "/profile/%s/avatar_url" % a, {"avatar_url": "mxc://x/y"}, ta), 200)
        expect(srv.call("PUT", C + "/profile/%s/displayname" % a, {"displayname": "B"}, tb), 403, "M_FORBIDDEN")
        assert expect(srv.call("GET", C + "/profile/%s" % a), 200) == {"displayname": "Alice A",
                                                                      "avatar_url": "mxc://x/y"}
        assert expect(srv.call("GET", C + "/profile/%s/displayname" % a), 200) == {"displayname": "Alice A"}
        expect(srv.call("GET", C + "/profile/@nobody:rooms.test"), 404, "M_NOT_FOUND")
        m = expect(srv.call("GET", C + "/rooms/%s/state/m.room.member/%s" % (rid, a), None, ta), 200)
        assert m["displayname"] == "Alice A" and m["avatar_url"] == "mxc://x/y", m
        j = expect(srv.call("GET", C + "/rooms/%s/joined_members" % rid, None, ta), 200)
        assert j["joined"][a]["display_name"] == "Alice A", j

    @case("aliases and the public directory: createRoom with an alias, join by alias, publicRooms")
    def _():
        r2 = expect(srv.call("POST", C + "/createRoom", {"preset": "public_chat", "visibility": "public",
                                                        "room_alias_name": "lobby", "name": "Lobby"}, ta), 200)["room_id"]
        expect(srv.call("POST", C + "/createRoom", {"room_alias_name": "lobby"}, ta), 400, "M_ROOM_IN_USE")
        got = expect(srv.call("GET", C + "/directory/room/%23lobby:rooms.test"), 200)
        assert got["room_id"] == r2, got
        assert expect(srv.call("POST", C + "/join/%23lobby:rooms.test", {}, tc), 200)["room_id"] == r2
        pub = expect(srv.call("GET", C + "/publicRooms"), 200)
        entry = [e for e in pub["chunk"] if e["room_id"] == r2]
        assert entry and entry[0]["name"] == "Lobby" and entry[0]["num_joined_members"] == 2, pub
        assert expect(srv.call("GET", C + "/directory/list/room/" + r2), 200) == {"visibility": "public"}
        expect(srv.call("PUT", C + "/directory/list/room/" + r2, {"visibility": "private"}, tc), 403)
        expect(srv.call("PUT", C + "/directory/room/%23other:rooms.test", {"room_id": r2}, tc), 200)
        expect(srv.call("PUT", C + "/directory/room/%23other:rooms.test", {"room_id": r2}, ta), 409)
        al = expect(srv.call("GET", C + "/rooms/%s/aliases" % r2, None, ta), 200)["aliases"]
        assert sorted(al) == ["#lobby:rooms.test", "#other:rooms.test"], al
        expect(srv.call("DELETE", C + "/directory/room/%23lobby:rooms.test", None, tc), 403)
        expect(srv.call("DELETE", C + "/directory/room/%23lobby:rooms.test", None, ta), 200)
        expect(srv.call("GET", C + "/directory/room/%23lobby:rooms.test"), 404, "M_NOT_FOUND")
        expect(srv.call("POST", C + "/join/%23nowhere:rooms.test", {}, tc), 404, "M_NOT_FOUND")
        expect(srv.call("PUT", C + "/directory/room/%23x:elsewhere", {"room_id": r2}, ta), 400)

    @case("filters: POST then GET; another user's filters are refused")
    def _():
        f = {"room": {"timeline": {"limit": 3}}}
        fid = expect(srv.call("POST", C + "/user/%s/filter" % a, f, ta), 200)["filter_id"]
        assert expect(srv.call("GET", C + "/user/%s/filter/%s" % (a, fid), None, ta), 200) == f
        expect(srv.call("GET", C + "/user/%s/filter/%s" % (a, fid), None, tb), 403)
        expect(srv.call("GET", C + "/user/%s/filter/99" % a, None, ta), 404, "M_NOT_FOUND")


async def nio_scenario(url, store_dir, tag):
    u1 = nio.AsyncClient(url, "", store_path=store_dir)
    u2 = nio.AsyncClient(url, "", store_path=store_dir)
    try:
        r = await u1.register("nio1" + tag, "pw one pass", "d1")
        t.ok(isinstance(r, R.RegisterResponse), "%s: nio register user 1" % tag, r)
        r = await u2.register("nio2" + tag, "pw two pass", "d2")
        t.ok(isinstance(r, R.RegisterResponse), "%s: nio register user 2" % tag, r)
        r = await u1.room_create(name="nio room", topic="about", invite=[u2.user_id])
        t.ok(isinstance(r, R.RoomCreateResponse), "%s: nio room_create" % tag, r)
        rid = r.room_id
        r = await u2.join(rid)
        t.ok(isinstance(r, R.JoinResponse), "%s: nio join" % tag, r)
        r = await u1.sync(timeout=0)
        t.ok(isinstance(r, R.SyncResponse) and rid in u1.rooms, "%s: nio initial sync" % tag, r)
        r = await u1.room_send(rid, "m.room.message", {"msgtype": "m.text", "body": "hello"})
        t.ok(isinstance(r, R.RoomSendResponse), "%s: nio room_send" % tag, r)
        r = await u2.sync(timeout=0, full_state=True)
        ok = isinstance(r, R.SyncResponse) and rid in r.rooms.join and any(
            getattr(e, "body", None) == "hello" for e in r.rooms.join[rid].timeline.events)
        t.ok(ok, "%s: nio sync shows the room and the message" % tag, r)
        room = u2.rooms.get(rid)
        t.ok(room is not None and room.name == "nio room" and room.topic == "about"
             and u1.user_id in room.users, "%s: nio's room model has name, topic and members" % tag,
             room and (room.name, room.topic, list(room.users)))
        # a few hundred messages, then page back through them all
        for i in range(250):
            r = await u1.room_send(rid, "m.room.message", {"msgtype": "m.text", "body": "m%d" % i})
            if not isinstance(r, R.RoomSendResponse):
                break
        t.ok(isinstance(r, R.RoomSendResponse), "%s: 250 sends" % tag, r)
        seen, token = [], None
        r = await u2.sync(timeout=0)
        token = r.rooms.join[rid].timeline.prev_batch
        seen = [e.body for e in r.rooms.join[rid].timeline.events if hasattr(e, "body")]
        for _ in range(100):
            r = await u2.room_messages(rid, token, limit=37)
            if not isinstance(r, R.RoomMessagesResponse) or not r.chunk:
                break
            seen = [e.body for e in reversed(r.chunk) if hasattr(e, "body")] + seen
            if not r.end:
                break
            token = r.end
        want = ["hello"] + ["m%d" % i for i in range(250)]
        t.ok(seen == want, "%s: nio room_messages pages back through every message in order" % tag,
             (len(seen), seen[:3], seen[-3:]))
        r = await u2.room_messages(rid, "s0", direction=nio.MessageDirection.front, limit=1000)
        fwd = [e.body for e in r.chunk if hasattr(e, "body")] if isinstance(r, R.RoomMessagesResponse) else r
        t.ok(fwd == want, "%s: room_messages forwards from the start" % tag, fwd if not isinstance(fwd, list) else len(fwd))
        r = await u1.room_get_state(rid)
        t.ok(isinstance(r, R.RoomGetStateResponse) and any(e["type"] == "m.room.name" for e in r.events),
             "%s: nio room_get_state" % tag, r)
        r = await u2.room_put_state(rid, "m.room.topic", {"topic": "mine"})
        t.ok(isinstance(r, R.RoomPutStateError) and r.status_code == "M_FORBIDDEN",
             "%s: nio room_put_state without power: M_FORBIDDEN" % tag, r)
        r = await u1.room_put_state(rid, "m.room.topic", {"topic": "new"})
        t.ok(isinstance(r, R.RoomPutStateResponse), "%s: nio room_put_state" % tag, r)
        r = await u2.room_get_state_event(rid, "m.room.topic")
        t.ok(isinstance(r, R.RoomGetStateEventResponse) and r.content == {"topic": "new"},
             "%s: nio room_get_state_event" % tag, r)
        r = await u1.joined_members(rid)
        t.ok(isinstance(r, R.JoinedMembersResponse) and {m.user_id for m in r.members} ==
             {u1.user_id, u2.user_id}, "%s: nio joined_members" % tag, r)
        r = await u2.room_leave(rid)
        t.ok(isinstance(r, R.RoomLeaveResponse), "%s: nio room_leave" % tag, r)
        r = await u2.joined_rooms()
        t.ok(isinstance(r, R.JoinedRoomsResponse) and rid not in r.rooms, "%s: nio joined_rooms" % tag, r)
    finally:
        await u1.close()
        await u2.close()


def crash_suite(tmp, name, db):
    """SIGKILL scopd while a client sends: every acknowledged event is there
    after a restart, and the room (loaded again from the store) goes on."""
    import signal
    import threading
    srv = Server(tmp, name + "-crash", db)
    a, ta = srv.register("crasher")
    rid = expect(srv.call("POST", C + "/createRoom", {"name": "crash"}, ta), 200)["room_id"]
    acked = []

    def sender():
        for i in range(100000):
            try:
                s, j = srv.call("PUT", C + "/rooms/%s/send/m.room.message/c%d" % (rid, i),
                                {"msgtype": "m.text", "body": "c%d" % i}, ta, timeout=5)
            except Exception:
                return
            if s != 200:
                return
            acked.append(j["event_id"])
    th = threading.Thread(target=sender)
    th.start()
    time.sleep(1.5)
    srv.proc.p.send_signal(signal.SIGKILL)
    th.join(30)
    srv.proc.stop()
    os.rename(srv.dir, srv.dir + ".1")
    srv2 = Server(tmp, name + "-crash", db.replace(srv.dir, srv.dir + ".1"))
    try:
        @t.case("%s: after SIGKILL every acknowledged send (%d) is stored, and the room goes on" % (name, len(acked)))
        def _():
            assert acked, "nothing was acknowledged before the kill"
            tok = ta  # tokens are stored: the old one still works
            for eid in acked[-20:] + acked[:5]:
                expect(srv2.call("GET", C + "/rooms/%s/event/%s" % (rid, eid), None, tok), 200)
            bodies, frm = set(), ""
            while True:
                m = expect(srv2.call("GET", C + "/rooms/%s/messages?dir=b&limit=1000%s" % (rid, frm),
                                     None, tok), 200)
                bodies |= {e["content"].get("body") for e in m["chunk"]}
                if "end" not in m:
                    break
                frm = "&from=" + m["end"]
            assert {"c%d" % i for i in range(len(acked))} <= bodies
            expect(srv2.call("PUT", C + "/rooms/%s/send/m.room.message/after" % rid,
                             {"msgtype": "m.text", "body": "after"}, tok), 200)
            st = expect(srv2.call("GET", C + "/rooms/%s/state/m.room.name/" % rid, None, tok), 200)
            assert st == {"name": "crash"}
    finally:
        rc = srv2.stop()
    t.ok(rc == 0, "%s: restarted scopd stops cleanly" % name, srv2.log()[-3000:])


def stored_pdus(db, ids):
    """{event_id: (stream_pos, PDU)} read straight from scopd's database
    (the client API hides prev_events)."""
    import re
    sql = "SELECT event_id, stream_pos, event_json FROM events WHERE event_id IN (%s)"
    if "sqlite3" in db:
        import sqlite3
        path = json.loads(re.search(r"database: (\".*?\")", db).group(1))
        con = sqlite3.connect(path)
        try:
            rows = con.execute(sql % ",".join("?" * len(ids)), ids).fetchall()
        finally:
            con.close()
    else:
        import psycopg2
        dsn = json.loads(re.search(r"dsn: (\".*?\")", db).group(1))
        name = re.search(r"database: (\w+)", db).group(1)
        con = psycopg2.connect(dsn + " dbname=" + name)
        try:
            cur = con.cursor()
            cur.execute(sql % ",".join(["%s"] * len(ids)), ids)
            rows = cur.fetchall()
        finally:
            con.close()
    return {r[0]: (r[1], json.loads(r[2])) for r in rows}


def concurrent_suite(srv, tag, db):
    """Sends to one room that overlap (scopd pipelines them: each is built
    on the one before while that one still commits)."""
    import threading
    a, ta = srv.register("racer")
    rid = expect(srv.call("POST", C + "/createRoom", {"name": "race"}, ta), 200)["room_id"]
    since = expect(srv.call("GET", C + "/sync", None, ta), 200)["next_batch"]
    n = 32
    got = [None] * n
    go = threading.Barrier(n)

    def sender(i):
        go.wait()
        got[i] = srv.call("PUT", C + "/rooms/%s/send/m.room.message/race%d" % (rid, i),
                          {"msgtype": "m.text", "body": "race %d" % i}, ta)

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()

    @t.case("%s: %d concurrent sends to one room all succeed, each with its own event" % (tag, n))
    def _():
        assert all(g is not None and g[0] == 200 for g in got), got
        assert len({g[1]["event_id"] for g in got}) == n, got

    @t.case("%s: /messages has every one of them, in a linear DAG (each cites the one before)" % tag)
    def _():
        m = expect(srv.call("GET", C + "/rooms/%s/messages?dir=b&limit=100" % rid, None, ta), 200)
        chain = [e["event_id"] for e in reversed(m["chunk"])]
        assert set(g[1]["event_id"] for g in got) <= set(chain), chain
        pdus = stored_pdus(db, chain)
        for prev, cur in zip(chain, chain[1:]):
            assert pdus[cur][1]["prev_events"] == [prev], (cur, pdus[cur][1]["prev_events"], prev)
            assert pdus[cur][1]["depth"] == pdus[prev][1]["depth"] + 1
            # commit order is DAG order: stream positions rise along it
            assert pdus[cur][0] > pdus[prev][0], (pdus[prev][0], pdus[cur][0])

    @t.case("%s: an incremental /sync gives them in the same order, its positions rising" % tag)
    def _():
        j = expect(srv.call("GET", C + "/sync?since=%s&filter=%s" % (
            since, '{"room":{"timeline":{"limit":100}}}'), None, ta), 200)
        tl = [e["event_id"] for e in j["rooms"]["join"][rid]["timeline"]["events"]]
        m = expect(srv.call("GET", C + "/rooms/%s/messages?dir=b&limit=%d" % (rid, n), None, ta), 200)
        assert tl == [e["event_id"] for e in reversed(m["chunk"])], tl
        assert int(j["next_batch"][1:].split("_")[0]) > int(since[1:].split("_")[0]), (since, j["next_batch"])
        # the same txn ids again: the first events' IDs, nothing new
        again = srv.call("PUT", C + "/rooms/%s/send/m.room.message/race7" % rid,
                         {"msgtype": "m.text", "body": "race 7"}, ta)
        assert again == (200, got[7][1]), (again, got[7])


def main():
    def suites(srv, name):
        raw_suite(srv, name)
        concurrent_suite(srv, name, srv.db)
        if not nio:
            print("# python3-matrix-nio missing: nio part skipped")
            return
        store = srv.dir + "-nio"
        os.makedirs(store)
        try:
            asyncio.run(nio_scenario(srv.url, store, name))
        except Exception as e:  # a client crash is a failure too
            t.ok(False, "%s: nio scenario ran" % name, repr(e))
    run_on_backends(t, "rooms", suites, after=crash_suite)


if __name__ == "__main__":
    main()
