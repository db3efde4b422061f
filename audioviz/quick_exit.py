"""Leaving the process at once after a clean stop (Ctrl-C, SIGTERM).

The interpreter's own teardown takes seconds once torch is loaded and has nothing left to do
then, so the process ends with os._exit. One thing still must run: multiprocessing's
finalizers, which unlink any named semaphore the process holds (audioviz makes none since
console.setup gives tqdm a thread lock, but a caller of the library or a scene may); without
them its resource tracker prints "leaked semaphore objects" after the process is gone.
"""

from __future__ import annotations

import contextlib
import os
import sys


def quick_exit(code: int) -> None:
    if "multiprocessing" in sys.modules:
        from multiprocessing import util

        with contextlib.suppress(Exception):
            util._run_finalizers(0)  # what a normal exit runs first; exitpriority >= 0
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)
