#!/usr/bin/python3
"""A second real client against scopd: matrix-js-sdk (npm, tests/jssdk)
registers, logs in, asks whoami, manages devices and logs out.  Prints TAP;
skips when node or the npm packages are missing."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jssdk_runner import run_js_checks  # noqa: E402

run_js_checks("accounts.mjs", min_checks=9)
