#!/usr/bin/python3
"""bench_federation.py [BUILDDIR]: federation figures for scopd.

1. Inbound PDUs/s through PUT /_matrix/federation/v1/send: a Python peer
   (tests/federation/fedpeer.py, keys and signatures by Synapse's
   signedjson) joins a room of scopd, then sends BENCH_PDUS (default
   2000) chained messages in transactions of 50, one in flight at a time
   as a real sender does.  Every PDU goes through the full receipt checks
   (signature with the fetched key, content hash, auth events, state
   before, current state) and is stored.  Signing happens before the
   clock starts.
2. The time for a second scopd to join a room whose state has
   BENCH_MEMBERS members (default "1000,2000"; a comma list), served by
   the first: POST /join on hs2 -> make_join, send_join (state and auth
   chain), checks of every returned event, adoption.  The members are
   remote joins sent by the peer beforehand; that set-up time is printed
   too (it is the resident side's cost of taking in joins).

Prints figures; exits 0.  The release build is what to measure.
"""
import os
import shutil
import sys
import tempfile
import time
import urllib.parse

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SCOP_BUILDDIR",
                                                                              os.path.join(SRC, "build")))
os.environ["SCOP_BUILDDIR"] = BUILD
sys.path.insert(0, os.path.join(SRC, "tests", "federation"))
sys.path.insert(0, os.path.join(SRC, "tests", "e2e"))
import fedhs  # noqa: E402
import fedpeer  # noqa: E402
from make_pdu_vectors import sign_pdu  # noqa: E402
from scoptest import free_port  # noqa: E402

PDUS = int(os.environ.get("BENCH_PDUS", "2000"))
MEMBERS = [int(x) for x in os.environ.get("BENCH_MEMBERS", "1000,2000").split(",") if x]
q = fedhs.q


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def cpu_s(pid):
    """User + system CPU seconds of a process so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    work = tempfile.mkdtemp(prefix="scop-benchfed-")
    servers, peer = [], None
    try:
        fedhs.make_pki(work, ["hs1.fed.test", "hs2.fed.test", "good.fed.test"])
        peer = fedpeer.Peer(os.path.join(work, "good.fed.test.crt"), os.path.join(work, "good.fed.test.key")).start()
        PEER = "good.fed.test:%d" % peer.port
        pk = peer.key_for(PEER)
        p1, p2 = free_port(), free_port()
        overrides = ["hs1.fed.test:%d:127.0.0.1:%d" % (p1, p1), "hs2.fed.test:%d:127.0.0.1:%d" % (p2, p2),
                     "good.fed.test:%d:127.0.0.1:%d" % (peer.port, peer.port)]
        hs1 = fedhs.HS(work, "hs1.fed.test", p1, overrides, log_level="warning")
        servers.append(hs1)
        alice, atok = hs1.register("alice")

        def room_with_peer(user):
            s, j = hs1.client("POST", "/_matrix/client/v3/createRoom", {"preset": "public_chat",
                                                                       "room_version": "10"}, token=atok)
            room = j["room_id"]
            st = {(e["type"], e["state_key"]): e["event_id"] for e in hs1.state(atok, room)[1]}
            path = "/_matrix/federation/v1/make_join/%s/%s?ver=10" % (q(room), q(user))
            s, j = hs1.signed(PEER, pk, "GET", path)
            tmpl = j["event"]
            jid = sign_pdu(tmpl, PEER, pk)
            s, j = hs1.signed(PEER, pk, "PUT", "/_matrix/federation/v1/send/j%d" % time.time_ns(),
                              {"origin": PEER, "origin_server_ts": 1, "pdus": [tmpl]})
            assert j["pdus"][jid] == {}, j
            return room, st, jid, tmpl["depth"]

        def send_all(pdus, tag):
            t0 = time.monotonic()
            for i in range(0, len(pdus), 50):
                path = "/_matrix/federation/v1/send/%s%d" % (tag, i)
                s, j = hs1.signed(PEER, pk, "PUT", path, {"origin": PEER, "origin_server_ts": fedpeer.now_ms(),
                                                          "pdus": pdus[i:i + 50]})
                assert s == 200 and all(v == {} for v in j["pdus"].values()), (s, j)
            return time.monotonic() - t0

        # ---- 1. inbound PDUs/s ----
        user = "@peer:" + PEER
        room, st, prev, depth = room_with_peer(user)
        member = prev
        pdus = []
        for i in range(PDUS):
            depth += 1
            ev = {"room_id": room, "sender": user, "type": "m.room.message",
                  "content": {"msgtype": "m.text", "body": "pdu %d" % i}, "prev_events": [prev],
                  "auth_events": [st[("m.room.create", "")], st[("m.room.power_levels", "")], member],
                  "depth": depth, "origin_server_ts": fedpeer.now_ms()}
            prev = sign_pdu(ev, PEER, pk)
            pdus.append(ev)
        c0 = cpu_s(hs1.proc.p.pid)
        el = send_all(pdus, "m")
        cpu = cpu_s(hs1.proc.p.pid) - c0
        print("inbound /send: %d PDUs in %.2f s = %.0f PDUs/s (transactions of 50, one in flight); "
              "scopd CPU %.2f s = %.0f PDUs per CPU-second" % (PDUS, el, PDUS / el, cpu, PDUS / cpu if cpu else 0))

        # ---- 2. joining a big room ----
        hs2 = fedhs.HS(work, "hs2.fed.test", p2, overrides, log_level="warning")
        servers.append(hs2)
        _, btok = hs2.register("bob")
        for n in MEMBERS:
            room, st, prev, depth = room_with_peer("@m0:" + PEER)
            joins = []
            for i in range(1, n):
                depth += 1
                u = "@m%d:%s" % (i, PEER)
                ev = {"room_id": room, "sender": u, "type": "m.room.member", "state_key": u,
                      "content": {"membership": "join"}, "prev_events": [prev],
                      "auth_events": [st[("m.room.create", "")], st[("m.room.power_levels", "")],
                                      st[("m.room.join_rules", "")]], "depth": depth,
                      "origin_server_ts": fedpeer.now_ms()}
                prev = sign_pdu(ev, PEER, pk)
                joins.append(ev)
            c0 = cpu_s(hs1.proc.p.pid)
            el = send_all(joins, "r%d_" % n)
            cpu = cpu_s(hs1.proc.p.pid) - c0
            print("set-up: %d remote joins into one room on hs1 in %.1f s (%.0f joins/s; scopd CPU %.1f s)"
                  % (len(joins), el, len(joins) / el if el else 0, cpu))
            t0 = time.monotonic()
            c1, c2 = cpu_s(hs1.proc.p.pid), cpu_s(hs2.proc.p.pid)
            s, j = hs2.client("POST", "/_matrix/client/v3/join/%s?server_name=%s" % (q(room), q(hs1.name)), {},
                              token=btok)
            el = time.monotonic() - t0
            c1, c2 = cpu_s(hs1.proc.p.pid) - c1, cpu_s(hs2.proc.p.pid) - c2
            s2, jm = hs2.client("GET", "/_matrix/client/v3/rooms/%s/joined_members" % q(room), token=btok)
            print("join of a room with %d members from another scopd: %.2f s (status %d, %d members seen "
                  "on the joining side; CPU resident %.2f s, joiner %.2f s)"
                  % (n + 2, el, s, len((jm or {}).get("joined", {})), c1, c2))
        for hs in servers:
            print("%s peak RSS: %.1f MiB" % (hs.host, rss_kib(hs.proc.p.pid) / 1024))
    finally:
        for hs in servers:
            hs.stop()
        if peer:
            peer.stop()
        if not os.environ.get("KEEP"):
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
