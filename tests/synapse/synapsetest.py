"""Shared setup for the Synapse interop scripts (interop.py,
interop_edu.py, capture_vectors.py): a test CA, a Synapse 1.67 from
SYNAPSE_SRC and a scopd from SCOP_BUILDDIR, each on free loopback ports
with its own certificate, trusting the CA, with the configs
tests/synapse/README.md explains.  The PKI, scopd, requests and signing
are tests/federation/fedhs.py's.  Everything lives under one work directory
the caller owns."""
import json
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "federation"))
from fedhs import HS, PASSWORD, SECRET, Server, make_pki, q, verified, xmatrix  # noqa: E402,F401
from scoptest import Proc, free_port, wait_port  # noqa: E402

import signedjson.key  # noqa: E402

SYNAPSE_SRC = os.environ.get("SYNAPSE_SRC")


class Synapse(Server):
    def __init__(self, work, room_version, presence=False):
        Server.__init__(self, work)
        self.room_version = room_version
        self.presence = "true" if presence else "false"
        self.fport, self.cport = free_port(), free_port()
        self.name = "localhost:%d" % self.fport
        self.dir = os.path.join(work, "synapse")
        os.makedirs(self.dir)
        self.sk = signedjson.key.generate_signing_key("a_syn")
        with open(os.path.join(self.dir, "signing.key"), "w") as f:
            signedjson.key.write_signing_keys(f, [self.sk])
        self.log_path = os.path.join(self.dir, "synapse.log")
        with open(os.path.join(self.dir, "log.yaml"), "w") as f:
            f.write(f"""version: 1
formatters:
  precise: {{format: '%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(request)s - %(message)s'}}
filters:
  context: {{(): synapse.logging.context.LoggingContextFilter, request: ""}}
handlers:
  file: {{class: logging.FileHandler, formatter: precise, filename: {self.dir}/homeserver.log,
         filters: [context], encoding: utf8}}
loggers:
  synapse.storage.SQL: {{level: WARNING}}
  synapse.crypto.keyring: {{level: DEBUG}}
  twisted: {{level: WARNING}}
root: {{level: INFO, handlers: [file]}}
disable_existing_loggers: false
""")
        self.config = os.path.join(self.dir, "homeserver.yaml")
        self.start([])

    def start(self, trusted_key_servers):
        """Writes the config (trusted_key_servers: Synapse's list of
        {server_name, verify_keys}) and starts Synapse."""
        work, room_version = self.work, self.room_version
        rc = "{per_second: 1000, burst_count: 1000}"
        with open(self.config, "w") as f:
            f.write(f"""server_name: "{self.name}"
pid_file: {self.dir}/homeserver.pid
public_baseurl: http://127.0.0.1:{self.cport}/
listeners:
  - {{port: {self.fport}, tls: true, type: http, bind_addresses: ['127.0.0.1'],
     resources: [{{names: [federation], compress: false}}]}}
  - {{port: {self.cport}, tls: false, type: http, x_forwarded: false, bind_addresses: ['127.0.0.1'],
     resources: [{{names: [client], compress: false}}]}}
tls_certificate_path: {work}/synapse.crt
tls_private_key_path: {work}/synapse.key
federation_verify_certificates: true
federation_custom_ca_list: [{work}/ca.crt]
# Synapse's default blacklist less 127.0.0.0/8 (its whitelist does not
# cover IP-literal server names: BlacklistingAgentWrapper gets no whitelist).
ip_range_blacklist: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16',
                     '224.0.0.0/4', '::1/128', 'fe80::/10', 'fc00::/7']
ip_range_whitelist: ['127.0.0.1/32']
database: {{name: sqlite3, args: {{database: {self.dir}/homeserver.db}}}}
log_config: {self.dir}/log.yaml
media_store_path: {self.dir}/media
signing_key_path: {self.dir}/signing.key
registration_shared_secret: "{SECRET}"
macaroon_secret_key: "interop macaroon secret"
form_secret: "interop form secret"
report_stats: false
trusted_key_servers: {json.dumps(trusted_key_servers)}
suppress_key_server_warning: true
default_room_version: "{room_version}"
enable_metrics: false
# Synapse answers a repeated identical /sync from a 2-minute cache; tests poll.
caches: {{sync_response_cache_duration: 0}}
presence: {{enabled: {self.presence}}}
url_preview_enabled: false
rc_message: {rc}
rc_registration: {rc}
rc_login: {{address: {rc}, account: {rc}, failed_attempts: {rc}}}
rc_joins: {{local: {rc}, remote: {rc}}}
rc_invites: {{per_room: {rc}, per_user: {rc}, per_issuer: {rc}}}
rc_federation: {{window_size: 1000, sleep_limit: 1000, sleep_delay: 1, reject_limit: 1000, concurrent: 100}}
""")
        env = dict(os.environ, PYTHONPATH=SYNAPSE_SRC)
        self.proc = Proc(["/usr/bin/python3", "-m", "synapse.app.homeserver", "-c", self.config],
                         self.log_path, env=env)
        wait_port(self.cport, timeout=180, proc=self.proc.p)
        wait_port(self.fport, timeout=30, proc=self.proc.p)

    def restart(self, trusted_key_servers):
        rc = self.proc.stop(timeout=30)
        self.start(trusted_key_servers)
        return rc

    def log(self):
        out = []
        for p in (self.log_path, os.path.join(self.dir, "homeserver.log")):
            try:
                with open(p, errors="replace") as f:
                    out.append(f.read())
            except OSError:
                pass
        return "\n".join(out)


class Scopd(HS):
    def __init__(self, work, overrides, sub="scopd", extra=""):
        """sub: its directory under work; extra: more config lines.  All
        instances share the certificate for IP:127.0.0.1."""
        HS.__init__(self, work, "127.0.0.1", free_port(), overrides, extra=extra, sub=sub, cert="scopd",
                    backoff=(200, 2000), registration=False)


def wait_for(fn, timeout=30.0, step=0.25):
    """Polls fn() until it returns something true; returns the last value."""
    deadline = time.monotonic() + timeout
    v = fn()
    while not v and time.monotonic() < deadline:
        time.sleep(step)
        v = fn()
    return v


def timeline_bodies(hs, token, room_id):
    """Message bodies in room_id, oldest first: from /messages, or, when
    that fails (Synapse's /messages backfills from the room's other server
    first and fails with it), from the room's /sync timeline."""
    s, j = hs.client("GET", "/_matrix/client/v3/rooms/%s/messages?dir=b&limit=50" % q(room_id), token=token)
    if s == 200:
        events = list(reversed(j.get("chunk", [])))
    else:
        f = q(json.dumps({"room": {"rooms": [room_id], "timeline": {"limit": 50}}}))
        s, j = hs.client("GET", "/_matrix/client/v3/sync?filter=" + f, token=token)
        events = (j or {}).get("rooms", {}).get("join", {}).get(room_id, {}).get("timeline", {}).get("events", [])
    return [e.get("content", {}).get("body") for e in events if e.get("type") == "m.room.message"]


def joined_members(hs, token, room_id):
    s, j = hs.client("GET", "/_matrix/client/v3/rooms/%s/joined_members" % q(room_id), token=token)
    return set((j or {}).get("joined", {}).keys()) if s == 200 else set()


def start_pair(work, room_version, presence=False):
    """Makes the PKI in work and starts Synapse (presence: with presence
    on), then scopd; returns both (the caller stops them: .proc.stop())."""
    make_pki(work, {"synapse": "DNS:localhost,IP:127.0.0.1", "scopd": "IP:127.0.0.1"})
    syn = Synapse(work, room_version, presence)
    try:
        scop = Scopd(work, ["localhost:%d:127.0.0.1:%d" % (syn.fport, syn.fport)])
    except Exception:
        syn.proc.stop()
        raise
    return syn, scop


def finish(t, work, servers):
    """The end of an interop script: stops servers (scopd first, and
    checks it exits 0), prints their log tails when a check failed or with
    VERBOSE, removes work unless KEEP is set, and ends t."""
    stopped = [hs.proc.stop(timeout=30) for hs in servers if isinstance(hs, Scopd)]
    for hs in servers:
        if not isinstance(hs, Scopd):
            hs.proc.stop(timeout=30)
    if stopped:
        t.ok(all(rc == 0 for rc in stopped), "scopd instances stop cleanly", stopped)
    if t.failed or os.environ.get("VERBOSE"):
        for hs in servers:
            sys.stderr.write("==== %s log tail\n%s\n" % (hs.name, hs.log()[-6000:]))
    if not os.environ.get("KEEP"):
        shutil.rmtree(work, ignore_errors=True)
    else:
        sys.stderr.write("kept %s\n" % work)
    t.done()
