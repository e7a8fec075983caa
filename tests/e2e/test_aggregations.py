#!/usr/bin/python3
"""End-to-end tests of bundled aggregations (unsigned["m.relations"]: m.thread,
m.replace, m.reference) in /messages, /sync, /event, /context, /relations,
/threads and /search, and of /search's event_context, groupings and filter,
on SQLite and (with SCOP_TEST_PG_DSN) PostgreSQL, over raw HTTP.  Prints TAP."""
import json
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scoptest import Tap  # noqa: E402
from test_rooms_common import C, expect, run_on_backends  # noqa: E402

t = Tap()
V1 = "/_matrix/client/v1"


def q(s):
    return urllib.parse.quote(s, safe="")


def rels(ev):
    return ev.get("unsigned", {}).get("m.relations", {})


def suite(srv, tag):
    def case(desc):
        return t.case("%s: %s" % (tag, desc))

    n = [0]

    def send(token, rid, content, type_="m.room.message"):
        n[0] += 1
        return expect(srv.call("PUT", C + "/rooms/%s/send/%s/a%d" % (q(rid), type_, n[0]),
                               content, token), 200)["event_id"]

    def text(body, **extra):
        c = {"msgtype": "m.text", "body": body}
        c.update(extra)
        return c

    def rel(rel_type, target):
        return {"m.relates_to": {"rel_type": rel_type, "event_id": target}}

    def edit(target, body):
        return text("* " + body, **{"m.new_content": text(body)}, **rel("m.replace", target))

    a, ta = srv.register("alice")
    b, tb = srv.register("bob")
    c, tc = srv.register("carol")
    expect(srv.call("PUT", C + "/profile/%s/displayname" % q(a), {"displayname": "Alice A."},
                    ta), 200)
    rid = expect(srv.call("POST", C + "/createRoom", {"preset": "public_chat"}, ta), 200)["room_id"]
    rid2 = expect(srv.call("POST", C + "/createRoom", {"preset": "public_chat"}, ta), 200)["room_id"]
    for tok in (tb, tc):
        expect(srv.call("POST", C + "/rooms/%s/join" % q(rid), {}, tok), 200)
    expect(srv.call("POST", C + "/rooms/%s/join" % q(rid2), {}, tb), 200)

    root = send(ta, rid, text("thread root mango"))
    replies = [send(tb, rid, text("reply %d" % i, **rel("m.thread", root))) for i in range(3)]
    last_edit = send(tb, rid, edit(replies[-1], "reply 2 edited"))
    orig = send(ta, rid, text("original papaya"))
    e1 = send(ta, rid, edit(orig, "first papaya"))
    e2 = send(ta, rid, edit(orig, "second papaya"))
    forged = send(tb, rid, edit(orig, "bob's papaya"))  # another sender: not a valid edit
    refs = [send(tb, rid, text("see above", **rel("m.reference", orig))) for _ in range(2)]
    send(ta, rid, {"m.relates_to": {"rel_type": "m.annotation", "event_id": orig, "key": "x"}},
         "m.reaction")
    plain = send(ta, rid, text("plain guava"))

    def messages(token, limit=50):
        j = expect(srv.call("GET", C + "/rooms/%s/messages?dir=b&limit=%d" % (q(rid), limit),
                            token=token), 200)
        return {e["event_id"]: e for e in j["chunk"]}

    def check_thread(ev, participated):
        th = rels(ev).get("m.thread")
        assert th, ev
        assert th["count"] == 3, th
        assert th["current_user_participated"] is participated, th
        assert th["latest_event"]["event_id"] == replies[-1], th
        # The latest event carries its own edit.
        le = rels(th["latest_event"]).get("m.replace")
        assert le and le["event_id"] == last_edit, th

    def ts(eid):
        return expect(srv.call("GET", C + "/rooms/%s/event/%s" % (q(rid), q(eid)), token=ta),
                      200)["origin_server_ts"]

    # The spec's newest edit: latest origin_server_ts, then greatest event ID.
    newest = max((ts(e1), e1), (ts(e2), e2))[1]
    older = e1 if newest == e2 else e2

    def check_edited(ev):
        assert ev["content"]["body"] == "original papaya", ev  # clients apply the edit
        assert rels(ev)["m.replace"]["event_id"] == newest, rels(ev)
        assert rels(ev)["m.replace"]["content"]["m.new_content"]["body"] == \
            ("second papaya" if newest == e2 else "first papaya")
        chunk = rels(ev)["m.reference"]["chunk"]
        assert chunk == [{"event_id": x} for x in refs], chunk
        assert "m.annotation" not in rels(ev), rels(ev)

    @case("/messages bundles a thread root's summary and latest event")
    def _():
        evs = messages(tb)
        check_thread(evs[root], True)
        check_thread(messages(tc)[root], False)
        check_thread(messages(ta)[root], True)  # alice sent the root
        assert "m.relations" not in evs[plain].get("unsigned", {}), evs[plain]

    @case("/messages bundles the newest valid edit and references; content unchanged")
    def _():
        evs = messages(ta)
        check_edited(evs[orig])
        assert forged in evs and "m.relations" not in evs[forged].get("unsigned", {})

    @case("/sync timeline carries the bundles")
    def _():
        filt = json.dumps({"room": {"timeline": {"limit": 50}}})
        j = expect(srv.call("GET", C + "/sync?filter=" + q(filt), token=tc), 200)
        tl = {e["event_id"]: e for e in j["rooms"]["join"][rid]["timeline"]["events"]}
        check_thread(tl[root], False)
        check_edited(tl[orig])
        since = j["next_batch"]
        more = send(tc, rid, text("carol joins the thread", **rel("m.thread", root)))
        j = expect(srv.call("GET", C + "/sync?since=%s&timeout=0&filter=%s" % (since, q(filt)),
                            token=tc), 200)
        tl = j["rooms"]["join"][rid]["timeline"]["events"]
        assert [e["event_id"] for e in tl] == [more], tl
        # The root is not in this timeline; its summary is now 4 replies.
        th = rels(expect(srv.call("GET", C + "/rooms/%s/event/%s" % (q(rid), q(root)),
                                  token=tc), 200))["m.thread"]
        assert th["count"] == 4 and th["current_user_participated"] is True, th
        assert th["latest_event"]["event_id"] == more, th
        replies.append(more)

    @case("/event and /context bundle")
    def _():
        check_edited(expect(srv.call("GET", C + "/rooms/%s/event/%s" % (q(rid), q(orig)),
                                     token=tb), 200))
        j = expect(srv.call("GET", C + "/rooms/%s/context/%s?limit=20" % (q(rid), q(e1)),
                            token=tb), 200)
        around = {e["event_id"]: e for e in j["events_before"] + j["events_after"]}
        check_edited(around[orig])
        j = expect(srv.call("GET", C + "/rooms/%s/context/%s?limit=2" % (q(rid), q(orig)),
                            token=tb), 200)
        check_edited(j["event"])

    @case("/relations and /threads bundle their events")
    def _():
        j = expect(srv.call("GET", V1 + "/rooms/%s/relations/%s/m.thread" % (q(rid), q(root)),
                            token=ta), 200)
        evs = {e["event_id"]: e for e in j["chunk"]}
        assert rels(evs[replies[2]])["m.replace"]["event_id"] == last_edit, evs[replies[2]]
        j = expect(srv.call("GET", V1 + "/rooms/%s/threads" % q(rid), token=tb), 200)
        assert [e["event_id"] for e in j["chunk"]] == [root], j
        th = rels(j["chunk"][0])["m.thread"]
        assert th["count"] == 4 and th["latest_event"]["event_id"] == replies[-1], th

    @case("redactions: a redacted edit falls back, a redacted event bundles nothing")
    def _():
        expect(srv.call("PUT", C + "/rooms/%s/redact/%s/r1" % (q(rid), q(newest)), {}, ta), 200)
        ev = expect(srv.call("GET", C + "/rooms/%s/event/%s" % (q(rid), q(orig)), token=ta), 200)
        assert rels(ev)["m.replace"]["event_id"] == older, rels(ev)
        expect(srv.call("PUT", C + "/rooms/%s/redact/%s/r2" % (q(rid), q(orig)), {}, ta), 200)
        ev = expect(srv.call("GET", C + "/rooms/%s/event/%s" % (q(rid), q(orig)), token=ta), 200)
        assert "m.relations" not in ev["unsigned"], ev

    # ---- /search -----------------------------------------------------------
    hits = [send(ta, rid, text("kumquat one")), send(tb, rid, text("kumquat two")),
            send(tb, rid2, text("kumquat three"))]
    after = send(ta, rid, text("after the kumquats"))

    def search(token, **re):
        re.setdefault("search_term", "kumquat")
        return srv.call("POST", C + "/search", {"search_categories": {"room_events": re}}, token)

    def results(j):
        return j["search_categories"]["room_events"]

    def ids(j):
        return [r["result"]["event_id"] for r in results(j)["results"]]

    @case("/search event_context: events around, tokens, profiles")
    def _():
        j = expect(search(tb, order_by="recent", filter={"rooms": [rid]},
                          event_context={"before_limit": 2, "after_limit": 1,
                                         "include_profile": True}), 200)
        rs = results(j)["results"]
        assert [r["result"]["event_id"] for r in rs] == [hits[1], hits[0]], rs
        ctx = rs[1]["context"]
        assert [e["event_id"] for e in ctx["events_before"]] == [plain, refs[-1]] or \
            len(ctx["events_before"]) == 2, ctx
        assert [e["event_id"] for e in ctx["events_after"]] == [hits[1]], ctx
        assert ctx["start"] and ctx["end"], ctx
        assert ctx["profile_info"][a]["displayname"] == "Alice A.", ctx["profile_info"]
        # The tokens page on with /messages.
        m = expect(srv.call("GET", C + "/rooms/%s/messages?dir=f&limit=1&from=%s"
                            % (q(rid), ctx["end"]), token=tb), 200)
        assert [e["event_id"] for e in m["chunk"]] == [after], m
        m = expect(srv.call("GET", C + "/rooms/%s/messages?dir=b&limit=1&from=%s"
                            % (q(rid), ctx["start"]), token=tb), 200)
        assert len(m["chunk"]) == 1 and m["chunk"][0]["event_id"] not in \
            [e["event_id"] for e in ctx["events_before"]], (m, ctx)
        j = expect(search(tb, filter={"rooms": [rid]}), 200)
        assert all("context" not in r for r in results(j)["results"]), j

    @case("/search groupings by room_id and sender")
    def _():
        j = expect(search(tb, order_by="recent", groupings={"group_by": [{"key": "room_id"},
                                                                       {"key": "sender"}]}), 200)
        g = results(j)["groups"]
        assert g["room_id"][rid]["results"] == [hits[1], hits[0]], g
        assert g["room_id"][rid2]["results"] == [hits[2]], g
        assert g["room_id"][rid2]["order"] < g["room_id"][rid]["order"], g
        assert g["sender"][b]["results"] == [hits[2], hits[1]], g
        assert g["sender"][a]["results"] == [hits[0]], g
        assert "groups" not in results(expect(search(tb), 200))
        expect(search(tb, groupings={"group_by": [{"key": "nope"}]}), 400, "M_INVALID_PARAM")
        expect(search(tb, groupings={"group_by": "room_id"}), 400, "M_BAD_JSON")

    @case("/search include_state gives each result room's current state")
    def _():
        j = expect(search(tb, include_state=True), 200)
        st = results(j)["state"]
        assert sorted(st) == sorted([rid, rid2]), st
        types = {e["type"] for e in st[rid]}
        assert {"m.room.create", "m.room.member", "m.room.join_rules"} <= types, types
        assert "state" not in results(expect(search(tb), 200))
        expect(search(tb, include_state="yes"), 400, "M_BAD_JSON")

    @case("/search filter: senders, not_senders, not_rooms, types, not_types")
    def _():
        assert sorted(ids(expect(search(tb, filter={"senders": [b]}), 200))) == \
            sorted(hits[1:]), "senders"
        assert ids(expect(search(tb, filter={"not_senders": [b]}), 200)) == [hits[0]]
        assert sorted(ids(expect(search(tb, filter={"not_rooms": [rid]}), 200))) == [hits[2]]
        assert len(ids(expect(search(tb, filter={"types": ["m.room.*"]}), 200))) == 3
        assert ids(expect(search(tb, filter={"types": ["m.room.topic"]}), 200)) == []
        assert ids(expect(search(tb, filter={"not_types": ["m.room.message"]}), 200)) == []
        j = expect(search(tb, filter={"senders": [b], "limit": 1}, order_by="recent"), 200)
        assert ids(j) == [hits[2]] and results(j)["count"] == 2 and results(j)["next_batch"], j
        j = expect(srv.call("POST", C + "/search?next_batch=" + results(j)["next_batch"],
                            {"search_categories": {"room_events": {
                                "search_term": "kumquat", "order_by": "recent",
                                "filter": {"senders": [b], "limit": 1}}}}, tb), 200)
        assert ids(j) == [hits[1]] and "next_batch" not in results(j), j
        expect(search(tb, filter={"senders": "x"}), 400, "M_BAD_JSON")
        expect(search(tb, filter={"not_rooms": [3]}), 400, "M_BAD_JSON")
        expect(search(tb, filter={"types": 7}), 400, "M_BAD_JSON")
        expect(search(tb, event_context={"before_limit": -1}), 400, "M_BAD_JSON")
        expect(search(tb, event_context=[]), 400, "M_BAD_JSON")

    @case("/search results carry bundles")
    def _():
        root2 = send(ta, rid2, text("durian thread"))
        r = send(tb, rid2, text("durian reply", **rel("m.thread", root2)))
        j = expect(search(tb, search_term="durian", order_by="recent",
                          event_context={"before_limit": 1, "after_limit": 0}), 200)
        rs = {x["result"]["event_id"]: x for x in results(j)["results"]}
        th = rels(rs[root2]["result"])["m.thread"]
        assert th["count"] == 1 and th["latest_event"]["event_id"] == r, th
        before = rs[r]["context"]["events_before"]
        assert before[0]["event_id"] == root2 and rels(before[0])["m.thread"]["count"] == 1
        # One /sync bundles the timelines of every room.
        filt = json.dumps({"room": {"timeline": {"limit": 50}}})
        j = expect(srv.call("GET", C + "/sync?filter=" + q(filt), token=tb), 200)
        tl1 = {e["event_id"]: e for e in j["rooms"]["join"][rid]["timeline"]["events"]}
        tl2 = {e["event_id"]: e for e in j["rooms"]["join"][rid2]["timeline"]["events"]}
        assert rels(tl1[root])["m.thread"]["count"] == 4, tl1[root]
        assert rels(tl2[root2])["m.thread"]["latest_event"]["event_id"] == r, tl2[root2]


def main():
    run_on_backends(t, "aggr", suite)


if __name__ == "__main__":
    main()
