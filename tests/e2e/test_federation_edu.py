#!/usr/bin/python3
"""Typing, read receipts and presence between two scopd over TLS on
loopback: what one server's user does arrives, as an EDU its server
sends, in the other server's /sync.

hs1 and hs2 (tests/federation/fedhs.py); alice of hs1 creates a room,
bob of hs2 joins it over federation.  Checks: typing both ways (start and
stop), an m.read receipt both ways, threaded ones both ways (main
timeline and a thread root, then unthreaded again), a private receipt
staying home, presence both ways (set by PUT /presence and by /sync alone:
only real changes go out), the read endpoints between the two
servers themselves (hs2 asks hs1 for /state_ids and /backfill with its
own X-Matrix signature), and history_visibility invited: a server whose
user is invited reads from the invite on, not before."""
import os
import shutil
import sys
import tempfile
import traceback

sys.path.insert(0, os.path.dirname(__file__))
from scoptest import Tap, SRCDIR, free_port  # noqa: E402
from test_rooms_common import backends  # noqa: E402

sys.path.insert(0, os.path.join(SRCDIR, "tests", "federation"))
import fedhs  # noqa: E402
import fedpeer  # noqa: E402
from make_pdu_vectors import sign_pdu  # noqa: E402
from fedhs import q  # noqa: E402

t = Tap()
work = tempfile.mkdtemp(prefix="scop-fededu-")
servers = []
peer = None
# hs2 runs on PostgreSQL when SCOP_TEST_PG_DSN names a server, else SQLite.
backend = backends(work, "fededu")[-1]


class Syncer:
    """Incremental /sync for one user, remembering the ephemeral events of
    one room seen so far."""

    def __init__(self, hs, tok, room):
        self.hs, self.tok, self.room = hs, tok, room
        s, j = hs.client("GET", "/_matrix/client/v3/sync?timeout=0", token=tok)
        assert s == 200, (s, j)
        self.since = j["next_batch"]
        self.typing = []
        self.receipts = {}
        self.threads = {}
        self.presence = {}

    def poll(self):
        s, j = self.hs.client("GET", "/_matrix/client/v3/sync?timeout=300&since=" + q(self.since), token=self.tok)
        if s != 200:
            return
        self.since = j["next_batch"]
        for e in j.get("presence", {}).get("events", []):
            self.presence[e.get("sender")] = e.get("content", {})
        room = j.get("rooms", {}).get("join", {}).get(self.room, {})
        for e in room.get("ephemeral", {}).get("events", []):
            if e["type"] == "m.typing":
                self.typing = e["content"].get("user_ids", [])
            elif e["type"] == "m.receipt":
                for ev, kinds in e["content"].items():
                    for kind, users in kinds.items():
                        for u, data in users.items():
                            self.receipts[(kind, u)] = ev
                            self.threads[(kind, u)] = data.get("thread_id")

    def wait(self, pred):
        def step():
            self.poll()
            return pred(self)
        return self.hs.wait(step, timeout=20)


try:
    fedhs.make_pki(work, ["hs1.fed.test", "hs2.fed.test", "peer.fed.test"])
    peer = fedpeer.Peer(os.path.join(work, "peer.fed.test.crt"), os.path.join(work, "peer.fed.test.key")).start()
    PEER = "peer.fed.test:%d" % peer.port
    p1, p2 = free_port(), free_port()
    overrides = ["hs1.fed.test:%d:127.0.0.1:%d" % (p1, p1), "hs2.fed.test:%d:127.0.0.1:%d" % (p2, p2),
                 "peer.fed.test:%d:127.0.0.1:%d" % (peer.port, peer.port)]
    hs1 = fedhs.HS(work, "hs1.fed.test", p1, overrides)
    servers.append(hs1)
    hs2 = fedhs.HS(work, "hs2.fed.test", p2, overrides,
                   database=backend[1] if backend[0] == "postgres" else None)
    servers.append(hs2)
    alice, atok = hs1.register("alice")
    bob, btok = hs2.register("bob")
    s, j = hs1.client("POST", "/_matrix/client/v3/createRoom", {"preset": "public_chat"}, token=atok)
    room = j["room_id"]
    s, j = hs2.client("POST", "/_matrix/client/v3/join/%s?server_name=%s" % (q(room), q(hs1.name)), {},
                      token=btok)
    t.ok(s == 200, "bob on hs2 joins alice's room on hs1", (s, j))
    s, j = hs1.send(atok, room, "first", "a1")
    first = (j or {}).get("event_id")
    ok, _ = hs2.wait_bodies(btok, room, ["first"])
    t.ok(ok, "alice's message reaches hs2")
    at_alice, at_bob = Syncer(hs1, atok, room), Syncer(hs2, btok, room)

    # ---- typing ----
    s, j = hs1.client("PUT", "/_matrix/client/v3/rooms/%s/typing/%s" % (q(room), q(alice)),
                      {"typing": True, "timeout": 20000}, token=atok)
    t.ok(s == 200 and at_bob.wait(lambda y: alice in y.typing),
         "alice types on hs1: bob's /sync on hs2 shows it", (s, at_bob.typing))
    s, j = hs2.client("PUT", "/_matrix/client/v3/rooms/%s/typing/%s" % (q(room), q(bob)),
                      {"typing": True, "timeout": 20000}, token=btok)
    t.ok(s == 200 and at_alice.wait(lambda y: bob in y.typing),
         "bob types on hs2: alice's /sync on hs1 shows it", (s, at_alice.typing))
    s, j = hs1.client("PUT", "/_matrix/client/v3/rooms/%s/typing/%s" % (q(room), q(alice)), {"typing": False},
                      token=atok)
    t.ok(s == 200 and at_bob.wait(lambda y: alice not in y.typing and bob in y.typing),
         "alice stops: gone from bob's list, bob still typing", (s, at_bob.typing))

    # ---- receipts ----
    s, j = hs2.client("POST", "/_matrix/client/v3/rooms/%s/receipt/m.read/%s" % (q(room), q(first)), {},
                      token=btok)
    t.ok(s == 200 and at_alice.wait(lambda y: y.receipts.get(("m.read", bob)) == first),
         "bob's read receipt reaches alice on hs1", (s, at_alice.receipts))
    s, j = hs1.send(atok, room, "second", "a2")
    second = (j or {}).get("event_id")
    s, j = hs1.client("POST", "/_matrix/client/v3/rooms/%s/receipt/m.read/%s" % (q(room), q(second)), {},
                      token=atok)
    t.ok(s == 200 and at_bob.wait(lambda y: y.receipts.get(("m.read", alice)) == second),
         "alice's read receipt reaches bob on hs2", (s, at_bob.receipts))
    s, j = hs2.client("POST", "/_matrix/client/v3/rooms/%s/receipt/m.read/%s" % (q(room), q(second)),
                      {"thread_id": "main"}, token=btok)
    t.ok(s == 200 and at_alice.wait(lambda y: y.receipts.get(("m.read", bob)) == second and
                                    y.threads.get(("m.read", bob)) == "main"),
         "bob's threaded receipt (main timeline) reaches alice with its thread_id", (s, j, at_alice.threads))
    # Threaded receipts on a thread root, both ways (m.receipt data.thread_id).
    s, j = hs1.send(atok, room, "root", "a3")
    root = (j or {}).get("event_id")
    s, j = hs1.client("PUT", "/_matrix/client/v3/rooms/%s/send/m.room.message/a4" % q(room),
                      {"msgtype": "m.text", "body": "in the thread",
                       "m.relates_to": {"rel_type": "m.thread", "event_id": root}}, token=atok)
    reply = (j or {}).get("event_id")
    ok, _ = hs2.wait_bodies(btok, room, ["in the thread"])
    s, j = hs1.client("POST", "/_matrix/client/v3/rooms/%s/receipt/m.read/%s" % (q(room), q(reply)),
                      {"thread_id": root}, token=atok)
    t.ok(ok and s == 200 and at_bob.wait(lambda y: y.receipts.get(("m.read", alice)) == reply and
                                         y.threads.get(("m.read", alice)) == root),
         "alice's receipt in a thread reaches bob on hs2 with the thread root as thread_id",
         (s, j, at_bob.receipts, at_bob.threads))
    s, j = hs2.client("POST", "/_matrix/client/v3/rooms/%s/receipt/m.read/%s" % (q(room), q(reply)),
                      {"thread_id": root}, token=btok)
    t.ok(s == 200 and at_alice.wait(lambda y: y.receipts.get(("m.read", bob)) == reply and
                                    y.threads.get(("m.read", bob)) == root),
         "bob's receipt in the thread reaches alice on hs1 likewise", (s, j, at_alice.receipts, at_alice.threads))
    s, j = hs1.client("POST", "/_matrix/client/v3/rooms/%s/receipt/m.read/%s" % (q(room), q(reply)), {},
                      token=atok)
    t.ok(s == 200 and at_bob.wait(lambda y: y.receipts.get(("m.read", alice)) == reply and
                                  y.threads.get(("m.read", alice)) is None),
         "alice's unthreaded receipt after it reaches bob without a thread_id", (s, j, at_bob.threads))
    s, j = hs2.client("POST", "/_matrix/client/v3/rooms/%s/receipt/m.read.private/%s" % (q(room), q(second)),
                      {}, token=btok)
    s2, j2 = hs2.send(btok, room, "after private", "b1")
    ok, _ = hs1.wait_bodies(atok, room, ["after private"])
    at_alice.poll()
    t.ok(s == 200 and ok and at_alice.receipts.get(("m.read", bob)) == reply and
         ("m.read.private", bob) not in at_alice.receipts,
         "bob's private receipt stays on hs2 (hs1 got a later message from hs2 meanwhile)", at_alice.receipts)

    # ---- presence ----
    s, j = hs1.client("PUT", "/_matrix/client/v3/presence/%s/status" % q(alice),
                      {"presence": "unavailable", "status_msg": "at lunch"}, token=atok)
    t.ok(s == 200 and at_bob.wait(lambda y: y.presence.get(alice, {}).get("presence") == "unavailable" and
                                  y.presence[alice].get("status_msg") == "at lunch"),
         "alice's presence on hs1 reaches bob's /sync on hs2", (s, at_bob.presence))
    s, j = hs2.client("PUT", "/_matrix/client/v3/presence/%s/status" % q(bob),
                      {"presence": "unavailable", "status_msg": "in a meeting"}, token=btok)
    t.ok(s == 200 and at_alice.wait(lambda y: y.presence.get(bob, {}).get("status_msg") == "in a meeting"),
         "bob's presence on hs2 reaches alice's /sync on hs1", (s, at_alice.presence))

    # ---- the read endpoints between the two servers ----
    s, j = hs1.signed(hs2.name, hs2.sk, "GET", "/_matrix/federation/v1/state_ids/%s?event_id=%s" % (
        q(room), q(second)))
    ids1 = set(hs1.state_ids(atok, room).values())
    t.ok(s == 200 and set(j.get("pdu_ids", [])) == ids1,
         "hs2 (signing as itself) gets the state at alice's message from hs1", (s, j))
    s, j = hs1.signed(hs2.name, hs2.sk, "GET", "/_matrix/federation/v1/backfill/%s?v=%s&limit=3" % (
        q(room), q(second)))
    t.ok(s == 200 and [p.get("content", {}).get("body") for p in j.get("pdus", [])][:2] == ["second", "first"],
         "hs2 backfills from hs1", (s, j))

    # ---- presence from /sync alone (no PUT /presence) ----
    dave, dtok = hs2.register("dave")
    s, j = hs2.client("POST", "/_matrix/client/v3/join/%s?server_name=%s" % (q(room), q(hs1.name)), {},
                      token=dtok)
    s2, j2 = hs2.client("GET", "/_matrix/client/v3/sync?timeout=0", token=dtok)
    t.ok(s == 200 and s2 == 200 and
         at_alice.wait(lambda y: y.presence.get(dave, {}).get("presence") == "online" and
                       y.presence[dave].get("currently_active") is True),
         "dave joins from hs2 and syncs (no set_presence): alice on hs1 sees him online", (s, s2, at_alice.presence))
    s, j = hs2.client("GET", "/_matrix/client/v3/sync?timeout=0&set_presence=unavailable", token=dtok)
    t.ok(s == 200 and at_alice.wait(lambda y: y.presence.get(dave, {}).get("presence") == "unavailable"),
         "his /sync with set_presence=unavailable reaches alice too", (s, at_alice.presence))
    s, j = hs2.client("GET", "/_matrix/client/v3/sync?timeout=0", token=dtok)
    t.ok(s == 200 and at_alice.wait(lambda y: y.presence.get(dave, {}).get("presence") == "online"),
         "... and a plain /sync after it makes him online there again", (s, at_alice.presence))
    # Only real changes go out.  The Python peer joins (through hs1), so
    # hs2 sends it dave's EDUs too, where they can be counted: three
    # more plain syncs send none before dave's next message.
    pk = peer.key_for(PEER)
    pu = "@p:" + PEER
    s, j = hs1.signed(PEER, pk, "GET", "/_matrix/federation/v1/make_join/%s/%s?ver=10&ver=11&ver=12" % (q(room), q(pu)))
    pjoin = (j or {}).get("event", {})
    pjid = sign_pdu(pjoin, PEER, pk)
    txn = {"origin": PEER, "origin_server_ts": fedpeer.now_ms(), "pdus": [pjoin]}
    s, j = hs1.signed(PEER, pk, "PUT", "/_matrix/federation/v1/send/pj1", txn)
    s2, j2 = hs2.signed(PEER, pk, "PUT", "/_matrix/federation/v1/send/pj1", txn)
    t.ok(s == 200 and s2 == 200 and (j2 or {}).get("pdus", {}).get(pjid) == {},
         "a third server's user joins (its server sends the join to both)", (s, j, s2, j2))

    def dave_edus():
        with peer.lock:
            return [e for tx in peer.txns if tx["origin"] == hs2.name for e in tx["edus"]
                    if e.get("edu_type") == "m.presence" and
                    any(p.get("user_id") == dave for p in e.get("content", {}).get("push", []))]

    def dave_said(body):
        with peer.lock:
            return any(p.get("content", {}).get("body") == body for tx in peer.txns
                       if tx["origin"] == hs2.name for p in tx["pdus"])
    hs2.client("GET", "/_matrix/client/v3/sync?timeout=0&set_presence=unavailable", token=dtok)
    hs2.client("GET", "/_matrix/client/v3/sync?timeout=0", token=dtok)
    hs2.send(dtok, room, "dave back", "d1")
    ok = hs2.wait(lambda: dave_said("dave back"))
    before = dave_edus()
    t.ok(ok and before and before[-1]["content"]["push"][-1].get("presence") == "online",
         "the peer gets dave's presence from hs2 as his /syncs change it", before)
    for _ in range(3):
        hs2.client("GET", "/_matrix/client/v3/sync?timeout=0", token=dtok)
    hs2.send(dtok, room, "dave after his syncs", "d2")
    ok = hs2.wait(lambda: dave_said("dave after his syncs"))
    t.ok(ok and len(dave_edus()) == len(before),
         "... but not for syncs that change nothing (none queued before his next message)", dave_edus()[len(before):])

    # ---- history_visibility invited, across the two servers ----
    carol, ctok = hs2.register("carol")
    s, j = hs1.client("POST", "/_matrix/client/v3/createRoom", {
        "preset": "private_chat", "initial_state": [{"type": "m.room.history_visibility", "state_key": "",
                                                     "content": {"history_visibility": "invited"}}]}, token=atok)
    priv = j["room_id"]
    s, j = hs1.send(atok, priv, "before the invite", "p1")
    before = (j or {}).get("event_id")
    s, j = hs1.client("POST", "/_matrix/client/v3/rooms/%s/invite" % q(priv), {"user_id": carol}, token=atok)
    t.ok(s == 200, "alice invites carol of hs2 to a room with history_visibility invited", (s, j))
    s, j = hs1.send(atok, priv, "after the invite", "p2")
    after = (j or {}).get("event_id")
    s, j = hs1.signed(hs2.name, hs2.sk, "GET", "/_matrix/federation/v1/event/" + q(after))
    t.ok(s == 200 and j["pdus"][0].get("content", {}).get("body") == "after the invite",
         "hs2 (its user invited) reads an event sent after the invite", (s, j))
    s, j = hs1.signed(hs2.name, hs2.sk, "GET", "/_matrix/federation/v1/state_ids/%s?event_id=%s" % (
        q(priv), q(after)))
    t.ok(s == 200 and j.get("pdu_ids"), "... and the state at it", (s, j))
    s, j = hs1.signed(hs2.name, hs2.sk, "GET", "/_matrix/federation/v1/event/" + q(before))
    t.ok(s == 403 and j.get("errcode") == "M_FORBIDDEN",
         "but not one from before the invite (hs2 has no member joined, so nothing pruned is given)", (s, j))
    s, j = hs1.signed(hs2.name, hs2.sk, "GET", "/_matrix/federation/v1/backfill/%s?v=%s&limit=5" % (
        q(priv), q(after)))
    t.ok(s == 403, "an invited server may not backfill (it is not in the room)", (s, j))

    for hs in servers:
        log = hs.log()
        t.ok("sig=" not in log and fedhs.SECRET not in log, "%s log has no signatures or secrets" % hs.host)
except Exception:  # noqa: BLE001
    t.ok(False, "test run raised", traceback.format_exc())
finally:
    stopped = [hs.stop() for hs in servers]
    if peer:
        peer.stop()
    if stopped:
        t.ok(all(rc == 0 for rc in stopped), "scopd instances stop cleanly", stopped)
    if t.failed:
        for hs in servers:
            sys.stderr.write(hs.log()[-3000:])
    backend[2]()
    if not os.environ.get("KEEP"):
        shutil.rmtree(work, ignore_errors=True)
t.done()
