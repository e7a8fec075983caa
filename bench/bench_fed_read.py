#!/usr/bin/python3
"""bench_fed_read.py [BUILDDIR]: starts scopd (SQLite in a temp dir, or a
fresh PostgreSQL database with BENCH_PG_DSN=<conninfo>) with a TLS
federation listener, and the Python federation peer (fedpeer.py) as the
asking server.  Fills a world-readable room with BENCH_MESSAGES (default
1000) messages, then measures over one keep-alive TLS connection, with
X-Matrix signing by signedjson done before the clock starts:
  - backfilling the whole room, 100 events a request (the cap), walking
    back from the newest event;
  - GET /state_ids and /state at the newest event, and in a room with
    BENCH_STATE_EVENTS (default 1000) state events;
  - POST /get_missing_events of 100 events.
Prints figures; exits 0."""
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                        os.environ.get("SCOP_BUILDDIR", os.path.join(SRC, "build")))
os.environ["SCOP_BUILDDIR"] = BUILD
os.environ["SCOP_SRCDIR"] = SRC
sys.path.insert(0, os.path.join(SRC, "tests", "e2e"))
sys.path.insert(0, os.path.join(SRC, "tests", "federation"))
from scoptest import free_port  # noqa: E402
import fedpeer  # noqa: E402
from fedhs import HS, make_pki, xmatrix  # noqa: E402

MESSAGES = int(os.environ.get("BENCH_MESSAGES", "1000"))
STATE_EVENTS = int(os.environ.get("BENCH_STATE_EVENTS", "1000"))
q = urllib.parse.quote


class Conn:
    """One keep-alive TLS connection; requests signed before timing."""

    def __init__(self, hs, origin, sk):
        self.hs, self.origin, self.sk = hs, origin, sk
        self.c = http.client.HTTPSConnection("127.0.0.1", hs.fport, context=hs.ctx, timeout=60)

    def sign(self, method, path, body=None):
        return (method, path, body, xmatrix(self.origin, self.sk, method, path, body, self.hs.name))

    def do(self, req):
        method, path, body, auth = req
        h = {"Host": self.hs.name, "Authorization": auth}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        self.c.request(method, path, body=data, headers=h)
        r = self.c.getresponse()
        text = r.read()
        assert r.status == 200, (r.status, text[:300])
        return json.loads(text), len(text)


def main():
    work = tempfile.mkdtemp(prefix="scop-bench-fedread-")
    dsn = os.environ.get("BENCH_PG_DSN")
    name = None
    if dsn:
        name = "scop_bench_fedread_%d" % os.getpid()
        subprocess.run(["psql", "-q", dsn, "-c", "CREATE DATABASE %s" % name], check=True)
        db = "{name: psycopg2, args: {dsn: %s, database: %s}}" % (json.dumps(dsn), name)
    else:
        db = "{name: sqlite3, args: {database: %s}}" % json.dumps(os.path.join(work, "b.db"))
    peer = hs = None
    try:
        make_pki(work, ["hs.fed.test", "good.fed.test"])
        peer = fedpeer.Peer(os.path.join(work, "good.fed.test.crt"),
                            os.path.join(work, "good.fed.test.key")).start()
        origin = "good.fed.test:%d" % peer.port
        port = free_port()
        hs = HS(work, "hs.fed.test", port, ["hs.fed.test:%d:127.0.0.1:%d" % (port, port),
                                            "good.fed.test:%d:127.0.0.1:%d" % (peer.port, peer.port)],
                database=db, sub="hs", backoff=None)
        _, tok = hs.signup("bench")
        s, j = hs.client("POST", "/_matrix/client/v3/createRoom", {
            "preset": "public_chat", "initial_state": [{"type": "m.room.history_visibility", "state_key": "",
                                                         "content": {"history_visibility": "world_readable"}}]},
            token=tok)
        room = j["room_id"]
        c = http.client.HTTPConnection("127.0.0.1", hs.cport, timeout=60)
        t0 = time.monotonic()
        last = None
        for i in range(MESSAGES):
            c.request("PUT", "/_matrix/client/v3/rooms/%s/send/m.room.message/t%d" % (q(room), i),
                      body=json.dumps({"msgtype": "m.text", "body": "message %d" % i}).encode(),
                      headers={"Authorization": "Bearer " + tok, "Content-Type": "application/json"})
            r = c.getresponse()
            last = json.loads(r.read())["event_id"]
        fill = time.monotonic() - t0
        print("setup: %d messages sent in %.2f s (%s)" % (MESSAGES, fill, "postgres" if dsn else "sqlite"))

        conn = Conn(hs, origin, peer.key_for(origin))
        conn.do(conn.sign("GET", "/_matrix/federation/v1/version"))  # the key fetch happens here

        # Backfill the whole room.  Each answer starts with its v event, so
        # the next request starts from the oldest event of the last one.
        # Signing needs the path, which needs the last answer: sign inside
        # the loop but keep it out of the clock.
        seen, v, requests, spent, nbytes = set(), last, 0, 0.0, 0
        while True:
            req = conn.sign("GET", "/_matrix/federation/v1/backfill/%s?v=%s&limit=100" % (q(room), q(v)))
            t0 = time.monotonic()
            j, n = conn.do(req)
            spent += time.monotonic() - t0
            nbytes += n
            requests += 1
            new = [p for p in j["pdus"] if json.dumps(p, sort_keys=True) not in seen]
            for p in j["pdus"]:
                seen.add(json.dumps(p, sort_keys=True))
            if not new or j["pdus"][-1]["type"] == "m.room.create":
                break
            oldest = j["pdus"][-1]
            v = oldest["prev_events"][0]
        print("backfill: %d events in %d requests of up to 100: %.3f s, %.0f events/s, %.0f KiB" %
              (len(seen), requests, spent, len(seen) / spent, nbytes / 1024))

        for what, path in (("state_ids", "/_matrix/federation/v1/state_ids/%s?event_id=%s" % (q(room), q(last))),
                           ("state", "/_matrix/federation/v1/state/%s?event_id=%s" % (q(room), q(last)))):
            reqs = [conn.sign("GET", path) for _ in range(200)]
            t0 = time.monotonic()
            for r in reqs:
                conn.do(r)
            dt = time.monotonic() - t0
            print("%s: %d requests in %.3f s, %.0f requests/s" % (what, len(reqs), dt, len(reqs) / dt))

        # A room with many state events: /state_ids walks them and their
        # auth chains (read in batches of the store's ROOM_STORE_BATCH).
        s, j = hs.client("POST", "/_matrix/client/v3/createRoom", {
            "preset": "public_chat", "initial_state": [{"type": "m.room.history_visibility", "state_key": "",
                                                         "content": {"history_visibility": "world_readable"}}]},
            token=tok)
        big = j["room_id"]
        for i in range(STATE_EVENTS):
            c.request("PUT", "/_matrix/client/v3/rooms/%s/state/org.example.item/k%d" % (q(big), i),
                      body=json.dumps({"n": i}).encode(),
                      headers={"Authorization": "Bearer " + tok, "Content-Type": "application/json"})
            r = c.getresponse()
            big_last = json.loads(r.read())["event_id"]
        c.request("PUT", "/_matrix/client/v3/rooms/%s/send/m.room.message/big" % q(big),
                  body=json.dumps({"msgtype": "m.text", "body": "after"}).encode(),
                  headers={"Authorization": "Bearer " + tok, "Content-Type": "application/json"})
        r = c.getresponse()
        big_last = json.loads(r.read())["event_id"]
        for what in ("state_ids", "state"):
            path = "/_matrix/federation/v1/%s/%s?event_id=%s" % (what, q(big), q(big_last))
            reqs = [conn.sign("GET", path) for _ in range(20)]
            t0 = time.monotonic()
            for r in reqs:
                j, n = conn.do(r)
            dt = time.monotonic() - t0
            print("%s of a room with %d state events: %d requests in %.3f s, %.1f ms each, %.0f KiB" %
                  (what, len(j.get("pdu_ids", j.get("pdus", []))), len(reqs), dt, 1000 * dt / len(reqs),
                   n / 1024))

        body = {"earliest_events": [], "latest_events": [last], "limit": 100}
        reqs = [conn.sign("POST", "/_matrix/federation/v1/get_missing_events/" + q(room), body) for _ in range(50)]
        t0 = time.monotonic()
        for r in reqs:
            j, _ = conn.do(r)
        dt = time.monotonic() - t0
        print("get_missing_events (100 events each): %d requests in %.3f s, %.0f requests/s, %.0f events/s" %
              (len(reqs), dt, len(reqs) / dt, len(reqs) * len(j["events"]) / dt))
    finally:
        if hs:
            hs.proc.stop(timeout=20)
        if peer:
            peer.stop()
        if name:
            subprocess.run(["psql", "-q", dsn, "-c", "DROP DATABASE IF EXISTS %s" % name], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
