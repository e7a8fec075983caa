#!/usr/bin/python3
"""Typing, read receipts and presence between scopd and a real Synapse
over TLS on loopback.

Not part of `make check` (CI has no Synapse): run it by hand as
tests/synapse/README.md says for interop.py, with SYNAPSE_SRC pointing at
an unpacked Synapse 1.67.0; without it the script prints "1..0 # SKIP".
The setup is interop.py's (synapsetest.start_pair), with Synapse's
presence turned on.  A user of Synapse joins a room of scopd, then each
side's typing, m.read receipt and presence must reach the other side's
client API."""
import json
import os
import sys
import tempfile
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from synapsetest import SYNAPSE_SRC  # noqa: E402

if not SYNAPSE_SRC:
    print("1..0 # SKIP SYNAPSE_SRC is not set (see tests/synapse/README.md)")
    sys.exit(0)

from scoptest import Tap  # noqa: E402
from synapsetest import finish, start_pair, q, wait_for  # noqa: E402

t = Tap()
work = tempfile.mkdtemp(prefix="scop-synapse-edu-")
servers = []


def ephemeral(hs, token, room, kind):
    s, j = hs.client("GET", "/_matrix/client/v3/sync?timeout=0", token=token)
    r = (j or {}).get("rooms", {}).get("join", {}).get(room, {})
    return [e for e in r.get("ephemeral", {}).get("events", []) if e["type"] == kind]


def presence_of(hs, token, user, want):
    s, j = hs.client("GET", "/_matrix/client/v3/presence/%s/status" % q(user), token=token)
    return j if s == 200 and (j or {}).get("presence") == want else None


try:
    syn, scop = start_pair(work, "10", presence=True)
    servers += [syn, scop]
    sbob, sbob_tok = syn.register("bob")
    ccarol, ccarol_tok = scop.register("carol")
    s, j = scop.client("POST", "/_matrix/client/v3/createRoom", {"preset": "public_chat", "room_version": "10"},
                       token=ccarol_tok)
    room = j["room_id"]
    s, j = syn.client("POST", "/_matrix/client/v3/join/%s?server_name=%s" % (q(room), q(scop.name)), {},
                      token=sbob_tok)
    t.ok(s == 200, "Synapse's user joins a room on scopd", (s, j))
    s, j = scop.client("PUT", "/_matrix/client/v3/rooms/%s/send/m.room.message/m1" % q(room),
                       {"msgtype": "m.text", "body": "hello"}, token=ccarol_tok)
    ev = (j or {}).get("event_id")

    s, j = scop.client("PUT", "/_matrix/client/v3/rooms/%s/typing/%s" % (q(room), q(ccarol)),
                       {"typing": True, "timeout": 30000}, token=ccarol_tok)
    got = wait_for(lambda: [e for e in ephemeral(syn, sbob_tok, room, "m.typing")
                            if ccarol in e["content"].get("user_ids", [])], timeout=15)
    t.ok(got, "scopd's user typing shows in Synapse's /sync", got)
    s, j = syn.client("PUT", "/_matrix/client/v3/rooms/%s/typing/%s" % (q(room), q(sbob)),
                      {"typing": True, "timeout": 30000}, token=sbob_tok)
    got = wait_for(lambda: [e for e in ephemeral(scop, ccarol_tok, room, "m.typing")
                            if sbob in e["content"].get("user_ids", [])], timeout=15)
    t.ok(got, "Synapse's user typing shows in scopd's /sync", got)

    s, j = syn.client("POST", "/_matrix/client/v3/rooms/%s/receipt/m.read/%s" % (q(room), q(ev)), {},
                      token=sbob_tok)
    got = wait_for(lambda: [e for e in ephemeral(scop, ccarol_tok, room, "m.receipt")
                            if sbob in e["content"].get(ev, {}).get("m.read", {})], timeout=15)
    t.ok(got, "Synapse's read receipt shows in scopd's /sync", got)
    s, j = scop.client("POST", "/_matrix/client/v3/rooms/%s/receipt/m.read/%s" % (q(room), q(ev)), {},
                       token=ccarol_tok)
    got = wait_for(lambda: [e for e in ephemeral(syn, sbob_tok, room, "m.receipt")
                            if ccarol in json.dumps(e)], timeout=15)
    t.ok(got, "scopd's read receipt shows in Synapse's /sync", got)

    scop.client("PUT", "/_matrix/client/v3/presence/%s/status" % q(ccarol),
                {"presence": "unavailable", "status_msg": "lunch"}, token=ccarol_tok)
    got = wait_for(lambda: presence_of(syn, sbob_tok, ccarol, "unavailable"), timeout=15)
    t.ok(got and got.get("status_msg") == "lunch", "scopd's user's presence reaches Synapse", got)
    syn.client("PUT", "/_matrix/client/v3/presence/%s/status" % q(sbob),
               {"presence": "unavailable", "status_msg": "away"}, token=sbob_tok)
    got = wait_for(lambda: presence_of(scop, ccarol_tok, sbob, "unavailable"), timeout=15)
    t.ok(got and got.get("status_msg") == "away", "Synapse's user's presence reaches scopd", got)
except Exception:  # noqa: BLE001
    t.ok(False, "interop run raised", traceback.format_exc())
finally:
    finish(t, work, servers)
