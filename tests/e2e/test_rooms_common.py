"""Helpers shared by the room and sync tests (not a test itself): a
scopd on a free loopback port over SQLite or a fresh PostgreSQL database,
raw HTTP calls, user registration, and the main that runs a suite on
each backend."""
import json
import os
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request

from scoptest import Proc, binary, free_port, wait_port

SERVER = "rooms.test"
PASSWORD = "room password"
C = "/_matrix/client/v3"


class Server:
    def __init__(self, tmp, name, db):
        self.db = db
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir)
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.config = os.path.join(self.dir, "homeserver.yaml")
        with open(self.config, "w") as f:
            f.write(f"""server_name: {SERVER}
listeners: [{{port: {self.port}, type: http, bind_addresses: ['127.0.0.1']}}]
database: {db}
signing_key_path: signing.key
enable_registration: true
log_level: warning
thread_pool_size: 4
password_hashing: {{time_cost: 1, memory_kib: 256, parallelism: 1}}
rc_login:
  address: {{per_second: 1000, burst_count: 1000}}
  account: {{per_second: 1000, burst_count: 1000}}
rc_registration: {{per_second: 1000, burst_count: 1000}}
""")
        self.log_path = os.path.join(self.dir, "scopd.log")
        self.proc = Proc([binary("scopd"), "-c", self.config], self.log_path)
        wait_port(self.port, proc=self.proc.p)

    def stop(self):
        return self.proc.stop(timeout=20)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def call(self, method, path, body=None, token=None, raw=None, timeout=30):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                status, text = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read()
        try:
            j = json.loads(text) if text else None
        except ValueError:
            j = None
        return status, j

    def register(self, user):
        s, j = self.call("POST", C + "/register", {"username": user, "password": PASSWORD,
                                                   "auth": {"type": "m.login.dummy"}})
        assert s == 200, (s, j)
        return j["user_id"], j["access_token"]


def expect(got, status, errcode=None):
    s, j = got
    assert s == status, "status %s, wanted %s: %r" % (s, status, j)
    if errcode:
        assert j and j.get("errcode") == errcode, "errcode %r, wanted %s" % (j, errcode)
    return j


def backends(tmp, tag):
    """(name, database config, cleanup) for SQLite and, with
    SCOP_TEST_PG_DSN, a fresh PostgreSQL database."""
    out = [("sqlite", "{name: sqlite3, args: {database: %s}}"
            % json.dumps(os.path.join(tmp, tag + ".db")), lambda: None)]
    dsn = os.environ.get("SCOP_TEST_PG_DSN")
    if dsn:
        name = "scop_%s_%d" % (tag, os.getpid())
        for sql in ("DROP DATABASE IF EXISTS %s" % name, "CREATE DATABASE %s" % name):
            subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", dsn, "-c", sql],
                           check=True, capture_output=True)

        def drop():
            subprocess.run(["psql", "-q", dsn, "-c", "DROP DATABASE IF EXISTS %s" % name],
                           capture_output=True)
        out.append(("postgres", "{name: psycopg2, args: {dsn: %s, database: %s}}"
                    % (json.dumps(dsn), name), drop))
    return out


def run_on_backends(t, tag, suite, after=None):
    """A test's main: for SQLite and (with SCOP_TEST_PG_DSN) PostgreSQL, a
    fresh scopd in a temporary directory, suite(srv, backend name) against
    it (srv.dir + "-nio" is free for its own files), a check that scopd
    then stops cleanly, and after(tmp, backend name, database config) when
    given, while the database still exists.  SCOP_REQUIRE_PG=1 without a
    DSN fails.  Temporary files are kept (and named) when a check failed.
    Ends t."""
    tmp = tempfile.mkdtemp(prefix="scop-%s-" % tag)
    ok = False
    try:
        for name, db, cleanup in backends(tmp, tag):
            try:
                srv = Server(tmp, name, db)
                try:
                    suite(srv, name)
                finally:
                    rc = srv.stop()
                t.ok(rc == 0, "%s: scopd stops cleanly (exit 0, no leaks)" % name, srv.log()[-3000:])
                if after:
                    after(tmp, name, db)
            finally:
                cleanup()
        if not os.environ.get("SCOP_TEST_PG_DSN") and os.environ.get("SCOP_REQUIRE_PG") == "1":
            t.ok(False, "postgres: SCOP_REQUIRE_PG=1 but SCOP_TEST_PG_DSN is unset")
        ok = True
    finally:
        if ok and not t.failed:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("# logs kept in %s" % tmp, flush=True)
    t.done()
