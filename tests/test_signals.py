"""A Ctrl-C or SIGTERM is never lost: one that lands in a finalizer (a GL object collected
mid-frame), which Python cannot pass an exception out of, is raised again once it is done."""

import subprocess
import sys

import pytest

CODE = """
import os, signal, sys, time
from audioviz.signals import interrupts, {handler}

class Collected:
    def __del__(self):
        os.kill(os.getpid(), signal.{signal})
        sum(range(10000))  # the handler runs here, inside __del__

with interrupts({handler}):
    try:
        Collected()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            sum(range(1000))
        print("lost")
    except KeyboardInterrupt:
        print("interrupted")
"""


@pytest.mark.parametrize("handler", ["interrupt", "interrupt_once"])
@pytest.mark.parametrize("signal", ["SIGINT", "SIGTERM"])
def test_a_signal_that_lands_in_a_finalizer_is_raised_after_it(handler, signal):
    r = subprocess.run([sys.executable, "-c", CODE.format(handler=handler, signal=signal)], capture_output=True,
                       text=True, timeout=30)
    assert r.stdout.strip() == "interrupted", (r.stdout, r.stderr)
    assert "Exception ignored" not in r.stderr and r.stderr == ""
