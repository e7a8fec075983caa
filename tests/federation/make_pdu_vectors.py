#!/usr/bin/python3
"""Prints a room (room version 10) built and signed in Python with Synapse's
signedjson and canonicaljson, as C string literals for
tests/unit/federation/test_pdu_check.c: create, join, message, all by
@py:py.test with a fixed key.  Kept to regenerate the vectors."""
import base64
import copy
import hashlib
import json

import canonicaljson
import nacl.signing
import signedjson.key
import signedjson.sign

KEEP = {"event_id", "type", "room_id", "sender", "state_key", "content", "hashes", "signatures", "depth",
        "prev_events", "prev_state", "auth_events", "origin", "origin_server_ts", "membership"}
KEEP_CONTENT = {"m.room.create": {"creator"}, "m.room.member": {"membership"},
                "m.room.power_levels": {"ban", "events", "events_default", "kick", "redact", "state_default",
                                        "users", "users_default"}}


def redact(ev):  # room versions 1-10 (no v11 changes needed here)
    r = {k: copy.deepcopy(v) for k, v in ev.items() if k in KEEP}
    keep = KEEP_CONTENT.get(ev["type"], set())
    r["content"] = {k: v for k, v in ev["content"].items() if k in keep}
    return r


def b64(data, urlsafe=False):
    s = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(data).decode()
    return s.rstrip("=")


def sign_pdu(ev, server, key):
    """Sets hashes and signatures on ev (room versions 4-11, for the event
    types in KEEP_CONTENT and messages) and returns its event ID."""
    body = {k: v for k, v in ev.items() if k not in ("unsigned", "signatures", "hashes")}
    ev["hashes"] = {"sha256": b64(hashlib.sha256(canonicaljson.encode_canonical_json(body)).digest())}
    signed = signedjson.sign.sign_json(redact(ev), server, key)
    ev["signatures"] = signed["signatures"]
    ref = {k: v for k, v in redact(ev).items() if k not in ("signatures", "unsigned")}
    return "$" + b64(hashlib.sha256(canonicaljson.encode_canonical_json(ref)).digest(), urlsafe=True)


def main():
    key = signedjson.key.decode_signing_key_base64("ed25519", "py1", b64(bytes(range(32))))
    assert isinstance(key, nacl.signing.SigningKey)

    def finish(ev):
        return sign_pdu(ev, "py.test", key)

    ROOM = "!py:py.test"
    U = "@py:py.test"
    create = {"room_id": ROOM, "sender": U, "type": "m.room.create", "state_key": "",
              "content": {"creator": U, "room_version": "10"}, "prev_events": [], "auth_events": [], "depth": 1,
              "origin_server_ts": 1700000000001}
    cid = finish(create)
    join = {"room_id": ROOM, "sender": U, "type": "m.room.member", "state_key": U,
            "content": {"membership": "join", "displayname": "Py"}, "prev_events": [cid], "auth_events": [cid],
            "depth": 2, "origin_server_ts": 1700000000002}
    jid = finish(join)
    msg = {"room_id": ROOM, "sender": U, "type": "m.room.message",
           "content": {"msgtype": "m.text", "body": "signed by signedjson"}, "prev_events": [jid],
           "auth_events": [cid, jid], "depth": 3, "origin_server_ts": 1700000000003}
    mid = finish(msg)
    print("/* public key (unpadded base64): %s */" % signedjson.key.encode_verify_key_base64(key.verify_key))
    for name, ev, eid in (("create", create, cid), ("join", join, jid), ("msg", msg, mid)):
        print('static const char py_%s[] = %s;' % (name, json.dumps(json.dumps(ev, sort_keys=True))))
        print('static const char py_%s_id[] = "%s";' % (name, eid))


if __name__ == "__main__":
    main()
