"""Ctrl-C and SIGTERM, for the command and for batch workers: one owner of both signals.

Either becomes a KeyboardInterrupt where the code is, so that `with` and `finally` blocks stop
ffmpeg and remove temporary files on the way out. Not inside a finalizer, though: Python cannot
pass an exception out of `__del__` (a GL object collected mid-frame, say), so it would print
"Exception ignored in ..." and the interrupt would be lost. A signal that lands in one is
raised again a moment later, once the finalizer is done.
"""

from __future__ import annotations

import _thread
import contextlib
import signal
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)
RETRY = 0.01  # seconds until a signal that landed in a finalizer is raised again


def _in_finalizer(frame) -> bool:
    while frame is not None:
        if frame.f_code.co_name == "__del__":
            return True
        frame = frame.f_back
    return False


def _later(signum: int) -> None:
    """Have `signum`'s handler run again in the main thread shortly (a thread, because a
    finalizer may be running on the main thread right now)."""
    threading.Timer(RETRY, _thread.interrupt_main, args=(signum,)).start()


def interrupt(signum, frame) -> None:
    """The command's handler: every Ctrl-C or SIGTERM is a KeyboardInterrupt."""
    if _in_finalizer(frame):
        _later(signum)
        return
    raise KeyboardInterrupt


def interrupt_once(signum, frame) -> None:
    """A batch worker's handler: stop once, then let nothing cut the cleanup short (Ctrl-C
    reaches it from the terminal and, a moment later, SIGTERM from the batch stopping it)."""
    if _in_finalizer(frame):
        _later(signum)
        return
    # a handler that does nothing, not SIG_IGN: a signal that arrived meanwhile would still
    # reach Python, find SIG_IGN and print "Signal 15 ignored due to race condition"
    for s in SIGNALS:
        signal.signal(s, ignore)
    raise KeyboardInterrupt


def ignore(signum, frame) -> None:
    pass


@contextlib.contextmanager
def interrupts(handler=interrupt):
    """Within the block, SIGINT and SIGTERM raise KeyboardInterrupt through `handler` (only the
    main thread may set handlers: elsewhere this changes nothing). A SIGINT that the process
    was started to ignore (`nohup`, `&`) stays ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in SIGNALS}
    for s in SIGNALS:
        if previous[s] is not signal.SIG_IGN or s == signal.SIGTERM:
            signal.signal(s, handler)
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)
