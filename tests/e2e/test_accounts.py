#!/usr/bin/python3
"""End-to-end tests of scopd's account endpoints: starts the built scopd on
free loopback ports against SQLite and (with SCOP_TEST_PG_DSN) a fresh
PostgreSQL database, and drives it over HTTP.  Prints TAP."""
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scoptest import Tap, Proc, binary, free_port, wait_port  # noqa: E402

t = Tap()
SERVER = "test.local"
PASSWORD = "correct horse battery"


class Server:
    """A running scopd with its own config and data directory."""

    def __init__(self, tmp, name, db, extra="", rc_registration="{per_second: 1000, burst_count: 1000}",
                 tls=False):
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir)
        self.tls = tls
        tls_conf = ""
        if tls:
            key, cert = os.path.join(self.dir, "tls.key"), os.path.join(self.dir, "tls.crt")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                            "-days", "1", "-subj", "/CN=localhost"], check=True, capture_output=True)
            tls_conf = "tls_certificate_path: %s\ntls_private_key_path: %s\n" % (cert, key)
        self.port = free_port()
        self.secret = "s3cret-" + name
        self.config = os.path.join(self.dir, "homeserver.yaml")
        with open(self.config, "w") as f:
            f.write(f"""server_name: {SERVER}
public_baseurl: http://127.0.0.1:{self.port}
listeners:
  - port: {self.port}
    type: http
    tls: {"true" if tls else "false"}
    bind_addresses: ['127.0.0.1', '::1']
{tls_conf}database: {db}
signing_key_path: signing.key
registration_shared_secret: "{self.secret}"
max_request_body_size: 65536
log_level: info
thread_pool_size: 2
password_hashing: {{time_cost: 1, memory_kib: 256, parallelism: 1}}
rc_login:
  address: {{per_second: 1000, burst_count: 1000}}
  account: {{per_second: 1000, burst_count: 1000}}
  failed_attempts: {{per_second: 0.01, burst_count: 8}}
rc_registration: {rc_registration}
{extra}
""")
        self.log_path = os.path.join(self.dir, "scopd.log")
        self.proc = Proc([binary("scopd"), "-c", self.config], self.log_path)
        wait_port(self.port, proc=self.proc.p)
        wait_port(self.port, host="::1", proc=self.proc.p)

    def stop(self):
        return self.proc.stop()

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def call(self, method, path, body=None, token=None, raw=None, headers=None, host="127.0.0.1"):
        """Returns (status, parsed JSON body or None, response headers)."""
        h = "[%s]" % host if ":" in host else host
        url = "%s://%s:%d%s" % ("https" if self.tls else "http", h, self.port, path)
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        ctx = None
        if self.tls:
            import ssl
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE  # a self-signed test certificate
        try:
            with urllib.request.urlopen(req, timeout=30, context=ctx) as r:
                status, text, hdrs = r.status, r.read(), r.headers
        except urllib.error.HTTPError as e:
            status, text, hdrs = e.code, e.read(), e.headers
        try:
            j = json.loads(text) if text else None
        except ValueError:
            j = None
        return status, j, hdrs


def expect(got, status, errcode=None):
    s, j, _ = got
    assert s == status, "status %s, wanted %s: %r" % (s, status, j)
    if errcode:
        assert j and j.get("errcode") == errcode, "errcode %r, wanted %s" % (j, errcode)
    return j


C = "/_matrix/client/v3"


def register(srv, user, password=PASSWORD, **kw):
    body = {"username": user, "password": password, "auth": {"type": "m.login.dummy"}}
    body.update(kw)
    return srv.call("POST", C + "/register", body)


def login(srv, user, password=PASSWORD, host="127.0.0.1", **kw):
    body = {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": user},
            "password": password}
    body.update(kw)
    return srv.call("POST", C + "/login", body, host=host)


def admin_register(srv, user, password, admin=False, secret=None, nonce=None):
    if nonce is None:
        nonce = expect(srv.call("GET", "/_synapse/admin/v1/register"), 200)["nonce"]
    mac = hmac.new((secret or srv.secret).encode(), digestmod=hashlib.sha1)
    mac.update(b"\x00".join([nonce.encode(), user.encode(), password.encode(),
                             b"admin" if admin else b"notadmin"]))
    return srv.call("POST", "/_synapse/admin/v1/register",
                    {"nonce": nonce, "username": user, "password": password, "admin": admin,
                     "mac": mac.hexdigest()}), nonce


def run_suite(srv, tag):
    def case(desc):
        return t.case("%s: %s" % (tag, desc))

    @case("GET versions, with CORS headers")
    def _():
        s, j, h = srv.call("GET", "/_matrix/client/versions")
        assert s == 200 and "v1.1" in j["versions"], j
        assert h["Access-Control-Allow-Origin"] == "*"

    @case("OPTIONS preflight answers 200 with CORS headers")
    def _():
        s, _, h = srv.call("OPTIONS", C + "/login")
        assert s == 200
        assert "Authorization" in h["Access-Control-Allow-Headers"]
        assert "POST" in h["Access-Control-Allow-Methods"]

    @case(".well-known/matrix/client names the base URL")
    def _():
        j = expect(srv.call("GET", "/.well-known/matrix/client"), 200)
        assert j["m.homeserver"]["base_url"].startswith("http://127.0.0.1:%d" % srv.port), j

    @case("unknown endpoint is 404 M_UNRECOGNIZED, wrong method 405")
    def _():
        expect(srv.call("GET", C + "/no/such/thing"), 404, "M_UNRECOGNIZED")
        expect(srv.call("PUT", C + "/login", {}), 405, "M_UNRECOGNIZED")
        s, j, h = srv.call("HEAD", "/_matrix/client/versions")
        assert s == 200 and j is None, (s, j)

    @case("register without auth gives the dummy flow and a session")
    def _():
        j = expect(srv.call("POST", C + "/register", {"username": "flowy", "password": PASSWORD}), 401)
        assert j["flows"] == [{"stages": ["m.login.dummy"]}] and j["session"], j
        j = expect(srv.call("POST", C + "/register",
                            {"username": "flowy", "password": PASSWORD,
                             "auth": {"type": "m.login.dummy", "session": j["session"]}}), 200)
        assert j["user_id"] == "@flowy:" + SERVER and j["access_token"] and j["device_id"]

    @case("register alice (m.login.dummy) and whoami")
    def _():
        j = expect(register(srv, "alice", initial_device_display_name="first"), 200)
        assert j["user_id"] == "@alice:" + SERVER
        assert j["access_token"].startswith("syt_")
        w = expect(srv.call("GET", C + "/account/whoami", token=j["access_token"]), 200)
        assert w["user_id"] == "@alice:" + SERVER and w["device_id"] == j["device_id"], w

    @case("register: taken is M_USER_IN_USE, invalid is M_INVALID_USERNAME")
    def _():
        expect(register(srv, "alice"), 400, "M_USER_IN_USE")
        expect(register(srv, "Alice Smith"), 400, "M_INVALID_USERNAME")
        expect(register(srv, "_bridge"), 400, "M_INVALID_USERNAME")
        expect(register(srv, "x" * 300), 400, "M_INVALID_USERNAME")

    @case("register: kind=guest refused")
    def _():
        expect(srv.call("POST", C + "/register?kind=guest", {}), 403, "M_GUEST_ACCESS_FORBIDDEN")

    @case("register: inhibit_login gives no token")
    def _():
        j = expect(register(srv, "quiet", inhibit_login=True), 200)
        assert j["user_id"] == "@quiet:" + SERVER and "access_token" not in j, j
        expect(login(srv, "quiet"), 200)

    @case("register/available")
    def _():
        j = expect(srv.call("GET", C + "/register/available?username=nobody"), 200)
        assert j["available"] is True
        expect(srv.call("GET", C + "/register/available?username=alice"), 400, "M_USER_IN_USE")
        expect(srv.call("GET", C + "/register/available?username=B%20ad"), 400, "M_INVALID_USERNAME")
        expect(srv.call("GET", C + "/register/available"), 400, "M_MISSING_PARAM")

    @case("bad bodies: M_NOT_JSON, M_BAD_JSON, M_MISSING_PARAM")
    def _():
        expect(srv.call("POST", C + "/login", raw=b"{not json"), 400, "M_NOT_JSON")
        expect(srv.call("POST", C + "/login", raw=b""), 400, "M_NOT_JSON")
        expect(srv.call("POST", C + "/login", raw=b"[1,2]"), 400, "M_BAD_JSON")
        expect(srv.call("POST", C + "/login", {"type": 5}), 400, "M_BAD_JSON")
        expect(srv.call("POST", C + "/login", {"password": "x"}), 400, "M_MISSING_PARAM")
        expect(srv.call("POST", C + "/login", {"type": "m.login.password", "user": "alice"}),
               400, "M_MISSING_PARAM")
        expect(srv.call("POST", C + "/register", {"username": 7}), 400, "M_BAD_JSON")
        expect(srv.call("POST", C + "/login", {"type": "m.login.password", "user": "alice",
                                               "password": ["x"]}), 400, "M_BAD_JSON")

    @case("oversized body is 413 M_TOO_LARGE")
    def _():
        expect(srv.call("POST", C + "/login", raw=b"{" + b" " * 100000 + b"}"), 413, "M_TOO_LARGE")

    @case("GET login flows")
    def _():
        j = expect(srv.call("GET", C + "/login"), 200)
        assert {"type": "m.login.password"} in j["flows"], j

    @case("login by localpart, full user id, legacy user field; r0 prefix too")
    def _():
        a = expect(login(srv, "alice"), 200)
        b = expect(login(srv, "@alice:" + SERVER, device_id="MYDEVICE"), 200)
        assert b["device_id"] == "MYDEVICE" and a["device_id"] != "MYDEVICE"
        c = expect(srv.call("POST", "/_matrix/client/r0/login",
                            {"type": "m.login.password", "user": "alice", "password": PASSWORD}), 200)
        assert c["user_id"] == "@alice:" + SERVER and c["home_server"] == SERVER
        d = expect(login(srv, "@ALICE:" + SERVER), 200)  # ids match case-insensitively
        assert d["user_id"] == "@alice:" + SERVER, d

    @case("login: wrong password 403 M_FORBIDDEN; unknown user too; other login type 400")
    def _():
        expect(login(srv, "alice", "wrong"), 403, "M_FORBIDDEN")
        expect(login(srv, "nosuchuser"), 403, "M_FORBIDDEN")
        expect(srv.call("POST", C + "/login", {"type": "m.login.sso"}), 400, "M_UNKNOWN")
        expect(login(srv, "@bad id:" + SERVER), 400, "M_INVALID_USERNAME")

    @case("tokens: missing 401 M_MISSING_TOKEN, unknown 401 M_UNKNOWN_TOKEN; query parameter works")
    def _():
        expect(srv.call("GET", C + "/account/whoami"), 401, "M_MISSING_TOKEN")
        j = expect(srv.call("GET", C + "/account/whoami", token="syt_bogus"), 401, "M_UNKNOWN_TOKEN")
        assert j["soft_logout"] is False
        tok = expect(login(srv, "alice"), 200)["access_token"]
        expect(srv.call("GET", C + "/account/whoami?access_token=" + tok), 200)
        expect(srv.call("GET", C + "/account/whoami", headers={"Authorization": "Basic " + tok}),
               401, "M_MISSING_TOKEN")
        expect(srv.call("GET", C + "/account/whoami", headers={"Authorization": "bearer " + tok}), 200)
        expect(srv.call("GET", C + "/account/whoami?access_token=" + tok + "x"), 401, "M_UNKNOWN_TOKEN")

    @case("refresh tokens: login with refresh_token, refresh, old token dies")
    def _():
        j = expect(login(srv, "alice", refresh_token=True), 200)
        assert j["refresh_token"] and j["expires_in_ms"] > 0, j
        r = expect(srv.call("POST", C + "/refresh", {"refresh_token": j["refresh_token"]}), 200)
        assert r["access_token"] != j["access_token"] and r["refresh_token"] and r["expires_in_ms"] > 0
        w = expect(srv.call("GET", C + "/account/whoami", token=r["access_token"]), 200)
        assert w["device_id"] == j["device_id"]
        expect(srv.call("GET", C + "/account/whoami", token=j["access_token"]), 401, "M_UNKNOWN_TOKEN")
        expect(srv.call("POST", C + "/refresh", {"refresh_token": "syr_nope"}), 401, "M_UNKNOWN_TOKEN")
        # Once the successor has been used, the old refresh token is dead.
        r2 = expect(srv.call("POST", C + "/refresh", {"refresh_token": r["refresh_token"]}), 200)
        expect(srv.call("POST", C + "/refresh", {"refresh_token": j["refresh_token"]}), 401, "M_UNKNOWN_TOKEN")
        expect(srv.call("GET", C + "/account/whoami", token=r2["access_token"]), 200)
        expect(srv.call("POST", C + "/refresh", {}), 400, "M_MISSING_PARAM")

    @case("devices: list, get, rename, unknown is 404")
    def _():
        tok = expect(login(srv, "alice", device_id="DEVNAME", initial_device_display_name="Phone"), 200)["access_token"]
        expect(srv.call("GET", C + "/account/whoami", token=tok, host="::1"), 200)
        j = expect(srv.call("GET", C + "/devices", token=tok), 200)
        ids = [d["device_id"] for d in j["devices"]]
        assert "DEVNAME" in ids and "MYDEVICE" in ids, ids
        d = expect(srv.call("GET", C + "/devices/DEVNAME", token=tok), 200)
        assert d["display_name"] == "Phone" and d["last_seen_ts"] > 0, d
        assert d["last_seen_ip"] == "::1", d  # the first request after login updates it
        expect(srv.call("PUT", C + "/devices/DEVNAME", {"display_name": "Tablet"}, token=tok), 200)
        d = expect(srv.call("GET", C + "/devices/DEVNAME", token=tok), 200)
        assert d["display_name"] == "Tablet", d
        expect(srv.call("GET", C + "/devices/NOPE", token=tok), 404, "M_NOT_FOUND")
        expect(srv.call("PUT", C + "/devices/NOPE", {"display_name": "x"}, token=tok), 404, "M_NOT_FOUND")
        expect(srv.call("PUT", C + "/devices/DEVNAME", {"display_name": 3}, token=tok), 400, "M_BAD_JSON")

    @case("delete a device behind UIA (401 flows, wrong password, then success)")
    def _():
        tok = expect(login(srv, "alice"), 200)["access_token"]
        victim = expect(login(srv, "alice", device_id="VICTIM"), 200)["access_token"]
        j = expect(srv.call("DELETE", C + "/devices/VICTIM", token=tok), 401)
        assert j["flows"] == [{"stages": ["m.login.password"]}] and j["session"], j
        auth = {"type": "m.login.password", "session": j["session"],
                "identifier": {"type": "m.id.user", "user": "alice"}, "password": "wrong"}
        j2 = expect(srv.call("DELETE", C + "/devices/VICTIM", {"auth": auth}, token=tok), 401, "M_FORBIDDEN")
        assert j2["session"] == j["session"]
        auth["password"] = PASSWORD
        expect(srv.call("DELETE", C + "/devices/VICTIM", {"auth": auth}, token=tok), 200)
        expect(srv.call("GET", C + "/devices/VICTIM", token=tok), 404, "M_NOT_FOUND")
        expect(srv.call("GET", C + "/account/whoami", token=victim), 401, "M_UNKNOWN_TOKEN")

    @case("delete_devices behind UIA")
    def _():
        tok = expect(login(srv, "alice"), 200)["access_token"]
        v1 = expect(login(srv, "alice", device_id="V1"), 200)["access_token"]
        expect(login(srv, "alice", device_id="V2"), 200)
        expect(srv.call("POST", C + "/delete_devices", {"devices": "V1"}, token=tok), 400, "M_BAD_JSON")
        expect(srv.call("POST", C + "/delete_devices", {}, token=tok), 400, "M_MISSING_PARAM")
        j = expect(srv.call("POST", C + "/delete_devices", {"devices": ["V1", "V2"]}, token=tok), 401)
        auth = {"type": "m.login.password", "session": j["session"], "user": "@alice:" + SERVER,
                "password": PASSWORD}
        expect(srv.call("POST", C + "/delete_devices", {"devices": ["V1", "V2", "GHOST"], "auth": auth},
                        token=tok), 200)
        ids = [d["device_id"] for d in expect(srv.call("GET", C + "/devices", token=tok), 200)["devices"]]
        assert "V1" not in ids and "V2" not in ids, ids
        expect(srv.call("GET", C + "/account/whoami", token=v1), 401, "M_UNKNOWN_TOKEN")

    @case("logout and logout/all")
    def _():
        a = expect(login(srv, "alice"), 200)["access_token"]
        b = expect(login(srv, "alice"), 200)["access_token"]
        c = expect(login(srv, "alice"), 200)["access_token"]
        expect(srv.call("POST", C + "/logout", token=a), 200)
        expect(srv.call("GET", C + "/account/whoami", token=a), 401, "M_UNKNOWN_TOKEN")
        expect(srv.call("GET", C + "/account/whoami", token=b), 200)
        expect(srv.call("POST", C + "/logout/all", {}, token=b), 200)
        expect(srv.call("GET", C + "/account/whoami", token=b), 401, "M_UNKNOWN_TOKEN")
        expect(srv.call("GET", C + "/account/whoami", token=c), 401, "M_UNKNOWN_TOKEN")
        assert expect(srv.call("GET", C + "/devices", token=expect(login(srv, "alice"), 200)["access_token"]),
                      200)["devices"].__len__() == 1

    @case("account/password behind UIA logs out the other devices")
    def _():
        expect(register(srv, "carol"), 200)
        keep = expect(login(srv, "carol"), 200)["access_token"]
        other = expect(login(srv, "carol"), 200)["access_token"]
        j = expect(srv.call("POST", C + "/account/password", {"new_password": "n3w pass"}, token=keep), 401)
        auth = {"type": "m.login.password", "session": j["session"],
                "identifier": {"type": "m.id.user", "user": "carol"}, "password": PASSWORD}
        expect(srv.call("POST", C + "/account/password", {"new_password": "n3w pass", "auth": auth},
                        token=keep), 200)
        expect(srv.call("GET", C + "/account/whoami", token=keep), 200)
        expect(srv.call("GET", C + "/account/whoami", token=other), 401, "M_UNKNOWN_TOKEN")
        expect(login(srv, "carol"), 403, "M_FORBIDDEN")
        expect(login(srv, "carol", "n3w pass"), 200)
        # logout_devices: false keeps the other sessions.
        other = expect(login(srv, "carol", "n3w pass"), 200)["access_token"]
        j = expect(srv.call("POST", C + "/account/password", {"new_password": "third", "logout_devices": False},
                            token=keep), 401)
        auth = {"type": "m.login.password", "session": j["session"], "user": "carol", "password": "n3w pass"}
        expect(srv.call("POST", C + "/account/password",
                        {"new_password": "third", "logout_devices": False, "auth": auth}, token=keep), 200)
        expect(srv.call("GET", C + "/account/whoami", token=other), 200)
        expect(login(srv, "carol", "third"), 200)

    @case("3pid endpoints answer empty lists or refuse; capabilities")
    def _():
        tok = expect(login(srv, "alice"), 200)["access_token"]
        j = expect(srv.call("GET", C + "/account/3pid", token=tok), 200)
        assert j == {"threepids": []}, j
        expect(srv.call("POST", C + "/account/3pid/delete", {"medium": "email", "address": "a@b"},
                        token=tok), 200)
        expect(srv.call("POST", C + "/account/3pid/email/requestToken",
                        {"client_secret": "x", "email": "a@b", "send_attempt": 1}), 400, "M_THREEPID_DENIED")
        caps = expect(srv.call("GET", C + "/capabilities", token=tok), 200)["capabilities"]
        assert caps["m.change_password"]["enabled"] is True and caps["m.3pid_changes"]["enabled"] is False

    @case("account/deactivate behind UIA; the account cannot log in or be re-registered")
    def _():
        expect(register(srv, "dave"), 200)
        tok = expect(login(srv, "dave"), 200)["access_token"]
        j = expect(srv.call("POST", C + "/account/deactivate", {}, token=tok), 401)
        auth = {"type": "m.login.password", "session": j["session"], "user": "dave", "password": PASSWORD}
        expect(srv.call("POST", C + "/account/deactivate", {"auth": auth}, token=tok), 200)
        expect(srv.call("GET", C + "/account/whoami", token=tok), 401, "M_UNKNOWN_TOKEN")
        s, j, _ = login(srv, "dave")
        assert s == 403 and j["errcode"] in ("M_USER_DEACTIVATED", "M_FORBIDDEN"), j
        expect(register(srv, "dave"), 400, "M_USER_IN_USE")

    @case("shared-secret admin registration (HMAC-SHA1 nonce scheme)")
    def _():
        r, nonce = admin_register(srv, "root", PASSWORD, admin=True)
        j = expect(r, 200)
        assert j["user_id"] == "@root:" + SERVER and j["access_token"]
        r, _ = admin_register(srv, "root2", PASSWORD, nonce=nonce)
        expect(r, 400)  # nonces are single-use
        r, _ = admin_register(srv, "root3", PASSWORD, secret="wrong")
        expect(r, 403, "M_FORBIDDEN")
        r, _ = admin_register(srv, "root", PASSWORD)
        expect(r, 400, "M_USER_IN_USE")
        r, _ = admin_register(srv, "Not Valid", PASSWORD)
        expect(r, 400, "M_INVALID_USERNAME")
        expect(srv.call("POST", "/_synapse/admin/v1/register", {"nonce": "x"}), 400, "M_MISSING_PARAM")

    @case("scopctl register over HTTP, then login")
    def _():
        p = subprocess.run([binary("scopctl"), "register", "-c", srv.config, "-u", "erin",
                            "-p", PASSWORD, "--admin"], capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        assert "@erin:" + SERVER in p.stdout, p.stdout
        expect(login(srv, "erin"), 200)
        p = subprocess.run([binary("scopctl"), "register", "-c", srv.config, "-u", "erin"],
                           input="x\n", capture_output=True, text=True, timeout=60)
        assert p.returncode != 0 and "M_USER_IN_USE" in p.stderr, (p.stdout, p.stderr)
        # User and password from standard input, as a script would give them.
        p = subprocess.run([binary("scopctl"), "register", "-c", srv.config],
                           input="zed\nzed password\n", capture_output=True, text=True, timeout=60)
        assert p.returncode == 0 and "@zed:" + SERVER in p.stdout, (p.stdout, p.stderr)
        expect(login(srv, "zed", "zed password"), 200)
        p = subprocess.run([binary("scopctl"), "register", "-u", "x"], capture_output=True, text=True, timeout=60)
        assert p.returncode == 2 and "usage" in p.stderr, p.stderr

    @case("failed logins are rate limited per user (across IPs) and per IP")
    def _():
        expect(register(srv, "frank"), 200)
        expect(register(srv, "grace"), 200)
        seen = None
        for _ in range(12):
            s, j, _ = login(srv, "frank", "bad", host="::1")
            if s == 429:
                seen = j
                break
            assert s == 403, (s, j)
        assert seen and seen["errcode"] == "M_LIMIT_EXCEEDED" and seen["retry_after_ms"] > 0, seen
        # The same user from the other address: still limited (per user),
        # also when spelled with other letter case.
        expect(login(srv, "frank", host="127.0.0.1"), 429, "M_LIMIT_EXCEEDED")
        expect(login(srv, "@FRANK:" + SERVER, host="127.0.0.1"), 429, "M_LIMIT_EXCEEDED")
        # Another user from the address that failed: limited (per IP).
        expect(login(srv, "grace", host="::1"), 429, "M_LIMIT_EXCEEDED")
        # Another user from the other address is fine.
        expect(login(srv, "grace", host="127.0.0.1"), 200)

    @case("concurrent registrations of one name: exactly one wins")
    def _():
        import threading
        results = []

        def go():
            results.append(register(srv, "racer")[0])
        threads = [threading.Thread(target=go) for _ in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert sorted(results) == [200] + [400] * 7, results

    @case("stalled clients (half-sent requests) do not block others")
    def _():
        import socket
        stalled = []
        for _ in range(40):
            sk = socket.create_connection(("127.0.0.1", srv.port))
            sk.sendall(b"POST " + C.encode() + b"/login HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
            stalled.append(sk)
        try:
            expect(srv.call("GET", "/_matrix/client/versions"), 200)
            expect(login(srv, "alice"), 200)
        finally:
            for sk in stalled:
                sk.close()

    @case("no secrets in the log")
    def _():
        log = srv.log()
        assert "POST " + C + "/login 200" in log, log[-2000:]
        for secret in (PASSWORD, "n3w pass", srv.secret, "syt_", "syr_", "access_token="):
            assert secret not in log, "log contains %r" % secret


def run_other_configs(tmp, db_sqlite):
    @t.case("registration disabled: register 403 M_FORBIDDEN, shared secret still works")
    def _():
        srv = Server(tmp, "closed", db_sqlite("closed"), "enable_registration: false")
        try:
            expect(register(srv, "alice"), 403, "M_FORBIDDEN")
            expect(srv.call("GET", C + "/register/available?username=alice"), 403, "M_FORBIDDEN")
            r, _ = admin_register(srv, "admin", PASSWORD, admin=True)
            expect(r, 200)
            expect(login(srv, "admin"), 200)
        finally:
            srv.stop()

    @t.case("a tls listener serves HTTPS (self-signed certificate)")
    def _():
        srv = Server(tmp, "tls", db_sqlite("tls"), "enable_registration: true", tls=True)
        try:
            expect(srv.call("GET", "/_matrix/client/versions"), 200)
            expect(register(srv, "secure"), 200)
            j = expect(login(srv, "secure"), 200)
            expect(srv.call("GET", C + "/account/whoami", token=j["access_token"], host="::1"), 200)
            # Plain HTTP on the TLS port gets no answer, never a crash.
            import socket
            with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sk:
                sk.sendall(b"GET /_matrix/client/versions HTTP/1.1\r\nHost: x\r\n\r\n")
                try:
                    assert b"HTTP/1.1 200" not in sk.recv(4096)
                except OSError:
                    pass
            expect(srv.call("GET", "/_matrix/client/versions"), 200)
        finally:
            assert srv.stop() == 0, srv.log()[-2000:]

    @t.case("registration tokens: flow, wrong token, right token, validity; soft logout and refresh; registration rate limit")
    def _():
        srv = Server(tmp, "tokens", db_sqlite("tokens"),
                     "enable_registration: true\nregistration_requires_token: true\n"
                     "registration_tokens: [letmein]\naccess_token_lifetime_ms: 1000",
                     rc_registration="{per_second: 0.001, burst_count: 2}")
        try:
            j = expect(srv.call("POST", C + "/register", {"username": "tim", "password": PASSWORD}), 401)
            assert j["flows"] == [{"stages": ["m.login.registration_token"]}], j
            sess = j["session"]
            expect(register(srv, "tim"), 401)  # dummy is not enough
            j = expect(srv.call("POST", C + "/register", {
                "username": "tim", "password": PASSWORD,
                "auth": {"type": "m.login.registration_token", "token": "nope", "session": sess}}),
                401, "M_FORBIDDEN")
            j = expect(srv.call("POST", C + "/register", {
                "username": "tim", "password": PASSWORD,
                "auth": {"type": "m.login.registration_token", "token": "letmein", "session": sess}}), 200)
            assert j["user_id"] == "@tim:" + SERVER
            v = expect(srv.call("GET", "/_matrix/client/v1/register/m.login.registration_token/validity"
                                "?token=letmein"), 200)
            assert v["valid"] is True
            v = expect(srv.call("GET", "/_matrix/client/v1/register/m.login.registration_token/validity"
                                "?token=other"), 200)
            assert v["valid"] is False
            # An expired refreshable token is a soft logout; refreshing revives the session.
            j = expect(login(srv, "tim", refresh_token=True), 200)
            assert j["expires_in_ms"] == 1000, j
            time.sleep(1.2)
            e = expect(srv.call("GET", C + "/account/whoami", token=j["access_token"]), 401, "M_UNKNOWN_TOKEN")
            assert e["soft_logout"] is True, e
            r = expect(srv.call("POST", C + "/refresh", {"refresh_token": j["refresh_token"]}), 200)
            expect(srv.call("GET", C + "/account/whoami", token=r["access_token"]), 200)
            # A non-refreshable login does not expire.
            j = expect(login(srv, "tim"), 200)
            assert "expires_in_ms" not in j and "refresh_token" not in j, j
            # Registrations per IP are rate limited (burst 2 here).
            tok = {"type": "m.login.registration_token", "token": "letmein"}
            expect(srv.call("POST", C + "/register", {"username": "tom", "password": PASSWORD, "auth": tok}), 200)
            j = expect(srv.call("POST", C + "/register", {"username": "tam", "password": PASSWORD, "auth": tok}),
                       429, "M_LIMIT_EXCEEDED")
            assert j["retry_after_ms"] > 0, j
        finally:
            srv.stop()


def pg_database(tmp):
    """A fresh database in the cluster of SCOP_TEST_PG_DSN; its config block."""
    dsn = os.environ.get("SCOP_TEST_PG_DSN")
    if not dsn:
        return None
    name = "scop_accounts_%d" % os.getpid()
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", dsn, "-c", "DROP DATABASE IF EXISTS %s" % name],
                   check=True, capture_output=True)
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", dsn, "-c", "CREATE DATABASE %s" % name],
                   check=True, capture_output=True)
    return name, dsn


def main():
    tmp = tempfile.mkdtemp(prefix="scop-accounts-")
    ok = False
    try:
        def db_sqlite(name):
            return "{name: sqlite3, args: {database: %s}}" % json.dumps(os.path.join(tmp, name + ".db"))

        srv = Server(tmp, "sqlite", db_sqlite("main"), "enable_registration: true")
        try:
            run_suite(srv, "sqlite")
        finally:
            rc = srv.stop()
        t.ok(rc == 0, "sqlite: scopd stops cleanly on SIGTERM (exit 0, no leaks)", srv.log()[-3000:])
        run_other_configs(tmp, db_sqlite)

        pg = pg_database(tmp)
        if pg is None:
            if os.environ.get("SCOP_REQUIRE_PG") == "1":
                t.ok(False, "postgres: SCOP_REQUIRE_PG=1 but SCOP_TEST_PG_DSN is unset")
            else:
                print("# postgres: SCOP_TEST_PG_DSN unset, PostgreSQL run skipped", flush=True)
        else:
            name, dsn = pg
            db = "{name: psycopg2, args: {dsn: %s, database: %s}}" % (json.dumps(dsn), name)
            srv = Server(tmp, "postgres", db, "enable_registration: true")
            try:
                run_suite(srv, "postgres")
            finally:
                rc = srv.stop()
                subprocess.run(["psql", "-q", dsn, "-c", "DROP DATABASE IF EXISTS %s" % name],
                               capture_output=True)
            t.ok(rc == 0, "postgres: scopd stops cleanly on SIGTERM (exit 0, no leaks)", srv.log()[-3000:])
        ok = True
    finally:
        if ok and not t.failed:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("# logs kept in %s" % tmp, flush=True)
    t.done()


if __name__ == "__main__":
    main()
