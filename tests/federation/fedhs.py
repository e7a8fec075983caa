"""scopd instances for federation tests, the one harness they share: a
test CA and certificates made with the openssl CLI (make_pki), X-Matrix
headers signed with Synapse's signedjson (xmatrix), Server (client API over
HTTP and federation listener over TLS on loopback: requests, signed
requests, registration), HS (one scopd: its config, process, logs across
restarts, room helpers), Remote (signed requests as one origin server) and
Proxy (a netsplit).  tests/synapse/synapsetest.py builds its Synapse on
Server and its scopd on HS."""
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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from scoptest import Proc, binary, free_port, wait_port  # noqa: E402

import signedjson.key  # noqa: E402
import signedjson.sign  # noqa: E402

SECRET = "fed shared secret"
PASSWORD = "fed password"


def make_pki(d, names):
    """Writes ca.crt/ca.key and NAME.crt/NAME.key in d for each name: names
    is a list (subjectAltName DNS:NAME,IP:127.0.0.1) or {name: subjectAltName}."""
    if not isinstance(names, dict):
        names = {n: "DNS:%s,IP:127.0.0.1" % n for n in names}

    def run(*argv):
        subprocess.run(argv, cwd=d, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run("openssl", "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=scop fed CA",
        "-days", "2")
    for n, san in names.items():
        run("openssl", "req", *ec, "-keyout", n + ".key", "-out", n + ".csr", "-subj", "/CN=" + n)
        with open(os.path.join(d, n + ".cnf"), "w") as f:
            f.write("subjectAltName=%s\n" % san)
        run("openssl", "x509", "-req", "-in", n + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", n + ".crt", "-days", "2", "-extfile", n + ".cnf")


def q(s):
    return urllib.parse.quote(s, safe="")


def xmatrix(origin, sk, method, uri, content, destination):
    """An X-Matrix Authorization header for a request from origin signed with sk."""
    req = {"method": method, "uri": uri, "origin": origin, "destination": destination}
    if content is not None:
        req["content"] = content
    sig = signedjson.sign.sign_json(req, origin, sk)["signatures"][origin]["ed25519:" + sk.version]
    return 'X-Matrix origin="%s",destination="%s",key="ed25519:%s",sig="%s"' % (
        origin, destination, sk.version, sig)


def verified(doc, server, vk):
    try:
        signedjson.sign.verify_signed_json(doc, server, vk)
        return True
    except Exception:  # noqa: BLE001
        return False


def _call(c, method, path, body, headers):
    """One request on connection c: (status, JSON body or None)."""
    data = json.dumps(body).encode() if body is not None else None
    h = dict(headers)
    if data is not None:
        h["Content-Type"] = "application/json"
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    text = r.read()
    c.close()
    try:
        return r.status, (json.loads(text) if text else None)
    except ValueError:
        return r.status, None


class Server:
    """A homeserver on loopback: its client API over plain HTTP on cport,
    its federation listener over TLS on fport (certificate checked against
    work/ca.crt), registration with the shared secret SECRET.  Subclasses
    set work, name, cport, fport and call Server.__init__."""

    def __init__(self, work):
        self.work = work
        self.ctx = ssl.create_default_context(cafile=os.path.join(work, "ca.crt"))

    def client(self, method, path, body=None, token=None, timeout=120):
        c = http.client.HTTPConnection("127.0.0.1", self.cport, timeout=timeout)
        return _call(c, method, path, body, {"Authorization": "Bearer " + token} if token else {})

    def fed(self, method, path, body=None, headers=None):
        c = http.client.HTTPSConnection("127.0.0.1", self.fport, context=self.ctx, timeout=60)
        return _call(c, method, path, body, dict({"Host": self.name}, **(headers or {})))

    def signed(self, origin, sk, method, path, body=None):
        """A federation request to this server signed as origin with sk."""
        return self.fed(method, path, body, headers={"Authorization": xmatrix(origin, sk, method, path, body,
                                                                              self.name)})

    def register(self, user, admin=False):
        """Registers user with the shared secret: (user ID, access token)."""
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

    def signup(self, user, device=None):
        """Open registration (m.login.dummy), with device as its device ID."""
        body = {"username": user, "password": PASSWORD, "auth": {"type": "m.login.dummy"}}
        if device:
            body.update(device_id=device, initial_device_display_name="phone of " + user)
        s, j = self.client("POST", "/_matrix/client/v3/register", body)
        assert s == 200, (s, j)
        return j["user_id"], j["access_token"]

    def sync(self, token, since=None, timeout_ms=0):
        qs = "?timeout=%d" % timeout_ms + ("&since=" + urllib.parse.quote(since) if since else "")
        return self.client("GET", "/_matrix/client/v3/sync" + qs, token=token)


class HS(Server):
    """scopd named host:fport with the certificate make_pki made for cert
    (default host) in work and its files under work/sub (default host).
    database: its YAML value (default SQLite in its directory); backoff:
    (base, max) sender backoff in ms, or None for scopd's default;
    registration: enable_registration; log_level: default $FEDHS_LOG_LEVEL
    or info; extra: more config lines.  Starts it; stop() and start()
    restart it, each run with its own log, all of which log() returns."""

    def __init__(self, work, host, fport, overrides, extra="", database=None, sub=None, cert=None,
                 backoff=(100, 500), registration=True, log_level=None):
        Server.__init__(self, work)
        self.host = host
        self.fport = fport
        self.name = "%s:%d" % (host, fport)
        self.cport = free_port()
        self.dir = os.path.join(work, sub or host)
        os.makedirs(self.dir)
        cert = os.path.join(work, cert or host)
        if backoff:
            extra = "federation_backoff_base_ms: %d\nfederation_backoff_max_ms: %d\n" % backoff + extra
        self.config = os.path.join(self.dir, "homeserver.yaml")
        with open(self.config, "w") as f:
            f.write(f"""server_name: "{self.name}"
listeners:
  - {{port: {self.cport}, type: http, bind_addresses: ['127.0.0.1'], resources: [{{names: [client]}}]}}
  - {{port: {fport}, type: http, tls: true, bind_addresses: ['127.0.0.1'],
     resources: [{{names: [federation]}}]}}
tls_certificate_path: {cert}.crt
tls_private_key_path: {cert}.key
database: {database or "{name: sqlite3, args: {database: %s/hs.db}}" % self.dir}
signing_key_path: {self.dir}/signing.key
enable_registration: {"true" if registration else "false"}
registration_shared_secret: "{SECRET}"
log_level: {log_level or os.environ.get("FEDHS_LOG_LEVEL", "info")}
thread_pool_size: 4
password_hashing: {{time_cost: 1, memory_kib: 256, parallelism: 1}}
rc_login:
  address: {{per_second: 1000, burst_count: 1000}}
  account: {{per_second: 1000, burst_count: 1000}}
rc_registration: {{per_second: 1000, burst_count: 1000}}
rc_message: {{per_second: 1000, burst_count: 1000}}
federation_ca_file: {work}/ca.crt
federation_address_overrides: {json.dumps(overrides)}
""" + extra)
        self.runs = 0
        self.proc = None
        self.start()
        with open(os.path.join(self.dir, "signing.key")) as f:
            self.sk = signedjson.key.read_signing_keys(f)[0]
        self.vk = signedjson.key.get_verify_key(self.sk)

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

    def restart(self):
        rc = self.stop()
        self.start()
        return rc

    def log(self):
        out = ""
        for i in range(1, self.runs + 1):
            with open(os.path.join(self.dir, "scopd.%d.log" % i), errors="replace") as f:
                out += f.read()
        return out

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


class Remote:
    """Signed requests to hs as server origin with signing key sk."""

    def __init__(self, hs, origin, sk):
        self.hs, self.origin, self.sk = hs, origin, sk

    def get(self, path):
        return self.hs.signed(self.origin, self.sk, "GET", path)

    def post(self, path, body):
        return self.hs.signed(self.origin, self.sk, "POST", path, body)

    def put(self, path, body):
        return self.hs.signed(self.origin, self.sk, "PUT", path, body)


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
