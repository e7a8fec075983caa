#!/usr/bin/python3
"""Presence timeouts between two scopd over TLS on loopback, with the
timeouts shortened by presence_timeouts_ms.

hs1 times its own users out after 1.5 s without a /sync and remote users
after 6 s without a word from their server; hs2 does neither within the
test (an hour).  alice and carol are users of hs1, bob of hs2, in one
room.  Checks: a long-poll /sync in flight keeps alice online past the
1.5 s; once it ends she goes offline on hs1 and, federated, on hs2 (in
bob's /sync too), and a plain /sync brings her back for her peers on
both servers; carol, who set herself unavailable, stays so; bob,
after one /sync on hs2, is shown offline on hs1 once hs2 has been silent
for 6 s, in alice's /sync too, while hs2 still has him online (hs1 does
not federate another server's user)."""
import os
import shutil
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(__file__))
from scoptest import Tap, SRCDIR, free_port  # noqa: E402
from test_rooms_common import backends  # noqa: E402

sys.path.insert(0, os.path.join(SRCDIR, "tests", "federation"))
import fedhs  # noqa: E402
from fedhs import q  # noqa: E402

t = Tap()
work = tempfile.mkdtemp(prefix="scop-prestime-")
servers = []
# hs2 runs on PostgreSQL when SCOP_TEST_PG_DSN names a server, else SQLite.
backend = backends(work, "prestime")[-1]

SHORT = "presence_timeouts_ms: {sync_online: 1500, federation: 6000, sweep: 200}\n"
LONG = "presence_timeouts_ms: {sync_online: 3600000, federation: 3600000, sweep: 200}\n"


def status(hs, tok, user):
    s, j = hs.client("GET", "/_matrix/client/v3/presence/%s/status" % q(user), token=tok)
    return (j or {}).get("presence") if s == 200 else None


class Watcher:
    """Incremental /sync of an unseen observer (set_presence=offline, so
    its own syncs change nothing), keeping the last presence of each
    user."""

    def __init__(self, hs, tok):
        self.hs, self.tok, self.presence = hs, tok, {}
        s, j = hs.client("GET", "/_matrix/client/v3/sync?timeout=0&set_presence=offline", token=tok)
        assert s == 200, (s, j)
        self.since = j["next_batch"]

    def wait(self, user, want):
        def step():
            s, j = self.hs.client("GET", "/_matrix/client/v3/sync?timeout=1000&set_presence=offline&since=" +
                                  q(self.since), token=self.tok)
            if s == 200:
                self.since = j["next_batch"]
                for e in j.get("presence", {}).get("events", []):
                    self.presence[e.get("sender")] = e.get("content", {}).get("presence")
            return self.presence.get(user) == want
        return self.hs.wait(step, timeout=20)


try:
    fedhs.make_pki(work, ["hs1.fed.test", "hs2.fed.test"])
    p1, p2 = free_port(), free_port()
    overrides = ["hs1.fed.test:%d:127.0.0.1:%d" % (p1, p1), "hs2.fed.test:%d:127.0.0.1:%d" % (p2, p2)]
    hs1 = fedhs.HS(work, "hs1.fed.test", p1, overrides, extra=SHORT)
    servers.append(hs1)
    hs2 = fedhs.HS(work, "hs2.fed.test", p2, overrides, extra=LONG,
                   database=backend[1] if backend[0] == "postgres" else None)
    servers.append(hs2)
    alice, atok = hs1.register("alice")
    carol, ctok = hs1.register("carol")
    bob, btok = hs2.register("bob")
    s, j = hs1.client("POST", "/_matrix/client/v3/createRoom", {"preset": "public_chat"}, token=atok)
    room = j["room_id"]
    s, j = hs2.client("POST", "/_matrix/client/v3/join/%s?server_name=%s" % (q(room), q(hs1.name)), {},
                      token=btok)
    t.ok(s == 200, "bob on hs2 joins alice's room on hs1", (s, j))
    s, j = hs1.client("POST", "/_matrix/client/v3/join/%s" % q(room), {}, token=ctok)
    at_bob = Watcher(hs2, btok)
    at_alice = Watcher(hs1, atok)
    at_carol = Watcher(hs1, ctok)

    # ---- carol sets herself unavailable: no /sync ever ----
    s, j = hs1.client("PUT", "/_matrix/client/v3/presence/%s/status" % q(carol),
                      {"presence": "unavailable", "status_msg": "away"}, token=ctok)
    t.ok(s == 200, "carol sets herself unavailable on hs1", (s, j))

    # ---- alice: a long-poll keeps her online, its end starts the clock ----
    s, j = hs1.client("GET", "/_matrix/client/v3/sync?timeout=0&set_presence=offline", token=atok)
    since = j["next_batch"]
    poll = {}

    def long_poll():
        poll["started"] = time.monotonic()
        poll["result"] = hs1.client("GET", "/_matrix/client/v3/sync?timeout=5000&since=" + q(since), token=atok)
        poll["ended"] = time.monotonic()
    th = threading.Thread(target=long_poll)
    th.start()
    online_there = at_bob.wait(alice, "online")
    t.ok(online_there, "alice's long-poll /sync makes her online, at hs2 too", at_bob.presence)
    while th.is_alive() and time.monotonic() - poll["started"] < 3:
        time.sleep(0.1)
    before = status(hs1, atok, alice)
    in_flight = th.is_alive()
    # (Only meaningful while the poll is parked, which it is unless the
    # machine stalled for seconds; then there is nothing to check.)
    t.ok(before == "online" or not in_flight,
         "3 s into her 5 s poll (timeout 1.5 s) she is still online on hs1", (before, in_flight))
    th.join()
    t.ok(poll.get("result", (0,))[0] == 200, "the poll answers", poll)
    off_here = hs1.wait(lambda: status(hs1, atok, alice) == "offline")
    t.ok(off_here, "after it ends and 1.5 s without a /sync, alice is offline on hs1",
         status(hs1, atok, alice))
    t.ok(at_bob.wait(alice, "offline") and status(hs2, btok, alice) == "offline",
         "... and at hs2: in bob's /sync and his GET /presence", at_bob.presence)
    s, j = hs1.client("GET", "/_matrix/client/v3/presence/%s/status" % q(carol), token=atok)
    t.ok(s == 200 and j.get("presence") == "unavailable" and j.get("status_msg") == "away",
         "carol, unavailable by her own choice and never syncing, stays unavailable", (s, j))
    t.ok(at_alice.wait(alice, "offline"), "alice's own /sync on hs1 carries her offline presence",
         at_alice.presence)
    t.ok(at_carol.wait(alice, "offline"), "... and carol's, her room peer on hs1", at_carol.presence)
    # Back with a plain /sync: a real change, so her peers here hear of it
    # too (not only other servers).
    # (She keeps syncing while the others look, so she stays online.)
    stop = threading.Event()

    def keep_syncing():
        while not stop.is_set():
            hs1.client("GET", "/_matrix/client/v3/sync?timeout=0", token=atok)
            stop.wait(0.3)
    th = threading.Thread(target=keep_syncing)
    th.start()
    try:
        t.ok(at_carol.wait(alice, "online"),
             "alice syncs again (plain /sync): carol's /sync on hs1 shows her online", at_carol.presence)
        t.ok(at_bob.wait(alice, "online"), "... and bob's on hs2", at_bob.presence)
    finally:
        stop.set()
        th.join()
    t.ok(hs1.wait(lambda: status(hs1, atok, alice) == "offline") and at_bob.wait(alice, "offline") and
         at_carol.wait(alice, "offline"), "she stops: offline again, for carol and at hs2", at_bob.presence)

    # ---- a remote user whose server goes quiet ----
    s, j = hs2.client("GET", "/_matrix/client/v3/sync?timeout=0", token=btok)
    t.ok(s == 200 and hs1.wait(lambda: status(hs1, atok, bob) == "online"),
         "bob syncs once on hs2: hs1 shows him online", status(hs1, atok, bob))
    t.ok(hs1.wait(lambda: status(hs1, atok, bob) == "offline"),
         "6 s without news from hs2, hs1 shows him offline", status(hs1, atok, bob))
    t.ok(at_alice.wait(bob, "offline"), "... in alice's /sync too", at_alice.presence)
    t.ok(status(hs2, btok, bob) == "online",
         "hs2 (hour-long timeouts) still has him online: hs1 did not federate it", status(hs2, btok, bob))
except Exception:  # noqa: BLE001
    t.ok(False, "test run raised", traceback.format_exc())
finally:
    stopped = [hs.stop() for hs in servers]
    if stopped:
        t.ok(all(rc == 0 for rc in stopped), "scopd instances stop cleanly (no leaks)", stopped)
    if t.failed:
        for hs in servers:
            sys.stderr.write(hs.log()[-3000:])
    backend[2]()
    if not os.environ.get("KEEP"):
        shutil.rmtree(work, ignore_errors=True)
t.done()
