#!/usr/bin/python3
"""End-to-end tests of scopd's relations, threads and /search endpoints on
SQLite and (with SCOP_TEST_PG_DSN) PostgreSQL, over raw HTTP.  Prints TAP."""
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


class Sender:
    def __init__(self, srv):
        self.srv = srv
        self.n = 0

    def send(self, token, rid, content, type_="m.room.message"):
        self.n += 1
        s, j = self.srv.call("PUT", C + "/rooms/%s/send/%s/t%d" % (q(rid), type_, self.n),
                             content, token)
        assert s == 200, (s, j)
        return j["event_id"]


def suite(srv, tag):
    def case(desc):
        return t.case("%s: %s" % (tag, desc))

    out = Sender(srv)
    a, ta = srv.register("alice")
    b, tb = srv.register("bob")
    c, tc = srv.register("carol")
    rid = expect(srv.call("POST", C + "/createRoom", {"name": "Relations room", "preset": "public_chat",
                                                      "topic": "kiwi topic"}, ta), 200)["room_id"]
    expect(srv.call("POST", C + "/rooms/%s/join" % q(rid), {}, tb), 200)
    other = expect(srv.call("POST", C + "/createRoom", {"name": "private"}, tc), 200)["room_id"]

    root = out.send(ta, rid, {"msgtype": "m.text", "body": "the quick brown fox"})
    reacts = [out.send(tb if i % 2 else ta, rid,
                       {"m.relates_to": {"rel_type": "m.annotation", "event_id": root, "key": k}},
                       "m.reaction") for i, k in enumerate(["👍", "🎉", "🦊"])]
    edit = out.send(ta, rid, {"msgtype": "m.text", "body": "* the quick red fox",
                              "m.new_content": {"msgtype": "m.text", "body": "the quick red fox"},
                              "m.relates_to": {"rel_type": "m.replace", "event_id": root}})
    replies = [out.send(tb, rid, {"msgtype": "m.text", "body": "reply %d" % i,
                                  "m.relates_to": {"rel_type": "m.thread", "event_id": root}})
               for i in range(3)]
    root2 = out.send(tb, rid, {"msgtype": "m.text", "body": "second thread root"})
    r2 = out.send(ta, rid, {"msgtype": "m.text", "body": "answer",
                            "m.relates_to": {"rel_type": "m.thread", "event_id": root2}})
    out.send(tc, other, {"msgtype": "m.text", "body": "secret fox plans"})
    for i in range(7):
        out.send(ta, rid, {"msgtype": "m.text", "body": "pager banana %d" % i})
    base = V1 + "/rooms/%s/relations/%s" % (q(rid), q(root))

    @case("/relations lists every relation, newest first")
    def _():
        j = expect(srv.call("GET", base, token=tb), 200)
        ids = [e["event_id"] for e in j["chunk"]]
        assert ids == list(reversed(reacts + [edit] + replies)), j
        assert "next_batch" not in j

    @case("/relations filters by rel_type and event type")
    def _():
        j = expect(srv.call("GET", base + "/m.annotation", token=ta), 200)
        assert [e["event_id"] for e in j["chunk"]] == list(reversed(reacts)), j
        j = expect(srv.call("GET", base + "/m.annotation/m.reaction", token=ta), 200)
        assert len(j["chunk"]) == 3
        j = expect(srv.call("GET", base + "/m.annotation/m.room.message", token=ta), 200)
        assert j["chunk"] == []
        j = expect(srv.call("GET", base + "/m.replace", token=ta), 200)
        assert [e["event_id"] for e in j["chunk"]] == [edit]
        assert j["chunk"][0]["content"]["m.new_content"]["body"] == "the quick red fox"
        j = expect(srv.call("GET", base + "/m.thread?dir=f", token=ta), 200)
        assert [e["event_id"] for e in j["chunk"]] == replies, j

    @case("/relations pages with limit, from and dir")
    def _():
        seen, tok = [], None
        for _ in range(10):
            j = expect(srv.call("GET", base + "?limit=2" + ("&from=" + tok if tok else ""),
                                token=ta), 200)
            seen += [e["event_id"] for e in j["chunk"]]
            tok = j.get("next_batch")
            if not tok:
                break
        assert seen == list(reversed(reacts + [edit] + replies)), seen
        seen, tok = [], None
        for _ in range(10):
            j = expect(srv.call("GET", base + "?dir=f&limit=3" + ("&from=" + tok if tok else ""),
                                token=ta), 200)
            seen += [e["event_id"] for e in j["chunk"]]
            tok = j.get("next_batch")
            if not tok:
                break
        assert seen == reacts + [edit] + replies, seen

    @case("/relations refuses non-members, unknown rooms and events, bad params")
    def _():
        expect(srv.call("GET", base, token=tc), 403, "M_FORBIDDEN")
        expect(srv.call("GET", V1 + "/rooms/%s/relations/%s" % (q("!nope:rooms.test"), q(root)),
                        token=ta), 404)
        expect(srv.call("GET", V1 + "/rooms/%s/relations/%s" % (q(rid), q("$missing")),
                        token=ta), 404, "M_NOT_FOUND")
        expect(srv.call("GET", base + "?dir=x", token=ta), 400, "M_INVALID_PARAM")
        expect(srv.call("GET", base + "?limit=-3", token=ta), 400, "M_INVALID_PARAM")
        expect(srv.call("GET", base + "?from=zz", token=ta), 400, "M_INVALID_PARAM")
        expect(srv.call("GET", base), 401)

    @case("/threads lists roots by latest reply with a summary")
    def _():
        j = expect(srv.call("GET", V1 + "/rooms/%s/threads" % q(rid), token=ta), 200)
        ids = [e["event_id"] for e in j["chunk"]]
        assert ids == [root2, root], j
        summ = j["chunk"][1]["unsigned"]["m.relations"]["m.thread"]
        assert summ["count"] == 3 and summ["current_user_participated"], summ
        assert summ["latest_event"]["event_id"] == replies[-1], summ
        j = expect(srv.call("GET", V1 + "/rooms/%s/threads?limit=1" % q(rid), token=ta), 200)
        assert [e["event_id"] for e in j["chunk"]] == [root2] and j.get("next_batch"), j
        j = expect(srv.call("GET", V1 + "/rooms/%s/threads?limit=1&from=%s"
                            % (q(rid), j["next_batch"]), token=ta), 200)
        assert [e["event_id"] for e in j["chunk"]] == [root], j

    @case("?limit= on /relations and /threads: integers >= 0 only; 0 is empty, huge is capped")
    def _():
        thr = V1 + "/rooms/%s/threads" % q(rid)
        for path in (base, thr):
            for bad in ("", "-1", "-3", "abc", "2x", "1.5", "+3", "%zz", "%202"):
                expect(srv.call("GET", path + "?limit=" + bad, token=ta), 400, "M_INVALID_PARAM")
            j = expect(srv.call("GET", path + "?limit=0", token=ta), 200)
            assert j["chunk"] == [] and "next_batch" not in j, j
        j = expect(srv.call("GET", base + "?limit=99999999999999999999", token=ta), 200)
        assert len(j["chunk"]) == len(reacts + [edit] + replies) and "next_batch" not in j, j
        j = expect(srv.call("GET", thr + "?limit=99999999999999999999", token=ta), 200)
        assert [e["event_id"] for e in j["chunk"]] == [root2, root] and "next_batch" not in j, j

    @case("/threads include=participated")
    def _():
        # bob sent root2 and replied in the first thread: both.
        j = expect(srv.call("GET", V1 + "/rooms/%s/threads?include=participated" % q(rid),
                            token=tb), 200)
        assert [e["event_id"] for e in j["chunk"]] == [root2, root], j
        expect(srv.call("POST", C + "/rooms/%s/join" % q(rid), {}, tc), 200)
        j = expect(srv.call("GET", V1 + "/rooms/%s/threads?include=participated" % q(rid),
                            token=tc), 200)
        assert j["chunk"] == [], j
        expect(srv.call("GET", V1 + "/rooms/%s/threads?include=bogus" % q(rid), token=ta),
               400, "M_INVALID_PARAM")
        expect(srv.call("POST", C + "/rooms/%s/leave" % q(rid), {}, tc), 200)
        expect(srv.call("GET", V1 + "/rooms/%s/threads" % q(rid), token=tc), 403)

    def search(token, term, order=None, rooms=None, limit=None, batch=None, keys=None):
        re = {"search_term": term}
        if keys is not None:
            re["keys"] = keys
        if order:
            re["order_by"] = order
        if rooms is not None or limit is not None:
            re["filter"] = {}
            if rooms is not None:
                re["filter"]["rooms"] = rooms
            if limit is not None:
                re["filter"]["limit"] = limit
        path = C + "/search" + ("?next_batch=" + q(batch) if batch else "")
        return srv.call("POST", path, {"search_categories": {"room_events": re}}, token)

    def ids_of(j):
        return [r["result"]["event_id"] for r in j["search_categories"]["room_events"]["results"]]

    @case("/search finds messages by words, only in joined rooms")
    def _():
        j = expect(search(ta, "fox"), 200)["search_categories"]["room_events"]
        bodies = [r["result"]["content"]["body"] for r in j["results"]]
        assert "the quick brown fox" in bodies and "* the quick red fox" in bodies, j
        assert "secret fox plans" not in bodies, j
        assert j["count"] == 2 and j["highlights"] == ["fox"], j
        j = expect(search(tc, "fox"), 200)["search_categories"]["room_events"]
        assert [r["result"]["content"]["body"] for r in j["results"]] == ["secret fox plans"], j
        j = expect(search(ta, "QUICK brown"), 200)
        assert ids_of(j) == [root], j
        j = expect(search(ta, "kiwi"), 200)
        assert len(ids_of(j)) == 1, j
        j = expect(search(ta, "nothing-like-this"), 200)
        assert ids_of(j) == [] and j["search_categories"]["room_events"]["count"] == 0, j
        j = expect(search(ta, '"AND OR * ( -'), 200)
        assert ids_of(j) == [], j

    @case("/search room filter and order_by recent")
    def _():
        j = expect(search(ta, "fox", rooms=[other]), 200)
        assert ids_of(j) == [], j
        j = expect(search(ta, "fox", order="recent", rooms=[rid]), 200)
        assert ids_of(j) == [edit, root], j

    @case("/search keys limits the fields searched")
    def _():
        assert len(ids_of(expect(search(ta, "kiwi", keys=["content.topic"]), 200))) == 1
        assert ids_of(expect(search(ta, "kiwi", keys=["content.body", "content.name"]), 200)) == []
        assert ids_of(expect(search(ta, "brown", keys=["content.body"]), 200)) == [root]
        expect(search(ta, "x", keys="content.body"), 400, "M_BAD_JSON")
        expect(search(ta, "x", keys=["sender"]), 400, "M_INVALID_PARAM")

    @case("/search pages with next_batch")
    def _():
        seen, batch = [], None
        for _ in range(10):
            j = expect(search(ta, "banana", order="recent", limit=3, batch=batch), 200)
            re = j["search_categories"]["room_events"]
            assert re["count"] == 7, re
            seen += [r["result"]["content"]["body"] for r in re["results"]]
            batch = re.get("next_batch")
            if not batch:
                break
        assert seen == ["pager banana %d" % i for i in reversed(range(7))], seen

    @case("redacted events leave /relations and /search")
    def _():
        gone = out.send(tb, rid, {"msgtype": "m.text", "body": "zebra stripes",
                                  "m.relates_to": {"rel_type": "m.thread", "event_id": root}})
        assert ids_of(expect(search(ta, "zebra"), 200)) == [gone]
        j = expect(srv.call("GET", base + "/m.thread", token=ta), 200)
        assert j["chunk"][0]["event_id"] == gone, j
        expect(srv.call("PUT", C + "/rooms/%s/redact/%s/red1" % (q(rid), q(gone)), {}, tb), 200)
        assert ids_of(expect(search(ta, "zebra"), 200)) == []
        j = expect(srv.call("GET", base + "/m.thread", token=ta), 200)
        assert [e["event_id"] for e in j["chunk"]] == list(reversed(replies)), j

    @case("/search rejects bad input")
    def _():
        expect(srv.call("POST", C + "/search", raw=b"{not json", token=ta), 400, "M_NOT_JSON")
        expect(srv.call("POST", C + "/search", {"search_categories": 3}, ta), 400, "M_BAD_JSON")
        expect(srv.call("POST", C + "/search", {}, ta), 400, "M_MISSING_PARAM")
        expect(srv.call("POST", C + "/search", {"search_categories": {"room_events": {}}}, ta),
               400, "M_MISSING_PARAM")
        expect(srv.call("POST", C + "/search", {"search_categories": {"room_events": {
            "search_term": 5}}}, ta), 400, "M_BAD_JSON")
        expect(search(ta, "fox", order="sideways"), 400, "M_INVALID_PARAM")
        expect(search(ta, "fox", rooms="x"), 400, "M_BAD_JSON")
        expect(search(ta, "fox", batch="nope"), 400, "M_INVALID_PARAM")
        j = expect(srv.call("POST", C + "/search", {"search_categories": {}}, ta), 200)
        assert j == {"search_categories": {}}, j


def main():
    run_on_backends(t, "relsearch", suite)


if __name__ == "__main__":
    main()
