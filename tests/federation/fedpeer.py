"""A federation test peer over real TLS on loopback, signing and checking
with Synapse's own libraries (Debian python3-signedjson, python3-canonicaljson).

One HTTPS listener plays many servers: the behaviour is chosen by the
hostname in the Host header (the client sends the server's name there):
  good.*      serves a valid self-signed key document
  forged.*    a document whose signature is made by a key it does not list
  expired.*   a valid signature but valid_until_ts in the past
  wrong.*     a document for another server_name
  down.*      404 on the key endpoint
  notary.*    answers /_matrix/key/v2/query with good documents, notarised
  badnotary.* the same, notarised with a key nobody trusts
  flaky.*     answers 500 to the first `fail_first` transactions
and any name answers /.well-known/matrix/server from `well_known` and
records PUT /_matrix/federation/v1/send/{txnId} with its X-Matrix check.

Also makes the test PKI with the openssl CLI: a CA, a certificate for
example.test / *.example.test / 127.0.0.1 signed by it, and a self-signed
certificate nobody trusts.
"""
import json
import os
import re
import urllib.parse
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import signedjson.key
import signedjson.sign


def make_pki(d):
    def run(*argv):
        subprocess.run(argv, cwd=d, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run("openssl", "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=scop test CA",
        "-days", "2")
    run("openssl", "req", *ec, "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=example.test")
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=DNS:example.test,DNS:*.example.test,IP:127.0.0.1,IP:::1\n")
    run("openssl", "x509", "-req", "-in", "srv.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "srv.crt", "-days", "2", "-extfile", "ext.cnf")
    run("openssl", "req", "-x509", *ec, "-keyout", "bad.key", "-out", "bad.crt", "-subj", "/CN=example.test",
        "-days", "2", "-addext", "subjectAltName=DNS:*.example.test,IP:127.0.0.1")
    return {k: os.path.join(d, k) for k in ("ca.crt", "srv.crt", "srv.key", "bad.crt", "bad.key")}


def now_ms():
    return int(time.time() * 1000)


def verify_key_b64(sk):
    return signedjson.key.encode_verify_key_base64(signedjson.key.get_verify_key(sk))


class Peer:
    def __init__(self, certfile, keyfile, port=0, host="127.0.0.1"):
        self.keys = {}          # server name -> signing key
        self.rogue = signedjson.key.generate_signing_key("rogue")
        self.notary_key = signedjson.key.generate_signing_key("notary")
        self.badnotary_key = signedjson.key.generate_signing_key("notary")
        self.well_known = {}    # hostname -> (status, body, headers)
        self.well_known_hits = {}
        self.well_known_delay = {}  # hostname -> seconds before answering
        self.fail_first = 0
        self.txns = []          # delivered: dicts
        self.attempts = []      # every PUT: (host, txn_id, status)
        self.origin_keys = {}   # origin -> (key_id, verify key) to check X-Matrix
        self.missing_events = []  # answer of get_missing_events
        self.state_ids = {}       # event_id -> answer of /state_ids?event_id=
        self.events = {}          # event_id -> PDU served by /event
        self.missing_asks = []    # bodies of get_missing_events requests
        self.lock = threading.Lock()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def host(self):
                h = self.headers.get("Host", "")
                return h

            def reply(self, status, obj, headers=None):
                body = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                peer.handle(self, "GET", None)

            def do_POST(self):
                peer.handle(self, "POST", self.read_body())

            def do_PUT(self):
                peer.handle(self, "PUT", self.read_body())

            def read_body(self):
                n = int(self.headers.get("Content-Length", "0"))
                return self.rfile.read(n)

        server_class = ThreadingHTTPServer
        if ":" in host:
            class V6(ThreadingHTTPServer):
                address_family = socket.AF_INET6
            server_class = V6
        self.httpd = server_class((host, port), Handler)
        self.httpd.daemon_threads = True
        # Clients that hang up early (the 50 KiB well-known limit) are expected.
        self.httpd.handle_error = lambda request, address: None
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certfile, keyfile)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def key_for(self, server):
        with self.lock:
            if server not in self.keys:
                self.keys[server] = signedjson.key.generate_signing_key("k1")
            return self.keys[server]

    def key_doc(self, server, valid_until=None):
        sk = self.key_for(server)
        doc = {
            "server_name": server,
            "valid_until_ts": valid_until if valid_until is not None else now_ms() + 3600 * 1000,
            "verify_keys": {"ed25519:" + sk.version: {"key": verify_key_b64(sk)}},
            "old_verify_keys": {},
        }
        return signedjson.sign.sign_json(doc, server, sk)

    def handle(self, h, method, body):
        host = h.host()
        hostname = host.rsplit(":", 1)[0] if not host.startswith("[") else host
        kind = hostname.split(".", 1)[0]
        path = h.path
        if method == "GET" and path == "/.well-known/matrix/server":
            with self.lock:
                self.well_known_hits[hostname] = self.well_known_hits.get(hostname, 0) + 1
            time.sleep(self.well_known_delay.get(hostname, 0))
            status, obj, headers = self.well_known.get(hostname, (404, {"errcode": "M_NOT_FOUND"}, {}))
            return h.reply(status, obj, headers)
        if method == "GET" and path == "/_matrix/key/v2/server":
            if kind == "down":
                return h.reply(404, {"errcode": "M_NOT_FOUND"})
            if kind == "forged":
                doc = self.key_doc(host)
                doc["signatures"] = signedjson.sign.sign_json(
                    {k: v for k, v in doc.items() if k != "signatures"}, host, self.rogue)["signatures"]
                # The rogue signature claims the listed key id.
                sig = list(doc["signatures"][host].values())[0]
                doc["signatures"] = {host: {list(doc["verify_keys"])[0]: sig}}
                return h.reply(200, doc)
            if kind == "expired":
                return h.reply(200, self.key_doc(host, valid_until=now_ms() - 3600 * 1000))
            if kind == "wrong":
                return h.reply(200, self.key_doc("someone.else.test"))
            return h.reply(200, self.key_doc(host))
        if method == "POST" and path == "/_matrix/key/v2/query" and kind in ("notary", "badnotary"):
            q = json.loads(body)
            nkey = self.notary_key if kind == "notary" else self.badnotary_key
            out = []
            for server in q.get("server_keys", {}):
                doc = self.key_doc(server)
                out.append(signedjson.sign.sign_json(doc, host, nkey))
            return h.reply(200, {"server_keys": out})
        m = re.match(r"^/_matrix/federation/v1/state_ids/[^/?]+\?event_id=([^&]+)$", path)
        if method == "GET" and m:
            with self.lock:
                ans = self.state_ids.get(urllib.parse.unquote(m.group(1)))
            return h.reply(200, ans) if ans else h.reply(404, {"errcode": "M_NOT_FOUND"})
        m = re.match(r"^/_matrix/federation/v1/event/([^/?]+)$", path)
        if method == "GET" and m:
            with self.lock:
                ev = self.events.get(urllib.parse.unquote(m.group(1)))
            return h.reply(200, {"origin": "peer", "origin_server_ts": now_ms(), "pdus": [ev]}) if ev \
                else h.reply(404, {"errcode": "M_NOT_FOUND"})
        if method == "POST" and re.match(r"^/_matrix/federation/v1/get_missing_events/[^/?]+$", path):
            with self.lock:
                self.missing_asks.append(json.loads(body))
                events = list(self.missing_events)
            return h.reply(200, {"events": events})
        m = re.match(r"^/_matrix/federation/v1/send/([^/?]+)$", path)
        if method == "PUT" and m:
            txn_id = m.group(1)
            ok, why = self.check_xmatrix(h.headers.get("Authorization", ""), host, path, body)
            with self.lock:
                fail = kind == "flaky" and self.fail_first > 0
                if fail:
                    self.fail_first -= 1
                status = 500 if fail else 200
                self.attempts.append((host, txn_id, status))
                if not fail:
                    content = json.loads(body)
                    self.txns.append({"dest": host, "txn_id": txn_id, "sig_ok": ok, "why": why,
                                      "origin": content.get("origin"), "pdus": content.get("pdus", []),
                                      "edus": content.get("edus", [])})
            if fail:
                return h.reply(500, {"errcode": "M_UNKNOWN"})
            return h.reply(200, {"pdus": {}})
        return h.reply(404, {"errcode": "M_UNRECOGNIZED"})

    def check_xmatrix(self, header, host, uri, body):
        if not header.startswith("X-Matrix "):
            return False, "no X-Matrix header"
        params = dict((k, v.strip('"')) for k, v in re.findall(r'(\w+)=("[^"]*"|[^,]*)', header[9:]))
        origin, key_id, sig = params.get("origin"), params.get("key"), params.get("sig")
        if params.get("destination") != host:
            return False, "destination %r is not %r" % (params.get("destination"), host)
        known = self.origin_keys.get(origin)
        if known is None or known[0] != key_id:
            return False, "unknown key %r for %r" % (key_id, origin)
        req = {"method": "PUT", "uri": uri, "origin": origin, "destination": host,
               "content": json.loads(body), "signatures": {origin: {key_id: sig}}}
        try:
            signedjson.sign.verify_signed_json(req, origin, known[1])
        except signedjson.sign.SignatureVerifyException as e:
            return False, str(e)
        return True, ""
