#!/usr/bin/python3
"""A real third-party client against scopd: matrix-nio (Debian's
python3-matrix-nio) registers, logs in, asks whoami, lists devices and logs
out.  Prints TAP."""
import asyncio
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scoptest import Tap, Proc, binary, free_port, wait_port  # noqa: E402

t = Tap()
try:
    import nio
    from nio import responses as R
except ImportError:
    print("1..0 # SKIP python3-matrix-nio is not installed")
    sys.exit(0)


async def scenario(url, store_dir):
    c = nio.AsyncClient(url, "", store_path=store_dir)
    try:
        r = await c.register("niouser", "nio password", "nio device")
        t.ok(isinstance(r, R.RegisterResponse) and r.user_id == "@niouser:nio.test",
             "nio register", r)
        r = await c.register("niouser", "nio password")
        t.ok(isinstance(r, R.RegisterErrorResponse) and r.status_code == "M_USER_IN_USE",
             "nio register again: M_USER_IN_USE", r)
        await c.close()

        c = nio.AsyncClient(url, "@niouser:nio.test", store_path=store_dir)
        r = await c.login("wrong", device_name="x")
        t.ok(isinstance(r, R.LoginError) and r.status_code == "M_FORBIDDEN",
             "nio login with a wrong password fails with M_FORBIDDEN", r)
        r = await c.login("nio password", device_name="nio laptop")
        t.ok(isinstance(r, R.LoginResponse) and r.user_id == "@niouser:nio.test"
             and r.access_token and r.device_id, "nio login", r)
        r = await c.whoami()
        t.ok(isinstance(r, R.WhoamiResponse) and r.user_id == "@niouser:nio.test",
             "nio whoami", r)
        r = await c.devices()
        t.ok(isinstance(r, R.DevicesResponse) and
             any(d.display_name == "nio laptop" for d in r.devices), "nio devices", r)
        r = await c.update_device(c.device_id, {"display_name": "renamed"})
        t.ok(isinstance(r, R.UpdateDeviceResponse), "nio update_device", r)
        r = await c.logout()
        t.ok(isinstance(r, R.LogoutResponse), "nio logout", r)
        r = await c.whoami()
        t.ok(isinstance(r, R.WhoamiError) and r.status_code in ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN"),
             "nio whoami after logout is refused", r)
    finally:
        await c.close()


def main():
    tmp = tempfile.mkdtemp(prefix="scop-nio-")
    port = free_port()
    cfg = os.path.join(tmp, "homeserver.yaml")
    with open(cfg, "w") as f:
        f.write(f"""server_name: nio.test
listeners: [{{port: {port}, type: http, bind_addresses: ['127.0.0.1']}}]
database: {{name: sqlite3, args: {{database: {tmp}/hs.db}}}}
signing_key_path: {tmp}/signing.key
enable_registration: true
password_hashing: {{time_cost: 1, memory_kib: 256}}
""")
    proc = Proc([binary("scopd"), "-c", cfg], os.path.join(tmp, "scopd.log"))
    try:
        wait_port(port, proc=proc.p)
        store = os.path.join(tmp, "nio-store")
        os.makedirs(store)
        asyncio.run(scenario("http://127.0.0.1:%d" % port, store))
    except Exception as e:  # a crash of the client library is a failure too
        t.ok(False, "nio scenario ran", repr(e))
    finally:
        rc = proc.stop()
    t.ok(rc == 0, "scopd stopped cleanly")
    if t.failed:
        print("# logs kept in %s" % tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    t.done()


main()
