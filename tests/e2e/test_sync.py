#!/usr/bin/python3
"""End-to-end tests of scopd's /sync on SQLite and (with SCOP_TEST_PG_DSN)
PostgreSQL: initial and incremental syncs, long-polls woken by another
user's message, timeouts, filters and limited timelines, invite/join/
leave/kick/ban as the other user sees them, shutdown with parked
long-polls, and matrix-nio's sync.  Prints TAP."""
import asyncio
import json
import os
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scoptest import Tap  # noqa: E402
from test_rooms_common import C, expect, run_on_backends  # noqa: E402

t = Tap()
try:
    import nio
    from nio import responses as R
except ImportError:
    nio = None


def sync(srv, token, since=None, timeout=None, filt=None, full_state=False, http_timeout=60):
    q = {}
    if since:
        q["since"] = since
    if timeout is not None:
        q["timeout"] = str(timeout)
    if filt is not None:
        q["filter"] = filt if isinstance(filt, str) else json.dumps(filt)
    if full_state:
        q["full_state"] = "true"
    return expect(srv.call("GET", C + "/sync?" + urllib.parse.urlencode(q), None, token,
                           timeout=http_timeout), 200)


def send(srv, token, rid, body, txn=None):
    txn = txn or "t%f" % time.time()
    return expect(srv.call("PUT", C + "/rooms/%s/send/m.room.message/%s" % (rid, txn),
                           {"msgtype": "m.text", "body": body}, token), 200)["event_id"]


def bodies(room):
    return [e["content"].get("body") for e in room["timeline"]["events"] if e["type"] == "m.room.message"]


def raw_suite(srv, tag):
    def case(desc):
        return t.case("%s: %s" % (tag, desc))

    a, ta = srv.register("alice")
    b, tb = srv.register("bob")
    st = {}

    @case("initial sync of a new user: every section present and empty")
    def _():
        s = sync(srv, tb)
        for k in ("presence", "to_device"):
            assert s[k] == {"events": []}, (k, s[k])
        # only the default push rules, which clients expect in account data
        assert [e["type"] for e in s["account_data"]["events"]] == ["m.push_rules"], s["account_data"]
        assert s["device_lists"] == {"changed": [], "left": []}
        assert s["device_one_time_keys_count"] == {}
        assert s["rooms"] == {"join": {}, "invite": {}, "leave": {}, "knock": {}}, s["rooms"]
        assert s["next_batch"]
        st["b"] = s["next_batch"]

    rid = expect(srv.call("POST", C + "/createRoom", {"name": "sync room"}, ta), 200)["room_id"]
    st["a"] = sync(srv, ta)["next_batch"]

    @case("an invite shows in the invitee's sync with stripped state")
    def _():
        expect(srv.call("POST", C + "/rooms/%s/invite" % rid, {"user_id": b}, ta), 200)
        s = sync(srv, tb, since=st["b"], timeout=10000)
        inv = s["rooms"]["invite"][rid]["invite_state"]["events"]
        types = {e["type"] for e in inv}
        assert {"m.room.create", "m.room.name", "m.room.member", "m.room.join_rules"} <= types, types
        assert all(set(e) == {"type", "state_key", "content", "sender"} for e in inv)
        st["b"] = s["next_batch"]

    @case("after joining, the room is in join with its state and timeline")
    def _():
        expect(srv.call("POST", C + "/join/" + rid, {}, tb), 200)
        s = sync(srv, tb, since=st["b"])
        room = s["rooms"]["join"][rid]
        types = {e["type"] for e in room["state"]["events"]} | {e["type"] for e in room["timeline"]["events"]}
        assert {"m.room.create", "m.room.power_levels", "m.room.name"} <= types, types
        assert rid not in s["rooms"]["invite"]
        assert room["summary"] == {"m.joined_member_count": 2, "m.invited_member_count": 0,
                                   "m.heroes": [a]}, room["summary"]
        st["b"] = s["next_batch"]

    @case("incremental sync with nothing new and timeout 0 returns at once, empty")
    def _():
        s = sync(srv, tb, since=st["b"], timeout=0)
        assert s["rooms"]["join"] == {} and s["next_batch"] == st["b"], s

    @case("a long-poll with nothing new returns after its timeout with the same token")
    def _():
        t0 = time.monotonic()
        s = sync(srv, tb, since=st["b"], timeout=700)
        assert time.monotonic() - t0 >= 0.6
        assert s["rooms"]["join"] == {} and s["next_batch"] == st["b"], s

    @case("a long-poll (timeout 30000) wakes when the other user sends")
    def _():
        out = {}

        def poll():
            t0 = time.monotonic()
            out["s"] = sync(srv, tb, since=st["b"], timeout=30000)
            out["dt"] = time.monotonic() - t0
        th = threading.Thread(target=poll)
        th.start()
        time.sleep(0.5)
        send(srv, ta, rid, "wake up")
        th.join(40)
        assert "s" in out, "the long-poll did not return"
        assert out["dt"] < 10, out["dt"]
        assert bodies(out["s"]["rooms"]["join"][rid]) == ["wake up"], out["s"]
        st["b"] = out["s"]["next_batch"]

    @case("typing wakes the other member's long-poll with an m.typing ephemeral event")
    def _():
        out = {}

        def poll():
            out["s"] = sync(srv, tb, since=st["b"], timeout=30000)
        th = threading.Thread(target=poll)
        th.start()
        time.sleep(0.3)
        expect(srv.call("PUT", C + "/rooms/%s/typing/%s" % (rid, a), {"typing": True, "timeout": 20000}, ta), 200)
        th.join(40)
        eph = out["s"]["rooms"]["join"][rid]["ephemeral"]["events"]
        assert {"type": "m.typing", "content": {"user_ids": [a]}} in eph, eph
        st["b"] = out["s"]["next_batch"]
        expect(srv.call("PUT", C + "/rooms/%s/typing/%s" % (rid, a), {"typing": False}, ta), 200)
        s = sync(srv, tb, since=st["b"], timeout=5000)
        assert {"type": "m.typing", "content": {"user_ids": []}} in s["rooms"]["join"][rid]["ephemeral"]["events"]
        st["b"] = s["next_batch"]
        expect(srv.call("PUT", C + "/rooms/%s/typing/%s" % (rid, b), {"typing": True}, ta), 403)
        # a typing notice that times out is withdrawn by the server
        expect(srv.call("PUT", C + "/rooms/%s/typing/%s" % (rid, a), {"typing": True, "timeout": 1000}, ta), 200)
        s = sync(srv, tb, since=st["b"], timeout=5000)
        assert {"type": "m.typing", "content": {"user_ids": [a]}} in s["rooms"]["join"][rid]["ephemeral"]["events"]
        s = sync(srv, tb, since=s["next_batch"], timeout=10000)
        assert {"type": "m.typing", "content": {"user_ids": []}} in s["rooms"]["join"][rid]["ephemeral"]["events"], s
        st["b"] = s["next_batch"]

    @case("receipts: m.read reaches the other member, m.read.private only its owner")
    def _():
        eid = send(srv, ta, rid, "read me")
        s = sync(srv, tb, since=st["b"])
        st["b"] = s["next_batch"]
        expect(srv.call("POST", C + "/rooms/%s/receipt/m.read/%s" % (rid, eid), {}, tb), 200)
        expect(srv.call("POST", C + "/rooms/%s/read_markers" % rid,
                        {"m.fully_read": eid, "m.read.private": eid}, ta), 200)
        expect(srv.call("POST", C + "/rooms/%s/receipt/m.read/$nope" % rid, {}, tb), 404)
        s = sync(srv, ta, since=st["a"], timeout=5000)
        room = s["rooms"]["join"][rid]
        rec = [e for e in room["ephemeral"]["events"] if e["type"] == "m.receipt"][0]["content"]
        assert b in rec[eid]["m.read"] and a in rec[eid]["m.read.private"], rec
        assert {"type": "m.fully_read", "content": {"event_id": eid}} in room["account_data"]["events"]
        st["a"] = s["next_batch"]
        s = sync(srv, tb, since=st["b"], timeout=5000)
        rec = [e for e in s["rooms"]["join"][rid]["ephemeral"]["events"] if e["type"] == "m.receipt"]
        assert rec and "m.read.private" not in json.dumps(rec), rec
        st["b"] = s["next_batch"]

    @case("account data: global and per room, in sync and by GET; tags")
    def _():
        expect(srv.call("PUT", C + "/user/%s/account_data/org.example.x" % b, {"k": 1}, tb), 200)
        expect(srv.call("PUT", C + "/user/%s/account_data/org.example.x" % a, {"k": 1}, tb), 403)
        expect(srv.call("PUT", C + "/user/%s/rooms/%s/tags/u.work" % (b, rid), {"order": 0.5}, tb), 200)
        s = sync(srv, tb, since=st["b"], timeout=5000)
        assert {"type": "org.example.x", "content": {"k": 1}} in s["account_data"]["events"], s["account_data"]
        rad = s["rooms"]["join"][rid]["account_data"]["events"]
        assert {"type": "m.tag", "content": {"tags": {"u.work": {"order": 0.5}}}} in rad, rad
        assert expect(srv.call("GET", C + "/user/%s/account_data/org.example.x" % b, None, tb), 200) == {"k": 1}
        assert expect(srv.call("GET", C + "/user/%s/rooms/%s/tags" % (b, rid), None, tb), 200) == \
            {"tags": {"u.work": {"order": 0.5}}}
        expect(srv.call("DELETE", C + "/user/%s/rooms/%s/tags/u.work" % (b, rid), None, tb), 200)
        assert expect(srv.call("GET", C + "/user/%s/rooms/%s/tags" % (b, rid), None, tb), 200) == {"tags": {}}
        expect(srv.call("GET", C + "/user/%s/account_data/none" % b, None, tb), 404, "M_NOT_FOUND")
        st["b"] = sync(srv, tb, since=s["next_batch"])["next_batch"]

    @case("timeline limit by inline filter: limited, with a prev_batch that /messages continues from")
    def _():
        expect(srv.call("PUT", C + "/rooms/%s/state/m.room.topic/" % rid, {"topic": "in the gap"}, ta), 200)
        for i in range(5):
            send(srv, ta, rid, "n%d" % i)
        s = sync(srv, tb, since=st["b"], filt={"room": {"timeline": {"limit": 2}}})
        room = s["rooms"]["join"][rid]
        assert bodies(room) == ["n3", "n4"] and room["timeline"]["limited"] is True, room
        # the state that changed in the gap, and nothing else
        assert [(e["type"], e["content"]) for e in room["state"]["events"]] == \
            [("m.room.topic", {"topic": "in the gap"})], room["state"]
        m = expect(srv.call("GET", C + "/rooms/%s/messages?dir=b&limit=3&from=%s"
                            % (rid, room["timeline"]["prev_batch"]), None, tb), 200)
        assert [e["content"]["body"] for e in m["chunk"]] == ["n2", "n1", "n0"], m
        st["b"] = s["next_batch"]

    @case("timeline limit by a stored filter id")
    def _():
        fid = expect(srv.call("POST", C + "/user/%s/filter" % b,
                              {"room": {"timeline": {"limit": 1}}}, tb), 200)["filter_id"]
        send(srv, ta, rid, "x1")
        send(srv, ta, rid, "x2")
        s = sync(srv, tb, since=st["b"], filt=fid)
        assert bodies(s["rooms"]["join"][rid]) == ["x2"], s
        st["b"] = s["next_batch"]
        expect(srv.call("GET", C + "/sync?filter=12345", None, tb), 400)
        expect(srv.call("GET", C + "/sync?since=garbage", None, tb), 400)

    @case("the sender's own sync carries unsigned.transaction_id")
    def _():
        s = sync(srv, ta, since=st["a"])
        evs = [e for e in s["rooms"]["join"][rid]["timeline"]["events"] if e["type"] == "m.room.message"]
        assert evs and all("transaction_id" in e["unsigned"] for e in evs), evs
        st["a"] = s["next_batch"]

    @case("kick: the kicked user's long-poll wakes and shows the room under leave")
    def _():
        out = {}

        def poll():
            out["s"] = sync(srv, tb, since=st["b"], timeout=30000)
        th = threading.Thread(target=poll)
        th.start()
        time.sleep(0.3)
        expect(srv.call("POST", C + "/rooms/%s/kick" % rid, {"user_id": b}, ta), 200)
        th.join(40)
        s = out["s"]
        assert rid in s["rooms"]["leave"] and rid not in s["rooms"]["join"], s["rooms"]
        last = s["rooms"]["leave"][rid]["timeline"]["events"][-1]
        assert last["type"] == "m.room.member" and last["content"]["membership"] == "leave"
        st["b"] = s["next_batch"]

    @case("after leaving, the user no longer hears of the room")
    def _():
        send(srv, ta, rid, "private now")
        s = sync(srv, tb, since=st["b"], timeout=0)
        assert rid not in s["rooms"]["join"] and rid not in s["rooms"]["leave"], s["rooms"]

    @case("ban shows under leave with membership ban; the inviter sees it in join")
    def _():
        expect(srv.call("POST", C + "/rooms/%s/ban" % rid, {"user_id": b}, ta), 200)
        s = sync(srv, tb, since=st["b"], timeout=5000)
        last = s["rooms"]["leave"][rid]["timeline"]["events"][-1]
        assert last["content"]["membership"] == "ban", last
        s = sync(srv, ta, since=st["a"])
        ms = [e["content"].get("membership") for e in s["rooms"]["join"][rid]["timeline"]["events"]
              if e["type"] == "m.room.member"]
        assert ms[-2:] == ["leave", "ban"], ms

    @case("a long-poll is still answered when scopd stops")
    def _():
        s0 = sync(srv, ta)
        out = {}

        def poll():
            try:
                out["r"] = srv.call("GET", C + "/sync?since=%s&timeout=60000" % s0["next_batch"], None, ta,
                                    timeout=60)
            except Exception as e:
                out["r"] = e
        th = threading.Thread(target=poll)
        th.start()
        time.sleep(0.5)
        st["rc"] = srv.stop()
        th.join(30)
        assert not th.is_alive()
        assert isinstance(out.get("r"), tuple) and out["r"][0] == 200, out
        assert st["rc"] == 0, st["rc"]


async def nio_scenario(url, store_dir, tag):
    u1 = nio.AsyncClient(url, "", store_path=store_dir)
    u2 = nio.AsyncClient(url, "", store_path=store_dir)
    try:
        await u1.register("nios1", "pw one pass", "d1")
        await u2.register("nios2", "pw two pass", "d2")
        r = await u1.room_create(name="nio sync", invite=[u2.user_id])
        rid = r.room_id
        r = await u2.sync(timeout=0)
        t.ok(isinstance(r, R.SyncResponse) and rid in r.rooms.invite, "%s: nio sees the invite" % tag, r)
        await u2.join(rid)
        await u1.sync(timeout=0)
        r = await u2.sync(timeout=0)
        t.ok(isinstance(r, R.SyncResponse) and rid in u2.rooms, "%s: nio sees the joined room" % tag, r)

        async def later():
            await asyncio.sleep(0.5)
            return await u1.room_send(rid, "m.room.message", {"msgtype": "m.text", "body": "ping"})
        t0 = time.monotonic()
        sent = asyncio.ensure_future(later())
        r = await u2.sync(timeout=30000)
        dt = time.monotonic() - t0
        await sent
        got = isinstance(r, R.SyncResponse) and rid in r.rooms.join and any(
            getattr(e, "body", None) == "ping" for e in r.rooms.join[rid].timeline.events)
        t.ok(got and dt < 10, "%s: nio long-poll sync wakes for the other user's message" % tag, (dt, r))
        r = await u1.room_kick(rid, u2.user_id, "bye")
        r = await u2.sync(timeout=10000)
        t.ok(isinstance(r, R.SyncResponse) and rid in r.rooms.leave, "%s: nio sees the kick as leave" % tag, r)
    finally:
        await u1.close()
        await u2.close()


def main():
    def suites(srv, name):
        if nio:
            store = srv.dir + "-nio"
            os.makedirs(store)
            try:
                asyncio.run(nio_scenario(srv.url, store, name))
            except Exception as e:
                t.ok(False, "%s: nio scenario ran" % name, repr(e))
        raw_suite(srv, name)  # ends by stopping scopd
    run_on_backends(t, "sync", suites)


if __name__ == "__main__":
    main()
