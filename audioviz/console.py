"""What the process prints, made safe to print: set up first thing in the command and in each
batch worker.

- Standard output and error go on working when their reader is gone: `audioviz batch ... | head -1`
  closes the pipe after one line, a terminal hangs up, a redirect fills its disk. The first
  write that fails so points the descriptor at /dev/null and everything after is dropped
  (ffmpeg's inherited descriptor included), instead of an exception that would stop the work.
- A descriptor 0, 1 or 2 closed by whoever started us (`2>&-`) is opened on /dev/null, so that
  no file audioviz opens later takes its number and receives what is meant for the terminal.
- Python warnings (numpy's RuntimeWarnings, a library's deprecation) are one line each,
  `warning: <message>`, once per message, like audioviz's own warnings.
- tqdm's lock is a thread lock, not its default multiprocessing one: that is a named semaphore,
  and after `kill -9` multiprocessing's resource tracker reports it leaked on stderr.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import sys
import threading
import warnings

# the reader is gone or the output cannot take more: nothing written there will be seen again
GONE = frozenset({errno.EPIPE, errno.ECONNRESET, errno.EIO, errno.EBADF, errno.ENOSPC, errno.EDQUOT,
                  errno.EFBIG})

_shown: set[str] = set()


def setup() -> None:
    for fd in (0, 1, 2):
        _keep_open(fd)
    sys.stdout = _resilient(sys.stdout, 1)
    sys.stderr = _resilient(sys.stderr, 2)
    warnings.showwarning = _show_warning
    from tqdm import tqdm

    tqdm.set_lock(threading.RLock())


class _Discarding(io.FileIO):
    """A standard descriptor that, once a write to it fails for good, writes to /dev/null."""

    def write(self, data) -> int:
        try:
            return super().write(data)
        except OSError as e:
            if e.errno not in GONE:
                raise
            null = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(null, self.fileno())
            finally:
                os.close(null)
            return memoryview(data).nbytes


def _keep_open(fd: int) -> None:
    try:
        os.fstat(fd)
    except OSError:
        null = os.open(os.devnull, os.O_RDWR)  # the lowest free number: `fd` itself, as 0..fd-1 are open
        if null != fd:
            os.dup2(null, fd)
            os.close(null)


def _resilient(stream, fd: int):
    """A text stream like `stream` (encoding, buffering) over `fd` that never raises for a
    reader gone; `stream` itself when it is not the process's own descriptor (a test
    capturing output)."""
    buffered = True
    if stream is not None:
        try:
            buffer = stream.buffer
            if stream.fileno() != fd or isinstance(getattr(buffer, "raw", buffer), _Discarding):
                return stream
        except (AttributeError, ValueError, OSError):  # io.UnsupportedOperation is both of the last two
            return stream
        buffered = hasattr(buffer, "raw")  # not with python -u or PYTHONUNBUFFERED
        with contextlib.suppress(OSError):  # what it still holds goes first; gone readers are dropped
            stream.flush()
    raw = _Discarding(fd, "w", closefd=False)
    return io.TextIOWrapper(
        io.BufferedWriter(raw) if buffered else raw,
        encoding=getattr(stream, "encoding", None) or "utf-8",
        errors=getattr(stream, "errors", None) or "backslashreplace",
        line_buffering=getattr(stream, "line_buffering", True),
        write_through=getattr(stream, "write_through", True),
    )


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    text = " ".join(str(message).split())
    stream = file if file is not None else sys.stderr
    if text in _shown or stream is None:
        return
    _shown.add(text)
    with contextlib.suppress(OSError):  # as warnings' own: a warning never stops the work
        stream.write(f"warning: {text}\n")
        stream.flush()
