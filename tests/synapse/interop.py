#!/usr/bin/python3
"""scopd federating with a real Synapse over TLS on loopback.

Not part of `make check` (CI has no Synapse): run it by hand as
tests/synapse/README.md says, with SYNAPSE_SRC pointing at an unpacked
pure-Python Synapse release (1.67.0 was used).  Without SYNAPSE_SRC it
prints "1..0 # SKIP".

Setup: a test CA made with the openssl CLI; Synapse is "localhost:PS"
(certificate for DNS:localhost and IP:127.0.0.1), scopd is "127.0.0.1:PD"
(an IP literal server name, certificate for IP:127.0.0.1).  Both trust
the CA (Synapse: federation_custom_ca_list with certificate checks on;
scopd: federation_ca_file) and neither needs DNS: an explicit port skips
.well-known and SRV on both sides, and scopd maps localhost:PS to
127.0.0.1 with federation_address_overrides.  Synapse's IP range
blacklist is its default less 127.0.0.0/8.  Synapse
has no trusted key servers, so each side fetches the other's keys from
the other itself.

Steps, in order (each one a TAP line): key documents and notary queries
both ways, X-Matrix requests both ways (scopd -> Synapse user devices
through scopd's admin tool; Synapse -> scopd profile query through
Synapse's client API), make_join both ways, then joins, messages, leave
and invites in both directions.  Steps that need federation features
scopd does not have yet are reported as TAP TODO when they fail, so the
script tells what works today without failing for what is still to come.
"""
import os
import sys
import tempfile
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from synapsetest import SYNAPSE_SRC, SECRET, PASSWORD  # noqa: E402

if not SYNAPSE_SRC:
    print("1..0 # SKIP SYNAPSE_SRC is not set (see tests/synapse/README.md)")
    sys.exit(0)

from scoptest import Tap  # noqa: E402
from synapsetest import (Scopd, start_pair, verified, q, wait_for, timeline_bodies, joined_members,  # noqa: E402
                         free_port, finish)
import json  # noqa: E402
import signedjson.key  # noqa: E402

# Synapse 1.67 knows room versions 1-10; scopd 1-12.
ROOM_VERSION = "10"

t = Tap()
work = tempfile.mkdtemp(prefix="scop-synapse-")


def todo(cond, desc, diag=None):
    """A step that waits for a scopd feature: TAP TODO when it fails."""
    if cond:
        return t.ok(True, desc)
    t.ok(False, desc + " # TODO scopd does not do this yet", diag)
    t.failed -= 1  # TAP TODO: reported, not a failure
    return False


servers = []
try:
    syn, scop = start_pair(work, ROOM_VERSION)
    servers += [syn, scop]
    t.ok(True, "Synapse %s and scopd %s are up" % (syn.name, scop.name))

    syn_vk = signedjson.key.get_verify_key(syn.sk)
    scop_vk = signedjson.key.get_verify_key(scop.sk)

    # ---- 1. server keys ----
    # Synapse's notary fetches only for named key ids (an empty query gives
    # what it has cached).
    kid = "ed25519:" + scop.sk.version
    s, j = syn.fed("POST", "/_matrix/key/v2/query", {"server_keys": {scop.name: {kid: {}}}})
    docs = [d for d in (j or {}).get("server_keys", []) if d.get("server_name") == scop.name]
    t.ok(s == 200 and len(docs) == 1 and verified(docs[0], scop.name, scop_vk) and
         verified(docs[0], syn.name, syn_vk) and
         "ed25519:" + scop.sk.version in docs[0].get("verify_keys", {}),
         "Synapse as notary fetches scopd's key document over TLS, verifies it and countersigns it", (s, j))
    s, j = syn.fed("GET", "/_matrix/key/v2/query/%s/%s" % (q(scop.name), q(kid)))
    docs = [d for d in (j or {}).get("server_keys", []) if d.get("server_name") == scop.name]
    t.ok(s == 200 and len(docs) == 1 and verified(docs[0], scop.name, scop_vk),
         "Synapse's GET notary query for scopd's key id returns scopd's document", (s, j))
    s, j = scop.fed("POST", "/_matrix/key/v2/query", {"server_keys": {syn.name: {}}})
    docs = [d for d in (j or {}).get("server_keys", []) if d.get("server_name") == syn.name]
    t.ok(s == 200 and len(docs) == 1 and verified(docs[0], syn.name, syn_vk) and
         verified(docs[0], scop.name, scop_vk),
         "scopd as notary fetches Synapse's key document over TLS, verifies it and countersigns it", (s, j))
    s, j = scop.fed("GET", "/_matrix/key/v2/query/%s/%s" % (q(syn.name), q("ed25519:" + syn.sk.version)))
    docs = [d for d in (j or {}).get("server_keys", []) if d.get("server_name") == syn.name]
    t.ok(s == 200 and len(docs) == 1 and verified(docs[0], syn.name, syn_vk),
         "scopd's GET notary query for one key id returns Synapse's document", (s, j))

    # ---- 2. X-Matrix both ways ----
    sbob, sbob_tok = syn.register("bob")
    salice, salice_tok = syn.register("alice")
    ccarol, ccarol_tok = scop.register("carol")
    cdave, cdave_tok = scop.register("dave")
    _, cadmin_tok = scop.register("admin", admin=True)
    syn.client("PUT", "/_matrix/client/v3/profile/%s/displayname" % q(sbob), {"displayname": "Bob on Synapse"},
               token=sbob_tok)
    scop.client("PUT", "/_matrix/client/v3/profile/%s/displayname" % q(ccarol), {"displayname": "Carol on scopd"},
                token=ccarol_tok)

    s, j = scop.client("GET", "/_scop/admin/v1/federation/user_devices/" + q(sbob), token=cadmin_tok)
    body = (j or {}).get("body") or {}
    # Synapse lists only devices with uploaded keys: none here.
    t.ok(s == 200 and j.get("status") == 200 and body.get("user_id") == sbob and
         isinstance(body.get("devices"), list),
         "scopd -> Synapse: user devices query signed by scopd, checked by Synapse (which fetched scopd's key)",
         (s, j))
    s, j = syn.client("GET", "/_matrix/client/v3/profile/%s" % q(ccarol), token=sbob_tok)
    t.ok(s == 200 and (j or {}).get("displayname") == "Carol on scopd",
         "Synapse -> scopd: profile query signed by Synapse, checked by scopd (which fetched Synapse's key)",
         (s, j))
    s, j = syn.client("GET", "/_matrix/client/v3/profile/%s/displayname" % q("@nobody:" + scop.name),
                      token=sbob_tok)
    t.ok(s == 404, "Synapse -> scopd: profile of an unknown scopd user is 404", (s, j))
    s, j = scop.client("GET", "/_matrix/client/v3/profile/%s" % q(sbob), token=ccarol_tok)
    todo(s == 200 and (j or {}).get("displayname") == "Bob on Synapse",
         "scopd -> Synapse: scopd's client profile API asks Synapse for a remote user's profile", (s, j))

    # ---- 3. make_join both ways ----
    s, j = syn.client("POST", "/_matrix/client/v3/createRoom",
                      {"preset": "public_chat", "name": "made on Synapse", "room_version": ROOM_VERSION},
                      token=sbob_tok)
    assert s == 200, (s, j)
    syn_room = j["room_id"]
    s, j = scop.client("POST", "/_scop/admin/v1/federation/join_probe",
                       {"room_id": syn_room, "user_id": ccarol, "server_name": syn.name}, token=cadmin_tok)
    t.ok(s == 200 and (j or {}).get("room_version") == ROOM_VERSION and (j or {}).get("event_id"),
         "scopd -> Synapse make_join: Synapse answers a join template that scopd fills, hashes and signs", (s, j))
    probe_id = (j or {}).get("event_id")
    t.ok(s == 200 and j.get("send_status") == 200 and j.get("send", {}).get("pdus", {}).get(probe_id) == {},
         "Synapse accepts that join, hashed and signed by scopd, in a /send transaction", (s, j))
    if probe_id:
        # Synapse stages inbound PDUs and handles them after answering /send.
        def probe_event():
            return syn.client("GET", "/_matrix/client/v3/rooms/%s/event/%s" % (q(syn_room), q(probe_id)),
                              token=sbob_tok)
        s, j = wait_for(lambda: (lambda r: r if r[0] == 200 else None)(probe_event()), timeout=15) or probe_event()
        t.ok(s == 200 and (j or {}).get("sender") == ccarol and (j or {}).get("content", {}).get("membership") ==
             "join", "... and shows it to its users", (s, j))

    s, j = scop.client("POST", "/_matrix/client/v3/createRoom",
                       {"preset": "public_chat", "name": "made on scopd", "room_version": ROOM_VERSION},
                       token=ccarol_tok)
    assert s == 200, (s, j)
    scop_room = j["room_id"]

    # ---- 4. Synapse joins a room on scopd ----
    s, j = syn.client("POST", "/_matrix/client/v3/join/%s?server_name=%s" % (q(scop_room), q(scop.name)), {},
                      token=sbob_tok)
    mj = [ln for ln in scop.log().splitlines() if "/make_join/" in ln]
    t.ok(any(" 200 " in ln for ln in mj), "Synapse -> scopd make_join: scopd answers Synapse's make_join", mj)
    joined = s == 200 and j.get("room_id") == scop_room
    todo(joined, "Synapse joins a room on scopd (make_join + send_join)", (s, j))
    if joined:
        todo(wait_for(lambda: sbob in joined_members(scop, ccarol_tok, scop_room)),
             "scopd sees Synapse's user joined", joined_members(scop, ccarol_tok, scop_room))
        s, j = scop.client("PUT", "/_matrix/client/v3/rooms/%s/send/m.room.message/t1" % q(scop_room),
                           {"msgtype": "m.text", "body": "hello from scopd"}, token=ccarol_tok)
        todo(wait_for(lambda: "hello from scopd" in timeline_bodies(syn, sbob_tok, scop_room)),
             "scopd -> Synapse message in scopd's room seen by Synapse's client API (/messages, else /sync)",
             timeline_bodies(syn, sbob_tok, scop_room))
        s, j = syn.client("PUT", "/_matrix/client/v3/rooms/%s/send/m.room.message/t2" % q(scop_room),
                          {"msgtype": "m.text", "body": "hello from Synapse"}, token=sbob_tok)
        todo(wait_for(lambda: "hello from Synapse" in timeline_bodies(scop, ccarol_tok, scop_room)),
             "Synapse -> scopd message in scopd's room seen by scopd's client API (/messages)",
             timeline_bodies(scop, ccarol_tok, scop_room))

    # ---- 5. scopd joins a room on Synapse ----
    s, j = scop.client("POST", "/_matrix/client/v3/join/%s?server_name=%s" % (q(syn_room), q(syn.name)), {},
                       token=cdave_tok)
    joined = s == 200 and (j or {}).get("room_id") == syn_room
    todo(joined, "scopd joins a room on Synapse (make_join + send_join)", (s, j))
    if joined:
        todo(wait_for(lambda: cdave in joined_members(syn, sbob_tok, syn_room)),
             "Synapse sees scopd's user joined", joined_members(syn, sbob_tok, syn_room))
        syn.client("PUT", "/_matrix/client/v3/rooms/%s/send/m.room.message/t3" % q(syn_room),
                   {"msgtype": "m.text", "body": "ping from Synapse"}, token=sbob_tok)
        todo(wait_for(lambda: "ping from Synapse" in timeline_bodies(scop, cdave_tok, syn_room)),
             "Synapse -> scopd message in Synapse's room seen by scopd's client API (/messages)",
             timeline_bodies(scop, cdave_tok, syn_room))
        scop.client("PUT", "/_matrix/client/v3/rooms/%s/send/m.room.message/t4" % q(syn_room),
                    {"msgtype": "m.text", "body": "pong from scopd"}, token=cdave_tok)
        todo(wait_for(lambda: "pong from scopd" in timeline_bodies(syn, sbob_tok, syn_room)),
             "scopd -> Synapse message in Synapse's room seen by Synapse's client API (/messages, else /sync)",
             timeline_bodies(syn, sbob_tok, syn_room))

    # ---- 5a. state, typing, receipts and aliases across the joined rooms ----
    def state(hs, tok, room, typ):
        s, j = hs.client("GET", "/_matrix/client/v3/rooms/%s/state/%s/" % (q(room), typ), token=tok)
        return j if s == 200 else None

    def ephemeral(hs, tok, room, typ):
        s, j = hs.sync(tok)
        evs = (j or {}).get("rooms", {}).get("join", {}).get(room, {}).get("ephemeral", {}).get("events", [])
        return [e for e in evs if e.get("type") == typ]

    both = (sbob in joined_members(scop, ccarol_tok, scop_room) and
            cdave in joined_members(syn, sbob_tok, syn_room))
    if both:
        scop.client("PUT", "/_matrix/client/v3/rooms/%s/state/m.room.name/" % q(scop_room),
                    {"name": "renamed on scopd"}, token=ccarol_tok)
        todo(wait_for(lambda: (state(syn, sbob_tok, scop_room, "m.room.name") or {}).get("name") ==
                      "renamed on scopd", timeout=15),
             "a name set on scopd shows in Synapse's room state", state(syn, sbob_tok, scop_room, "m.room.name"))
        pl = state(scop, ccarol_tok, scop_room, "m.room.power_levels") or {}
        pl.setdefault("users", {})[sbob] = 50
        scop.client("PUT", "/_matrix/client/v3/rooms/%s/state/m.room.power_levels/" % q(scop_room), pl,
                    token=ccarol_tok)
        todo(wait_for(lambda: (state(syn, sbob_tok, scop_room, "m.room.power_levels") or {}).get("users", {})
                      .get(sbob) == 50, timeout=15),
             "power levels raised on scopd show in Synapse's room state",
             state(syn, sbob_tok, scop_room, "m.room.power_levels"))
        s, j = syn.client("PUT", "/_matrix/client/v3/rooms/%s/state/m.room.topic/" % q(scop_room),
                          {"topic": "set on Synapse with the power scopd gave"}, token=sbob_tok)
        todo(s == 200 and wait_for(lambda: (state(scop, ccarol_tok, scop_room, "m.room.topic") or {}).get("topic") ==
                                   "set on Synapse with the power scopd gave", timeout=15),
             "... and the Synapse user's topic, allowed by them, shows in scopd's room state",
             (s, j, state(scop, ccarol_tok, scop_room, "m.room.topic")))
        syn.client("PUT", "/_matrix/client/v3/rooms/%s/typing/%s" % (q(syn_room), q(sbob)),
                   {"typing": True, "timeout": 30000}, token=sbob_tok)
        todo(wait_for(lambda: any(sbob in e.get("content", {}).get("user_ids", [])
                                  for e in ephemeral(scop, cdave_tok, syn_room, "m.typing")), timeout=15),
             "Synapse -> scopd typing notification (m.typing EDU) in scopd's /sync",
             ephemeral(scop, cdave_tok, syn_room, "m.typing"))
        scop.client("PUT", "/_matrix/client/v3/rooms/%s/typing/%s" % (q(syn_room), q(cdave)),
                    {"typing": True, "timeout": 30000}, token=cdave_tok)
        todo(wait_for(lambda: any(cdave in e.get("content", {}).get("user_ids", [])
                                  for e in ephemeral(syn, sbob_tok, syn_room, "m.typing")), timeout=15),
             "scopd -> Synapse typing notification in Synapse's /sync", ephemeral(syn, sbob_tok, syn_room, "m.typing"))
        s, j = syn.client("GET", "/_matrix/client/v3/rooms/%s/messages?dir=b&limit=1" % q(syn_room), token=sbob_tok)
        last = ((j or {}).get("chunk") or [{}])[0].get("event_id")
        if last:
            scop.client("POST", "/_matrix/client/v3/rooms/%s/receipt/m.read/%s" % (q(syn_room), q(last)), {},
                        token=cdave_tok)
            todo(wait_for(lambda: any(cdave in json.dumps(e.get("content", {}))
                                      for e in ephemeral(syn, sbob_tok, syn_room, "m.receipt")), timeout=15),
                 "scopd -> Synapse read receipt (m.receipt EDU) in Synapse's /sync",
                 ephemeral(syn, sbob_tok, syn_room, "m.receipt"))
            syn.client("POST", "/_matrix/client/v3/rooms/%s/receipt/m.read/%s" % (q(syn_room), q(last)), {},
                       token=sbob_tok)
            todo(wait_for(lambda: any(sbob in json.dumps(e.get("content", {}))
                                      for e in ephemeral(scop, cdave_tok, syn_room, "m.receipt")), timeout=15),
                 "Synapse -> scopd read receipt in scopd's /sync", ephemeral(scop, cdave_tok, syn_room, "m.receipt"))
        alias = "#interop:" + scop.name
        scop.client("PUT", "/_matrix/client/v3/directory/room/" + q(alias), {"room_id": scop_room}, token=ccarol_tok)
        s, j = syn.client("GET", "/_matrix/client/v3/directory/room/" + q(alias), token=sbob_tok)
        todo(s == 200 and (j or {}).get("room_id") == scop_room and scop.name in (j or {}).get("servers", []),
             "Synapse resolves a scopd room alias (federation directory query)", (s, j))
        alias = "#interop:" + syn.name
        syn.client("PUT", "/_matrix/client/v3/directory/room/" + q(alias), {"room_id": syn_room}, token=sbob_tok)
        s, j = scop.client("GET", "/_matrix/client/v3/directory/room/" + q(alias), token=cdave_tok)
        todo(s == 200 and (j or {}).get("room_id") == syn_room,
             "scopd resolves a Synapse room alias (federation directory query)", (s, j))
    else:
        todo(False, "state, typing, receipts and aliases across rooms joined both ways", "joins missing")

    # ---- 5b. catch-up: what one side sent while the other was down ----
    if both:
        syn.proc.stop(timeout=30)
        s, _ = scop.client("PUT", "/_matrix/client/v3/rooms/%s/send/m.room.message/down1" % q(syn_room),
                           {"msgtype": "m.text", "body": "sent while Synapse was down"}, token=cdave_tok)
        syn.start([])
        todo(s == 200 and wait_for(lambda: "sent while Synapse was down" in timeline_bodies(syn, sbob_tok, syn_room),
                                   timeout=30),
             "scopd -> Synapse: a message sent while Synapse was down arrives after its restart (outbox, retry)",
             timeline_bodies(syn, sbob_tok, syn_room))
        rc = scop.proc.stop(timeout=30)
        s, _ = syn.client("PUT", "/_matrix/client/v3/rooms/%s/send/m.room.message/down2" % q(syn_room),
                          {"msgtype": "m.text", "body": "sent while scopd was down"}, token=sbob_tok)
        scop.start()
        # Synapse backs off for minutes, but any request from scopd wakes
        # its queue for scopd: a message from scopd does.
        scop.client("PUT", "/_matrix/client/v3/rooms/%s/send/m.room.message/back1" % q(syn_room),
                    {"msgtype": "m.text", "body": "scopd is back"}, token=cdave_tok)
        todo(rc == 0 and s == 200 and
             wait_for(lambda: "sent while scopd was down" in timeline_bodies(scop, cdave_tok, syn_room), timeout=30),
             "Synapse -> scopd: a message sent while scopd was down arrives after scopd is back (Synapse's catch-up)",
             (rc, timeline_bodies(scop, cdave_tok, syn_room)))

    # ---- 5c. joins and messages in every room version Synapse knows ----
    # One line per version and direction: created on one side, joined from
    # the other, a message each way.
    def round_trip(home, htok, huser, away, atok, auser, ver):
        s, j = home.client("POST", "/_matrix/client/v3/createRoom",
                           {"preset": "public_chat", "room_version": ver}, token=htok)
        if s != 200:
            return "createRoom: %s %s" % (s, j)
        rid = j["room_id"]
        s, j = away.client("POST", "/_matrix/client/v3/join/%s?server_name=%s" % (q(rid), q(home.name)), {},
                           token=atok)
        if s != 200:
            return "join: %s %s" % (s, j)
        if not wait_for(lambda: auser in joined_members(home, htok, rid), timeout=15):
            return "home does not see the join"
        # Transaction IDs are unique per access token: a repeated one is
        # answered with the first event and sends nothing.
        home.client("PUT", "/_matrix/client/v3/rooms/%s/send/m.room.message/h%s" % (q(rid), q(rid)),
                    {"msgtype": "m.text", "body": "from home v" + ver}, token=htok)
        if not wait_for(lambda: "from home v" + ver in timeline_bodies(away, atok, rid), timeout=15):
            return "home's message not seen away: %s" % timeline_bodies(away, atok, rid)
        away.client("PUT", "/_matrix/client/v3/rooms/%s/send/m.room.message/a%s" % (q(rid), q(rid)),
                    {"msgtype": "m.text", "body": "from away v" + ver}, token=atok)
        if not wait_for(lambda: "from away v" + ver in timeline_bodies(home, htok, rid), timeout=15):
            return "away's message not seen home: %s" % timeline_bodies(home, htok, rid)
        return None
    for ver in [str(v) for v in range(1, 11)]:
        why = round_trip(syn, sbob_tok, sbob, scop, cdave_tok, cdave, ver)
        todo(why is None, "room version %s: room on Synapse, scopd joins, a message each way" % ver, why)
        if int(ver) < 3:
            continue  # scopd creates rooms of version 3 and later only
        why = round_trip(scop, ccarol_tok, ccarol, syn, salice_tok, salice, ver)
        todo(why is None, "room version %s: room on scopd, Synapse joins, a message each way" % ver, why)

    # ---- 6. invites both ways ----
    s, j = syn.client("POST", "/_matrix/client/v3/createRoom",
                      {"preset": "private_chat", "room_version": ROOM_VERSION, "invite": [cdave]}, token=sbob_tok)
    syn_priv = (j or {}).get("room_id")
    todo(s == 200 and syn_priv, "Synapse invites a scopd user (invite v2 to scopd)", (s, j))
    if s == 200 and syn_priv:
        todo(wait_for(lambda: syn_priv in (scop.sync(cdave_tok)[1] or {}).get("rooms", {}).get("invite", {})),
             "the invite shows in the scopd user's /sync", (scop.sync(cdave_tok)[1] or {}).get("rooms"))
        s, j = scop.client("POST", "/_matrix/client/v3/join/%s?server_name=%s" % (q(syn_priv), q(syn.name)), {},
                           token=cdave_tok)
        todo(s == 200, "the scopd user accepts it (joins through Synapse)", (s, j))
    s, j = scop.client("POST", "/_matrix/client/v3/createRoom",
                       {"preset": "private_chat", "room_version": ROOM_VERSION}, token=ccarol_tok)
    scop_priv = j["room_id"]
    s, j = scop.client("POST", "/_matrix/client/v3/rooms/%s/invite" % q(scop_priv), {"user_id": salice},
                       token=ccarol_tok)
    if todo(s == 200 and
            wait_for(lambda: scop_priv in (syn.sync(salice_tok)[1] or {}).get("rooms", {}).get("invite", {})),
            "scopd invites a Synapse user (invite v2 to Synapse): the invite shows in the Synapse user's /sync",
            (s, j, (syn.sync(salice_tok)[1] or {}).get("rooms"))):
        s, j = syn.client("POST", "/_matrix/client/v3/join/%s?server_name=%s" % (q(scop_priv), q(scop.name)), {},
                          token=salice_tok)
        todo(s == 200, "the Synapse user accepts it (joins through scopd)", (s, j))

    # ---- 7. leaves both ways ----
    if sbob in joined_members(scop, ccarol_tok, scop_room):
        s, j = syn.client("POST", "/_matrix/client/v3/rooms/%s/leave" % q(scop_room), {}, token=sbob_tok)
        todo(s == 200 and wait_for(lambda: sbob not in joined_members(scop, ccarol_tok, scop_room)),
             "Synapse's user leaves scopd's room and scopd sees it", (s, j))
    else:
        todo(False, "Synapse's user leaves scopd's room and scopd sees it", "not joined")
    if cdave in joined_members(syn, sbob_tok, syn_room):
        s, j = scop.client("POST", "/_matrix/client/v3/rooms/%s/leave" % q(syn_room), {}, token=cdave_tok)
        todo(s == 200 and wait_for(lambda: cdave not in joined_members(syn, sbob_tok, syn_room)),
             "scopd's user leaves Synapse's room and Synapse sees it", (s, j))
    else:
        todo(False, "scopd's user leaves Synapse's room and Synapse sees it", "not joined")

    # ---- 8. each as the other's notary (trusted key server) ----
    # scopd2 trusts Synapse as key server and cannot reach scopd directly
    # (its route to scopd goes to a closed port), so a request from scopd
    # makes scopd2 ask Synapse's notary for scopd's key.
    dead = free_port()
    scop2 = Scopd(work, ["localhost:%d:127.0.0.1:%d" % (syn.fport, syn.fport),
                         "%s:127.0.0.1:%d" % (scop.name, dead)], sub="scopd2",
                  extra="trusted_key_servers: %s\n" % json.dumps([{"server_name": syn.name, "verify_keys": {
                      "ed25519:" + syn.sk.version: signedjson.key.encode_verify_key_base64(syn_vk)}}]))
    servers.append(scop2)
    eve, _ = scop2.register("eve")
    _, c2admin_tok = scop2.register("admin", admin=True)
    queries = syn.log().count("Handling query for keys {'%s'" % scop.name)
    direct = scop.log().count("GET /_matrix/key/v2/server")
    s, j = scop.client("GET", "/_scop/admin/v1/federation/user_devices/" + q(eve), token=cadmin_tok)
    # Synapse has scopd's key cached from step 1, so scopd sees no key
    # fetch at all: not from scopd2, not from Synapse.
    t.ok(s == 200 and (j or {}).get("status") == 200 and (j or {}).get("body", {}).get("user_id") == eve and
         syn.log().count("Handling query for keys {'%s'" % scop.name) > queries and
         scop.log().count("GET /_matrix/key/v2/server") == direct,
         "scopd2 gets scopd's key through Synapse as notary (POST /_matrix/key/v2/query, Synapse's signature "
         "checked by scopd2) and accepts scopd's request", (s, j))
    # Synapse restarted with scopd as its trusted key server: a request
    # from scopd2 makes Synapse ask scopd's notary for scopd2's key.
    before = scop.log().count("POST /_matrix/key/v2/query 200")
    rc = syn.restart([{"server_name": scop.name, "verify_keys": {
        "ed25519:" + scop.sk.version: signedjson.key.encode_verify_key_base64(scop_vk)}}])
    t.ok(rc == 0, "Synapse restarts with scopd as its trusted key server", rc)
    s, j = scop2.client("GET", "/_scop/admin/v1/federation/user_devices/" + q(sbob), token=c2admin_tok)
    t.ok(s == 200 and (j or {}).get("status") == 200 and (j or {}).get("body", {}).get("user_id") == sbob and
         scop.log().count("POST /_matrix/key/v2/query 200") > before and
         "Request to notary server %s" % scop.name in syn.log(),
         "Synapse gets scopd2's key through scopd as notary (scopd's signature checked by Synapse) and accepts "
         "scopd2's request", (s, j))

    for hs in servers:
        log = hs.log()
        t.ok(SECRET not in log and PASSWORD not in log, "%s log has no secrets" % hs.name)
except Exception:  # noqa: BLE001
    t.ok(False, "interop run raised", traceback.format_exc())
finally:
    finish(t, work, servers)
