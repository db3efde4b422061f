"""How the tracks of a batch get rendered: one after another in this process (`InProcess`),
or by worker processes on this machine (`LocalPool`). Both are `Executor`s: the batch hands one
its tracks and a `record` callback, and stops it with `close`; a cluster runs the same way.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ..config import RenderConfig
from ..errors import AudiovizError, BatchStoppedError
from ..workers import die_with_parent, imports_isolated
from .folder import remove_stale
from .plan import Track
from .report import FAILED, TrackResult
from .tracks import render_track

if TYPE_CHECKING:
    from ..session import Renderer


class Executor(Protocol):
    """Renders a batch's tracks and reports each result through `record`, which raises to stop
    the batch (a fault every track would meet); `close(now=True)` stops what is still running,
    `close()` lets what is idle end."""

    jobs: int

    def run(self, tracks: list[Track], record: Callable[[TrackResult], None]) -> None: ...

    def close(self, now: bool = False) -> None: ...


class InProcess:
    """Track after track with the batch's own render session."""

    jobs = 1

    def __init__(self, renderer: Renderer, progress: bool = False):
        self.renderer, self.progress = renderer, progress

    def run(self, tracks: list[Track], record: Callable[[TrackResult], None]) -> None:
        for t in tracks:
            record(render_track(self.renderer, t, self.progress))

    def close(self, now: bool = False) -> None:
        pass  # the session is the batch's, and closed by it


def default_jobs() -> int:
    """Tracks rendered at once when --jobs is not given: half the cores, at least 2 (never more
    than there are cores), and no more than one per 1.5 GB of memory (a worker holds ~0.7 GB).

    Measured on 2 cores without a GPU (llvmpipe), six 30 s clips at 1280x720, scene bar: one
    track keeps 1.6 cores busy (decoding, the network and ffmpeg's final pass are serial), and
    2 jobs render the six in 104 s against 120 s for 1 job (13% more tracks per hour). Half the
    cores on bigger machines follows from the 1.6 cores a track uses; it was not measured there.
    """
    cores = os.cpu_count() or 1
    jobs = min(cores, max(2, cores // 2))
    with contextlib.suppress(ValueError, OSError, AttributeError):
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        jobs = min(jobs, int(memory // (1.5 * 2**30)))
    return max(1, jobs)


def _stuck_frame(conn, current: list[Track], code: int, message: str) -> None:
    """A worker's frame of a user scene never finished (render/watchdog.py ends the process):
    the batch hears that the track failed on a fault every track of the scene meets, or, when
    the worker was being stopped anyway, nothing."""
    from ..render.watchdog import hard_exit

    if code != 130 and current:
        track = current[0]
        result = TrackResult(track.rel, track.out_rel, FAILED, message.removeprefix("error: "), fatal=True)
        with contextlib.suppress(OSError, ValueError):
            conn.send(("done", result))
    hard_exit(0)


def _worker_main(config: RenderConfig, threads: int, conn) -> None:
    """A worker process: load once, then render each track the batch sends on `conn` until None,
    answering each with its result."""
    from ..console import setup
    from ..quick_exit import quick_exit
    from ..render.watchdog import on_stuck
    from ..signals import interrupt_once

    setup()  # a closed stderr (the batch piped into `head`) never stops a render
    current: list[Track] = []
    on_stuck(functools.partial(_stuck_frame, conn, current))
    signal.signal(signal.SIGTERM, interrupt_once)
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:  # a batch started with nohup or & keeps it ignored
        signal.signal(signal.SIGINT, interrupt_once)
    die_with_parent()
    try:
        from ..session import Renderer

        renderer = Renderer(config, threads=threads)
    except KeyboardInterrupt:
        quick_exit(0)  # nothing to clean up yet; the interpreter's teardown would only cost seconds
    except BaseException as e:
        with contextlib.suppress(OSError):
            conn.send(("fatal", str(e) if isinstance(e, AudiovizError) else f"{type(e).__name__}: {e}"))
        return
    try:
        conn.send(("ready", None))
        while (track := conn.recv()) is not None:
            current[:] = [track]
            conn.send(("done", render_track(renderer, track)))
    # stopped (its ffmpeg is stopped and its temporary file gone: render/frames.py), or the batch
    # is gone (its end of the pipe closed), which reads nothing more from this worker
    except (KeyboardInterrupt, EOFError, OSError):
        renderer.close()
        quick_exit(0)
    renderer.close()


@dataclass
class _Worker:
    proc: object
    conn: object  # the batch's end of its pipe: tracks go out, results come back
    track: Track | None = None
    ready: bool = False


class LocalPool:
    """N worker processes ('spawn': each a fresh interpreter, its own GL context and torch),
    one track each at a time; a worker that dies fails only its own track and is replaced.

    Each worker has a pipe of its own, and the batch waits on the pipes and the processes
    together: it wakes when a worker answers or dies, and Ctrl-C or SIGTERM ends any wait.
    Pipes, not queues: a queue holds named semaphores, which multiprocessing's resource
    tracker reports leaked (a line on stderr) when the batch is killed with -9."""

    MAX_START_FAILURES = 3
    STOP_SECONDS = 10  # for a worker to end on its own before it is killed

    def __init__(self, config: RenderConfig, jobs: int):
        import multiprocessing

        self.mp = multiprocessing.get_context("spawn")
        self.config, self.jobs = config, jobs
        self.threads = max(1, (os.cpu_count() or 1) // jobs)
        self.workers: list[_Worker] = []
        self._next_id = 0
        self.start_failures = 0

    def spawn(self) -> None:
        ours, theirs = self.mp.Pipe()
        proc = self.mp.Process(target=_worker_main, args=(self.config, self.threads, theirs),
                               name=f"audioviz-batch-{self._next_id}", daemon=True)
        self._next_id += 1
        with imports_isolated():
            proc.start()
        theirs.close()  # the worker's copy is its own: when it dies, reading ours ends
        self.workers.append(_Worker(proc, ours))

    def run(self, todo: list[Track], record: Callable[[TrackResult], None]) -> None:
        from multiprocessing.connection import wait

        pending = deque(todo)
        remaining = {t.rel for t in todo}

        def finish(r: TrackResult) -> None:
            if r.input in remaining:  # once per track, whatever a dying worker managed to send
                remaining.discard(r.input)
                record(r)

        for _ in range(min(self.jobs, len(todo))):
            self.spawn()
        while remaining:
            ready = set(wait([w.conn for w in self.workers] + [w.proc.sentinel for w in self.workers]))
            for w in [w for w in self.workers if w.conn in ready or w.proc.sentinel in ready]:
                self._serve(w, pending, finish)

    def _serve(self, w: _Worker, pending: deque, finish) -> None:
        """Answer what worker `w` sent; when it is gone, fail its track and replace it."""
        try:
            while w.conn.poll():
                self._answer(w, *w.conn.recv(), pending, finish)
            if w.proc.exitcode is None:
                return
        except (EOFError, OSError):  # its end of the pipe closed: it has ended, or is ending
            pass
        self._reap(w, pending, finish)

    def _answer(self, w: _Worker, kind: str, payload, pending: deque, finish) -> None:
        if kind == "fatal":  # what loaded in the batch itself fails to load in a worker
            raise BatchStoppedError(f"a batch worker cannot start: {payload}")
        if kind == "done":
            finish(payload)
        w.ready, self.start_failures = True, 0
        w.track = pending.popleft() if pending else None
        try:
            w.conn.send(w.track)  # None: nothing left, the worker ends
        except OSError:  # it died meanwhile: its track waits for another worker
            if w.track is not None:
                pending.appendleft(w.track)
            w.track = None

    def _reap(self, w: _Worker, pending: deque, finish) -> None:
        self._stop(w)
        self.workers.remove(w)
        code = w.proc.exitcode
        if w.track is not None:
            why = "it did not end" if code is None else f"signal {-code}" if code < 0 else f"exit status {code}"
            finish(TrackResult(w.track.rel, w.track.out_rel, FAILED, f"the worker rendering it died ({why})"))
        if not w.ready:
            self.start_failures += 1
            if self.start_failures >= self.MAX_START_FAILURES:
                raise BatchStoppedError(f"batch workers die while starting (exit status {code})")
        if pending:
            self.spawn()

    def _stop(self, w: _Worker, timeout: float = STOP_SECONDS) -> None:
        """Wait for `w` to end, at most `timeout` seconds, then kill it; what a worker killed
        outright leaves of its video is deleted."""
        w.proc.join(timeout)
        if w.proc.is_alive():
            w.proc.kill()
            w.proc.join(self.STOP_SECONDS)
        w.conn.close()
        if w.track is not None:
            remove_stale(w.track.output)

    def close(self, now: bool = False) -> None:
        """Stop the workers: idle ones at the end of a batch, every one at once when it was
        interrupted (on SIGTERM a worker deletes its temporary file and stops its ffmpeg)."""
        if now:
            for w in self.workers:
                if w.proc.is_alive():
                    w.proc.terminate()
        deadline = time.monotonic() + self.STOP_SECONDS
        for w in self.workers:
            self._stop(w, max(0.0, deadline - time.monotonic()))
        self.workers.clear()
