"""What the mail tests share: a stand-in for the homeserver's login API
(scop-mailbridge checks submission passwords by logging in to the
homeserver, then logs out) and a self-signed certificate for STARTTLS.

LoginStub(users) serves POST /_matrix/client/v3/login (m.login.password
with an m.id.user identifier) and /logout on a free loopback port; users
maps a localpart to (password, Matrix user ID).  Localparts in `slow`
wait 1.5 s before the answer.  Each login gets a fresh token; `logouts`
lists the Authorization headers of the logouts seen.
"""
import json
import os
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LoginStub:
    def __init__(self, users, slow=()):
        self.users = dict(users)
        self.slow = set(slow)
        self.logouts = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
                if self.path == "/_matrix/client/v3/logout":
                    stub.logouts.append(self.headers.get("Authorization", ""))
                    self.reply(200, {})
                elif self.path == "/_matrix/client/v3/login":
                    ident = body.get("identifier", {})
                    user = ident.get("user")
                    if user in stub.slow:
                        time.sleep(1.5)  # the SMTP client may go away meanwhile
                    known = stub.users.get(user)
                    if (known and body.get("type") == "m.login.password" and ident.get("type") == "m.id.user"
                            and body.get("password") == known[0]):
                        self.reply(200, {"access_token": "tok-%d" % time.monotonic_ns(),
                                         "user_id": known[1], "device_id": "DEV"})
                    else:
                        self.reply(403, {"errcode": "M_FORBIDDEN", "error": "Invalid password"})
                else:
                    self.reply(404, {"errcode": "M_UNRECOGNIZED"})

            def reply(self, code, obj):
                data = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def self_signed_cert(directory, cn="localhost"):
    """(cert, key) paths of a fresh self-signed RSA certificate in directory."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=" + cn], check=True, capture_output=True)
    return cert, key
