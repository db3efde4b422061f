"""What every worker process of audioviz needs (a batch's, the playground's): to start clean
of the folder it was started in, and to end with the process that started it."""

from __future__ import annotations

import contextlib
import os
import signal


def die_with_parent() -> None:
    """Linux: have the kernel send SIGTERM to this worker when its parent (a batch, the
    playground's server) dies, even by SIGKILL, so that no orphan goes on rendering."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@contextlib.contextmanager
def imports_isolated():
    """Workers import only audioviz and what it needs, whatever folder the parent runs in. A
    spawned worker (and multiprocessing's resource tracker) starts as `python -c ...`, which
    puts the current folder first on sys.path before it imports multiprocessing: a signal.py or
    multiprocessing.py there would run in every worker. PYTHONSAFEPATH=1 (Python 3.11) keeps
    it out; the processes started meanwhile inherit it, and the parent's environment is restored."""
    before = os.environ.get("PYTHONSAFEPATH")
    os.environ["PYTHONSAFEPATH"] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ["PYTHONSAFEPATH"]
        else:
            os.environ["PYTHONSAFEPATH"] = before
