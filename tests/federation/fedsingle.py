"""One scopd with a TLS federation listener on loopback, for tests and
benchmarks that talk to it as another server: a test PKI made with the
openssl CLI, the scopd (its config, process and log), X-Matrix headers
signed with Synapse's signedjson, and a Remote that makes signed requests
as one origin server."""
import http.client
import json
import os
import ssl
import subprocess

import signedjson.sign

from scoptest import Proc, binary, free_port, wait_port

PASSWORD = "fedhs password"


def make_pki(d, names):
    def run(*argv):
        subprocess.run(argv, cwd=d, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run("openssl", "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=scop fedhs CA",
        "-days", "2")
    for n in names:
        run("openssl", "req", *ec, "-keyout", n + ".key", "-out", n + ".csr", "-subj", "/CN=" + n)
        with open(os.path.join(d, n + ".cnf"), "w") as f:
            f.write("subjectAltName=DNS:%s,IP:127.0.0.1\n" % n)
        run("openssl", "x509", "-req", "-in", n + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", n + ".crt", "-days", "2", "-extfile", n + ".cnf")


class HS:
    """scopd as host:fport on loopback with the certificate make_pki made
    for host in work; db is its database: YAML value."""

    def __init__(self, work, host, fport, overrides, db, tag):
        self.fport = fport
        self.name = "%s:%d" % (host, fport)
        self.cport = free_port()
        self.dir = os.path.join(work, tag)
        os.makedirs(self.dir)
        config = os.path.join(self.dir, "homeserver.yaml")
        with open(config, "w") as f:
            f.write(f"""server_name: "{self.name}"
listeners:
  - {{port: {self.cport}, type: http, bind_addresses: ['127.0.0.1'], resources: [{{names: [client]}}]}}
  - {{port: {fport}, type: http, tls: true, bind_addresses: ['127.0.0.1'],
     resources: [{{names: [federation]}}]}}
tls_certificate_path: {work}/{host}.crt
tls_private_key_path: {work}/{host}.key
database: {db}
signing_key_path: {self.dir}/signing.key
enable_registration: true
log_level: {os.environ.get("FEDHS_LOG_LEVEL", "info")}
thread_pool_size: 4
password_hashing: {{time_cost: 1, memory_kib: 256, parallelism: 1}}
rc_login:
  address: {{per_second: 1000, burst_count: 1000}}
  account: {{per_second: 1000, burst_count: 1000}}
rc_registration: {{per_second: 1000, burst_count: 1000}}
rc_message: {{per_second: 1000, burst_count: 1000}}
federation_ca_file: {work}/ca.crt
federation_address_overrides: {json.dumps(overrides)}
""")
        self.log_path = os.path.join(self.dir, "scopd.log")
        self.proc = Proc([binary("scopd"), "-c", config], self.log_path)
        wait_port(self.cport, proc=self.proc.p)
        wait_port(fport, proc=self.proc.p)
        self.ctx = ssl.create_default_context(cafile=os.path.join(work, "ca.crt"))

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def _do(self, c, method, path, body, headers):
        data = json.dumps(body).encode() if body is not None else None
        h = dict(headers)
        if data is not None:
            h["Content-Type"] = "application/json"
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        text = r.read()
        c.close()
        try:
            return r.status, json.loads(text) if text else None
        except ValueError:
            return r.status, None

    def fed(self, method, path, body=None, headers=None):
        c = http.client.HTTPSConnection("127.0.0.1", self.fport, context=self.ctx, timeout=30)
        return self._do(c, method, path, body, dict({"Host": self.name}, **(headers or {})))

    def client(self, method, path, body=None, token=None):
        c = http.client.HTTPConnection("127.0.0.1", self.cport, timeout=30)
        return self._do(c, method, path, body, {"Authorization": "Bearer " + token} if token else {})

    def register(self, user):
        s, j = self.client("POST", "/_matrix/client/v3/register",
                           {"username": user, "password": PASSWORD, "auth": {"type": "m.login.dummy"}})
        assert s == 200, (s, j)
        return j["user_id"], j["access_token"]


def xmatrix(origin, sk, method, uri, content, destination):
    req = {"method": method, "uri": uri, "origin": origin, "destination": destination}
    if content is not None:
        req["content"] = content
    sig = signedjson.sign.sign_json(req, origin, sk)["signatures"][origin]["ed25519:" + sk.version]
    return 'X-Matrix origin="%s",destination="%s",key="ed25519:%s",sig="%s"' % (
        origin, destination, sk.version, sig)


class Remote:
    """Signed requests to hs as server origin with signing key sk."""

    def __init__(self, hs, origin, sk):
        self.hs, self.origin, self.sk = hs, origin, sk

    def get(self, path):
        return self.hs.fed("GET", path, headers={
            "Authorization": xmatrix(self.origin, self.sk, "GET", path, None, self.hs.name)})

    def post(self, path, body):
        return self.hs.fed("POST", path, body, headers={
            "Authorization": xmatrix(self.origin, self.sk, "POST", path, body, self.hs.name)})

    def put(self, path, body):
        return self.hs.fed("PUT", path, body, headers={
            "Authorization": xmatrix(self.origin, self.sk, "PUT", path, body, self.hs.name)})
