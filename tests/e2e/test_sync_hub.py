#!/usr/bin/python3
"""End-to-end tests of the long-poll hub (homeserver/sync.c) on SQLite and
(with SCOP_TEST_PG_DSN) PostgreSQL: many parked /sync requests of several
users with different timeouts; a message wakes exactly its room's members'
requests, every one of them; the others stay parked and each returns empty
at its own timeout, never before it; later requests reuse the hub's index
after earlier ones left it.  Prints TAP."""
import json
import os
import random
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scoptest import Tap  # noqa: E402
from test_rooms_common import C, expect, run_on_backends  # noqa: E402

t = Tap()


class Poll(threading.Thread):
    """One /sync long-poll on its own connection; records the answer and
    how long it took."""

    def __init__(self, srv, token, since, timeout_ms):
        super().__init__(daemon=True)
        self.srv, self.token, self.since, self.timeout_ms = srv, token, since, timeout_ms
        self.result = self.elapsed = self.error = None

    def run(self):
        q = urllib.parse.urlencode({"since": self.since, "timeout": str(self.timeout_ms)})
        t0 = time.monotonic()
        try:
            self.result = expect(self.srv.call("GET", C + "/sync?" + q, None, self.token,
                                               timeout=self.timeout_ms / 1000 + 60), 200)
        except Exception as e:  # reported by the checks
            self.error = repr(e)
        self.elapsed = (time.monotonic() - t0) * 1000


def timeline_bodies(res, rid):
    room = ((res or {}).get("rooms", {}).get("join", {}) or {}).get(rid)
    if not room:
        return []
    return [e["content"].get("body") for e in room["timeline"]["events"] if e["type"] == "m.room.message"]


def suite(srv, tag):
    def case(desc):
        return t.case("%s: %s" % (tag, desc))

    a, ta = srv.register("alice")
    b, tb = srv.register("bob")
    c, tc = srv.register("carol")
    rid = expect(srv.call("POST", C + "/createRoom", {"preset": "public_chat"}, ta), 200)["room_id"]
    expect(srv.call("POST", C + "/join/" + rid, {}, tb), 200)
    since = {tok: expect(srv.call("GET", C + "/sync", None, tok), 200)["next_batch"] for tok in (ta, tb, tc)}

    # carol (no rooms): 20 polls with timeouts in shuffled order, so the
    # deadline order differs from the order they were parked in
    timeouts = [400 + 100 * i for i in range(20)]
    random.Random(7).shuffle(timeouts)
    carol = [Poll(srv, tc, since[tc], ms) for ms in timeouts]
    members = [Poll(srv, tb, since[tb], 60000) for _ in range(3)] + [Poll(srv, ta, since[ta], 60000)]
    for p in carol + members:
        p.start()
    time.sleep(0.3)  # let them park (if not yet parked they see the message at once: same result)
    expect(srv.call("PUT", C + "/rooms/%s/send/m.room.message/hub1" % rid,
                    {"msgtype": "m.text", "body": "wake up"}, ta), 200)
    for p in members:
        p.join(90)
    @case("every long-poll of the room's members is woken with the message")
    def _():
        for p in members:
            assert p.error is None, p.error
            assert timeline_bodies(p.result, rid) == ["wake up"], json.dumps(p.result)[:300]
            # woken, not timed out (the timeout is 60 s)
            assert p.elapsed < 50000, "took %.0f ms" % p.elapsed

    # a second message wakes nothing of carol's
    expect(srv.call("PUT", C + "/rooms/%s/send/m.room.message/hub2" % rid,
                    {"msgtype": "m.text", "body": "again"}, ta), 200)
    for p in carol:
        p.join(90)
    @case("other users' polls stay parked and end empty at their own timeout")
    def _():
        for p in carol:
            assert p.error is None, p.error
            assert not p.result.get("rooms", {}).get("join"), json.dumps(p.result)[:300]
            assert p.result.get("next_batch"), "no next_batch"
            assert p.elapsed >= p.timeout_ms, "returned after %.0f ms, timeout %d" % (p.elapsed, p.timeout_ms)

    # the index was emptied and rebuilt: a fresh round still works
    nb = members[0].result["next_batch"]
    nb = expect(srv.call("GET", C + "/sync?since=" + nb, None, tb), 200)["next_batch"]  # past "again"
    again = [Poll(srv, tb, nb, 60000) for _ in range(2)]
    for p in again:
        p.start()
    time.sleep(0.2)
    expect(srv.call("PUT", C + "/rooms/%s/send/m.room.message/hub3" % rid,
                    {"msgtype": "m.text", "body": "third"}, ta), 200)
    for p in again:
        p.join(90)
    @case("polls parked after earlier ones left are woken too")
    def _():
        for p in again:
            assert p.error is None, p.error
            assert timeline_bodies(p.result, rid) == ["third"], json.dumps(p.result)[:300]

    # parked polls at shutdown are answered (the hub empties its index)
    parked = [Poll(srv, tc, since[tc], 60000) for _ in range(5)]
    for p in parked:
        p.start()
    time.sleep(0.3)
    srv.stop()
    for p in parked:
        p.join(90)
    @case("polls parked at shutdown are answered")
    def _():
        for p in parked:
            assert not p.is_alive(), "still waiting"
            assert p.error is None, p.error


def main():
    run_on_backends(t, "synchub", suite)


if __name__ == "__main__":
    main()
