#!/usr/bin/python3
"""A second real client against scopd: matrix-js-sdk (npm, tests/jssdk)
creates rooms, sends, pages, changes state and profile, and runs its own
sync loop against them.  Prints TAP; skips when node or the npm packages
are missing."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jssdk_runner import run_js_checks  # noqa: E402

run_js_checks("rooms.mjs", min_checks=12)
