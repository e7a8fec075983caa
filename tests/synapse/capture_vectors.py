#!/usr/bin/python3
"""Records rooms built by a real Synapse as test vectors for scopd's PDU
checks (tests/unit/federation/test_synapse_vectors.c), so CI checks
scopd against Synapse's own events without running Synapse.

    SYNAPSE_SRC=/work/synapse-src SCOP_BUILDDIR=$PWD \\
        /usr/bin/python3 ../tests/synapse/capture_vectors.py ../tests/synapse/vectors

For every room version Synapse 1.67 knows (1-10) it creates a room on
Synapse and makes its users act in it: names, topics, power levels,
display names, messages with awkward strings for canonical JSON, an
invite declined, a kick, a ban, a redaction and (v7+) a knock.  scopd
joins every room and sends a message there, so Synapse shares the room
with it; then the script,
signing as scopd, fetches every event over federation (/backfill) and the
state before each (/state_ids), and writes vectors/room-vN.json:

  {"synapse": "1.67.0", "room_version": "N", "room_id": ...,
   "keys": {server: {key_id: unpadded base64 public key}},
   "events": [PDUs as Synapse served them, oldest first],
   "event_ids": [...], "redacted": [ids of events served redacted],
   "state_before": {event_id: [ids of the state before it]}}
"""
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from synapsetest import SYNAPSE_SRC, start_pair, q, wait_for, timeline_bodies  # noqa: E402

import signedjson.key  # noqa: E402

if SYNAPSE_SRC:
    sys.path.insert(0, SYNAPSE_SRC)
    from synapse.api.room_versions import KNOWN_ROOM_VERSIONS  # noqa: E402
    from synapse.events import make_event_from_dict  # noqa: E402

VERSIONS = [str(v) for v in range(1, 11)]
AWKWARD = "tab\t nl\n nul\u0000 quote\" bs\\ e\u0301 \u2028 \u00e9 \U0001F389 \u2603 /<>&"


def dump(doc):
    """JSON with one event per line: small, and diffs stay readable."""
    out = []
    for k in sorted(doc):
        v = doc[k]
        if isinstance(v, list) and v and isinstance(v[0], dict):
            body = "[\n" + ",\n".join(json.dumps(e, sort_keys=True) for e in v) + "\n]"
        elif isinstance(v, dict) and k == "state_before":
            body = "{\n" + ",\n".join("%s: %s" % (json.dumps(i), json.dumps(v[i])) for i in sorted(v)) + "\n}"
        else:
            body = json.dumps(v, sort_keys=True)
        out.append("%s: %s" % (json.dumps(k), body))
    return "{\n" + ",\n".join(out) + "\n}\n"


def main(outdir):
    if not SYNAPSE_SRC:
        sys.exit("SYNAPSE_SRC is not set (see tests/synapse/README.md)")
    os.makedirs(outdir, exist_ok=True)
    work = tempfile.mkdtemp(prefix="scop-synvec-")
    syn = scop = None
    try:
        syn, scop = start_pair(work, "10")
        bob, btok = syn.register("bob")
        alice, atok = syn.register("alice")
        dan, dtok = syn.register("dan")
        carol, ctok = scop.register("carol")
        _, admin = scop.register("admin", admin=True)
        keys = {syn.name: {"ed25519:" + syn.sk.version: signedjson.key.encode_verify_key_base64(
                    signedjson.key.get_verify_key(syn.sk))},
                scop.name: {"ed25519:" + scop.sk.version: signedjson.key.encode_verify_key_base64(
                    signedjson.key.get_verify_key(scop.sk))}}

        def c(hs, method, path, body=None, token=None, ok=(200,)):
            s, j = hs.client(method, path, body, token=token)
            if s not in ok:
                raise RuntimeError("%s %s: %s %s" % (method, path, s, j))
            return j

        def fed_get(path):
            s, j = syn.signed(scop.name, scop.sk, "GET", path)
            if s != 200:
                raise RuntimeError("GET %s: %s %s" % (path, s, j))
            return j

        for v in VERSIONS:
            j = c(syn, "POST", "/_matrix/client/v3/createRoom", {
                "preset": "public_chat", "room_version": v, "name": "vectors v" + v, "topic": AWKWARD,
                "power_level_content_override": {"users": {bob: 100, alice: 50}, "events": {"m.room.name": 50}},
                "initial_state": [{"type": "org.scop.vector", "state_key": "", "content": {
                    "n": 9007199254740991, "neg": -9007199254740991, "zero": 0, "list": [1, "two", None, True],
                    "nested": {"b": {"a": []}, "A": {}}, "unicode": AWKWARD}}]}, token=btok)
            room = j["room_id"]
            rq = q(room)
            base = "/_matrix/client/v3/rooms/" + rq
            c(syn, "POST", "/_matrix/client/v3/join/" + rq, {}, token=atok)
            c(syn, "PUT", base + "/send/m.room.message/m1", {"msgtype": "m.text", "body": AWKWARD}, token=atok)
            c(syn, "PUT", "/_matrix/client/v3/profile/%s/displayname" % q(alice), {"displayname": "Alice \u00e9"},
              token=atok)
            c(syn, "PUT", base + "/state/m.room.name", {"name": "renamed by alice"}, token=atok)
            j = c(syn, "PUT", base + "/send/m.room.message/m2", {"msgtype": "m.text", "body": "to be redacted"},
                  token=atok)
            gone = j["event_id"]
            c(syn, "PUT", base + "/redact/%s/r1" % q(gone), {"reason": "vector"}, token=btok)
            c(syn, "POST", base + "/invite", {"user_id": dan}, token=btok)
            c(syn, "POST", base + "/leave", {}, token=dtok)
            c(syn, "POST", base + "/ban", {"user_id": "@eve:" + syn.name, "reason": "vector"}, token=btok)
            c(syn, "POST", base + "/kick", {"user_id": alice, "reason": "vector"}, token=btok)
            c(syn, "POST", "/_matrix/client/v3/join/" + rq, {}, token=atok)
            c(syn, "PUT", base + "/send/m.reaction/x1",
              {"m.relates_to": {"rel_type": "m.annotation", "event_id": gone, "key": "\U0001F44D"}}, token=btok)
            if int(v) >= 7:
                c(syn, "PUT", base + "/state/m.room.join_rules", {"join_rule": "knock"}, token=btok)
                c(syn, "POST", "/_matrix/client/v3/knock/" + rq, {"reason": "let me in"}, token=dtok)
                c(syn, "POST", base + "/invite", {"user_id": dan}, token=btok)
                c(syn, "POST", "/_matrix/client/v3/join/" + rq, {}, token=dtok)
                c(syn, "PUT", base + "/state/m.room.join_rules", {"join_rule": "public"}, token=btok)
            # scopd joins (so Synapse shares the room with it) and speaks.
            c(scop, "POST", "/_matrix/client/v3/join/%s?server_name=%s" % (rq, q(syn.name)), {}, token=ctok)
            # (scopd's client API takes no \u0000; transaction IDs are per token.)
            c(scop, "PUT", base + "/send/m.room.message/c" + v,
              {"msgtype": "m.text", "body": "from scopd " + AWKWARD.replace("\u0000", "")}, token=ctok)
            if not wait_for(lambda: any("from scopd" in (b or "") for b in timeline_bodies(syn, btok, room)),
                            timeout=20):
                raise RuntimeError("Synapse did not get scopd's message in v" + v)
            c(syn, "PUT", base + "/send/m.room.message/m3", {"msgtype": "m.text", "body": "after scopd joined"},
              token=btok)
            time.sleep(0.2)
            j = c(syn, "GET", base + "/messages?dir=b&limit=1", token=btok)
            last = j["chunk"][0]["event_id"]
            pdus = fed_get("/_matrix/federation/v1/backfill/%s?v=%s&limit=200" % (rq, q(last)))["pdus"]
            pdus.sort(key=lambda e: (e["depth"], e.get("origin_server_ts", 0)))
            # Event IDs (v3+: reference hashes, not in the PDU) computed by
            # Synapse's own code.
            rv = KNOWN_ROOM_VERSIONS[v]
            ids = [make_event_from_dict(dict(e), rv).event_id for e in pdus]
            redacted = [eid for eid in ids if eid == gone]
            state_before = {}
            for eid in ids:
                sj = fed_get("/_matrix/federation/v1/state_ids/%s?event_id=%s" % (rq, q(eid)))
                state_before[eid] = sorted(sj["pdu_ids"])
            doc = {"synapse": "1.67.0", "room_version": v, "room_id": room, "keys": keys, "events": pdus,
                   "event_ids": ids, "redacted": redacted, "state_before": state_before}
            path = os.path.join(outdir, "room-v%s.json" % v)
            with open(path, "w") as f:
                f.write(dump(doc))
            print("v%s: %d events -> %s" % (v, len(pdus), path), flush=True)
    finally:
        for hs in (scop, syn):
            if hs:
                hs.proc.stop(timeout=30)
        if os.environ.get("KEEP"):
            sys.stderr.write("kept %s\n" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "vectors"))
