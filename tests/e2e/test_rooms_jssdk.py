#!/usr/bin/python3
"""A second real client against scopd: matrix-js-sdk (npm, tests/jssdk)
creates rooms, sends, pages, changes state and profile, and runs its own
sync loop against them.  Prints TAP;
skips when node or the npm packages are missing."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scoptest import SRCDIR, Tap, Proc, binary, free_port, wait_port  # noqa: E402

JSDIR = os.path.join(SRCDIR, "tests", "jssdk")
node = shutil.which("node")
if not node or not os.path.isdir(os.path.join(JSDIR, "node_modules", "matrix-js-sdk")):
    print("1..0 # SKIP node or matrix-js-sdk missing (scripts/install-deps.sh installs them)")
    sys.exit(0)

try:
    major = int(subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip().lstrip("v").split(".")[0])
except (ValueError, OSError):
    major = 0
if major < 20:
    print("1..0 # SKIP matrix-js-sdk 37 needs node >= 20")
    sys.exit(0)

t = Tap()
tmp = tempfile.mkdtemp(prefix="scop-jssdk-rooms-")
port = free_port()
cfg = os.path.join(tmp, "homeserver.yaml")
with open(cfg, "w") as f:
    f.write(f"""server_name: js.test
listeners: [{{port: {port}, type: http, bind_addresses: ['127.0.0.1']}}]
database: {{name: sqlite3, args: {{database: {tmp}/hs.db}}}}
signing_key_path: {tmp}/signing.key
enable_registration: true
password_hashing: {{time_cost: 1, memory_kib: 256}}
""")
proc = Proc([binary("scopd"), "-c", cfg], os.path.join(tmp, "scopd.log"))
try:
    wait_port(port, proc=proc.p)
    p = subprocess.run([node, os.path.join(JSDIR, "rooms.mjs"), "http://127.0.0.1:%d" % port, "js.test"],
                       capture_output=True, text=True, timeout=120, cwd=JSDIR)
    n = 0
    for line in p.stdout.splitlines():
        try:
            r = json.loads(line)
        except ValueError:
            continue
        n += 1
        t.ok(r["ok"], r["desc"], r["diag"])
    t.ok(n >= 12 and p.returncode == 0, "matrix-js-sdk ran every check", p.stderr[-3000:])
finally:
    rc = proc.stop()
t.ok(rc == 0, "scopd stopped cleanly")
if t.failed:
    print("# logs kept in %s" % tmp)
else:
    shutil.rmtree(tmp, ignore_errors=True)
t.done()
