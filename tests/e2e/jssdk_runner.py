"""Runs one matrix-js-sdk check script (tests/jssdk/*.mjs) against a fresh
scopd on SQLite and turns its JSON result lines into TAP.  Skips when node
(>= 20) or the npm packages are missing."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

from scoptest import SRCDIR, Tap, Proc, binary, free_port, wait_port

JSDIR = os.path.join(SRCDIR, "tests", "jssdk")


def run_js_checks(script, min_checks):
    node = shutil.which("node")
    if not node or not os.path.isdir(os.path.join(JSDIR, "node_modules", "matrix-js-sdk")):
        print("1..0 # SKIP node or matrix-js-sdk missing (scripts/install-deps.sh installs them)")
        sys.exit(0)
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True).stdout
        major = int(out.strip().lstrip("v").split(".")[0])
    except (ValueError, OSError):
        major = 0
    if major < 20:
        print("1..0 # SKIP matrix-js-sdk 37 needs node >= 20")
        sys.exit(0)

    t = Tap()
    tmp = tempfile.mkdtemp(prefix="scop-jssdk-%s-" % os.path.splitext(script)[0])
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
        p = subprocess.run([node, os.path.join(JSDIR, script), "http://127.0.0.1:%d" % port, "js.test"],
                           capture_output=True, text=True, timeout=120, cwd=JSDIR)
        n = 0
        for line in p.stdout.splitlines():
            try:
                r = json.loads(line)
            except ValueError:
                continue
            n += 1
            t.ok(r["ok"], r["desc"], r["diag"])
        t.ok(n >= min_checks and p.returncode == 0, "matrix-js-sdk ran every check", p.stderr[-3000:])
    finally:
        rc = proc.stop()
    t.ok(rc == 0, "scopd stopped cleanly")
    if t.failed:
        print("# logs kept in %s" % tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    t.done()
