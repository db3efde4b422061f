"""A bound on how long one frame of a user's scene may take to draw.

A runaway loop in a user's shader keeps the GL driver busy for as long as the loop runs (a
minute a frame at 720p on Mesa's llvmpipe is easy to write). moderngl holds Python's GIL while
it waits for the driver, so neither Ctrl-C nor another thread would get a word in until the
frame ends. Frames of user scenes are therefore waited for with glFinish called through
ctypes, which releases the GIL, while a watchdog thread watches the clock and the signals. When
a frame runs past the limit, or a Ctrl-C or SIGTERM finds the main thread still stuck in the
driver a moment later, the watchdog runs the emergency clean-up (ffmpeg stopped, temporary
files removed: audioviz.emergency), says why in one line and ends the process: GL work cannot
be cancelled, so ending the process is the only bound there is.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import math
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable

from .. import emergency
from ..errors import ConfigError

ENV_TIMEOUT = "AUDIOVIZ_DRAW_TIMEOUT"
DEFAULT_TIMEOUT = 20.0  # seconds: 100x what a heavy built-in scene takes for a 720p frame in software
# how long a Ctrl-C may wait for a main thread stuck in the driver before it is acted on here
SIGNAL_GRACE = 1.0
POLL = 0.1

# captured now: while a user's Python scene runs, os._exit is replaced by a trap (scenes/user.py)
hard_exit = os._exit


def draw_timeout() -> float:
    """The limit on one frame of a user scene, in seconds (AUDIOVIZ_DRAW_TIMEOUT; 0: none)."""
    text = os.environ.get(ENV_TIMEOUT, "").strip()
    if not text:
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise ConfigError(f"{ENV_TIMEOUT}={text!r} is not a number of seconds (0 for no limit)")
    return value


@functools.cache
def _gl_finish() -> Callable[[], None] | None:
    """glFinish as a ctypes function (ctypes releases the GIL while it waits) from the libEGL
    the context was made with, or libGL; None when neither has it."""
    from .context import _libegl

    name = _libegl() or ctypes.util.find_library("EGL")
    if name:
        try:
            lookup = ctypes.CDLL(name).eglGetProcAddress
            lookup.restype, lookup.argtypes = ctypes.c_void_p, [ctypes.c_char_p]
            address = lookup(b"glFinish")
            if address:
                return ctypes.CFUNCTYPE(None)(address)
        except (OSError, AttributeError):
            pass
    for lib in ("libGL.so.1", "libOpenGL.so.0"):
        try:
            return ctypes.CDLL(lib).glFinish
        except (OSError, AttributeError):
            continue
    return None


def _end_process(code: int, message: str) -> None:
    print(message, file=sys.stderr, flush=True)
    hard_exit(code)


class _Watchdog:
    """One thread a process, started by the first guarded frame (on the main thread, which
    alone may install the signal wakeup pipe)."""

    def __init__(self, finish: Callable[[], None]):
        self._finish = finish
        self._lock = threading.Lock()
        self._since: float | None = None  # when the frame being waited for started
        self._label = ""
        self._timeout = 0.0
        read, write = os.pipe()
        os.set_blocking(read, False)
        os.set_blocking(write, False)
        self._signals = read
        # Python writes every signal's number here from its C handler, even while the main
        # thread is stuck in the driver and its Python handler cannot run
        signal.set_wakeup_fd(write, warn_on_full_buffer=False)
        threading.Thread(target=self._watch, name="audioviz-draw-watchdog", daemon=True).start()

    def wait(self, label: str, timeout: float) -> None:
        with self._lock:
            self._since, self._label, self._timeout = time.monotonic(), label, timeout
        try:
            self._finish()
        finally:
            with self._lock:
                self._since = None

    def _watch(self) -> None:
        signalled_at: float | None = None
        while True:
            ready, _, _ = select.select([self._signals], [], [], POLL)
            got = os.read(self._signals, 512) if ready else b""
            with self._lock:
                since, label, timeout = self._since, self._label, self._timeout
            now = time.monotonic()
            if since is None:  # not in a frame: a signal is the main thread's to handle
                signalled_at = None
                continue
            if signalled_at is None and any(b in (signal.SIGINT, signal.SIGTERM) for b in got):
                signalled_at = now
            if signalled_at is not None and now - signalled_at > SIGNAL_GRACE:
                self._stop(130, "interrupted")
            elif timeout and now - since > timeout:
                self._stop(1, f"error: {label}: a frame took longer than {timeout:g} s to draw (a runaway loop?), "
                              f"so audioviz stopped; nothing was written. {ENV_TIMEOUT}=SECONDS allows slower frames")

    def _stop(self, code: int, message: str) -> None:
        emergency.run_all()
        _handler(code, message)


_watchdog: _Watchdog | None = None
_handler: Callable[[int, str], None] = _end_process


def wait_for_frame(ctx, label: str, timeout: float) -> None:
    """Wait until the GL work queued for this frame is done, for at most `timeout` seconds (0:
    no limit) before the watchdog ends the process: `label` (the scene's file) is what the
    error names. Call on the thread that owns `ctx`."""
    global _watchdog
    finish = _gl_finish()
    if finish is None or threading.current_thread() is not threading.main_thread():
        ctx.finish()  # no GIL-free wait here: the frame is unbounded, as every built-in one is
        return
    if _watchdog is None:
        _watchdog = _Watchdog(finish)
    _watchdog.wait(label, timeout)


def on_stuck(handler: Callable[[int, str], None]) -> None:
    """Replace what ends the process when a frame is stuck: handler(exit code, message line),
    called on the watchdog's thread after the emergency clean-up; it must end the process. A
    batch worker reports the track's failure to the batch before it goes."""
    global _handler
    _handler = handler
