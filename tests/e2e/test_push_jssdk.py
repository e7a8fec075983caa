#!/usr/bin/python3
"""matrix-js-sdk against scopd's push rules and unread counts (tests/jssdk/
push.mjs): the ruleset and rule edits through the SDK, the counts its room
model reads from /sync, and a read receipt clearing them.  Prints TAP;
skips when node or the npm packages are missing."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jssdk_runner import run_js_checks  # noqa: E402

run_js_checks("push.mjs", min_checks=8)
