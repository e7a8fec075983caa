#!/usr/bin/python3
"""bench_rooms.py [BUILDDIR]: starts scopd (SQLite in a temp dir, or a fresh
PostgreSQL database with BENCH_PG_DSN=<conninfo>) and measures, over plain
HTTP/1.1 keep-alive connections:

  - messages/s through PUT /rooms/{id}/send with 1 and 32 clients in one
    room, and 32 clients spread over 100 rooms;
  - /sync wake-up latency (p50/p99): the time from a send to the return of
    another member's long-poll, with no idle long-polls and then while N
    idle long-polls (BENCH_IDLE, default 1000) are parked on the server;
    split into the send's own time (until its 200) and what the wake-up
    adds after it;
  - the wake-up of 31 members long-polling the same room at once (time
    from the send's start to the first, median and last answer);
  - scopd's RSS before and with the idle long-polls (so RSS per long-poll)
    and its peak RSS.

BENCH_MESSAGES (default 2000) sets the messages per throughput run,
BENCH_THREADS (default 4) scopd's thread_pool_size, BENCH_ROUNDS (default
200) the wake-up samples per run.
Prints figures; exits 0.
"""
import asyncio
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SCOP_BUILDDIR", os.path.join(SRC, "build")))
MESSAGES = int(os.environ.get("BENCH_MESSAGES", "2000"))
IDLE = int(os.environ.get("BENCH_IDLE", "1000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "200"))
C = "/_matrix/client/v3"


class Conn:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, port):
        self.port = port
        self.r = self.w = None

    async def open(self):
        self.r, self.w = await asyncio.open_connection("127.0.0.1", self.port, limit=1 << 24)

    async def call(self, method, path, body=None, token=None):
        if not self.w:
            await self.open()
        data = json.dumps(body).encode() if body is not None else b""
        head = "%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n" % (method, path, len(data))
        if body is not None:
            head += "Content-Type: application/json\r\n"
        if token:
            head += "Authorization: Bearer %s\r\n" % token
        self.w.write(head.encode() + b"\r\n" + data)
        await self.w.drain()
        status = int((await self.r.readline()).split()[1])
        length, chunked = 0, False
        while True:
            line = (await self.r.readline()).strip()
            if not line:
                break
            k, _, v = line.decode().partition(":")
            if k.lower() == "content-length":
                length = int(v)
            elif k.lower() == "transfer-encoding" and "chunked" in v.lower():
                chunked = True
        if chunked:
            text = b""
            while True:
                n = int((await self.r.readline()).strip(), 16)
                if n == 0:
                    await self.r.readline()
                    break
                text += await self.r.readexactly(n)
                await self.r.readline()
        else:
            text = await self.r.readexactly(length)
        return status, (json.loads(text) if text else None)

    def close(self):
        if self.w:
            self.w.close()


def rss_kib(pid, field="VmRSS"):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


async def register(port, name):
    c = Conn(port)
    s, j = await c.call("POST", C + "/register", {"username": name, "password": "bench pass word",
                                                  "auth": {"type": "m.login.dummy"}})
    c.close()
    assert s == 200, (s, j)
    return j["user_id"], j["access_token"]


async def sender(port, token, rooms, n, tag):
    c = Conn(port)
    for i in range(n):
        rid = rooms[i % len(rooms)]
        s, j = await c.call("PUT", C + "/rooms/%s/send/m.room.message/%s-%d" % (rid, tag, i),
                            {"msgtype": "m.text", "body": "bench %d" % i}, token)
        assert s == 200, (s, j)
    c.close()


def cpu_s(pid):
    """scopd's user + system CPU time so far, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def throughput(port, pid, users, rooms_of, clients, label):
    per = max(1, MESSAGES // clients)
    cpu0 = cpu_s(pid)
    t0 = time.monotonic()
    await asyncio.gather(*(sender(port, users[i][1], rooms_of(i), per, "%s%d" % (label.replace(" ", ""), i))
                           for i in range(clients)))
    dt = time.monotonic() - t0
    cpu = cpu_s(pid) - cpu0
    print("send %-24s %6d msgs in %6.2f s: %7.0f msgs/s, scopd CPU %4.0f us/msg"
          % (label, per * clients, dt, per * clients / dt, cpu * 1e6 / (per * clients)), flush=True)


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * q))] * 1000


async def wake_latency(port, users, room, tag):
    """User 1 long-polls, user 0 sends into their room: per round the time
    from the send's start to the long-poll's answer (total), to the send's
    200 (send), and from the send's 200 to the long-poll's answer (wake,
    0 when the answer came first)."""
    a_tok, b_tok = users[0][1], users[1][1]
    cb, ca = Conn(port), Conn(port)
    s, j = await cb.call("GET", C + "/sync?filter=%s" % json.dumps({"room": {"timeline": {"limit": 1}}}).replace(" ", ""),
                         None, b_tok)
    since = j["next_batch"]
    total, send, wake = [], [], []
    for i in range(ROUNDS):
        done = {}

        async def poll():
            r = await cb.call("GET", C + "/sync?since=%s&timeout=30000" % since, None, b_tok)
            done["poll"] = time.monotonic()
            return r

        fut = asyncio.ensure_future(poll())
        await asyncio.sleep(0.01)
        t0 = time.monotonic()
        s, _ = await ca.call("PUT", C + "/rooms/%s/send/m.room.message/%s-%d" % (room, tag, i),
                             {"msgtype": "m.text", "body": "ping"}, a_tok)
        t1 = time.monotonic()
        assert s == 200
        s, j = await fut
        total.append(done["poll"] - t0)
        send.append(t1 - t0)
        wake.append(max(0.0, done["poll"] - t1))
        since = j["next_batch"]
    ca.close()
    cb.close()
    return ("total p50 %.2f / p99 %.2f ms; send p50 %.2f / p99 %.2f ms; wake after the send's 200 p50 %.2f / p99 %.2f ms"
            % (pct(total, 0.5), pct(total, 0.99), pct(send, 0.5), pct(send, 0.99), pct(wake, 0.5), pct(wake, 0.99)))


async def wake_fanout(port, users, room, tag, rounds=20):
    """Users 1..31 (all in the room) long-poll, user 0 sends: per round the
    time from the send's start until the first, the median and the last of
    the 31 long-polls has its answer."""
    polls = []
    for u in users[1:]:
        c = Conn(port)
        s, j = await c.call("GET", C + "/sync?filter=%s" % json.dumps({"room": {"timeline": {"limit": 1}}}).replace(" ", ""),
                            None, u[1])
        polls.append([c, u[1], j["next_batch"]])
    ca = Conn(port)
    first, median, last = [], [], []
    for i in range(rounds):
        done = []

        async def poll(p):
            s, j = await p[0].call("GET", C + "/sync?since=%s&timeout=30000" % p[2], None, p[1])
            done.append(time.monotonic())
            p[2] = j["next_batch"]

        futs = [asyncio.ensure_future(poll(p)) for p in polls]
        await asyncio.sleep(0.05)
        t0 = time.monotonic()
        s, _ = await ca.call("PUT", C + "/rooms/%s/send/m.room.message/%s-%d" % (room, tag, i),
                             {"msgtype": "m.text", "body": "all"}, users[0][1])
        assert s == 200
        await asyncio.gather(*futs)
        done.sort()
        first.append(done[0] - t0)
        median.append(done[len(done) // 2] - t0)
        last.append(done[-1] - t0)
    for p in polls:
        p[0].close()
    ca.close()
    return ("first p50 %.2f ms, median p50 %.2f ms, last p50 %.2f / p99 %.2f ms"
            % (pct(first, 0.5), pct(median, 0.5), pct(last, 0.5), pct(last, 0.99)))


async def main_async(port, pid):
    users = await asyncio.gather(*(register(port, "u%d" % i) for i in range(32)))
    c0 = Conn(port)
    s, j = await c0.call("POST", C + "/createRoom", {"preset": "public_chat"}, users[0][1])
    room = j["room_id"]
    for u in users[1:]:
        c = Conn(port)
        s, j = await c.call("POST", C + "/join/" + room, {}, u[1])
        assert s == 200, j
        c.close()
    # 100 rooms, each made by one of the 32 users (who sends into the ones it made)
    mine = {i: [] for i in range(32)}
    for k in range(100):
        i = k % 32
        c = Conn(port)
        s, j = await c.call("POST", C + "/createRoom", {"preset": "private_chat"}, users[i][1])
        mine[i].append(j["room_id"])
        c.close()

    await throughput(port, pid, users, lambda i: [room], 1, "1 client, one room")
    await throughput(port, pid, users, lambda i: [room], 32, "32 clients, one room")
    await throughput(port, pid, users, lambda i: mine[i], 32, "32 clients, 100 rooms")

    lat = await wake_latency(port, users, room, "lat0")
    print("sync wake-up with    0 idle long-polls: %s" % lat, flush=True)
    print("sync wake-up of 31 long-polling members by one send: %s"
          % await wake_fanout(port, users, room, "fan"), flush=True)

    # idle long-polls: one user with no rooms, IDLE connections
    idle_user, idle_tok = await register(port, "idle")
    ci = Conn(port)
    s, j = await ci.call("GET", C + "/sync", None, idle_tok)
    since_idle = j["next_batch"]
    ci.close()
    rss0 = rss_kib(pid)
    idle = []
    for _ in range(IDLE):
        c = Conn(port)
        try:
            await c.open()
        except OSError as e:
            print("could open only %d idle connections: %s" % (len(idle), e))
            break
        c.w.write(("GET %s/sync?since=%s&timeout=120000 HTTP/1.1\r\nHost: x\r\n"
                   "Authorization: Bearer %s\r\n\r\n" % (C, since_idle, idle_tok)).encode())
        idle.append(c)
    await asyncio.gather(*(c.w.drain() for c in idle))
    await asyncio.sleep(2)
    rss1 = rss_kib(pid)

    lat = await wake_latency(port, users, room, "idle%d" % len(idle))
    print("sync wake-up with %4d idle long-polls: %s" % (len(idle), lat), flush=True)
    print("scopd RSS: %d KiB before, %d KiB with %d idle long-polls (%.1f KiB each); peak %d KiB"
          % (rss0, rss1, len(idle), (rss1 - rss0) / max(1, len(idle)), rss_kib(pid, "VmHWM")))
    for c in idle:
        c.close()
    c0.close()


def main():
    scopd = os.path.join(BUILD, "scopd")
    if not os.path.exists(scopd):
        print("bench_rooms: no scopd in %s; build it first" % BUILD)
        return 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    tmp = tempfile.mkdtemp(prefix="scop-bench-rooms-")
    port = free_port()
    db = "{name: sqlite3, args: {database: %s/hs.db}}" % tmp
    pg = os.environ.get("BENCH_PG_DSN")
    name = "scop_bench_rooms_%d" % os.getpid()
    if pg:
        subprocess.run(["psql", "-q", pg, "-c", "CREATE DATABASE %s" % name], check=True)
        db = "{name: psycopg2, args: {dsn: %s, database: %s}}" % (json.dumps(pg), name)
    with open(os.path.join(tmp, "homeserver.yaml"), "w") as f:
        f.write("""server_name: bench.local
listeners: [{port: %d, type: http, bind_addresses: ['127.0.0.1']}]
database: %s
signing_key_path: %s/signing.key
enable_registration: true
log_level: %s
thread_pool_size: %s
password_hashing: {time_cost: 1, memory_kib: 256, parallelism: 1}
rc_registration: {per_second: 100000, burst_count: 100000}
""" % (port, db, tmp, os.environ.get("BENCH_LOG_LEVEL", "warning"), os.environ.get("BENCH_THREADS", "4")))
    log = open(os.path.join(tmp, "scopd.log"), "wb")
    p = subprocess.Popen([scopd, "-c", os.path.join(tmp, "homeserver.yaml")], stdout=log, stderr=log)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        print("bench_rooms: scopd on %s, thread_pool_size %s, %d messages per run"
              % ("PostgreSQL" if pg else "SQLite", os.environ.get("BENCH_THREADS", "4"), MESSAGES))
        asyncio.run(main_async(port, p.pid))
    finally:
        p.terminate()
        p.wait(30)
        log.close()
        with open(os.path.join(tmp, "scopd.log"), errors="replace") as f:
            for line in f:
                if "room store:" in line:  # group commit figures (log_level info)
                    print(line.strip())
        if pg:
            subprocess.run(["psql", "-q", pg, "-c", "DROP DATABASE IF EXISTS %s" % name])
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
