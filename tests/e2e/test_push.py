#!/usr/bin/python3
"""End-to-end tests of push rules and unread notification counts in scopd,
on SQLite and (with SCOP_TEST_PG_DSN) PostgreSQL: the /pushrules endpoints
and their errors over raw HTTP, then two users in a room and the counts
/sync carries (notification and highlight counts, receipts, the user's own
messages, room rules, the master rule, threads), and matrix-nio reading
them.  Prints TAP."""
import asyncio
import json
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scoptest import Tap  # noqa: E402
from test_rooms_common import C, PASSWORD, expect, run_on_backends  # noqa: E402

t = Tap()
try:
    import nio
    from nio import responses as R
except ImportError:
    nio = None

DEFAULT_OVERRIDE = [".m.rule.master", ".m.rule.suppress_notices", ".m.rule.invite_for_me",
                    ".m.rule.member_event", ".m.rule.is_user_mention",
                    ".m.rule.contains_display_name", ".m.rule.is_room_mention",
                    ".m.rule.roomnotif", ".m.rule.tombstone", ".m.rule.reaction",
                    ".m.rule.room.server_acl", ".m.rule.suppress_edits"]
DEFAULT_UNDERRIDE = [".m.rule.call", ".m.rule.encrypted_room_one_to_one",
                     ".m.rule.room_one_to_one", ".m.rule.message", ".m.rule.encrypted"]
P = C + "/pushrules/global"
THREADS = json.dumps({"room": {"timeline": {"unread_thread_notifications": True}}})


def q(s):
    return urllib.parse.quote(s, safe="")


def ids(rules):
    return [r["rule_id"] for r in rules]


class Counter:
    """Sends with unique transaction ids."""

    def __init__(self):
        self.n = 0

    def send(self, srv, token, rid, content, etype="m.room.message"):
        self.n += 1
        s, j = srv.call("PUT", C + "/rooms/%s/send/%s/t%d" % (q(rid), etype, self.n), content, token)
        assert s == 200, (s, j)
        return j["event_id"]


def unread(srv, token, rid, since=None, filt=None):
    """The room's counts from a /sync (initial unless since)."""
    path = C + "/sync?timeout=0"
    if since:
        path += "&since=" + q(since)
    if filt:
        path += "&filter=" + q(filt)
    j = expect(srv.call("GET", path, None, token), 200)
    room = j["rooms"]["join"].get(rid)
    return room, j["next_batch"]


def counts(srv, token, rid):
    room, _ = unread(srv, token, rid)
    u = room["unread_notifications"]
    return u["notification_count"], u["highlight_count"]


def rules_suite(srv, tag):
    def case(desc):
        return t.case("%s: %s" % (tag, desc))

    a, ta = srv.register("rita")

    @case("GET /pushrules/ lists the spec's default rules in order")
    def _():
        j = expect(srv.call("GET", C + "/pushrules/", None, ta), 200)
        g = j["global"]
        assert ids(g["override"]) == DEFAULT_OVERRIDE, ids(g["override"])
        assert ids(g["underride"]) == DEFAULT_UNDERRIDE, ids(g["underride"])
        assert g["content"] == [{"rule_id": ".m.rule.contains_user_name", "default": True,
                                 "enabled": True, "pattern": "rita", "actions": [
                                     "notify", {"set_tweak": "sound", "value": "default"},
                                     {"set_tweak": "highlight"}]}], g["content"]
        assert g["room"] == [] and g["sender"] == []
        assert all(r["default"] for r in g["override"] + g["underride"])
        assert not g["override"][0]["enabled"]
        invite = g["override"][2]
        assert {"kind": "event_match", "key": "state_key", "pattern": a} in invite["conditions"]
        assert expect(srv.call("GET", C + "/pushrules", None, ta), 200) == j
        assert expect(srv.call("GET", C + "/pushrules/global/", None, ta), 200) == g
        assert expect(srv.call("GET", P + "/underride", None, ta), 200) == g["underride"]
        # before any change, an initial /sync already carries them as account data
        sj = expect(srv.call("GET", C + "/sync?timeout=0", None, ta), 200)
        ev = [e for e in sj["account_data"]["events"] if e["type"] == "m.push_rules"]
        assert len(ev) == 1 and ev[0]["content"] == j, sj["account_data"]

    @case("GET one rule, its enabled flag and its actions")
    def _():
        r = expect(srv.call("GET", P + "/override/.m.rule.master", None, ta), 200)
        assert r["rule_id"] == ".m.rule.master" and r["enabled"] is False and r["actions"] == []
        assert expect(srv.call("GET", P + "/override/.m.rule.master/enabled", None, ta), 200) == \
            {"enabled": False}
        assert expect(srv.call("GET", P + "/underride/.m.rule.message/actions", None, ta), 200) == \
            {"actions": ["notify"]}
        expect(srv.call("GET", P + "/override/nope", None, ta), 404, "M_NOT_FOUND")
        expect(srv.call("GET", P + "/override/nope/enabled", None, ta), 404, "M_NOT_FOUND")
        expect(srv.call("GET", P + "/content/.m.rule.master", None, ta), 404, "M_NOT_FOUND")

    @case("PUT adds rules first among the user's, before/after place them")
    def _():
        body = {"conditions": [{"kind": "event_match", "key": "content.body", "pattern": "cake"}],
                "actions": ["notify"]}
        expect(srv.call("PUT", P + "/override/r1", body, ta), 200)
        expect(srv.call("PUT", P + "/override/r2", body, ta), 200)
        expect(srv.call("PUT", P + "/override/r3?after=r2", body, ta), 200)
        expect(srv.call("PUT", P + "/override/r0?before=r2", body, ta), 200)
        o = ids(expect(srv.call("GET", P + "/override", None, ta), 200))
        assert o[:6] == [".m.rule.master", "r0", "r2", "r3", "r1", ".m.rule.suppress_notices"], o
        r = expect(srv.call("GET", P + "/override/r1", None, ta), 200)
        assert r == {"rule_id": "r1", "default": False, "enabled": True, "actions": ["notify"],
                     "conditions": body["conditions"]}, r
        # an update keeps its place
        expect(srv.call("PUT", P + "/override/r2", {"actions": []}, ta), 200)
        o = ids(expect(srv.call("GET", P + "/override", None, ta), 200))
        assert o[1:5] == ["r0", "r2", "r3", "r1"], o
        # content, room and sender rules
        expect(srv.call("PUT", P + "/content/cake", {"pattern": "cake*", "actions": ["notify"]}, ta), 200)
        expect(srv.call("PUT", P + "/room/" + q("!x:rooms.test"), {"actions": []}, ta), 200)
        expect(srv.call("PUT", P + "/sender/" + q("@spam:rooms.test"), {"actions": []}, ta), 200)
        g = expect(srv.call("GET", P + "/", None, ta), 200)
        assert ids(g["content"]) == ["cake", ".m.rule.contains_user_name"], g["content"]
        assert ids(g["room"]) == ["!x:rooms.test"] and ids(g["sender"]) == ["@spam:rooms.test"]

    @case("PUT errors: reserved or bad IDs, unknown kind or scope, bad bodies, bad before/after")
    def _():
        ok = {"actions": ["notify"]}
        expect(srv.call("PUT", P + "/override/.mine", ok, ta), 400, "M_INVALID_PARAM")
        expect(srv.call("PUT", P + "/override/" + q("a\\b"), ok, ta), 400, "M_INVALID_PARAM")
        expect(srv.call("PUT", P + "/overide/x", ok, ta), 400, "M_INVALID_PARAM")
        expect(srv.call("PUT", C + "/pushrules/device/override/x", ok, ta), 400, "M_INVALID_PARAM")
        expect(srv.call("GET", C + "/pushrules/device/", None, ta), 400, "M_INVALID_PARAM")
        expect(srv.call("PUT", P + "/override/x", {}, ta), 400, "M_MISSING_PARAM")
        expect(srv.call("PUT", P + "/override/x", {"actions": "notify"}, ta), 400, "M_BAD_JSON")
        expect(srv.call("PUT", P + "/override/x", {"actions": ["explode"]}, ta), 400, "M_BAD_JSON")
        expect(srv.call("PUT", P + "/override/x", {"actions": [], "conditions": [3]}, ta), 400,
               "M_BAD_JSON")
        expect(srv.call("PUT", P + "/content/x", ok, ta), 400, "M_BAD_JSON")
        expect(srv.call("PUT", P + "/override/x", None, ta, raw=b"{not json"), 400, "M_NOT_JSON")
        expect(srv.call("PUT", P + "/override/x?before=nope", ok, ta), 400, "M_UNKNOWN")
        expect(srv.call("PUT", P + "/override/x?after=.m.rule.master", ok, ta), 400, "M_UNKNOWN")
        expect(srv.call("GET", P + "/override/x", None, ta), 404, "M_NOT_FOUND")
        expect(srv.call("GET", C + "/pushrules/", None, None), 401, "M_MISSING_TOKEN")

    @case("enabled and actions: set, read back, errors")
    def _():
        expect(srv.call("PUT", P + "/override/r1/enabled", {"enabled": False}, ta), 200)
        assert expect(srv.call("GET", P + "/override/r1/enabled", None, ta), 200) == {"enabled": False}
        expect(srv.call("PUT", P + "/override/r1", {"actions": ["notify"]}, ta), 200)
        assert expect(srv.call("GET", P + "/override/r1", None, ta), 200)["enabled"] is False
        expect(srv.call("PUT", P + "/override/.m.rule.suppress_notices/enabled", {"enabled": False}, ta), 200)
        assert expect(srv.call("GET", P + "/override/.m.rule.suppress_notices/enabled", None, ta),
                      200) == {"enabled": False}
        acts = ["notify", {"set_tweak": "sound", "value": "bing"}]
        expect(srv.call("PUT", P + "/underride/.m.rule.message/actions", {"actions": acts}, ta), 200)
        assert expect(srv.call("GET", P + "/underride/.m.rule.message/actions", None, ta), 200) == \
            {"actions": acts}
        expect(srv.call("PUT", P + "/override/r1/enabled", {"enabled": "no"}, ta), 400, "M_BAD_JSON")
        expect(srv.call("PUT", P + "/override/r1/enabled", {}, ta), 400, "M_MISSING_PARAM")
        expect(srv.call("PUT", P + "/override/r1/actions", {"actions": [7]}, ta), 400, "M_BAD_JSON")
        expect(srv.call("PUT", P + "/override/nope/enabled", {"enabled": True}, ta), 404, "M_NOT_FOUND")
        expect(srv.call("PUT", P + "/override/nope/actions", {"actions": []}, ta), 404, "M_NOT_FOUND")

    @case("DELETE: user rules go, server-default rules stay (400 M_UNKNOWN)")
    def _():
        expect(srv.call("DELETE", P + "/override/r1", None, ta), 200)
        expect(srv.call("GET", P + "/override/r1", None, ta), 404, "M_NOT_FOUND")
        expect(srv.call("DELETE", P + "/override/r1", None, ta), 404, "M_NOT_FOUND")
        expect(srv.call("DELETE", P + "/override/.m.rule.master", None, ta), 400, "M_UNKNOWN")
        expect(srv.call("DELETE", P + "/sideways/r1", None, ta), 400, "M_INVALID_PARAM")
        assert ids(expect(srv.call("GET", P + "/override", None, ta), 200))[:4] == \
            [".m.rule.master", "r0", "r2", "r3"]

    @case("/sync account data carries m.push_rules with the user's rules")
    def _():
        j = expect(srv.call("GET", C + "/sync?timeout=0", None, ta), 200)
        ev = [e for e in j["account_data"]["events"] if e["type"] == "m.push_rules"]
        assert len(ev) == 1, j["account_data"]
        g = ev[0]["content"]["global"]
        assert g == expect(srv.call("GET", P + "/", None, ta), 200)
        assert "r2" in ids(g["override"])
        # and m.push_rules cannot be written as plain account data
        expect(srv.call("PUT", C + "/user/%s/account_data/m.push_rules" % q(a), {"x": 1}, ta), 405)

    @case("another user's rules are their own")
    def _():
        b, tb = srv.register("rob")
        g = expect(srv.call("GET", P + "/", None, tb), 200)
        assert "r2" not in ids(g["override"]) and g["content"][0]["pattern"] == "rob"


def counts_suite(srv, tag):
    def case(desc):
        return t.case("%s: %s" % (tag, desc))

    a, ta = srv.register("ann")
    b, tb = srv.register("ben")
    tx = Counter()
    rid = expect(srv.call("POST", C + "/createRoom", {"preset": "private_chat", "invite": [b]}, ta),
                 200)["room_id"]
    expect(srv.call("POST", C + "/join/" + q(rid), {}, tb), 200)
    last = {}

    @case("a new room shows zero counts")
    def _():
        assert counts(srv, ta, rid) == (0, 0)

    @case("a plain message in a two-person room counts as a notification")
    def _():
        last["e"] = tx.send(srv, tb, rid, {"msgtype": "m.text", "body": "hello there"})
        assert counts(srv, ta, rid) == (1, 0)
        assert counts(srv, tb, rid) == (0, 0)  # not for the sender

    @case("a message mentioning the user is a highlight")
    def _():
        last["e"] = tx.send(srv, tb, rid, {"msgtype": "m.text", "body": "ann: look",
                                           "m.mentions": {"user_ids": [a]}})
        assert counts(srv, ta, rid) == (2, 1)
        # the user's name in the body, without m.mentions
        last["e"] = tx.send(srv, tb, rid, {"msgtype": "m.text", "body": "hey ann!"})
        assert counts(srv, ta, rid) == (3, 2)

    @case("notices and reactions do not count")
    def _():
        tx.send(srv, tb, rid, {"msgtype": "m.notice", "body": "bot says ann"})
        last["e"] = tx.send(srv, tb, rid, {"m.relates_to": {"rel_type": "m.annotation",
                                                             "event_id": last["e"], "key": "+1"}},
                            "m.reaction")
        assert counts(srv, ta, rid) == (3, 2)

    @case("incremental sync carries the new counts with the new event")
    def _():
        _, since = unread(srv, ta, rid)
        last["e"] = tx.send(srv, tb, rid, {"msgtype": "m.text", "body": "one more"})
        room, _ = unread(srv, ta, rid, since)
        assert room["unread_notifications"] == {"notification_count": 4, "highlight_count": 2}, room
        assert [e["content"].get("body") for e in room["timeline"]["events"]] == ["one more"]

    @case("a read receipt for the latest event drops the counts to 0")
    def _():
        _, since = unread(srv, ta, rid)
        expect(srv.call("POST", C + "/rooms/%s/receipt/m.read/%s" % (q(rid), q(last["e"])), {}, ta), 200)
        room, _ = unread(srv, ta, rid, since)
        assert room and room["unread_notifications"] == {"notification_count": 0,
                                                         "highlight_count": 0}, room
        assert counts(srv, ta, rid) == (0, 0)

    @case("a receipt for an older event leaves what follows it unread")
    def _():
        first = tx.send(srv, tb, rid, {"msgtype": "m.text", "body": "a"})
        tx.send(srv, tb, rid, {"msgtype": "m.text", "body": "b"})
        last["e"] = tx.send(srv, tb, rid, {"msgtype": "m.text", "body": "c"})
        assert counts(srv, ta, rid) == (3, 0)
        expect(srv.call("POST", C + "/rooms/%s/receipt/m.read.private/%s" % (q(rid), q(first)), {}, ta), 200)
        assert counts(srv, ta, rid) == (2, 0)
        expect(srv.call("POST", C + "/rooms/%s/read_markers" % q(rid),
                        {"m.fully_read": last["e"], "m.read.private": last["e"]}, ta), 200)
        assert counts(srv, ta, rid) == (0, 0)

    @case("the user's own message marks what came before as read")
    def _():
        tx.send(srv, tb, rid, {"msgtype": "m.text", "body": "question?"})
        assert counts(srv, ta, rid) == (1, 0)
        tx.send(srv, ta, rid, {"msgtype": "m.text", "body": "answer"})
        assert counts(srv, ta, rid) == (0, 0)
        last["e"] = tx.send(srv, tb, rid, {"msgtype": "m.text", "body": "thanks"})
        assert counts(srv, ta, rid) == (1, 0)
        expect(srv.call("POST", C + "/rooms/%s/receipt/m.read/%s" % (q(rid), q(last["e"])), {}, ta), 200)

    @case("a room rule with no actions (or dont_notify) keeps the room quiet")
    def _():
        expect(srv.call("PUT", P + "/room/" + q(rid), {"actions": ["dont_notify"]}, ta), 200)
        tx.send(srv, tb, rid, {"msgtype": "m.text", "body": "shh"})
        assert counts(srv, ta, rid) == (0, 0)
        # the user's mention still highlights: override rules come first
        tx.send(srv, tb, rid, {"msgtype": "m.text", "body": "x", "m.mentions": {"user_ids": [a]}})
        assert counts(srv, ta, rid) == (1, 1)
        expect(srv.call("DELETE", P + "/room/" + q(rid), None, ta), 200)
        last["e"] = tx.send(srv, tb, rid, {"msgtype": "m.text", "body": "loud"})
        assert counts(srv, ta, rid) == (3, 1)  # recounted with the rules now in force
        expect(srv.call("POST", C + "/rooms/%s/receipt/m.read/%s" % (q(rid), q(last["e"])), {}, ta), 200)

    @case("the master rule, enabled, silences everything; disabled again, counts resume")
    def _():
        expect(srv.call("PUT", P + "/override/.m.rule.master/enabled", {"enabled": True}, ta), 200)
        last["e"] = tx.send(srv, tb, rid, {"msgtype": "m.text", "body": "ann ann",
                                           "m.mentions": {"user_ids": [a]}})
        assert counts(srv, ta, rid) == (0, 0)
        expect(srv.call("POST", C + "/rooms/%s/receipt/m.read/%s" % (q(rid), q(last["e"])), {}, ta), 200)
        expect(srv.call("PUT", P + "/override/.m.rule.master/enabled", {"enabled": False}, ta), 200)
        tx.send(srv, tb, rid, {"msgtype": "m.text", "body": "back"})
        assert counts(srv, ta, rid) == (1, 0)

    @case("an override rule the user adds decides before the defaults")
    def _():
        expect(srv.call("PUT", P + "/override/cake", {
            "conditions": [{"kind": "event_match", "key": "content.body", "pattern": "cake*"}],
            "actions": ["notify", {"set_tweak": "highlight"}]}, ta), 200)
        last["e"] = tx.send(srv, tb, rid, {"msgtype": "m.text", "body": "Cakes are ready"})
        assert counts(srv, ta, rid) == (2, 1)
        expect(srv.call("POST", C + "/rooms/%s/receipt/m.read/%s" % (q(rid), q(last["e"])), {}, ta), 200)
        assert counts(srv, ta, rid) == (0, 0)

    @case("unread_thread_notifications: thread replies counted per thread root")
    def _():
        root = tx.send(srv, tb, rid, {"msgtype": "m.text", "body": "thread root"})
        tx.send(srv, tb, rid, {"msgtype": "m.text", "body": "in thread",
                               "m.relates_to": {"rel_type": "m.thread", "event_id": root}})
        last["e"] = tx.send(srv, tb, rid, {"msgtype": "m.text", "body": "ann, in thread",
                                           "m.relates_to": {"rel_type": "m.thread", "event_id": root}})
        room, _ = unread(srv, ta, rid, filt=THREADS)
        assert room["unread_notifications"] == {"notification_count": 1, "highlight_count": 0}, room
        assert room["unread_thread_notifications"] == {
            root: {"notification_count": 2, "highlight_count": 1}}, room
        # without the filter flag: one total, no per-thread part
        room, _ = unread(srv, ta, rid)
        assert room["unread_notifications"] == {"notification_count": 3, "highlight_count": 1}, room
        assert "unread_thread_notifications" not in room
        expect(srv.call("POST", C + "/rooms/%s/receipt/m.read/%s" % (q(rid), q(last["e"])), {}, ta), 200)
        room, _ = unread(srv, ta, rid, filt=THREADS)
        assert room["unread_notifications"]["notification_count"] == 0
        assert room["unread_thread_notifications"] == {}, room
    @case("threaded receipts: a thread's receipt reads that thread, \"main\" the main timeline")
    def _():
        r1 = tx.send(srv, tb, rid, {"msgtype": "m.text", "body": "root one"})
        r2 = tx.send(srv, tb, rid, {"msgtype": "m.text", "body": "root two"})

        def reply(root, body):
            return tx.send(srv, tb, rid, {"msgtype": "m.text", "body": body,
                                          "m.relates_to": {"rel_type": "m.thread", "event_id": root}})
        t1 = reply(r1, "r1 a")
        reply(r1, "r1 b")
        t2 = reply(r2, "r2 a")
        main = tx.send(srv, tb, rid, {"msgtype": "m.text", "body": "main again"})

        def state():
            room, _ = unread(srv, ta, rid, filt=THREADS)
            th = {k: v["notification_count"] for k, v in room["unread_thread_notifications"].items()}
            return room["unread_notifications"]["notification_count"], th
        assert state() == (3, {r1: 2, r2: 1}), state()
        # a receipt in thread r1 for its first reply: one left there
        expect(srv.call("POST", C + "/rooms/%s/receipt/m.read/%s" % (q(rid), q(t1)),
                        {"thread_id": r1}, ta), 200)
        assert state() == (3, {r1: 1, r2: 1}), state()
        # the main timeline's receipt leaves the threads alone
        expect(srv.call("POST", C + "/rooms/%s/receipt/m.read.private/%s" % (q(rid), q(main)),
                        {"thread_id": "main"}, ta), 200)
        assert state() == (0, {r1: 1, r2: 1}), state()
        # the user's own reply in thread r2 reads that thread only
        tx.send(srv, ta, rid, {"msgtype": "m.text", "body": "my reply",
                               "m.relates_to": {"rel_type": "m.thread", "event_id": r2}})
        assert state() == (0, {r1: 1}), state()
        # errors: an event outside the thread, a threaded m.fully_read, bad thread_id
        expect(srv.call("POST", C + "/rooms/%s/receipt/m.read/%s" % (q(rid), q(t2)),
                        {"thread_id": r1}, ta), 400, "M_INVALID_PARAM")
        expect(srv.call("POST", C + "/rooms/%s/receipt/m.read/%s" % (q(rid), q(t2)),
                        {"thread_id": "main"}, ta), 400, "M_INVALID_PARAM")
        expect(srv.call("POST", C + "/rooms/%s/receipt/m.fully_read/%s" % (q(rid), q(main)),
                        {"thread_id": "main"}, ta), 400, "M_INVALID_PARAM")
        expect(srv.call("POST", C + "/rooms/%s/receipt/m.read/%s" % (q(rid), q(main)),
                        {"thread_id": ""}, ta), 400, "M_INVALID_PARAM")
        # the other member sees the threaded receipt with its thread_id
        j = expect(srv.call("GET", C + "/sync?timeout=0", None, tb), 200)
        rec = [e for e in j["rooms"]["join"][rid]["ephemeral"]["events"] if e["type"] == "m.receipt"]
        assert rec and rec[0]["content"][t1]["m.read"][a]["thread_id"] == r1, rec
        assert main not in rec[0]["content"] or a not in rec[0]["content"][main].get(
            "m.read.private", {}), rec  # private stays private
        # an unthreaded receipt for the newest event reads everything
        last["e"] = tx.send(srv, tb, rid, {"msgtype": "m.text", "body": "end"})
        expect(srv.call("POST", C + "/rooms/%s/receipt/m.read/%s" % (q(rid), q(last["e"])), {}, ta), 200)
        assert state() == (0, {}), state()

    @case("GET /notifications: notified events newest first, read flags, highlights, paging")
    def _():
        tx.send(srv, tb, rid, {"msgtype": "m.text", "body": "unread one"})
        j = expect(srv.call("GET", C + "/notifications", None, ta), 200)
        ns = j["notifications"]
        assert ns and ns[0]["event"]["content"]["body"] == "unread one" and ns[0]["read"] is False, ns[0]
        assert ns[0]["room_id"] == rid and ns[0]["actions"][0] == "notify" and ns[0]["ts"] > 0
        assert all(n["read"] for n in ns[1:]), ns
        bodies = [n["event"]["content"].get("body") for n in ns]
        # (computed with the rules in force now: "shh" counts again)
        assert "bot says ann" not in bodies and "answer" not in bodies, bodies
        hl = expect(srv.call("GET", C + "/notifications?only=highlight", None, ta), 200)["notifications"]
        assert hl and all({"set_tweak": "highlight"} in n["actions"] for n in hl), hl
        assert [n["event"]["content"]["body"] for n in hl][:2] == ["ann, in thread", "Cakes are ready"]
        seen, tok = [], None
        while True:
            page = expect(srv.call("GET", C + "/notifications?limit=3" + ("&from=" + tok if tok else ""),
                                   None, ta), 200)
            assert len(page["notifications"]) <= 3
            seen += [n["event"]["event_id"] for n in page["notifications"]]
            tok = page.get("next_token")
            if not tok:
                break
        assert len(ns) == 20 and "next_token" in j, len(ns)   # the default limit
        assert seen[:20] == [n["event"]["event_id"] for n in ns] and len(seen) > 20, seen
        assert len(set(seen)) == len(seen)
        expect(srv.call("GET", C + "/notifications?from=zzz", None, ta), 400, "M_INVALID_PARAM")
        for bad in ("", "-1", "abc", "3x", "1.5", "+3", "%zz", "%203"):
            expect(srv.call("GET", C + "/notifications?limit=" + bad, None, ta), 400, "M_INVALID_PARAM")
        j0 = expect(srv.call("GET", C + "/notifications?limit=0", None, ta), 200)
        assert j0 == {"notifications": []}, j0
        big = expect(srv.call("GET", C + "/notifications?limit=99999999999999999999", None, ta), 200)
        assert len(big["notifications"]) == min(len(seen), 100), (len(big["notifications"]), len(seen))
        assert all(n["event"]["sender"] == a for n in expect(
            srv.call("GET", C + "/notifications", None, tb), 200)["notifications"])
    return rid, last


async def nio_counts(url, store, tag, user, rid, want):
    c = nio.AsyncClient(url, user, store_path=store)
    try:
        r = await c.login(PASSWORD)
        t.ok(isinstance(r, R.LoginResponse), "%s: nio login" % tag, r)
        r = await c.sync(timeout=0)
        ok = isinstance(r, R.SyncResponse) and rid in r.rooms.join
        u = r.rooms.join[rid].unread_notifications if ok else None
        t.ok(ok and (u.notification_count, u.highlight_count) == want,
             "%s: matrix-nio reads unread_notifications %r" % (tag, want),
             u and (u.notification_count, u.highlight_count))
    finally:
        await c.close()


def main():
    def suites(srv, name):
        rules_suite(srv, name)
        counts_suite(srv, name)
        if not nio:
            print("# python3-matrix-nio missing: nio part skipped")
            return
        store = srv.dir + "-nio"
        os.makedirs(store)
        tx = Counter()
        tx.n = 1000
        _, tb = srv.register("nico")
        _, ta = srv.register("nina")
        nrid = expect(srv.call("POST", C + "/createRoom", {"invite": ["@nina:rooms.test"]}, tb), 200)["room_id"]
        expect(srv.call("POST", C + "/join/" + q(nrid), {}, ta), 200)
        tx.send(srv, tb, nrid, {"msgtype": "m.text", "body": "hi nina",
                                "m.mentions": {"user_ids": ["@nina:rooms.test"]}})
        tx.send(srv, tb, nrid, {"msgtype": "m.text", "body": "and more"})
        try:
            asyncio.run(nio_counts(srv.url, store, name, "nina", nrid, (2, 1)))
        except Exception as e:  # a client crash is a failure too
            t.ok(False, "%s: nio part ran" % name, repr(e))
    run_on_backends(t, "push", suites)


if __name__ == "__main__":
    main()
