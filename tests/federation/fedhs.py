"""scopd instances for federation tests: a test CA and certificates made
with the openssl CLI, one config per server (TLS federation listener,
SQLite, short sender backoff), start/stop/restart, and client-server and
server-server requests.  Used by tests/e2e/test_federation_rooms.py."""
import hashlib
import hmac
import http.client
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
from scoptest import Proc, binary, free_port, wait_port  # noqa: E402

import signedjson.key  # noqa: E402
import signedjson.sign  # noqa: E402

SECRET = "fed shared secret"
PASSWORD = "fed password"


def make_pki(d, names):
    def run(*argv):
        subprocess.run(argv, cwd=d, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run("openssl", "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=scop fed CA",
        "-days", "2")
    for n in names:
        run("openssl", "req", *ec, "-keyout", n + ".key", "-out", n + ".csr", "-subj", "/CN=" + n)
        with open(os.path.join(d, n + ".cnf"), "w") as f:
            f.write("subjectAltName=DNS:%s,IP:127.0.0.1\n" % n)
        run("openssl", "x509", "-req", "-in", n + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", n + ".crt", "-days", "2", "-extfile", n + ".cnf")


def q(s):
    return urllib.parse.quote(s, safe="")


def xmatrix(origin, sk, method, uri, content, destination):
    req = {"method": method, "uri": uri, "origin": origin, "destination": destination}
    if content is not None:
        req["content"] = content
    sig = signedjson.sign.sign_json(req, origin, sk)["signatures"][origin]["ed25519:" + sk.version]
    return 'X-Matrix origin="%s",destination="%s",key="ed25519:%s",sig="%s"' % (
        origin, destination, sk.version, sig)


class HS:
    def __init__(self, work, host, fport, overrides, extra="", database=None):
        self.work = work
        self.host = host
        self.fport = fport
        self.name = "%s:%d" % (host, fport)
        self.cport = free_port()
        self.dir = os.path.join(work, host)
        os.makedirs(self.dir)
        self.config = os.path.join(self.dir, "homeserver.yaml")
        with open(self.config, "w") as f:
            f.write(f"""server_name: "{self.name}"
listeners:
  - {{port: {self.cport}, type: http, bind_addresses: ['127.0.0.1'], resources: [{{names: [client]}}]}}
  - {{port: {fport}, type: http, tls: true, bind_addresses: ['127.0.0.1'],
     resources: [{{names: [federation]}}]}}
tls_certificate_path: {work}/{host}.crt
tls_private_key_path: {work}/{host}.key
database: {database or "{name: sqlite3, args: {database: %s/hs.db}}" % self.dir}
signing_key_path: {self.dir}/signing.key
enable_registration: true
registration_shared_secret: "{SECRET}"
log_level: info
thread_pool_size: 4
password_hashing: {{time_cost: 1, memory_kib: 256, parallelism: 1}}
rc_login:
  address: {{per_second: 1000, burst_count: 1000}}
  account: {{per_second: 1000, burst_count: 1000}}
rc_registration: {{per_second: 1000, burst_count: 1000}}
rc_message: {{per_second: 1000, burst_count: 1000}}
federation_ca_file: {work}/ca.crt
federation_address_overrides: {json.dumps(overrides)}
federation_backoff_base_ms: 100
federation_backoff_max_ms: 500
""" + extra)
        self.runs = 0
        self.proc = None
        self.start()
        with open(os.path.join(self.dir, "signing.key")) as f:
            self.sk = signedjson.key.read_signing_keys(f)[0]
        self.ctx = ssl.create_default_context(cafile=os.path.join(work, "ca.crt"))

    def start(self):
        self.runs += 1
        self.log_path = os.path.join(self.dir, "scopd.%d.log" % self.runs)
        self.proc = Proc([binary("scopd"), "-c", self.config], self.log_path)
        wait_port(self.cport, proc=self.proc.p)
        wait_port(self.fport, proc=self.proc.p)

    def stop(self):
        rc = self.proc.stop(timeout=20) if self.proc else 0
        self.proc = None
        return rc

    def logs(self):
        out = ""
        for i in range(1, self.runs + 1):
            with open(os.path.join(self.dir, "scopd.%d.log" % i), errors="replace") as f:
                out += f.read()
        return out

    def fed(self, method, path, body=None, headers=None):
        c = http.client.HTTPSConnection("127.0.0.1", self.fport, context=self.ctx, timeout=60)
        data = json.dumps(body).encode() if body is not None else None
        h = {"Host": self.name}
        if data is not None:
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        text = r.read()
        c.close()
        try:
            return r.status, json.loads(text)
        except ValueError:
            return r.status, None

    def signed(self, origin, sk, method, path, body=None):
        """A federation request to this server signed as origin with sk."""
        return self.fed(method, path, body, headers={"Authorization": xmatrix(origin, sk, method, path, body,
                                                                              self.name)})

    def client(self, method, path, body=None, token=None):
        c = http.client.HTTPConnection("127.0.0.1", self.cport, timeout=120)
        h = {"Content-Type": "application/json"}
        if token:
            h["Authorization"] = "Bearer " + token
        c.request(method, path, body=json.dumps(body).encode() if body is not None else None, headers=h)
        r = c.getresponse()
        text = r.read()
        c.close()
        try:
            return r.status, (json.loads(text) if text else None)
        except ValueError:
            return r.status, None

    def register(self, user, admin=False):
        _, j = self.client("GET", "/_synapse/admin/v1/register")
        nonce = j["nonce"]
        mac = hmac.new(SECRET.encode(), digestmod=hashlib.sha1)
        mac.update(b"\x00".join([nonce.encode(), user.encode(), PASSWORD.encode(),
                                 b"admin" if admin else b"notadmin"]))
        s, j = self.client("POST", "/_synapse/admin/v1/register",
                           {"nonce": nonce, "username": user, "password": PASSWORD, "admin": admin,
                            "mac": mac.hexdigest()})
        assert s == 200, (s, j)
        return j["user_id"], j["access_token"]

    # ---- room helpers ----
    def send(self, tok, room, body, txn):
        return self.client("PUT", "/_matrix/client/v3/rooms/%s/send/m.room.message/%s" % (q(room), txn),
                           {"msgtype": "m.text", "body": body}, token=tok)

    def put_state(self, tok, room, type_, content, sk=""):
        return self.client("PUT", "/_matrix/client/v3/rooms/%s/state/%s/%s" % (q(room), type_, q(sk)),
                           content, token=tok)

    def state(self, tok, room):
        s, j = self.client("GET", "/_matrix/client/v3/rooms/%s/state" % q(room), token=tok)
        return s, j

    def state_ids(self, tok, room):
        """{(type, state_key): event_id} of the current state, or None."""
        s, j = self.state(tok, room)
        if s != 200:
            return None
        return {(e["type"], e["state_key"]): e["event_id"] for e in j}

    def bodies(self, tok, room, limit=100):
        s, j = self.client("GET", "/_matrix/client/v3/rooms/%s/messages?dir=b&limit=%d" % (q(room), limit),
                           token=tok)
        if s != 200:
            return []
        return [e.get("content", {}).get("body") for e in j.get("chunk", []) if e.get("type") == "m.room.message"]

    def wait_bodies(self, tok, room, want, timeout=20):
        """Waits until every body in want is in the room's latest messages."""
        deadline = time.monotonic() + timeout
        got = []
        while time.monotonic() < deadline:
            got = self.bodies(tok, room)
            if all(w in got for w in want):
                return True, got
            time.sleep(0.1)
        return False, got

    def wait(self, pred, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            v = pred()
            if v:
                return v
            time.sleep(0.1)
        return pred()


class Proxy:
    """A TCP relay on a free loopback port to 127.0.0.1:target that can
    be cut (pause: every connection is dropped and new ones are closed at
    once) and mended (resume): a netsplit between two servers."""

    def __init__(self, target):
        import socket
        import threading
        self.target = target
        self.paused = False
        self.conns = []
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        import socket
        import threading
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            if self.paused:
                c.close()
                continue
            try:
                u = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            except OSError:
                c.close()
                continue
            with self.lock:
                self.conns += [c, u]
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, a, b):
        import socket
        try:
            while True:
                d = a.recv(65536)
                if not d or self.paused:
                    break
                b.sendall(d)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def pause(self):
        import socket
        self.paused = True
        with self.lock:
            conns, self.conns = self.conns, []
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def resume(self):
        self.paused = False

    def stop(self):
        self.stopped = True
        self.pause()
        self.sock.close()
