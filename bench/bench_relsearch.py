#!/usr/bin/python3
"""bench_relsearch.py [BUILDDIR]: starts scopd (SQLite in a temp dir, or a
fresh PostgreSQL database with BENCH_PG_DSN=<conninfo>), fills one room
with BENCH_MESSAGES (default 3000) messages, a quarter of them reactions
or thread replies to 20 roots, and measures sequential requests/s and mean
latency of GET /relations, GET /threads and POST /search (rank and recent)
over one keep-alive HTTP/1.1 connection, and scopd's CPU time per
request.  Then GET /messages (limit 30)
in a room where every event is a thread root (with a reply and an edit:
bundles), a reply or an edit, against a room of plain messages (nothing to
bundle), BENCH_ROUNDS (default 1) times each.  BENCH_MESSAGES=0 skips
the first part.  Run it with an older BUILDDIR to compare with a scopd
that did not bundle.  Prints figures; exits 0."""
import http.client
import json
import os
import shutil
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
from test_rooms_common import C, Server  # noqa: E402

MESSAGES = int(os.environ.get("BENCH_MESSAGES", "3000"))
V1 = "/_matrix/client/v1"
WORDS = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima".split()


def main():
    tmp = tempfile.mkdtemp(prefix="scop-bench-relsearch-")
    dsn = os.environ.get("BENCH_PG_DSN")
    if dsn:
        import subprocess
        name = "scop_bench_relsearch_%d" % os.getpid()
        subprocess.run(["psql", "-q", dsn, "-c", "CREATE DATABASE %s" % name], check=True)
        db = "{name: psycopg2, args: {dsn: %s, database: %s}}" % (json.dumps(dsn), name)
    else:
        db = "{name: sqlite3, args: {database: %s}}" % json.dumps(os.path.join(tmp, "b.db"))
    srv = Server(tmp, "postgres" if dsn else "sqlite", db)
    try:
        _, tok = srv.register("bench")
        h = {"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
        conn = http.client.HTTPConnection("127.0.0.1", srv.port)

        def call(method, path, body=None):
            conn.request(method, path, json.dumps(body) if body is not None else None, h)
            r = conn.getresponse()
            data = r.read()
            assert r.status == 200, (r.status, data)
            return json.loads(data)

        rid = call("POST", C + "/createRoom", {})["room_id"]
        q = urllib.parse.quote(rid, safe="")
        roots = []
        t0 = time.time()
        for i in range(MESSAGES):
            body = {"msgtype": "m.text",
                    "body": " ".join(WORDS[(i * k) % len(WORDS)] for k in (1, 3, 7)) + " %d" % i}
            typ = "m.room.message"
            if roots and i % 4 == 1:
                body = {"m.relates_to": {"rel_type": "m.annotation", "event_id": roots[i % len(roots)],
                                         "key": str(i)}}
                typ = "m.reaction"
            elif roots and i % 4 == 2:
                body["m.relates_to"] = {"rel_type": "m.thread", "event_id": roots[i % len(roots)]}
            ev = call("PUT", C + "/rooms/%s/send/%s/b%d" % (q, typ, i), body)["event_id"]
            if len(roots) < 20 and typ == "m.room.message" and "m.relates_to" not in body:
                roots.append(ev)
        print("# filled %d events in %.1f s" % (MESSAGES, time.time() - t0))

        def server_cpu():
            # scopd's user+system CPU seconds: steadier than wall time on
            # a shared machine, and free of this client's own cost.
            f = open("/proc/%d/stat" % srv.proc.p.pid).read().rsplit(")", 1)[1].split()
            return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

        def bench(label, method, path_fn, body=None, n=300):
            t, c = time.time(), server_cpu()
            for i in range(n):
                call(method, path_fn(i), body)
            dt, dc = time.time() - t, server_cpu() - c
            print("%-44s %8.0f req/s  %6.2f ms  (server CPU %.2f ms)"
                  % (label, n / dt, dt / n * 1000, dc / n * 1000))

        if roots:  # (BENCH_MESSAGES=0: only the /messages part)
            bench("GET /relations (limit 20)", "GET", lambda i: V1 + "/rooms/%s/relations/%s?limit=20"
                  % (q, urllib.parse.quote(roots[i % len(roots)], safe="")))
            bench("GET /relations/m.thread (limit 5)", "GET",
                  lambda i: V1 + "/rooms/%s/relations/%s/m.thread?limit=5"
                  % (q, urllib.parse.quote(roots[i % len(roots)], safe="")))
            bench("GET /threads (limit 10)", "GET", lambda i: V1 + "/rooms/%s/threads?limit=10" % q)
            for order in ("rank", "recent"):
                bench("POST /search 2 words, order %s (limit 10)" % order, "POST",
                      lambda i: C + "/search",
                      {"search_categories": {"room_events": {"search_term": "alpha delta",
                                                             "order_by": order}}})

        def room_of(kind, n=300):
            rid2 = call("POST", C + "/createRoom", {})["room_id"]
            q2 = urllib.parse.quote(rid2, safe="")
            last = None
            for i in range(n):
                body = {"msgtype": "m.text", "body": "%s %d" % (kind, i)}
                if kind == "bundled" and i % 3 == 1:
                    body["m.relates_to"] = {"rel_type": "m.thread", "event_id": last}
                elif kind == "bundled" and i % 3 == 2:
                    body["m.new_content"] = {"msgtype": "m.text", "body": "edited %d" % i}
                    body["m.relates_to"] = {"rel_type": "m.replace", "event_id": last}
                ev = call("PUT", C + "/rooms/%s/send/m.room.message/%s%d" % (q2, kind, i),
                          body)["event_id"]
                if i % 3 == 0:
                    last = ev
            return q2

        rooms = {}
        for kind in ("plain", "bundled"):
            rooms[kind] = room_of(kind)
        # BENCH_ROUNDS alternates the two, to compare them under the same load.
        for _ in range(int(os.environ.get("BENCH_ROUNDS", "1"))):
            for kind, q2 in rooms.items():
                j = call("GET", C + "/rooms/%s/messages?dir=b&limit=30" % q2)
                nb = sum(1 for e in j["chunk"] if "m.relations" in e.get("unsigned", {}))
                bench("GET /messages limit 30, %s (%d bundles)" % (kind, nb), "GET",
                      lambda i, q2=q2: C + "/rooms/%s/messages?dir=b&limit=30" % q2)
        conn.close()
    finally:
        srv.stop()
        if dsn:
            import subprocess
            subprocess.run(["psql", "-q", dsn, "-c", "DROP DATABASE IF EXISTS %s" % name])
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
