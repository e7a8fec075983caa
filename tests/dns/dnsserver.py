"""A private authoritative DNS server (Knot DNS, Debian's knotd) on a free
loopback port, for tests that need real DNS answers.

As a module (tests import it with sys.path pointing at tests/dns):

    from dnsserver import KnotServer
    with KnotServer(workdir, ["zones/example.com.zone"], sign=["secure.example.org"]) as srv:
        srv.port, srv.forwarder ("127.0.0.1@PORT"), srv.trust_anchor (a file of DS records)

From the shell (prints "PORT TRUST_ANCHOR_FILE" and leaves knotd running):

    dnsserver.py start DIR [--sign ZONE]... [--bogus ZONE]... ZONEFILE...
    dnsserver.py stop DIR

Each zone file needs an $ORIGIN line (or is named ORIGIN.zone); "$ORIGIN ."
serves the root zone, so every name outside the other zones is NXDOMAIN.  Zones in
sign are signed with a fresh ECDSA P-256 key by ldns-signzone (NSEC); zones
in bogus are signed and then have one A record changed, so validation
fails.  The trust anchor file holds the DS records of every signed zone.
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import time

KNOTD = "/usr/sbin/knotd"


def free_port():
    # knotd needs the port free for both UDP and TCP.
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                try:
                    u.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port")


def txt_rdata(record):
    """A TXT record's text in zone-file form: quoted strings of at most 255 bytes."""
    return " ".join('"%s"' % record[i:i + 255] for i in range(0, len(record), 255))


def write_zone(directory, origin, lines):
    """Writes <directory>/<origin>.zone: SOA, NS ns.<origin> at 127.0.0.1,
    then lines (zone-file records relative to origin); returns its path."""
    path = os.path.join(directory, origin + ".zone")
    with open(path, "w") as f:
        f.write("$ORIGIN %s.\n$TTL 300\n@ SOA ns.%s. h.%s. 1 3600 600 86400 300\n@ NS ns.%s.\nns A 127.0.0.1\n"
                % (origin, origin, origin, origin))
        f.write("\n".join(lines) + "\n")
    return path


def zone_origin(path):
    with open(path) as f:
        for line in f:
            m = re.match(r"\$ORIGIN\s+(\S+)", line)
            if m:
                return m.group(1).rstrip(".").lower()
    base = os.path.basename(path)
    return base[:-5] if base.endswith(".zone") else base


def _run(argv, cwd):
    p = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise RuntimeError("%s failed: %s" % (argv[0], p.stderr.strip()))
    return p.stdout


def sign_zone(workdir, origin, src, tamper=False):
    """Signs src into workdir/ORIGIN.zone; returns the DS record lines."""
    keybase = _run(["ldns-keygen", "-a", "ECDSAP256SHA256", "-k", origin], workdir).strip()
    zsk = _run(["ldns-keygen", "-a", "ECDSAP256SHA256", origin], workdir).strip()
    plain = os.path.join(workdir, origin + ".unsigned")
    # ldns-signzone wants an explicit origin in the file.
    with open(src) as f, open(plain, "w") as out:
        text = f.read()
        if not re.search(r"^\$ORIGIN", text, re.M):
            out.write("$ORIGIN %s.\n" % origin)
        out.write(text)
    _run(["ldns-signzone", "-o", origin + ".", "-f", os.path.join(workdir, origin + ".zone"),
          plain, keybase, zsk], workdir)
    if tamper:
        path = os.path.join(workdir, origin + ".zone")
        with open(path) as f:
            lines = f.read().splitlines()
        for i, line in enumerate(lines):
            parts = line.split()
            if len(parts) >= 5 and parts[3] == "A" and parts[0] == origin + ".":
                parts[4] = "192.0.2.66" if parts[4] != "192.0.2.66" else "192.0.2.67"
                lines[i] = "\t".join(parts)
                break
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
    with open(os.path.join(workdir, keybase + ".ds")) as f:
        ds = [l for l in f.read().splitlines() if l.strip()]
    with open(os.path.join(workdir, keybase + ".key")) as f:
        dnskey = [l for l in f.read().splitlines() if l.strip() and not l.startswith(";")]
    return ds, dnskey


class KnotServer:
    def __init__(self, workdir, zonefiles, sign=(), bogus=(), port=None):
        self.workdir = os.path.abspath(workdir)
        self.zonefiles = [os.path.abspath(z) for z in zonefiles]
        self.sign = {z.rstrip(".").lower() for z in sign}
        self.bogus = {z.rstrip(".").lower() for z in bogus}
        self.port = port
        self.proc = None
        self.trust_anchor = os.path.join(self.workdir, "trust-anchor.ds")
        # The same anchors as the signed zones' key-signing DNSKEY records.
        self.trust_anchor_dnskey = os.path.join(self.workdir, "trust-anchor.dnskey")

    @property
    def forwarder(self):
        return "127.0.0.1@%d" % self.port

    def prepare(self):
        os.makedirs(self.workdir, exist_ok=True)
        os.makedirs(os.path.join(self.workdir, "db"), exist_ok=True)
        ds = []
        dnskeys = []
        zones = []
        for src in self.zonefiles:
            origin = zone_origin(src)  # "" for the root zone
            dst = os.path.join(self.workdir, (origin or "root") + ".zone")
            if origin in self.sign or origin in self.bogus:
                d, k = sign_zone(self.workdir, origin, src, tamper=origin in self.bogus)
                ds += d
                dnskeys += k
            elif os.path.abspath(src) != dst:
                shutil.copyfile(src, dst)
            zones.append(origin)
        with open(self.trust_anchor, "w") as f:
            f.write("\n".join(ds) + ("\n" if ds else ""))
        with open(self.trust_anchor_dnskey, "w") as f:
            f.write("\n".join(dnskeys) + ("\n" if dnskeys else ""))
        if self.port is None:
            self.port = free_port()
        conf = ["server:",
                "    rundir: \"%s\"" % self.workdir,
                "    listen: 127.0.0.1@%d" % self.port,
                "    udp-workers: 1",
                "    tcp-workers: 1",
                "    background-workers: 1",
                "database:",
                "    storage: \"%s\"" % os.path.join(self.workdir, "db"),
                "log:",
                "  - target: stderr",
                "    any: info",
                "template:",
                "  - id: default",
                "    storage: \"%s\"" % self.workdir,
                "    zonefile-sync: -1",
                "    zonefile-load: whole",
                "    journal-content: none",
                "zone:"]
        for z in zones:
            conf += ["  - domain: %s." % z if z else "  - domain: .", "    file: \"%s.zone\"" % (z or "root")]
        self.conf = os.path.join(self.workdir, "knot.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(conf) + "\n")
        self.zones = zones

    def start(self, detach=False):
        if self.proc is not None and self.proc.poll() is None:
            return self  # already running (e.g. start() then "with srv:")
        chosen = self.port
        for attempt in range(3):
            self.prepare()
            log = open(os.path.join(self.workdir, "knotd.log"), "ab")
            self.proc = subprocess.Popen([KNOTD, "-c", self.conf], stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=detach)
            log.close()
            with open(os.path.join(self.workdir, "knotd.pid"), "w") as f:
                f.write("%d\n" % self.proc.pid)
            try:
                self.wait_ready()
                return self
            except (RuntimeError, TimeoutError):
                # Most likely another test took the free port first.
                self.stop()
                if chosen is not None or attempt == 2:
                    raise
                self.port = None
        return self

    def wait_ready(self, timeout=20.0):
        """Waits until every zone answers its SOA over UDP."""
        deadline = time.monotonic() + timeout
        pending = list(self.zones)
        while pending:
            if self.proc.poll() is not None:
                raise RuntimeError("knotd exited (%s); see %s/knotd.log" % (self.proc.returncode, self.workdir))
            if time.monotonic() > deadline:
                raise TimeoutError("knotd did not serve %s" % pending)
            if _soa_answers(self.port, pending[0]):
                pending.pop(0)
            else:
                time.sleep(0.05)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _soa_answers(port, zone):
    """True when a SOA query for zone gets an authoritative NOERROR answer."""
    qid = 0x5343
    q = bytearray(qid.to_bytes(2, "big") + b"\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00")
    for label in zone.split(".") if zone else []:
        q += bytes([len(label)]) + label.encode()
    q += b"\x00\x00\x06\x00\x01"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        try:
            s.sendto(bytes(q), ("127.0.0.1", port))
            data = s.recv(4096)
        except OSError:
            return False
    return len(data) >= 12 and data[:2] == q[:2] and (data[3] & 0x0F) == 0 and data[2] & 0x04 \
        and int.from_bytes(data[6:8], "big") > 0


def main(argv):
    if len(argv) >= 2 and argv[0] == "stop":
        pidfile = os.path.join(argv[1], "knotd.pid")
        with open(pidfile) as f:
            pid = int(f.read())
        try:
            os.kill(pid, 15)
        except ProcessLookupError:
            pass
        os.unlink(pidfile)
        return 0
    if len(argv) >= 3 and argv[0] == "start":
        workdir, rest = argv[1], argv[2:]
        sign, bogus, files = [], [], []
        i = 0
        while i < len(rest):
            if rest[i] in ("--sign", "--bogus") and i + 1 < len(rest):
                (sign if rest[i] == "--sign" else bogus).append(rest[i + 1])
                i += 2
            else:
                files.append(rest[i])
                i += 1
        srv = KnotServer(workdir, files, sign=sign, bogus=bogus)
        srv.start(detach=True)
        print("%d %s" % (srv.port, srv.trust_anchor), flush=True)
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
