#!/usr/bin/python3
"""The room DAG across servers: soft-failed events and forks with gaps.

One scopd (on SQLite, and on PostgreSQL with SCOP_TEST_PG_DSN) and the
Python peer (tests/federation/fedpeer.py, Synapse's signedjson) as a
second server whose users @x and @y join a room of scopd's bob.

Soft failure (server-server API, "Soft failure"): bob bans @x; the peer
then sends C, a message of @x citing the event before the ban.  C passes
the auth checks against the state at it but not against the current
state: it is soft-failed, kept in the DAG but out of the timeline, the
forward extremities and clients' views.  Events citing C are processed
normally, with no gap: E (@x again, citing C only) soft-fails too, D (@y,
citing C only) is accepted and opens a fork whose resolved state keeps the
ban, F (@y, citing the ban and D) closes it; no get_missing_events and no
/state_ids is asked for any of them.

A fork on the peer's side: M cites P1 (@x renames itself) and P2 (@y
joins), neither of which scopd has; get_missing_events gives nothing, so
scopd asks /state_ids at each of them and resolves the two states: the
room then has both changes.  Then N cites M (known) and Q (not): scopd
asks for Q (get_missing_events), then for the state at it, and resolves it
with the state after M, rather than going on with M's alone."""
import os
import shutil
import sys
import tempfile
import traceback

sys.path.insert(0, os.path.dirname(__file__))
from scoptest import Tap, SRCDIR, free_port  # noqa: E402
from test_rooms_common import backends  # noqa: E402

sys.path.insert(0, os.path.join(SRCDIR, "tests", "federation"))
import fedpeer  # noqa: E402
from fedhs import HS, make_pki, q  # noqa: E402
from make_pdu_vectors import sign_pdu  # noqa: E402

t = Tap()
work = tempfile.mkdtemp(prefix="scop-feddag-")


def pdu(room_id, sender, type_, content, prevs, auths, depth, state_key=None):
    ev = {"room_id": room_id, "sender": sender, "type": type_, "content": content, "prev_events": prevs,
          "auth_events": auths, "depth": depth, "origin_server_ts": fedpeer.now_ms()}
    if state_key is not None:
        ev["state_key"] = state_key
    return ev


def soft_failure(tag, database):
    peer = fedpeer.Peer(os.path.join(work, "peer.dag.test.crt"), os.path.join(work, "peer.dag.test.key")).start()
    hs = None
    try:
        PEER = "peer.dag.test:%d" % peer.port
        fport = free_port()
        overrides = ["peer.dag.test:%d:127.0.0.1:%d" % (peer.port, peer.port),
                     "hs.dag.test:%d:127.0.0.1:%d" % (fport, fport)]
        hs = HS(work, "hs.dag.test", fport, overrides, sub="hs-" + tag, backoff=None,
                database=database if tag == "postgres" else None)
        pk = peer.key_for(PEER)
        txn = [0]

        def send(*pdus):
            txn[0] += 1
            s, j = hs.signed(PEER, pk, "PUT", "/_matrix/federation/v1/send/%s%d" % (tag, txn[0]),
                             {"origin": PEER, "origin_server_ts": fedpeer.now_ms(), "pdus": list(pdus)})
            return s, (j or {}).get("pdus", {})

        def join(user, in_room=None, sent=True):
            s, j = hs.signed(PEER, pk, "GET", "/_matrix/federation/v1/make_join/%s/%s?ver=10" %
                             (q(in_room or room), q(user)))
            ev = (j or {}).get("event", {})
            eid = sign_pdu(ev, PEER, pk)
            if not sent:
                return eid, ev
            s, res = send(ev)
            return eid if s == 200 and res.get(eid) == {} else None

        bob, tok = hs.register("bob")
        _, j = hs.client("POST", "/_matrix/client/v3/createRoom", {"preset": "public_chat", "room_version": "10"},
                         tok)
        room = j["room_id"]
        x, y = "@x:" + PEER, "@y:" + PEER
        xjoin = join(x)
        yjoin = join(y)
        t.ok(xjoin and yjoin, "[%s] the peer's @x and @y join bob's room" % tag, (xjoin, yjoin))
        ids = hs.state_ids(tok, room)
        create, pl = ids[("m.room.create", "")], ids[("m.room.power_levels", "")]
        s, j = hs.client("POST", "/_matrix/client/v3/rooms/%s/ban" % q(room), {"user_id": x, "reason": "test"},
                         tok)
        ban = hs.state_ids(tok, room).get(("m.room.member", x))
        t.ok(s == 200 and ban and ban not in (xjoin, yjoin), "[%s] bob bans @x" % tag, (s, j))

        # C: @x speaks, citing y's join (before the ban).
        c = pdu(room, x, "m.room.message", {"msgtype": "m.text", "body": "C evades the ban"}, [yjoin],
                [create, pl, xjoin], 50)
        cid = sign_pdu(c, PEER, pk)
        s, res = send(c)
        log = hs.log()
        t.ok(s == 200 and res.get(cid) == {} and ("PDU %s in %s: soft-fail" % (cid, room)) in log,
             "[%s] C (the banned @x citing the state before the ban) is soft-failed and acknowledged" % tag,
             (s, res))

        # E: @x again, citing C only: no gap, soft-failed in turn.
        e = pdu(room, x, "m.room.message", {"msgtype": "m.text", "body": "E after C"}, [cid],
                [create, pl, xjoin], 51)
        eid = sign_pdu(e, PEER, pk)
        s, res = send(e)
        log = hs.log()
        t.ok(s == 200 and res.get(eid) == {} and ("PDU %s in %s: soft-fail" % (eid, room)) in log,
             "[%s] E citing only C is processed (soft-failed too), not taken for a gap" % tag, (s, res))

        # D: @y citing C only: accepted, a fork beside the ban.
        d = pdu(room, y, "m.room.message", {"msgtype": "m.text", "body": "D on the C branch"}, [cid],
                [create, pl, yjoin], 51)
        did = sign_pdu(d, PEER, pk)
        s, res = send(d)
        log = hs.log()
        t.ok(s == 200 and res.get(did) == {} and ("PDU %s in %s: accept" % (did, room)) in log,
             "[%s] D of @y citing only C is accepted" % tag, (s, res))
        with peer.lock:
            asks = list(peer.missing_asks)
        t.ok(not asks and "get_missing_events" not in log and "no state at" not in log and
             "state at $" not in log,
             "[%s] ... with no get_missing_events or /state_ids for C, E or D" % tag, asks)
        ids = hs.state_ids(tok, room)
        s, mx = hs.client("GET", "/_matrix/client/v3/rooms/%s/state/m.room.member/%s" % (q(room), q(x)),
                          token=tok)
        t.ok(ids.get(("m.room.member", x)) == ban and mx.get("membership") == "ban",
             "[%s] the current state (the fork resolved) still has @x banned" % tag, (s, mx))

        # F: @y closes the fork.
        f = pdu(room, y, "m.room.message", {"msgtype": "m.text", "body": "F merges"}, [ban, did],
                [create, pl, yjoin], 52)
        fid = sign_pdu(f, PEER, pk)
        s, res = send(f)
        t.ok(s == 200 and res.get(fid) == {}, "[%s] F of @y citing the ban and D is accepted" % tag, (s, res))

        bodies = hs.bodies(tok, room)
        t.ok(bodies[:2] == ["F merges", "D on the C branch"] and "C evades the ban" not in bodies and
             "E after C" not in bodies,
             "[%s] /messages shows D and F, never the soft-failed C and E" % tag, bodies)
        s, j = hs.client("GET", "/_matrix/client/v3/sync", token=tok)
        tl = [ev.get("event_id") for ev in j.get("rooms", {}).get("join", {}).get(room, {})
              .get("timeline", {}).get("events", [])]
        t.ok(s == 200 and did in tl and fid in tl and cid not in tl and eid not in tl,
             "[%s] /sync's timeline has D and F, not C or E" % tag, tl)
        s1, _ = hs.client("GET", "/_matrix/client/v3/rooms/%s/event/%s" % (q(room), q(cid)), token=tok)
        s2, _ = hs.client("GET", "/_matrix/client/v3/rooms/%s/context/%s" % (q(room), q(cid)), token=tok)
        t.ok(s1 == 404 and s2 == 404, "[%s] GET /event and /context of C are 404" % tag, (s1, s2))

        # Over federation C is an event like any other (spec: soft-failed
        # events are returned where appropriate), with the state before it.
        s1, j1 = hs.signed(PEER, pk, "GET", "/_matrix/federation/v1/event/" + q(cid))
        s2, j2 = hs.signed(PEER, pk, "GET", "/_matrix/federation/v1/state_ids/%s?event_id=%s" % (q(room), q(cid)))
        t.ok(s1 == 200 and (j1 or {}).get("pdus", [{}])[0].get("content", {}).get("body") == "C evades the ban" and
             s2 == 200 and xjoin in (j2 or {}).get("pdu_ids", []) and ban not in (j2 or {}).get("pdu_ids", []),
             "[%s] GET /event and /state_ids of C answer it and the state before it (@x joined)" % tag,
             (s1, s2, j2))

        # bob's next event cites F alone: C and E never became extremities.
        s, j = hs.send(tok, room, "after the merge", "m1")
        mid = (j or {}).get("event_id")
        sent = hs.wait(lambda: [p for tx in peer.txns for p in tx["pdus"]
                                if p.get("content", {}).get("body") == "after the merge"])
        t.ok(sent and sent[0].get("prev_events") == [fid],
             "[%s] bob's next event cites F only (soft-failed events are no forward extremities)" % tag,
             (mid, sent and sent[0].get("prev_events")))

        # ---- a fork on the peer's side: M cites P1 and P2, both unknown ----
        _, j = hs.client("POST", "/_matrix/client/v3/createRoom", {"preset": "public_chat", "room_version": "10"},
                         tok)
        room = j["room_id"]
        xjoin = join(x)
        ids = hs.state_ids(tok, room)
        p2id, p2 = join(y, sent=False)  # @y joins on one branch,
        p1 = pdu(room, x, "m.room.member", {"membership": "join", "displayname": "P1 name"}, [xjoin],
                 [ids[("m.room.create", "")], ids[("m.room.power_levels", "")], ids[("m.room.join_rules", "")],
                  xjoin], p2["depth"], state_key=x)  # @x renames itself on the other
        p1id = sign_pdu(p1, PEER, pk)
        m = pdu(room, x, "m.room.message", {"msgtype": "m.text", "body": "M after the fork"}, [p1id, p2id],
                [ids[("m.room.create", "")], ids[("m.room.power_levels", "")], p1id], p2["depth"] + 1)
        mid = sign_pdu(m, PEER, pk)
        with peer.lock:
            peer.missing_events = []
            for eid, ev in ((p1id, p1), (p2id, p2)):
                peer.state_ids[eid] = {"pdu_ids": list(ids.values()), "auth_chain_ids": []}
                peer.events[eid] = ev
        s, res = send(m)
        log = hs.log()
        t.ok(s == 200 and res.get(mid) == {} and ("state at %s in" % p1id) in log and
             ("state at %s in" % p2id) in log,
             "[%s] M citing two prev events this server lacks: the state at each is fetched" % tag, (s, res))
        now = hs.state_ids(tok, room)
        s, mx = hs.client("GET", "/_matrix/client/v3/rooms/%s/state/m.room.member/%s" % (q(room), q(x)), token=tok)
        t.ok(now.get(("m.room.member", y)) == p2id and now.get(("m.room.member", x)) == p1id and
             mx.get("displayname") == "P1 name",
             "[%s] ... and resolved: the state has both branches (@y's join and @x's new name)" % tag, (now, mx))
        s, j = hs.client("GET", "/_matrix/client/v3/rooms/%s/joined_members" % q(room), token=tok)
        t.ok(s == 200 and y in (j or {}).get("joined", {}), "[%s] ... @y is a joined member" % tag, (s, j))
        bodies = hs.bodies(tok, room)
        t.ok(bodies[:1] == ["M after the fork"], "[%s] ... and M is in the timeline" % tag, bodies)
        s, j = hs.send(tok, room, "after the fork", "m2")
        sent = hs.wait(lambda: [p for tx in peer.txns for p in tx["pdus"]
                                if p.get("content", {}).get("body") == "after the fork"])
        # (@x's join stays an extremity: P1 and P2 are outliers here, as in
        # Synapse, so nothing in the timeline cites it.)
        prevs = sent and sent[0].get("prev_events") or []
        t.ok(mid in prevs and p1id not in prevs and p2id not in prevs,
             "[%s] bob's next event cites M, not the fetched P1 and P2" % tag, prevs)

        # ---- one prev known, one not: N cites M and Q (@x renames again) ----
        ids = hs.state_ids(tok, room)
        qev = pdu(room, x, "m.room.member", {"membership": "join", "displayname": "Q name"}, [mid],
                  [ids[("m.room.create", "")], ids[("m.room.power_levels", "")], ids[("m.room.join_rules", "")],
                   p1id], m["depth"] + 1, state_key=x)
        qid = sign_pdu(qev, PEER, pk)
        n = pdu(room, x, "m.room.message", {"msgtype": "m.text", "body": "N after M and Q"}, [mid, qid],
                [ids[("m.room.create", "")], ids[("m.room.power_levels", "")], qid], m["depth"] + 2)
        nid = sign_pdu(n, PEER, pk)
        with peer.lock:
            peer.state_ids[qid] = {"pdu_ids": list(ids.values()), "auth_chain_ids": []}
            peer.events[qid] = qev
            asked = len(peer.missing_asks)
        s, res = send(n)
        with peer.lock:
            asks = peer.missing_asks[asked:]
        log = hs.log()
        s2, mx = hs.client("GET", "/_matrix/client/v3/rooms/%s/state/m.room.member/%s" % (q(room), q(x)), token=tok)
        t.ok(s == 200 and res.get(nid) == {} and [a.get("latest_events") for a in asks] == [[nid]] and
             ("state at %s in" % qid) in log and mx.get("displayname") == "Q name",
             "[%s] N citing M (known) and Q (not): Q is asked for, then the state at it, and resolved with M's "
             "(@x's new name)" % tag, (s, res, asks, mx))
    finally:
        if hs:
            t.ok(hs.stop() == 0, "[%s] scopd stops cleanly" % tag)
            if t.failed:
                sys.stderr.write(hs.log()[-4000:])
        peer.stop()


cleanups = []
try:
    make_pki(work, ["hs.dag.test", "peer.dag.test"])
    for name, database, cleanup in backends(work, "feddag"):
        cleanups.append(cleanup)
        soft_failure(name, database)
except Exception:  # noqa: BLE001
    t.ok(False, "test run raised", traceback.format_exc())
finally:
    for c in cleanups:
        c()
    shutil.rmtree(work, ignore_errors=True)
t.done()
